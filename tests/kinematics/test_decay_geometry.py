"""Volumes for forced decays: ray intersections vs brute-force marching, MC volumes, card parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator.errors import CardError, GeometryError
from generator.geometry import Box, Cylinder, Sphere, Union, volume_from_card

SHAPES = [
    Sphere(radius_cm=50.0, center_cm=(10.0, -5.0, 30.0)),
    Cylinder(radius_cm=40.0, length_cm=120.0, center_cm=(0.0, 5.0, 0.0), axis=(0.3, 0.2, 1.0)),
    Cylinder(radius_cm=610.0, length_cm=100.0, center_cm=(0.0, 0.0, 54100.0)),
    Box(size_cm=(30.0, 80.0, 50.0), center_cm=(-10.0, 0.0, 20.0)),
]


def _rays(rng, n, scale):
    o = rng.uniform(-2 * scale, 2 * scale, size=(n, 3))
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return o, d


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: type(s).__name__)
def test_entry_exit_agrees_with_marching(shape):
    rng = np.random.default_rng(31)
    center = np.asarray(shape.center_cm)
    scale = 80.0 if not isinstance(shape, Cylinder) or shape.radius_cm < 100 else 700.0
    n = 400
    o, d = _rays(rng, n, scale)
    o = o + center
    # aim half of the rays at the centre so that many hit
    aim = center - o[: n // 2]
    d[: n // 2] = aim / np.linalg.norm(aim, axis=1, keepdims=True)
    t_in, t_out = shape.entry_exit(o, d)
    hit = np.isfinite(t_in)
    assert hit.sum() > n // 3
    assert np.all(t_out[hit] >= t_in[hit]) and np.all(t_in[hit] >= 0)
    # brute force: march along each ray with step h; contains() must switch exactly at t_in / t_out
    t = np.linspace(0, 8 * scale, 4001)
    h = t[1] - t[0]
    pts = o[:, None, :] + t[None, :, None] * d[:, None, :]
    inside = shape.contains(pts.reshape(-1, 3)).reshape(n, -1)
    expect = (t[None, :] >= t_in[:, None]) & (t[None, :] <= t_out[:, None])
    far_from_edge = (np.abs(t[None, :] - t_in[:, None]) > h) & (np.abs(t[None, :] - t_out[:, None]) > h)
    assert np.array_equal(inside[far_from_edge], expect[far_from_edge])
    # rays that miss never enter
    assert not inside[~hit].any()


@pytest.mark.parametrize("shape", SHAPES[:2] + SHAPES[3:], ids=lambda s: type(s).__name__)
def test_contains_volume_monte_carlo(shape):
    rng = np.random.default_rng(32)
    n = 200_000
    half = 100.0
    pts = rng.uniform(-half, half, size=(n, 3)) + np.asarray(shape.center_cm)
    frac = shape.contains(pts).mean()
    expect = shape.volume_cm3 / (2 * half) ** 3  # analytic volume (4/3 pi R^3, pi R^2 L, abc)
    sigma = math.sqrt(expect * (1 - expect) / n)
    assert abs(frac - expect) < 5 * sigma  # 5 sigma binomial


def test_ray_from_inside_starts_at_zero_and_behind_misses():
    s = Sphere(10.0)
    t_in, t_out = s.entry_exit(np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]]))
    assert t_in[0] == 0.0 and t_out[0] == pytest.approx(10.0, rel=1e-14)
    # sphere entirely behind the origin
    t_in, t_out = s.entry_exit(np.array([[0.0, 0.0, 20.0]]), np.array([[0.0, 0.0, 1.0]]))
    assert np.isinf(t_in[0]) and np.isinf(t_out[0])
    # ray parallel to the cylinder axis through the caps
    c = Cylinder(5.0, 10.0)
    t_in, t_out = c.entry_exit(np.array([[1.0, 0.0, -20.0]]), np.array([[0.0, 0.0, 1.0]]))
    assert t_in[0] == pytest.approx(15.0) and t_out[0] == pytest.approx(25.0)
    # zero direction (particle at rest): inside -> (0, inf), outside -> miss
    t_in, t_out = s.entry_exit(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 11.0]]), np.zeros((2, 3)))
    assert t_in[0] == 0.0 and np.isinf(t_out[0]) and np.isinf(t_in[1])


def test_volume_from_card():
    v = volume_from_card({"shape": "sphere", "radius_cm": 610.0, "center_cm": [0, 0, 54100], "particles": ["N5"]})
    assert isinstance(v.shape, Sphere) and v.shape.radius_cm == 610.0
    assert v.applies_to("N5") and not v.applies_to("N6")
    v = volume_from_card({"shape": "cylinder", "radius_cm": 100.0, "length_cm": 50.0, "axis": "x"})
    assert v.shape.axis == (1.0, 0.0, 0.0) and v.applies_to("N6")
    v = volume_from_card({"shape": "box", "size_cm": [1, 2, 3]})
    assert v.shape.volume_cm3 == 6.0


@pytest.mark.parametrize(
    ("table", "key", "text"),
    [
        ({"shape": "spher", "radius_cm": 1.0}, "decay.volume.shape", "Did you mean 'sphere'"),
        ({"shape": "sphere"}, "decay.volume.radius_cm", "missing"),
        ({"shape": "sphere", "radius_cm": -1.0}, "decay.volume.radius_cm", "> 0"),
        ({"shape": "sphere", "radius_cm": 1.0, "length_cm": 3.0}, "decay.volume.length_cm", "allowed keys"),
        ({"shape": "cylinder", "radius_cm": 1.0, "length_cm": 3.0, "axis": "w"}, "decay.volume.axis", "'x', 'y', 'z'"),
        ({"shape": "box", "size_cm": [1, 2]}, "decay.volume.size_cm", "three"),
        ({"shape": "box", "size_cm": [1, 2, 3], "particles": "N5"}, "decay.volume.particles", "list"),
    ],
)
def test_volume_card_errors(table, key, text):
    with pytest.raises(CardError, match=text) as exc:
        volume_from_card(table)
    assert exc.value.key == key


def test_shells_boxes_from_corners_and_unions():
    """The shapes detectors use: shells, corner boxes and unions, on (n, 3) and (n, k, 3) points (cm)."""
    shell = Sphere(radius_cm=10.0, inner_radius_cm=4.0)
    pts = np.array([[0.0, 0.0, 3.9], [0.0, 0.0, 4.0], [6.0, 8.0, 0.0], [6.0, 8.0, 0.1], [np.nan, 0.0, 0.0]])
    assert shell.contains(pts).tolist() == [False, True, True, False, False]
    tube = Cylinder(radius_cm=136.0, length_cm=200.0, inner_radius_cm=92.0)
    pts = np.array([[100.0, 0, 0], [50.0, 0, 0], [140.0, 0, 0], [0, 100.0, 99.0], [0, 100.0, 101.0]])
    assert tube.contains(pts).tolist() == [True, False, False, True, False]
    box = Box.from_corners((0.0, -1.0, 0.0), (2.0, 1.0, 5.0))
    assert box == Box(size_cm=(2.0, 2.0, 5.0), center_cm=(1.0, 0.0, 2.5))
    union = Union((Sphere(5.0, (0.0, 0.0, 10.0)), box))
    assert union.contains(np.array([[0, 0, 12.0], [1, 0, 1], [50, 50, 50]])).tolist() == [True, True, False]
    grid = np.zeros((4, 3, 3))
    grid[:, 1, 2] = 12.0
    grid[:, 2] = 50.0
    assert union.contains(grid).tolist() == [[True, True, False]] * 4
    # volumes: 4/3 pi (R^3 - r^3) and pi (R^2 - r^2) L
    assert shell.volume_cm3 == pytest.approx(4.0 / 3.0 * math.pi * (1000.0 - 64.0), rel=1e-14)
    assert tube.volume_cm3 == pytest.approx(math.pi * (136.0**2 - 92.0**2) * 200.0, rel=1e-14)


@pytest.mark.parametrize("shape", [Sphere(10.0, inner_radius_cm=4.0), Cylinder(5.0, 10.0, inner_radius_cm=1.0),
                                   Union((Sphere(1.0), Box((1.0, 1.0, 1.0))))], ids=lambda s: type(s).__name__)
def test_entry_exit_refuses_several_segments(shape):
    o, d = np.zeros((2, 3)), np.tile([0.0, 0.0, 1.0], (2, 1))
    with pytest.raises(GeometryError, match="entry_exit"):
        shape.entry_exit(o, d)
