"""Spectrum, mixing and vertex matrices against the paper's Tables I, II, IV, V and independent identities.

Tolerances: masses within 1 %, |U|^2 and |V|^2 within 2 % where the entry is non-zero.
Where an entry is off by more, we show by calculation that the paper's value lies inside the envelope
spanned by re-rounding the 3-significant-digit inputs of Table III (+- half a unit in the last printed
digit): those entries are ill-conditioned (cancellations), so the printed inputs cannot fix them better.
"""

from __future__ import annotations

import numpy as np
import pytest

from generator.model import Spectrum, build_mass_matrix, preset, takagi
from tests.paper_tables import BPS, MASSES_MEV, U2, V2, rounding_envelope


def _u2(s: Spectrum, row: str, state: str) -> float:
    j = s.index(state)
    if row in ("e", "mu", "tau"):
        return float(abs(s.U_flavour(row)[j]) ** 2)
    if row.startswith("N"):
        return float(abs(s.U_N[int(row[1:]) - 1, j]) ** 2)
    block = s.U_DL if row == "DL" else s.U_DR
    return float(abs(block[0, j]) ** 2)


@pytest.fixture(scope="module")
def spectra():
    return {bp: Spectrum(preset(bp)) for bp in BPS}


# ------------------------------------------------------------------------------------ Takagi


def _random_symmetric(rng, n, complex_=True):
    a = rng.normal(size=(n, n)) + (1j * rng.normal(size=(n, n)) if complex_ else 0)
    return a + a.T


@pytest.mark.parametrize("n", [2, 5, 8])
def test_takagi_reconstructs_random_complex_symmetric(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        M = _random_symmetric(rng, n)
        m, U = takagi(M)
        assert np.all(m >= 0) and np.all(np.diff(m) >= 0)
        np.testing.assert_allclose(U.conj().T @ U, np.eye(n), atol=1e-12)
        rec = U.conj() @ np.diag(m) @ U.conj().T  # M = U* diag(m) U^dagger
        assert np.abs(rec - M).max() <= 1e-10 * np.abs(M).max()


def test_takagi_degenerate_and_rank_deficient():
    rng = np.random.default_rng(3)
    # exactly degenerate masses with complex phases: M = W diag(1, 1, 2, 0, 0) W^T, W random unitary
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5)))
    M = q @ np.diag([1.0, 1.0, 2.0, 0.0, 0.0]) @ q.T
    m, U = takagi(M)
    np.testing.assert_allclose(m, [0, 0, 1, 1, 2], atol=1e-12)
    np.testing.assert_allclose(U.conj().T @ U, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(U.T @ M @ U, np.diag(m), atol=1e-12)
    # near-degenerate pair split by 1e-9 relative
    M2 = q @ np.diag([1.0, 1.0 + 1e-9, 3.0, 4.0, 5.0]) @ q.T
    m2, U2_ = takagi(M2)
    np.testing.assert_allclose(U2_.T @ M2 @ U2_, np.diag(m2), atol=1e-12)
    assert m2[1] - m2[0] == pytest.approx(1e-9, rel=1e-3)


def test_takagi_on_benchmark_mass_matrices(spectra):
    for s in spectra.values():
        M = build_mass_matrix(s.params)
        m, U = s.masses, s.U
        np.testing.assert_allclose(U.conj().T @ U, np.eye(len(m)), atol=1e-12)
        assert np.abs(U.T @ M @ U - np.diag(m)).max() <= 1e-10 * np.abs(M).max()


def test_sum_of_V_squared_is_two(spectra):
    # Appendix B c: sum_jk |V_jk|^2 = 2 (V = P_DL - P_DR with orthogonal rank-1 projectors, d = 1)
    for s in spectra.values():
        assert np.sum(np.abs(s.V) ** 2) == pytest.approx(2.0, abs=1e-12)
        np.testing.assert_allclose(s.V, s.V.conj().T, atol=1e-15)  # hermitian


# ------------------------------------------------------------------------------------ paper tables


@pytest.mark.parametrize("bp", BPS)
def test_hnl_masses_table_I_II(spectra, bp):
    got = [spectra[bp].mass(n) * 1e3 for n in ("N4", "N5", "N6")]
    np.testing.assert_allclose(got, MASSES_MEV[bp], rtol=0.01)


def _check_table(spectra, bp, table, getter, label):
    col = BPS.index(bp)
    failures = []
    for key, (scale, vals) in table.items():
        ref = vals[col] * scale
        got = getter(spectra[bp], *key)
        if ref == 0:
            # a printed 0 means below half of the last digit of the scale shown (0.0005 x scale at most)
            if not got < 5e-4 * scale:
                failures.append(f"{label}{key}: paper 0, got {got:.3g}")
            continue
        if abs(got / ref - 1) <= 0.02:
            continue
        lo, hi = rounding_envelope(bp, lambda s, key=key: getter(s, *key))
        if not lo <= ref <= hi:
            failures.append(f"{label}{key}: paper {ref:.4g}, got {got:.4g}, rounding envelope [{lo:.3g}, {hi:.3g}]")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("bp", BPS)
def test_U2_table_IV(spectra, bp):
    _check_table(spectra, bp, U2, _u2, "|U|^2")


@pytest.mark.parametrize("bp", BPS)
def test_V2_table_V(spectra, bp):
    _check_table(spectra, bp, V2, lambda s, a, b: s.V2(a, b), "|V|^2")


def test_left_right_symmetric_zeros_of_BP_A(spectra):
    # Lambda_L = Lambda_R in BP-A: protected zeros (Table I/IV/V) are exact, below 1e-20
    s = spectra["BP-A"]
    for a, b in [("N4", "nu3"), ("N6", "nu3"), ("N4", "N4"), ("N4", "N6"), ("N5", "N5"), ("N6", "N6")]:
        assert s.V2(a, b) < 1e-20
    assert s.U2("mu", "N5") < 1e-20
    assert abs(s.U_N[0, s.index("N5")]) ** 2 < 1e-20


# Table V |S_jk|^2: tests/model/test_paper_comparisons.py


def test_phiprime_mass_choice_does_not_change_spectrum():
    # text: m_phi' = 1 GeV; Table I caption: 1.6 GeV. The mass matrix does not depend on m_phi'.
    a, b = Spectrum(preset("BP-B", m_phiprime=1.0)), Spectrum(preset("BP-B", m_phiprime=1.6))
    np.testing.assert_array_equal(a.masses, b.masses)
    np.testing.assert_array_equal(np.abs(a.V), np.abs(b.V))
