"""Spin-summed |M|^2 of N_i -> N_j f fbar through neutral vector mediators (numba kernels).

Amplitude (all mediators k share q = p1 + p2):

    M = sum_k [ubar_j gamma^mu (aL_k P_L + aR_k P_R) u_i] [ubar_1 gamma_mu (bL_k P_L + bR_k P_R) v_2]
              / D_k(q^2)

D_k is the propagator denominator of generator.model.propagator: q^2 - m_k^2 + i q^2 G_k / m_k (running width,
G_k = on-shell total width; no width for q^2 <= 0), so far off shell the rate tends to the contact limit.

The q^mu q^nu / m_k^2 part of the massive propagator is dropped: it vanishes exactly for a vector
coupling to f fbar with m_1 = m_2 (current conservation) and is O(m_f m_N / m_k^2) otherwise.

Trace calculation (our own; checked in tests/model/test_model_widths.py against explicit Dirac matrices
and spinors). Collect the chiral coefficients C_XY = sum_k aX_k bY_k D_k (X, Y = L, R). The parent
spin density is u ubar = (p_i-slash + m_i)(1 + gamma5 s-slash)/2, which we split into light-like
vectors k_R = (p_i + m_i s)/2, k_L = (p_i - m_i s)/2:

    u ubar = P_R k_R-slash + P_L k_L-slash + (P_R k_R-slash k_L-slash + P_L k_L-slash k_R-slash)/m_i.

With Tr[a gam^mu b gam^nu P_A] Tr[c gam_mu d gam_nu P_B] = 8[(a.c)(b.d)+(a.d)(b.c)] + 8 eta_A eta_B
[(a.c)(b.d)-(a.d)(b.c)] (eta_R = +1, eta_L = -1) and Tr[gam^mu gam^nu gam^rho gam^sigma gamma5] =
-4i eps^{mu nu rho sigma} (gamma5 = i gam^0 gam^1 gam^2 gam^3, eps^{0123} = +1), summing over the
spins of j, 1, 2:

    |M|^2 = 16 (p_j.p_1) [|C_LL|^2 (k_L.p_2) + |C_RR|^2 (k_R.p_2)]
          + 16 (p_j.p_2) [|C_LR|^2 (k_L.p_1) + |C_RL|^2 (k_R.p_1)]
          + 16 m_1 m_2 [(k_L.p_j) Re(C_LL C_LR^*) + (k_R.p_j) Re(C_RL C_RR^*)]
          + 8 m_j sum_{Y=L,R} { [-m_i (p_1.p_2) + eta_Y D] Re(C_RY C_LY^*) - eta_Y E Im(C_RY C_LY^*) }
          - 16 m_i m_j m_1 m_2 Re(C_LL C_RR^* + C_LR C_RL^*),

    D = (s.p_1)(p_i.p_2) - (p_i.p_1)(s.p_2),    E = eps_{mu nu rho sigma} p_1^mu p_i^nu p_2^rho s^sigma.

For s = 0 this is the average over the parent spin; for s^2 = -1 it is the rate of the pure state
with spin four-vector s (not averaged). The unpolarised limit reproduces the standard chiral
four-fermion result (e.g. the muon-decay trace 16 (p_i.p_2)(p_j.p_1) per spin sum for C_LL).

Units: momenta, masses and widths in GeV; couplings dimensionless; |M|^2 in GeV^-2 * (coupling)^4
scale, i.e. dimensionless x GeV^4 / GeV^4 (propagators 1/GeV^2 squared times GeV^4 from the traces).
"""

from __future__ import annotations

import numpy as np

from generator.kernels import kernel
from generator.model.propagator import denominator_kernel

__all__ = ["dalitz_invariants", "dalitz_msq", "msq_vector"]


@kernel(inline="always")
def _dot(a0, a1, a2, a3, b0, b1, b2, b3):
    # Minkowski product, metric (+,-,-,-).
    return a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3


@kernel
def _chiral_coefficients(q2, med_m, med_w, aL, aR, bL, bR):
    """C_XY = sum_k aX_k bY_k / D_k(q2) (GeV^-2), D_k from generator.model.propagator (running width)."""
    cll = 0j
    clr = 0j
    crl = 0j
    crr = 0j
    for k in range(med_m.shape[0]):
        d = 1.0 / denominator_kernel(q2, med_m[k], med_w[k])
        cll += aL[k] * bL[k] * d
        clr += aL[k] * bR[k] * d
        crl += aR[k] * bL[k] * d
        crr += aR[k] * bR[k] * d
    return cll, clr, crl, crr


@kernel
def _msq_invariants(pipj, pip1, pip2, pjp1, pjp2, p1p2, sp1, sp2, spj, eps, mi, mj, m1, m2,
                    cll, clr, crl, crr):
    """|M|^2 from Lorentz invariants; formula and reference in the module docstring."""
    # k_{R,L} = (p_i +- m_i s)/2
    kr_p1 = 0.5 * (pip1 + mi * sp1)
    kl_p1 = 0.5 * (pip1 - mi * sp1)
    kr_p2 = 0.5 * (pip2 + mi * sp2)
    kl_p2 = 0.5 * (pip2 - mi * sp2)
    kr_pj = 0.5 * (pipj + mi * spj)
    kl_pj = 0.5 * (pipj - mi * spj)
    a2ll = cll.real ** 2 + cll.imag ** 2
    a2lr = clr.real ** 2 + clr.imag ** 2
    a2rl = crl.real ** 2 + crl.imag ** 2
    a2rr = crr.real ** 2 + crr.imag ** 2
    res = 16.0 * pjp1 * (a2ll * kl_p2 + a2rr * kr_p2)
    res += 16.0 * pjp2 * (a2lr * kl_p1 + a2rl * kr_p1)
    res += 16.0 * m1 * m2 * (kl_pj * (cll * np.conj(clr)).real + kr_pj * (crl * np.conj(crr)).real)
    dd = sp1 * pip2 - pip1 * sp2
    # Y = L (eta = -1): coefficient C_RL C_LL^*; Y = R (eta = +1): C_RR C_LR^*
    zl = crl * np.conj(cll)
    zr = crr * np.conj(clr)
    res += 8.0 * mj * ((-mi * p1p2 - dd) * zl.real + eps * zl.imag)
    res += 8.0 * mj * ((-mi * p1p2 + dd) * zr.real - eps * zr.imag)
    res -= 16.0 * mi * mj * m1 * m2 * ((cll * np.conj(crr)).real + (clr * np.conj(crl)).real)
    return res


@kernel
def _eps(a, b, c, d):
    """eps_{mu nu rho sigma} a^mu b^nu c^rho d^sigma with eps^{0123} = +1, i.e. eps_{0123} = -1.

    Equals -det[a; b; c; d] of the contravariant components.
    """
    c23 = c[2] * d[3] - c[3] * d[2]
    c13 = c[1] * d[3] - c[3] * d[1]
    c12 = c[1] * d[2] - c[2] * d[1]
    c03 = c[0] * d[3] - c[3] * d[0]
    c02 = c[0] * d[2] - c[2] * d[0]
    c01 = c[0] * d[1] - c[1] * d[0]
    det = (
        a[0] * (b[1] * c23 - b[2] * c13 + b[3] * c12)
        - a[1] * (b[0] * c23 - b[2] * c03 + b[3] * c02)
        + a[2] * (b[0] * c13 - b[1] * c03 + b[3] * c01)
        - a[3] * (b[0] * c12 - b[1] * c02 + b[2] * c01)
    )
    return -det


@kernel
def _msq_vector_kernel(pi, pj, p1, p2, si, mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR):
    n = pi.shape[0]
    out = np.empty(n)
    for e in range(n):
        a = pi[e]
        b = pj[e]
        c = p1[e]
        d = p2[e]
        s = si[e]
        pipj = _dot(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3])
        pip1 = _dot(a[0], a[1], a[2], a[3], c[0], c[1], c[2], c[3])
        pip2 = _dot(a[0], a[1], a[2], a[3], d[0], d[1], d[2], d[3])
        pjp1 = _dot(b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3])
        pjp2 = _dot(b[0], b[1], b[2], b[3], d[0], d[1], d[2], d[3])
        p1p2 = _dot(c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3])
        sp1 = _dot(s[0], s[1], s[2], s[3], c[0], c[1], c[2], c[3])
        sp2 = _dot(s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3])
        spj = _dot(s[0], s[1], s[2], s[3], b[0], b[1], b[2], b[3])
        eps = _eps(c, a, d, s)
        q2 = m1 * m1 + m2 * m2 + 2.0 * p1p2
        cll, clr, crl, crr = _chiral_coefficients(q2, med_m, med_w, aL, aR, bL, bR)
        out[e] = _msq_invariants(pipj, pip1, pip2, pjp1, pjp2, p1p2, sp1, sp2, spj, eps,
                                 mi, mj, m1, m2, cll, clr, crl, crr)
    return out


@kernel
def _dalitz_kernel(mff2, mjf2, mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR):
    n = mff2.shape[0]
    out = np.empty(n)
    tot = mi * mi + mj * mj + m1 * m1 + m2 * m2
    for e in range(n):
        s12 = mff2[e]
        sj1 = mjf2[e]
        sj2 = tot - s12 - sj1
        p1p2 = 0.5 * (s12 - m1 * m1 - m2 * m2)
        pjp1 = 0.5 * (sj1 - mj * mj - m1 * m1)
        pjp2 = 0.5 * (sj2 - mj * mj - m2 * m2)
        # p_i = p_j + p_1 + p_2
        pip1 = pjp1 + m1 * m1 + p1p2
        pip2 = pjp2 + p1p2 + m2 * m2
        pipj = mj * mj + pjp1 + pjp2
        cll, clr, crl, crr = _chiral_coefficients(s12, med_m, med_w, aL, aR, bL, bR)
        out[e] = _msq_invariants(pipj, pip1, pip2, pjp1, pjp2, p1p2, 0.0, 0.0, 0.0, 0.0,
                                 mi, mj, m1, m2, cll, clr, crl, crr)
    return out


def _couplings(med_m, med_w, aL, aR, bL, bR):
    med_m = np.ascontiguousarray(np.atleast_1d(med_m), dtype=np.float64)
    med_w = np.ascontiguousarray(np.atleast_1d(med_w), dtype=np.float64)
    cs = [np.ascontiguousarray(np.atleast_1d(x), dtype=np.complex128) for x in (aL, aR, bL, bR)]
    k = med_m.shape[0]
    for name, arr in zip(("med_w", "aL", "aR", "bL", "bR"), (med_w, *cs), strict=False):
        if arr.shape != (k,):
            msg = f"{name} has shape {arr.shape}; it must have one entry per mediator, ({k},)"
            raise ValueError(msg)
    return med_m, med_w, cs


def msq_vector(pi, pj, p1, p2, si, mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR) -> np.ndarray:
    """|M|^2 of N_i(p_i, s) -> N_j(p_j) f(p_1) fbar(p_2) through vector mediators, per event.

    Parameters
    ----------
    pi, pj, p1, p2 : (n, 4) four-momenta (E, px, py, pz) in GeV, any common frame.
    si : (n, 4) parent spin four-vector (s.p_i = 0, s^2 = -1, dimensionless); all-zero rows give
        the average over the parent spin.
    mi, mj, m1, m2 : masses of N_i, N_j, f, fbar in GeV (used instead of p^2 for precision).
    med_m, med_w : (k,) mediator masses and on-shell total widths in GeV (running width, module docstring).
    aL, aR, bL, bR : (k,) complex chiral couplings of each mediator to (N_j, N_i) and (f, fbar).

    Returns
    -------
    (n,) float64 |M|^2 summed over final spins (dimensionless: GeV^4 from the traces times
    GeV^-4 from the propagators). Formula: module docstring.
    """
    med_m, med_w, (aL, aR, bL, bR) = _couplings(med_m, med_w, aL, aR, bL, bR)
    arrs = [np.ascontiguousarray(x, dtype=np.float64) for x in (pi, pj, p1, p2, si)]
    n = arrs[0].shape[0]
    for name, arr in zip(("pi", "pj", "p1", "p2", "si"), arrs, strict=False):
        if arr.shape != (n, 4):
            msg = f"{name} has shape {arr.shape}; expected (n, 4) = ({n}, 4)"
            raise ValueError(msg)
    return _msq_vector_kernel(*arrs, float(mi), float(mj), float(m1), float(m2), med_m, med_w, aL, aR, bL, bR)


def dalitz_msq(mff2, mjf2, mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR) -> np.ndarray:
    """Spin-averaged |M|^2 of N_i -> N_j f fbar on the Dalitz plane.

    Parameters
    ----------
    mff2 : (n,) m_{f fbar}^2 = (p_1 + p_2)^2 in GeV^2.
    mjf2 : (n,) m_{j f}^2 = (p_j + p_1)^2 in GeV^2.
    mi, mj, m1, m2 : masses of N_i, N_j, f, fbar in GeV.
    med_m, med_w, aL, aR, bL, bR : as in :func:`msq_vector`.

    Returns
    -------
    (n,) |M|^2 averaged over the parent spin, summed over final spins (dimensionless). Points
    outside the physical region are not masked; use :func:`dalitz_invariants` limits.
    The width is dGamma = |M|^2 / (256 pi^3 m_i^3) dm_ff^2 dm_jf^2 (PDG kinematics, Eq. 49.22).
    """
    med_m, med_w, (aL, aR, bL, bR) = _couplings(med_m, med_w, aL, aR, bL, bR)
    mff2 = np.ascontiguousarray(np.atleast_1d(mff2), dtype=np.float64)
    mjf2 = np.ascontiguousarray(np.atleast_1d(mjf2), dtype=np.float64)
    if mff2.shape != mjf2.shape:
        msg = f"mff2 {mff2.shape} and mjf2 {mjf2.shape} must have the same shape"
        raise ValueError(msg)
    return _dalitz_kernel(mff2, mjf2, float(mi), float(mj), float(m1), float(m2), med_m, med_w, aL, aR, bL, bR)


def dalitz_invariants(mff2, mi, mj, m1, m2):
    """Kinematic limits of m_{jf}^2 at fixed m_{ff}^2 (PDG kinematics, Eq. 49.23).

    Parameters: mff2 (n,) in GeV^2; masses in GeV. Returns (lo, hi) arrays of m_{jf}^2 in GeV^2.
    In the f fbar rest frame: E_1* = (m_ff^2 - m_2^2 + m_1^2)/(2 m_ff), E_j* = (m_i^2 - m_ff^2 - m_j^2)/(2 m_ff).
    """
    mff2 = np.asarray(mff2, dtype=np.float64)
    mff = np.sqrt(mff2)
    e1 = (mff2 - m2 * m2 + m1 * m1) / (2.0 * mff)
    ej = (mi * mi - mff2 - mj * mj) / (2.0 * mff)
    p1 = np.sqrt(np.clip(e1 * e1 - m1 * m1, 0.0, None))
    pj = np.sqrt(np.clip(ej * ej - mj * mj, 0.0, None))
    base = (e1 + ej) ** 2
    return base - (p1 + pj) ** 2, base - (p1 - pj) ** 2
