"""Hadronic form factors for neutrino upscattering (numba kernels with thin numpy wrappers).

All functions take Q^2 = -q^2 >= 0 in GeV^2 and return dimensionless numbers.

Nucleus (coherent regime)
    Charge form factor (the e eps J_EM part of the Z' current and the proton part of the NC current): the
    Fourier transform of the measured charge density, normalised to F(0) = 1,

        F(q) = (4 pi / Z q) int_0^inf rho(r) r sin(q r) dr.

    For the Fourier-Bessel density rho(r) = sum_nu a_nu j0(nu pi r / R) (r < R; de Vries, de Jager, de Vries,
    At. Data Nucl. Data Tables 36 (1987) 495, Eq. 9) this integral is, in closed form (derived here from
    int_0^R sin(a r) sin(q r) dr with a R = nu pi),

        F(q) = [sin(qR) / (qR)] sum_nu (-1)^(nu+1) a_nu / (nu^2 pi^2 - q^2 R^2)
               / sum_nu (-1)^(nu+1) a_nu / (nu^2 pi^2).

    Coefficients and radii: generator/data/nuclear_charge.toml (sources there). Option "helm": the Helm form
    below with r_n fitted to the measured rms charge radius, <r^2> = (3/5) r_n^2 + 3 s^2 (Lewin & Smith Eq. 4.10).

    Weak (neutron) form factor for the neutron part of the NC current and for the scalar: Helm with rms radius
    R_w^2 = r_ch^2 - (N/Z) <r_n^2>: point neutrons distributed like point protons (r_pt^2 = r_ch^2 - r_p^2 -
    (N/Z) <r_n^2>, no neutron skin) folded with a weak-charge nucleon radius equal to r_p (as in C. J. Horowitz
    et al., Phys. Rev. C 85 (2012) 032501). <r_n^2> = -0.1161 fm^2 (PDG 2020), r_p = 0.8409 fm (CODATA 2018).

    Helm form factor, R. H. Helm, Phys. Rev. 104 (1956) 1466, with the parameters of J. D. Lewin and
    P. F. Smith, Astropart. Phys. 6 (1996) 87, Sec. 4 (Eq. 4.7 and the fit below Eq. 4.11):

        F(q) = 3 j1(q r_n) / (q r_n) * exp(-(q s)^2 / 2),
        r_n^2 = c^2 + (7/3) pi^2 a^2 - 5 s^2,  c = 1.23 A^(1/3) - 0.60 fm,  a = 0.52 fm,  s = 0.9 fm,

    with q = sqrt(Q^2) / (hbar c); F(0) = 1. `helm(Q2, A)` keeps this Lewin-Smith radius (an rms of 2.585 fm
    for C12, against the measured charge radius 2.470 fm); the generator no longer uses it.

Nucleon (incoherent regime)
    Sachs form factors in the dipole approximation, G_D = (1 + Q^2 / M_V^2)^-2 with M_V^2 = 0.71 GeV^2:
    G_E^p = G_D, G_M^p = mu_p G_D, G_M^n = mu_n G_D, and the Galster parameterisation of the neutron
    electric form factor G_E^n = -mu_n tau G_D / (1 + 5.6 tau) (S. Galster et al., Nucl. Phys. B32 (1971)
    221), tau = Q^2 / (4 M^2). Dirac and Pauli form factors (e.g. C. H. Llewellyn Smith, Phys. Rep. 3
    (1972) 261, Eq. 3.13):  F1 = (G_E + tau G_M) / (1 + tau),  F2 = (G_M - G_E) / (1 + tau).
    Isovector axial form factor G_A = g_A / (1 + Q^2 / M_A^2)^2 with g_A = 1.2754 (PDG 2020) and
    M_A = 1.026 GeV (V. Bernard, L. Elouadrhiri, U.-G. Meissner, J. Phys. G28 (2002) R1, world average).
    Strange-quark form factors are neglected.

Pauli blocking (optional, bound nucleons)
    Fraction of final nucleon states outside a Fermi sphere of radius k_F for a momentum transfer
    |q| (zero-energy-transfer global Fermi gas; e.g. C. H. Llewellyn Smith, Phys. Rep. 3 (1972) 261,
    Sec. 3.4): with x = |q| / (2 k_F),  R = 3x/2 - x^3/2 for x < 1, R = 1 otherwise. This is one minus
    the overlap volume of two Fermi spheres displaced by |q|.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from generator import constants as const
from generator.errors import DataFileError, UnknownNameError
from generator.kernels import kernel

# --- parameters (units in the names) -------------------------------------------------------------
#: hbar c in GeV fm (converts sqrt(Q^2) in GeV to fm^-1).
HBARC_GEV_FM = const.HBARC_GEV_CM * 1e13
#: Helm parameters (fm), Lewin & Smith (1996) Sec. 4.
HELM_S_FM = 0.9
HELM_A_FM = 0.52
HELM_C1_FM = 1.23
HELM_C0_FM = 0.60
#: Proton rms charge radius (fm, CODATA 2018) and neutron mean-square charge radius (fm^2, PDG 2020).
PROTON_RMS_FM = 0.8409
NEUTRON_MSR_FM2 = -0.1161
#: Charge-model codes in the packed parameter vectors of nuclear_ff_scalar.
FF_HELM = 0.0
FF_FOURIER_BESSEL = 1.0
#: Charge models a target may choose in nuclear_charge.toml.
CHARGE_MODELS = ("fourier_bessel", "helm")
#: Dipole vector mass squared (GeV^2) and magnetic moments (nuclear magnetons, CODATA 2018).
DIPOLE_MV2 = 0.71
MU_P = 2.792847344
MU_N = -1.91304273
#: Galster parameter for G_E^n.
GALSTER_B = 5.6
#: Axial coupling (PDG 2020) and axial mass (GeV).
G_A0 = 1.2754
M_AXIAL = 1.026


# --------------------------------------------------------------------------------- kernels (scalars)


@kernel
def helm_radius_fm(A):
    """Helm r_n in fm for mass number A (Lewin & Smith 1996, below Eq. 4.11)."""
    c = HELM_C1_FM * A ** (1.0 / 3.0) - HELM_C0_FM
    return math.sqrt(c * c + (7.0 / 3.0) * math.pi**2 * HELM_A_FM**2 - 5.0 * HELM_S_FM**2)


@kernel
def helm_scalar(Q2, r_n):
    """Helm form factor at Q2 (GeV^2) for radius r_n (fm); F(0) = 1 (Helm 1956; Lewin & Smith Eq. 4.7)."""
    q = math.sqrt(max(Q2, 0.0)) / HBARC_GEV_FM  # fm^-1
    x = q * r_n
    if x < 1e-3:
        # 3 j1(x)/x = 1 - x^2/10 + x^4/280 - ... (series of the spherical Bessel function)
        j = 1.0 - x * x / 10.0 + x**4 / 280.0
    else:
        j = 3.0 * (math.sin(x) - x * math.cos(x)) / (x * x * x)
    return j * math.exp(-0.5 * (q * HELM_S_FM) ** 2)


@kernel
def fourier_bessel_scalar(Q2, R, a):
    """Normalised Fourier-Bessel charge form factor at Q2 (GeV^2); R in fm, a (array) the FB coefficients.

    Closed form of the module docstring (de Vries et al. 1987 FB density); F(0) = 1.
    """
    x = math.sqrt(max(Q2, 0.0)) / HBARC_GEV_FM * R  # q R
    num = 0.0
    den = 0.0
    for k in range(a.shape[0]):
        nu = k + 1
        npi = nu * math.pi
        sgn = 1.0 if nu % 2 == 1 else -1.0  # (-1)^(nu+1)
        den += sgn * a[k] / (npi * npi)
        d = x - npi
        if abs(d) < 1e-7:
            # sin(x) / (x (nu^2 pi^2 - x^2)) -> (-1)^(nu+1) / (2 nu^2 pi^2) at x = nu pi
            num += sgn * a[k] * sgn / (2.0 * npi * npi)
        elif x < 1e-6:
            num += sgn * a[k] / (npi * npi - x * x)
        else:
            num += sgn * a[k] * math.sin(x) / (x * (npi * npi - x * x))
    return num / den


@kernel
def nuclear_ff_scalar(Q2, p):
    """Nuclear form factor at Q2 (GeV^2) from a packed parameter vector p (see nuclear_ff_params).

    p[0] = FF_HELM: p[1] = Helm r_n (fm).  p[0] = FF_FOURIER_BESSEL: p[1] = R (fm), p[2:] = a_nu (fm^-3).
    """
    if p[0] == FF_HELM:
        return helm_scalar(Q2, p[1])
    return fourier_bessel_scalar(Q2, p[1], p[2:])


@kernel
def nucleon_em_scalar(Q2, M, tau3):
    """(F1, F2) electromagnetic Dirac/Pauli form factors of the proton (tau3=+1) or neutron (tau3=-1).

    Dipole Sachs form factors with Galster G_E^n (see module docstring); Q2 in GeV^2, M in GeV.
    """
    gd = 1.0 / (1.0 + Q2 / DIPOLE_MV2) ** 2
    tau = Q2 / (4.0 * M * M)
    if tau3 > 0:
        ge = gd
        gm = MU_P * gd
    else:
        ge = -MU_N * tau * gd / (1.0 + GALSTER_B * tau)
        gm = MU_N * gd
    f1 = (ge + tau * gm) / (1.0 + tau)
    f2 = (gm - ge) / (1.0 + tau)
    return f1, f2


@kernel
def axial_scalar(Q2):
    """Isovector axial form factor G_A(Q2) = g_A / (1 + Q2/M_A^2)^2 (dipole)."""
    return G_A0 / (1.0 + Q2 / (M_AXIAL * M_AXIAL)) ** 2


@kernel
def pauli_blocking_scalar(qabs, k_F):
    """Fermi-gas Pauli-blocking factor for 3-momentum transfer qabs (GeV) and Fermi momentum k_F (GeV).

    R = 3x/2 - x^3/2 for x = qabs / (2 k_F) < 1, else 1; k_F <= 0 switches blocking off (R = 1).
    """
    if k_F <= 0.0:
        return 1.0
    x = qabs / (2.0 * k_F)
    if x >= 1.0:
        return 1.0
    return 1.5 * x - 0.5 * x * x * x


# ------------------------------------------------------------------------------ vectorised kernels


@kernel
def _helm_array(Q2, r_n):
    out = np.empty(Q2.shape[0])
    for i in range(Q2.shape[0]):
        out[i] = helm_scalar(Q2[i], r_n)
    return out


@kernel
def _nucleon_em_array(Q2, M, tau3):
    n = Q2.shape[0]
    f1 = np.empty(n)
    f2 = np.empty(n)
    for i in range(n):
        f1[i], f2[i] = nucleon_em_scalar(Q2[i], M, tau3)
    return f1, f2


@kernel
def _nuclear_ff_array(Q2, p):
    out = np.empty(Q2.shape[0])
    for i in range(Q2.shape[0]):
        out[i] = nuclear_ff_scalar(Q2[i], p)
    return out


# ------------------------------------------------------------------------------------ wrappers


def helm(Q2, A: int) -> np.ndarray:
    """Helm nuclear form factor F(Q2) for mass number A; Q2 in GeV^2 (array), result dimensionless."""
    q2 = np.atleast_1d(np.asarray(Q2, dtype=float))
    return _helm_array(np.ascontiguousarray(q2.ravel()), helm_radius_fm(float(A))).reshape(q2.shape)


def nucleon_em(Q2, nucleon: str) -> tuple[np.ndarray, np.ndarray]:
    """(F1, F2) of "p" or "n" at Q2 (GeV^2); dimensionless. F1^p(0) = 1, F2^p(0) = mu_p - 1, F1^n(0) = 0."""
    if nucleon not in ("p", "n"):
        msg = f"nucleon {nucleon!r}: allowed 'p' or 'n'"
        raise ValueError(msg)
    M = const.M_PROTON if nucleon == "p" else const.M_NEUTRON
    q2 = np.atleast_1d(np.asarray(Q2, dtype=float))
    f1, f2 = _nucleon_em_array(np.ascontiguousarray(q2.ravel()), M, 1 if nucleon == "p" else -1)
    return f1.reshape(q2.shape), f2.reshape(q2.shape)


def axial(Q2) -> np.ndarray:
    """Isovector axial form factor G_A(Q2), Q2 in GeV^2; G_A(0) = g_A = 1.2754."""
    q2 = np.asarray(Q2, dtype=float)
    return G_A0 / (1.0 + q2 / M_AXIAL**2) ** 2


def pauli_blocking(qabs, k_F: float) -> np.ndarray:
    """Fermi-gas Pauli-blocking factor for |q| (GeV, array) and k_F (GeV); 1 above |q| = 2 k_F."""
    x = np.asarray(qabs, dtype=float) / (2.0 * k_F)
    return np.where(x < 1.0, 1.5 * x - 0.5 * x**3, 1.0)


# ---------------------------------------------------------------------------- nuclear data (targets)


@dataclass(frozen=True)
class NuclearFormFactors:
    """Charge and weak form-factor parameters of one nucleus (radii in fm, FB coefficients in fm^-3).

    charge, weak: packed parameter vectors for nuclear_ff_scalar / nuclear_form_factor.
    """

    name: str
    Z: int
    N: int
    charge_model: str
    rms_measured_fm: float
    rms_fit_fm: float | None
    fb_R_fm: float
    fb_a_fm3: np.ndarray
    charge: np.ndarray
    weak: np.ndarray

    @property
    def weak_rms_fm(self) -> float:
        """rms radius (fm) of the weak (neutron) distribution: R_w^2 = r_ch^2 - (N/Z) <r_n^2>."""
        return weak_rms_fm(self.rms_measured_fm, self.Z, self.N)


def helm_radius_from_rms(rms_fm: float) -> float:
    """Helm r_n (fm) whose form factor has rms radius rms_fm (fm): <r^2> = (3/5) r_n^2 + 3 s^2 (Lewin & Smith 4.10)."""
    val = (5.0 / 3.0) * (rms_fm**2 - 3.0 * HELM_S_FM**2)
    if val <= 0.0:
        msg = f"rms radius {rms_fm} fm: must exceed sqrt(3) s = {math.sqrt(3) * HELM_S_FM:.4g} fm for a Helm fit"
        raise DataFileError(msg)
    return math.sqrt(val)


def weak_rms_fm(r_ch_fm: float, Z: int, N: int) -> float:
    """rms radius (fm) of the weak (neutron) distribution from the charge radius r_ch (fm): see module docstring."""
    return math.sqrt(r_ch_fm**2 - (N / Z) * NEUTRON_MSR_FM2)


@cache
def _nuclear_table() -> dict:
    path = resources.files("generator") / "data" / "nuclear_charge.toml"
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read nuclear charge table {path}: {exc}"
        raise DataFileError(msg) from None


@cache
def nuclear_ff_params(name: str, Z: int, A: int, charge_model: str | None = None) -> NuclearFormFactors:
    """Form-factor parameters of nucleus `name` (a [section] of generator/data/nuclear_charge.toml).

    charge_model: None (the table's choice), "fourier_bessel" or "helm" (radius fitted to the measured rms).
    """
    table = _nuclear_table()
    if name not in table:
        raise UnknownNameError("nucleus in nuclear_charge.toml", name, table)
    t = table[name]
    model = charge_model if charge_model is not None else str(t.get("charge_model", "fourier_bessel"))
    if model not in CHARGE_MODELS:
        msg = f"nuclear_charge.toml [{name}]: charge_model = {model!r}; allowed {CHARGE_MODELS}"
        raise DataFileError(msg)
    try:
        rms = float(t["rms_measured_fm"])
        R = float(t["fb_R_fm"])
        a = np.array([float(x) for x in t["fb_a_fm3"]])
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"nuclear_charge.toml [{name}]: needs numbers rms_measured_fm, fb_R_fm and a list fb_a_fm3 ({exc})"
        raise DataFileError(msg) from None
    fit = t.get("rms_fit_fm")
    if model == "helm":
        charge = np.array([FF_HELM, helm_radius_from_rms(rms)])
    else:
        charge = np.concatenate(([FF_FOURIER_BESSEL, R], a))
    N = A - Z
    weak = np.array([FF_HELM, helm_radius_from_rms(weak_rms_fm(rms, Z, N))])
    for arr in (a, charge, weak):
        arr.flags.writeable = False  # cached: shared by every caller
    return NuclearFormFactors(name, Z, N, model, rms, None if fit is None else float(fit), R, a, charge, weak)


def nuclear_form_factor(Q2, params: np.ndarray) -> np.ndarray:
    """Nuclear form factor F(Q2) (dimensionless) for a packed parameter vector; Q2 in GeV^2 (array)."""
    q2 = np.atleast_1d(np.asarray(Q2, dtype=float))
    p = np.ascontiguousarray(params, dtype=float)
    return _nuclear_ff_array(np.ascontiguousarray(q2.ravel()), p).reshape(q2.shape)


__all__ = [
    "NuclearFormFactors",
    "axial",
    "helm",
    "helm_radius_fm",
    "helm_radius_from_rms",
    "nuclear_ff_params",
    "nuclear_form_factor",
    "nucleon_em",
    "pauli_blocking",
    "weak_rms_fm",
]
