"""Control plots: PNG files, and weighted histograms checked against independent numpy computations."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from generator.errors import OutputError
from generator.plots import control_histograms, control_plots, observables
from tests.io.test_io_synthetic import MASSES, make_run

# each coherent event has 2 e+e- pairs (N6 and N5 decays), each incoherent event 1; weights sum to 3.0 + 0.5
# (coherent blocks) and 1.0 (incoherent), see make_run
RATE = 4.5
PAIR_RATE = 2 * 3.5 + 1.0


@pytest.fixture(scope="module")
def blocks():
    return make_run(seed=31, n_coh=300, n_inc=200, n_perm=50)[0]


def test_weighted_sums_match_rates(blocks):
    """Histogram totals (with flow) equal the summed event weights per entry type (rel. 1e-12)."""
    h = control_histograms(blocks)
    total = {k: v.sum(flow=True).value for k, v in h.items()}
    assert total["E_N"] == pytest.approx(RATE, rel=1e-12)  # one primary HNL per event
    assert total["theta_N"] == pytest.approx(RATE, rel=1e-12)
    assert total["m_ee"] == pytest.approx(PAIR_RATE, rel=1e-12)
    assert total["theta_ee"] == pytest.approx(PAIR_RATE, rel=1e-12)
    assert total["vertex_z"] == pytest.approx(PAIR_RATE, rel=1e-12)  # one decay vertex per HNL decay
    assert total["vertex_zr"] == pytest.approx(PAIR_RATE, rel=1e-12)
    # variance = sum of w^2 (Weight storage)
    w2 = sum(float(np.sum(b.weight**2)) for b in blocks)
    assert h["E_N"].sum(flow=True).variance == pytest.approx(w2, rel=1e-12)


def test_angles_and_pair_mass_against_independent_formulas(blocks):
    """theta_N via arccos(pz/|p|), theta_ee via the cross-product/atan2 form, m_ee via
    2 m_e^2 + 2 (E1 E2 - p1.p2): same histograms as the module's (different) formulas."""
    h = control_histograms(blocks)
    th, m, tee, w_prim, w_pair = [], [], [], [], []
    for b in blocks:
        for k in np.flatnonzero((b.pdg >= 9900004) & (b.pdg < 9900100) & (b.mother == -1)):
            p = b.p[:, k]
            th.append(np.degrees(np.arccos(p[:, 3] / np.linalg.norm(p[:, 1:], axis=1))))
            w_prim.append(b.weight)
        for k in np.flatnonzero(b.status == 2):
            d = b.daughters(k)
            p1, p2 = b.p[:, d[b.pdg[d] == 11][0]], b.p[:, d[b.pdg[d] == -11][0]]
            me2 = p1[:, 0] ** 2 - np.sum(p1[:, 1:] ** 2, axis=1)
            m.append(np.sqrt(2 * me2 + 2 * (p1[:, 0] * p2[:, 0] - np.sum(p1[:, 1:] * p2[:, 1:], axis=1))))
            cr = np.linalg.norm(np.cross(p1[:, 1:], p2[:, 1:]), axis=1)
            tee.append(np.degrees(np.arctan2(cr, np.sum(p1[:, 1:] * p2[:, 1:], axis=1))))
            w_pair.append(b.weight)
    obs = observables(blocks)
    for name, vals, w in (("theta_N", th, w_prim), ("m_ee", m, w_pair), ("theta_ee", tee, w_pair)):
        values, weights = obs[name]
        # entry by entry (same order): the formulas agree to rounding (m_ee near threshold loses a few digits)
        np.testing.assert_allclose(values, np.concatenate(vals), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(weights, np.concatenate(w))
        # the histogram is the weighted count of those entries (numpy's histogram as second implementation)
        edges = h[name].axes[0].edges
        ref, _ = np.histogram(values, bins=edges, weights=weights)
        np.testing.assert_allclose(h[name].values(), ref, rtol=1e-12, atol=1e-14)
    # pair masses lie between 2 m_e and the largest HNL mass gap (0.40 - 0.12 GeV)
    mee = obs["m_ee"][0]
    assert mee.min() > 2 * 0.51099895e-3 and mee.max() < MASSES[6] - MASSES[5]


def test_vertex_positions(blocks):
    """Decay vertices are the daughters' production points (z and r_T in cm)."""
    vz, w = observables(blocks)["vertex_z"]
    ref = np.concatenate([b.x[:, b.daughters(k)[0], 3] for b in blocks for k in np.flatnonzero(b.status == 2)])
    np.testing.assert_array_equal(vz, ref)
    assert w.sum() == pytest.approx(PAIR_RATE, rel=1e-12)


def test_png_files(blocks, tmp_path):
    """One readable PNG per histogram, written atomically (no temporaries left)."""
    paths = control_plots(blocks, tmp_path / "plots", bins=20, dpi=40)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"control_{n}.png" for n in
                           ("E_N", "theta_N", "m_ee", "theta_ee", "vertex_z", "vertex_r", "vertex_zr"))
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = matplotlib.image.imread(p)
        assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 0  # not a blank canvas


def test_empty_run_still_plots(tmp_path):
    """Zero events give empty histograms and files, not an exception."""
    b = make_run(seed=1, n_coh=2, n_inc=2, n_perm=2)[0][0].select(np.zeros(2, dtype=bool))
    h = control_histograms([b])
    assert all(v.sum(flow=True).value == 0 for v in h.values())
    assert len(control_plots([b], tmp_path, dpi=30)) == 7


def _same(a, b):
    """Two ControlPlots have equal bin contents and variances, under/overflow included (rel. 1e-12)."""
    for name, h in a.hists.items():
        va, vb = h.view(flow=True), b.hists[name].view(flow=True)
        np.testing.assert_allclose(va["value"], vb["value"], rtol=1e-12, atol=0)
        np.testing.assert_allclose(va["variance"], vb["variance"], rtol=1e-12, atol=0)


def test_accumulator_chunks_shards_and_files(blocks, tmp_path):
    """Filling chunk by chunk, adding two shards, and a save/load round trip all equal one fill of everything."""
    from generator.io.merge import merge_plots
    from generator.plots import ControlPlots

    info = {"run_name": "io test", "weight_unit": "events", "hnl_mass_GeV": {f"N{j}": m for j, m in MASSES.items()}}
    whole = ControlPlots(info).fill(blocks)
    chunked = ControlPlots(info)
    for b in blocks:
        chunked.fill([b.select(np.arange(0, b.n_events // 2))]).fill([b.select(np.arange(b.n_events // 2, b.n_events))])
    _same(whole, chunked)
    s1, s2 = ControlPlots(info).fill(blocks[:1]), ControlPlots(info).fill(blocks[1:])
    _same(whole, ControlPlots.from_dict(s1.to_dict()).add(s2))
    files = [s1.save(tmp_path / "s1.npz"), s2.save(tmp_path / "s2.npz")]
    _same(whole, merge_plots(files))
    # fixed binning from the header: m_ee up to 1.05 x the heaviest HNL mass (0.40 GeV), E_N default 100 GeV
    assert whole.hists["m_ee"].axes[0].edges[-1] == pytest.approx(1.05 * MASSES[6], rel=1e-12)
    assert whole.hists["E_N"].axes[0].edges[-1] == 100.0
    other = ControlPlots({**info, "hnl_mass_GeV": {"N4": 1.0}})
    with pytest.raises(OutputError, match="binning"):
        whole.add(other)


def test_binning_from_experiment_header():
    """MiniBooNE header: E_N up to the flux edge, vertices around the detector sphere (radius 610 cm)."""
    from generator.experiments import experiment
    from generator.plots import binning

    geo = experiment("MiniBooNE").geometry
    info = {"experiment": "MiniBooNE", "channels": [{"name": "c", "production": "upscattering",
                                                     "E_range_GeV": [0.1, 5.0]}]}
    b = binning(info)
    assert b["E_N"] == (0.0, 5.0) and b["theta_N"] == (0.0, 180.0)
    R = geo.radius_cm
    z0 = geo.center_cm[2]
    assert b["vertex_z"] == pytest.approx((z0 - 1.2 * R, z0 + 1.2 * R), rel=1e-12)  # 10% of 2R padding
    assert b["vertex_r"][1] >= 1.2 * R


def test_phiprime_is_not_an_hnl():
    """phi' (9900025) leaving the primary vertex is not counted in E_N (it is not an HNL)."""
    from generator.plots import observables
    from generator.record import EventBlock

    b = make_run(seed=2, n_coh=3, n_inc=1, n_perm=1)[0][0]
    prim = int(np.flatnonzero((b.pdg >= 9900004) & (b.mother == -1) & (b.status != 4))[0])
    pdg = b.pdg.copy()
    pdg[prim] = 9900025
    phi = EventBlock(**{**b.__dict__, "pdg": pdg})
    assert observables([phi])["E_N"][0].size == 0 and observables([b])["E_N"][0].size == b.n_events


def test_labels_say_what_is_counted(blocks, tmp_path):
    """Axis labels of pair histograms count e+e- pairs; titles give the run name and the weight unit."""
    import matplotlib.figure

    from generator.plots import ENTRY, TITLES, ControlPlots

    assert ENTRY["m_ee"] == ENTRY["theta_ee"] == "e+e- pairs" and ENTRY["E_N"] == "HNLs"
    saved = {}
    orig = matplotlib.figure.Figure.savefig

    def spy(fig, path, **kw):
        ax = fig.axes[0]
        saved[Path(path).name] = (ax.get_title(), ax.get_ylabel())
        return orig(fig, path, **kw)

    matplotlib.figure.Figure.savefig = spy
    try:
        ControlPlots({"run_name": "demo", "weight_unit": "events"}).fill(blocks).render(
            lambda name: tmp_path / name, dpi=20)
    finally:
        matplotlib.figure.Figure.savefig = orig
    title, ylabel = saved["control_m_ee.png"]
    assert ylabel == "expected e+e- pairs / bin"
    assert title == f"{TITLES['m_ee']}, run demo (weights in events)"
