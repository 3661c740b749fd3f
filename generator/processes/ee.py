"""e+e- collider production of the dark sector: the engine processes and their couplings.

Processes (engine contract of generator/engine.py; x in [0,1]^dim, events first):

- :class:`EEPairProcess`       e+ e- -> Z'*, Z* -> N_i N_j (all pairs i <= j; Majorana factors; Eq. B12 limit)
- :class:`UpsilonProcess`      e+ e- -> Upsilon(nS) -> Z'* -> N_i N_j (App. B e, f)
- :class:`HiggsstrahlungProcess` e+ e- -> Z'*, Z* -> Z' phi' (Eq. B13 limit); Z', phi' left for the decay step

The SM Z enters the s-channel through its coupling to the dark current, g_X s_W chi (Eq. B4); at sqrt(s) ~ 10 GeV
it changes the rates by O(0.5%) (the paper keeps only the Z'). The Z' total width is the sum of the channels of
generator.model.channels.zprime_channels.
- :class:`ISRProcess`          e+ e- -> gamma Z' (Essig-Schuster-Toro 0903.3941); Z' left for the decay step

Event record (generator/record.py): particles e- (11), e+ (-11) with status 4, then the products with mother -1:
N_i, N_j (PDG 9900000 + j) status 1; or Z' (32) and phi' (9900025) status 1 for the decay step; or gamma (22) and
Z'. Four-momenta are in the lab frame of the (possibly asymmetric) collider: e- along +z with energy E_-, e+ along
-z with E_+, the CM is reached by a boost along z. All vertices are at the origin (x = 0, the interaction point).
Weights: expected events for the integrated luminosity (weight_unit "events"), or cross sections in cm^2 when no
luminosity is given (weight_unit "cm2").

Collider definitions: generator.colliders; the card -> channels entry of the four e+e- productions:
generator.processes.ee_channels; the paper's Eq. (5) count: generator.analysis.babar_eq5.
Units: GeV, cm, cm^2; luminosities in fb^-1 at the interface (converted with constants.INV_FB_CM2).
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

from generator import constants as const
from generator import particles as P
from generator.colliders import beam_momenta, minkowski_square
from generator.errors import CardError, KinematicallyClosedError, PhysicsError, UnknownNameError
from generator.kernels.lorentz import boost_to_lab
from generator.kernels.phase_space import two_body_rest
from generator.model import couplings, vertices
from generator.model.model import Model, as_model
from generator.model.parameters import ModelParameters
from generator.model.spectrum import Spectrum
from generator.physics import ee as eephys
from generator.physics import meson as mes
from generator.record import STATUS_BEAM, STATUS_FINAL, EventBlock


# ------------------------------------------------------------------------------------------ model access
def identical_factor(model: Model, i: int, j: int) -> bool:
    """Whether the 1/2 of an identical Majorana pair applies: i == j in the "majorana" convention (the "paper"
    convention of generator.model.vertices omits it)."""
    return i == j and model.convention == "majorana"


def hnl_index(spectrum: Spectrum, name: str) -> int:
    """Mass-basis index of a heavy state "N4", "N5", ...; UnknownNameError for light or unknown names."""
    if name not in spectrum.heavy_names:
        raise UnknownNameError("HNL", name, spectrum.heavy_names)
    return spectrum.index(name)


def parse_pair(pair) -> tuple[str, str]:
    """("N4", "N5") from "N4N5", "N4 N5", "N4,N5" or a 2-sequence of names."""
    if isinstance(pair, str):
        names = re.findall(r"N\d+", pair)
        if len(names) != 2 or "".join(names) != re.sub(r"[\s,+_-]", "", pair):
            msg = f"{pair!r} is not an HNL pair; write e.g. 'N4N5' or 'N5N5'"
            raise CardError("process.final_hnl", msg)
        return names[0], names[1]
    names = tuple(pair)
    if len(names) != 2:
        msg = f"{pair!r} must name two HNLs, e.g. ('N4', 'N5')"
        raise CardError("process.final_hnl", msg)
    return str(names[0]), str(names[1])


def zprime_pair_couplings(model: Model, i: int, j: int) -> tuple[complex, complex]:
    """(a_L, a_R) of the Z' to (N_i, N_j) from vertices.zprime_neutrino_matrix in the model's vertex convention
    (generator.model.vertices.vector_vertex; "majorana": g_X (V_ij, -V_ij^*) up to the tiny NC piece)."""
    return vertices.vector_vertex(1.0, vertices.zprime_neutrino_matrix(model.spectrum), i, j, model.convention)


def pair_mediators(model: Model, i: int, j: int):
    """Couplings of the two s-channel mediators of e+e- -> N_i N_j: (eL, eR, aL, aR, masses, widths), each a
    length-2 array for (Z', Z). Electron couplings: Eq. (3) for the Z' (generator.model.couplings), SM for the Z;
    HNL couplings: vertex rule of the model's convention on vertices.zprime_neutrino_matrix / z_neutrino_matrix.
    Masses and widths in GeV (Z' width from the model)."""
    params, spec = model.params, model.spectrum
    zp = vertices.vector_vertex(1.0, vertices.zprime_neutrino_matrix(spec), i, j, model.convention)
    z = vertices.vector_vertex(1.0, vertices.z_neutrino_matrix(spec), i, j, model.convention)
    e_zp = couplings.zprime_fermion_couplings(params, "e")
    e_z = couplings.z_fermion_couplings("e")
    return (np.array([e_zp[0], e_z[0]], dtype=complex), np.array([e_zp[1], e_z[1]], dtype=complex),
            np.array([zp[0], z[0]]), np.array([zp[1], z[1]]),
            np.array([params.m_Zprime, const.M_Z]), np.array([model.width("Z'"), const.GAMMA_Z]))


def zprime_branching_ratio(model: Model, i: str, j: str) -> float:
    """B(Z' -> N_i N_j) (dimensionless) from the model's Z' channels."""
    width_ij = sum(c.width_GeV for c in model.decay_channels("Z'") if sorted(c.daughters) == sorted((i, j)))
    return width_ij / model.width("Z'")


def electron_couplings(params: ModelParameters) -> tuple[float, float]:
    """(g_L, g_R) of the Z' to electrons: e eps Q + NC piece (Eq. 3, generator.model.couplings)."""
    return couplings.zprime_fermion_couplings(params, "e")


# ------------------------------------------------------------------------------------------ process base
class _EEProcess:
    """Common set-up: beams and lab boost, exposure (luminosity) and event-record helpers."""

    dim = 1

    def __init__(self, model, sqrt_s: float, lumi_fb: float | None, beams: tuple[float, float] | None):
        self.model = as_model(model)
        self.params, self.spectrum = self.model.params, self.model.spectrum
        if not (isinstance(sqrt_s, numbers.Real) and math.isfinite(sqrt_s) and sqrt_s > 0):
            msg = f"= {sqrt_s!r}: must be a number > 0 (GeV)"
            raise CardError("experiment.sqrt_s_GeV", msg)
        if beams is None:
            E = 0.5 * sqrt_s
            beams = (E, E)
        pe, pp = beam_momenta(*beams)
        rs_beams = math.sqrt(minkowski_square(pe + pp))
        if abs(rs_beams - sqrt_s) > 1e-3 * sqrt_s:
            msg = (f"= {sqrt_s} GeV disagrees with the beams {beams} GeV (sqrt(s) = {rs_beams:.5g} GeV); "
                   "allowed: within 0.1%")
            raise CardError("experiment.sqrt_s_GeV", msg)
        self.sqrt_s = rs_beams
        self.s = rs_beams**2
        self.beams = (float(beams[0]), float(beams[1]))
        self._p_electron, self._p_positron = pe, pp
        self._P_total = pe + pp
        if lumi_fb is None:
            self.lumi_fb = None
            self.weight_unit = "cm2"
            self._exposure = 1.0
        else:
            if (isinstance(lumi_fb, bool) or not isinstance(lumi_fb, numbers.Real)
                    or not (math.isfinite(lumi_fb) and lumi_fb > 0)):
                msg = f"= {lumi_fb!r}: must be a number > 0 (fb^-1)"
                raise CardError("experiment.luminosity_fb", msg)
            self.lumi_fb = float(lumi_fb)
            self.weight_unit = "events"
            self._exposure = self.lumi_fb * const.INV_FB_CM2
        self.zprime_width = self.model.width("Z'")
        self.e_L, self.e_R = electron_couplings(self.params)

    # -- helpers
    @property
    def exposure_cm2(self) -> float | None:
        """Integrated luminosity in cm^-2 (None when cross sections are generated)."""
        return None if self.lumi_fb is None else self._exposure

    def _check_threshold(self, m_total: float, what: str) -> None:
        if self.sqrt_s <= m_total:
            msg = f"{what}: sqrt(s) = {self.sqrt_s:.5g} GeV is below the threshold {m_total:.5g} GeV"
            raise KinematicallyClosedError(msg)

    def _to_lab_two_body(self, m1: float, m2: float, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """(n, 2, 4) lab four-momenta of a CM two-body final state, particle 1 at (theta, phi) to the e- beam."""
        sin_t = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
        direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_theta], axis=1)
        cm = two_body_rest(self.sqrt_s, m1, m2, direction)
        P = np.broadcast_to(self._P_total, (cos_theta.shape[0], 4))
        return boost_to_lab(cm, P)

    def _block(self, products: np.ndarray, pdg_out: list[int], weight: np.ndarray, info: dict,
               names_out: list[str]) -> EventBlock:
        n = products.shape[0]
        P = 2 + len(pdg_out)
        p = np.empty((n, P, 4))
        p[:, 0] = self._p_electron
        p[:, 1] = self._p_positron
        p[:, 2:] = products
        return EventBlock(
            channel=self.name,
            pdg=np.array([11, -11, *pdg_out]),
            status=np.array([STATUS_BEAM, STATUS_BEAM] + [STATUS_FINAL] * len(pdg_out)),
            mother=np.full(P, -1),
            p=p, x=np.zeros((n, P, 4)), weight=np.asarray(weight, dtype=float),
            info={"sqrt_s": np.full(n, self.sqrt_s), **info},
            weight_unit=self.weight_unit,
            names=("e-", "e+", *names_out),
        )

    def rate(self) -> float:
        """Expected events (or cm^2 without luminosity): the exact integral of :meth:`integrand`."""
        return self.sigma_cm2() * self._exposure


# ------------------------------------------------------------------------------------------ pair production
class EEPairProcess(_EEProcess):
    """e+ e- -> Z'*, Z* -> N_i N_j through the s-channel dark photon and Z (App. B f, Eq. B12 in the massless limit).

    model : ModelParameters / Spectrum / Model; sqrt_s : GeV; lumi_fb : fb^-1 or None (then weights are cm^2);
    i, j : HNL names ("N4", "N5"; i == j allowed: identical Majorana pair with factor 1/2);
    beams : (E_electron, E_positron) in GeV (default symmetric); cos_range : CM window of cos(theta_Ni) (default all).
    dim = 1 (cos theta); the azimuth is drawn in events().
    """

    def __init__(self, model, sqrt_s: float, lumi_fb: float | None = None, i: str = "N4", j: str = "N5",
                 beams: tuple[float, float] | None = None, cos_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__(model, sqrt_s, lumi_fb, beams)
        ii, jj = hnl_index(self.spectrum, i), hnl_index(self.spectrum, j)
        if jj < ii:
            ii, jj, i, j = jj, ii, j, i
        self.i, self.j, self._ii, self._jj = i, j, ii, jj
        self.m1, self.m2 = float(self.spectrum.masses[ii]), float(self.spectrum.masses[jj])
        self.identical = identical_factor(self.model, ii, jj)
        self._check_threshold(self.m1 + self.m2, f"e+e- -> {i} {j}")
        lo, hi = cos_range
        if not -1.0 <= lo < hi <= 1.0:
            msg = f"= {cos_range}: need -1 <= lo < hi <= 1"
            raise CardError("process.cos_range", msg)
        self.cos_range = (float(lo), float(hi))
        self.aL, self.aR = zprime_pair_couplings(self.model, ii, jj)
        self._mediators = pair_mediators(self.model, ii, jj)
        self.name = f"ee_pair:{i}{j}@{self.sqrt_s:.4g}GeV"

    def dsigma_dcos(self, cos_theta: np.ndarray) -> np.ndarray:
        """dsigma/dcos(theta_i) in cm^2 (CM angle of N_i to the e- beam)."""
        return eephys.ee_to_ff_dsigma_dcos(self.s, cos_theta, self.m1, self.m2, *self._mediators,
                                           identical=self.identical) * const.GEV2_TO_CM2

    def sigma_cm2(self) -> float:
        """Cross section in the cos window (cm^2); analytic for the full range."""
        lo, hi = self.cos_range
        if (lo, hi) == (-1.0, 1.0):
            return float(eephys.ee_to_ff_sigma(self.s, self.m1, self.m2, *self._mediators,
                                               identical=self.identical)) * const.GEV2_TO_CM2
        c, w = np.polynomial.legendre.leggauss(16)  # the integrand is a quadratic in cos: exact
        c = 0.5 * (hi - lo) * c + 0.5 * (hi + lo)
        return float(np.sum(w * self.dsigma_dcos(c)) * 0.5 * (hi - lo))

    def integrand(self, x: np.ndarray) -> np.ndarray:
        """Expected events (or cm^2) per unit hypercube volume at x (n, 1)."""
        lo, hi = self.cos_range
        c = lo + (hi - lo) * x[:, 0]
        return self.dsigma_dcos(c) * (hi - lo) * self._exposure

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> EventBlock:
        """Lab-frame events e- e+ -> N_i N_j (see module docstring)."""
        lo, hi = self.cos_range
        c = lo + (hi - lo) * x[:, 0]
        phi = rng.uniform(0.0, 2.0 * math.pi, size=c.shape[0])
        prod = self._to_lab_two_body(self.m1, self.m2, c, phi)
        pdg = [P.pdg(self.i), P.pdg(self.j)]
        return self._block(prod, pdg, weight, {"cos_theta_cm": c}, [self.i, self.j])


class UpsilonProcess(EEPairProcess):
    """e+ e- -> Upsilon(nS) -> Z'* -> N_i N_j at a resonance (App. B f): sigma(ee -> V) B(V -> N_i N_j).

    sigma_resonance_nb : visible e+e- -> V cross section at this sqrt(s) (nb; the paper uses 7 nb at 10.02 GeV and
    4 nb at 10.36 GeV, collider files hold them). resonance : "Upsilon(2S)" etc., or None to take the Upsilon within
    60 MeV of sqrt(s). The angular distribution is that of the vector current, e+e- -> V* -> N_i N_j (1 + cos^2 for
    massless N). The resonant and direct (EEPairProcess) amplitudes are added incoherently: at the peak the
    Breit-Wigner amplitude is imaginary and the beam-energy spread (~5 MeV) >> Gamma_V averages the interference away.
    """

    def __init__(self, model, sqrt_s: float, lumi_fb: float | None = None, i: str = "N4", j: str = "N5",
                 sigma_resonance_nb: float | None = None, resonance: str | None = None,
                 beams: tuple[float, float] | None = None):
        super().__init__(model, sqrt_s, lumi_fb, i, j, beams)
        if resonance is None:
            near = [n for n, v in mes.VECTOR_MESONS.items()
                    if n.startswith("Upsilon") and abs(v.mass - self.sqrt_s) < 0.06]
            if not near:
                masses = ", ".join(f"{n} {v.mass:.4f}" for n, v in mes.VECTOR_MESONS.items() if n.startswith("Upsilon"))
                msg = f"no Upsilon resonance within 60 MeV of sqrt(s) = {self.sqrt_s:.5g} GeV ({masses} GeV)"
                raise PhysicsError(msg)
            resonance = near[0]
        self.meson = mes.vector_meson(resonance)
        if sigma_resonance_nb is None or not (math.isfinite(sigma_resonance_nb) and sigma_resonance_nb > 0):
            msg = f"= {sigma_resonance_nb!r}: sigma(e+e- -> {resonance}) must be > 0 nb"
            raise CardError("experiment.sigma_resonance_nb", msg)
        self.sigma_resonance_nb = float(sigma_resonance_nb)
        self._check_threshold(self.m1 + self.m2, f"{resonance} -> {self.i} {self.j}")
        e_eps = couplings.zprime_em_coupling(self.params)
        self.width_pair = mes.vector_to_hnl_pair_width(self.meson, e_eps, self.params.m_Zprime, self.zprime_width,
                                                       self.aL, self.aR, self.m1, self.m2, self.identical)
        self.branching_ratio = self.width_pair / self.meson.width
        self._shape_norm = float(eephys.ee_to_ff_sigma(self.s, self.m1, self.m2, 1.0, 1.0, self.aL, self.aR, 0.0, 0.0))
        self.name = f"upsilon:{resonance}:{self.i}{self.j}@{self.sqrt_s:.4g}GeV"

    def sigma_cm2(self) -> float:
        """sigma(e+e- -> V) B(V -> N_i N_j) in cm^2."""
        return self.sigma_resonance_nb * const.NB_CM2 * self.branching_ratio

    def dsigma_dcos(self, cos_theta: np.ndarray) -> np.ndarray:
        """sigma(ee -> V) B(V -> ij) times the normalised vector-current angular shape, cm^2."""
        shape = eephys.ee_to_ff_dsigma_dcos(self.s, cos_theta, self.m1, self.m2, 1.0, 1.0, self.aL, self.aR, 0.0, 0.0)
        return self.sigma_cm2() * shape / self._shape_norm


# ------------------------------------------------------------------------------------------ Higgsstrahlung
class HiggsstrahlungProcess(_EEProcess):
    """Dark Higgsstrahlung e+ e- -> Z'*, Z* -> Z' phi' (App. B g, Eq. B13 in the massless limit, masses kept here).

    The Z' and phi' are written with status 1; the decay step decays them (Z' -> N_j N_k, phi' -> N_j N_k).
    Z'Z'phi' vertex 2 g_X m_Z' cos(theta_mix) (|D Phi|^2 with m_Z' = g_X v_Phi). Arguments as EEPairProcess.
    """

    def __init__(self, model, sqrt_s: float, lumi_fb: float | None = None, beams: tuple[float, float] | None = None):
        super().__init__(model, sqrt_s, lumi_fb, beams)
        self.m_zp, self.m_phi = self.params.m_Zprime, self.params.m_phiprime
        self._check_threshold(self.m_zp + self.m_phi, "e+e- -> Z' phi'")
        cos_mix = math.sqrt(1.0 - self.params.sin_theta**2)
        self.g_vvs = 2.0 * self.params.g_X * self.m_zp * cos_mix
        # mediators (Z', Z): V Z' phi' vertices 2 g_X m_Z' cos(theta_mix) x (1, s_W chi) (X = Z' + s_W chi Z, App. A)
        ez = couplings.z_fermion_couplings("e")
        self._eL = np.array([self.e_L, ez[0]])
        self._eR = np.array([self.e_R, ez[1]])
        self._g = self.g_vvs * np.array([1.0, const.SW * self.params.chi])
        self._m_med = np.array([self.m_zp, const.M_Z])
        self._w_med = np.array([self.zprime_width, const.GAMMA_Z])
        self.name = f"higgsstrahlung@{self.sqrt_s:.4g}GeV"

    def dsigma_dcos(self, cos_theta: np.ndarray) -> np.ndarray:
        """dsigma/dcos(theta_Z') in cm^2."""
        return eephys.higgsstrahlung_dsigma_dcos(self.s, cos_theta, self.m_zp, self.m_phi, self._eL, self._eR, self._g,
                                                 self._m_med, self._w_med) * const.GEV2_TO_CM2

    def sigma_cm2(self) -> float:
        """Total cross section in cm^2 (analytic)."""
        return float(eephys.higgsstrahlung_sigma(self.s, self.m_zp, self.m_phi, self._eL, self._eR, self._g,
                                                 self._m_med, self._w_med)) * const.GEV2_TO_CM2

    def integrand(self, x: np.ndarray) -> np.ndarray:
        """Expected events (or cm^2) per unit hypercube volume; cos theta = 2 x - 1."""
        return self.dsigma_dcos(2.0 * x[:, 0] - 1.0) * 2.0 * self._exposure

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> EventBlock:
        """Lab-frame events e- e+ -> Z' phi' (Z' first)."""
        c = 2.0 * x[:, 0] - 1.0
        phi = rng.uniform(0.0, 2.0 * math.pi, size=c.shape[0])
        prod = self._to_lab_two_body(self.m_zp, self.m_phi, c, phi)
        names = [P.record_name("Z'"), P.record_name("phi'")]
        return self._block(prod, [P.pdg("Z'"), P.pdg("phi'")], weight, {"cos_theta_cm": c}, names)


# ------------------------------------------------------------------------------------------ ISR
class ISRProcess(_EEProcess):
    """Initial-state-radiation dark photon e+ e- -> gamma Z' (on-shell Z', narrow width), Essig-Schuster-Toro
    arXiv:0903.3941, Fayet hep-ph/0702176; formula in generator.physics.ee.isr_dsigma_dcos.

    cos_range : window of the photon's CM polar angle to the e- beam. It is REQUIRED to be strictly inside (-1, 1):
    for massless electrons dsigma/dcos ~ 1/sin^2(theta) diverges for collinear photons (the electron mass would
    cut it off at theta ~ m_e / E, giving the log(s/m_e^2) of collinear ISR, which belongs to beam-line photons no
    detector sees). The collider files give a window inside the calorimeter acceptance. The photon energy in the
    CM is fixed, E_gamma = (s - m_Z'^2) / (2 sqrt s) (isr_photon_energy_cm); in the lab it varies with angle through
    the boost. The Z' (status 1) is decayed by the decay step; its Breit-Wigner line shape is not included.
    vegas variable: t = atanh(cos theta), uniform in [atanh(lo), atanh(hi)], which flattens 1/sin^2.
    """

    def __init__(self, model, sqrt_s: float, lumi_fb: float | None = None, cos_range: tuple[float, float] = (-0.6, 0.6),
                 beams: tuple[float, float] | None = None):
        super().__init__(model, sqrt_s, lumi_fb, beams)
        self.m_zp = self.params.m_Zprime
        self._check_threshold(self.m_zp, "e+e- -> gamma Z'")
        lo, hi = (float(v) for v in cos_range)
        if not -1.0 < lo < hi < 1.0:
            msg = (f"= {cos_range}: the photon window must satisfy -1 < lo < hi < 1 "
                   "(collinear ISR diverges without a cut)")
            raise CardError("process.isr_cos_theta_cm", msg)
        self.cos_range = (lo, hi)
        self._t = (math.atanh(lo), math.atanh(hi))
        self.name = f"isr@{self.sqrt_s:.4g}GeV"

    def dsigma_dcos(self, cos_theta: np.ndarray) -> np.ndarray:
        """dsigma/dcos(theta_gamma) in cm^2."""
        return eephys.isr_dsigma_dcos(self.s, cos_theta, self.m_zp, self.e_L, self.e_R) * const.GEV2_TO_CM2

    def sigma_cm2(self) -> float:
        """Cross section inside the photon window, cm^2 (analytic)."""
        return eephys.isr_sigma(self.s, self.m_zp, self.e_L, self.e_R, *self.cos_range) * const.GEV2_TO_CM2

    def _cos(self, x: np.ndarray) -> np.ndarray:
        t0, t1 = self._t
        return np.tanh(t0 + (t1 - t0) * x[:, 0])

    def integrand(self, x: np.ndarray) -> np.ndarray:
        """Expected events (or cm^2) per unit hypercube volume; dcos = (1 - cos^2) dt."""
        c = self._cos(x)
        return self.dsigma_dcos(c) * (1.0 - c * c) * (self._t[1] - self._t[0]) * self._exposure

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> EventBlock:
        """Lab-frame events e- e+ -> gamma Z' (photon first)."""
        c = self._cos(x)
        phi = rng.uniform(0.0, 2.0 * math.pi, size=c.shape[0])
        prod = self._to_lab_two_body(0.0, self.m_zp, c, phi)
        prod[:, 0, 0] = np.sqrt(np.sum(prod[:, 0, 1:] ** 2, axis=1))  # massless photon exactly
        info = {"cos_theta_cm": c,
                "E_gamma_cm": np.full(c.shape[0], eephys.isr_photon_energy_cm(self.sqrt_s, self.m_zp))}
        return self._block(prod, [P.pdg("gamma"), P.pdg("Z'")], weight, info, ["gamma", P.record_name("Z'")])


