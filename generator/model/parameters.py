"""Lagrangian parameters of the dark-seesaw model (Eqs. 1-3 and A1 of the paper) and the BP presets.

All masses in GeV. The flavour basis is (nu_alpha^c ..., nu_N1^c ... nu_Nn^c, nu_DL^c ..., nu_DR ...),
Eq. (A1): n_active active flavours, n sterile states, d vector-like dark fermions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from generator import constants as const
from generator.errors import CardError, UnknownNameError

ALLOWED_FLAVOURS = ("e", "mu", "tau")
#: Z'/Z vertex conventions for Majorana pairs (see generator/model/vertices.py and the README).
VERTEX_CONVENTIONS = ("majorana", "paper")


@dataclass(frozen=True)
class ModelParameters:
    """Lagrangian parameters. Every mass is in GeV.

    Attributes
    ----------
    flavours : active flavours in mass-matrix order, 1 or 2 of "e", "mu", "tau".
    M_D : (n_active, n) Dirac masses M_D = Y v_H / sqrt(2), GeV.
    M_N : (n,) diagonal sterile Majorana masses, GeV.
    Lambda_L, Lambda_R : (n, d) dark Dirac masses Lambda = Y_{L,R} v_Phi / sqrt(2), GeV.
    M_X : (d,) vector-like dark masses (M_X matrix taken diagonal), GeV.
    m_Zprime : dark photon mass, GeV.
    epsilon : kinetic mixing epsilon = c_W chi (Eq. 3).
    alpha_D : dark coupling g_X^2 / (4 pi).
    m_phiprime : dark scalar mass, GeV.
    sin_theta : Higgs - Phi scalar mixing.
    name : label for output.
    vertex_convention : "majorana" (physical Majorana vertex g (X_ij P_L - X_ij^* P_R), 1/2 for identical pairs;
        default) or "paper" (pure axial |X_ij| for every pair, no 1/2: reproduces Tables I/II of the paper).
    """

    flavours: tuple[str, ...]
    M_D: np.ndarray
    M_N: np.ndarray
    Lambda_L: np.ndarray
    Lambda_R: np.ndarray
    M_X: np.ndarray
    m_Zprime: float
    epsilon: float
    alpha_D: float
    m_phiprime: float
    sin_theta: float = 0.0
    name: str = "custom"
    vertex_convention: str = "majorana"
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for key in ("M_D", "M_N", "Lambda_L", "Lambda_R", "M_X"):
            # complex entries (CP phases) are kept; real input stays real
            arr = np.asarray(getattr(self, key))
            arr = arr.astype(complex) if np.iscomplexobj(arr) and np.any(arr.imag != 0) else arr.real.astype(float)
            object.__setattr__(self, key, arr)
        if self.M_D.ndim == 1:
            object.__setattr__(self, "M_D", self.M_D[None, :])
        for key in ("Lambda_L", "Lambda_R"):
            arr = getattr(self, key)
            if arr.ndim == 1:
                object.__setattr__(self, key, arr[:, None])
        object.__setattr__(self, "M_X", np.atleast_1d(self.M_X))
        object.__setattr__(self, "flavours", tuple(self.flavours))
        self.validate()

    # ---------------------------------------------------------------- derived quantities
    @property
    def n_active(self) -> int:
        return len(self.flavours)

    @property
    def n_sterile(self) -> int:
        return self.M_N.shape[0]

    @property
    def n_dark(self) -> int:
        return self.M_X.shape[0]

    @property
    def g_X(self) -> float:
        """Dark gauge coupling, g_X = sqrt(4 pi alpha_D)."""
        return math.sqrt(4.0 * math.pi * self.alpha_D)

    @property
    def chi(self) -> float:
        """Kinetic-mixing angle chi = epsilon / c_W (Eq. 3)."""
        return self.epsilon / const.CW

    @property
    def v_phi(self) -> float:
        """Dark vev in GeV from m_Z' = g_X v_Phi (Q_X = 1, below Eq. 3)."""
        return self.m_Zprime / self.g_X

    @property
    def Y(self) -> np.ndarray:
        """Neutrino Yukawas Y = sqrt(2) M_D / v_H, shape (n_active, n)."""
        return math.sqrt(2.0) * self.M_D / const.V_HIGGS

    @property
    def Y_L(self) -> np.ndarray:
        """Dark Yukawas Y_L = sqrt(2) Lambda_L / v_Phi, shape (n, d)."""
        return math.sqrt(2.0) * self.Lambda_L / self.v_phi

    @property
    def Y_R(self) -> np.ndarray:
        """Dark Yukawas Y_R = sqrt(2) Lambda_R / v_Phi, shape (n, d)."""
        return math.sqrt(2.0) * self.Lambda_R / self.v_phi

    def with_(self, **changes) -> ModelParameters:
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    # ---------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise CardError naming the parameter when a value is not physical or shapes disagree."""
        if not 1 <= len(self.flavours) <= 2:
            msg = f"{list(self.flavours)} has {len(self.flavours)} entries; 1 or 2 active flavours are allowed"
            raise CardError("model.flavours", msg)
        for f in self.flavours:
            if f not in ALLOWED_FLAVOURS:
                raise UnknownNameError("active flavour", f, ALLOWED_FLAVOURS)
        if len(set(self.flavours)) != len(self.flavours):
            msg = f"{list(self.flavours)} repeats a flavour"
            raise CardError("model.flavours", msg)
        n = self.M_N.shape[0] if self.M_N.ndim == 1 else -1
        if self.M_N.ndim != 1 or n < 1:
            msg = f"{self.M_N.tolist()} must be a list of n >= 1 masses"
            raise CardError("model.M_N_GeV", msg)
        if self.M_D.shape != (self.n_active, n):
            msg = f"shape {self.M_D.shape} must be (n_active, n) = ({self.n_active}, {n})"
            raise CardError("model.M_D_GeV", msg)
        d = self.M_X.shape[0]
        if self.M_X.ndim != 1 or d < 1:
            msg = f"{self.M_X.tolist()} must be one mass per dark fermion (d >= 1)"
            raise CardError("model.M_X_GeV", msg)
        for key in ("Lambda_L", "Lambda_R"):
            arr = getattr(self, key)
            if arr.shape != (n, d):
                card_key = f"model.{key}_GeV"
                msg = f"shape {arr.shape} must be (n, d) = ({n}, {d})"
                raise CardError(card_key, msg)
        for key in ("M_D", "M_N", "Lambda_L", "Lambda_R", "M_X"):
            arr = getattr(self, key)
            if not np.all(np.isfinite(arr)):
                card_key = f"model.{key}_GeV"
                msg = f"{arr.tolist()} contains a non-finite value"
                raise CardError(card_key, msg)
        positive = {
            "m_Zprime_GeV": self.m_Zprime,
            "m_phiprime_GeV": self.m_phiprime,
            "alpha_D": self.alpha_D,
            "epsilon": self.epsilon,
        }
        for key, val in positive.items():
            if not (math.isfinite(val) and val > 0):
                card_key = f"model.{key}"
                msg = f"= {val}: must be a finite number > 0"
                raise CardError(card_key, msg)
        if self.epsilon >= 1:
            msg = f"= {self.epsilon}: kinetic mixing must be < 1"
            raise CardError("model.epsilon", msg)
        if self.alpha_D > 1.0:
            msg = f"= {self.alpha_D}: must be <= 1 (perturbative dark coupling)"
            raise CardError("model.alpha_D", msg)
        if self.m_Zprime >= 0.5 * const.M_Z:
            msg = f"= {self.m_Zprime} GeV: the model (Eq. 3) assumes m_Z' << m_Z; allowed < {0.5 * const.M_Z:.1f} GeV"
            raise CardError("model.m_Zprime_GeV", msg)
        if self.vertex_convention not in VERTEX_CONVENTIONS:
            raise UnknownNameError("vertex convention (model.vertex_convention)", self.vertex_convention,
                                   VERTEX_CONVENTIONS)
        if not (math.isfinite(self.sin_theta) and abs(self.sin_theta) < 1):
            msg = f"= {self.sin_theta}: must satisfy |sin theta| < 1"
            raise CardError("model.sin_theta", msg)


# ------------------------------------------------------------------------------------- presets
# Table III of the paper (units there: M_D in MeV, M_i in GeV, Lambda in 10 MeV, M_X in 100 MeV).
# m_Z' = 1.25 GeV, epsilon^2 = 4.6e-4 for all points; alpha_D from Tables I/II. m_phi' = 1 GeV
# (text of Sec. III and Appendix A); the Table I caption says 1.6 GeV: see tests/model for the effect.
_TABLE_III = {
    "BP-A": {"mD": (0.00950, 0.278, 0.190), "M": (-0.0429, 1.10, -1.10), "L": (-2.39, 19.0, 0.00),
             "R": (-2.39, 19.0, 0.00), "MX": -1.21, "alpha_D": 0.39},
    "BP-B": {"mD": (-0.0347, 1.98, -3.89), "M": (-0.0900, 6.00, -18.0), "L": (3.75, 24.0, 0.00),
             "R": (-2.81, 54.0, 0.00), "MX": 1.96, "alpha_D": 0.32},
    "BP-C": {"mD": (0.0336, -0.635, -1.03), "M": (-0.0963, 5.07, -10.1), "L": (3.51, 25.5, 12.7),
             "R": (-4.04, 44.1, -38.1), "MX": 1.56, "alpha_D": 0.76},
    "BP-D": {"mD": (0.129, 6.72, -11.4), "M": (0.206, 6.00, -18.0), "L": (15.0, 33.0, 0.00),
             "R": (-14.9, -12.9, 0.00), "MX": 3.50, "alpha_D": 0.11},
}
#: BP-D electron Yukawas: M_D^e = 0.11 M_D^mu (Appendix A, above Eq. A4).
BPD_ELECTRON_RATIO = 0.11
EPSILON2_BP = 4.6e-4
M_ZPRIME_BP = 1.25
M_PHIPRIME_BP = 1.0


def preset(name: str, m_phiprime: float = M_PHIPRIME_BP) -> ModelParameters:
    """Benchmark point BP-A..D of the paper (Table III), in GeV.

    BP-A..C use one active flavour (nu_mu); BP-D uses (nu_e, nu_mu) with M_D^e = 0.11 M_D^mu.
    """
    key = name.upper().replace("_", "-")
    if not key.startswith("BP-"):
        key = "BP-" + key
    if key not in _TABLE_III:
        raise UnknownNameError("preset", name, _TABLE_III)
    p = _TABLE_III[key]
    mD_mu = np.array(p["mD"]) * 1e-3
    if key == "BP-D":
        flavours = ("e", "mu")
        M_D = np.vstack([BPD_ELECTRON_RATIO * mD_mu, mD_mu])
    else:
        flavours = ("mu",)
        M_D = mD_mu[None, :]
    return ModelParameters(
        flavours=flavours,
        M_D=M_D,
        M_N=np.array(p["M"]),
        Lambda_L=np.array(p["L"])[:, None] * 1e-2,
        Lambda_R=np.array(p["R"])[:, None] * 1e-2,
        M_X=np.array([p["MX"] * 0.1]),
        m_Zprime=M_ZPRIME_BP,
        epsilon=math.sqrt(EPSILON2_BP),
        alpha_D=p["alpha_D"],
        m_phiprime=m_phiprime,
        sin_theta=0.0,
        name=key,
    )


PRESETS = tuple(_TABLE_III)
