"""Radiative HNL decay N -> nu gamma (SM one loop), width in GeV."""

from __future__ import annotations

from generator.model.channels.registry import ChannelContext, DecayChannel, register_channel
from generator.model.rates import gamma_nu_gamma


@register_channel("hnl_radiative", "hnl", order=70)
def hnl_radiative(ctx: ChannelContext) -> list[DecayChannel]:
    """N_i -> nu gamma with sum_alpha |U_alpha i|^2 over the model's flavours (rates.gamma_nu_gamma)."""
    spec = ctx.spec
    u2 = sum(abs(spec.U_flavour(f)[ctx.i]) ** 2 for f in spec.params.flavours)
    return [DecayChannel(ctx.parent, ("nu", "gamma"), gamma_nu_gamma(spec.masses[ctx.i], u2), "two_body", (0.0, 0.0))]
