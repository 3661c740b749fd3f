"""darkseesaw-gen: event generator for the dark-seesaw heavy-neutral-lepton model.

Reference model: A. Abdullahi, M. Hostert, S. Pascoli, "A Dark Seesaw Solution to Low Energy
Anomalies: MiniBooNE, the muon (g-2), and BaBar" (2021), ``../shared/paper``.

Internal units: GeV for energy, momentum and mass; cm for length; c*t in cm for times.
"""

__version__ = "0.1.0"
