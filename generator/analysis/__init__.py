"""Analyses of generated runs and the paper's numbers: the paper's fits (MiniBooNE, BaBar) against
published data, and numbers computed from the engine processes (e.g. :mod:`generator.analysis.babar_eq5`, the
pseudo-monophoton count of Eq. 5). Each analysis is one module; the ``dsgen`` CLI only calls them."""
