"""Provenance of a run: what produced the events, as a JSON-friendly dict.

:func:`build_provenance` returns

- ``model_name``: the preset name, with the modified parameters listed when the card overrides a preset
  (e.g. ``"BP-B (modified: alpha_D)"``), or the model's own name;
- ``model``: the resolved model: Lagrangian parameters (GeV; complex entries as [re, im]), masses of every
  state (GeV), mixings |U_alpha j|^2, widths (GeV), c tau0 (cm) and the vertex convention;
- ``versions``: this package and its key dependencies (None when one is not installed);
- ``git_commit`` (and ``git_dirty``): when the package runs from a git checkout, else None;
- ``command_line`` (``sys.argv``) and ``card`` (the steering-card text).

Nothing here depends on the clock, so files that embed it are reproducible.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np

from generator import __version__

#: dependencies whose versions decide the events.
KEY_DEPENDENCIES = ("numpy", "scipy", "vegas", "numba", "pyhepmc", "uproot", "awkward", "particle")
#: ModelParameters fields compared against the preset (GeV where dimensionful).
_PARAM_FIELDS = ("flavours", "M_D", "M_N", "Lambda_L", "Lambda_R", "M_X", "m_Zprime", "epsilon", "alpha_D",
                 "m_phiprime", "sin_theta", "vertex_convention")


def _jsonable(value):
    """numpy arrays/scalars and complex numbers as JSON types (complex -> [re, im])."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return arr.tolist()
    if np.iscomplexobj(arr):
        return np.stack([arr.real, arr.imag], axis=-1).tolist()
    return arr.tolist()


def dependency_versions() -> dict[str, str | None]:
    """{distribution: version} of the package and of KEY_DEPENDENCIES; None when not installed."""
    out: dict[str, str | None] = {"darkseesaw-gen": __version__}
    for name in KEY_DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = sys.version.split()[0]
    return out


def git_state(directory: str | Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout holding ``directory`` (default: this package); (None, None) when
    git is not installed or the package is not in a checkout (e.g. installed from a wheel)."""
    where = Path(directory) if directory is not None else Path(__file__).resolve().parent
    git = shutil.which("git")
    if git is None:
        return None, None
    head = subprocess.run([git, "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10,
                          check=False)
    if head.returncode != 0:
        return None, None
    status = subprocess.run([git, "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True,
                            text=True, timeout=10, check=False)
    return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None


def modified_parameters(params, preset_name: str) -> list[str]:
    """Names of the ModelParameters fields that differ from preset ``preset_name`` (exact comparison)."""
    from generator.model.parameters import preset

    base = preset(preset_name)
    changed = []
    for f in _PARAM_FIELDS:
        a, b = getattr(params, f), getattr(base, f)
        if isinstance(a, str) or isinstance(b, str) or isinstance(a, tuple):
            same = a == b
        else:
            a, b = np.asarray(a), np.asarray(b)
            same = a.shape == b.shape and bool(np.all(a == b))
        if not same:
            changed.append(f)
    return changed


def model_name(card) -> str:
    """The model label of a card: preset name, "<preset> (modified: k1, k2)", or the parameters' own name."""
    params = card.parameters()
    preset_name = card.model.preset
    if preset_name is None:
        return params.name
    changed = modified_parameters(params, preset_name)
    return f"{preset_name} (modified: {', '.join(changed)})" if changed else preset_name


def model_summary(model) -> dict:
    """Resolved model of a :class:`generator.model.model.Model`: parameters, masses, mixings, widths, c tau0.

    Units: GeV for masses, parameters and widths; cm for c tau0 (None for a state with no open channel).
    """
    p, spec = model.params, model.spectrum
    widths = {n: model.width(n) for n in model.unstable}
    return {
        "name": p.name,
        "vertex_convention": model.convention,
        "parameters_GeV": {f: _jsonable(getattr(p, f)) for f in _PARAM_FIELDS if f != "vertex_convention"},
        "masses_GeV": {**{n: float(spec.mass(n)) for n in spec.names}, "Z'": float(p.m_Zprime),
                       "phi'": float(p.m_phiprime)},
        "mixings_U2": {f"{a},{n}": float(spec.U2(a, n)) for a in p.flavours for n in spec.heavy_names},
        "couplings": {"epsilon": float(p.epsilon), "alpha_D": float(p.alpha_D), "sin_theta": float(p.sin_theta)},
        "widths_GeV": widths,
        "ctau0_cm": {n: (model.ctau0_cm(n) if w > 0 else None) for n, w in widths.items()},
    }


def build_provenance(card=None, model=None, argv: list[str] | None = None) -> dict:
    """Provenance dict of a run (module docstring). ``card``: a Card (or None); ``model``: its Model (built
    from the card when None); ``argv``: the command line (default ``sys.argv``)."""
    if card is not None and model is None:
        from generator.model.model import Model

        model = Model(card.parameters())
    commit, dirty = git_state()
    return {
        "model_name": model_name(card) if card is not None else (model.params.name if model is not None else None),
        "model": model_summary(model) if model is not None else None,
        "versions": dependency_versions(),
        "git_commit": commit,
        "git_dirty": dirty,
        "command_line": list(sys.argv if argv is None else argv),
        "card": card.text if card is not None else None,
    }


def from_card_text(text: str, argv: list[str] | None = None) -> dict:
    """Provenance from a card's text alone: the model part when the text has a [model] table (the card is
    parsed and validated; errors propagate), else only versions, git state, command line and the text."""
    from generator.card import parse_card

    try:
        has_model = "model" in tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        has_model = True  # parse_card raises the CardError that names the problem
    if has_model:
        return build_provenance(parse_card(text), argv=argv)
    prov = build_provenance(None, None, argv=argv)
    prov["card"] = text
    return prov


__all__ = ["KEY_DEPENDENCIES", "build_provenance", "dependency_versions", "from_card_text", "git_state",
           "model_name", "model_summary", "modified_parameters"]
