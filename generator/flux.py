"""Neutrino fluxes: user-given tables and the shipped smooth parameterisations.

Normalisation: a :class:`Flux` returns dPhi/dE in neutrinos / cm^2 / GeV / POT (protons on target),
times its ``scale``. Flux tables whose absolute normalisation is unknown (the digitised PS-191 shape) are
used with the experiment's ``flux.scale`` (see generator/data/experiments/ps191.toml); their ``units``
say so.

Table formats read by :func:`read_flux_table` (``fmt="auto"`` detects them; comment lines start with #):

- ``"two_column"``: ``E  flux`` (GeV, flux per GeV); points, linear interpolation, zero outside.
- ``"centres_per_GeV"``: bin centre E (GeV) + 6 flavour columns (nu_e nu_mu nu_tau nu_e_bar nu_mu_bar
  nu_tau_bar) per GeV (MiniBooNE_FHC.dat, NuTeV_FHC.dat).
- ``"centres_per_bin"``: as above, values per bin (MicroBooNE_BNB_fullflux.txt, "/bin" in the header);
  divided by the bin width.
- ``"edges_per_bin"``: ``E_lo E_hi`` (GeV) + flavour columns per bin (MicroBooNE_BNB_numu_flux.dat: numu numub
  nue nueb, read from the header names when present).

``auto``: 2 columns -> two_column; first two columns consecutive bin edges -> edges_per_bin; otherwise
centre tables, per bin when a header comment mentions "bin" or "MeV", per GeV otherwise.

Binned tables are interpolated linearly between bin centres and held flat over the outer half bins
(integral = sum of bin contents). The shipped parameterisation (:func:`shipped_flux`) is

    dPhi/dE = exp( sum_k c_k T_k(u) ),  u = 2 ln(E/E_min) / ln(E_max/E_min) - 1,  E_min <= E <= E_max,

(Chebyshev series T_k in log energy), zero outside, with coefficients fitted by scripts/fit_fluxes.py
to the published tables and stored in generator/data/flux_params.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from generator.datafiles import NUMBER, Field, check_table, data_dir, read_file
from generator.errors import DataTableError, FluxFileError, UnknownNameError

FLAVOURS = ("nu_e", "nu_mu", "nu_tau", "nu_e_bar", "nu_mu_bar", "nu_tau_bar")
FORMATS = ("auto", "two_column", "centres_per_GeV", "centres_per_bin", "edges_per_bin")
#: header column names (lower case) -> flavour
_ALIASES = {
    "nue": "nu_e", "numu": "nu_mu", "nutau": "nu_tau", "nuebar": "nu_e_bar", "numubar": "nu_mu_bar",
    "nutaubar": "nu_tau_bar", "nueb": "nu_e_bar", "numub": "nu_mu_bar", "nutaub": "nu_tau_bar",
}
_EXPECTED = {
    "two_column": "2 columns: E (GeV), dPhi/dE",
    "centres_per_GeV": "7 columns: bin centre E (GeV), then nu_e nu_mu nu_tau nu_e_bar nu_mu_bar nu_tau_bar per GeV",
    "centres_per_bin": "7 columns: bin centre E (GeV), then the 6 flavours per bin",
    "edges_per_bin": "E_lo E_hi (GeV) followed by flavour columns per bin",
}


@dataclass(frozen=True)
class Flux:
    """A neutrino flux dPhi/dE(E) in nu / cm^2 / GeV / POT (times ``scale``), zero outside [E_min, E_max].

    Subclasses implement ``_shape(E)``. ``units`` documents the normalisation of the source.
    """

    name: str
    flavour: str
    E_min: float
    E_max: float
    scale: float = 1.0
    units: str = "nu / cm^2 / GeV / POT"
    source: str = ""

    def _shape(self, E: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, E) -> np.ndarray:
        """dPhi/dE at E (GeV, array) in nu / cm^2 / GeV / POT (times scale)."""
        e = np.asarray(E, dtype=float)
        out = np.zeros(e.shape)
        inside = (e >= self.E_min) & (e <= self.E_max)
        if np.any(inside):
            out[inside] = self.scale * self._shape(e[inside])
        return out

    def integral(self, E_lo: float | None = None, E_hi: float | None = None, n: int = 4001) -> float:
        """Integrated flux in nu / cm^2 / POT between E_lo and E_hi (GeV; default the whole range)."""
        lo = self.E_min if E_lo is None else max(E_lo, self.E_min)
        hi = self.E_max if E_hi is None else min(E_hi, self.E_max)
        if hi <= lo:
            return 0.0
        e = np.geomspace(lo, hi, n) if lo > 0 else np.linspace(lo, hi, n)
        return float(np.trapezoid(self(e), e))

    def mean_energy(self, E_lo: float | None = None, E_hi: float | None = None) -> float:
        """Flux-averaged energy in GeV between E_lo and E_hi (GeV; default the whole range)."""
        lo = max(self.E_min if E_lo is None else max(E_lo, self.E_min), 1e-6)
        hi = self.E_max if E_hi is None else min(E_hi, self.E_max)
        e = np.geomspace(lo, hi, 4001)
        f = self(e)
        return float(np.trapezoid(f * e, e) / np.trapezoid(f, e))

    def scaled(self, factor: float) -> Flux:
        """The same flux multiplied by ``factor``."""
        import dataclasses

        return dataclasses.replace(self, scale=self.scale * factor)


@dataclass(frozen=True)
class TableFlux(Flux):
    """Flux from a table: piecewise-linear through (nodes_E, nodes_phi), both in GeV and per GeV."""

    nodes_E: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nodes_phi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    binned: bool = False  # True: nodes are bin centres padded by one flat half bin at each end

    def _shape(self, E: np.ndarray) -> np.ndarray:
        return np.interp(E, self.nodes_E, self.nodes_phi, left=0.0, right=0.0)


@dataclass(frozen=True)
class ParamFlux(Flux):
    """Smooth parameterisation exp(sum c_k T_k(u)), u linear in ln E on [E_min, E_max] (module docstring)."""

    coeffs: tuple[float, ...] = ()

    def _shape(self, E: np.ndarray) -> np.ndarray:
        u = 2.0 * np.log(E / self.E_min) / math.log(self.E_max / self.E_min) - 1.0
        return np.exp(np.polynomial.chebyshev.chebval(u, np.asarray(self.coeffs)))


# ------------------------------------------------------------------------------------ table reader


def _parse(path: Path) -> tuple[np.ndarray, list[str], list[int]]:
    """Numeric rows, comment lines and the file line numbers of the rows. Raises FluxFileError."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FluxFileError(f"flux file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FluxFileError(f"flux file {str(path)!r} cannot be read as text: {exc}") from None
    rows, comments, linenos = [], [], []
    width = None
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            comments.append(s.lstrip("#").strip())
            continue
        parts = s.replace(",", " ").split()
        try:
            vals = [float(x) for x in parts]
        except ValueError:
            msg = (f"flux file {str(path)!r}, line {i}: {s[:60]!r} is not a row of numbers; expected one of the "
                   f"formats: " + "; ".join(f"{k} = {v}" for k, v in _EXPECTED.items()) + " (comments start with #)")
            raise FluxFileError(msg) from None
        if width is None:
            width = len(vals)
        elif len(vals) != width:
            raise FluxFileError(f"flux file {str(path)!r}, line {i}: {len(vals)} columns, but the first data row has {width}")
        if not all(math.isfinite(v) for v in vals):
            raise FluxFileError(f"flux file {str(path)!r}, line {i}: non-finite value in {s[:60]!r}")
        rows.append(vals)
        linenos.append(i)
    if len(rows) < 2:
        raise FluxFileError(f"flux file {str(path)!r}: found {len(rows)} data rows; need at least 2")
    return np.array(rows), comments, linenos


def _header_names(comments: list[str], ncol: int) -> list[str] | None:
    """Flavour names from the last comment line with ncol tokens that all look like column names."""
    for c in reversed(comments):
        toks = c.replace("(", " ").split()
        if len(toks) == ncol:
            names = [_ALIASES.get(t.lower().replace("-", "").replace("_", ""), t) for t in toks]
            if sum(n in FLAVOURS for n in names) >= 1:
                return names
    return None


def _detect(data: np.ndarray, comments: list[str]) -> str:
    ncol = data.shape[1]
    if ncol == 2:
        return "two_column"
    lo, hi = data[:, 0], data[:, 1]
    if ncol >= 3 and np.all(hi > lo) and np.allclose(hi[:-1], lo[1:], rtol=1e-9, atol=1e-12):
        return "edges_per_bin"
    header = " ".join(comments).lower()
    return "centres_per_bin" if ("bin" in header or "mev" in header) else "centres_per_GeV"


def check_flux_file(path, fmt: str = "auto") -> str:
    """Parse a flux file and return its format name; raises FluxFileError (path, line, expected format)."""
    if fmt not in FORMATS:
        raise UnknownNameError("flux table format", fmt, FORMATS)
    data, comments, _ = _parse(Path(path))
    return _detect(data, comments) if fmt == "auto" else fmt


def read_flux_table(path, flavour: str = "nu_mu", fmt: str = "auto", scale: float = 1.0, name: str | None = None,
                    units: str = "nu / cm^2 / GeV / POT") -> TableFlux:
    """Read a flux table (formats in the module docstring) and return dPhi/dE of one flavour.

    path: file; flavour: one of FLAVOURS (ignored for two-column files); fmt: format or "auto";
    scale: factor applied to the values (e.g. to convert units); units: what the scaled values mean.
    Raises FluxFileError naming the path, line and expected format; UnknownNameError for fmt/flavour.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise UnknownNameError("flux table format", fmt, FORMATS)
    if flavour not in FLAVOURS:
        raise UnknownNameError("neutrino flavour", flavour, FLAVOURS)
    data, comments, linenos = _parse(path)
    kind = _detect(data, comments) if fmt == "auto" else fmt
    ncol = data.shape[1]
    need = {"two_column": 2, "centres_per_GeV": 7, "centres_per_bin": 7}
    if kind in need and ncol != need[kind]:
        raise FluxFileError(f"flux file {str(path)!r}: {ncol} columns, format {kind!r} expects {_EXPECTED[kind]}")
    if kind == "edges_per_bin" and ncol < 3:
        raise FluxFileError(f"flux file {str(path)!r}: {ncol} columns, format 'edges_per_bin' expects {_EXPECTED[kind]}")
    if kind == "two_column":
        E, phi = data[:, 0], data[:, 1]
        width = None
    elif kind == "edges_per_bin":
        lo, hi = data[:, 0], data[:, 1]
        names = _header_names(comments, ncol)
        cols = names[2:] if names else ["nu_mu", "nu_mu_bar", "nu_e", "nu_e_bar"][: ncol - 2]
        if flavour not in cols:
            raise FluxFileError(f"flux file {str(path)!r}: no column for flavour {flavour!r}; columns: {cols}")
        E = 0.5 * (lo + hi)
        width = hi - lo
        phi = data[:, 2 + cols.index(flavour)] / width
    else:
        E = data[:, 0]
        phi = data[:, 1 + FLAVOURS.index(flavour)]
        d = np.diff(E)
        width = np.concatenate([d[:1], 0.5 * (d[1:] + d[:-1]), d[-1:]]) if len(E) > 2 else np.full(len(E), d[0])
        if kind == "centres_per_bin":
            phi = phi / width
    bad = np.flatnonzero(np.diff(E) <= 0)
    if bad.size:
        raise FluxFileError(f"flux file {str(path)!r}, line {linenos[bad[0] + 1]}: energies must increase strictly")
    if E[0] < 0:
        raise FluxFileError(f"flux file {str(path)!r}, line {linenos[0]}: negative energy {E[0]} GeV")
    neg = np.flatnonzero(phi < 0)
    if neg.size:
        raise FluxFileError(f"flux file {str(path)!r}, line {linenos[neg[0]]}: negative flux {phi[neg[0]]}")
    if not np.any(phi > 0):
        raise FluxFileError(f"flux file {str(path)!r}: the {flavour} column is zero everywhere")
    if width is None:
        nodes_E, nodes_phi = E, phi
    else:
        nodes_E = np.concatenate([[max(E[0] - 0.5 * width[0], 0.0)], E, [E[-1] + 0.5 * width[-1]]])
        nodes_phi = np.concatenate([[phi[0]], phi, [phi[-1]]])
    pos = np.flatnonzero(nodes_phi > 0)
    first, last = max(pos[0] - 1, 0), min(pos[-1] + 1, len(nodes_E) - 1)
    return TableFlux(
        name=name or path.stem, flavour=flavour, E_min=float(nodes_E[first]), E_max=float(nodes_E[last]),
        scale=float(scale), units=units, source=str(path), nodes_E=nodes_E, nodes_phi=nodes_phi,
        binned=width is not None,
    )


# ------------------------------------------------------------------------------ shipped parameterisations


_FLUX_SCHEMA = {"units": Field(str), "source": Field(str), "flavours": Field(dict)}
_FLAVOUR_SCHEMA = {"E_min_GeV": Field(NUMBER), "E_max_GeV": Field(NUMBER), "coeffs": Field(list)}


@cache
def _params() -> dict:
    """The shipped flux parameterisations (generator/data/flux_params.json, via generator.datafiles), checked:
    every flux needs units, source and flavours; every flavour E_min_GeV < E_max_GeV and coeffs."""
    src = data_dir("flux_params.json")
    data = check_table(read_file(src), {"fluxes": Field(dict)}, str(src), allow_unknown=True)
    for name, entry in data["fluxes"].items():
        check_table(entry, _FLUX_SCHEMA, str(src), f"fluxes.{name}", allow_unknown=True)
        for flav, f in entry["flavours"].items():
            where = f"fluxes.{name}.flavours.{flav}"
            check_table(f, _FLAVOUR_SCHEMA, str(src), where, allow_unknown=True)
            if not f["E_min_GeV"] < f["E_max_GeV"]:
                raise DataTableError(str(src), f"{where}.E_max_GeV", f"= {f['E_max_GeV']}: must be > E_min_GeV")
    return data


def available_fluxes() -> dict[str, tuple[str, ...]]:
    """Shipped flux names -> flavours available."""
    return {k: tuple(v["flavours"]) for k, v in _params()["fluxes"].items()}


def shipped_flux(name: str, flavour: str = "nu_mu", scale: float = 1.0) -> ParamFlux:
    """Shipped smooth parameterisation of a published flux (GeV; nu / cm^2 / GeV / POT unless ``units`` says
    otherwise) times ``scale``. Unknown names or flavours raise UnknownNameError."""
    table = _params()["fluxes"]
    if name not in table:
        raise UnknownNameError("flux", name, table)
    entry = table[name]
    if flavour not in entry["flavours"]:
        raise UnknownNameError(f"flavour of flux {name!r}", flavour, entry["flavours"])
    f = entry["flavours"][flavour]
    return ParamFlux(
        name=name, flavour=flavour, E_min=float(f["E_min_GeV"]), E_max=float(f["E_max_GeV"]), scale=float(scale),
        units=entry["units"], source=entry["source"], coeffs=tuple(float(c) for c in f["coeffs"]),
    )


__all__ = ["FLAVOURS", "Flux", "ParamFlux", "TableFlux", "available_fluxes", "check_flux_file", "read_flux_table",
           "shipped_flux"]
