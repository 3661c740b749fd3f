"""Honest comparisons with the paper where its printed numbers cannot be, or are only partly, reproduced.

* m3 (light-neutrino mass): Table III prints 3 significant digits. Moving each input by +- half a unit of its
  last printed digit (one at a time, added in quadrature) moves the tree-level m3 by far more than the paper's
  0.05 eV, so that value cannot be tested from the printed inputs.
* Table V |S_jk|^2 for BP-B: reproduced by one convention, Eq. A3 for the off-diagonal heavy-heavy entries,
  |S_jj / 2|^2 on the diagonal (the coefficient of an identical Majorana pair in the Lagrangian) and the
  unsymmetrised product [U_N^T (Y_L U_DL + Y_R U_DR)]_jk for the light-heavy ones. Tolerance 1 %.
* BP-A's printed S45 and S56 are non-zero although its left-right symmetry (Lambda_L = Lambda_R) forbids them.
"""

from __future__ import annotations

import numpy as np
import pytest

from generator.model import Spectrum, preset
from tests.paper_tables import BPS, S2, one_at_a_time_shifts, rounding_envelope

# Quadrature sum of the one-at-a-time shifts of the tree-level m3 (eV); this calculation (regression, 3 %).
_M3_ROUNDING_EV = {"BP-A": 0.313, "BP-B": 5.44, "BP-C": 1.19, "BP-D": 68.3}
_M3_TREE_EV = {"BP-A": 0.1877, "BP-B": 2.923, "BP-C": 6.206, "BP-D": 33.94}
PAPER_M3_EV = 0.05


def _m3_eV(s: Spectrum) -> float:
    return float(s.masses[s.n_light - 1] * 1e9)


@pytest.mark.parametrize("bp", BPS)
def test_m3_rounding_envelope(bp):
    """The tree-level m3 and its rounding uncertainty; the latter exceeds the paper's 0.05 eV at every BP."""
    assert _m3_eV(Spectrum(preset(bp))) == pytest.approx(_M3_TREE_EV[bp], rel=1e-3)
    width = float(np.sqrt(np.sum(one_at_a_time_shifts(bp, _m3_eV) ** 2)))
    assert width == pytest.approx(_M3_ROUNDING_EV[bp], rel=0.03)
    assert width > 5 * PAPER_M3_EV


@pytest.mark.parametrize("bp", ["BP-A", "BP-B", "BP-D"])
def test_m3_joint_rounding_reaches_the_paper_value(bp):
    """Moving all inputs at once within their rounding, the tree-level m3 of BP-A, B and D reaches below 0.05 eV."""
    lo, hi = rounding_envelope(bp, _m3_eV)
    assert lo < PAPER_M3_EV < hi


def _S2_convention(s: Spectrum, x: str, y: str) -> float:
    p = s.params
    a = s.U_N.T @ (p.Y_L @ s.U_DL + p.Y_R @ s.U_DR)  # unsymmetrised product; Eq. A3 is S = a + a^T
    i, j = s.index(x), s.index(y)
    if i == j:
        return float(abs(s.S[i, i] / 2) ** 2)
    if x.startswith("N") and y.startswith("N"):
        return float(abs(s.S[i, j]) ** 2)
    return float(abs(a[i, j]) ** 2)


_HEAVY_AND_MIXED = [k for k in S2 if k != ("nu3", "nu3")]


@pytest.mark.parametrize("pair", _HEAVY_AND_MIXED)
def test_table_V_S2_bp_b_convention(pair):
    scale, vals = S2[pair]
    got = _S2_convention(Spectrum(preset("BP-B")), *pair)
    assert got == pytest.approx(vals[BPS.index("BP-B")] * scale, rel=0.01)


def test_table_V_S2_bp_b_light_light_entry():
    """|S_33|^2 (nu3 nu3) is the one BP-B entry this convention does not give: 30.2e-14 against the printed
    7.87e-14, and the printed value lies outside the rounding envelope of the inputs."""
    scale, vals = S2[("nu3", "nu3")]
    paper = vals[BPS.index("BP-B")] * scale
    got = _S2_convention(Spectrum(preset("BP-B")), "nu3", "nu3")
    assert got / paper == pytest.approx(3.83, rel=0.02)
    lo, hi = rounding_envelope("BP-B", lambda s: _S2_convention(s, "nu3", "nu3"), n=100)
    assert not lo <= paper <= hi


@pytest.mark.parametrize("pair", [("N4", "N5"), ("N5", "N6")])
def test_bp_a_symmetry_forbidden_S_entries(pair):
    """BP-A has Lambda_L = Lambda_R: S45 and S56 vanish (here < 1e-20 of the printed scale), while Table V
    prints 0.0305e-2 and 0.444e-2. Breaking the symmetry by 1 % in Lambda_R makes them non-zero."""
    scale, vals = S2[pair]
    assert vals[BPS.index("BP-A")] > 0  # what the paper prints
    p = preset("BP-A")
    assert _S2_convention(Spectrum(p), *pair) < 1e-20 * scale
    broken = p.with_(Lambda_R=p.Lambda_R * 1.01)
    assert _S2_convention(Spectrum(broken), *pair) > 1e-8 * scale
