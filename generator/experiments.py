"""Neutrino experiments: exposure (POT), fiducial mass and composition, flux, detector volume.

Each experiment is a data file generator/data/experiments/<name>.toml (numbers with their references;
assumptions are marked as such in the file). :func:`experiment` returns a validated :class:`Experiment`.
Detector coordinates: the beam runs along +z; the detector volume is given in cm in these coordinates
(centred on the origin unless ``center_cm`` says otherwise); the baseline (m) is the target-detector distance.

TOML keys: name, description, references, pot, baseline_m, fiducial_mass_t, density_g_cm3 (optional),
composition = {target = atoms per formula unit}, [flux] name / names (per flavour) / scale / note / energy_unit ("GeV") / units (normalisation of the flux),
[geometry] shape = "sphere" | "cylinder" | "box" with the keys of generator.geometry.volume_from_card.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from generator import constants as const
from generator.errors import CardError, DataFileError, UnknownNameError
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
from generator.physics.upscattering import target as get_target

#: Atomic mass unit in GeV (CODATA 2018): converts nuclear masses to grams per mole.
AMU_GEV = 0.93149410242
_KEYS = {"name", "description", "references", "pot", "baseline_m", "fiducial_mass_t", "density_g_cm3",
         "composition", "flux", "geometry"}
_FLUX_KEYS = {"name", "names", "scale", "note", "energy_unit", "units"}


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
            raise CardError("experiment.pot", f"= {self.pot!r} for {self.name}: must be a finite number of POT > 0")
        if not (math.isfinite(self.fiducial_mass_t) and self.fiducial_mass_t > 0):
            raise CardError("experiment.fiducial_mass_t", f"= {self.fiducial_mass_t!r} for {self.name}: must be > 0 tonnes")
        if not (math.isfinite(self.flux_scale) and self.flux_scale > 0):
            raise CardError("experiment.flux.scale", f"= {self.flux_scale!r} for {self.name}: must be > 0")
        if not self.composition:
            raise CardError("experiment.composition", f"{self.name}: needs at least one target")
        for tname, count in self.composition.items():
            get_target(tname)  # UnknownNameError naming the target
            if not (count > 0):
                raise CardError(f"experiment.composition.{tname}", f"= {count!r}: atoms per formula unit must be > 0")

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
            raise UnknownNameError(f"target of {self.name}", target_name, self.composition)
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
    def with_overrides(self, pot: float | None = None, flux_file: str | None = None, fiducial_mass_t: float | None = None,
                       flux_scale: float | None = None, flux_file_format: str | None = None) -> Experiment:
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
    raise TypeError(f"unsupported detector shape {type(shape).__name__}")


# ------------------------------------------------------------------------------------ loading


def _experiment_dir():
    return resources.files("generator") / "data" / "experiments"


@cache
def _catalogue() -> dict[str, str]:
    """Lower-case lookup names -> file stem, for the neutrino-beam experiment files (those with pot and [flux]).

    Other files in the directory (e.g. na62.toml, read by generator/processes/kaon.py) use other schemas.
    """
    out = {}
    for entry in _experiment_dir().iterdir():
        if not entry.name.endswith(".toml"):
            continue
        try:
            data = tomllib.loads(entry.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DataFileError(f"cannot read experiment file {entry}: {exc}") from None
        if "pot" in data and "flux" in data:
            out[entry.name[:-5].lower()] = entry.name[:-5]
    return out


def available_experiments() -> tuple[str, ...]:
    """Names accepted by :func:`experiment` (neutrino-beam experiments)."""
    return tuple(sorted(_catalogue().values()))


def load_experiment_file(path) -> Experiment:
    """Build an Experiment from a TOML file (schema in the module docstring). Raises DataFileError."""
    path = Path(str(path))
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(f"cannot read experiment file {path}: {exc}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise DataFileError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    flux = data.get("flux", {})
    if set(flux) - _FLUX_KEYS or "name" not in flux:
        raise DataFileError(f"{path}: [flux] needs 'name' and allows only {sorted(_FLUX_KEYS)}; got {sorted(flux)}")
    if flux.get("energy_unit", "GeV") != "GeV":
        raise DataFileError(f"{path}: [flux] energy_unit = {flux['energy_unit']!r}; the shipped parameterisations "
                            "are functions of E in 'GeV'")
    missing = [k for k in ("name", "pot", "baseline_m", "fiducial_mass_t", "composition", "geometry") if k not in data]
    if missing:
        raise DataFileError(f"{path}: missing keys {missing}")
    try:
        geometry = volume_from_card(data["geometry"], key=f"{path.name} [geometry]").shape
    except CardError as exc:
        raise DataFileError(str(exc)) from None
    return Experiment(
        name=str(data["name"]), description=str(data.get("description", "")), pot=float(data["pot"]),
        baseline_m=float(data["baseline_m"]), fiducial_mass_t=float(data["fiducial_mass_t"]),
        composition={str(k): float(v) for k, v in data["composition"].items()}, flux_name=str(flux["name"]),
        flux_names={str(k): str(v) for k, v in flux.get("names", {}).items()}, flux_scale=float(flux.get("scale", 1.0)),
        shipped_flux_scale=float(flux.get("scale", 1.0)), flux_energy_unit=str(flux.get("energy_unit", "GeV")),
        flux_units=str(flux.get("units", "nu / cm^2 / GeV / POT")),
        flux_note=str(flux.get("note", "")), geometry=geometry,
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
    return load_experiment_file(_experiment_dir() / f"{cat[key]}.toml")


__all__ = ["Experiment", "available_experiments", "experiment", "load_experiment_file", "sample_uniform"]
