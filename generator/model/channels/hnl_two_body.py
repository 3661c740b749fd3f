"""On-shell two-body HNL decays N_i -> N_j Z' and N_i -> N_j phi' (also to light states), widths in GeV.

Vertices: generator.model.vertices (Z' matrix in the chosen convention; scalar S of Eq. A2).
"""

from __future__ import annotations

from generator.model.channels.registry import ChannelContext, DecayChannel, register_channel
from generator.model.rates import gamma_fermion_to_fermion_scalar, gamma_fermion_to_fermion_vector
from generator.model.vertices import majorana_scalar_vertex, vector_vertex


@register_channel("hnl_to_zprime", "hnl", order=10, scope="pair")
def hnl_to_zprime(ctx: ChannelContext, j: int) -> list[DecayChannel]:
    """N_i -> N_j Z' where open on shell (rates.gamma_fermion_to_fermion_vector)."""
    if not ctx.zp_on_shell(j):
        return []
    spec = ctx.spec
    m, mz = spec.masses, spec.params.m_Zprime
    aL, aR = vector_vertex(1.0, ctx.Xzp, j, ctx.i, ctx.convention)
    w = gamma_fermion_to_fermion_vector(m[ctx.i], m[j], mz, aL, aR)
    return [DecayChannel(ctx.parent, (spec.names[j], "Z'"), w, "two_body", (m[j], mz))]


@register_channel("hnl_to_phiprime", "hnl", order=20, scope="pair")
def hnl_to_phiprime(ctx: ChannelContext, j: int) -> list[DecayChannel]:
    """N_i -> N_j phi' where open on shell (rates.gamma_fermion_to_fermion_scalar)."""
    spec = ctx.spec
    m, ms = spec.masses, spec.params.m_phiprime
    if not m[ctx.i] > m[j] + ms:
        return []
    yL, yR = majorana_scalar_vertex(spec.S, j, ctx.i)
    w = gamma_fermion_to_fermion_scalar(m[ctx.i], m[j], ms, yL, yR)
    return [DecayChannel(ctx.parent, (spec.names[j], "phi'"), w, "two_body", (m[j], ms))]
