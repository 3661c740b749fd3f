"""One decay step and the recursive chain: decay_particle, decay_blocks (entry point of the run).

Units: GeV (energies, momenta, masses, widths), cm (positions, c*t, decay lengths).
"""

from __future__ import annotations

import numpy as np

from generator.decay.plan import DecayPlan
from generator.errors import PhysicsError
from generator.kernels.decay_length import sample_decay_vertices, sample_decay_vertices_in
from generator.kernels.lorentz import boost_to_lab, invariant_mass, unit3
from generator.particles import ParticleTable, record_name
from generator.record import STATUS_DECAYED, STATUS_FINAL, EventBlock

__all__ = ["MASS_TOLERANCE", "decay_blocks", "decay_particle"]

#: relative tolerance on |m(p_parent) - m_model| / m_model before a decay refuses to run.
MASS_TOLERANCE = 1e-6


def _names_of(block: EventBlock, table: ParticleTable) -> tuple[str, ...]:
    if block.names is not None:
        return tuple(block.names)
    return tuple(table.name_of(c) for c in block.pdg)


def _next_unstable(block: EventBlock, names: tuple[str, ...], plan: DecayPlan) -> int | None:
    for k in np.flatnonzero(block.status == STATUS_FINAL):
        if plan.options(plan.table.canonical(names[k]))[0]:
            return int(k)
    return None


def decay_particle(block: EventBlock, k: int, chan, plan: DecayPlan, rng: np.random.Generator,
                   weight_factor: float = 1.0) -> EventBlock | None:
    """Decay particle k of every event of ``block`` through channel ``chan``; returns the new block.

    The new block has the parent's status set to 2 and the daughters appended (mother = k, production
    vertex = sampled decay vertex, pol = 0); weights are multiplied by ``weight_factor`` (forced-mode
    branching ratio) and by the decay probability inside the forced volume, if any. Returns None when
    no event survives (all flight lines miss the volume).
    """
    names = _names_of(block, plan.table)
    name = plan.table.canonical(names[k])
    n = block.n_events
    P = block.p[:, k]
    M = plan.table.mass(name)
    m_rec = invariant_mass(P)
    bad = np.abs(m_rec - M) > MASS_TOLERANCE * M
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{name} in block {block.channel!r}, event {i}: invariant mass {m_rec[i]:.9g} GeV differs "
                           f"from the model mass {M:.9g} GeV by more than {MASS_TOLERANCE:g} (relative)"
        )
        raise PhysicsError(msg)
    weight = block.weight * weight_factor
    ctau = plan.ctau0_cm(name)
    x0 = block.x[:, k]
    keep = None
    if plan.volume is not None and plan.volume.applies_to(name):
        direction = unit3(P)
        t_in, t_out = plan.volume.shape.entry_exit(x0[:, 1:4], direction)
        x_dec, prob = sample_decay_vertices_in(x0, P, M, ctau, t_in, t_out, rng.random(n))
        weight = weight * prob
        keep = prob > 0
    else:
        x_dec, _ = sample_decay_vertices(x0, P, M, ctau, rng.random(n))
    sampler = plan.sampler(chan, rng)
    pol = block.pol[:, k]
    spin = pol[:, None] * unit3(P) if np.any(pol != 0) else None
    rest = sampler.sample(spin, n, rng)
    lab = boost_to_lab(rest, P, M)  # known mass: (M, 0) -> P exactly, four-momentum conserved to rounding
    n_old, nd = block.n_particles, lab.shape[1]
    # new columns filled in place (no intermediate copies of the (n, P, 4) arrays)
    p_new = np.empty((n, n_old + nd, 4))
    p_new[:, :n_old] = block.p
    p_new[:, n_old:] = lab
    x_new = np.empty((n, n_old + nd, 4))
    x_new[:, :n_old] = block.x
    x_new[:, n_old:] = x_dec[:, None, :]
    pol_new = np.zeros((n, n_old + nd))
    pol_new[:, :n_old] = block.pol
    status = block.status.copy()
    status[k] = STATUS_DECAYED
    new = EventBlock(
        channel=block.channel,
        pdg=np.concatenate([block.pdg, [plan.table.pdg(d) for d in chan.daughters]]),
        status=np.concatenate([status, np.full(nd, STATUS_FINAL)]),
        mother=np.concatenate([block.mother, np.full(nd, k)]),
        p=p_new,
        x=x_new,
        weight=weight,
        pol=pol_new,
        info=dict(block.info),
        weight_unit=block.weight_unit,
        names=names + tuple(record_name(d) for d in chan.daughters),
    )
    if keep is not None and not keep.all():
        if not keep.any():
            return None
        new = new.select(keep)
    return new


def _decay_recursive(block: EventBlock, plan: DecayPlan, rng: np.random.Generator) -> list[EventBlock]:
    names = _names_of(block, plan.table)
    if block.names is None:
        block = EventBlock(channel=block.channel, pdg=block.pdg, status=block.status, mother=block.mother,
                           p=block.p, x=block.x, weight=block.weight, pol=block.pol, info=block.info,
                           weight_unit=block.weight_unit, names=names)
    k = _next_unstable(block, names, plan)
    if k is None or block.n_events == 0:
        return [block]
    chans, prob, factor = plan.options(plan.table.canonical(names[k]))
    if len(chans) == 1:
        choice = np.zeros(block.n_events, dtype=int)
    else:
        cdf = np.cumsum(prob)
        cdf[-1] = 1.0
        choice = np.searchsorted(cdf, rng.random(block.n_events), side="right")
    out: list[EventBlock] = []
    for c, chan in enumerate(chans):
        sel = choice == c
        if not sel.any():
            continue
        sub = block if sel.all() else block.select(sel)
        new = decay_particle(sub, k, chan, plan, rng, factor)
        if new is not None:
            out.extend(_decay_recursive(new, plan, rng))
    return out


def decay_blocks(blocks: list[EventBlock], model, decay_section, rng: np.random.Generator,
                 report: dict | None = None, plan: DecayPlan | None = None) -> list[EventBlock]:
    """Decay every decayable state of every block, recursively; one output block per topology.

    blocks : produced events (HNLs, Z', phi' with status 1); model : generator.model.model.Model;
    decay_section : generator.card.DecaySection ([decay] of the card); rng : numpy Generator.
    report : optional dict, filled with accept-reject statistics per channel ("channels") and the
    numbers of events in and out ("n_in", "n_out", "sum_w_in", "sum_w_out").
    plan : a DecayPlan to reuse across calls (built from model and decay_section when None).
    Returns the decayed blocks (weights in the input blocks' unit). With ``decay_section.enabled``
    false the input list is returned unchanged.
    """
    if not decay_section.enabled:
        return list(blocks)
    if plan is None:
        plan = DecayPlan(model, decay_section)
    out: list[EventBlock] = []
    for b in blocks:
        out.extend(_decay_recursive(b, plan, rng))
    if report is not None:
        report["channels"] = plan.stats()
        report["n_in"] = int(sum(b.n_events for b in blocks))
        report["n_out"] = int(sum(b.n_events for b in out))
        report["sum_w_in"] = float(sum(b.weight.sum() for b in blocks))
        report["sum_w_out"] = float(sum(b.weight.sum() for b in out))
    return out
