"""e+e- production processes (generator/processes/ee.py): rates, lab-frame events, angular fits, Eq. (5), errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from iminuit import Minuit

from generator import colliders as C
from generator import constants as const
from generator.analysis.babar_eq5 import pseudo_monophoton_candidates
from generator.engine import generate
from generator.errors import CardError, DataFileError, KinematicallyClosedError, UnknownNameError
from generator.kernels.lorentz import boost_to_rest
from generator.model.model import Model
from generator.model.parameters import preset
from generator.physics import ee as eephys
from generator.physics import meson as mes
from generator.processes import ee as P
from generator.processes import ee_channels as EC
from generator.run import build_channels as card_channels

BABAR_Y2S = (8.0968, 3.1)  # beams of the 10.02 GeV BaBar point (generator/data/colliders/babar.toml)


@pytest.fixture(scope="module")
def models():
    return {bp: Model(preset(bp)) for bp in ("BP-A", "BP-B")}


def gauss_integral(f, n=64):
    """Gauss-Legendre integral of f over [0, 1] (f takes (n, 1) points)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return float(np.sum(0.5 * w * f(0.5 * (x[:, None] + 1.0))))


# ------------------------------------------------------------------------------------------ rates
def test_integrands_integrate_to_rate(models):
    m = models["BP-B"]
    procs = [P.EEPairProcess(m, 10.02, 15.9, "N4", "N5", beams=BABAR_Y2S),
             P.EEPairProcess(m, 10.02, 15.9, "N5", "N5", beams=BABAR_Y2S),
             P.UpsilonProcess(m, 10.02, 15.9, "N4", "N5", 7.0, beams=BABAR_Y2S),
             P.HiggsstrahlungProcess(m, 10.02, 15.9, beams=BABAR_Y2S),
             P.ISRProcess(m, 10.02, 15.9, (-0.6, 0.6), beams=BABAR_Y2S)]
    for proc in procs:
        # polynomial integrands (pair, Upsilon, Higgsstrahlung) are exact with 64 nodes; the ISR one is smooth in
        # t = atanh(cos): tolerance 1e-9
        assert gauss_integral(proc.integrand) == pytest.approx(proc.rate(), rel=1e-9), proc.name
    # without luminosity the weights are cross sections in cm^2
    xs = P.EEPairProcess(m, 10.02, None, "N4", "N5")
    assert xs.weight_unit == "cm2"
    assert xs.rate() == pytest.approx(procs[0].rate() / (15.9 * const.INV_FB_CM2), rel=1e-12)


def test_identical_pair_factor(models):
    # N5 N5 vs the same couplings as a distinct pair: exactly 1/2 in the "majorana" convention, 1 in "paper" (exact)
    for conv, factor in (("majorana", 0.5), ("paper", 1.0)):
        m = Model(preset("BP-B"), conv)
        proc = P.EEPairProcess(m, 10.58, None, "N5", "N5")
        full = eephys.ee_to_ff_sigma(proc.s, proc.m1, proc.m2, *proc._mediators) * const.GEV2_TO_CM2
        assert proc.sigma_cm2() == pytest.approx(factor * full, rel=1e-12)


def test_upsilon_br_is_paper_coefficient(models):
    # B(Upsilon -> N4 N5) = coefficient x alpha_D |V45|^2 up to HNL masses ((m/M)^2 ~ 3e-4), Z' width and NC piece
    # (< 1e-4): tolerance 1e-3
    for bp, m in models.items():
        sp = m.spectrum
        V2 = abs(sp.V[sp.index("N4"), sp.index("N5")]) ** 2
        for rs, name in ((10.02, "Upsilon(2S)"), (10.36, "Upsilon(3S)")):
            proc = P.UpsilonProcess(m, rs, 1.0, "N4", "N5", 7.0)
            assert proc.meson.name == name
            expect = mes.vector_br_coefficient(name) * m.params.alpha_D * V2
            assert proc.branching_ratio == pytest.approx(expect, rel=1e-3), bp


# ------------------------------------------------------------------------------------------ events
def test_events_conserve_momentum_and_angle(models):
    m = models["BP-A"]
    rng = np.random.default_rng(7)
    x = rng.random((500, 1))
    for proc in (P.EEPairProcess(m, 10.02, 15.9, "N4", "N5", beams=BABAR_Y2S),
                 P.HiggsstrahlungProcess(m, 10.02, 15.9, beams=BABAR_Y2S),
                 P.ISRProcess(m, 10.02, 15.9, beams=BABAR_Y2S)):
        b = proc.events(x, proc.integrand(x) / x.shape[0], rng)
        assert b.n_particles == 4 and list(b.status) == [4, 4, 1, 1] and list(b.mother) == [-1] * 4
        # lab four-momentum conservation: |p| ~ 10 GeV, float64 -> 1e-9 GeV
        np.testing.assert_allclose(b.p[:, 2] + b.p[:, 3], b.p[:, 0] + b.p[:, 1], atol=1e-9)
        # the CM angle stored in info is recovered by boosting back (1e-9)
        cm = boost_to_rest(b.p[:, 2], b.p[:, 0] + b.p[:, 1])
        np.testing.assert_allclose(cm[:, 3] / np.linalg.norm(cm[:, 1:], axis=1), b.info["cos_theta_cm"], atol=1e-9)
        assert b.weight_unit == "events" and np.all(b.x == 0)
    # asymmetric beams: the lab boost is beta gamma = (E- - E+) / sqrt(s) along +z (massless beams; 1e-6)
    e, pos = C.beam_momenta(*BABAR_Y2S)
    tot = e + pos
    assert tot[3] / 10.02 == pytest.approx((BABAR_Y2S[0] - BABAR_Y2S[1]) / 10.02, rel=1e-6)


def test_masses_and_pdg_of_products(models):
    m = models["BP-B"]
    rng = np.random.default_rng(3)
    x = rng.random((50, 1))
    b = P.EEPairProcess(m, 10.58, 1.0, "N4", "N5").events(x, np.ones(50), rng)
    assert list(b.pdg) == [11, -11, 9900004, 9900005]
    np.testing.assert_allclose(b.masses()[:, 2], m.spectrum.mass("N4"), rtol=1e-6)  # m ~ 0.07 GeV at E ~ 5 GeV
    b = P.ISRProcess(m, 10.58, 1.0).events(x, np.ones(50), rng)
    assert list(b.pdg) == [11, -11, 22, 32]
    np.testing.assert_allclose(b.info["E_gamma_cm"], (10.58**2 - 1.25**2) / (2 * 10.58), rtol=1e-12)


def _fit_shape(c, shape):
    """Unbinned maximum-likelihood fit of one shape parameter; returns (value, error)."""
    def nll(a):
        return -np.sum(np.log(shape(c, a)))

    mi = Minuit(nll, a=1.0)
    mi.errordef = Minuit.LIKELIHOOD
    mi.limits["a"] = (-0.9, 50.0)
    mi.migrad()
    mi.hesse()
    return mi.values["a"], mi.errors["a"]


def _cm_cos(block, k):
    cm = boost_to_rest(block.p[:, k], block.p[:, 0] + block.p[:, 1])
    return cm[:, 3] / np.linalg.norm(cm[:, 1:], axis=1)


def test_pair_angular_distribution_fit(models):
    # unweighted engine events e+e- -> N4 N5 at BaBar (asymmetric beams): fit (1 + a cos^2) / (2 + 2a/3) to the CM
    # angle recovered from the lab momenta. B12: a = 1; with masses a = k^2 / (E1 E2 + mass term) = 0.9991.
    # 5 sigma (vegas-style) tolerance.
    proc = P.EEPairProcess(models["BP-B"], 10.02, 15.9, "N4", "N5", beams=BABAR_Y2S)
    res = generate(proc, 20000, seed=11, n_adapt=4, evals_per_iter=4000)
    c = _cm_cos(res.block, 2)
    a, da = _fit_shape(c, lambda c, a: (1 + a * c * c) / (2 + 2 * a / 3))
    assert abs(a - 1.0) < 5 * da
    assert res.integral == pytest.approx(proc.rate(), rel=5 * res.error / res.integral + 1e-9)


def test_higgsstrahlung_angular_distribution_fit(models):
    # dsigma/dcos ~ 2 m^2 + k^2 sin^2 = 1 + b sin^2 with b = k^2 / (2 m_Z'^2) (massless phi': the B13 shape,
    # b = (s - m^2)^2 / (8 s m^2)). Fit b to unweighted events; 5 sigma.
    proc = P.HiggsstrahlungProcess(models["BP-A"], 10.02, 15.9, beams=BABAR_Y2S)
    res = generate(proc, 20000, seed=5, n_adapt=4, evals_per_iter=4000)
    c = _cm_cos(res.block, 2)
    b, db = _fit_shape(c, lambda c, b: (1 + b * (1 - c * c)) / (2 + 4 * b / 3))
    k = float(eephys.cm_momentum(10.02, 1.25, models["BP-A"].params.m_phiprime))
    assert abs(b - k * k / (2 * 1.25**2)) < 5 * db
    # the B13 (massless phi') value differs by the phi' mass only: check the limit of the formula itself
    s = 10.02**2
    b13 = (s - 1.5625) ** 2 / (8 * s * 1.5625)
    assert float(eephys.cm_momentum(10.02, 1.25, 0.0)) ** 2 / (2 * 1.25**2) == pytest.approx(b13, rel=1e-12)


# ------------------------------------------------------------------------------------------ paper numbers
def test_b14_ratio_for_benchmarks(models):
    # sigma(N4 N5) / (sigma(Z' phi') B(Z' -> N4 N5)) at 10.02 GeV: the paper says "just above 3" for BP-A and B.
    # With masses (m_phi' = 1 GeV lowers sigma(Z' phi') by 3%) we expect the massless Eq. (B14) value to 5%.
    for bp, m in models.items():
        pair = P.EEPairProcess(m, 10.02, None, "N4", "N5").sigma_cm2()
        higgs = P.HiggsstrahlungProcess(m, 10.02).sigma_cm2()
        br = P.zprime_branching_ratio(m, "N4", "N5")
        ratio = pair / (higgs * br)
        sp = m.spectrum
        V2 = abs(sp.V[sp.index("N4"), sp.index("N5")]) ** 2
        assert ratio == pytest.approx(eephys.b14_ratio(10.02**2, 1.25, V2, br), rel=0.05), bp
        assert 3.0 < ratio < 3.7, bp


def test_pseudo_monophoton_count_eq5(models):
    got = {bp: pseudo_monophoton_candidates(m)["total"] for bp, m in models.items()}
    # (1) independent evaluation with the paper's own closed formulas: B12 integrated over cos (int (1 + c^2)/2 = 4/3,
    # i.e. 8/3 times its value at c = 0) x L, plus
    # sigma(ee -> Upsilon) x coefficient x alpha_D |V45|^2. Tolerance 1%: HNL masses, the Z and NC pieces (<0.6%).
    for bp, m in models.items():
        sp, p = m.spectrum, m.params
        V2 = abs(sp.V[sp.index("N4"), sp.index("N5")]) ** 2
        tot = 0.0
        for rs, lumi, sig_nb, name in ((10.02, 15.9, 7.0, "Upsilon(2S)"), (10.36, 22.3, 4.0, "Upsilon(3S)")):
            s = rs * rs
            b12 = 8.0 / 3.0 * eephys.b12_dsigma_dcos(s, 0.0, V2, p.alpha_D, p.epsilon**2, p.m_Zprime)
            tot += ((b12 * const.GEV2_TO_CM2
                     + sig_nb * const.NB_CM2 * mes.vector_br_coefficient(name) * p.alpha_D * V2)
                    * lumi * const.INV_FB_CM2)
        assert got[bp] == pytest.approx(tot, rel=0.01), bp
    # (2) the paper's Eq. (5): (3.6, 9.6) x 1e4. We get (4.4, 7.8) x 1e4. Both of the paper's numbers are matched to
    # 3% if alpha_D of BP-A (0.39) and BP-B (0.32) are exchanged (the rate is proportional to alpha_D): recorded here.
    assert got["BP-A"] * 0.32 / 0.39 == pytest.approx(3.6e4, rel=0.03)
    assert got["BP-B"] * 0.39 / 0.32 == pytest.approx(9.6e4, rel=0.03)


# ------------------------------------------------------------------------------------------ data and errors
def test_collider_files():
    babar, belle = C.load_collider("babar"), C.load_collider("belle2")
    assert [r.sqrt_s for r in babar.runs] == [10.02, 10.36, 10.58]
    assert [r.luminosity_fb for r in babar.runs[:2]] == [15.9, 22.3]
    y4s = babar.run(10.58)
    assert not y4s.monophoton and y4s.luminosity_fb > 0
    e, p = belle.runs[0].beams()
    assert e[0] == 7.0 and p[0] == 4.0
    with pytest.raises(CardError, match=r"10.02, 10.36, 10.58"):
        babar.run(9.46)
    with pytest.raises(UnknownNameError, match="babar"):
        C.load_collider("babr")


def test_missing_luminosity_and_bad_input(tmp_path, models):
    m = models["BP-A"]
    bad = tmp_path / "nolumi.toml"
    bad.write_text('name = "X"\nisr_cos_theta_cm = [-0.5, 0.5]\n[[runs]]\nlabel = "a"\nsqrt_s_GeV = 10.0\n'
                   'E_electron_GeV = 5.0\nE_positron_GeV = 5.0\nmonophoton = true\n')
    col = C.load_collider(str(bad))
    assert col.runs[0].luminosity_fb is None
    with pytest.raises(DataFileError, match="luminosity_fb"):
        pseudo_monophoton_candidates(m, str(bad))
    with pytest.raises(DataFileError, match="luminosity_fb"):
        EC.build_channels(m, "ee_pair", str(bad), ["N4N5"])
    bad.write_text(bad.read_text().replace("E_electron_GeV = 5.0", "E_electron_GeV = 6.0"))
    with pytest.raises(DataFileError, match="sqrt"):
        C.load_collider(str(bad))
    with pytest.raises(KinematicallyClosedError, match="threshold"):
        P.EEPairProcess(m, 0.1, 1.0, "N4", "N5")
    with pytest.raises(KinematicallyClosedError, match="threshold"):
        P.HiggsstrahlungProcess(m, 2.0, 1.0)
    with pytest.raises(CardError, match="luminosity_fb"):
        P.EEPairProcess(m, 10.02, -3.0, "N4", "N5")
    with pytest.raises(CardError, match="sigma_resonance_nb"):
        P.UpsilonProcess(m, 10.02, 1.0, "N4", "N5", None)
    with pytest.raises(CardError, match="collinear"):
        P.ISRProcess(m, 10.58, 1.0, (-1.0, 0.5))
    with pytest.raises(UnknownNameError, match="N4"):
        P.EEPairProcess(m, 10.02, 1.0, "nu3", "N4")
    with pytest.raises(CardError, match="beams"):
        P.EEPairProcess(m, 10.58, 1.0, "N4", "N5", beams=BABAR_Y2S)


def test_build_channels(models):
    m = models["BP-B"]
    ch = EC.build_channels(m, "ee_pair", "babar", ["N4N5"], sqrt_s=[10.02, 10.36])
    assert [c.name for c in ch] == ["ee_pair:Y2S:N4N5", "ee_pair:Y3S:N4N5"]
    assert ch[0].exposure == pytest.approx(15.9 * const.INV_FB_CM2)
    ups = EC.build_channels(m, "upsilon", "babar", ["N4N5"])
    assert len(ups) == 3 and {c.process.meson.name for c in ups} == {"Upsilon(2S)", "Upsilon(3S)", "Upsilon(4S)"}
    allp = EC.build_channels(m, "ee_pair", "belle2")
    assert {c.final_hnl for c in allp} >= {"N4N5", "N5N6", "N5N5"}
    # single names select every open pair containing them (the card default final_hnl = ["N5", "N6"])
    sel = {c.final_hnl for c in EC.build_channels(m, "ee_pair", "belle2", ["N5", "N6"])}
    assert sel == {c.final_hnl for c in allp if "N5" in c.final_hnl or "N6" in c.final_hnl}
    assert EC.build_channels(m, "isr", "belle2")[0].extra["isr_cos_theta_cm"] == [-0.6, 0.6]
    with pytest.raises(UnknownNameError):
        EC.build_channels(m, "ee_pairs", "babar")
    assert math.isfinite(EC.build_channels(m, "higgsstrahlung", "belle2")[0].process.rate())


def test_channels_from_card(models):
    from generator.card import parse_card

    card = parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = ["ee_pair", "upsilon", "isr"]\n'
                      'final_hnl = ["N4N5"]\n[experiment]\nname = "BaBar"\nsqrt_s_GeV = [10.02]\n'
                      'luminosity_fb = [1.0]\n')
    specs = card_channels(card, models["BP-B"])
    assert [s.name for s in specs] == ["ee_pair:Y2S:N4N5", "upsilon:Y2S:N4N5", "isr:Y2S:Zprime"]
    assert specs[0].extra["luminosity_fb"] == 1.0
    card = parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = "isr"\n[experiment]\nname = "KLOE"\n')
    with pytest.raises(UnknownNameError, match="belle2"):
        card_channels(card, models["BP-B"])
