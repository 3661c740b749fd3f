"""The one table of particle names <-> PDG codes <-> masses, and the one parser of state names.

Names used throughout the generator:

- SM states: "e-", "e+", "mu-", "mu+", "tau-", "tau+", "gamma", "nu_e", "nu_mu", "nu_tau" (and "~" antineutrinos),
  "pi0", "pi+", "pi-"; masses from the PDG tables shipped with ``particle``;
- the model's states: "Z'" (PDG 32, the Z'0 of the PDG numbering scheme), "phi'" (9900025, "dark h"), the heavy
  neutrinos "N4", "N5", ... (N_j = 9900000 + j, parsed for j = 4 ... 24 since N_25 would take the phi' code; the
  models used here stop well below N_12, Pythia's 9900012 right-handed neutrino), the light mass eigenstates
  "nu1".."nu3" and "nu" (a light neutrino summed over mass states);
- aliases: "Zprime" = "Z'", "phiprime" = "phi'" (card and record spellings; :func:`canonical`,
  :data:`RECORD_NAMES`).

PDG numbering: RPP "Monte Carlo particle numbering scheme" (codes 99nnnnn are reserved for non-standard states).
Units: masses in GeV.
"""

from __future__ import annotations

import re

import hepunits as hu
import numpy as np
from particle import Particle

from generator.errors import UnknownNameError

#: PDG code of the Z' (the Z'0 of the PDG numbering scheme).
PDG_ZPRIME = 32
#: PDG code of the phi' (9900025, "dark h").
PDG_PHIPRIME = 9900025
#: N_j has PDG code PDG_HNL_OFFSET + j.
PDG_HNL_OFFSET = 9900000
#: largest HNL index j that PDG codes and names are parsed for (N_4 ... N_24): N_25 would collide with the phi'
#: code 9900025.
HNL_INDEX_MAX = PDG_PHIPRIME - PDG_HNL_OFFSET - 1

#: PDG codes of the SM particles that can appear as decay products (PDG MC numbering scheme).
SM_PDG = {
    "e-": 11, "e+": -11, "mu-": 13, "mu+": -13, "tau-": 15, "tau+": -15, "gamma": 22,
    "nu_e": 12, "nu_mu": 14, "nu_tau": 16, "nu_e~": -12, "nu_mu~": -14, "nu_tau~": -16,
    "pi0": 111, "pi+": 211, "pi-": -211,
}
#: PDG codes of the model's bosons.
BSM_PDG = {"Z'": PDG_ZPRIME, "phi'": PDG_PHIPRIME}
#: accepted spellings of the model's boson names -> canonical name.
ALIASES = {"Zprime": "Z'", "phiprime": "phi'", "Z'": "Z'", "phi'": "phi'"}
#: canonical boson name -> spelling in EventBlock.names and output files ("Zprime", "phiprime").
RECORD_NAMES = {"Z'": "Zprime", "phi'": "phiprime"}
#: (l-, l+) names of each charged-lepton flavour.
LEPTON_PAIR = {"e": ("e-", "e+"), "mu": ("mu-", "mu+"), "tau": ("tau-", "tau+")}
#: PDG code of the neutrino of each flavour.
NEUTRINO_PDG = {"e": 12, "mu": 14, "tau": 16}

_HNL_NAME = re.compile(r"N(\d+)")
_MEV_IN_GEV = hu.MeV / hu.GeV


def pdg_hnl(j: int) -> int:
    """PDG code of HNL N_j (j >= 4): 9900000 + j (N_4 = 9900004, ..., N_8 = 9900008)."""
    return PDG_HNL_OFFSET + j


def canonical(name: str) -> str:
    """Canonical spelling of a state name: "Zprime" -> "Z'", "phiprime" -> "phi'"; other names unchanged."""
    return ALIASES.get(name, name)


def record_name(name: str) -> str:
    """Spelling of a state in EventBlock.names and output files: "Z'" -> "Zprime", "phi'" -> "phiprime"."""
    return RECORD_NAMES.get(canonical(name), name)


def hnl_index(name: str) -> int | None:
    """j of an HNL name "N<j>" (4 <= j <= HNL_INDEX_MAX = 24), e.g. "N5" -> 5; None for any other name."""
    m = _HNL_NAME.fullmatch(name)
    if m is None:
        return None
    j = int(m.group(1))
    return j if 4 <= j <= HNL_INDEX_MAX else None


def hnl_name(j: int) -> str:
    """Name of HNL N_j: "N<j>"."""
    return f"N{j}"


def is_hnl_pdg(code):
    """True (elementwise for arrays) for the PDG codes of N_4 ... N_24 (never the phi' code 9900025)."""
    code = np.asarray(code)
    return (code >= PDG_HNL_OFFSET + 4) & (code <= PDG_HNL_OFFSET + HNL_INDEX_MAX)


def pdg(name: str) -> int:
    """PDG code of a model-independent state name: SM names, "Z'"/"Zprime", "phi'"/"phiprime", "N<j>"."""
    name = canonical(name)
    if name in SM_PDG:
        return SM_PDG[name]
    if name in BSM_PDG:
        return BSM_PDG[name]
    j = hnl_index(name)
    if j is not None:
        return pdg_hnl(j)
    raise UnknownNameError("particle", name, [*SM_PDG, *BSM_PDG, *ALIASES, "N4", "N5", "..."])


def sm_mass(name: str) -> float:
    """Mass in GeV of an SM state of :data:`SM_PDG` (PDG table of ``particle``; neutrinos and photon 0)."""
    try:
        code = SM_PDG[name]
    except KeyError:
        raise UnknownNameError("SM particle", name, SM_PDG) from None
    mass = Particle.from_pdgid(abs(code)).mass
    return 0.0 if mass is None or abs(code) in (12, 14, 16, 22) else mass * _MEV_IN_GEV


class ParticleTable:
    """Names, PDG codes and masses (GeV) of every state a decay can produce, for one model.

    Model states: the mass eigenstates "nu3", "N4", ... (spectrum names), "Z'", "phi'" (masses from the
    parameters), "nu" (a light neutrino summed over mass states: massless, PDG code of the dominant flavour of the
    heaviest light state); a light mass eigenstate has the PDG code of its dominant active flavour (Majorana: no
    antiparticle). SM states from :data:`SM_PDG` and :func:`sm_mass`. Card spellings "Zprime", "phiprime" are
    accepted everywhere (:func:`canonical`).
    """

    def __init__(self, model) -> None:
        self.model = model
        spec = model.spectrum
        params = spec.params
        self._mass = {name: float(m) for name, m in zip(spec.names, spec.masses, strict=True)}
        self._mass.update({"Z'": params.m_Zprime, "phi'": params.m_phiprime, "nu": 0.0})
        self._mass.update({name: sm_mass(name) for name in SM_PDG if "nu_" not in name})
        self._pdg = dict(SM_PDG)
        self._pdg.update(BSM_PDG)
        flav_pdg = []
        for j, name in enumerate(spec.names):
            if j >= spec.n_light:
                self._pdg[name] = pdg(name)  # UnknownNameError beyond N_24 (codes would collide)
            else:
                col = np.abs(spec.U_alpha[:, j]) ** 2
                self._pdg[name] = NEUTRINO_PDG[params.flavours[int(np.argmax(col))]]
                flav_pdg.append(self._pdg[name])
        self._pdg["nu"] = flav_pdg[-1] if flav_pdg else NEUTRINO_PDG["mu"]
        # reverse map, first name wins: SM names (so 14 reads "nu_mu"), then Z', phi', then N_j
        self._names_by_pdg: dict[int, str] = {}
        for name, code in self._pdg.items():
            self._names_by_pdg.setdefault(code, RECORD_NAMES.get(name, name))

    @property
    def names(self) -> tuple[str, ...]:
        """Every known state name (canonical spellings)."""
        return tuple(self._mass)

    @property
    def accepted_names(self) -> set[str]:
        """Every accepted spelling: :attr:`names` and the aliases."""
        return set(self._mass) | set(ALIASES)

    canonical = staticmethod(canonical)

    def mass(self, name: str) -> float:
        """Mass of a named state in GeV."""
        try:
            return self._mass[canonical(name)]
        except KeyError:
            raise UnknownNameError("particle", name, self._mass) from None

    def pdg(self, name: str) -> int:
        """PDG code of a named state."""
        try:
            return self._pdg[canonical(name)]
        except KeyError:
            raise UnknownNameError("particle", name, self._pdg) from None

    def name_of(self, code: int) -> str:
        """Name of a PDG code ("N5", "e-", "Zprime", ...); str(code) for codes this model does not know."""
        return self._names_by_pdg.get(int(code), str(int(code)))


__all__ = [
    "ALIASES",
    "BSM_PDG",
    "LEPTON_PAIR",
    "NEUTRINO_PDG",
    "PDG_HNL_OFFSET",
    "PDG_PHIPRIME",
    "PDG_ZPRIME",
    "RECORD_NAMES",
    "SM_PDG",
    "ParticleTable",
    "canonical",
    "hnl_index",
    "hnl_name",
    "is_hnl_pdg",
    "pdg",
    "pdg_hnl",
    "record_name",
    "sm_mass",
]
