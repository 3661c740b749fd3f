"""One scale for every reported cross section: per target atom (NuHepMC G.R.6), target named, per-nucleon values
only as an explicitly named extra (generator.xsec.cross_section_fields, xsec_table, format_xsec)."""

from __future__ import annotations

import numpy as np
import pytest

from generator import xsec as xs
from generator.channel import ChannelSpec
from generator.errors import PhysicsError
from generator.targets import target


@pytest.fixture(scope="module")
def miniboone_specs():
    """Upscattering ChannelSpecs of BP-B at MiniBooNE (CH2: C12 coherent + incoherent p, n; H1 incoherent p)."""
    from generator.processes.upscattering import channels_from_card
    from generator.shipped_cards import open_card

    card = open_card("miniboone_bp_b")
    return [s for s in channels_from_card(card, card.parameters()) if s.final_hnl == "N5"]


def _quad(spec):
    """Quadrature expected events of a channel (independent of VEGAS) and a 1 % error for the test."""
    r = spec.extra["expected_events_quadrature"]
    return r, 0.01 * r


def test_incoherent_channels_add_up_to_z_sigma_p_plus_n_sigma_n_per_atom(miniboone_specs):
    inc = {s.extra["nucleon"]: s for s in miniboone_specs if s.regime == "incoherent" and s.target.startswith("C12")}
    assert set(inc) == {"p", "n"}
    f = {nuc: xs.cross_section_fields(s, *_quad(s)) for nuc, s in inc.items()}
    c12 = target("C12")
    per_atom = f["p"]["sigma_cm2"] + f["n"]["sigma_cm2"]
    z_p_n_n = c12.Z * f["p"]["sigma_per_nucleon_cm2"] + c12.N * f["n"]["sigma_per_nucleon_cm2"]
    assert per_atom == pytest.approx(z_p_n_n, rel=1e-12)
    # independent: all C12 incoherent events over (C12 atoms x POT x integrated flux)
    sp = inc["p"]
    n_atoms = sp.extra["n_scatterers"] / c12.Z
    assert inc["n"].extra["n_scatterers"] / c12.N == pytest.approx(n_atoms, rel=1e-12)
    denom = n_atoms * sp.extra["pot"] * sp.extra["flux_integral_per_cm2_per_pot"]
    rate = sum(_quad(s)[0] for s in inc.values())
    assert per_atom == pytest.approx(rate / denom, rel=1e-12)
    # per nucleon = events / (bound nucleons of that kind x POT x flux): the old sigma_cm2
    for s in inc.values():
        assert f[s.extra["nucleon"]]["sigma_per_nucleon_cm2"] == pytest.approx(_quad(s)[0] / s.exposure, rel=1e-12)
    for nuc, k in (("p", c12.Z), ("n", c12.N)):
        assert f[nuc]["sigma_scale"] == "per C12 atom" and f[nuc]["sigma_target"] == "C12"
        assert f[nuc]["sigma_nucleon"] == nuc and f[nuc]["nucleons_per_atom"] == k
        assert f[nuc]["sigma_err_cm2"] == pytest.approx(0.01 * f[nuc]["sigma_cm2"], rel=1e-12)


def test_coherent_is_per_nucleus_unchanged_and_free_proton_is_per_atom(miniboone_specs):
    coh = next(s for s in miniboone_specs if s.regime == "coherent" and s.target == "C12")
    rate, err = _quad(coh)
    f = xs.cross_section_fields(coh, rate, err)
    assert f["sigma_cm2"] == pytest.approx(rate / coh.exposure, rel=1e-12)
    assert f["sigma_err_cm2"] == pytest.approx(err / coh.exposure, rel=1e-12)
    assert (f["sigma_scale"], f["sigma_target"]) == ("per C12 atom", "C12")
    assert "sigma_per_nucleon_cm2" not in f  # per-nucleon values only for incoherent channels
    h1 = next(s for s in miniboone_specs if s.target == "H1(p)")
    fh = xs.cross_section_fields(h1, *_quad(h1))
    assert fh["sigma_scale"] == "per H1 atom" and fh["nucleons_per_atom"] == 1
    assert fh["sigma_cm2"] == pytest.approx(fh["sigma_per_nucleon_cm2"], rel=1e-12)
    # flux-averaged coherent cross section of BP-B on C12 at MiniBooNE: between sigma(E) at the flux edges
    assert 1e-45 < f["sigma_cm2"] < 1e-35


def test_collider_and_decay_channels():
    ee = ChannelSpec(process=None, production="ee_pair", final_hnl="N4N5", target="BaBar 10.58", exposure=2.0e40)
    f = xs.cross_section_fields(ee, 4.0, 0.2)
    assert (f["sigma_cm2"], f["sigma_err_cm2"], f["sigma_scale"]) == (2.0e-40, 1.0e-41, "per e+e- collision")
    assert f["sigma_target"] is None
    assert (f["sigma_per_scatterer_cm2"], f["sigma_err_per_scatterer_cm2"]) == (2.0e-40, 1.0e-41)
    kaon = ChannelSpec(process=None, production="kaon_decay", final_hnl="N4")
    assert xs.cross_section_fields(kaon, 3.0, 0.1) == {"sigma_cm2": None, "sigma_err_cm2": None,
                                                         "sigma_scale": None, "sigma_target": None,
                                                         "sigma_per_scatterer_cm2": None,
                                                         "sigma_err_per_scatterer_cm2": None}


def test_explicit_exposure_overrides_the_spec():
    spec = ChannelSpec(process=None, production="upscattering", final_hnl="N5", target="Ar40(n)",
                       regime="incoherent", exposure=1.0, extra={"nucleon": "n"})
    f = xs.cross_section_fields(spec, 6.0, 0.6, exposure=3.0)
    assert f["sigma_per_nucleon_cm2"] == pytest.approx(2.0)
    assert f["sigma_per_scatterer_cm2"] == pytest.approx(2.0)
    assert f["sigma_cm2"] == pytest.approx(22 * 2.0)  # Ar40: A - Z = 22 neutrons
    assert f["sigma_scale"] == "per Ar40 atom"


def test_nucleons_per_atom_and_pb():
    assert [xs.nucleons_per_atom("Fe56", n) for n in (None, "p", "n")] == [1, 26, 30]
    with pytest.raises(PhysicsError, match="nucleon = 'x'"):
        xs.nucleons_per_atom("C12", "x")
    assert xs.cm2_to_pb(2.5e-36) == pytest.approx(2.5)  # 1 pb = 1e-36 cm^2


def test_xsec_table_rows_per_atom_with_labels():
    from generator.model.parameters import preset

    E = np.array([0.5, 2.0])
    tab = xs.xsec_table(preset("BP-B"), ["Ar40"], ["coherent", "incoherent"], ["N5"], E)
    assert tab["scale"] == "per target atom (nucleus)"
    coh, inc = tab["channels"]
    assert coh["sigma_scale"] == inc["sigma_scale"] == "per Ar40 atom"
    assert "sigma_per_nucleon_cm2" not in coh
    sp = xs.sigma_total(E, preset("BP-B"), "N5", "Ar40", "incoherent", "p", below_threshold="zero")
    sn = xs.sigma_total(E, preset("BP-B"), "N5", "Ar40", "incoherent", "n", below_threshold="zero")
    np.testing.assert_allclose(inc["sigma_per_nucleon_cm2"]["p"], sp, rtol=1e-12)
    np.testing.assert_allclose(inc["sigma_cm2"], 18 * sp + 22 * sn, rtol=1e-12)
    assert inc["nucleons_per_atom"] == {"p": 18, "n": 22}
    text = xs.format_xsec(tab)
    assert "per target atom" in text and "Z sigma_p + N sigma_n" in text
