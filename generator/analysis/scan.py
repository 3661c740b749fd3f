"""Parameter scans behind `dsgen scan`: a grid over card keys, each point a run or a reweighted run, one table.

``scan(card, {"model.alpha_D": [0.2, 0.32, 0.4]}, out_dir)`` builds one card per grid point (the base card's TOML
with the keys set, so each point's summary.json holds the exact card of the point), groups the points by what
reweighting cannot change (every non-[model] key, and the resolved masses of N_j, Z', phi' to 1e-12 relative:
decided from the model, not from key names), generates the first point of each group with
``generator.run.run_card`` and reweights the others from its events (generator.analysis.reweight). A point that
cannot be reweighted (a channel closed at the base point, a production without reweighter) is regenerated and
the table says why. Runs go to ``<out>/points/<run name>_pNNN/``; the table ``<out>/scan.csv`` and
``<out>/scan.parquet`` holds, per point: the scanned parameters, ``reweighted`` (bool), ``base_point``, ``note``,
and per production channel and in total the expected events before decays, after decays and after the detector
(with Monte Carlo errors); plots ``<out>/scan_<key>.png`` show the totals against each scanned key.

Parallel: ``workers`` > 1 or ``scheduler`` runs each regenerated point as one Dask task and the reweighted points
of a group in batches (generator.parallel.dask_client); ``workers = 1`` runs in process.
"""

from __future__ import annotations

import itertools
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.errors import NotReweightableError, ScanError

__all__ = ["FITS", "ScanPoint", "ScanResult", "parse_set", "point_cards", "scan", "scan_table", "write_table"]

STAGES = ("before_decays", "after_decays", "after_detector")


def _parse_value(text: str, item: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text.strip():
            return text.strip()  # bare word: a string value (e.g. a preset name)
        msg = f"--set {item!r}: empty value; write KEY=v1,v2,..."
        raise ScanError(msg) from None


def parse_set(items: list[str]) -> dict[str, list]:
    """{"section.key": [values]} from ``--set KEY=v1,v2,...`` items (values parsed as TOML scalars)."""
    grid: dict[str, list] = {}
    for item in items:
        key, sep, vals = item.partition("=")
        key = key.strip()
        if not sep or "." not in key or not vals.strip():
            msg = f"--set {item!r}: write SECTION.KEY=v1,v2,... (e.g. model.alpha_D=0.2,0.32,0.4)"
            raise ScanError(msg)
        if key in grid:
            msg = f"--set {item!r}: {key} is already scanned; give each key once"
            raise ScanError(msg)
        grid[key] = [_parse_value(v, item) for v in vals.split(",")]
    return grid


def point_cards(card, grid: dict[str, list], n_events: int | None = None, seed: int | None = None,
                need_root: bool = False) -> list:
    """One Card per grid point (cartesian product, first key slowest): the base card's TOML with the keys set
    and [run].name = <name>_pNNN; n_events / seed override [run]; need_root adds "root" to [output].formats
    (reweighting reads events.root). Raises ScanError / CardError for bad keys."""
    import tomli_w

    from generator.card import SECTIONS, parse_card

    for key in grid:
        sec = key.split(".", 1)[0]
        if sec not in SECTIONS:
            msg = f"--set {key}: unknown card section [{sec}]; allowed: {', '.join(SECTIONS)}"
            raise ScanError(msg)
    cards = []
    for i, values in enumerate(itertools.product(*grid.values())):
        data = tomllib.loads(card.text)
        for key, val in zip(grid, values, strict=True):
            sec, name = key.split(".", 1)
            data.setdefault(sec, {})[name] = val
        run = data.setdefault("run", {})
        run["name"] = f"{card.name}_p{i:03d}"
        if n_events is not None:
            run["n_events"] = n_events
        if seed is not None:
            run["seed"] = seed
        if need_root:
            out = data.setdefault("output", {})
            formats = list(out.get("formats", card.output.formats))
            if "root" not in formats:
                out["formats"] = [*formats, "root"]
        c = parse_card(tomli_w.dumps(data), card.path)
        c.run.progress = False
        cards.append(c)
    return cards


@dataclass
class ScanPoint:
    """One grid point: its parameters, card, run directory, rates per channel and stage, and provenance."""

    index: int
    params: dict
    card: object
    run_dir: Path | None = None
    reweighted: bool = False
    base_point: int | None = None
    note: str = ""
    rates: dict = field(default_factory=dict)
    timing_s: float = 0.0
    fit: dict = field(default_factory=dict)


@dataclass
class ScanResult:
    points: list[ScanPoint]
    table: dict
    files: dict

    def format(self) -> str:
        lines = [f"scan of {len(self.points)} points"]
        keys = list(self.points[0].params) if self.points else []
        head = "".join(f"{k:>18}" for k in keys)
        head += f"{'before decays':>16}{'after decays':>16}{'after detector':>16}  source"
        lines.append(head)
        for i, p in enumerate(self.points):
            row = "".join(f"{p.params[k]!s:>18}" for k in keys)
            row += "".join(f"{self.table[f'total_{s}'][i]:16.4g}" for s in STAGES)
            src = f"reweighted from p{p.base_point:03d}" if p.reweighted else "generated"
            lines.append(f"{row}  {src}{(' (' + p.note + ')') if p.note else ''}")
        lines += [f"  {k}: {v}" for k, v in self.files.items()]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- grouping
def _signature(card) -> tuple:
    """What reweighting cannot change: every section but [model] (run name aside), and the resolved masses."""
    from generator.model.model import Model

    data = tomllib.loads(card.text)
    data.pop("model", None)
    data.get("run", {}).pop("name", None)
    m = Model(card.parameters())
    masses = [m.spectrum.mass(n) for n in m.spectrum.heavy_names] + [m.params.m_Zprime, m.params.m_phiprime]
    return repr(sorted(data.items())), np.asarray(masses, dtype=float)


def _groups(cards: list) -> list[list[int]]:
    """Indices of points sharing everything but couplings (masses equal within 1e-12 relative)."""
    groups: list[tuple[tuple, list[int]]] = []
    for i, c in enumerate(cards):
        sig = _signature(c)
        for g_sig, members in groups:
            same = g_sig[0] == sig[0] and len(g_sig[1]) == len(sig[1]) and np.all(
                np.abs(g_sig[1] - sig[1]) <= 1e-12 * np.maximum(np.abs(g_sig[1]), np.abs(sig[1])))
            if same:
                members.append(i)
                break
        else:
            groups.append((sig, [i]))
    return [members for _, members in groups]


# ---------------------------------------------------------------------------------------------- tasks
def _rates_of_run(run_dir: Path) -> dict:
    """{channel: {stage: value, stage_err: error}} of a generated run, from its summary.json and reco.root. Errors:
    production (VEGAS) error for the rates, combined with the sample error of the weighted detector-level sum."""
    import json

    import uproot

    from generator.analysis.reweight import _sum_err

    summ = json.loads((run_dir / "summary.json").read_text())
    reco = None
    if (run_dir / "reco.root").is_file():
        with uproot.open(run_dir / "reco.root") as f:
            reco = f["reco"].arrays(["weight", "selected", "channel"], library="np")
    with uproot.open(run_dir / "events.root") as f:
        names = json.loads(str(f["channels"]))
    out = {}
    for c in summ["channels"]:
        rel = c["expected_events_err"] / c["expected_events"] if c["expected_events"] else 0.0
        after = c["expected_events_after_decays"]
        r = {"before_decays": c["expected_events"], "before_decays_err": c["expected_events_err"],
             "after_decays": after, "after_decays_err": rel * after}
        if reco is not None:
            sel = reco["channel"] == names.index(c["name"])
            w = reco["weight"][sel] * reco["selected"][sel]
            r["after_detector"] = float(w.sum())
            r["after_detector_err"] = float(math.hypot(_sum_err(w, int(sel.sum())), rel * float(w.sum())))
        out[c["name"]] = r
    return out


def _generate_task(card, points_dir: str) -> tuple[str, dict, float]:
    """Run one point (generator.run.run_card) and read its rates back: (run dir, rates, seconds)."""
    from generator.run import run_card

    t0 = time.perf_counter()
    res = run_card(card, out_dir=points_dir)
    return str(res.out_dir), _rates_of_run(Path(res.out_dir)), time.perf_counter() - t0


def _reweight_task(base_card, base_dir: str, cards: list, points_dir: str) -> list[tuple]:
    """Reweight the base run to each card, writing the point's detector-level files (when the base has them) into
    ``points_dir/<run name>/``: [(rates or None, run dir or None, reason if not reweightable, seconds)]."""
    from generator.analysis.reweight import load_base, reweight_point, write_reweighted_run

    base = load_base(base_dir, base_card)
    out = []
    for c in cards:
        t0 = time.perf_counter()
        try:
            pw = reweight_point(base, c)
        except NotReweightableError as exc:
            out.append((None, None, str(exc), time.perf_counter() - t0))
            continue
        run_dir = None
        if base.detector_summary is not None:
            run_dir = str(write_reweighted_run(base, c, pw, Path(points_dir) / c.name))
        out.append((pw.rates, run_dir, "", time.perf_counter() - t0))
    return out


class _Serial:
    """The in-process executor (workers = 1): submit runs the call at once."""

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

    def submit(self, fn, *args, pure: bool = False):
        return self._Done(fn(*args))


# ---------------------------------------------------------------------------------------------- the scan
def scan(card, grid: dict[str, list], out_dir: str | Path, n_events: int | None = None, seed: int | None = None,
         reweight: bool = True, workers: int = 1, scheduler: str | None = None, plots: bool = True,
         fit: bool = False, fit_options: dict | None = None) -> ScanResult:
    """Run the grid ``grid`` ({"section.key": [values]}) over ``card`` into ``out_dir`` and write the table and plots.

    reweight: reweight points that differ from a generated one in couplings only (else regenerate every point).
    workers / scheduler: Dask parallelism (generator.parallel.dask_client); workers = 1 and no scheduler runs in
    process. fit: fit every point's detector-level signal with the fit of the card's detector (FITS), options
    ``fit_options`` (e.g. {"data_release": DIR}); its scalar results become ``fit_*`` columns. Returns a ScanResult
    (points, table columns, file paths)."""
    import contextlib

    from generator.parallel import dask_client

    out = Path(out_dir)
    points_dir = out / "points"
    cards = point_cards(card, grid, n_events=n_events, seed=seed, need_root=reweight)
    points = [ScanPoint(i, dict(zip(grid, vals, strict=True)), c) for i, (vals, c) in
              enumerate(zip(itertools.product(*grid.values()), cards, strict=True))]
    groups = _groups(cards) if reweight else [[i] for i in range(len(cards))]
    if scheduler is not None or workers > 1:
        ctx = dask_client(workers=None if scheduler else workers, scheduler=scheduler)
    else:
        ctx = contextlib.nullcontext(_Serial())
    with ctx as client:
        # reweighting batches: one per worker (each batch reads the base events once)
        n_batches = max(1, len(client.scheduler_info().get("workers", {})) if scheduler is not None else workers)
        gen = {g[0]: client.submit(_generate_task, cards[g[0]], str(points_dir), pure=False) for g in groups}
        _collect_generated(points, gen)
        redo: list[int] = []
        rw_futs = []
        for g in groups:
            rest = g[1:]
            if not rest:
                continue
            b = points[g[0]]
            for batch in np.array_split(np.asarray(rest), min(n_batches, len(rest))):
                idx = [int(i) for i in batch]
                args = (cards[g[0]], str(b.run_dir), [cards[i] for i in idx], str(points_dir))
                fut = client.submit(_reweight_task, *args, pure=False)
                rw_futs.append((g[0], idx, fut))
        for base_i, idx, fut in rw_futs:
            for i, (rates, run_dir, reason, dt) in zip(idx, fut.result(), strict=True):
                p = points[i]
                p.timing_s = dt
                if rates is None:
                    p.note = f"regenerated: {reason}"
                    redo.append(i)
                else:
                    p.rates, p.reweighted, p.base_point = rates, True, base_i
                    p.run_dir = Path(run_dir) if run_dir else points[base_i].run_dir
        _collect_generated(points, {i: client.submit(_generate_task, cards[i], str(points_dir), pure=False)
                                    for i in redo})
    files = write_table(scan_table(points), out)  # written before the fits: a failing fit keeps the rates
    if fit:
        _fit_points(card, points, fit_options or {})
    table = scan_table(points)
    files = write_table(table, out)
    if plots:
        files.update(plot_scan(table, list(grid), out))
    return ScanResult(points=points, table=table, files=files)


#: detector name -> fit of its detector-level signal, "module:function" (generator.analysis), called as
#: f(run_dir, **options, plot=None) and returning an object with to_dict().
FITS = {"miniboone": "generator.analysis.miniboone_fit:fit_miniboone",
        "babar": "generator.analysis.babar_fit:fit_babar"}


def _fit_points(card, points: list[ScanPoint], options: dict) -> None:
    import importlib

    det = card.detector.name if card.detector is not None else None
    if det not in FITS:
        msg = f"--fit: the card's detector {det!r} has no fit; fits exist for {sorted(FITS)}"
        raise ScanError(msg)
    mod, fn = FITS[det].split(":")
    fit_fn = getattr(importlib.import_module(mod), fn)
    for p in points:
        res = fit_fn(p.run_dir, **options, plot=None).to_dict()
        p.fit = {k: v for k, v in res.items() if isinstance(v, (int, float, bool)) and not isinstance(v, list)}


def _collect_generated(points: list[ScanPoint], futures: dict) -> None:
    for i, fut in futures.items():
        run_dir, rates, dt = fut.result()
        points[i].run_dir, points[i].rates, points[i].timing_s = Path(run_dir), rates, dt


def scan_table(points: list[ScanPoint]) -> dict[str, list]:
    """Columns of the scan table: parameters, point, reweighted, base_point, note, run_dir, per channel and total
    the expected events (and errors) before decays, after decays and after the detector."""
    cols: dict[str, list] = {"point": [p.index for p in points]}
    for k in points[0].params:
        cols[k] = [p.params[k] for p in points]
    cols["reweighted"] = [p.reweighted for p in points]
    cols["base_point"] = [-1 if p.base_point is None else p.base_point for p in points]
    cols["note"] = [p.note for p in points]
    cols["run_dir"] = [str(p.run_dir) for p in points]
    cols["time_s"] = [p.timing_s for p in points]
    channels = list(dict.fromkeys(name for p in points for name in p.rates))
    for s in STAGES:
        tot = np.zeros(len(points))
        err2 = np.zeros(len(points))
        for name in channels:
            v = [p.rates.get(name, {}).get(s, math.nan) for p in points]
            e = [p.rates.get(name, {}).get(f"{s}_err", math.nan) for p in points]
            cols[f"{name}|{s}"], cols[f"{name}|{s}_err"] = v, e
            tot += np.asarray(v, dtype=float)
            err2 += np.asarray(e, dtype=float) ** 2
        cols[f"total_{s}"], cols[f"total_{s}_err"] = tot.tolist(), np.sqrt(err2).tolist()
    for k in dict.fromkeys(k for p in points for k in p.fit):
        cols[f"fit_{k}"] = [p.fit.get(k, math.nan) for p in points]
    return cols


def write_table(table: dict[str, list], out: Path) -> dict[str, str]:
    """Write the table as ``scan.csv`` and ``scan.parquet`` (pyarrow) into ``out``; returns their paths."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from generator.io.atomic import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    t = pa.table({k: pa.array(v) for k, v in table.items()})
    files = {}
    with atomic_path(out / "scan.csv") as tmp:
        pcsv.write_csv(t, tmp)
    with atomic_path(out / "scan.parquet") as tmp:
        pq.write_table(t, tmp)
    files["csv"], files["parquet"] = str(out / "scan.csv"), str(out / "scan.parquet")
    return files


def plot_scan(table: dict[str, list], keys: list[str], out: Path) -> dict[str, str]:
    """One PNG per scanned key: total expected events before decays, after decays and after the detector against
    the key (other keys at their grid values: points joined in grid order); reweighted points drawn open."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    files = {}
    rw = np.asarray(table["reweighted"], dtype=bool)
    for key in keys:
        x = np.asarray(table[key])
        if x.dtype.kind not in "fi":
            continue
        fig = Figure(figsize=(6, 4.5))
        ax = fig.subplots()
        order = np.argsort(x, kind="stable")
        for s, color in zip(STAGES, ("C0", "C1", "C2"), strict=True):
            y = np.asarray(table[f"total_{s}"], dtype=float)
            e = np.asarray(table[f"total_{s}_err"], dtype=float)
            if not np.any(np.isfinite(y)):
                continue
            ax.errorbar(x[order][~rw[order]], y[order][~rw[order]], e[order][~rw[order]], fmt="o", color=color,
                        label=s.replace("_", " ") + " (generated)")
            if rw.any():
                ax.errorbar(x[order][rw[order]], y[order][rw[order]], e[order][rw[order]], fmt="o", mfc="none",
                            color=color, label=s.replace("_", " ") + " (reweighted)")
        ax.set_xlabel(key)
        ax.set_ylabel("expected events")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        path = out / f"scan_{key.replace('.', '_')}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        files[f"plot_{key}"] = str(path)
    return files
