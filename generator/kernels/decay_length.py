"""Decay positions of unstable particles: free exponential decays and decays forced into a path interval.

A particle of mass m, lab four-momentum p and proper decay length c*tau0 (cm) decays after a proper
path s = c * (proper time), exponentially distributed with mean c*tau0 (radioactive-decay law,
dP/ds = exp(-s / c tau0) / c tau0). Its decay vertex follows from the four-velocity u = p / m
(dx/ds = u, e.g. Jackson, Classical Electrodynamics, Sec. 11.5):

    x_decay = x_production + s * p / m    i.e.  Delta(c t) = s E / m,  Delta(x) = s p_vec / m,

so the lab flight distance is d = beta gamma s with beta gamma = |p| / m (lab decay length
L = beta gamma c tau0). Forcing the decay into the flight interval [d_in, d_out] (a volume crossed by the
flight line) samples the truncated exponential and returns the probability of decaying there,

    P = exp(-s_in / c tau0) - exp(-s_out / c tau0),  s = d m / |p|,

computed with expm1 so that it stays accurate when c tau0 >> d (long-lived N4: P ~ (d_out - d_in) / L).

Units: GeV for p and m, cm for c*tau0, distances and positions (c*t, x, y, z).
"""

from __future__ import annotations

import math

import numpy as np

from generator.kernels import kernel


@kernel
def _free_kernel(x0, p, mass, ctau0, u):
    n = p.shape[0]
    x = np.empty((n, 4))
    s_out = np.empty(n)
    for i in range(n):
        # inverse-CDF sampling of the exponential law: s = -c tau0 ln(1 - u)
        s = -ctau0 * math.log1p(-u[i])
        s_out[i] = s
        f = s / mass[i]
        for a in range(4):
            x[i, a] = x0[i, a] + f * p[i, a]
    return x, s_out


@kernel
def _interval_kernel(x0, p, mass, ctau0, d_in, d_out, u):
    n = p.shape[0]
    x = np.empty((n, 4))
    prob = np.zeros(n)
    for i in range(n):
        pm = math.sqrt(p[i, 1] ** 2 + p[i, 2] ** 2 + p[i, 3] ** 2)
        a_in, a_out = d_in[i], d_out[i]
        if not (math.isfinite(a_in) and a_out > a_in):
            for a in range(4):
                x[i, a] = math.nan
            continue
        m = mass[i]
        # flight distance d -> proper path s = d m / |p| (a particle at rest only "reaches" d = 0)
        if pm > 0.0:
            s_in = a_in * m / pm
            s_out = a_out * m / pm if math.isfinite(a_out) else math.inf
        else:
            s_in = 0.0 if a_in <= 0.0 else math.inf
            s_out = math.inf
        if not math.isfinite(s_in):
            for a in range(4):
                x[i, a] = math.nan
            continue
        # P(s_in < s < s_out) = exp(-s_in/ct) (1 - exp(-(s_out - s_in)/ct)), truncated inverse CDF
        frac = 1.0 if not math.isfinite(s_out) else -math.expm1(-(s_out - s_in) / ctau0)
        prob[i] = math.exp(-s_in / ctau0) * frac
        s = s_in - ctau0 * math.log1p(-u[i] * frac)
        f = s / m
        for a in range(4):
            x[i, a] = x0[i, a] + f * p[i, a]
    return x, prob


def _prep(x0, p, mass):
    p = np.ascontiguousarray(p, dtype=np.float64)
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    mass = np.ascontiguousarray(np.broadcast_to(np.asarray(mass, dtype=np.float64), (p.shape[0],)))
    return x0, p, mass


def lab_decay_length(p: np.ndarray, mass, ctau0_cm: float) -> np.ndarray:
    """Lab-frame mean decay length beta*gamma*c*tau0 (cm) for four-momenta p (n, 4) [GeV] and mass [GeV]."""
    p = np.asarray(p, dtype=float)
    return np.linalg.norm(p[..., 1:4], axis=-1) / np.asarray(mass, dtype=float) * ctau0_cm


def sample_decay_vertices(x0: np.ndarray, p: np.ndarray, mass, ctau0_cm: float,
                          u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decay vertices (n, 4) = (c*t, x, y, z) in cm of particles produced at x0 (n, 4) [cm].

    p : (n, 4) lab four-momenta (GeV); mass : GeV (scalar or (n,)); ctau0_cm : proper decay length
    c*tau0 from the TOTAL width (cm); u : (n,) uniform numbers in [0, 1).
    Returns (x_decay, s) with s the proper path c*(proper time) in cm (exponential with mean ctau0_cm).
    """
    if not ctau0_cm > 0:
        msg = f"ctau0_cm = {ctau0_cm}: must be > 0"
        raise ValueError(msg)
    x0, p, mass = _prep(x0, p, mass)
    return _free_kernel(x0, p, mass, float(ctau0_cm), np.ascontiguousarray(u, dtype=np.float64))


def sample_decay_vertices_in(
    x0: np.ndarray, p: np.ndarray, mass, ctau0_cm: float, d_in: np.ndarray, d_out: np.ndarray, u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Decay vertices forced into the lab flight interval [d_in, d_out] (cm from x0 along p).

    Arguments as in :func:`sample_decay_vertices`, plus d_in, d_out (n,) flight distances in cm
    (d_out may be inf; rows with d_in = inf or d_out <= d_in never decay there).
    Returns (x_decay (n, 4) in cm, prob (n,)), prob = probability to decay inside the interval, the
    weight factor of a forced decay. Rows with prob = 0 have x_decay = nan.
    """
    if not ctau0_cm > 0:
        msg = f"ctau0_cm = {ctau0_cm}: must be > 0"
        raise ValueError(msg)
    x0, p, mass = _prep(x0, p, mass)
    f = np.ascontiguousarray
    return _interval_kernel(
        x0, p, mass, float(ctau0_cm), f(d_in, dtype=np.float64), f(d_out, dtype=np.float64), f(u, dtype=np.float64)
    )


__all__ = ["lab_decay_length", "sample_decay_vertices", "sample_decay_vertices_in"]
