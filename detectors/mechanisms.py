"""Generic detector mechanisms: the module types every detector card can use.

SelectPairs, EMShowerMerge, SmearEnergy, SmearDirection, SmearVertex, SmearMomentum, Fiducial, Cut,
Efficiency, PlaceVertices, Region, Histogram, Categories. Each is a function (state, spec) registered
with :func:`detectors.registry.module_type`; the numbers come from the card (``spec.params``), the
response functions from :mod:`detectors.response`, the shapes from :mod:`generator.geometry` and the
pair observables from :mod:`generator.observables`. Experiment-specific mechanisms live in one module
per experiment (detectors/miniboone.py, ...).

Units: GeV, cm, rad.
"""

from __future__ import annotations

import math

import numpy as np

from detectors.registry import (
    DetectorState,
    ModuleSpec,
    PlotSpec,
    module_type,
    shape_from_dict,
    undefined_weight,
    weighted_hist,
)
from detectors.response import (
    angular_from_dict,
    efficiency_from_dict,
    resolution_from_dict,
    smear_direction,
    smear_energy,
    smear_momentum,
    smear_vertex,
)
from generator.errors import DetectorCardError
from generator.kernels.lorentz import direction3
from generator.observables import pair_energy, pair_mass, pair_opening_angle


def _one(spec: ModuleSpec, what: str, n: int = 1) -> tuple[str, ...]:
    names = spec.inputs if what == "inputs" else spec.outputs
    if len(names) < n:
        raise DetectorCardError(spec.where, f"modules[{spec.name}].{what}",
                                f"{list(names)} must name at least {n} column(s) for type {spec.type}")
    return names


#: default y-axis label of the per-event histograms (one entry per selected event, weighted).
EVENTS_PER_BIN = "expected events / bin (one entry per event)"

PAIR_FIELDS = ("vtx", "t", "em", "ep", "parent", "hnl", "hnl_mass", "hnl_daughter_mass", "valid")


def _gather_pair(state: DetectorState, prefix: str, idx: np.ndarray, ok: np.ndarray) -> dict[str, np.ndarray]:
    rows = np.arange(state.n)
    out = {}
    for f in PAIR_FIELDS:
        arr = state.cols[f"{prefix}_{f}"]
        v = arr[rows, idx].copy()
        if v.dtype == bool:
            v &= ok
        elif v.ndim == 1:
            v = np.where(ok, v, 0)
        else:
            v[~ok] = 0
        out[f] = v
    return out


@module_type("SelectPairs")
def select_pairs(state: DetectorState, spec: ModuleSpec) -> None:
    """Keep the e+e- pairs (input group, e.g. "pair") decaying inside ``volume`` (optional) whose HNL
    ancestor is in ``hnl_pdg`` (optional list); output the first one (by decay time) as group
    ``<out>_*`` (vtx, t, em, ep, parent, hnl, hnl_mass, hnl_daughter_mass, valid), optionally the
    second as ``<out>2_*`` (``second = true``), and ``n_<out>``; cut n_min <= n_<out> <= n_max."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    vtx = state.get(f"{src}_vtx", spec)
    ok = state.get(f"{src}_valid", spec).copy()
    if "volume" in spec.params:
        ok &= shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume").contains(vtx)
    allowed = spec.param("hnl_pdg", None, kind=list)
    if allowed is not None:
        ok &= np.isin(np.abs(state.get(f"{src}_hnl", spec)), np.abs(np.asarray(allowed)))
    n_vis = ok.sum(axis=1)
    first = np.argmax(ok, axis=1)
    has1 = n_vis >= 1
    for f, v in _gather_pair(state, src, first, has1).items():
        state.put(f"{dst}_{f}", v, record=f in ("vtx", "hnl", "hnl_mass"))
    if spec.param("second", False, kind=bool):
        ok2 = ok.copy()
        ok2[np.arange(state.n), first] = False
        second = np.argmax(ok2, axis=1)
        for f, v in _gather_pair(state, src, second, n_vis >= 2).items():
            state.put(f"{dst}2_{f}", v, record=f == "vtx")
    state.put(f"n_{dst}", n_vis.astype(np.int32))
    n_min = int(spec.number("n_min", 1, lo=0))
    n_max = spec.param("n_max", None)
    mask = n_vis >= n_min
    if n_max is not None:
        mask &= n_vis <= int(n_max)
    state.cut(spec.name, mask)


@module_type("EMShowerMerge")
def em_shower_merge(state: DetectorState, spec: ModuleSpec) -> None:
    """An e+e- pair (input group) looks like ONE electromagnetic shower when its opening angle is
    below ``overlap_angle_deg`` (the two rings/showers overlap: E = E+ + E-, direction of p+ + p-) or
    when the softer lepton is below ``visibility_threshold_GeV`` (energy-asymmetric: only the harder
    lepton is seen). Outputs <out>_E (GeV), <out>_dir (n, 3), <out>_kind (1 overlapping,
    2 asymmetric, 0 two separate showers, -1 nothing visible), theta_ee (rad), m_ee, E_ee (GeV).
    Cut: kind > 0 (unless ``cut = false``)."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    em, ep = state.get(f"{src}_em", spec), state.get(f"{src}_ep", spec)
    theta_max = math.radians(spec.number("overlap_angle_deg", lo=0.0, hi=180.0))
    thr = spec.number("visibility_threshold_GeV", lo=0.0)
    theta = pair_opening_angle(em, ep)
    Em, Ep = em[:, 0], ep[:, 0]
    soft, hard = np.minimum(Em, Ep), np.maximum(Em, Ep)
    hard_p4 = np.where((Em >= Ep)[:, None], em, ep)
    overlap = theta < theta_max
    asym = (~overlap) & (soft < thr) & (hard >= thr)
    invisible = (~overlap) & (hard < thr)
    kind = np.where(overlap, 1, np.where(asym, 2, np.where(invisible, -1, 0))).astype(np.int32)
    tot = em + ep
    E = np.where(overlap, tot[:, 0], np.where(asym, hard, 0.0))
    direction = np.where(overlap[:, None], direction3(tot[:, 1:]), direction3(hard_p4[:, 1:]))
    state.put(f"{dst}_E", E)
    state.put(f"{dst}_dir", direction)
    state.put(f"{dst}_kind", kind)
    state.put("theta_ee", theta)
    state.put("m_ee", pair_mass(em, ep))
    state.put("E_ee", pair_energy(em, ep))
    if spec.param("cut", True, kind=bool):
        state.cut(spec.name, kind > 0)


@module_type("SmearEnergy")
def smear_energy_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Gaussian energy smearing of input column (GeV) with ``resolution`` {stochastic, power,
    constant, noise_GeV, linear_per_GeV}; output clipped at ``floor_GeV`` (default 0)."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    res = resolution_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    state.put(dst, smear_energy(state.get(src, spec), res, state.rng, spec.number("floor_GeV", 0.0)))


@module_type("SmearDirection")
def smear_direction_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Smear a direction column (n, 3) with ``resolution`` {unit, stochastic, power, constant},
    evaluated at the energy column given as second input (GeV; if absent the stochastic term is
    evaluated at 1 GeV). Output: unit vectors (n, 3)."""
    names = _one(spec, "inputs")
    (dst,) = _one(spec, "outputs")[:1]
    u = state.get(names[0], spec)
    E = state.get(names[1], spec) if len(names) > 1 else np.ones(state.n)
    ang = angular_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    state.put(dst, smear_direction(u, ang.sigma(E), state.rng))


@module_type("SmearVertex")
def smear_vertex_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Gaussian smearing of a vertex column (n, 3) cm with ``sigma_cm`` (number or [sx, sy, sz])."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    s = spec.param("sigma_cm", kind=(int, float, list))
    if isinstance(s, list) and (len(s) != 3 or any(isinstance(v, bool) or v < 0 for v in s)):
        raise DetectorCardError(spec.where, f"{spec.pkey}.sigma_cm", f"{s!r} must be a number or 3 numbers >= 0")
    state.put(dst, smear_vertex(state.get(src, spec), np.asarray(s, dtype=float), state.rng))


@module_type("SmearMomentum")
def smear_momentum_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Smear four-momenta (n, 4) GeV: |p| with relative ``resolution`` (evaluated at |p|) and the
    direction with ``angular`` (optional); the invariant mass is kept."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    res = resolution_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    ang = spec.table("angular", None)
    ang = angular_from_dict(ang, spec.where, f"{spec.pkey}.angular") if ang is not None else None
    state.put(dst, smear_momentum(state.get(src, spec), res, ang, state.rng))


@module_type("Fiducial")
def fiducial(state: DetectorState, spec: ModuleSpec) -> None:
    """Cut: the vertex column (n, 3) cm lies inside ``volume``. An undefined (NaN) vertex fails."""
    (src,) = _one(spec, "inputs")[:1]
    shape = shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume")
    x = state.get(src, spec)
    defined = ~np.isnan(x).any(axis=-1)
    state.cut(spec.name, defined & shape.contains(np.nan_to_num(x)))


@module_type("Cut")
def cut_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Cut on a column: min <= x <= max (either bound optional; ``abs = true`` uses |x|). An event
    whose value is undefined (NaN, docs/detectors.md "Undefined values") fails the cut."""
    (src,) = _one(spec, "inputs")[:1]
    x = np.asarray(state.get(src, spec), dtype=float)
    if spec.param("abs", False, kind=bool):
        x = np.abs(x)
    lo, hi = spec.param("min", None), spec.param("max", None)
    if lo is None and hi is None:
        raise DetectorCardError(spec.where, spec.pkey, "a Cut needs `min` and/or `max`")
    mask = ~np.isnan(x)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    state.cut(spec.name, mask)


@module_type("Efficiency")
def efficiency_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Multiply the weights by an efficiency: constant ``value`` or table eff(x) of the input column."""
    eff = efficiency_from_dict(spec.params, spec.where, spec.pkey)
    x = state.get(spec.inputs[0], spec) if spec.inputs else None
    if eff.value is None and x is None:
        raise DetectorCardError(spec.where, f"modules[{spec.name}].inputs",
                                "a tabulated efficiency needs an input column")
    state.apply_efficiency(spec.name, eff(x, state.n))


def _moved_fraction(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of PlaceVertices: fraction of the events that were moved (0 without events)."""
    n = sums.get("n", 0)
    extra[f"{spec.name}_moved_fraction"] = float(sums["moved"]) / n if n else 0.0


@module_type("PlaceVertices", finalize=_moved_fraction)
def place_vertices(state: DetectorState, spec: ModuleSpec) -> None:
    """Translate the listed vertex columns/groups by a per-event offset that puts the primary vertex
    uniformly in z_min_cm..z_max_cm on the beam line (x_cm, y_cm). With ``only_if_at_origin`` (default
    true) events whose primary vertex is not at the origin are left untouched. Inputs: the columns
    to move (first one must be prim_vtx); outputs: none (columns are updated in place)."""
    names = _one(spec, "inputs")
    z0, z1 = spec.number("z_min_cm"), spec.number("z_max_cm")
    if not z1 > z0:
        raise DetectorCardError(spec.where, f"{spec.pkey}.z_max_cm", f"= {z1}: must be > z_min_cm = {z0}")
    prim = state.get(names[0], spec)
    move = np.ones(state.n, dtype=bool)
    if spec.param("only_if_at_origin", True, kind=bool):
        move = np.all(prim == 0.0, axis=1)
    target = np.column_stack([np.full(state.n, spec.number("x_cm", 0.0)), np.full(state.n, spec.number("y_cm", 0.0)),
                              state.rng.uniform(z0, z1, state.n)])
    offset = np.where(move[:, None], target - prim, 0.0)
    for name in names:
        arr = state.get(name, spec)
        if arr.ndim == 2:
            state.cols[name] = arr + offset
        else:
            state.cols[name] = arr + offset[:, None, :]
    state.tally(spec, {"moved": int(np.sum(move)), "n": state.n})


@module_type("Region")
def region_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Classify a vertex column (n, 3) or (n, k, 3) by the first of ``regions`` (list of
    {name, volume}) containing it; output codes 0..R-1, R = outside all, -1 for NaN vertices."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    regions = spec.param("regions", kind=list)
    x = state.get(src, spec)
    code = np.full(x.shape[:-1], len(regions), dtype=np.int32)
    done = np.zeros(x.shape[:-1], dtype=bool)
    names = []
    for i, r in enumerate(regions):
        if not isinstance(r, dict) or "name" not in r or "volume" not in r:
            raise DetectorCardError(spec.where, f"{spec.pkey}.regions[{i}]", "needs `name` and `volume`")
        names.append(r["name"])
        inside = shape_from_dict(r["volume"], spec.where, f"{spec.pkey}.regions[{i}].volume").contains(x) & ~done
        code[inside] = i
        done |= inside
    code[np.isnan(x).any(axis=-1)] = -1
    state.put(dst, code, record=x.ndim == 2)
    state.extra[f"{dst}_names"] = [*names, "outside"]


def bin_edges(spec: ModuleSpec, key: str = "bins") -> np.ndarray:
    """Histogram bin edges of parameter ``key``: a list of increasing edges or {min, max, n} (uniform)."""
    b = spec.param(key, kind=(list, dict))
    if isinstance(b, dict):
        lo, hi, n = b.get("min"), b.get("max"), b.get("n")
        numbers = isinstance(lo, (int, float)) and isinstance(hi, (int, float))
        if not (isinstance(n, int) and n > 0 and numbers and hi > lo):
            raise DetectorCardError(spec.where, f"{spec.pkey}.{key}", f"{b!r}: need min < max and integer n > 0")
        return np.linspace(lo, hi, n + 1)
    e = np.asarray(b, dtype=float)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
        raise DetectorCardError(spec.where, f"{spec.pkey}.{key}", f"{b!r} must be increasing bin edges")
    return e


@module_type("Histogram")
def histogram_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Weighted histogram of an input column (selected events unless ``all_events = true``) scaled
    by ``scale`` (e.g. unit conversion); optional second input = integer column to split the stack
    by, with ``labels`` {code = label}. Produces a PlotSpec named after the module. One entry per
    event: the y axis counts expected events. Events whose value is undefined (NaN) are not drawn;
    their expected number is PlotSpec.undefined (shown on the plot)."""
    names = _one(spec, "inputs")
    x = np.asarray(state.get(names[0], spec), dtype=float) * spec.number("scale", 1.0)
    sel = np.ones(state.n, dtype=bool) if spec.param("all_events", False, kind=bool) else state.selected
    edges = bin_edges(spec)
    comps = []
    if len(names) > 1:
        cat = np.asarray(state.get(names[1], spec))
        labels = spec.param("labels", {}, kind=dict)
        for code in np.unique(cat[sel]):
            m = sel & (cat == code)
            label = str(labels.get(str(code), f"{names[1]} = {code}"))
            comps.append((label, weighted_hist(x[m], state.weight[m], edges), {}))
    else:
        comps.append(("signal", weighted_hist(x[sel], state.weight[sel], edges), {}))
    vl = [(float(v), str(lbl)) for v, lbl in spec.param("vlines", [], kind=list)]
    state.plots[spec.name] = PlotSpec(title=spec.param("title", spec.name, kind=str),
                                      xlabel=spec.param("xlabel", names[0], kind=str),
                                      ylabel=spec.param("ylabel", EVENTS_PER_BIN, kind=str),
                                      edges=edges, components=comps, vlines=vl,
                                      logy=spec.param("logy", False, kind=bool),
                                      undefined=undefined_weight(x[sel], state.weight[sel]))


def _category_yields(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of Categories: the summed yields per label ("other" only if such events occurred)."""
    out = {k: float(v) for k, v in sums.items() if k not in ("other", "n_other")}
    if sums.get("n_other", 0):
        out["other"] = float(sums["other"])
    extra[spec.name] = out


@module_type("Categories", finalize=_category_yields)
def categories_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Weighted yields (expected events) of the selected events per value of an integer input
    column, stored in extra[<module name>] as {label: yield}; ``labels`` {code = label}. No cut."""
    (src,) = _one(spec, "inputs")[:1]
    cat = np.asarray(state.get(src, spec))
    labels = spec.param("labels", {}, kind=dict)
    out: dict = {}
    for code, label in labels.items():
        m = state.selected & (cat == int(code))
        out[str(label)] = float(np.sum(state.weight[m]))
    other = state.selected & ~np.isin(cat, [int(c) for c in labels])
    out["other"] = float(np.sum(state.weight[other]))
    out["n_other"] = int(np.sum(other))
    state.tally(spec, out)
