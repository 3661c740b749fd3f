"""Production processes for the engine: each satisfies generator.processes.registry.Process (name, dim,
weight_unit, integrand(x), events(x, weight, rng)); each production mode is one entry of the registry.

Modules: ``registry`` (the production modes and the card keys they read), ``upscattering`` (nu + H -> N_j + H
at neutrino experiments), ``ee`` (e+e- processes) and ``ee_channels`` (their card entries), ``kaon``
(K -> l N_j). Each module's docstring states its variables and units.
"""
