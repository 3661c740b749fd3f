"""Engine process for neutrino upscattering nu + H -> N_j + H (one channel folded with a flux).

Integration variables (unit hypercube, events first):
    x0 -> E_nu = E_lo (E_hi / E_lo)^x0   over [max(flux E_min, threshold), flux E_max]   (GeV)
    x1 -> Q^2  = Q2_lo (Q2_hi / Q2_lo)^x1 over the channel's Q^2 range at that E_nu       (GeV^2)
Both maps are logarithmic (Jacobians E ln(E_hi/E_lo) and Q^2 ln(Q2_hi/Q2_lo)); VEGAS adapts on top.
For a fixed neutrino energy (``E_nu=...``, no flux) only x0 -> Q^2 is used (dim = 1).

integrand(x) = dPhi/dE [nu/cm^2/GeV/POT] x d sigma/dQ^2 [cm^2/GeV^2] x N_scatterers x POT x Jacobians,
whose integral over the hypercube is the expected number of events (weight_unit "events"); with a fixed
energy and no flux it is sigma in cm^2 per struck object (weight_unit "cm2").

The N_j helicity is summed in the integrand and drawn per event in ``events`` with the probabilities
|M_h|^2 / sum_h |M_h|^2 (lab-frame helicity, stored in EventBlock.pol of the N_j).
"""

from __future__ import annotations

import math

import numpy as np

from generator import constants as const
from generator import particles as P
from generator.errors import KinematicallyClosedError, PhysicsError, UnknownNameError
from generator.experiments import Experiment, sample_uniform
from generator.flux import Flux
from generator.physics.upscattering import NEUTRINOS, REGIMES, UpscatteringChannel, make_channel
from generator.record import REGIME_IDS, STATUS_BEAM, STATUS_FINAL, EventBlock
from generator.targets import target

#: The channel's upper energy is nudged this much above threshold to stay strictly inside the physical region.
_THRESHOLD_MARGIN = 1e-9


class UpscatteringProcess:
    """One upscattering channel for the engine. See the module docstring for variables and units.

    channel: UpscatteringChannel (couplings, target, regime, HNL); flux: Flux (nu/cm^2/GeV/POT) or None;
    n_scatterers: number of struck objects in the fiducial mass (nuclei for coherent, Z or N times the
    nuclei for incoherent); pot: protons on target; E_nu: fixed neutrino energy (GeV) when flux is None;
    volume: detector Shape (cm) for the vertex, None -> origin; E_range: optional (E_min, E_max) GeV cut.
    """

    def __init__(self, channel: UpscatteringChannel, flux: Flux | None = None, n_scatterers: float = 1.0,
                 pot: float = 1.0, E_nu: float | None = None, volume=None, E_range: tuple[float, float] | None = None,
                 name: str | None = None):
        self.channel = channel
        self.flux = flux
        self.volume = volume
        self.name = name or ("upscattering: " + channel.name)
        if flux is None:
            if E_nu is None:
                msg = f"{self.name}: give a flux or a fixed neutrino energy E_nu (GeV)"
                raise PhysicsError(msg)
            channel.check_energy(E_nu)
            self.E_nu = float(E_nu)
            self.dim = 1
            self.weight_unit = "cm2"
            self.norm = 1.0
            self.E_lo = self.E_hi = self.E_nu
        else:
            if E_nu is not None:
                msg = f"{self.name}: give either a flux or a fixed E_nu = {E_nu} GeV, not both"
                raise PhysicsError(msg)
            if not (math.isfinite(pot) and pot > 0):
                msg = f"{self.name}: pot = {pot!r} must be a finite number > 0"
                raise PhysicsError(msg)
            if not (math.isfinite(n_scatterers) and n_scatterers > 0):
                msg = f"{self.name}: n_scatterers = {n_scatterers!r} must be > 0"
                raise PhysicsError(msg)
            lo, hi = flux.E_min, flux.E_max
            if E_range is not None:
                lo, hi = max(lo, E_range[0]), min(hi, E_range[1])
            thr = channel.threshold
            lo = max(lo, thr * (1.0 + _THRESHOLD_MARGIN), 1e-9)
            if not hi > lo:
                msg = (f"{self.name}: closed for the flux {flux.name!r}: its energies reach {hi:.6g} GeV, below the "
                       f"threshold E_th = {thr:.6g} GeV (m_N = {channel.m_N:.6g} GeV); allowed: flux E_max > E_th")
                raise KinematicallyClosedError(msg)
            self.E_nu = None
            self.E_lo, self.E_hi = float(lo), float(hi)
            self.dim = 2
            self.weight_unit = "events"
            self.norm = float(n_scatterers) * float(pot)
        self.n_scatterers = float(n_scatterers)
        self.pot = float(pot)
        _, _, self.nu_pdg = NEUTRINOS[channel.neutrino]

    # ------------------------------------------------------------------ variables
    def _variables(self, x: np.ndarray):
        """(E GeV, Q2 GeV^2, Jacobian) for points x (n, dim)."""
        x = np.asarray(x, dtype=float)
        if self.dim == 1:
            E = np.full(x.shape[0], self.E_nu)
            jac = np.ones(x.shape[0])
            xq = x[:, 0]
        else:
            L = math.log(self.E_hi / self.E_lo)
            E = self.E_lo * np.exp(L * x[:, 0])
            jac = E * L
            xq = x[:, 1]
        lo, hi = self.channel.q2_range_for_sampling(E)
        LQ = np.log(hi / lo)
        Q2 = lo * np.exp(LQ * xq)
        return E, Q2, jac * Q2 * LQ

    def _dsigma(self, E: np.ndarray, msq: np.ndarray) -> np.ndarray:
        # d sigma/dQ^2 = |M|^2 / (64 pi M^2 E^2) in cm^2/GeV^2 (see generator/physics/upscattering.py)
        return msq / (64.0 * math.pi * self.channel.M**2 * E**2) * const.GEV2_TO_CM2

    def rate_quadrature(self, n_E: int = 128) -> float:
        """The rate by deterministic quadrature (events, or cm^2 for a fixed energy): Gauss-Legendre in ln E of
        dPhi/dE x sigma(E) x N_scatterers x POT, sigma from UpscatteringChannel.sigma (Gauss-Legendre in ln Q^2).
        A second method, independent of VEGAS, for checks."""
        if self.dim == 1:
            return float(self.channel.sigma(np.array([self.E_nu]))[0])
        x, w = np.polynomial.legendre.leggauss(n_E)
        L = math.log(self.E_hi / self.E_lo)
        E = self.E_lo * np.exp(L * 0.5 * (x + 1.0))
        sig = self.channel.sigma(E)
        return float(np.sum(0.5 * w * L * E * self.flux(E) * sig) * self.norm)

    # ------------------------------------------------------------------ engine contract
    def integrand(self, x: np.ndarray) -> np.ndarray:
        """(n,) non-negative density on [0,1]^dim whose integral is the rate (events or cm^2)."""
        E, Q2, jac = self._variables(x)
        m = self.channel.msq(E, Q2)
        f = self._dsigma(E, m[:, 0] + m[:, 1]) * jac * self.norm
        if self.flux is not None:
            f = f * self.flux(E)
        return np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> EventBlock:
        """Kinematics of the points x: [nu (4), target (4), N_j (1), recoil (1)]; neutrino along +z.

        Momenta in GeV (lab, target at rest), vertices in cm uniform in the detector volume (c*t = 0), pol of
        N_j = sampled lab helicity (+1/-1); info: E_nu (GeV), Q2 (GeV^2), regime, target (nucleus PDG code).
        """
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        n = x.shape[0]
        ch = self.channel
        E, Q2, _ = self._variables(x)
        m = ch.msq(E, Q2) if n else np.zeros((0, 2))
        tot = m[:, 0] + m[:, 1]
        p_plus = np.divide(m[:, 1], tot, out=np.zeros(n), where=tot > 0)
        hel = np.where(rng.random(n) < p_plus, 1.0, -1.0)
        M, mN = ch.M, ch.m_N
        nu = Q2 / (2.0 * M)
        Ep = E - nu
        pp = np.sqrt(np.clip(Ep * Ep - mN * mN, 0.0, None))
        ssum = Ep + pp
        # 1 - cos(theta) without cancellation (same expression as the |M|^2 kernel)
        with np.errstate(divide="ignore", invalid="ignore"):
            omc = (Q2 * (1.0 - mN * mN / (M * ssum)) - mN**4 / ssum**2) / (2.0 * E * pp)
        omc = np.clip(np.nan_to_num(omc), 0.0, 2.0)
        cos = 1.0 - omc
        sin = np.sqrt(np.clip(omc * (2.0 - omc), 0.0, None))
        phi = 2.0 * math.pi * rng.random(n)
        p = np.zeros((n, 4, 4))
        p[:, 0] = np.stack([E, np.zeros(n), np.zeros(n), E], axis=1)
        p[:, 1, 0] = M
        p[:, 2] = np.stack([Ep, pp * sin * np.cos(phi), pp * sin * np.sin(phi), pp * cos], axis=1)
        p[:, 3] = p[:, 0] + p[:, 1] - p[:, 2]  # exact four-momentum conservation
        vtx = sample_uniform(self.volume, n, rng) if self.volume is not None else np.zeros((n, 3))
        xx = np.zeros((n, 4, 4))
        xx[:, :, 1:] = vtx[:, None, :]
        pol = np.zeros((n, 4))
        pol[:, 2] = hel
        struck = ch.target.name if ch.regime == "coherent" else ch.nucleon
        return EventBlock(
            channel=self.name,
            pdg=[self.nu_pdg, ch.struck_pdg, P.pdg(ch.final_hnl), ch.struck_pdg],
            status=[STATUS_BEAM, STATUS_BEAM, STATUS_FINAL, STATUS_FINAL],
            mother=[-1, -1, -1, -1],
            p=p, x=xx, weight=np.asarray(weight, dtype=float), pol=pol,
            info={"E_nu": E, "Q2": Q2, "regime": np.full(n, REGIME_IDS[ch.regime], dtype=np.int64),
                  "target": np.full(n, ch.target.pdg, dtype=np.int64)},
            weight_unit=self.weight_unit,
            names=(ch.neutrino, struck, ch.final_hnl, struck),
        )


def build_processes(model, experiment: Experiment, final_hnls=("N5", "N6"), targets=None, regimes=REGIMES,
                    neutrino: str = "nu_mu", pauli_blocking: bool = False, skipped: list | None = None,
                    ) -> list[UpscatteringProcess]:
    """All upscattering channels of an experiment: every (final HNL, target, regime[, nucleon]).

    model: ModelParameters or Spectrum; experiment: Experiment (POT, fiducial mass, flux, volume);
    targets: subset of experiment.targets (default all); regimes: "coherent"/"incoherent" (H1 only incoherent).
    Channels with vanishing couplings (e.g. BP-A's V_36 = 0) or closed for the flux are left out; when a list is
    passed as ``skipped`` their names and reasons are appended to it.
    """
    tlist = list(experiment.targets if targets is None else targets)
    for t in tlist:
        if t not in experiment.composition:
            what = f"target of {experiment.name}"
            raise UnknownNameError(what, t, experiment.composition)
    for r in regimes:
        if r not in REGIMES:
            raise UnknownNameError("regime", r, REGIMES)
    flux = experiment.flux(neutrino)
    out = []
    for hnl in final_hnls:
        for t in tlist:
            tgt = target(t)
            n_nuc = experiment.n_nuclei(t)
            for regime in regimes:
                if regime == "coherent" and tgt.is_free_nucleon:
                    continue
                nucleons = [None] if regime == "coherent" else (["p"] if tgt.is_free_nucleon else ["p", "n"])
                for nuc in nucleons:
                    ch = make_channel(model, hnl, t, regime, nuc, neutrino, pauli_blocking)
                    label = f"{experiment.name}: {ch.name}"
                    if not (np.any(np.abs(ch.boson_a) > 0) or (abs(ch.scalar_a) > 0 and ch.scalar_y != 0)):
                        if skipped is not None:
                            skipped.append((label, "all couplings vanish"))
                        continue
                    try:
                        proc = UpscatteringProcess(ch, flux, n_nuc * ch.scatterers_per_nucleus, experiment.pot,
                                                   volume=experiment.geometry, name=f"upscattering {label}")
                    except KinematicallyClosedError as exc:
                        if skipped is not None:
                            skipped.append((label, str(exc)))
                        continue
                    out.append(proc)
    return out


def channels_from_card(card, model) -> list:
    """ChannelSpecs of production "upscattering" for the run orchestration (generator/run.py).

    [experiment] name (required) with optional pot, flux_file, fiducial_mass_t overrides; [process] final_hnl,
    targets (default: the experiment's materials), regimes, pauli_blocking, neutrino. ChannelSpec.exposure is
    N_scatterers x POT x (integrated flux, cm^-2), so that sigma_cm2 = expected events / exposure is the flux-averaged
    cross section; ``extra`` carries the quadrature rate (a check of the VEGAS estimate) and the set-up numbers.
    Raises CardError without [experiment], UnknownNameError for unknown experiments/targets/regimes, and
    KinematicallyClosedError when every requested channel is closed (naming the reasons).
    """
    from generator.card import ProcessSection
    from generator.channel import ChannelSpec
    from generator.errors import CardError
    from generator.experiments import experiment as get_experiment

    proc_sec = card.process or ProcessSection()
    if "upscattering" not in proc_sec.productions:
        return []
    exp_sec = card.experiment
    if exp_sec is None:
        raise CardError("experiment", "missing section [experiment]: production 'upscattering' needs "
                        "name = 'MiniBooNE' | 'MicroBooNE' | 'PS191' | 'CCFR' (and optional pot, flux_file)")
    exp = get_experiment(exp_sec.name).with_overrides(
        pot=exp_sec.pot, flux_file=exp_sec.flux_file, fiducial_mass_t=exp_sec.fiducial_mass_t)
    skipped: list = []
    procs = build_processes(model, exp, tuple(proc_sec.final_hnl), proc_sec.targets, tuple(proc_sec.regimes),
                            proc_sec.neutrino, proc_sec.pauli_blocking, skipped)
    if not procs:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "no channel requested"
        msg = f"no open upscattering channel at {exp.name}: {reasons}"
        raise KinematicallyClosedError(msg)
    specs = []
    for p in procs:
        ch = p.channel
        tgt = ch.target.name if ch.nucleon is None else f"{ch.target.name}({ch.nucleon})"
        flux_int = p.flux.integral()
        extra = {
            "experiment": exp.name, "neutrino": ch.neutrino, "nucleon": ch.nucleon, "target_pdg": ch.target.pdg,
            "m_N_GeV": ch.m_N, "threshold_GeV": ch.threshold, "n_scatterers": p.n_scatterers, "pot": p.pot,
            "flux": p.flux.name, "flux_integral_per_cm2_per_pot": flux_int, "E_range_GeV": [p.E_lo, p.E_hi],
            "pauli_blocking": bool(proc_sec.pauli_blocking), "expected_events_quadrature": p.rate_quadrature(),
        }
        specs.append(ChannelSpec(p, "upscattering", ch.final_hnl, target=tgt, regime=ch.regime,
                                 exposure=p.n_scatterers * p.pot * flux_int, extra=extra))
    return specs


__all__ = ["UpscatteringProcess", "build_processes", "channels_from_card"]
