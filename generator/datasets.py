"""Published data the project may not ship: where to find them and how to read them.

The MiniBooNE 2020 neutrino-mode nu_e CCQE-like data release (bin edges, observed events, predicted
background, nu_mu CCQE prediction and data, fractional covariance) is never copied into this package. It is
found, in order, from
1. an explicit directory (a card key or CLI option passed as ``explicit``),
2. the environment variable ``DSGEN_MINIBOONE_RELEASE``,
3. the developers' fallback ``../shared/data/miniboone_2020_release/fhcmode`` beside a source checkout.
An explicit directory or environment variable that does not exist is an error; a missing fallback is not
(callers then say "signal only").

Units: bin edges in GeV (the release files are in MeV); counts in events per bin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.constants import MEV
from generator.errors import DataFileError

#: Environment variable naming the MiniBooNE release directory.
MINIBOONE_RELEASE_ENV = "DSGEN_MINIBOONE_RELEASE"
#: Developers' fallback, relative to the directory that holds this source checkout.
_SHARED_RELEASE = Path("shared") / "data" / "miniboone_2020_release" / "fhcmode"

RELEASE_FILES = {
    "edges": "miniboone_binboundaries_nue_lowe.txt",
    "data": "miniboone_nuedata_lowe.txt",
    "background": "miniboone_nuebgr_lowe.txt",
    "numu_prediction": "miniboone_numu.txt",
    "numu_data": "miniboone_numudata.txt",
    "fractional_covariance": "miniboone_full_fractcovmatrix_nu_lowe.txt",
}
#: Files every use needs; the nu_mu and covariance files are needed by fits only.
_CORE = ("edges", "data", "background")


@dataclass(frozen=True)
class ReleaseLocation:
    """Where the release was found: ``path`` (None when nowhere) and ``source`` ("explicit", "environment",
    "developer fallback" or "not found")."""

    path: Path | None
    source: str

    @property
    def found(self) -> bool:
        return self.path is not None


def _checkout_fallback() -> Path:
    # generator/datasets.py -> <checkout>/generator -> <checkout> -> its parent holds shared/
    return Path(__file__).resolve().parent.parent.parent / _SHARED_RELEASE


def locate_miniboone_release(explicit: str | os.PathLike | None = None) -> ReleaseLocation:
    """Find the MiniBooNE release directory (see module docstring for the order).

    Raises DataFileError when an explicit directory or the environment variable names a directory that
    does not exist; returns ``ReleaseLocation(None, "not found")`` when only the fallback is missing.
    """
    if explicit is not None and str(explicit) != "":
        p = Path(explicit).expanduser()
        if not p.is_dir():
            msg = (
                f"MiniBooNE data release directory {p.resolve()} does not exist "
                                f"(given explicitly; expected files: {', '.join(RELEASE_FILES.values())})"
            )
            raise DataFileError(msg)
        return ReleaseLocation(p.resolve(), "explicit")
    env = os.environ.get(MINIBOONE_RELEASE_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            msg = (
                f"MiniBooNE data release directory {p.resolve()} does not exist "
                                f"(environment variable {MINIBOONE_RELEASE_ENV})"
            )
            raise DataFileError(msg)
        return ReleaseLocation(p.resolve(), "environment")
    fb = _checkout_fallback()
    if fb.is_dir():
        return ReleaseLocation(fb, "developer fallback")
    return ReleaseLocation(None, "not found")


def _read_numbers(f: Path) -> np.ndarray:
    if not f.is_file():
        msg = (
            f"MiniBooNE data release: {f} not found (expected files: "
                            f"{', '.join(RELEASE_FILES.values())})"
        )
        raise DataFileError(msg)
    try:
        return np.array(f.read_text().split(), dtype=float)
    except ValueError as exc:
        msg = f"MiniBooNE data release: {f} is not a list of numbers: {exc}"
        raise DataFileError(msg) from None


def read_miniboone_release(path: str | os.PathLike, full: bool = False) -> dict[str, np.ndarray]:
    """Read the release from directory ``path``.

    Returns ``edges`` (GeV), ``data`` and ``background`` (events per E_nu^QE bin); with ``full=True`` also
    ``numu_prediction`` and ``numu_data`` (events per nu_mu bin) and ``fractional_covariance`` (square matrix,
    dimensionless). Raises DataFileError naming the file when one is missing or inconsistent.
    """
    path = Path(path)
    keys = RELEASE_FILES if full else _CORE
    out = {key: _read_numbers(path / RELEASE_FILES[key]) for key in keys}
    n = len(out["edges"]) - 1
    for key in ("data", "background"):
        if len(out[key]) != n:
            msg = (
                f"MiniBooNE data release: {path / RELEASE_FILES[key]} has {len(out[key])} "
                                f"bins, the bin-boundary file defines {n}"
            )
            raise DataFileError(msg)
    out["edges"] = out["edges"] * MEV  # MeV -> GeV
    if full:
        if len(out["numu_prediction"]) != len(out["numu_data"]):
            msg = (
                f"MiniBooNE data release: {path / RELEASE_FILES['numu_data']} has "
                                f"{len(out['numu_data'])} bins, {RELEASE_FILES['numu_prediction']} has "
                                f"{len(out['numu_prediction'])}"
            )
            raise DataFileError(msg)
        cov = out["fractional_covariance"]
        dim = round(np.sqrt(cov.size))
        if dim * dim != cov.size:
            msg = (
                f"MiniBooNE data release: {path / RELEASE_FILES['fractional_covariance']} "
                                f"holds {cov.size} numbers, not a square matrix"
            )
            raise DataFileError(msg)
        out["fractional_covariance"] = cov.reshape(dim, dim)
    return out


def release_excess(release: dict[str, np.ndarray], lo: float = 0.2, hi: float = 1.25) -> float:
    """Observed minus predicted events in lo <= E_QE <= hi (GeV), whole bins only."""
    e = release["edges"]
    m = (e[:-1] >= lo - 1e-9) & (e[1:] <= hi + 1e-9)
    return float(np.sum(release["data"][m] - release["background"][m]))


__all__ = ["MINIBOONE_RELEASE_ENV", "RELEASE_FILES", "ReleaseLocation", "locate_miniboone_release",
           "read_miniboone_release", "release_excess"]
