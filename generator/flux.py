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

User tables declare their units (card keys [experiment] flux_energy_unit, flux_normalisation,
flux_area_unit, flux_pot, flux_format; see :class:`FluxFileSpec`): energies in GeV, MeV or keV; values per
energy unit (``per_energy``) or per bin (``per_bin``); per cm^2 or per m^2; for ``pot`` protons on target
(1 = per POT). They are converted to GeV and nu / cm^2 / GeV / POT on reading. :func:`plausibility` compares
a user flux with the experiment's shipped one and :func:`warn_if_implausible` warns loudly when the energy
scale or the integral is off by more than a factor 10 (a MeV table read as GeV, per m^2 read as per cm^2).

``auto``: 2 columns -> two_column; first two columns consecutive bin edges -> edges_per_bin; otherwise
centre tables, per bin when a header comment mentions "bin" or "MeV", per GeV otherwise.

Binned tables are interpolated linearly between bin centres and held flat over the outer half bins
(integral = sum of bin contents). The shipped parameterisation (:func:`shipped_flux`) is

    dPhi/dE = exp( sum_k c_k T_k(u) ),  u = 2 ln(E/E_min) / ln(E_max/E_min) - 1,  E_min <= E <= E_max,

(Chebyshev series T_k in log energy), zero outside, with coefficients fitted by scripts/fit_fluxes.py
to the published tables and stored in generator/data/flux_params.json.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import hepunits as hu
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
#: energy units of a table -> GeV per unit.
ENERGY_UNITS = {"GeV": hu.GeV / hu.GeV, "MeV": hu.MeV / hu.GeV, "keV": hu.keV / hu.GeV}
#: area units of a table -> factor from "per unit" to "per cm^2" (per m^2 = 1e-4 per cm^2).
AREA_UNITS = {"cm2": hu.cm2 / hu.cm2, "m2": hu.cm2 / hu.m2}
#: what a table value means: per energy unit, per bin, or as implied by the format.
NORMALISATIONS = ("auto", "per_energy", "per_bin")
#: a user flux whose mean energy or integral differs from the shipped one by more than this factor is flagged.
PLAUSIBLE_FACTOR = 10.0
_log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class FluxFileSpec:
    """A user flux table and its declared units (os.PathLike: ``str(spec)`` is the resolved path).

    path: the file (absolute once resolved); format: one of FORMATS; energy_unit: one of ENERGY_UNITS;
    normalisation: one of NORMALISATIONS; area_unit: one of AREA_UNITS; pot: protons on target the values
    are for (> 0; 1 = per POT).
    """

    path: Path
    format: str = "auto"
    energy_unit: str = "GeV"
    normalisation: str = "auto"
    area_unit: str = "cm2"
    pot: float = 1.0

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @classmethod
    def resolved(cls, path, base_dir=None, **units) -> FluxFileSpec:
        """A spec with ``path`` resolved against ``base_dir`` (the card's directory) when relative."""
        p = Path(os.fspath(path)).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        return cls(path=p.resolve(), **units)

    def check(self) -> None:
        """Raise UnknownNameError / FluxFileError for an unknown unit or an inconsistent combination."""
        for what, value, allowed in (("flux table format", self.format, FORMATS),
                                     ("flux energy unit", self.energy_unit, ENERGY_UNITS),
                                     ("flux normalisation", self.normalisation, NORMALISATIONS),
                                     ("flux area unit", self.area_unit, AREA_UNITS)):
            if value not in allowed:
                raise UnknownNameError(what, value, allowed)
        if not (math.isfinite(self.pot) and self.pot > 0):
            msg = f"flux file {str(self.path)!r}: pot = {self.pot!r} must be a finite number > 0"
            raise FluxFileError(msg)
        implied = {"centres_per_GeV": "per_energy", "centres_per_bin": "per_bin", "edges_per_bin": None,
                   "two_column": "per_energy"}.get(self.format)
        if self.normalisation != "auto" and implied is not None and implied != self.normalisation:
            msg = (f"flux file {str(self.path)!r}: format {self.format!r} means {implied} values, but the "
                   f"normalisation is {self.normalisation!r}; give format 'auto' or a matching one")
            raise FluxFileError(msg)


def as_flux_spec(path_or_spec, fmt: str = "auto") -> FluxFileSpec:
    """A FluxFileSpec from a spec (returned as is) or a path (GeV, per cm^2, per POT, format ``fmt``)."""
    if isinstance(path_or_spec, FluxFileSpec):
        return path_or_spec
    return FluxFileSpec(path=Path(os.fspath(path_or_spec)), format=fmt)


#: [experiment] card keys describing a user flux table -> FluxFileSpec field.
CARD_KEYS = {"flux_format": "format", "flux_energy_unit": "energy_unit", "flux_normalisation": "normalisation",
             "flux_area_unit": "area_unit", "flux_pot": "pot"}


def spec_from_card(section, base_dir=None) -> FluxFileSpec | None:
    """FluxFileSpec of a card's [experiment] section (``flux_file`` + the CARD_KEYS), ``flux_file`` resolved
    against ``base_dir`` (the card's directory) when relative; None without ``flux_file``."""
    if section.flux_file is None:
        return None
    if isinstance(section.flux_file, FluxFileSpec):
        return section.flux_file
    return FluxFileSpec.resolved(section.flux_file, base_dir, **{f: getattr(section, k) for k, f in CARD_KEYS.items()})


def check_card_keys(section, where: str = "experiment") -> None:
    """Validate the flux keys of a card's [experiment] section; CardError names the key, value and rule.

    flux_energy_unit: ENERGY_UNITS; flux_normalisation: NORMALISATIONS; flux_area_unit: AREA_UNITS;
    flux_format: FORMATS; flux_pot > 0; these keys need flux_file; format and normalisation must agree.
    """
    from generator.errors import CardError

    allowed = {"flux_format": FORMATS, "flux_energy_unit": ENERGY_UNITS, "flux_normalisation": NORMALISATIONS,
               "flux_area_unit": AREA_UNITS}
    for key, values in allowed.items():
        if getattr(section, key) not in values:
            msg = f"{getattr(section, key)!r} is not allowed; allowed: {', '.join(map(repr, values))}"
            card_key = f"{where}.{key}"
            raise CardError(card_key, msg)
    if not (math.isfinite(section.flux_pot) and section.flux_pot > 0):
        card_key = f"{where}.flux_pot"
        msg = f"= {section.flux_pot}: must be > 0 (POT the table's values are for)"
        raise CardError(card_key, msg)
    defaults = {"flux_format": "auto", "flux_energy_unit": "GeV", "flux_normalisation": "auto",
                "flux_area_unit": "cm2", "flux_pot": 1.0}
    given = [k for k in CARD_KEYS if getattr(section, k) != defaults[k]]
    if given and section.flux_file is None:
        card_key = f"{where}.{given[0]}"
        raise CardError(card_key, "describes a flux table: give flux_file too")
    if section.flux_file is not None:
        try:
            spec_from_card(section).check()
        except FluxFileError as exc:
            card_key = f"{where}.flux_normalisation"
            raise CardError(card_key, str(exc)) from None


# ------------------------------------------------------------------------------------ table reader


def _parse(path: Path) -> tuple[np.ndarray, list[str], list[int]]:
    """Numeric rows, comment lines and the file line numbers of the rows. Raises FluxFileError (resolved path)."""
    path = Path(path).resolve()
    try:
        text = path.read_text()
    except FileNotFoundError:
        msg = f"flux file {str(path)!r} does not exist"
        raise FluxFileError(msg) from None
    except IsADirectoryError:
        msg = f"flux file {str(path)!r} is a directory, not a table"
        raise FluxFileError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"flux file {str(path)!r} cannot be read as text: {exc}"
        raise FluxFileError(msg) from None
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
            msg = f"flux file {str(path)!r}, line {i}: {len(vals)} columns, but the first data row has {width}"
            raise FluxFileError(msg)
        if not all(math.isfinite(v) for v in vals):
            msg = f"flux file {str(path)!r}, line {i}: non-finite value in {s[:60]!r}"
            raise FluxFileError(msg)
        rows.append(vals)
        linenos.append(i)
    if not rows:
        msg = f"flux file {str(path)!r} is empty: no data rows (comments start with #)"
        raise FluxFileError(msg)
    if len(rows) < 2:
        msg = f"flux file {str(path)!r}: found {len(rows)} data row; need at least 2"
        raise FluxFileError(msg)
    if width < 2:
        msg = (f"flux file {str(path)!r}: 1 column; a flux table needs an energy column and flux values: "
               + "; ".join(f"{k} = {v}" for k, v in _EXPECTED.items()))
        raise FluxFileError(msg)
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
    """Parse a flux file (a path or a FluxFileSpec) and return its format name; raises FluxFileError (resolved
    path, line, expected format)."""
    spec = as_flux_spec(path, fmt)
    spec.check()
    data, comments, _ = _parse(spec.path)
    return _detect(data, comments) if spec.format == "auto" else spec.format


def read_flux_table(path, flavour: str = "nu_mu", fmt: str = "auto", scale: float = 1.0, name: str | None = None,
                    units: str = "nu / cm^2 / GeV / POT", *, energy_unit: str = "GeV", normalisation: str = "auto",
                    area_unit: str = "cm2", pot: float = 1.0) -> TableFlux:
    """Read a flux table (formats in the module docstring) and return dPhi/dE of one flavour.

    path: file (or a FluxFileSpec, whose units then apply); flavour: one of FLAVOURS (ignored for two-column
    files); fmt: format or "auto"; energy_unit, normalisation, area_unit, pot: what the table's numbers mean
    (module docstring), converted to GeV and nu / cm^2 / GeV / POT; scale: factor applied after that;
    units: what the scaled values mean.
    Raises FluxFileError naming the resolved path, line and expected format; UnknownNameError for names.
    """
    if isinstance(path, FluxFileSpec):
        spec = path
    else:
        spec = FluxFileSpec(path=Path(os.fspath(path)), format=fmt, energy_unit=energy_unit,
                            normalisation=normalisation, area_unit=area_unit, pot=pot)
    spec.check()
    if flavour not in FLAVOURS:
        raise UnknownNameError("neutrino flavour", flavour, FLAVOURS)
    path = spec.path.resolve()
    where = f"flux file {str(path)!r}"
    data, comments, linenos = _parse(path)
    kind = _detect(data, comments) if spec.format == "auto" else spec.format
    if kind.startswith("centres") and spec.normalisation != "auto":
        kind = "centres_per_bin" if spec.normalisation == "per_bin" else "centres_per_GeV"
    if kind == "two_column" and spec.normalisation == "per_bin":
        msg = (
            f"{where}: two-column tables are points (no bin width); normalisation 'per_bin' needs "
                            "bin centres or edges"
        )
        raise FluxFileError(msg)
    ncol = data.shape[1]
    need = {"two_column": 2, "centres_per_GeV": 7, "centres_per_bin": 7}
    if kind in need and ncol != need[kind]:
        msg = f"{where}: {ncol} columns, format {kind!r} expects {_EXPECTED[kind]}"
        raise FluxFileError(msg)
    if kind == "edges_per_bin" and ncol < 3:
        msg = f"{where}: {ncol} columns, format 'edges_per_bin' expects {_EXPECTED[kind]}"
        raise FluxFileError(msg)
    e_unit = ENERGY_UNITS[spec.energy_unit]  # GeV per table energy unit
    E_raw = data[:, 0]
    if kind == "edges_per_bin":
        if np.any(data[:, 1] <= data[:, 0]):
            k = int(np.flatnonzero(data[:, 1] <= data[:, 0])[0])
            msg = f"{where}, line {linenos[k]}: bin upper edge {data[k, 1]} <= lower edge {data[k, 0]}"
            raise FluxFileError(msg)
        E_raw = 0.5 * (data[:, 0] + data[:, 1])
    bad = np.flatnonzero(np.diff(E_raw) <= 0)
    if bad.size:
        msg = (
            f"{where}, line {linenos[bad[0] + 1]}: energies must increase strictly (unsorted or "
                            "repeated rows)"
        )
        raise FluxFileError(msg)
    if E_raw[0] < 0:
        msg = f"{where}, line {linenos[0]}: negative energy {E_raw[0]} {spec.energy_unit}"
        raise FluxFileError(msg)
    if kind == "two_column":
        E, phi = data[:, 0] * e_unit, data[:, 1] / e_unit
        width = None
    elif kind == "edges_per_bin":
        lo, hi = data[:, 0] * e_unit, data[:, 1] * e_unit
        names = _header_names(comments, ncol)
        cols = names[2:] if names else ["nu_mu", "nu_mu_bar", "nu_e", "nu_e_bar"][: ncol - 2]
        if flavour not in cols:
            msg = f"{where}: no column for flavour {flavour!r}; columns: {cols}"
            raise FluxFileError(msg)
        E = 0.5 * (lo + hi)
        width = hi - lo
        raw = data[:, 2 + cols.index(flavour)]
        phi = raw / e_unit if spec.normalisation == "per_energy" else raw / width
    else:
        E = data[:, 0] * e_unit
        phi = data[:, 1 + FLAVOURS.index(flavour)]
        d = np.diff(E)
        width = np.concatenate([d[:1], 0.5 * (d[1:] + d[:-1]), d[-1:]]) if len(E) > 2 else np.full(len(E), d[0])
        phi = phi / width if kind == "centres_per_bin" else phi / e_unit
    neg = np.flatnonzero(phi < 0)
    if neg.size:
        msg = f"{where}, line {linenos[neg[0]]}: negative flux {phi[neg[0]]}"
        raise FluxFileError(msg)
    if not np.any(phi > 0):
        msg = f"{where}: the {flavour} column is zero everywhere"
        raise FluxFileError(msg)
    phi = phi * AREA_UNITS[spec.area_unit] / spec.pot  # -> nu / cm^2 / GeV / POT
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


def plausibility(flux: Flux, reference: Flux, factor: float = PLAUSIBLE_FACTOR) -> list[str]:
    """Messages for a user flux whose energy scale or integral is off the shipped ``reference`` by more than
    ``factor``: flux-averaged energies (GeV) and integrals (nu / cm^2 / POT) are compared; [] when plausible."""
    out = []
    e_user, e_ref = flux.mean_energy(), reference.mean_energy()
    if not (e_ref / factor <= e_user <= e_ref * factor):
        out.append(f"flux {flux.name!r} ({flux.source}): flux-averaged energy {e_user:.4g} GeV, but the shipped "
                   f"{reference.name!r} flux has {e_ref:.4g} GeV (range {reference.E_min:.3g}-{reference.E_max:.3g}"
                   " GeV); is the energy unit right? set [experiment] flux_energy_unit (e.g. 'MeV')")
    i_user, i_ref = flux.integral(), reference.integral()
    if not (i_ref / factor <= i_user <= i_ref * factor):
        out.append(f"flux {flux.name!r} ({flux.source}): integral {i_user:.4g} nu/cm^2/POT is {i_user / i_ref:.3g} x "
                   f"the shipped {reference.name!r} flux ({i_ref:.4g}); check [experiment] flux_area_unit, flux_pot "
                   "and flux_normalisation (per bin or per energy)")
    return out


def warn_if_implausible(flux: Flux, reference: Flux) -> list[str]:
    """Warn (warnings.warn and the log) for each :func:`plausibility` message; returns the messages."""
    msgs = plausibility(flux, reference)
    for m in msgs:
        _log.warning(m)
        warnings.warn(m, UserWarning, stacklevel=2)
    return msgs


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
                msg = f"= {f['E_max_GeV']}: must be > E_min_GeV"
                raise DataTableError(str(src), f"{where}.E_max_GeV", msg)
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
        what = f"flavour of flux {name!r}"
        raise UnknownNameError(what, flavour, entry["flavours"])
    f = entry["flavours"][flavour]
    return ParamFlux(
        name=name, flavour=flavour, E_min=float(f["E_min_GeV"]), E_max=float(f["E_max_GeV"]), scale=float(scale),
        units=entry["units"], source=entry["source"], coeffs=tuple(float(c) for c in f["coeffs"]),
    )


__all__ = ["AREA_UNITS", "ENERGY_UNITS", "FLAVOURS", "NORMALISATIONS", "Flux", "FluxFileSpec", "ParamFlux",
           "TableFlux", "as_flux_spec", "available_fluxes", "check_card_keys", "check_flux_file", "plausibility",
           "read_flux_table", "shipped_flux", "spec_from_card", "warn_if_implausible"]
