"""generator.particles: names <-> PDG codes <-> masses, the HNL-name parser and the aliases.

References: PDG Monte Carlo numbering scheme (RPP 2020, Sec. 44) for the codes; PDG 2020 masses.
"""

from __future__ import annotations

import numpy as np
import pytest

from generator import constants as const
from generator import particles as P
from generator.errors import UnknownNameError
from generator.model import preset
from generator.model.model import Model


def test_codes_match_pdg_numbering():
    # RPP "Monte Carlo particle numbering scheme": e- 11, mu- 13, tau- 15, gamma 22, pi+ 211, pi0 111, Z'0 32
    names = ("e-", "mu+", "tau-", "gamma", "pi+", "pi0", "nu_mu~")
    assert [P.pdg(n) for n in names] == [11, -13, 15, 22, 211, 111, -14]
    assert P.pdg("Z'") == P.pdg("Zprime") == 32
    assert P.pdg("phi'") == P.pdg("phiprime") == 9900025
    assert P.pdg("N5") == 9900005 == const.pdg_hnl(5)
    with pytest.raises(UnknownNameError, match="N3"):
        P.pdg("N3")


def test_masses_against_pdg_2020():
    # PDG 2020: m_e = 0.51099895 MeV, m_mu = 105.6583755 MeV, m_pi+ = 139.57039 MeV
    assert P.sm_mass("e+") == pytest.approx(0.51099895e-3, rel=1e-8)
    assert P.sm_mass("mu-") == pytest.approx(0.1056583755, rel=1e-9)
    assert P.sm_mass("pi-") == pytest.approx(0.13957039, rel=1e-8)
    assert P.sm_mass("gamma") == 0.0 and P.sm_mass("nu_e") == 0.0


def test_name_parsing_and_aliases():
    names = ("N4", "N12", "N3", "N", "nu3", "N5x", "Zprime", "N25")
    assert [P.hnl_index(n) for n in names] == [4, 12, None, None, None, None, None, None]
    assert P.hnl_name(6) == "N6"
    assert P.canonical("Zprime") == "Z'" and P.canonical("phiprime") == "phi'" and P.canonical("N5") == "N5"
    assert P.record_name("Z'") == "Zprime" and P.record_name("phiprime") == "phiprime" and P.record_name("e-") == "e-"
    codes = np.array([9900004, 9900003, 32, 9900025, 9900024])
    assert P.is_hnl_pdg(codes).tolist() == [True, False, False, False, True]


def test_model_table_round_trip():
    model = Model(preset("BP-B"))
    t = P.ParticleTable(model)
    for name in model.spectrum.heavy_names:
        assert t.name_of(t.pdg(name)) == name
        assert t.mass(name) == pytest.approx(model.mass(name), rel=1e-15)
    assert t.name_of(32) == "Zprime" and t.name_of(9900025) == "phiprime" and t.name_of(14) == "nu_mu"
    assert t.mass("Zprime") == model.params.m_Zprime
    assert t.name_of(123456) == "123456"
    with pytest.raises(UnknownNameError, match="N44"):
        t.mass("N44")
