"""Decay chains of produced HNLs (and Z', phi'): channels, kinematics, displaced vertices.

Modules by role: ``plan`` (DecayPlan: channels per state, card [decay] section), ``chain`` (decay_particle,
decay_blocks), ``samplers`` (the registry kind -> sampler factory), ``three_body`` and ``two_body`` (samplers),
``asymmetry`` (Dirac-trace two-body asymmetry). Particle names and PDG codes: generator.particles.

Entry point: :func:`decay_blocks` (called by the run orchestration after production).

What happens to a block of events (generator.record.EventBlock):

1. The first final-state particle (status 1) that the [decay] card lets decay is picked (HNLs
   N4..., "Z'", "phi'"; never a state listed in ``stable``).
2. Its channel is chosen. mode = "all": one channel per event, drawn with the model's branching
   ratios; the block is split into one block per channel (one topology each). mode = "forced": only
   the listed channels of that state; the event weight is multiplied by the sum of their branching
   ratios (drawn among them with relative branching ratios). States without a listed channel stay
   undecayed in forced mode. Inclusive channels with no particle final state (Z' -> hadrons) are
   never generated; in mode "all" the weight carries the summed branching ratio of the others.
3. The decay vertex: proper decay length c*tau0 from the TOTAL width (model.ctau0_cm), exponential
   law, vertex x_prod + s p / m (generator.kernels.decay_length). With a forced-decay volume the decay
   is sampled inside the volume along the flight line and the probability to decay there multiplies
   the weight; events whose flight line misses the volume (probability 0) are removed.
4. The daughters' momenta: three-body N_i -> N_j f fbar from the full |M|^2 (off-shell mediators,
   generator.model.three_body.msq_vector) including the parent's polarisation, by accept-reject on
   phase space with a piecewise-constant bound from a pre-scan (Dalitz grid, safety factor; bound
   violations are counted in the optional ``report``); two-body decays with the angular distribution
   1 + alpha P cos(theta) for a polarised fermion parent (alpha from the Dirac trace of the vertex),
   isotropic otherwise. The rest-frame momenta are boosted to the lab with the parent's four-momentum.
5. The parent row's status becomes 2; the daughters are appended with ``mother`` = the parent's index,
   production vertex = the decay vertex, polarisation 0 (spin correlations along the chain are not
   propagated). Repeat until no decayable state is left.

Units: GeV (energies, momenta, masses, widths), cm (positions, c*t, decay lengths).

Polarisation convention: ``block.pol[:, k]`` is the lab helicity P of particle k. The rest frame is
reached by a pure boost, so the spin four-vector there is s = (0, P p_hat) with p_hat the lab flight
direction (Bjorken & Drell; the three_body.msq_vector convention u ubar = (p + m)(1 + gamma5 s)/2).
|M|^2 is linear in s, so s = P p_hat describes a partially polarised (mixed) state exactly.
"""

from generator.decay.asymmetry import two_body_asymmetry
from generator.decay.chain import MASS_TOLERANCE, decay_blocks, decay_particle
from generator.decay.plan import DecayPlan
from generator.decay.samplers import SAMPLERS, make_sampler, register_sampler
from generator.decay.three_body import N_PRESCAN, SAFETY_FACTOR, SamplerStats, ThreeBodySampler
from generator.decay.two_body import TwoBodySampler, sample_cos_linear
from generator.particles import ParticleTable

__all__ = [
    "MASS_TOLERANCE",
    "N_PRESCAN",
    "SAFETY_FACTOR",
    "SAMPLERS",
    "DecayPlan",
    "ParticleTable",
    "SamplerStats",
    "ThreeBodySampler",
    "TwoBodySampler",
    "decay_blocks",
    "decay_particle",
    "make_sampler",
    "register_sampler",
    "sample_cos_linear",
    "two_body_asymmetry",
]
