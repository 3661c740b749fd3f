"""HNLs from charged-meson decays in flight: K+ -> l+ N_j (and pi+ -> l+ N_j) at a kaon beam line.

Set-up (NA62 by default: generator/data/experiments/na62.toml, read by generator.experiments.load_kaon_experiment):
a K+ beam along +z from the target at z = 0 with
mean momentum p0 and Gaussian momentum spread sigma_p; kaons that decay inside the fiducial decay volume
z_min < z < z_max. The decay position of a kaon of momentum p follows the exponential law with decay length
L = (p / m_K) c tau_K, truncated to the decay volume (inverse-CDF sampling). The momentum distribution of the decaying
kaons is taken as the beam's (the 1/p weighting of the decay probability changes it by ~sigma_p/p0 ~ 1%).

K+ -> l+ N_j is isotropic in the kaon rest frame (spin 0); branching ratio generator.physics.meson.br_to_lepton_hnl
(PDG B(K -> l nu) x |U_lj|^2 x rho(x_l, x_N) / rho(x_l, 0), Shrock 1981 / Gorbunov-Shaposhnikov 0705.1729). The N_j
helicity in the kaon frame (meson.hnl_helicity_rest) is turned into the lab-frame longitudinal polarisation stored in
EventBlock.pol (spin four-vector boosted to the lab, projected on the lab helicity axis).

Rate: n_decays (fiducial kaon decays) x B(K -> l N_j) x acceptance (weight_unit "events"). The HNL is written with
status 1 and decayed by the decay step (generator/decay.py). Event record: K+ (321, status 4, mother -1), l+
(status 1, mother -1), N_j (status 1, mother -1); every vertex x is the kaon decay point (c t, 0, 0, z) with
c t = z E_K / p_K (kaon produced at the target at t = 0). Units: GeV, cm.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from generator import constants as const
from generator import particles as P
from generator.errors import CardError, UnknownNameError
from generator.experiments import load_kaon_experiment
from generator.kernels.lorentz import boost_to_lab, mdot
from generator.kernels.phase_space import two_body_rest
from generator.model.model import as_model
from generator.physics import meson as mes
from generator.processes.ee import hnl_index
from generator.record import STATUS_BEAM, STATUS_FINAL, EventBlock

LEPTON_PLUS_PDG = {"e": -11, "mu": -13}
#: smallest u in the inverse-CDF maps (keeps ndtri finite; 1e-15 is a 8-sigma tail cut)
_U_EPS = 1e-15


def lab_helicity(p_rest: np.ndarray, P_frame: np.ndarray, helicity_rest: np.ndarray, mass: float) -> np.ndarray:
    """Lab longitudinal polarisation (-1..1) of a fermion of mass ``mass`` (GeV) with helicity ``helicity_rest`` in
    the rest frame of P_frame (n, 4; e.g. the parent meson), where its momentum is p_rest (n, 4) (GeV).

    The helicity spin four-vector S = (|p|/m, E p_hat/m) (S.S = -1) is built in the parent frame and boosted to the
    lab with the momentum; the lab polarisation is P_lab = -h (S_lab . N_lab), N_lab the lab helicity four-vector
    (spin four-vector formalism, e.g. Haber, hep-ph/9405376 Sec. 2; Jackson Sec. 11.11).
    """
    def helicity_vector(p):
        pm = np.linalg.norm(p[:, 1:], axis=1)
        out = np.empty_like(p)
        out[:, 0] = pm / mass
        safe = np.where(pm > 0, pm, 1.0)
        out[:, 1:] = p[:, 0:1] * p[:, 1:] / (mass * safe[:, None])
        return out

    p_lab = boost_to_lab(p_rest, P_frame)
    S_lab = boost_to_lab(helicity_vector(p_rest), P_frame)
    return helicity_rest * (-mdot(S_lab, helicity_vector(p_lab)))


class KaonDecayProcess:
    """P+ -> l+ N_j from mesons decaying in flight (default K+ at NA62); engine contract of generator/engine.py.

    model : ModelParameters / Spectrum / Model; hnl : "N4", "N5", ...; lepton : "mu" or "e"; meson : "K+"/"pi+";
    n_decays : fiducial meson decays; acceptance : overall factor in (0, 1] multiplying the weights (1 = none);
    p_mean, p_sigma : beam momentum and Gaussian spread (GeV/c); z_range_cm : decay volume along the beam (cm).
    dim = 3: x0 -> cos(theta*) of N_j in the meson frame (uniform), x1 -> beam momentum (Gaussian inverse CDF),
    x2 -> decay position (truncated exponential inverse CDF). The integrand is constant (= rate), so the engine's
    unweighting is 100% efficient.
    """

    dim = 3
    weight_unit = "events"

    def __init__(self, model, hnl: str = "N6", lepton: str = "mu", meson: str = "K+", n_decays: float = 2.14e11,
                 acceptance: float = 1.0, p_mean: float = 75.0, p_sigma: float = 0.75,
                 z_range_cm: tuple[float, float] = (10500.0, 16500.0)):
        self.model = as_model(model)
        self.params, self.spectrum = self.model.params, self.model.spectrum
        self.hnl = hnl
        self.m_N = float(self.spectrum.masses[hnl_index(self.spectrum, hnl)])
        if lepton not in LEPTON_PLUS_PDG:
            raise UnknownNameError("lepton", lepton, LEPTON_PLUS_PDG)
        self.lepton, self.meson = lepton, meson
        self.m_P = mes.pseudoscalar_mass(meson)
        self.m_l = const.LEPTON_MASS[lepton]
        self.ctau = mes.pseudoscalar_ctau(meson)
        for key, val, strict in (("n_kaon_decays", n_decays, True), ("beam_momentum_GeV", p_mean, True),
                                 ("beam_momentum_sigma_GeV", p_sigma, False)):
            if (isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or val < 0
                    or (strict and val == 0)):
                card_key = f"experiment.{key}"
                msg = f"= {val!r}: must be a number {'>' if strict else '>='} 0"
                raise CardError(card_key, msg)
        if not (isinstance(acceptance, (int, float)) and 0 < acceptance <= 1):
            msg = f"= {acceptance!r}: must be in (0, 1]"
            raise CardError("experiment.acceptance", msg)
        if p_sigma > 0.2 * p_mean:
            msg = f"= {p_sigma}: must be <= 0.2 x beam momentum ({p_mean} GeV)"
            raise CardError("experiment.beam_momentum_sigma_GeV", msg)
        z0, z1 = (float(v) for v in z_range_cm)
        if not 0 <= z0 < z1:
            msg = f"= {z_range_cm} cm: need 0 <= z_min < z_max"
            raise CardError("experiment.decay_volume_z_m", msg)
        self.n_decays, self.acceptance = float(n_decays), float(acceptance)
        self.p_mean, self.p_sigma, self.z_range = float(p_mean), float(p_sigma), (z0, z1)
        U2 = float(abs(self.spectrum.U_flavour(lepton)[self.spectrum.index(hnl)]) ** 2)
        self.U2 = U2
        self.branching_ratio = mes.br_to_lepton_hnl(meson, lepton, self.m_N, U2)
        self.helicity_rest = float(mes.hnl_helicity_rest((self.m_l / self.m_P) ** 2, (self.m_N / self.m_P) ** 2))
        self.name = f"kaon_decay:{meson}->{lepton}+{hnl}"

    @classmethod
    def from_experiment(cls, model, experiment: str = "na62", hnl: str = "N6", lepton: str = "mu",
                        n_decays: float | None = None, acceptance: float | None = None) -> KaonDecayProcess:
        """Process with the beam, decay volume, N_K and acceptance of an experiment file (overrides optional)."""
        e = load_kaon_experiment(experiment)
        return cls(model, hnl, lepton, e.meson, e.n_decays if n_decays is None else n_decays,
                   e.acceptance if acceptance is None else acceptance, e.p_mean, e.p_sigma, (e.z_min, e.z_max))

    # ------------------------------------------------------------------ engine contract
    def rate(self) -> float:
        """Expected events: n_decays x B(P -> l N_j) x acceptance."""
        return self.n_decays * self.branching_ratio * self.acceptance

    def integrand(self, x: np.ndarray) -> np.ndarray:
        """Constant density (the rate) over the unit cube (n, 3)."""
        return np.full(x.shape[0], self.rate())

    def _momentum(self, u: np.ndarray) -> np.ndarray:
        """Beam momentum (GeV) from u in [0, 1]: p0 + sigma_p Phi^-1(u)."""
        return self.p_mean + self.p_sigma * ndtri(np.clip(u, _U_EPS, 1.0 - _U_EPS))

    def _decay_z(self, u: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Decay position (cm) from u in [0, 1]: exponential law exp(-z / L) truncated to [z_min, z_max],
        L = (p / m) c tau; inverse CDF z = z0 - L ln(1 - u (1 - exp(-(z1 - z0) / L)))."""
        z0, z1 = self.z_range
        L = p / self.m_P * self.ctau
        return z0 - L * np.log1p(u * np.expm1(-(z1 - z0) / L))

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> EventBlock:
        """Lab-frame events K+ -> l+ N_j with the kaon decay point as vertex."""
        n = x.shape[0]
        cos_t = 2.0 * x[:, 0] - 1.0
        phi = rng.uniform(0.0, 2.0 * math.pi, size=n)
        pk = self._momentum(x[:, 1])
        z = self._decay_z(x[:, 2], pk)
        sin_t = np.sqrt(np.clip(1.0 - cos_t**2, 0.0, None))
        direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
        rest = two_body_rest(self.m_P, self.m_N, self.m_l, direction)  # (n, 2, 4): N along direction, lepton opposite
        EK = np.sqrt(pk**2 + self.m_P**2)
        PK = np.zeros((n, 4))
        PK[:, 0], PK[:, 3] = EK, pk
        lab = boost_to_lab(rest, PK)
        p = np.empty((n, 3, 4))
        p[:, 0] = PK
        p[:, 1] = lab[:, 1]
        p[:, 2] = lab[:, 0]
        vtx = np.zeros((n, 4))
        vtx[:, 0] = z * EK / pk
        vtx[:, 3] = z
        pol = np.zeros((n, 3))
        pol[:, 2] = lab_helicity(rest[:, 0], PK, np.full(n, self.helicity_rest), self.m_N)
        return EventBlock(
            channel=self.name,
            pdg=np.array([mes.PSEUDOSCALAR_PDG[self.meson], LEPTON_PLUS_PDG[self.lepton], P.pdg(self.hnl)]),
            status=np.array([STATUS_BEAM, STATUS_FINAL, STATUS_FINAL]),
            mother=np.array([-1, -1, -1]),
            p=p, x=np.repeat(vtx[:, None, :], 3, axis=1), weight=np.asarray(weight, dtype=float), pol=pol,
            info={"p_meson": pk, "z_decay": z, "cos_theta_rest": cos_t},
            weight_unit=self.weight_unit,
            names=(self.meson, f"{self.lepton}+", self.hnl),
        )


def expected_events(model, hnl: str = "N6", lepton: str = "mu", experiment: str = "na62",
                    branching_ratio_decay: float = 1.0) -> float:
    """N_decays x B(K -> l N_j) x B(N_j -> signal) x acceptance of an experiment file (the paper's NA62 estimate
    uses B(N_6 -> N_5 e+ e-) for branching_ratio_decay)."""
    return KaonDecayProcess.from_experiment(model, experiment, hnl, lepton).rate() * branching_ratio_decay


def build_channels(model, experiment: str = "na62", final_hnl=("N6",), lepton: str = "mu",
                   n_kaon_decays: float | None = None, acceptance: float | None = None,
                   skipped: list | None = None) -> list:
    """One generator.channel.ChannelSpec per open HNL channel for production = "kaon_decay".

    A kinematically closed HNL (m_N + m_l >= m_meson) is left out and, when ``skipped`` is a list, recorded there as
    (name, reason); :func:`channels_from_card` turns "every channel closed" into KinematicallyClosedError.
    """
    from generator.channel import ChannelSpec
    from generator.errors import KinematicallyClosedError

    out = []
    for hnl in final_hnl:
        try:
            proc = KaonDecayProcess.from_experiment(model, experiment, hnl, lepton, n_kaon_decays, acceptance)
        except KinematicallyClosedError as exc:
            if skipped is not None:
                skipped.append((hnl, str(exc)))
            continue
        extra = {"experiment": experiment, "n_decays": proc.n_decays, "acceptance": proc.acceptance,
                 "branching_ratio": proc.branching_ratio, "U2": proc.U2}
        out.append(ChannelSpec(proc, "kaon_decay", hnl, extra=extra))
    return out


def channels_from_card(card, model) -> list:
    """ChannelSpecs of production "kaon_decay": [experiment] name (default "na62"), n_kaon_decays and acceptance
    overrides; [process] final_hnl (HNL names) and lepton ("mu" or "e"). Raises KinematicallyClosedError when every
    requested HNL is too heavy for the meson decay (naming the masses), as for a closed upscattering channel."""
    if "kaon_decay" not in card.process.productions:
        return []
    exp = card.experiment
    name = exp.name.lower().replace(" ", "") if exp is not None else "na62"
    n_dec = exp.n_kaon_decays if exp is not None else None
    acc = exp.acceptance if exp is not None else None
    skipped: list = []
    specs = build_channels(model, name, card.process.final_hnl, card.process.lepton, n_dec, acc, skipped)
    if not specs:
        from generator.errors import KinematicallyClosedError

        reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "no channel requested"
        msg = f"no open kaon_decay channel at {name}: {reasons}"
        raise KinematicallyClosedError(msg)
    return specs
