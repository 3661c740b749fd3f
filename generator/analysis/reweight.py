"""Reweight a generated run to another model point with the same masses (couplings changed only).

The weight of an event is the product of its production weight and of one factor per decay (generator.run,
generator.decay.chain): the branching ratio of the chosen channel (both decay modes: "all" draws channel c with
probability BR_c / sum_exclusive BR and weights by sum_exclusive BR; "forced" the same over the listed channels)
and, for a decay forced into a volume, the probability P_in of decaying there, with the position drawn from the
truncated exponential. The density of an event at a model point is therefore

    w ~ dsigma(E_nu, Q^2, h) x prod_decays BR_c x exp(-s / c tau0) / c tau0,

s the proper decay path (cm) of each decay (s = |x_decay - x_production| m / |p|, kernels/decay_length.py); the
volume factor P_in cancels against the truncated density, so the same formula holds with and without a forced
volume. At fixed masses the phase space, the sampling ranges and the decay kinematics are unchanged, so the
event weight at a new point is the old one times

    r = [|M|^2_new / |M|^2_old](E_nu, Q^2, h) x prod_decays [BR_new / BR_old] [c tau0_old / c tau0_new]
        x exp(-s (1 / c tau0_new - 1 / c tau0_old))

(importance reweighting, e.g. the "reweighting" of GENIE's ReWeight package: C. Andreopoulos et al.,
arXiv:1510.05494, Sec. 9). The production ratio is evaluated with the production's own |M|^2 at the stored
kinematics and the stored HNL helicity (the sample draws h with probability |M_h|^2 / sum_h |M_h|^2, so the
density of (E_nu, Q^2, h) is |M_h|^2). Within a decay channel the momentum distribution is assumed to scale as a
whole with the couplings (true when one mediator dominates the channel, as for the Z'-mediated N_j -> N_k e+e-);
regeneration tests check this (tests/analysis/test_reweight.py).

Decays too short to resolve: when both c tau0 are below ``PROMPT_CTAU0_CM`` (1 micrometre, far below any
detector's vertex resolution) the stored path s is dominated by rounding of the vertex coordinates, and the
position factor is set to 1 (the integral of p_new(s) over unresolved paths).

A point cannot be reweighted (NotReweightableError) when a decaying state's c tau0 grows by a factor 2 or more
(the position weights p_new(s) / p_old(s) then have infinite variance), or when the new point can produce events
the old sample cannot:
a production channel, a decay channel or a decaying state with zero rate at the old point and a non-zero one at
the new point, or a production whose |M|^2 vanishes at the old point where the new one does not (checked on a
grid over the sampling region), or a production with no registered reweighter. The scan then regenerates.

Units: GeV, GeV^2 (E_nu, Q^2), cm (positions, c tau0, s); weights in the run's weight unit (expected events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.errors import DataFileError, NotReweightableError

__all__ = ["PROMPT_CTAU0_CM", "REWEIGHTERS", "BaseSample", "PointWeights", "load_base", "reweight_point",
           "write_reweighted_run"]

#: proper decay length (cm) below which a decay position cannot be resolved from the stored vertices
PROMPT_CTAU0_CM = 1e-4
#: largest c tau0_new / c tau0_old that reweights: the weights' variance diverges at 2 (see _check_decays)
MAX_CTAU0_GROWTH = 2.0
#: events read per chunk from events.root (peak memory set by this, not by the run size)
STEP_EVENTS = 50_000
#: grid (per dimension) on which |M|^2_old = 0 while |M|^2_new > 0 is looked for
COVERAGE_GRID = 24

_EVENT_BRANCHES = ["pdg", "status", "mother", "px", "py", "pz", "m", "vx", "vy", "vz", "pol", "weight",
                   "channel", "E_nu", "Q2"]
_STATUS_DECAYED = 2
#: record entry whose ``pol`` is kept per event: the produced HNL of an upscattering event [nu, target, N_j, recoil]
#: (generator/processes/upscattering.py, UpscatteringProcess.events)
HEL_INDEX = 2


# ---------------------------------------------------------------------------------------------- production ratios
def _upscattering_ratio(proc_old, proc_new, E_nu: np.ndarray, Q2: np.ndarray, hel: np.ndarray) -> np.ndarray:
    """|M_h|^2_new / |M_h|^2_old at stored (E_nu GeV, Q2 GeV^2, helicity h = +-1) of one upscattering channel."""
    m_old = proc_old.channel.msq(E_nu, Q2)
    m_new = proc_new.channel.msq(E_nu, Q2)
    col = ((np.asarray(hel) + 1) // 2).astype(int)
    rows = np.arange(len(col))
    old, new = m_old[rows, col], m_new[rows, col]
    return np.divide(new, old, out=np.zeros_like(new), where=old > 0)


def _upscattering_coverage(proc_old, proc_new) -> str | None:
    """Reason why the old sample misses events of the new point (|M|^2_old = 0 < |M|^2_new), else None."""
    u = (np.arange(COVERAGE_GRID) + 0.5) / COVERAGE_GRID
    x = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)[:, : proc_old.dim]
    E, Q2, _ = proc_old._variables(x)
    m_old, m_new = proc_old.channel.msq(E, Q2), proc_new.channel.msq(E, Q2)
    bad = (m_old <= 0) & (m_new > 0)
    if bad.any():
        return f"|M|^2 vanishes at the old point where the new one is > 0 (e.g. E_nu = {E[bad.any(axis=1)][0]:.4g} GeV)"
    return None


@dataclass(frozen=True)
class ProductionReweighter:
    """How to reweight the events of one production: the |M|^2 ratio at the stored kinematics (E_nu, Q^2 and the
    polarisation ``pol`` of record entry HEL_INDEX), and the check that the old sample covers the new point."""

    ratio: callable
    coverage: callable


#: production name (generator.processes.registry) -> reweighter; a production not listed is regenerated.
REWEIGHTERS: dict[str, ProductionReweighter] = {
    "upscattering": ProductionReweighter(_upscattering_ratio, _upscattering_coverage),
}


# ---------------------------------------------------------------------------------------------- the base sample
@dataclass
class BaseSample:
    """What reweighting needs from a generated run, read once: per event the channel index, production weight
    inputs and weight; per decay the event, parent PDG code, daughter key and proper path s (cm); per detector-level
    entry the event index, channel, weight and selection. Built by :func:`load_base`."""

    run_dir: Path
    card: object
    summary: dict
    channel_names: list[str]
    channel: np.ndarray
    weight: np.ndarray
    E_nu: np.ndarray
    Q2: np.ndarray
    hel: np.ndarray
    dec_event: np.ndarray
    dec_parent: np.ndarray
    dec_key: np.ndarray
    dec_s: np.ndarray
    keys: list[tuple[int, tuple[int, ...]]]
    reco: dict | None = None
    detector_summary: dict | None = None
    _specs: dict = field(default_factory=dict)


def _regular(arr, name: str, npart: int) -> np.ndarray:
    """(n_events, npart) numpy array of a jagged branch whose events all have npart particles."""
    import awkward as ak

    return ak.to_numpy(ak.flatten(arr[name], axis=1)).reshape(-1, npart)


def _chunk_features(arrs, offset: int, keys: dict, out: dict) -> None:
    """Append the features of one chunk of events (awkward arrays) to ``out``; events are grouped by record
    topology (a handful per run), so the work is vectorised over events."""
    import awkward as ak

    n_part = ak.to_numpy(ak.num(arrs["pdg"]))
    for npart in np.unique(n_part):
        sel = np.flatnonzero(n_part == npart)
        sub = arrs[sel]
        pdg, status, mother = (_regular(sub, k, npart).astype(np.int64) for k in ("pdg", "status", "mother"))
        pol = _regular(sub, "pol", npart)
        pos = np.stack([_regular(sub, k, npart) for k in ("vx", "vy", "vz")], axis=-1)
        mom = np.stack([_regular(sub, k, npart) for k in ("px", "py", "pz")], axis=-1)
        mass = _regular(sub, "m", npart)
        sig = np.concatenate([pdg, status, mother], axis=1)
        uniq, inv = np.unique(sig, axis=0, return_inverse=True)
        inv = inv.ravel()
        for t, row in enumerate(uniq):
            rows = np.flatnonzero(inv == t)
            ev = sel[rows] + offset
            p_row, s_row, m_row = row[:npart], row[npart: 2 * npart], row[2 * npart:]
            out["hel"][sel[rows]] = pol[rows, HEL_INDEX] if npart > HEL_INDEX else 0.0
            for k in np.flatnonzero(s_row == _STATUS_DECAYED):
                dau = np.flatnonzero(m_row == k)
                key = (int(p_row[k]), tuple(sorted(int(c) for c in p_row[dau])))
                kid = keys.setdefault(key, len(keys))
                flight = np.linalg.norm(pos[rows, dau[0]] - pos[rows, k], axis=1)
                pabs = np.linalg.norm(mom[rows, k], axis=1)
                s = np.divide(flight * mass[rows, k], pabs, out=np.zeros_like(flight), where=pabs > 0)
                out["dec_event"].append(ev)
                out["dec_parent"].append(np.full(len(ev), p_row[k]))
                out["dec_key"].append(np.full(len(ev), kid))
                out["dec_s"].append(s)


def load_base(run_dir: str | Path, card) -> BaseSample:
    """Read run ``run_dir`` (events.root, summary.json, and reco.root + detector_summary.json when present) of
    ``card`` (the generator.card.Card it was run with) into a BaseSample. Raises DataFileError when a file is
    missing or the channel list does not match."""
    import uproot

    run_dir = Path(run_dir)
    ev_path = run_dir / "events.root"
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        f = uproot.open(ev_path)
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"reweighting base {run_dir}: cannot read summary.json / events.root ({exc}); run with 'root' output"
        raise DataFileError(msg) from None
    with f:
        names = json.loads(str(f["channels"]))
        tree = f["events"]
        n = tree.num_entries
        per_event = {k: np.empty(n) for k in ("weight", "E_nu", "Q2", "hel")}
        per_event["channel"] = np.empty(n, dtype=np.int64)
        dec = {"dec_event": [], "dec_parent": [], "dec_key": [], "dec_s": [], "hel": per_event["hel"]}
        keys: dict = {}
        offset = 0
        for arrs in tree.iterate(_EVENT_BRANCHES, step_size=STEP_EVENTS):
            m = len(arrs)
            for k in ("weight", "E_nu", "Q2", "channel"):
                per_event[k][offset: offset + m] = arrs[k].to_numpy()
            dec["hel"] = per_event["hel"][offset: offset + m]
            _chunk_features(arrs, offset, keys, dec)
            offset += m
    cat = {k: (np.concatenate(dec[k]) if dec[k] else np.zeros(0)) for k in ("dec_event", "dec_parent", "dec_key",
                                                                         "dec_s")}
    reco, det = None, None
    if (run_dir / "reco.root").is_file() and (run_dir / "detector_summary.json").is_file():
        with uproot.open(run_dir / "reco.root") as rf:
            reco = rf["reco"].arrays(["event", "weight", "selected", "channel"], library="np")
        det = json.loads((run_dir / "detector_summary.json").read_text())
    return BaseSample(
        run_dir=run_dir, card=card, summary=summary, channel_names=list(names), channel=per_event["channel"],
        weight=per_event["weight"], E_nu=per_event["E_nu"], Q2=per_event["Q2"], hel=per_event["hel"],
        dec_event=cat["dec_event"].astype(np.int64), dec_parent=cat["dec_parent"].astype(np.int64),
        dec_key=cat["dec_key"].astype(np.int64), dec_s=cat["dec_s"], keys=sorted(keys, key=keys.get),
        reco=reco, detector_summary=det,
    )


# ---------------------------------------------------------------------------------------------- model quantities
def _decay_table(model, decay_section) -> tuple[dict, dict, dict]:
    """({(parent pdg, sorted daughter pdgs): BR}, {parent pdg: c tau0 cm}, {parent pdg: decays here?}) of a point,
    BR as used by the decay step (selection probability x weight factor, generator.decay.plan.DecayPlan.options)."""
    from generator.decay import DecayPlan

    plan = DecayPlan(model, decay_section)
    br, ctau, decays = {}, {}, {}
    for name in plan.channels:
        code = plan.table.pdg(name)
        chans, prob, factor = plan.options(name)
        decays[code] = bool(chans)
        if not chans:
            continue
        ctau[code] = plan.ctau0_cm(name)
        for c, p in zip(chans, prob, strict=True):
            key = (code, tuple(sorted(plan.table.pdg(d) for d in c.daughters)))
            br[key] = br.get(key, 0.0) + float(p) * factor
    return br, ctau, decays


def _specs(card, model) -> dict:
    from generator.run import build_channels

    return {s.name: s for s in build_channels(card, model)}


def _check_decays(old: tuple, new: tuple) -> None:
    br_old, ct_old, dec_old = old
    br_new, ct_new, dec_new = new
    for code, lo in ct_old.items():
        ln = ct_new.get(code, lo)
        # E[r^2] of r = p_new(s) / p_old(s), s ~ p_old, is finite only for 2 / ln - 1 / lo > 0 (ln < 2 lo)
        if ln >= MAX_CTAU0_GROWTH * lo and max(lo, ln) >= PROMPT_CTAU0_CM:
            msg = (f"c tau0 of the state with PDG code {code} grows from {lo:.4g} cm to {ln:.4g} cm (x{ln / lo:.3g} >= "
                   f"{MAX_CTAU0_GROWTH:g}): the decay-position weights would have infinite variance; regenerate")
            raise NotReweightableError(msg)
    for code, d in dec_new.items():
        if d and not dec_old.get(code, False):
            msg = f"state with PDG code {code} decays at the new point but not at the old one: regenerate"
            raise NotReweightableError(msg)
    for key, b in br_new.items():
        if b > 0 and br_old.get(key, 0.0) <= 0:
            msg = (f"decay channel {key[0]} -> {list(key[1])} has BR = {b:.3g} at the new point and 0 at the old "
                   "one: the old sample holds none of its events; regenerate")
            raise NotReweightableError(msg)


@dataclass
class PointWeights:
    """Per-event weight ratios of one new point, and its rates per production channel (expected events):
    ``rates[name] = {"before_decays", "after_decays", "after_decays_err", "after_detector", "after_detector_err"}``.
    Errors are the Monte Carlo errors of the weighted sums (sample variance of the reweighted weights, combined
    with the base run's relative production error)."""

    ratio: np.ndarray
    rates: dict
    detector_weights: np.ndarray | None = None


def _sum_err(w: np.ndarray, n: int) -> float:
    """Monte Carlo error of sum(w) over a sample of n events: sqrt(n var(w))."""
    if n == 0:
        return 0.0
    s1, s2 = float(w.sum()), float((w * w).sum())
    return float(np.sqrt(max(s2 - s1 * s1 / n, 0.0)))


def reweight_point(base: BaseSample, card) -> PointWeights:
    """Reweight ``base`` to the model of ``card`` (a Card differing from base.card in [model] couplings only).

    Raises NotReweightableError when the new point has masses different from the base (relative 1e-12) or can
    produce events the base sample cannot (see the module docstring)."""
    from generator.model.model import Model

    m_old, m_new = Model(base.card.parameters()), Model(card.parameters())
    check_same_masses(m_old, m_new)
    old_specs, new_specs = base._specs.get("specs"), None
    if old_specs is None:
        old_specs = base._specs["specs"] = _specs(base.card, m_old)
        base._specs["decays"] = _decay_table(m_old, base.card.decay)
    new_specs = _specs(card, m_new)
    if set(new_specs) != set(old_specs):
        extra = sorted(set(new_specs) ^ set(old_specs))
        msg = f"production channels {extra} are open at only one of the two points: regenerate"
        raise NotReweightableError(msg)
    dec_old, dec_new = base._specs["decays"], _decay_table(m_new, card.decay)
    _check_decays(dec_old, dec_new)
    ratio = np.zeros(len(base.weight))
    prod_ratio = np.zeros(len(base.weight))
    for idx, name in enumerate(base.channel_names):
        so, sn = old_specs[name], new_specs[name]
        rw = REWEIGHTERS.get(so.production)
        if rw is None:
            msg = (f"production {so.production!r} has no reweighter (generator.analysis.reweight.REWEIGHTERS): "
                   "regenerate")
            raise NotReweightableError(msg)
        reason = rw.coverage(so.process, sn.process)
        if reason is not None:
            msg = f"channel {name}: {reason}; regenerate"
            raise NotReweightableError(msg)
        sel = base.channel == idx
        prod_ratio[sel] = rw.ratio(so.process, sn.process, base.E_nu[sel], base.Q2[sel], base.hel[sel])
    # decays: BR ratio x decay-length density ratio, multiplied per event (np.multiply.at over the decay records)
    br_o, ct_o, _ = dec_old
    br_n, ct_n, _ = dec_new
    dec_factor_old = np.ones(len(base.weight))
    dec_ratio = np.ones(len(base.weight))
    for kid, key in enumerate(base.keys):
        sel = base.dec_key == kid
        ev, s = base.dec_event[sel], base.dec_s[sel]
        bo, bn = br_o.get(key, 0.0), br_n.get(key, 0.0)
        lo, ln = ct_o[key[0]], ct_n[key[0]]
        if lo < PROMPT_CTAU0_CM and ln < PROMPT_CTAU0_CM:
            pos = np.ones(len(s))
        else:  # p_new(s) / p_old(s), p(s) = exp(-s / c tau0) / c tau0
            pos = (lo / ln) * np.exp(-s * (1.0 / ln - 1.0 / lo))
        np.multiply.at(dec_ratio, ev, (bn / bo) * pos)
        np.multiply.at(dec_factor_old, ev, bo)
    ratio = prod_ratio * dec_ratio
    rates = {}
    base_ch = {c["name"]: c for c in base.summary["channels"]}
    det_w = None
    if base.reco is not None:
        det_w = base.reco["weight"] * ratio[base.reco["event"]] * base.reco["selected"]
    for idx, name in enumerate(base.channel_names):
        sel = base.channel == idx
        w = base.weight[sel] * ratio[sel]
        u = base.weight[sel] / dec_factor_old[sel]
        c0 = base_ch[name]
        rel = c0["expected_events_err"] / c0["expected_events"] if c0["expected_events"] else 0.0
        q_old, q_new = c0.get("expected_events_quadrature"), new_specs[name].extra.get("expected_events_quadrature")
        if base.card.decay.volume is not None and q_old and q_new is not None:
            # a forced volume drops the events whose flight line misses it: the survivors are a biased sample of the
            # production, so the production rate scales with the quadrature rates of the two points instead
            frac = q_new / q_old
        else:
            frac = float((u * prod_ratio[sel]).sum() / u.sum()) if u.sum() > 0 else 0.0
        after = float(w.sum())
        r = {"before_decays": c0["expected_events"] * frac, "before_decays_err": c0["expected_events_err"] * frac,
             "after_decays": after, "after_decays_err": float(np.hypot(_sum_err(w, int(sel.sum())), rel * after))}
        if det_w is not None:
            ds = base.reco["channel"] == idx
            wd = det_w[ds]
            tot = float(wd.sum())
            r["after_detector"] = tot
            r["after_detector_err"] = float(np.hypot(_sum_err(wd, int(ds.sum())), rel * tot))
        rates[name] = r
    return PointWeights(ratio=ratio, rates=rates, detector_weights=det_w)


def check_same_masses(m_old, m_new, rtol: float = 1e-12) -> None:
    """NotReweightableError unless every heavy state, the Z' and the phi' have the same mass (relative rtol)."""
    so, sn = m_old.spectrum, m_new.spectrum
    pairs = [(n, so.mass(n), sn.mass(n)) for n in so.heavy_names]
    pairs += [("Z'", m_old.params.m_Zprime, m_new.params.m_Zprime),
              ("phi'", m_old.params.m_phiprime, m_new.params.m_phiprime)]
    for name, a, b in pairs:
        if abs(a - b) > rtol * max(abs(a), abs(b)):
            msg = f"mass of {name} changes ({a:.12g} -> {b:.12g} GeV): only couplings at fixed masses reweight"
            raise NotReweightableError(msg)


def write_reweighted_run(base: BaseSample, card, pw: PointWeights, out_dir: str | Path) -> Path:
    """Write the detector-level files of a reweighted point into ``out_dir``: ``reco.root`` (the base's TTree
    ``reco`` with ``weight_in`` and ``weight`` multiplied by the event's ratio), ``detector_summary.json`` (totals
    and a two-step cut flow of the reweighted sample) and ``summary.json`` (the point's card, rates per channel,
    the base run). The fits (generator.analysis.*_fit) read such a directory like a generated run's. Returns
    ``out_dir``. Raises DataFileError when the base run has no detector output."""
    import uproot

    from generator.run import write_json

    if base.detector_summary is None:
        msg = f"reweighting base {base.run_dir}: no reco.root + detector_summary.json to reweight"
        raise DataFileError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with uproot.open(base.run_dir / "reco.root") as f:
        cols = f["reco"].arrays(library="np")
    r = pw.ratio[cols["event"]]
    cols["weight_in"] = cols["weight_in"] * r
    cols["weight"] = cols["weight"] * r
    with uproot.recreate(out / "reco.root") as f:
        f.mktree("reco", {k: v.dtype for k, v in cols.items()})
        f["reco"].extend(cols)
    before = float(sum(v["after_decays"] for v in pw.rates.values()))
    after = float(np.sum(cols["weight"] * cols["selected"]))
    det = dict(base.detector_summary)
    det.update(expected_events_before=before, expected_events_after=after,
               efficiency=after / before if before > 0 else 0.0,
               cutflow=[["all events", before], ["selected (reweighted)", after]],
               reweighted_from=str(base.run_dir))
    det["files"] = {"reco": str(out / "reco.root"), "summary": str(out / "detector_summary.json")}
    write_json(out / "detector_summary.json", det)
    summ = {k: base.summary[k] for k in ("version", "seed", "pot", "luminosity_fb", "n_kaon_decays", "weighted")
            if k in base.summary}
    summ.update(run_name=card.name, card=card.text, model=card.parameters().name, reweighted_from=str(base.run_dir),
                channels=[{"name": k, **v} for k, v in pw.rates.items()],
                expected_events_total=float(sum(v["before_decays"] for v in pw.rates.values())),
                expected_events_after_decays_total=before)
    write_json(out / "summary.json", summ)
    return out
