"""Analyses of generated runs against published data: the paper's fits (MiniBooNE, BaBar) and the
related calculations. Each analysis is one module; the ``dsgen`` CLI only calls them."""
