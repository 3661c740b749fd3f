"""Reweighting a generated run to other couplings at fixed masses (generator.analysis.reweight).

Checked against independent numbers: full regeneration at other points (different seed, so the samples are
independent) within 4 combined Monte Carlo standard deviations; the production rate against the expected power
of alpha_D and eps^2 (upscattering through Z' exchange ~ alpha_D eps^2 at fixed mixings, paper Appendix A); the
reweighted mean proper decay path against the new c tau0 (exponential law: <s> = c tau0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tomli_w

from generator.analysis.reweight import (
    _check_decays,
    check_same_masses,
    load_base,
    reweight_point,
    write_reweighted_run,
)
from generator.card import parse_card
from generator.errors import NotReweightableError
from generator.model.model import Model
from generator.particles import pdg_hnl
from generator.run import run_card
from tests.conftest import build_card

N_SIGMA = 4.0
SECTIONS = {
    "run": {"name": "rw", "seed": 11, "n_events": 600, "progress": False},
    "process": {"production": "upscattering", "final_hnl": ["N5", "N6"]},
    "experiment": {"name": "MicroBooNE"},
    "decay": {"mode": "all", "stable": ["N4"]},
    "output": {"formats": ["root"], "plots": False},
    "detector": {"name": "microboone"},
}


def point_card(alpha_D: float = 0.32, seed: int = 11, **model):
    secs = {k: dict(v) for k, v in SECTIONS.items()}
    secs["run"]["seed"] = seed
    secs["run"]["name"] = f"rw_{alpha_D}_{seed}"
    return build_card(model={"preset": "BP-B", "alpha_D": alpha_D, **model}, **secs)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    card = point_card(0.32)
    res = run_card(card, out_dir=tmp_path_factory.mktemp("base"))
    return load_base(res.out_dir, card)


def _totals(rates: dict, stage: str) -> tuple[float, float]:
    v = sum(r[stage] for r in rates.values())
    e = math.sqrt(sum(r[f"{stage}_err"] ** 2 for r in rates.values()))
    return v, e


def test_same_point_gives_unit_weights(base):
    pw = reweight_point(base, base.card)
    np.testing.assert_allclose(pw.ratio, 1.0, rtol=1e-12)
    before, _ = _totals(pw.rates, "before_decays")
    after_det, _ = _totals(pw.rates, "after_detector")
    assert before == pytest.approx(base.summary["expected_events_total"], rel=1e-12)
    assert after_det == pytest.approx(base.detector_summary["expected_events_after"], rel=1e-12)


@pytest.mark.parametrize(("key", "old", "new", "power"), [("alpha_D", 0.32, 0.2, 1.0), ("epsilon2", 4.6e-4, 3e-4, 1.0)])
def test_production_scales_with_couplings(base, key, old, new, power):
    """sigma ~ alpha_D eps^2 at fixed masses and mixings: the reweighted rate before decays scales with the
    coupling to the first power (1% allowed for the SM-Z piece of the amplitude, which scales differently)."""
    card = point_card(new) if key == "alpha_D" else point_card(0.32, epsilon2=new)
    pw = reweight_point(base, card)
    before, _ = _totals(pw.rates, "before_decays")
    assert before / base.summary["expected_events_total"] == pytest.approx((new / old) ** power, rel=0.01)


def test_decay_positions_follow_new_lifetime(base):
    """Reweighted mean proper decay path of N5 and N6 equals the new c tau0 (it changes as 1 / alpha_D)."""
    card = point_card(0.2)
    pw = reweight_point(base, card)
    m_old, m_new = Model(base.card.parameters()), Model(card.parameters())
    for hnl in ("N5", "N6"):
        ct_old, ct_new = m_old.ctau0_cm(hnl), m_new.ctau0_cm(hnl)
        assert ct_new / ct_old == pytest.approx(0.32 / 0.2, rel=0.02)  # widths ~ alpha_D
        sel = base.dec_parent == pdg_hnl(int(hnl[1:]))
        s, w_old = base.dec_s[sel], base.weight[base.dec_event[sel]]
        w_new = w_old * pw.ratio[base.dec_event[sel]]
        mean_old = np.average(s, weights=w_old)
        mean_new = np.average(s, weights=w_new)
        # standard error of a weighted mean with effective sample size (sum w)^2 / sum w^2
        n_eff = w_new.sum() ** 2 / (w_new**2).sum()
        assert mean_old == pytest.approx(ct_old, rel=N_SIGMA / math.sqrt(len(s)))
        assert mean_new == pytest.approx(ct_new, rel=N_SIGMA / math.sqrt(n_eff))


@pytest.mark.parametrize("alpha_D", [0.25, 0.45])
def test_reweighted_agrees_with_regenerated(base, tmp_path, alpha_D):
    """c tau0 grows by 1.28 at alpha_D = 0.25 (position weights with finite fourth moment, so their sample variance
    is a stable error estimate) and shrinks by 0.71 at 0.45 (bounded weights)."""
    card = point_card(alpha_D, seed=12)  # another seed: independent of the base sample
    pw = reweight_point(base, card)
    res = run_card(card, out_dir=tmp_path)
    regen = load_base(res.out_dir, card)
    same = reweight_point(regen, card)  # unit weights: the regenerated run's rates and errors, computed alike
    for stage in ("before_decays", "after_decays", "after_detector"):
        a, ea = _totals(pw.rates, stage)
        b, eb = _totals(same.rates, stage)
        assert abs(a - b) < N_SIGMA * math.hypot(ea, eb), (stage, a, ea, b, eb)
    # and the rates moved: alpha_D 0.32 -> 0.25 / 0.45 is a 22% / 41% change, far beyond the errors
    b0, _ = _totals(reweight_point(base, base.card).rates, "before_decays")
    a, _ = _totals(pw.rates, "before_decays")
    assert abs(a / b0 - 1) > 0.2


def test_reweighted_run_directory_is_readable_by_the_fits(base, tmp_path):
    from generator.analysis.rundir import read_detector_run

    card = point_card(0.2)
    pw = reweight_point(base, card)
    out = write_reweighted_run(base, card, pw, tmp_path / "p")
    run = read_detector_run(out, "microboone", ("E_ee",))
    after, _ = _totals(pw.rates, "after_detector")
    assert run.columns["weight"].sum() == pytest.approx(after, rel=1e-12)
    assert run.summary["expected_events_after"] == pytest.approx(after, rel=1e-12)
    assert run.run_summary["reweighted_from"] == str(base.run_dir)


def test_mass_change_is_not_reweightable(base):
    card = point_card(0.32, m_Zprime_GeV=1.3)
    with pytest.raises(NotReweightableError, match="mass of Z'"):
        reweight_point(base, card)
    m = Model(base.card.parameters())
    check_same_masses(m, m)  # identical models pass


def test_channel_closed_at_old_point_is_not_reweightable():
    key = (9900006, (-11, 11, 9900005))
    with pytest.raises(NotReweightableError, match="infinite variance"):
        _check_decays(({key: 0.3}, {9900006: 1.0}, {9900006: True}), ({key: 0.3}, {9900006: 2.0}, {9900006: True}))
    _check_decays(({key: 0.3}, {9900006: 1.0}, {9900006: True}), ({key: 0.3}, {9900006: 1.9}, {9900006: True}))
    old = ({key: 0.0}, {9900006: 1.0}, {9900006: True})
    new = ({key: 0.3}, {9900006: 1.0}, {9900006: True})
    with pytest.raises(NotReweightableError, match=r"BR = 0\.3 at the new point and 0 at the old"):
        _check_decays(old, new)
    stable_old = ({}, {}, {9900006: False})
    with pytest.raises(NotReweightableError, match="decays at the new point but not at the old"):
        _check_decays(stable_old, new)
    _check_decays(new, old)  # a channel closing at the new point is fine: its events get weight 0


class _FakeChannel:
    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)

    def msq(self, E_nu, Q2):
        return np.broadcast_to(self.table, (len(np.atleast_1d(E_nu)), 2)) if self.table.ndim == 1 else self.table


class _FakeProcess:
    dim = 2

    def __init__(self, table):
        self.channel = _FakeChannel(table)

    def _variables(self, x):
        return x[:, 0] + 1.0, x[:, 1], np.ones(len(x))


def test_production_ratio_uses_the_stored_helicity():
    from generator.analysis.reweight import REWEIGHTERS

    rw = REWEIGHTERS["upscattering"]
    old, new = _FakeProcess([[1.0, 2.0], [3.0, 4.0]]), _FakeProcess([[2.0, 2.0], [3.0, 8.0]])
    E, Q2 = np.ones(2), np.ones(2)
    np.testing.assert_allclose(rw.ratio(old, new, E, Q2, np.array([-1.0, 1.0])), [2.0, 2.0])
    np.testing.assert_allclose(rw.ratio(old, new, E, Q2, np.array([1.0, -1.0])), [1.0, 1.0])


def test_coverage_check_finds_events_the_old_sample_lacks():
    from generator.analysis.reweight import REWEIGHTERS

    rw = REWEIGHTERS["upscattering"]
    assert rw.coverage(_FakeProcess([1.0, 1.0]), _FakeProcess([2.0, 5.0])) is None
    assert "vanishes at the old point" in rw.coverage(_FakeProcess([1.0, 0.0]), _FakeProcess([1.0, 0.5]))


def test_forced_volume_reweighting_agrees_with_regenerated(tmp_path):
    """N5 decays forced into a box smaller than the detector: the event weights carry P_in(c tau0), which changes
    with alpha_D; the reweighted rate after decays must match a regenerated run (independent seed)."""
    secs = {k: dict(v) for k, v in SECTIONS.items() if k != "detector"}
    # a 20 cm slab just behind the detector (z in [-518.4, 518.4] cm): most N5 fly hundreds of c tau0 to reach it
    secs["decay"]["volume"] = {"shape": "box", "center_cm": [0.0, 0.0, 530.0], "size_cm": [256.0, 233.0, 20.0],
                               "particles": ["N5"]}

    def card(alpha_D, seed):
        s = {k: dict(v) for k, v in secs.items()}
        s["run"].update(seed=seed, name=f"vol_{alpha_D}_{seed}")
        s["model"] = {"preset": "BP-B", "alpha_D": alpha_D}
        return parse_card(tomli_w.dumps(s))  # inline table [decay.volume]

    old = card(0.15, 11)  # c tau0 shrinks by 0.47 towards the new point: bounded weights
    base = load_base(run_card(old, out_dir=tmp_path / "a").out_dir, old)
    new = card(0.32, 12)
    regen_card = new
    regen = load_base(run_card(regen_card, out_dir=tmp_path / "b").out_dir, regen_card)
    pw, same = reweight_point(base, new), reweight_point(regen, regen_card)
    for stage in ("before_decays", "after_decays"):
        a, ea = _totals(pw.rates, stage)
        b, eb = _totals(same.rates, stage)
        assert abs(a - b) < N_SIGMA * math.hypot(ea, eb), (stage, a, ea, b, eb)
    # the volume matters: only a small fraction of the rate survives the forced N5 decays
    f_old = _totals(reweight_point(base, old).rates, "after_decays")[0] / base.summary["expected_events_total"]
    assert f_old < 0.3
