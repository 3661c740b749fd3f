"""Lorentz kernels against independent references: rapidity boosts, scipy rotations, invariants."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from generator.kernels.lorentz import (
    boost_to_lab,
    boost_to_rest,
    cos_angle3,
    cos_theta_z,
    direction3,
    direction_about_axis,
    invariant_mass,
    mass2,
    mdot,
    norm3,
    opening_angle,
    rotate_zyz,
)

EPS = np.finfo(float).eps


def _random_momenta(rng, n, m, pmax=1.0):
    """Four-momenta (GeV) of mass m with |p| up to ~pmax * sqrt(3) in random directions."""
    p3 = rng.normal(size=(n, 3)) * rng.uniform(0.01, pmax, size=(n, 1))
    return np.column_stack([np.sqrt(m**2 + np.sum(p3**2, axis=1)), p3])


def test_boost_round_trip_and_parent_at_rest():
    rng = np.random.default_rng(1)
    n = 2000
    M = rng.uniform(0.05, 2.0, n)
    P = _random_momenta(rng, n, M, pmax=30.0)  # gamma up to ~1000, as a 50 GeV N5
    gamma = P[:, 0] / M
    k = np.stack([_random_momenta(rng, n, 0.1), _random_momenta(rng, n, 0.0)], axis=1)
    # round trip: rounding grows like gamma^2 eps (cancellation in the inverse boost); allow 16 eps gamma^2 |k|
    tol = 16 * EPS * gamma**2 * np.abs(k).max(axis=(1, 2))
    for mass in (M, None):
        back = boost_to_rest(boost_to_lab(k, P, mass), P, mass)
        assert np.all(np.abs(back - k).max(axis=(1, 2)) <= tol)
    # the parent at rest, (M, 0, 0, 0), is boosted to P: to rounding (4 eps) when the mass is given,
    # to ~gamma^2 eps when the mass is recomputed from P
    rest = np.zeros((n, 4))
    rest[:, 0] = M
    assert np.all(np.abs(boost_to_lab(rest, P, M) - P) <= 4 * EPS * P[:, :1])
    assert np.all(np.abs(boost_to_lab(rest, P) - P) <= 16 * EPS * gamma[:, None] ** 2 * P[:, :1])
    # and P boosted to its own rest frame is (M, 0, 0, 0) up to the gamma^2 eps cancellation
    r = boost_to_rest(P, P, M)
    assert np.all(np.abs(r[:, 0] - M) <= 8 * EPS * gamma**2 * M)
    assert np.all(np.abs(r[:, 1:]).max(axis=1) <= 8 * EPS * gamma**2 * M)


def test_boost_along_z_matches_rapidity_matrix():
    """Independent reference: Lambda_z(y) = [[cosh y, sinh y], [sinh y, cosh y]] on (E, pz)."""
    rng = np.random.default_rng(2)
    n = 500
    y = rng.uniform(-5, 5, n)
    M = 0.146
    P = np.column_stack([M * np.cosh(y), np.zeros(n), np.zeros(n), M * np.sinh(y)])
    k = _random_momenta(rng, n, 0.0511)
    lab = boost_to_lab(k, P, M)
    E_ref = np.cosh(y) * k[:, 0] + np.sinh(y) * k[:, 3]
    z_ref = np.sinh(y) * k[:, 0] + np.cosh(y) * k[:, 3]
    # both are exact formulae; they differ by rounding, 16 eps gamma^2 |k| at most
    scale = 16 * EPS * np.cosh(y) ** 2 * np.abs(k).max(axis=1)
    assert np.all(np.abs(lab[:, 0] - E_ref) <= scale)
    assert np.all(np.abs(lab[:, 3] - z_ref) <= scale)
    assert np.allclose(lab[:, 1:3], k[:, 1:3], rtol=0, atol=1e-15)


def test_boost_preserves_minkowski_products():
    rng = np.random.default_rng(3)
    n = 1000
    P = _random_momenta(rng, n, 0.22, pmax=5.0)  # gamma <~ 40
    a, b = _random_momenta(rng, n, 0.1), _random_momenta(rng, n, 0.0005)
    la, lb = boost_to_lab(a, P), boost_to_lab(b, P)
    # invariants from boosted vectors: cancellation of E^2 against |p|^2, ~gamma^2 eps relative
    assert np.allclose(mdot(la, lb), mdot(a, b), rtol=1e-10)
    assert np.allclose(invariant_mass(la), 0.1, rtol=1e-10)


def test_rotate_zyz_matches_scipy():
    rng = np.random.default_rng(4)
    n = 300
    al, be, ga = rng.uniform(0, 2 * np.pi, n), np.arccos(rng.uniform(-1, 1, n)), rng.uniform(0, 2 * np.pi, n)
    v = _random_momenta(rng, n, 0.3, pmax=10.0)
    out = rotate_zyz(v, al, be, ga)
    # scipy "ZYZ" (intrinsic) = Rz(al) Ry(be) Rz(ga): an independent implementation of the same matrix
    ref = np.einsum("nij,nj->ni", Rotation.from_euler("ZYZ", np.column_stack([al, be, ga])).as_matrix(), v[:, 1:])
    assert np.allclose(out[:, 1:], ref, rtol=0, atol=1e-12 * np.abs(v).max())
    assert np.array_equal(out[:, 0], v[:, 0])


def test_direction_about_axis_angles_and_uniform_azimuth():
    rng = np.random.default_rng(5)
    n = 20000
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    axis[:10] = [0.0, 0.0, 1.0]  # also the helper-vector branch |a_x| >= 0.9
    axis[10:20] = [1.0, 0.0, 0.0]
    c = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    d = direction_about_axis(axis, c, phi)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-12)
    assert np.allclose(np.sum(d * axis, axis=1), c, atol=1e-12)
    # azimuth phi -> phi + pi flips the transverse part: d(phi) + d(phi + pi) = 2 c axis
    d2 = direction_about_axis(axis, c, phi + np.pi)
    assert np.allclose(d + d2, 2 * c[:, None] * axis, atol=1e-12)


def test_opening_angle_small_and_large():
    a = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0]])
    t = np.array([1e-9, np.pi / 2, np.pi])
    b = np.column_stack([np.ones(3), np.cos(t), np.sin(t), np.zeros(3)])
    b[2] = [1.0, 0.0, 0.0, -1.0]
    assert np.allclose(opening_angle(a, b), t, rtol=1e-9)


def test_three_vector_helpers_against_hand_values():
    """norm, direction (zero -> +z), cosines and p.p on (n, 3) / (n, k, 3) arrays, checked by hand."""
    v = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -2.0]])
    assert np.allclose(norm3(v), [5.0, 0.0, 2.0], rtol=0, atol=0)
    assert np.allclose(direction3(v), [[0.6, 0.8, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]], rtol=0, atol=EPS)
    assert np.allclose(cos_theta_z(v), [0.0, 1.0, -1.0], rtol=0, atol=EPS)
    assert np.allclose(cos_angle3(v, np.array([[4.0, 3.0, 0.0]] * 3)), [24.0 / 25.0, 1.0, 0.0], rtol=0, atol=EPS)
    stacked = np.stack([v, 2 * v])
    assert norm3(stacked).shape == (2, 3) and np.allclose(norm3(stacked)[1], [10.0, 0.0, 4.0])
    p = np.array([[5.0, 3.0, 0.0, 4.0], [1.0, 2.0, 0.0, 0.0]])
    assert np.array_equal(mass2(p), [0.0, -3.0])
