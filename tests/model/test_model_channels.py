"""The decay-channel registry and the vertex home: families, ordering, extension by one registration, vertices.

References: total widths are the sums of the registered families' partial widths; the vertex rules of
generator.model.vertices (Eqs. 3, A2) checked against their defining relations; a toy family's width against the
analytic massless vector width g^2 M / (24 pi).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator import constants as const
from generator.errors import RegistryError, UnknownNameError
from generator.model import preset, vertices
from generator.model.channels import FAMILIES, DecayChannel, families, hnl_channels, register_channel
from generator.model.model import Model
from generator.model.rates import gamma_vector_to_fermions


@pytest.fixture(scope="module")
def model():
    return Model(preset("BP-B"))


def test_registered_families():
    names = {f.name for f in FAMILIES.values()}
    assert {"zprime_neutrinos", "zprime_leptons", "zprime_hadrons", "phiprime_neutrinos", "phiprime_zprimes",
            "hnl_to_zprime", "hnl_to_phiprime", "hnl_lepton_pair", "hnl_nunu", "hnl_three_nu",
            "hnl_charged_current", "hnl_radiative"} <= names
    assert [f.name for f in families("hnl", "pair")][:4] == ["hnl_to_zprime", "hnl_to_phiprime", "hnl_lepton_pair",
                                                             "hnl_nunu"]


def _summary(chans):
    return [(c.name, c.kind, c.width_GeV) for c in chans]


def test_model_channels_are_the_registry_output(model):
    """Model.decay_channels is hnl_channels (the registry), unique labels, total width = sum of partial widths."""
    spec = model.spectrum
    chans = model.decay_channels("N6")
    assert sum(c.width_GeV for c in chans) == pytest.approx(model.width("N6"), rel=1e-15)
    kinds = {c.kind for c in chans}
    assert kinds <= {"two_body", "three_body_vector", "three_body_cc", "three_body_invisible"}
    assert len({c.name for c in chans}) == len(chans)
    assert _summary(chans) == _summary(hnl_channels(spec, "N6", model.width("Z'"), model.convention))


def test_add_a_family_by_one_registration(model):
    """A toy family registered once shows up in hnl_channels with its width; removing it restores the list.

    Independent number: a vector of mass m_Z' with couplings (g, 0) to a massless pair has
    Gamma = g^2 m / (24 pi) (gamma_vector_to_fermions massless limit: (|gL|^2) 2 M^2 * M / (48 pi M^3))."""
    spec = model.spectrum
    before = hnl_channels(spec, "N6", model.width("Z'"))
    g = 1e-3

    @register_channel("toy_n_to_dark_pair", "hnl", order=999)
    def toy(ctx):
        m = ctx.spec.masses[ctx.i]
        w = gamma_vector_to_fermions(m, 0.0, 0.0, g, 0.0)
        return [DecayChannel(ctx.parent, ("nu", "nu"), w, "two_body", (0.0, 0.0), label=f"{ctx.parent} -> toy")]

    try:
        after = hnl_channels(spec, "N6", model.width("Z'"))
        assert _summary(after[:-1]) == _summary(before)
        assert after[-1].name == "N6 -> toy"
        assert after[-1].width_GeV == pytest.approx(g**2 * spec.mass("N6") / (24.0 * math.pi), rel=1e-12)
        with pytest.raises(RegistryError, match="toy_n_to_dark_pair"):
            register_channel("toy_n_to_dark_pair", "hnl", order=1)(toy)
    finally:
        del FAMILIES["toy_n_to_dark_pair"]
    assert _summary(hnl_channels(spec, "N6", model.width("Z'"))) == _summary(before)
    with pytest.raises(UnknownNameError, match="W'"):
        register_channel("x", "W'", order=1)
    with pytest.raises(RegistryError, match="pair"):
        register_channel("x", "Z'", order=1, scope="pair")


def test_vertex_rules(model):
    spec = model.spectrum
    Xzp, Xz = vertices.zprime_neutrino_matrix(spec), vertices.z_neutrino_matrix(spec)
    for X in (Xzp, Xz):
        assert np.allclose(X, X.conj().T, atol=1e-15 * np.abs(X).max())
    # Z' matrix: g_X V + g/(2 c_W)(m_Z'/m_Z)^2 chi C (Eq. 3)
    p = spec.params
    kappa = const.G_WEAK / (2 * const.CW) * (p.m_Zprime / const.M_Z) ** 2 * p.chi
    assert np.allclose(Xzp, p.g_X * spec.V + kappa * spec.C, rtol=0, atol=1e-15)
    i, j = spec.index("N6"), spec.index("N5")
    aL, aR = vertices.vector_vertex(1.0, Xzp, j, i, "majorana")
    assert aL == pytest.approx(Xzp[j, i]) and aR == pytest.approx(-np.conj(Xzp[j, i]))
    pL, pR = vertices.vector_vertex(1.0, Xzp, j, i, "paper")
    assert pR == pytest.approx(-pL) and abs(pL) == pytest.approx(abs(aL))
    yL, yR = vertices.majorana_scalar_vertex(spec.S, j, i)
    assert yL == pytest.approx(spec.S[j, i] / math.sqrt(2)) and yR == pytest.approx(np.conj(yL))
    assert np.allclose(vertices.majorana_scalar_couplings(spec.S, j, i), (yL, yR))
    with pytest.raises(UnknownNameError, match="dirac"):
        vertices.vector_vertex(1.0, Xzp, j, i, "dirac")
    ca = vertices.c_alpha(spec, "mu")
    if ca is not None:
        assert np.allclose(ca, np.outer(spec.U_flavour("mu").conj(), spec.U_flavour("mu")))
