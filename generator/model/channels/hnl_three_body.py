"""Three-body HNL decays through virtual Z', Z and W, widths from the Dalitz integral (GeV).

Which mediators enter N_i -> X f fbar:
- Z': g_X V + g/(2 c_W) (m_Z'/m_Z)^2 chi C on the neutrino line (Eq. 3, NC piece), couplings.zprime_fermion_couplings
  on the charged-lepton line; the Z' propagator has the running width of generator.model.propagator (on-shell total
  width Gamma_Z', none for q^2 <= 0; the Z and W likewise).
- Z: g/(2 c_W) C + g_X s_W chi V (Eqs. A2, B4) on the neutrino line, couplings.z_fermion_couplings on the lepton line.
- W (charged current, Fierz-rearranged into the neutral-current form, valid for q^2 << m_W^2): flavour alpha = l
  adds g/sqrt2 C^alpha (C^alpha_ji = U_alpha j^* U_alpha i) on the neutrino line and g/sqrt2 P_L on the lepton line,
  i.e. g_L^l -> g_L^l + 1 (standard, e.g. Bondarenko et al. arXiv:1805.08567 Eq. 3.5).
The Z' is dropped from a three-body channel whose two-body N_i -> N_j Z' is open (narrow width: the on-shell
two-body channel plus the Z' branching ratios replace it).
Not included (negligible for the benchmark points, see tests): N -> hadrons through mixing, N_i -> N_j l_a l_b
with a != b, scalar (phi', h) exchange in three-body decays.
"""

from __future__ import annotations

import math

import numpy as np
from particle import Particle

from generator import constants as const
from generator.model import couplings as cpl
from generator.model.channels.registry import (
    LEPTONS,
    ChannelContext,
    DecayChannel,
    register_channel,
    three_body_channel,
)
from generator.model.vertices import c_alpha, vector_vertex
from generator.particles import LEPTON_PAIR

#: W width in GeV (PDG, via ``particle``).
GAMMA_W = Particle.from_pdgid(24).width * const.MEV
#: W coupling to the charged current, g / sqrt 2 (dimensionless).
G_W = const.G_WEAK / math.sqrt(2.0)


@register_channel("hnl_lepton_pair", "hnl", order=30, scope="pair")
def hnl_lepton_pair(ctx: ChannelContext, j: int) -> list[DecayChannel]:
    """N_i -> N_j l+ l- (j heavy or light) through Z' (unless on shell), Z and the W-Fierz piece, kind
    "three_body_vector"."""
    spec, p, convention, i = ctx.spec, ctx.spec.params, ctx.convention, ctx.i
    m = spec.masses
    mi, mj = m[i], m[j]
    zp_on_shell = ctx.zp_on_shell(j)
    out: list[DecayChannel] = []
    for lep in LEPTONS:
        ml = const.LEPTON_MASS[lep]
        if mi <= mj + 2.0 * ml:
            continue
        med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
        if not zp_on_shell:
            a = vector_vertex(1.0, ctx.Xzp, j, i, convention)
            b = cpl.zprime_fermion_couplings(p, lep)
            med_m.append(p.m_Zprime), med_w.append(ctx.zprime_width)
            aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
        a = vector_vertex(1.0, ctx.Xz, j, i, convention)
        b = cpl.z_fermion_couplings(lep)
        med_m.append(const.M_Z), med_w.append(const.GAMMA_Z)
        aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
        ca = c_alpha(spec, lep)
        if ca is not None:
            a = vector_vertex(G_W, ca, j, i, convention)
            med_m.append(const.M_W), med_w.append(GAMMA_W)
            aL.append(a[0]), aR.append(a[1]), bL.append(G_W), bR.append(0.0)
        lm, lp = LEPTON_PAIR[lep]
        out.append(three_body_channel(ctx.parent, (spec.names[j], lm, lp), "three_body_vector", (mi, mj, ml, ml),
                                      med_m, med_w, aL, aR, bL, bR, label=f"{ctx.parent} -> {spec.names[j]} {lp} {lm}"))
    return out


@register_channel("hnl_nunu", "hnl", order=40, scope="pair")
def hnl_nunu(ctx: ChannelContext, j: int) -> list[DecayChannel]:
    """N_i -> N_j nu nu (heavy j only; light j: :func:`hnl_three_nu`): direct diagram (heavy current x light pair),
    light Majorana pairs a <= b (1/2 for a = b) plus massless SM flavours outside the model (Weyl pair, NC couplings
    only), summed into one channel with the couplings of its largest term. The exchange diagrams
    (N_i -> nu_a, N_j nu_b pairs, proportional to V_ai V_jb) are not included."""
    spec, p, convention, i = ctx.spec, ctx.spec.params, ctx.convention, ctx.i
    m = spec.masses
    nl = spec.n_light
    if j < nl:
        return []
    zp_on_shell = ctx.zp_on_shell(j)
    Xzp, Xz = ctx.Xzp, ctx.Xz
    kappa = cpl.zprime_nc_coupling(p)
    gz = const.G_WEAK / (2.0 * const.CW)
    total = 0.0
    first = None
    light_pairs = [(a, b) for a in range(nl) for b in range(a, nl)]
    n_missing = sum(1 for f in LEPTONS if f not in p.flavours)
    for pair in [*light_pairs, None]:
        med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
        for X, M, W, g_sm in ((Xzp, p.m_Zprime, ctx.zprime_width, kappa), (Xz, const.M_Z, const.GAMMA_Z, gz)):
            if X is Xzp and zp_on_shell:
                continue
            a = vector_vertex(1.0, X, j, i, convention)
            b = (g_sm, 0.0) if pair is None else vector_vertex(1.0, X, pair[1], pair[0], convention)
            med_m.append(M), med_w.append(W), aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
        if pair is None:
            if n_missing == 0:
                continue
            masses, factor = (m[i], m[j], 0.0, 0.0), float(n_missing)
        else:
            masses, factor = (m[i], m[j], m[pair[0]], m[pair[1]]), (0.5 if pair[0] == pair[1] else 1.0)
        ch = three_body_channel(ctx.parent, (spec.names[j], "nu", "nu"), "three_body_vector", masses,
                                med_m, med_w, aL, aR, bL, bR, factor)
        total += ch.width_GeV
        if first is None or ch.width_GeV > first.width_GeV:
            first = ch
    if first is None:
        return []
    return [DecayChannel(ctx.parent, first.daughters, total, "three_body_vector", first.daughter_masses, first.med_m,
                         first.med_w, first.aL, first.aR, first.bL, first.bR)]


@register_channel("hnl_three_nu", "hnl", order=50)
def hnl_three_nu(ctx: ChannelContext) -> list[DecayChannel]:
    """N_i -> nu nu nu summed over light mass states nu_a and SM flavours beta, kind "three_body_invisible":
    Gamma = sum_a Gamma_1(a) (3 + sum_beta in model |U_beta a|^2), Gamma_1 = one Weyl pair nu_beta nubar_beta through
    the Z (g/2c_W) and the Z' NC piece; the extra |U_beta a|^2 is the (1 + delta_ab) identical-flavour interference
    of the contact limit (Gorbunov & Shaposhnikov arXiv:0705.1729 Eq. 3.x; Bondarenko et al. Eq. 3.4). The Majorana
    factor 2 is contained in the Majorana vertex (a_R term)."""
    spec, p, convention, i = ctx.spec, ctx.spec.params, ctx.convention, ctx.i
    m = spec.masses
    Xzp, Xz = ctx.Xzp, ctx.Xz
    kappa = cpl.zprime_nc_coupling(p)
    gz = const.G_WEAK / (2.0 * const.CW)
    total = 0.0
    best = None
    for a in range(spec.n_light):
        med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
        for X, M, W, g_sm in ((Xzp, p.m_Zprime, ctx.zprime_width, kappa), (Xz, const.M_Z, const.GAMMA_Z, gz)):
            if X is Xzp and m[i] > m[a] + p.m_Zprime:
                continue
            va = vector_vertex(1.0, X, a, i, convention)
            med_m.append(M), med_w.append(W), aL.append(va[0]), aR.append(va[1]), bL.append(g_sm), bR.append(0.0)
        factor = 3.0 + sum(abs(spec.U_flavour(f)[a]) ** 2 for f in p.flavours)
        ch = three_body_channel(ctx.parent, ("nu", "nu", "nu"), "three_body_invisible", (m[i], m[a], 0.0, 0.0),
                                med_m, med_w, aL, aR, bL, bR, factor)
        total += ch.width_GeV
        if best is None or ch.width_GeV > best.width_GeV:
            best = ch
    if best is None:
        return []
    return [DecayChannel(ctx.parent, best.daughters, total, best.kind, best.daughter_masses, best.med_m, best.med_w,
                         best.aL, best.aR, best.bL, best.bR)]


@register_channel("hnl_charged_current", "hnl", order=60)
def hnl_charged_current(ctx: ChannelContext) -> list[DecayChannel]:
    """N_i -> l_a^- l_b^+ nu_b (W, a != b) and its charge conjugate, each one Majorana half, kind "three_body_cc"."""
    spec, p, i = ctx.spec, ctx.spec.params, ctx.i
    mi = spec.masses[i]
    name = ctx.parent
    out: list[DecayChannel] = []
    for la in p.flavours:
        ua = spec.U_flavour(la)[i]
        ma = const.LEPTON_MASS[la]
        for lb in LEPTONS:
            mb = const.LEPTON_MASS[lb]
            if lb == la or mi <= ma + mb:
                continue
            lam_, lbp = LEPTON_PAIR[la][0], LEPTON_PAIR[lb][1]
            ch = three_body_channel(name, (lam_, "nu", lbp), "three_body_cc", (mi, ma, 0.0, mb), [const.M_W],
                                    [GAMMA_W], [G_W * ua], [0.0], [G_W], [0.0], label=f"{name} -> {lam_} {lbp} nu")
            out.append(ch)
            # charge conjugate N -> l_a^+ (W^- -> l_b^- nubar): heavy line a_R, light (l_b^-, nubar) b_L.
            out.append(DecayChannel(name, (LEPTON_PAIR[la][1], LEPTON_PAIR[lb][0], "nu"), ch.width_GeV,
                                    "three_body_cc", (ma, mb, 0.0), ch.med_m, ch.med_w,
                                    np.zeros(1, complex), np.array([-G_W * np.conj(ua)]),
                                    np.array([G_W + 0j]), np.zeros(1, complex)))
    return out
