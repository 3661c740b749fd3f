"""The model beyond the benchmark shapes: n sterile and d dark fermions of any number, complex entries,
two active flavours. Identities that hold for every parameter point."""

from __future__ import annotations

import numpy as np
import pytest

from generator.card import parse_card
from generator.model.model import Model

N1_D2 = """
[model]
flavours = ["mu"]
M_D_GeV = [2.0e-3]
M_N_GeV = [-6.0]
Lambda_L_GeV = [[0.24, 0.10]]
Lambda_R_GeV = [[0.54, -0.05]]
M_X_GeV = [0.196, 0.35]
m_Zprime_GeV = 1.25
epsilon2 = 4.6e-4
alpha_D = 0.32
m_phiprime_GeV = 1.0
"""

N2_D1_TWO_FLAVOURS = """
[model]
flavours = ["e", "mu"]
M_D_GeV = [[1e-4, 2e-3], [-3e-4, 1e-3]]
M_N_GeV = [0.5, -4.0]
Lambda_L_GeV = [0.05, 0.2]
Lambda_R_GeV = [-0.03, 0.4]
M_X_GeV = 0.15
m_Zprime_GeV = 0.8
chi = 0.02
g_X = 1.5
m_phiprime_GeV = 0.3
sin_theta = 1e-4
"""


@pytest.mark.parametrize(("text", "d", "n_states"), [(N1_D2, 2, 6), (N2_D1_TWO_FLAVOURS, 1, 6)])
def test_general_shapes_identities(text, d, n_states):
    model = Model(parse_card(text).parameters())
    s = model.spectrum
    assert len(s.masses) == n_states
    np.testing.assert_allclose(s.U.conj().T @ s.U, np.eye(n_states), atol=1e-12)
    # V = P_DL - P_DR with orthogonal rank-d projectors: sum_jk |V_jk|^2 = Tr V^2 = 2 d
    assert np.sum(np.abs(s.V) ** 2) == pytest.approx(2 * d, abs=1e-10)
    # C = U_alpha^dag U_alpha is a rank-n_active projector: Tr C = n_active
    assert np.trace(s.C).real == pytest.approx(s.params.n_active, abs=1e-12)
    for name in model.unstable:
        brs = model.branching_ratios(name)
        if brs:
            assert sum(brs.values()) == pytest.approx(1.0, abs=1e-9), name
            assert model.ctau0_cm(name) > 0


def test_complex_mass_matrix_gives_same_physics_as_rephased_real_one():
    # rephasing a flavour field (nu_N1 -> e^{i a} nu_N1) changes M but no physical quantity
    base = parse_card(N2_D1_TWO_FLAVOURS).parameters()
    a = 0.7
    ph = np.exp(1j * a)
    rot = base.with_(M_D=base.M_D * np.array([ph, 1.0]), M_N=base.M_N.astype(complex) * np.array([ph**2, 1.0]),
                     Lambda_L=base.Lambda_L * np.array([[ph], [1.0]]), Lambda_R=base.Lambda_R * np.array([[ph], [1.0]]))
    m0, m1 = Model(base), Model(rot)
    np.testing.assert_allclose(m1.spectrum.masses, m0.spectrum.masses, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(np.abs(m1.spectrum.V), np.abs(m0.spectrum.V), atol=1e-12)
    for n in ("N4", "N5", "N6"):
        assert m1.ctau0_cm(n) == pytest.approx(m0.ctau0_cm(n), rel=1e-8)


def test_light_block_is_diagonal_at_its_own_scale():
    # two light states ~1e-7 and 1e-6 GeV next to a 4 GeV state: U^T M U must be diagonal relative to the
    # light masses themselves. A plain eigen-solver leaves ~eps 4 GeV ~ 3e-10 of the light mass off the
    # diagonal; the light-block refinement brings it to rounding (~1e-17), hence the 1e-12 bound.
    s = Model(parse_card(N2_D1_TWO_FLAVOURS).parameters()).spectrum
    D = s.U.T @ s.mass_matrix @ s.U
    light = D[:2, :2]
    assert abs(light[0, 1]) < 1e-12 * abs(light[1, 1])
    np.testing.assert_allclose(np.diag(light).real, s.masses[:2], rtol=1e-10)
    np.testing.assert_allclose(s.U.conj().T @ s.U, np.eye(6), atol=1e-13)
