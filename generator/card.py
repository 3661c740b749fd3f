"""Steering cards: TOML files validated against a schema mirrored in dataclasses.

A card has these sections (only [model] is required; see README "Steering cards"):

[run]         name, seed, n_events, weighted, n_adapt, evals_per_iter, shard, n_shards
[model]       preset = "BP-A".."BP-D" and/or the Lagrangian parameters (units in key names)
[process]     production and the keys the productions declare (what to generate)
[experiment]  name and the keys the productions declare (where)
[decay]       how HNLs decay (all channels by BR, or forced channels with BR as weight)
[output]      formats and options of the written files
[detector]    detector module applied after generation (name, seed, data_release)
[xsec]        neutrino-energy grid for `dsgen xsec`

Every unknown key, missing key, wrong type or unphysical value raises CardError naming the dotted key,
the value and what is allowed. [process] and [experiment] are built from the production registry
(generator.processes.registry): a key none of the card's productions reads is an error too.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.constants import DEFAULT_DETECTOR_SEED
from generator.errors import CardError, UnknownNameError
from generator.model.parameters import PRESETS, ModelParameters, preset
from generator.processes.registry import PRODUCTIONS, section_keys, users_of
from generator.schema import choice as _choice
from generator.schema import from_table as _from_table
from generator.schema import positive as _positive

# --------------------------------------------------------------------------------- sections

Matrix = list[float] | list[list[float]]


@dataclass
class ModelSection:
    """[model]: a preset, the Lagrangian parameters, or a preset with some parameters overridden.

    Units are in the key names (GeV). Mass matrices: M_D_GeV has one row per active flavour (a flat
    list is one row); Lambda_L_GeV / Lambda_R_GeV have one entry per sterile state (a flat list is
    d = 1), or one row per sterile state with d columns.
    """

    preset: str | None = None
    name: str | None = None
    flavours: list[str] | None = None
    M_D_GeV: Matrix | None = None
    M_N_GeV: list[float] | None = None
    Lambda_L_GeV: Matrix | None = None
    Lambda_R_GeV: Matrix | None = None
    M_X_GeV: float | list[float] | None = None
    m_Zprime_GeV: float | None = None
    epsilon2: float | None = None
    epsilon: float | None = None
    chi: float | None = None
    alpha_D: float | None = None
    g_X: float | None = None
    m_phiprime_GeV: float | None = None
    sin_theta: float | None = None
    m_phiprime_note: str | None = None
    vertex_convention: str | None = None

    def validate(self, section: str) -> None:
        if self.preset is not None:
            _choice(f"{section}.preset", self.preset, PRESETS)
        if self.vertex_convention is not None:
            _choice(f"{section}.vertex_convention", self.vertex_convention, ("majorana", "paper"))
        kin = [k for k in ("epsilon2", "epsilon", "chi") if getattr(self, k) is not None]
        if len(kin) > 1:
            key = f"{section}.{kin[1]}"
            msg = f"give only one of epsilon2, epsilon, chi (got {', '.join(kin)})"
            raise CardError(key, msg)
        dark = [k for k in ("alpha_D", "g_X") if getattr(self, k) is not None]
        if len(dark) > 1:
            key = f"{section}.g_X"
            raise CardError(key, "give only one of alpha_D, g_X")
        if self.preset is None:
            required = ["flavours", "M_D_GeV", "M_N_GeV", "Lambda_L_GeV", "Lambda_R_GeV", "M_X_GeV",
                        "m_Zprime_GeV", "m_phiprime_GeV"]
            for k in required:
                if getattr(self, k) is None:
                    key = f"{section}.{k}"
                    raise CardError(key, "missing (required when no preset is given)")
            if not kin:
                key = f"{section}.epsilon2"
                raise CardError(key, "missing: give one of epsilon2, epsilon, chi")
            if not dark:
                key = f"{section}.alpha_D"
                raise CardError(key, "missing: give one of alpha_D, g_X")
        for k in ("m_Zprime_GeV", "m_phiprime_GeV", "epsilon2", "epsilon", "chi", "alpha_D", "g_X"):
            _positive(f"{section}.{k}", getattr(self, k))
        if self.M_N_GeV is not None and len(self.M_N_GeV) < 1:
            key = f"{section}.M_N_GeV"
            raise CardError(key, "[] must list n >= 1 sterile masses")
        for k in ("M_X_GeV",):
            v = getattr(self, k)
            vals = v if isinstance(v, list) else ([] if v is None else [v])
            for x in vals:
                if x == 0:
                    key = f"{section}.{k}"
                    msg = f"= {v}: vector-like masses must be non-zero"
                    raise CardError(key, msg)

    def to_parameters(self) -> ModelParameters:
        """Typed model parameters (GeV), preset first, then the explicit keys on top."""
        sec = "model"
        if self.preset is not None:
            base = preset(self.preset)
            kw = {
                "flavours": base.flavours, "M_D": base.M_D, "M_N": base.M_N, "Lambda_L": base.Lambda_L,
                "Lambda_R": base.Lambda_R, "M_X": base.M_X, "m_Zprime": base.m_Zprime, "epsilon": base.epsilon,
                "alpha_D": base.alpha_D, "m_phiprime": base.m_phiprime, "sin_theta": base.sin_theta, "name": base.name,
            }
        else:
            kw = {"name": "custom", "sin_theta": 0.0}
        if self.flavours is not None:
            kw["flavours"] = tuple(self.flavours)
        if self.M_D_GeV is not None:
            kw["M_D"] = _matrix(f"{sec}.M_D_GeV", self.M_D_GeV, rows_first=True)
        if self.M_N_GeV is not None:
            kw["M_N"] = np.array(self.M_N_GeV, dtype=float)
        for key, name in (("Lambda_L", "Lambda_L_GeV"), ("Lambda_R", "Lambda_R_GeV")):
            val = getattr(self, name)
            if val is not None:
                kw[key] = _matrix(f"{sec}.{name}", val, rows_first=False)
        if self.M_X_GeV is not None:
            kw["M_X"] = np.atleast_1d(np.array(self.M_X_GeV, dtype=float))
        if self.m_Zprime_GeV is not None:
            kw["m_Zprime"] = self.m_Zprime_GeV
        if self.m_phiprime_GeV is not None:
            kw["m_phiprime"] = self.m_phiprime_GeV
        if self.sin_theta is not None:
            kw["sin_theta"] = self.sin_theta
        if self.vertex_convention is not None:
            kw["vertex_convention"] = self.vertex_convention
        from generator import constants as const

        if self.epsilon2 is not None:
            kw["epsilon"] = math.sqrt(self.epsilon2)
        elif self.epsilon is not None:
            kw["epsilon"] = self.epsilon
        elif self.chi is not None:
            kw["epsilon"] = const.CW * self.chi
        if self.alpha_D is not None:
            kw["alpha_D"] = self.alpha_D
        elif self.g_X is not None:
            kw["alpha_D"] = self.g_X**2 / (4.0 * math.pi)
        if self.name is not None:
            kw["name"] = self.name
        elif self.preset is not None and any(
            getattr(self, k) is not None for k in ("M_D_GeV", "M_N_GeV", "Lambda_L_GeV", "Lambda_R_GeV", "M_X_GeV")
        ):
            kw["name"] = f"{kw['name']}-modified"
        return ModelParameters(**kw)


def _matrix(key: str, value, rows_first: bool) -> np.ndarray:
    if all(isinstance(v, float) for v in value):
        arr = np.array(value, dtype=float)
        return arr[None, :] if rows_first else arr[:, None]
    lens = {len(r) for r in value if isinstance(r, list)}
    if len(lens) != 1 or not all(isinstance(r, list) for r in value):
        msg = f"{value!r} must be a list of numbers or a rectangular list of lists"
        raise CardError(key, msg)
    return np.array(value, dtype=float)


@dataclass
class RunSection:
    """[run]: statistics, seed and sharding.

    n_events: total unweighted events of the run, shared among its channels in proportion to their rates, so that
    every event carries the same weight (default 10000 when neither key is given); n_events_per_channel: instead,
    this many events in every channel (each channel's events then sum to its own rate). For weighted runs the same
    numbers count sampled points. seed: 0 <= seed < 2^63.
    """

    name: str | None = None
    seed: int = 12345
    n_events: int | None = None
    n_events_per_channel: int | None = None
    weighted: bool = False
    n_adapt: int = 10
    evals_per_iter: int = 20000
    shard: int = 0
    n_shards: int = 1
    progress: bool = True

    def validate(self, section: str) -> None:
        if self.n_events is not None and self.n_events_per_channel is not None:
            key = f"{section}.n_events_per_channel"
            raise CardError(key, "give only one of n_events (total, shared by rate) "
                            "and n_events_per_channel")
        _positive(f"{section}.n_events", self.n_events)
        _positive(f"{section}.n_events_per_channel", self.n_events_per_channel)
        _positive(f"{section}.n_adapt", self.n_adapt)
        _positive(f"{section}.evals_per_iter", self.evals_per_iter)
        _positive(f"{section}.n_shards", self.n_shards)
        if not 0 <= self.seed < MAX_SEED:
            key = f"{section}.seed"
            msg = f"= {self.seed}: must satisfy 0 <= seed < 2^63 = {MAX_SEED}"
            raise CardError(key, msg)
        if not 0 <= self.shard < self.n_shards:
            key = f"{section}.shard"
            msg = f"= {self.shard}: must satisfy 0 <= shard < n_shards = {self.n_shards}"
            raise CardError(key, msg)

    @property
    def allocation(self) -> str:
        """"per_channel" when n_events_per_channel is given, else "total"."""
        return "per_channel" if self.n_events_per_channel is not None else "total"

    @property
    def events(self) -> int:
        """The number the allocation uses: n_events_per_channel, or n_events (default DEFAULT_N_EVENTS)."""
        if self.n_events_per_channel is not None:
            return self.n_events_per_channel
        return self.n_events if self.n_events is not None else DEFAULT_N_EVENTS


#: Seeds are 64-bit signed integers in HepMC3 and numpy SeedSequence entropy: 0 <= seed < 2^63.
MAX_SEED = 2**63
#: Events of a run when the card gives neither n_events nor n_events_per_channel.
DEFAULT_N_EVENTS = 10000


class _ProcessBase:
    """[process]: what is produced. production: names of generator.processes.registry; every other key belongs
    to the productions that read it (Production.process_keys, typed CardKey with default and rule); a key none of
    the card's productions reads is a CardError (see :func:`check_production_keys`)."""

    @property
    def productions(self) -> list[str]:
        """Production modes of the run (one string or a list in the card)."""
        return [self.production] if isinstance(self.production, str) else list(self.production)

    def validate(self, section: str) -> None:
        if not self.productions:
            key = f"{section}.production"
            raise CardError(key, "[] must name at least one production mode")
        _apply_rules(self, "process", section)


class _ExperimentBase:
    """[experiment]: named experiment (or collider) plus the optional overrides the productions declare
    (Production.experiment_keys: flux file, POT, luminosities, kaon decays, ...)."""

    def validate(self, section: str) -> None:
        _apply_rules(self, "experiment", section)
        if hasattr(self, "flux_file"):
            from generator.flux import check_card_keys

            check_card_keys(self, section)

    def flux_spec(self, base_dir: Path | None):
        """The flux table as a FluxFileSpec, path resolved against ``base_dir``; None without flux_file."""
        from generator.flux import spec_from_card

        return spec_from_card(self, base_dir)


def _apply_rules(obj, registry_section: str, section: str) -> None:
    for key, ck in section_keys(registry_section).items():
        if ck.rule is not None:
            msg = ck.rule(getattr(obj, key))
            if msg is not None:
                card_key = f"{section}.{key}"
                raise CardError(card_key, msg)


def _section_class(name: str, registry_section: str, base: type) -> type:
    """Dataclass of a card section whose keys are the productions' declarations (registry.section_keys)."""
    keys = section_keys(registry_section)
    fields = [(k, ck.type) for k, ck in keys.items() if ck.required]
    for k, ck in keys.items():
        if not ck.required:
            fields.append((k, ck.type, field(default_factory=functools.partial(copy.deepcopy, ck.default))))
    return dataclasses.make_dataclass(name, fields, bases=(base,),
                                      namespace={"__doc__": base.__doc__, "__module__": __name__})


ProcessSection = _section_class("ProcessSection", "process", _ProcessBase)
ExperimentSection = _section_class("ExperimentSection", "experiment", _ExperimentBase)


@dataclass
class DecaySection:
    """[decay]: mode = "all" (channels by branching ratio) or "forced" (channels listed, BR as weight).

    forced: list of channel names like "N6 -> N5 e+ e-"; stable: states not decayed.
    volume: optional forced-decay volume {shape = "sphere"|"cylinder"|"box", ...} in cm.
    """

    mode: str = "all"
    forced: list[str] = field(default_factory=list)
    stable: list[str] = field(default_factory=lambda: ["N4"])
    volume: dict | None = None
    enabled: bool = True

    def validate(self, section: str) -> None:
        _choice(f"{section}.mode", self.mode, ("all", "forced"))
        if self.mode == "forced" and not self.forced:
            key = f"{section}.forced"
            raise CardError(key, "missing: mode = 'forced' needs a list of channels")


@dataclass
class OutputSection:
    """[output]: formats to write into outputs/<run name>/ (names: generator.io.formats.OUTPUT_FORMATS)."""

    formats: list[str] = field(default_factory=lambda: ["hepmc3", "root"])
    directory: str = "outputs"
    gzip: bool = False
    plots: bool = True

    def validate(self, section: str) -> None:
        from generator.io.formats import OUTPUT_FORMATS  # here: importing generator.io loads uproot, pyhepmc

        for f in self.formats:
            _choice(f"{section}.formats", f, OUTPUT_FORMATS)


@dataclass
class DetectorSection:
    """[detector]: detector module applied by `dsgen run` after generation.

    name: a detector of detectors/data; seed: seed of the detector stage (default
    generator.constants.DEFAULT_DETECTOR_SEED); data_release: directory of the published data the detector
    compares with (MiniBooNE 2020 release), relative paths taken from the card's directory.
    """

    name: str
    seed: int = DEFAULT_DETECTOR_SEED
    data_release: str | None = None

    def validate(self, section: str) -> None:
        _positive(f"{section}.seed", self.seed, strict=False)
        if self.data_release is not None and not self.data_release.strip():
            key = f"{section}.data_release"
            raise CardError(key, "is empty: give a directory or leave the key out")

    def data_release_path(self, card_path: Path | None) -> Path | None:
        """``data_release`` as a path: relative paths resolved against the directory of the card file
        ``card_path`` (the working directory for a card without a file); None when not given."""
        if self.data_release is None:
            return None
        p = Path(self.data_release).expanduser()
        if not p.is_absolute() and card_path is not None:
            p = Path(card_path).resolve().parent / p
        return p


@dataclass
class XsecSection:
    """[xsec]: neutrino-energy grid for `dsgen xsec` (GeV)."""

    E_min_GeV: float = 0.1
    E_max_GeV: float = 10.0
    n_points: int = 20
    log: bool = True

    def validate(self, section: str) -> None:
        _positive(f"{section}.E_min_GeV", self.E_min_GeV)
        _positive(f"{section}.n_points", self.n_points)
        if self.E_max_GeV <= self.E_min_GeV:
            key = f"{section}.E_max_GeV"
            msg = f"= {self.E_max_GeV}: must be > E_min_GeV = {self.E_min_GeV}"
            raise CardError(key, msg)


SECTIONS: dict[str, type] = {
    "run": RunSection,
    "model": ModelSection,
    "process": ProcessSection,
    "experiment": ExperimentSection,
    "decay": DecaySection,
    "output": OutputSection,
    "detector": DetectorSection,
    "xsec": XsecSection,
}
REQUIRED_SECTIONS = ("model",)
UTF8_BOM = "\ufeff"


@dataclass
class Card:
    """A validated steering card. Optional sections are None when absent (defaults apply)."""

    model: ModelSection
    run: RunSection = field(default_factory=RunSection)
    process: ProcessSection | None = None
    experiment: ExperimentSection | None = None
    decay: DecaySection = field(default_factory=DecaySection)
    output: OutputSection = field(default_factory=OutputSection)
    detector: DetectorSection | None = None
    xsec: XsecSection = field(default_factory=XsecSection)
    text: str = ""
    path: Path | None = None

    @property
    def name(self) -> str:
        """Run name: [run].name, else the card file's stem."""
        if self.run.name:
            return self.run.name
        return self.path.stem if self.path is not None else "run"

    def parameters(self) -> ModelParameters:
        """Model parameters (GeV) of the card."""
        return self.model.to_parameters()


def parse_card(text: str, path: Path | None = None) -> Card:
    """Validate TOML text against the card schema. Raises CardError / UnknownNameError."""
    where = f" in {path}" if path else ""
    text = text.removeprefix(UTF8_BOM)  # a UTF-8 byte-order mark (Windows editors) is accepted and dropped
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"is not valid TOML{where}: {exc}"
        raise CardError("<file>", msg) from None
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(key, list(SECTIONS), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            msg = f"unknown section [{key}]; allowed: {', '.join(SECTIONS)}.{hint}"
            raise CardError(key, msg)
    for key in REQUIRED_SECTIONS:
        if key not in data:
            msg = f"missing section [{key}]{where}"
            raise CardError(key, msg)
    built = {key: _from_table(SECTIONS[key], data[key], key) for key in data}
    card = Card(**built, text=text, path=path)
    check_production_keys(card, {sec: set(data[sec]) for sec in ("process", "experiment") if sec in data})
    if card.experiment is not None and getattr(card.experiment, "flux_file", None) is not None:
        # relative flux tables are found next to the card, not in the working directory
        card.experiment.flux_file = card.experiment.flux_spec(path.parent if path is not None else None)
    card.parameters()  # validate the physics of the model section now
    return card


def check_production_keys(card: Card, given: dict[str, set[str]]) -> None:
    """CardError for a [process] / [experiment] key given in the card that none of the card's productions reads,
    naming the key, the card's productions and the registered productions that would read it."""
    prods = [PRODUCTIONS[p] for p in (card.process or ProcessSection()).productions]
    for section, keys in given.items():
        for key in sorted(keys):
            if any(key in p.keys(section) for p in prods):
                continue
            users = users_of(section, key)
            would = f"used only by {', '.join(map(repr, users))}" if users else "used by no production"
            card_key = f"{section}.{key}"
            raise CardError(card_key, f"not used by the card's productions "
                            f"({', '.join(p.name for p in prods)}); {would}. Remove it or add such a production.")


def load_card(path: str | Path) -> Card:
    """Read and validate a steering card from a TOML file (UTF-8, optionally with a byte-order mark)."""
    path = Path(path)
    try:
        text = decode_card(path.read_bytes(), path)
    except FileNotFoundError:
        msg = f"{str(path)!r} does not exist"
        raise CardError("<file>", msg) from None
    except OSError as exc:
        msg = f"{str(path)!r} cannot be read: {exc}"
        raise CardError("<file>", msg) from None
    return parse_card(text, path)


def decode_card(raw: bytes, path: str | Path) -> str:
    """Text of a card file's bytes; CardError naming the file, byte offset and line of the first byte that is
    not UTF-8 (TOML v1.0: "A TOML file must be a valid UTF-8 encoded Unicode document")."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad, line = raw[exc.start:exc.start + 1], raw.count(b"\n", 0, exc.start) + 1
        msg = (f"{str(path)!r}: byte {bad!r} at byte offset {exc.start} (line {line}) is not UTF-8; "
               "cards must be UTF-8 (re-save the file with UTF-8 encoding)")
        raise CardError("<file>", msg) from None


__all__ = ["Card", "CardError", "UnknownNameError", "decode_card", "load_card", "parse_card"]
