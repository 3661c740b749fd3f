"""Partial widths and decay channels of the Z', phi' and HNLs: one import point for the pieces that have a home
elsewhere. New code imports from the homes:

- generator.model.vertices : vertex matrices and Feynman rules, both conventions (CONVENTIONS, vector_vertex, ...);
- generator.model.rates    : two-body, N -> nu gamma and three-body (Dalitz) width formulas;
- generator.model.hadrons  : alpha_s, R(s) and the hadronic Z', phi' widths;
- generator.model.channels : DecayChannel, the channel-family registry and zprime/phiprime/hnl_channels.

Units: every mass, energy and width in GeV; couplings dimensionless.
"""

from __future__ import annotations

from generator.model.channels import (
    LEPTONS,
    DecayChannel,
    hnl_channels,
    phiprime_channels,
    zprime_channels,
)
from generator.model.channels.hnl_three_body import GAMMA_W
from generator.model.hadrons import (
    ALPHA_S_MZ,
    alpha_s,
    gamma_scalar_to_hadrons,
    gamma_vector_to_hadrons,
    r_ratio,
)
from generator.model.rates import (
    N_INNER,
    N_OUTER,
    gamma_contact_massless,
    gamma_fermion_to_fermion_scalar,
    gamma_fermion_to_fermion_vector,
    gamma_nu_gamma,
    gamma_scalar_to_fermions,
    gamma_scalar_to_vectors,
    gamma_three_body_vector,
    gamma_vector_to_fermions,
)
from generator.model.vertices import (
    CONVENTIONS,
    majorana_scalar_vertex,
    majorana_vector_vertex,
    vector_vertex,
)

__all__ = [
    "ALPHA_S_MZ",
    "CONVENTIONS",
    "GAMMA_W",
    "LEPTONS",
    "N_INNER",
    "N_OUTER",
    "DecayChannel",
    "alpha_s",
    "gamma_contact_massless",
    "gamma_fermion_to_fermion_scalar",
    "gamma_fermion_to_fermion_vector",
    "gamma_nu_gamma",
    "gamma_scalar_to_fermions",
    "gamma_scalar_to_hadrons",
    "gamma_scalar_to_vectors",
    "gamma_three_body_vector",
    "gamma_vector_to_fermions",
    "gamma_vector_to_hadrons",
    "hnl_channels",
    "majorana_scalar_vertex",
    "majorana_vector_vertex",
    "phiprime_channels",
    "r_ratio",
    "vector_vertex",
    "zprime_channels",
]
