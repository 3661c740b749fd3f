"""Scattering targets (nuclei and the free proton) from the shipped table generator/data/targets.toml.

Read by the one definition loader (generator.datafiles). Nuclear masses come from the PDG table of `particle`
(MeV, converted with constants.MEV to GeV); Fermi momenta k_F in GeV (references in the data file).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from particle import Particle
from particle.particle import ParticleNotFound

from generator import constants as const
from generator.datafiles import NUMBER, Field, check_table, data_dir, read_file
from generator.errors import DataTableError, UnknownNameError

_SCHEMA = {"Z": Field(int), "A": Field(int), "pdg": Field(int), "k_F_GeV": Field(NUMBER),
           "mass_GeV": Field(NUMBER, required=False), "note": Field(str, required=False)}


@dataclass(frozen=True)
class Target:
    """A scattering target: nucleus (or free proton "H1"). Mass in GeV, Fermi momentum k_F in GeV."""

    name: str
    Z: int
    A: int
    pdg: int
    mass: float
    k_F: float
    note: str = ""

    @property
    def N(self) -> int:
        """Neutron number A - Z."""
        return self.A - self.Z

    @property
    def is_free_nucleon(self) -> bool:
        """True for a single nucleon (H1): no coherent regime, no Pauli blocking."""
        return self.A == 1


@cache
def load_targets() -> dict[str, Target]:
    """All targets of generator/data/targets.toml by name (masses from `particle`, GeV). DataTableError names
    the file and the key of a malformed entry."""
    src = data_dir("targets.toml")
    path = str(src)
    out = {}
    for name, t in read_file(src).items():
        check_table(t, _SCHEMA, path, name)
        try:
            mass = Particle.from_pdgid(t["pdg"]).mass * const.MEV
        except ParticleNotFound:
            if "mass_GeV" not in t:
                msg = f"missing: `particle` does not know pdg {t['pdg']}"
                raise DataTableError(path, f"{name}.mass_GeV", msg) from None
            mass = float(t["mass_GeV"])
        out[name] = Target(name, t["Z"], t["A"], t["pdg"], mass, float(t["k_F_GeV"]), str(t.get("note", "")))
    return out


def target(name: str) -> Target:
    """Target by name ("H1", "C12", "O16", "Ar40", "Fe56"); unknown names raise UnknownNameError."""
    table = load_targets()
    if name not in table:
        raise UnknownNameError("target", name, table)
    return table[name]


__all__ = ["Target", "load_targets", "target"]
