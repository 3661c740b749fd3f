"""phi' decay channels: N_j N_k through S (light pairs summed into "phi' -> nu nu"), Z'Z', and through the Higgs
mixing sin_theta: charged leptons and hadrons. Widths in GeV.
"""

from __future__ import annotations

from generator import constants as const
from generator.model.channels.registry import (
    LEPTONS,
    ChannelContext,
    DecayChannel,
    boson_to_neutrino_pairs,
    register_channel,
)
from generator.model.hadrons import gamma_scalar_to_hadrons
from generator.model.rates import gamma_scalar_to_fermions, gamma_scalar_to_vectors
from generator.model.vertices import majorana_scalar_vertex
from generator.particles import LEPTON_PAIR


@register_channel("phiprime_neutrinos", "phi'", order=10)
def phiprime_neutrinos(ctx: ChannelContext) -> list[DecayChannel]:
    """phi' -> N_j N_k through S (Eq. A2; 1/2 for j = k in convention "majorana"); light pairs summed into
    "phi' -> nu nu" (listed when its width is > 0)."""
    spec = ctx.spec
    M = spec.params.m_phiprime
    m = spec.masses

    def width(j, k, identical):
        yL, yR = majorana_scalar_vertex(spec.S, k, j)
        return gamma_scalar_to_fermions(M, m[j], m[k], yL, yR, identical=identical)

    out, w_nunu = boson_to_neutrino_pairs(ctx, "phi'", M, width)
    if w_nunu > 0.0:
        out.append(DecayChannel("phi'", ("nu", "nu"), w_nunu, "two_body", (0.0, 0.0)))
    return out


@register_channel("phiprime_zprimes", "phi'", order=20)
def phiprime_zprimes(ctx: ChannelContext) -> list[DecayChannel]:
    """phi' -> Z'Z' from L = g_X m_Z' phi' Z'Z' (|D Phi|^2 with Phi = (v_Phi + phi')/sqrt2, m_Z' = g_X v_Phi)."""
    p = ctx.spec.params
    w_zz = gamma_scalar_to_vectors(p.m_phiprime, p.m_Zprime, p.g_X * p.m_Zprime)
    return [DecayChannel("phi'", ("Z'", "Z'"), w_zz, "two_body", (p.m_Zprime, p.m_Zprime))] if w_zz > 0.0 else []


@register_channel("phiprime_leptons", "phi'", order=30)
def phiprime_leptons(ctx: ChannelContext) -> list[DecayChannel]:
    """phi' -> l+ l- through the Higgs mixing, Yukawa y = m_l sin_theta / v_H."""
    p = ctx.spec.params
    out: list[DecayChannel] = []
    if p.sin_theta == 0.0:
        return out
    for lep in LEPTONS:
        ml = const.LEPTON_MASS[lep]
        y = ml * p.sin_theta / const.V_HIGGS
        w = gamma_scalar_to_fermions(p.m_phiprime, ml, ml, y, y)
        if w > 0.0:
            out.append(DecayChannel("phi'", LEPTON_PAIR[lep][::-1], w, "two_body", (ml, ml)))
    return out


@register_channel("phiprime_hadrons", "phi'", order=40)
def phiprime_hadrons(ctx: ChannelContext) -> list[DecayChannel]:
    """Inclusive phi' -> hadrons through the Higgs mixing (hadrons.gamma_scalar_to_hadrons), kind "hadrons"."""
    p = ctx.spec.params
    if p.sin_theta == 0.0:
        return []
    w_had = gamma_scalar_to_hadrons(p.m_phiprime, p.sin_theta)
    return [DecayChannel("phi'", ("hadrons",), w_had, "hadrons", ())] if w_had > 0.0 else []
