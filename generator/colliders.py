"""e+e- collider definitions: running points, beams and luminosities from generator/data/colliders/<name>.toml.

Read by the one definition loader (generator.datafiles); DataTableError names the file and the key.
Units: GeV for energies, fb^-1 for luminosities, nb for resonance cross sections.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator import constants as const
from generator.datafiles import NUMBER, Field, check_table, positive, read_file, shipped_files
from generator.errors import CardError, DataTableError, UnknownNameError
from generator.physics import meson as mes

_TOP = {"name": Field(str), "isr_cos_theta_cm": Field(list), "runs": Field(list)}
_RUN = {
    "label": Field(str), "sqrt_s_GeV": Field(NUMBER, **positive()), "E_electron_GeV": Field(NUMBER, **positive()),
    "E_positron_GeV": Field(NUMBER, **positive()), "luminosity_fb": Field(NUMBER, required=False, **positive()),
    "resonance": Field(str, required=False), "sigma_resonance_nb": Field(NUMBER, required=False, **positive()),
    "monophoton": Field(bool, required=False),
}
_ALIASES = {"babar": "babar", "pepii": "babar", "belle2": "belle2", "belleii": "belle2", "superkekb": "belle2"}


@dataclass(frozen=True)
class ColliderRun:
    """One running point of a collider. Energies in GeV, luminosity in fb^-1, sigma_resonance in nb."""

    label: str
    sqrt_s: float
    E_electron: float
    E_positron: float
    luminosity_fb: float | None
    resonance: str | None
    sigma_resonance_nb: float | None
    monophoton: bool

    def beams(self) -> tuple[np.ndarray, np.ndarray]:
        """Lab four-momenta (GeV) of e- (along +z) and e+ (along -z)."""
        return beam_momenta(self.E_electron, self.E_positron)


@dataclass(frozen=True)
class Collider:
    """An e+e- collider: running points and the generator-level ISR photon window (CM cos theta)."""

    name: str
    runs: tuple[ColliderRun, ...]
    isr_cos_theta_cm: tuple[float, float]
    path: str

    def run(self, sqrt_s: float, tol: float = 0.02) -> ColliderRun:
        """The running point with |sqrt_s - sqrt_s_run| < tol (GeV); CardError listing the allowed ones."""
        for r in self.runs:
            if abs(r.sqrt_s - sqrt_s) < tol:
                return r
        allowed = ", ".join(f"{r.sqrt_s:g}" for r in self.runs)
        msg = f"= {sqrt_s} GeV is not a running point of {self.name}; allowed: {allowed} GeV"
        raise CardError("experiment.sqrt_s_GeV", msg)


def beam_momenta(E_electron: float, E_positron: float) -> tuple[np.ndarray, np.ndarray]:
    """Lab four-momenta (GeV) of an e- of energy E_electron along +z and an e+ of energy E_positron along -z."""
    for key, E in (("E_electron_GeV", E_electron), ("E_positron_GeV", E_positron)):
        if not (math.isfinite(E) and E > const.M_E):
            card_key = f"experiment.{key}"
            msg = f"= {E}: beam energy must be a number > m_e = {const.M_E} GeV"
            raise CardError(card_key, msg)
    pm = math.sqrt(E_electron**2 - const.M_E**2)
    pp = math.sqrt(E_positron**2 - const.M_E**2)
    return np.array([E_electron, 0.0, 0.0, pm]), np.array([E_positron, 0.0, 0.0, -pp])


def minkowski_square(p: np.ndarray) -> float:
    """p.p (GeV^2) of one four-vector (+,-,-,-)."""
    return float(p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2)


def load_collider(name_or_path: str) -> Collider:
    """Collider data from generator/data/colliders/<name>.toml ("babar", "belle2") or from a TOML path.

    Every run needs label, sqrt_s_GeV, E_electron_GeV, E_positron_GeV (checked against sqrt_s to 0.1%) and may give
    luminosity_fb, resonance, sigma_resonance_nb, monophoton. DataTableError names the file and key when malformed.
    """
    if Path(name_or_path).suffix == ".toml":
        src = Path(name_or_path)
    else:
        shipped = shipped_files("colliders")
        if name_or_path.lower() not in shipped:
            raise UnknownNameError("collider", name_or_path, shipped)
        src = shipped[name_or_path.lower()]
    path = str(src)
    data = check_table(read_file(src), _TOP, path)
    isr = data["isr_cos_theta_cm"]
    if len(isr) != 2 or not all(isinstance(v, NUMBER) for v in isr) or not -1 < isr[0] < isr[1] < 1:
        msg = f"= {isr}: need [lo, hi] with -1 < lo < hi < 1"
        raise DataTableError(path, "isr_cos_theta_cm", msg)
    runs = []
    for k, r in enumerate(data["runs"]):
        where = f"runs[{k}]"
        check_table(r, _RUN, path, where)
        run = ColliderRun(
            label=r["label"], sqrt_s=float(r["sqrt_s_GeV"]), E_electron=float(r["E_electron_GeV"]),
            E_positron=float(r["E_positron_GeV"]), luminosity_fb=_opt_float(r.get("luminosity_fb")),
            resonance=r.get("resonance"), sigma_resonance_nb=_opt_float(r.get("sigma_resonance_nb")),
            monophoton=bool(r.get("monophoton", False)),
        )
        pe, pp = run.beams()
        rs = math.sqrt(max(minkowski_square(pe + pp), 0.0))
        if abs(rs - run.sqrt_s) > 1e-3 * run.sqrt_s:
            raise DataTableError(path, f"{where}.sqrt_s_GeV", f"= {run.sqrt_s}: the beams give sqrt(s) = {rs:.5g} GeV "
                                 "(allowed: within 0.1%)")
        if run.resonance is not None:
            mes.vector_meson(run.resonance)
            if run.sigma_resonance_nb is None:
                msg = f"missing: resonance {run.resonance} is named"
                raise DataTableError(path, f"{where}.sigma_resonance_nb", msg)
        runs.append(run)
    return Collider(name=data["name"], runs=tuple(runs), isr_cos_theta_cm=(float(isr[0]), float(isr[1])), path=path)


def _opt_float(v):
    return None if v is None else float(v)


def collider_file_name(name: str) -> str:
    """Collider data-file stem for an experiment name ("BaBar" -> "babar", "Belle II" -> "belle2")."""
    key = re.sub(r"[\s_\-]", "", name.lower())
    if key not in _ALIASES:
        raise UnknownNameError("e+e- collider (experiment.name)", name, ["babar", "belle2"])
    return _ALIASES[key]


__all__ = ["Collider", "ColliderRun", "beam_momenta", "collider_file_name", "load_collider", "minkowski_square"]
