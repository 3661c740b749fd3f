"""Analyses built on the generator's processes: numbers of the paper computed from the engine processes
(e.g. :mod:`generator.analysis.babar_eq5`, the pseudo-monophoton count of Eq. 5)."""
