"""Production processes for the engine (generator/engine.py contract: name, dim, weight_unit, integrand, events).

Modules: ``upscattering`` (nu + H -> N_j + H at neutrino experiments), ``ee`` (e+e- colliders),
``kaon`` (K -> l N_j). Each module's docstring states its variables and units.
"""
