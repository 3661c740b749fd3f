"""End-to-end: the dsgen CLI as a user runs it (subprocess), summary.json, seeds, shards, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paper_tables import BR_ZPRIME_PCT, CTAU0_CM

ROOT = Path(__file__).resolve().parents[2]


def dsgen(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "generator", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, check=False)
    if check and proc.returncode != 0:
        msg = f"dsgen {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
        raise AssertionError(msg)
    return proc


def test_spectrum_json_keys_and_values():
    rep = json.loads(dsgen("spectrum", ROOT / "cards/bp_b.toml", "--json").stdout)
    assert set(rep["mass_GeV"]) >= {"nu3", "N4", "N5", "N6", "N7", "N8"}
    assert set(rep["ctau0_cm"]) >= {"N4", "N5", "N6"}
    assert set(rep["V2"]) == {"43", "53", "63", "44", "45", "46", "55", "56", "66"}
    assert set(rep["S2"]) == set(rep["V2"]) | {"33"}
    assert set(rep["U2"]) >= {"mu4", "mu5", "mu6"}
    assert set(rep["br_Zprime"]) >= {"N4N4", "N4N5", "N4N6", "N5N5", "N5N6", "N6N6", "e+e-", "mu+mu-", "hadrons",
                                     "nunu"}
    assert set(rep["width_GeV"]) >= {"Zprime", "phiprime", "N4", "N5", "N6"}
    assert set(rep["m_light_eV"]) == {"tree", "one_loop"}
    assert rep["mass_GeV"]["N5"] == pytest.approx(0.146, rel=0.01)  # Table I
    assert sum(rep["br_Zprime"].values()) == pytest.approx(1.0, abs=1e-9)
    assert 1e-9 < rep["delta_a_mu"] < 5e-9
    text = dsgen("spectrum", ROOT / "cards/bp_b.toml").stdout
    assert "N5" in text and "c tau0" in text


def test_spectrum_two_flavours_lists_electron_mixing():
    rep = json.loads(dsgen("spectrum", ROOT / "cards/bp_d.toml", "--json").stdout)
    assert {"e4", "e5", "e6", "mu4", "mu5", "mu6"} <= set(rep["U2"])
    assert rep["U2"]["e5"] == pytest.approx(0.11**2 * rep["U2"]["mu5"], rel=1e-3)  # M_D^e = 0.11 M_D^mu


@pytest.mark.parametrize("bp", ["BP-A", "BP-B"])
def test_paper_convention_card_reproduces_tables(tmp_path, bp):
    # [model] vertex_convention = "paper" reproduces Tables I/II (10 % on BRs >= 1 %, 20 % on c tau0)
    card = tmp_path / "c.toml"
    card.write_text(f'[model]\npreset = "{bp}"\nvertex_convention = "paper"\n')
    rep = json.loads(dsgen("spectrum", card, "--json").stdout)
    for key, ref in zip(("N4N4", "N4N5", "N4N6", "N5N5", "N5N6", "N6N6"), BR_ZPRIME_PCT[bp], strict=True):
        if ref >= 1:
            assert rep["br_Zprime"][key] * 100 == pytest.approx(ref, rel=0.10), key
    for n, ref in zip(("N4", "N5", "N6"), CTAU0_CM[bp], strict=True):
        assert rep["ctau0_cm"][n] == pytest.approx(ref, rel=0.20), n


CARD = """
[run]
name = "{name}"
seed = 7
n_events = {n}
n_adapt = 4
evals_per_iter = 4000
progress = false

[model]
preset = "BP-B"

[process]
production = "upscattering"
final_hnl = ["N5"]
targets = ["C12"]
regimes = ["coherent"]

[experiment]
name = "MiniBooNE"

[output]
formats = ["root"]
plots = false
"""


@pytest.mark.slow
def test_run_writes_summary_reproducible_and_shards_merge(tmp_path):
    card = tmp_path / "mb.toml"
    card.write_text(CARD.format(name="mb", n=3000))
    dsgen("run", card, "--out", tmp_path / "a")
    dsgen("run", card, "--out", tmp_path / "b")
    sa = json.loads((tmp_path / "a/mb/summary.json").read_text())
    sb = json.loads((tmp_path / "b/mb/summary.json").read_text())
    for key in ("version", "seed", "card", "channels", "expected_events_total", "timing_s"):
        assert key in sa
    ch = sa["channels"][0]
    for key in ("production", "target", "regime", "final_hnl", "sigma_cm2", "sigma_scale", "expected_events",
                "expected_events_err", "sampled", "n_events_written"):
        assert key in ch
    assert (ch["production"], ch["target"], ch["regime"], ch["final_hnl"]) == ("upscattering", "C12", "coherent", "N5")
    # same card and seed -> same numbers
    assert sa["expected_events_total"] == sb["expected_events_total"]
    # the VEGAS estimate agrees with the independent quadrature within 5 sigma + 1 %
    q = ch["expected_events_quadrature"]
    assert abs(ch["expected_events"] - q) < 5 * ch["expected_events_err"] + 0.01 * q
    # two shards merge into exactly the unsharded estimate
    for k in range(2):
        dsgen("run", card, "--out", tmp_path / "s", "--shard", k, "--n-shards", 2)
    dirs = [tmp_path / f"s/mb/shard_{k}_of_2" for k in range(2)]
    dsgen("merge", *dirs, "--out", tmp_path / "merged")
    sm = json.loads((tmp_path / "merged/summary.json").read_text())
    assert sm["channels"][0]["expected_events"] == ch["expected_events"]  # the seed-only integration
    assert sm["channels"][0]["sampled"] == ch["sampled"]  # the sums of the sampled points add up exactly
    assert sm["n_events_written"] == sa["n_events_written"] == 3000
    # the ROOT file is there and its weights sum to the rate
    import uproot

    with uproot.open(tmp_path / "a/mb/events.root") as f:
        w = f["events"]["weight"].array(library="np")
    assert w.sum() == pytest.approx(sa["expected_events_total"], rel=1e-9)


@pytest.mark.parametrize(("extra", "fragment"), [
    ('[experiment]\nname = "MiniBooNE"\npot = 0.0\n', "experiment.pot"),
    ('[experiment]\nname = "MiniBoone2"\n', "'miniboone'"),
    ('[experiment]\nname = "MiniBooNE"\nflux_file = "/nonexistent/flux.dat"\n', "/nonexistent/flux.dat"),
])
def test_run_bad_input_clear_error(tmp_path, extra, fragment):
    card = tmp_path / "bad.toml"
    text = CARD.format(name="bad", n=10)
    text = text[: text.index("[experiment]")] + extra
    card.write_text(text)
    proc = dsgen("run", card, "--out", tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_xsec_json_and_below_threshold_error(tmp_path):
    rep = json.loads(dsgen("xsec", ROOT / "cards/microboone_bp_b.toml", "--json", "--emin", "0.5", "--emax", "3",
                           "--n", "4").stdout)
    assert rep["unit"] == "cm2" and len(rep["energies_GeV"]) == 4
    names = {(c["final_hnl"], c["target"], c["regime"]) for c in rep["channels"]}
    assert ("N5", "Ar40", "coherent") in names
    assert all(s > 0 for c in rep["channels"] for s in c["sigma_cm2"])
    proc = dsgen("xsec", ROOT / "cards/microboone_bp_b.toml", "--emin", "0.01", "--emax", "0.05", check=False)
    assert proc.returncode == 2 and "threshold" in proc.stderr


def test_mesons_table_reproduces_appendix_b_coefficients():
    # Appendix B e: B(V -> N_j N_k) = |V_jk|^2 alpha_D x (5.5e-3, 1.7e-3, 1.3e-3, 1.5e-3, 0.86e-6); within 7 %
    # (our Gamma_ee inputs are PDG 2020; the paper rounds to two digits)
    rows = json.loads(dsgen("mesons", "--json").stdout)["rows"]
    paper = [5.5e-3, 1.7e-3, 1.3e-3, 1.5e-3, 0.86e-6]
    assert [r["coefficient"] for r in rows] == pytest.approx(paper, rel=0.07)


# ------------------------------------------------------------------ shipped cards, by name
def _dsgen_elsewhere(cwd, *args):
    """dsgen run from another directory (this checkout's code on PYTHONPATH): no path relative to cwd works."""
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "generator", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600, check=False)


def test_cards_lists_every_shipped_card_with_a_description(tmp_path):
    from generator.shipped_cards import shipped_cards

    on_disk = sorted(p.stem for p in (ROOT / "cards").glob("*.toml"))
    listed = json.loads(_dsgen_elsewhere(tmp_path, "cards", "--json").stdout)
    assert sorted(listed) == on_disk == list(shipped_cards())
    assert listed["miniboone_bp_b"] == "BP-B at MiniBooNE"
    assert listed["bp_a"].startswith("Benchmark point BP-A")
    table = _dsgen_elsewhere(tmp_path, "cards").stdout.splitlines()
    assert [line.split()[0] for line in table] == on_disk


def test_shipped_card_by_name_equals_the_file(tmp_path):
    from generator.card import load_card
    from generator.shipped_cards import open_card

    for name in ("miniboone_bp_b", "bp_d.toml"):
        by_name, by_path = open_card(name), load_card(ROOT / "cards" / Path(name).with_suffix(".toml"))
        assert by_name.text == by_path.text and by_name.name == by_path.name
    # from an empty directory the CLI finds the card by name, and gives the same numbers as the path
    by_name = json.loads(_dsgen_elsewhere(tmp_path, "spectrum", "bp_b", "--json").stdout)
    assert by_name == json.loads(dsgen("spectrum", ROOT / "cards/bp_b.toml", "--json").stdout)


def test_unknown_card_name_lists_the_shipped_ones(tmp_path):
    proc = _dsgen_elsewhere(tmp_path, "run", "minibone_bp_b", "-n", "10")
    assert proc.returncode == 2
    assert "card 'minibone_bp_b' is neither a file nor a shipped card" in proc.stderr
    assert "shipped cards: babar_bp_a, " in proc.stderr and "Did you mean 'miniboone_bp_b'" in proc.stderr
    # a path with a directory part is a path: its error names the missing file
    proc = _dsgen_elsewhere(tmp_path, "run", "nowhere/x.toml")
    assert proc.returncode == 2 and "'nowhere/x.toml' does not exist" in proc.stderr
