"""Neutrino experiments: exposure (POT), fiducial mass and composition, flux, detector volume.

Each experiment is a data file generator/data/experiments/<name>.toml (numbers with their references;
assumptions are marked as such in the file). :func:`experiment` returns a validated :class:`Experiment`.
Detector coordinates: the beam runs along +z; the detector volume is given in cm in these coordinates
(centred on the origin unless ``center_cm`` says otherwise); the baseline (m) is the target-detector distance.

TOML keys: name, description, references, pot, baseline_m, fiducial_mass_t, density_g_cm3 (optional),
composition = {target = atoms per formula unit}, [flux] name / names (per flavour) / scale / note /
energy_unit ("GeV") / units (normalisation of the flux),
[geometry] shape = "sphere" | "cylinder" | "box" with the keys of generator.geometry.volume_from_card.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from generator import constants as const
from generator.datafiles import NUMBER, Field, check_table, positive, read_file, shipped_files
from generator.errors import CardError, DataTableError, UnknownNameError
from generator.flux import (
    Flux,
    FluxFileSpec,
    available_fluxes,
    check_flux_file,
    read_flux_table,
    shipped_flux,
    warn_if_implausible,
)
from generator.geometry import Box, Cylinder, Shape, Sphere, volume_from_card
from generator.targets import target as get_target

#: Atomic mass unit in GeV (CODATA 2018): converts nuclear masses to grams per mole.
AMU_GEV = 0.93149410242
_SCHEMA = {
    "name": Field(str), "description": Field(str, required=False), "references": Field(list, required=False),
    "pot": Field(NUMBER, **positive()), "baseline_m": Field(NUMBER, **positive()),
    "fiducial_mass_t": Field(NUMBER, **positive()), "density_g_cm3": Field(NUMBER, required=False, **positive()),
    "composition": Field(dict), "flux": Field(dict), "geometry": Field(dict),
}
_FLUX_SCHEMA = {"name": Field(str), "names": Field(dict, required=False), "scale": Field(NUMBER, required=False),
                "note": Field(str, required=False),
                "energy_unit": Field(str, required=False), "units": Field(str, required=False)}


@dataclass(frozen=True)
class Experiment:
    """A neutrino experiment. Units: pot (protons on target), baseline_m (m), fiducial_mass_t (tonnes),
    geometry in cm. ``composition`` maps target names to atoms per formula unit (CH2: C12 = 1, H1 = 2)."""

    name: str
    description: str
    pot: float
    baseline_m: float
    fiducial_mass_t: float
    composition: dict[str, float]
    flux_name: str
    geometry: Shape
    flux_scale: float = 1.0
    flux_names: dict[str, str] = field(default_factory=dict)
    flux_note: str = ""
    flux_file: str | FluxFileSpec | None = None
    flux_file_format: str = "auto"
    flux_units: str = "nu / cm^2 / GeV / POT"
    flux_energy_unit: str = "GeV"
    density_g_cm3: float | None = None
    references: tuple[str, ...] = ()
    shipped_flux_scale: float = 1.0  # scale of the shipped flux (kept when a user file replaces it)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise CardError / UnknownNameError naming the bad value and the rule."""
        if not (isinstance(self.pot, (int, float)) and math.isfinite(self.pot) and self.pot > 0):
            msg = f"= {self.pot!r} for {self.name}: must be a finite number of POT > 0"
            raise CardError("experiment.pot", msg)
        if not (math.isfinite(self.fiducial_mass_t) and self.fiducial_mass_t > 0):
            msg = f"= {self.fiducial_mass_t!r} for {self.name}: must be > 0 tonnes"
            raise CardError("experiment.fiducial_mass_t", msg)
        if not (math.isfinite(self.flux_scale) and self.flux_scale > 0):
            msg = f"= {self.flux_scale!r} for {self.name}: must be > 0"
            raise CardError("experiment.flux.scale", msg)
        if not self.composition:
            msg = f"{self.name}: needs at least one target"
            raise CardError("experiment.composition", msg)
        for tname, count in self.composition.items():
            get_target(tname)  # UnknownNameError naming the target
            if not (count > 0):
                key = f"experiment.composition.{tname}"
                msg = f"= {count!r}: atoms per formula unit must be > 0"
                raise CardError(key, msg)

    # ------------------------------------------------------------------ targets
    @property
    def targets(self) -> tuple[str, ...]:
        """Target names of the detector material."""
        return tuple(self.composition)

    def mass_fractions(self) -> dict[str, float]:
        """Mass fraction of each target in the material (from atom counts and nuclear masses)."""
        w = {t: c * get_target(t).mass for t, c in self.composition.items()}
        tot = sum(w.values())
        return {t: v / tot for t, v in w.items()}

    def n_nuclei(self, target_name: str) -> float:
        """Number of nuclei of ``target_name`` in the fiducial mass: m_t f / (M_nucleus / amu) * N_A."""
        if target_name not in self.composition:
            what = f"target of {self.name}"
            raise UnknownNameError(what, target_name, self.composition)
        grams = self.fiducial_mass_t * 1e6 * self.mass_fractions()[target_name]
        molar = get_target(target_name).mass / AMU_GEV  # g/mol
        return grams / molar * const.N_AVOGADRO

    # ------------------------------------------------------------------ flux
    def flux(self, flavour: str = "nu_mu") -> Flux:
        """Neutrino flux of one flavour at the detector, nu / cm^2 / GeV / POT (times flux_scale).

        A user flux file is read with its declared units and compared with the shipped flux of the
        experiment (generator.flux.warn_if_implausible warns when they differ by more than a factor 10).
        """
        if self.flux_file is not None:
            user = read_flux_table(self.flux_file, flavour, self.flux_file_format, scale=self.flux_scale,
                                   name=f"{self.name}:{Path(self.flux_file).name}")
            ref_name = self.flux_names.get(flavour, self.flux_name)
            if flavour in available_fluxes().get(ref_name, ()):
                warn_if_implausible(user, shipped_flux(ref_name, flavour, scale=self.shipped_flux_scale))
            return user
        return shipped_flux(self.flux_names.get(flavour, self.flux_name), flavour, scale=self.flux_scale)

    # ------------------------------------------------------------------ overrides
    def with_overrides(self, pot: float | None = None, flux_file: str | None = None,
                       fiducial_mass_t: float | None = None, flux_scale: float | None = None,
                       flux_file_format: str | None = None) -> Experiment:
        """A copy with card overrides ([experiment] pot, flux_file, fiducial_mass_t); validated again.

        A user flux file is taken to be in nu / cm^2 / GeV / POT unless ``flux_scale`` is given; the
        shipped scale is dropped then.
        """
        changes: dict = {}
        if pot is not None:
            changes["pot"] = pot
        if fiducial_mass_t is not None:
            changes["fiducial_mass_t"] = fiducial_mass_t
        if flux_file is not None:
            changes["flux_file"] = flux_file if isinstance(flux_file, FluxFileSpec) else str(flux_file)
            changes["shipped_flux_scale"] = self.flux_scale
            changes["flux_scale"] = 1.0 if flux_scale is None else flux_scale
            if flux_file_format is not None:
                changes["flux_file_format"] = flux_file_format
            check_flux_file(flux_file, changes.get("flux_file_format", self.flux_file_format))  # fail early
            return dataclasses.replace(self, **changes)
        if flux_scale is not None:
            changes["flux_scale"] = flux_scale
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ geometry
    def sample_vertices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) interaction points (cm) uniform in the detector volume."""
        return sample_uniform(self.geometry, n, rng)


def sample_uniform(shape: Shape, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) points (cm) uniformly distributed inside a Sphere, Cylinder or Box of generator.geometry."""
    c = np.asarray(shape.center_cm, dtype=float)
    if isinstance(shape, Sphere):
        # radius ~ R u^(1/3), isotropic direction (uniform in volume)
        r = shape.radius_cm * rng.random(n) ** (1.0 / 3.0)
        cz = 2.0 * rng.random(n) - 1.0
        ph = 2.0 * math.pi * rng.random(n)
        sz = np.sqrt(1.0 - cz * cz)
        return c + r[:, None] * np.stack([sz * np.cos(ph), sz * np.sin(ph), cz], axis=1)
    if isinstance(shape, Cylinder):
        ax = np.asarray(shape.axis, dtype=float)
        helper = np.array([1.0, 0.0, 0.0]) if abs(ax[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        e1 = np.cross(ax, helper)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(ax, e1)
        r = shape.radius_cm * np.sqrt(rng.random(n))
        ph = 2.0 * math.pi * rng.random(n)
        z = shape.length_cm * (rng.random(n) - 0.5)
        return c + (r * np.cos(ph))[:, None] * e1 + (r * np.sin(ph))[:, None] * e2 + z[:, None] * ax
    if isinstance(shape, Box):
        size = np.asarray(shape.size_cm, dtype=float)
        return c + (rng.random((n, 3)) - 0.5) * size
    msg = f"unsupported detector shape {type(shape).__name__}"
    raise TypeError(msg)


# ------------------------------------------------------------------------------------ loading


@cache
def _catalogue() -> dict[str, str]:
    """Lower-case lookup names -> file stem, for the neutrino-beam experiment files (those with pot and [flux]).

    The meson decay-in-flight files in the same directory (na62.toml) use the kaon schema below.
    """
    out = {}
    for stem, src in shipped_files("experiments").items():
        data = read_file(src)
        if "pot" in data and "flux" in data:
            out[stem.lower()] = stem
    return out


def available_experiments() -> tuple[str, ...]:
    """Names accepted by :func:`experiment` (neutrino-beam experiments)."""
    return tuple(sorted(_catalogue().values()))


def load_experiment_file(path) -> Experiment:
    """Build an Experiment from a TOML file (schema in the module docstring; package resource or path).
    Raises DataTableError naming the file and the key."""
    name = str(path)
    data = check_table(read_file(path), _SCHEMA, name)
    check_table(data["flux"], _FLUX_SCHEMA, name, "flux")
    for tname, count in data["composition"].items():
        if isinstance(count, bool) or not isinstance(count, NUMBER):
            msg = f"= {count!r}: must be a number of atoms per formula unit"
            raise DataTableError(name, f"composition.{tname}", msg)
    flux = data["flux"]
    try:
        geometry = volume_from_card(data["geometry"], key="geometry").shape
        if flux.get("energy_unit", "GeV") != "GeV":
            raise DataTableError(name, "flux.energy_unit", f"= {flux['energy_unit']!r}: the shipped parameterisations "
                                 "are functions of E in 'GeV'")
    except CardError as exc:
        raise DataTableError(name, exc.key, str(exc).split(': ', 1)[-1]) from None
    return Experiment(
        name=data["name"], description=data.get("description", ""), pot=float(data["pot"]),
        baseline_m=float(data["baseline_m"]), fiducial_mass_t=float(data["fiducial_mass_t"]),
        composition={str(k): float(v) for k, v in data["composition"].items()}, flux_name=flux["name"],
        flux_names={str(k): str(v) for k, v in flux.get("names", {}).items()}, flux_scale=float(flux.get("scale", 1.0)),
        shipped_flux_scale=float(flux.get("scale", 1.0)), flux_energy_unit=str(flux.get("energy_unit", "GeV")),
        flux_units=str(flux.get("units", "nu / cm^2 / GeV / POT")),
        flux_note=flux.get("note", ""), geometry=geometry,
        density_g_cm3=float(data["density_g_cm3"]) if "density_g_cm3" in data else None,
        references=tuple(data.get("references", ())),
    )


def experiment(name: str) -> Experiment:
    """The shipped experiment ``name`` ("MiniBooNE", "MicroBooNE", "PS191"/"PS-191", "CCFR"; case-insensitive).

    Unknown names raise UnknownNameError listing the allowed ones.
    """
    key = str(name).lower().replace("-", "").replace("_", "")
    cat = _catalogue()
    if key not in cat:
        raise UnknownNameError("neutrino-beam experiment", name, cat.values())
    return load_experiment_file(shipped_files("experiments")[cat[key]])


# ------------------------------------------------------------------------------------ kaon beam lines
_KAON_SCHEMA = {
    "name": Field(str), "meson": Field(str), "n_decays": Field(NUMBER, **positive()),
    "acceptance": Field(NUMBER, check=lambda v: 0 < v <= 1, rule="in (0, 1]"),
    "beam_momentum_GeV": Field(NUMBER, **positive()),
    "beam_momentum_sigma_GeV": Field(NUMBER, check=lambda v: math.isfinite(v) and v >= 0, rule=">= 0"),
    "decay_volume_z_m": Field(list),
}


@dataclass(frozen=True)
class KaonExperiment:
    """A meson decay-in-flight experiment: beam, decay volume and normalisation. Units: GeV, cm."""

    name: str
    meson: str
    n_decays: float
    acceptance: float
    p_mean: float
    p_sigma: float
    z_min: float
    z_max: float
    path: str


def meson_experiments() -> list[str]:
    """Stems of the shipped experiment files that describe meson decays in flight (those with a `meson` key);
    the other files in generator/data/experiments are neutrino-beam experiments."""
    return sorted(stem for stem, src in shipped_files("experiments").items() if "meson" in read_file(src))


def load_kaon_experiment(name_or_path: str) -> KaonExperiment:
    """Experiment data from generator/data/experiments/<name>.toml ("na62") or a TOML path.

    Keys: name, meson ("K+"/"pi+"), n_decays, acceptance (0, 1], beam_momentum_GeV, beam_momentum_sigma_GeV >= 0,
    decay_volume_z_m = [z_min, z_max] (metres downstream of the target). DataTableError names file and key.
    """
    if Path(str(name_or_path)).suffix == ".toml":
        src = Path(str(name_or_path))
    else:
        shipped = shipped_files("experiments")
        key = str(name_or_path).lower()
        if key not in shipped or "meson" not in read_file(shipped[key]):
            raise UnknownNameError("meson decay-in-flight experiment", name_or_path, meson_experiments())
        src = shipped[key]
    path = str(src)
    d = check_table(read_file(src), _KAON_SCHEMA, path, allow_unknown=False)
    zr = d["decay_volume_z_m"]
    if len(zr) != 2 or not all(isinstance(v, NUMBER) for v in zr) or not 0 <= zr[0] < zr[1]:
        msg = f"= {zr}: need [z_min, z_max] with 0 <= z_min < z_max (m)"
        raise DataTableError(path, "decay_volume_z_m", msg)
    return KaonExperiment(name=d["name"], meson=d["meson"], n_decays=float(d["n_decays"]),
                          acceptance=float(d["acceptance"]),
                          p_mean=float(d["beam_momentum_GeV"]), p_sigma=float(d["beam_momentum_sigma_GeV"]),
                          z_min=float(zr[0]) * const.M_TO_CM, z_max=float(zr[1]) * const.M_TO_CM, path=path)


__all__ = ["Experiment", "KaonExperiment", "available_experiments", "experiment", "load_experiment_file",
           "load_kaon_experiment", "meson_experiments", "sample_uniform"]
