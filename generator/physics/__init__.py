"""Scattering physics: hadronic form factors and neutrino upscattering cross sections.

- :mod:`generator.physics.form_factors`: nuclear (Helm) and nucleon (dipole/Galster, axial dipole)
  form factors and the Fermi-gas Pauli-blocking factor, as numba kernels plus numpy wrappers.
- :mod:`generator.physics.upscattering`: nu_alpha + H -> N_j + H via t-channel Z', Z and phi' exchange
  (coherent on nuclei, incoherent on nucleons), polarised in the N_j helicity; targets; cross-section tables.

Units: GeV, GeV^2 and cm^2 (cross sections), as everywhere in the package.
"""
