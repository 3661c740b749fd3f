"""Parameter scans (generator.analysis.scan, `dsgen scan`): the --set grammar, one card per grid point, grouping
of points that reweighting can reach (decided from the resolved masses), and the table of a small scan read back
with other readers (csv module, pyarrow.parquet) than the writer's."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from generator.analysis.scan import _groups, parse_set, point_cards
from generator.cli import main
from generator.errors import CardError, ScanError
from tests.conftest import build_card, card_toml

SECTIONS = {
    "run": {"name": "sc", "seed": 5, "n_events": 400, "progress": False},
    "model": {"preset": "BP-B"},
    "process": {"production": "upscattering", "final_hnl": ["N5", "N6"], "regimes": ["coherent"]},
    "experiment": {"name": "MicroBooNE"},
    "decay": {"mode": "all", "stable": ["N4"]},
    "output": {"formats": ["root"], "plots": False},
    "detector": {"name": "microboone"},
}


def test_parse_set():
    grid = parse_set(["model.alpha_D=0.2,0.32", "model.preset=BP-A,BP-B", "run.n_events=10"])
    assert grid == {"model.alpha_D": [0.2, 0.32], "model.preset": ["BP-A", "BP-B"], "run.n_events": [10]}
    for bad in ("alpha_D=0.2", "model.alpha_D", "model.alpha_D="):
        with pytest.raises(ScanError, match=r"SECTION\.KEY=v1,v2"):
            parse_set([bad])
    with pytest.raises(ScanError, match="already scanned"):
        parse_set(["model.alpha_D=0.2", "model.alpha_D=0.3"])


def test_point_cards_set_keys_and_names():
    card = build_card(**SECTIONS)
    cards = point_cards(card, {"model.alpha_D": [0.2, 0.4], "model.epsilon2": [1e-4, 2e-4, 3e-4]}, n_events=50)
    assert len(cards) == 6
    assert [c.name for c in cards[:2]] == ["sc_p000", "sc_p001"]
    assert [c.parameters().alpha_D for c in cards] == [0.2, 0.2, 0.2, 0.4, 0.4, 0.4]
    assert cards[4].parameters().epsilon ** 2 == pytest.approx(2e-4, rel=1e-12)
    assert all(c.run.n_events == 50 for c in cards)
    with pytest.raises(ScanError, match="unknown card section"):
        point_cards(card, {"modle.alpha_D": [0.2]})
    with pytest.raises(CardError, match="alpha_D"):
        point_cards(card, {"model.alpha_D": [2.0]})


def test_groups_follow_the_resolved_masses():
    card = build_card(**SECTIONS)
    couplings = point_cards(card, {"model.alpha_D": [0.2, 0.4], "model.epsilon2": [1e-4, 2e-4]})
    assert _groups(couplings) == [[0, 1, 2, 3]]
    masses = point_cards(card, {"model.alpha_D": [0.2, 0.4], "model.m_Zprime_GeV": [1.0, 1.25]})
    assert _groups(masses) == [[0, 2], [1, 3]]
    # the preset's own Z' mass given explicitly: same masses, so one group
    same = point_cards(card, {"model.m_Zprime_GeV": [1.25], "model.alpha_D": [0.2, 0.3]})
    assert _groups(same) == [[0, 1]]
    other = point_cards(card, {"experiment.pot": [1e20, 2e20]})
    assert _groups(other) == [[0], [1]]


def test_scan_cli_three_alpha_points(tmp_path, capsys):
    path = tmp_path / "card.toml"
    path.write_text(card_toml(SECTIONS))
    out = tmp_path / "scan"
    assert main(["scan", str(path), "--set", "model.alpha_D=0.2,0.32,0.4", "-n", "300", "--out", str(out)]) == 0
    assert "reweighted from p000" in capsys.readouterr().out
    with (out / "scan.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert [r["reweighted"] for r in rows] == ["false", "true", "true"]
    import pyarrow.parquet as pq

    t = pq.read_table(out / "scan.parquet").to_pydict()
    alpha = np.array(t["model.alpha_D"])
    before = np.array(t["total_before_decays"])
    # upscattering ~ alpha_D at fixed masses (1% for the SM-Z piece of the amplitude)
    np.testing.assert_allclose(before / before[0], alpha / alpha[0], rtol=0.01)
    det, err = np.array(t["total_after_detector"]), np.array(t["total_after_detector_err"])
    assert np.all(det > 0) and np.all(err > 0) and np.all(err < 0.2 * det)
    assert (out / "scan_model_alpha_D.png").is_file()
    assert all(Path(d).is_dir() for d in t["run_dir"])


@pytest.mark.slow
def test_scan_on_dask_workers_regenerates_every_point(tmp_path):
    from generator.analysis.scan import scan

    card = build_card(**SECTIONS)
    res = scan(card, {"model.alpha_D": [0.2, 0.4]}, tmp_path, n_events=200, reweight=False, workers=2, plots=False)
    assert res.table["reweighted"] == [False, False]
    before = np.array(res.table["total_before_decays"])
    assert before[1] / before[0] == pytest.approx(2.0, rel=0.01)


def test_scan_regenerates_points_it_cannot_reweight(tmp_path):
    """alpha_D 0.4 -> 0.1 makes c tau0 four times longer: the decay-position weights would have infinite variance,
    so the second point is generated, and the table says why."""
    from generator.analysis.scan import scan

    secs = {k: v for k, v in SECTIONS.items() if k != "detector"}
    res = scan(build_card(**secs), {"model.alpha_D": [0.4, 0.1]}, tmp_path, n_events=200, plots=False)
    assert res.table["reweighted"] == [False, False]
    assert "infinite variance" in res.table["note"][1]
    before = np.array(res.table["total_before_decays"])
    assert before[1] / before[0] == pytest.approx(0.25, rel=0.01)
