"""Z' decay channels: N_j N_k pairs (light pairs summed into "Z' -> nu nu"), charged leptons, hadrons.

Couplings: Eq. (3) (charged leptons, hadrons through the EM current), Eq. (A2) with the vertex matrix of
generator.model.vertices (neutrino pairs). Widths in GeV.
"""

from __future__ import annotations

from generator import constants as const
from generator.model import couplings as cpl
from generator.model.channels.registry import (
    LEPTONS,
    ChannelContext,
    DecayChannel,
    boson_to_neutrino_pairs,
    register_channel,
)
from generator.model.hadrons import gamma_vector_to_hadrons
from generator.model.rates import gamma_vector_to_fermions
from generator.model.vertices import vector_vertex
from generator.particles import LEPTON_PAIR


@register_channel("zprime_neutrinos", "Z'", order=10)
def zprime_neutrinos(ctx: ChannelContext) -> list[DecayChannel]:
    """Z' -> N_j N_k for all open pairs (j <= k, masses kept, 1/2 for j = k in convention "majorana"); the light
    pairs and the SM flavours outside the model (massless Weyl pair through the NC piece) are summed into
    "Z' -> nu nu" (always listed, possibly with width 0)."""
    spec = ctx.spec
    p = spec.params
    M = p.m_Zprime
    X = ctx.Xzp
    m = spec.masses

    def width(j, k, identical):
        aL, aR = vector_vertex(1.0, X, k, j, ctx.convention)
        return gamma_vector_to_fermions(M, m[j], m[k], aL, aR, identical=identical)

    out, w_nunu = boson_to_neutrino_pairs(ctx, "Z'", M, width)
    kappa = cpl.zprime_nc_coupling(p)
    n_missing = sum(1 for f in LEPTONS if f not in p.flavours)
    w_nunu += n_missing * gamma_vector_to_fermions(M, 0.0, 0.0, kappa, 0.0)
    out.append(DecayChannel("Z'", ("nu", "nu"), w_nunu, "two_body", (0.0, 0.0)))
    return out


@register_channel("zprime_leptons", "Z'", order=20)
def zprime_leptons(ctx: ChannelContext) -> list[DecayChannel]:
    """Z' -> l+ l- with the full couplings of Eq. (3) (couplings.zprime_fermion_couplings), open channels only."""
    p = ctx.spec.params
    M = p.m_Zprime
    out: list[DecayChannel] = []
    for lep in LEPTONS:
        ml = const.LEPTON_MASS[lep]
        gL, gR = cpl.zprime_fermion_couplings(p, lep)
        w = gamma_vector_to_fermions(M, ml, ml, gL, gR)
        if w > 0.0:
            out.append(DecayChannel("Z'", LEPTON_PAIR[lep][::-1], w, "two_body", (ml, ml)))
    return out


@register_channel("zprime_hadrons", "Z'", order=30)
def zprime_hadrons(ctx: ChannelContext) -> list[DecayChannel]:
    """Inclusive Z' -> hadrons through R(s) (hadrons.gamma_vector_to_hadrons), kind "hadrons"."""
    p = ctx.spec.params
    w_had = gamma_vector_to_hadrons(p.m_Zprime, cpl.zprime_em_coupling(p))
    return [DecayChannel("Z'", ("hadrons",), w_had, "hadrons", ())] if w_had > 0.0 else []
