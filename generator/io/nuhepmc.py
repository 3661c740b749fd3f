"""NuHepMC 1.0 metadata of a run: status codes, process IDs, cross-section scale, particle declarations.

The standard: NuHepMC/Spec (version 1.0.0, README) and S. Gardiner, J. Isaacson, L. Pickering,
arXiv:2310.13211. Requirement ids (G.R.n, E.R.n, V.R.1, P.R.1) and conventions (G.C.n, E.C.n, P.C.n,
V.C.1) below refer to that text. The writer (:mod:`generator.io.hepmc`) builds events; this module says
what the numbers and codes mean, and is the one home of those definitions.

Neutrino-beam runs (every channel of production ``"upscattering"``) are written as NuHepMC; collider and
kaon runs are plain HepMC3 with the same attributes where they apply (no ``NuHepMC.Version.*``, so no
tool takes them for NuHepMC).

Cross sections (G.R.6): pb per atom of the target material. A coherent channel's ``sigma_per_scatterer_cm2`` is
per nucleus (= per atom); an incoherent channel's is per nucleon of the struck kind, so per atom it is
Z x sigma (protons) or (A - Z) x sigma (neutrons), Z and A read from the nuclear PDG code 100ZZZAAAI.
The flux-averaged total cross section (G.C.2) of a run with several targets and neutrino flavours is

    <sigma> = sum_c R_c / (POT x N_atoms x Phi),   N_atoms = sum_t N_t,   Phi = sum_flavours Phi_f,

R_c the expected events of channel c, N_t the atoms of target t in the fiducial mass, Phi_f the integrated
flux (nu / cm^2 / POT) of each neutrino flavour in the run. Then sum over events of the ``CV`` weight
(expected events) = POT x N_atoms x Phi x <sigma>.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from generator.constants import PB_CM2, PDG_HNL_OFFSET, PDG_PHIPRIME, PDG_ZPRIME
from generator.io import OutputError

NUHEPMC_VERSION = (1, 0, 0)
#: the one event weight (G.R.7); in the run's ``weight_unit`` (expected events for the exposure).
WEIGHT_NAMES = ["CV"]

# --- vertex status codes (V.R.1; 21-999 generator-dependent)
VERTEX_PRIMARY = 1
VERTEX_NUCLEON_SEPARATION = 21  # V.C.1: bound nucleon separates from the nucleus
VERTEX_DECAY = 22  # decay of an unstable BSM state (HNL, Z', phi')
VERTEX_STATUS_INFO = {
    VERTEX_PRIMARY: ("PrimaryVertex", "The primary interaction (labelled by signal_process_id)."),
    VERTEX_NUCLEON_SEPARATION: ("NucleonSeparationVertex",
                                "Target nucleus -> struck bound nucleon + nuclear remnant (convention V.C.1)."),
    VERTEX_DECAY: ("BSMDecayVertex", "Decay of an unstable dark-sector state: heavy neutrino N_j, Z' or phi'."),
}

# --- particle status codes (P.R.1)
STATUS_FINAL, STATUS_DECAYED, STATUS_BEAM = 1, 2, 4
STATUS_TARGET = 20
STATUS_STRUCK_NUCLEON = 21  # P.C.1
PARTICLE_STATUS_INFO = {
    STATUS_FINAL: ("UndecayedPhysical", "Undecayed physical particle (final state)."),
    STATUS_DECAYED: ("DecayedPhysical", "Decayed physical particle (HNL, Z', phi' decayed by the generator)."),
    STATUS_BEAM: ("IncomingBeam", "Incoming beam particle."),
    STATUS_TARGET: ("Target", "Target particle: the nucleus (or free proton) struck by the beam."),
    STATUS_STRUCK_NUCLEON: ("StruckNucleon", "Bound nucleon struck in incoherent scattering (convention P.C.1)."),
}

#: P.C.2 nuclear-remnant pseudoparticle (not for physics analyses).
PDG_REMNANT = 2009900000

#: E.C.1: every process here is "other" (700-) and neutral-current-like (X50-X99 block).
PROCESS_ID_BASE = 750
CITATION_ARXIV = "2007.11813"  # Abdullahi, Hostert, Pascoli, Phys. Lett. B 820 (2021) 136531

#: conventions this writer follows for neutrino-beam runs (G.R.4).
CONVENTIONS = ("G.C.1", "G.C.2", "G.C.3", "G.C.5", "E.C.1", "V.C.1", "P.C.1", "P.C.2")


def is_neutrino_run(run_info: Mapping) -> bool:
    """True when every channel of the run is neutrino upscattering (written as NuHepMC)."""
    chans = run_info.get("channels", [])
    return bool(chans) and all(ch.get("production") == "upscattering" for ch in chans)


def process_id(index: int) -> int:
    """E.C.1 process ID of channel ``index``: 750..799, then 850..899, ... ("other", NC-like block)."""
    return PROCESS_ID_BASE + 100 * (index // 50) + index % 50


def nuclear_za(pdg: int) -> tuple[int, int] | None:
    """(Z, A) of a nuclear PDG code 10LZZZAAAI (PDG MC numbering scheme); None for other codes."""
    pdg = abs(int(pdg))
    if pdg == 2212:
        return 1, 1
    if pdg < 1000000000:
        return None
    return (pdg // 10000) % 1000, (pdg // 10) % 1000


def atom_multiplicity(channel: Mapping) -> float:
    """Scatterers per atom of a channel: 1 (coherent, free proton), Z (bound protons), A - Z (bound neutrons)."""
    nucleon = channel.get("nucleon")
    if nucleon is None:
        return 1.0
    za = nuclear_za(channel.get("target_pdg", 0))
    if za is None:
        msg = (f"channel {channel.get('name')!r}: nucleon {nucleon!r} on target_pdg {channel.get('target_pdg')!r}; "
               "incoherent channels need a nuclear PDG code 100ZZZAAA0")
        raise OutputError(msg)
    Z, A = za
    return float(Z if nucleon in ("p", "proton") else A - Z)


def per_atom_cross_sections_pb(run_info: Mapping, names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """{channel: (sigma, error)} in pb per atom of the channel's target (module docstring); NaN if unknown."""
    by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
    out = {}
    for n in names:
        ch = by_name.get(n, {})
        s, e = ch.get("sigma_per_scatterer_cm2"), ch.get("sigma_err_per_scatterer_cm2")
        k = atom_multiplicity(ch)
        out[n] = (math.nan if s is None else k * s / PB_CM2, math.nan if e is None else k * e / PB_CM2)
    return out


def atom_counts(run_info: Mapping) -> dict[int, float]:
    """{target PDG code: atoms in the fiducial mass}, N_t = n_scatterers / multiplicity (from the channels)."""
    counts: dict[int, float] = {}
    for ch in run_info.get("channels", []):
        if ch.get("n_scatterers"):
            counts.setdefault(int(ch.get("target_pdg", 0)), float(ch["n_scatterers"]) / atom_multiplicity(ch))
    return counts


def flux_averaged_cross_section_pb(run_info: Mapping, names: Sequence[str]) -> tuple[float, float]:
    """Flux-averaged total cross section and its error, pb per atom (formula in the module docstring).

    Falls back to the plain sum of the channels' per-atom cross sections when the exposure pieces
    (pot, n_scatterers, flux_integral_per_cm2_per_pot) are absent, which is exact for one target and one
    flavour; (nan, nan) when no channel has a cross section.
    """
    chans = [ch for ch in run_info.get("channels", []) if str(ch["name"]) in set(names)]
    keys = ("pot", "n_scatterers", "flux_integral_per_cm2_per_pot", "expected_events")
    if chans and all(ch.get(k) for ch in chans for k in keys):
        n_atoms = sum(atom_counts({"channels": chans}).values())
        flux = {}
        for ch in chans:
            flux.setdefault(ch.get("neutrino"), float(ch["flux_integral_per_cm2_per_pot"]))
        pot = max(float(ch["pot"]) for ch in chans)
        denom = pot * n_atoms * sum(flux.values()) * PB_CM2
        rate = sum(float(ch["expected_events"]) for ch in chans)
        err = math.sqrt(sum(float(ch.get("expected_events_err") or 0.0) ** 2 for ch in chans))
        return rate / denom, err / denom
    per = per_atom_cross_sections_pb(run_info, names)
    sig = np.array([v[0] for v in per.values()])
    err = np.array([v[1] for v in per.values()])
    ok = np.isfinite(sig)
    if not ok.any():
        return math.nan, math.nan
    e = np.where(np.isfinite(err[ok]), err[ok], 0.0)
    return float(sig[ok].sum()), float(np.sqrt(np.sum(e**2)))


def process_description(channel: Mapping) -> str:
    """One-line description of a channel for ``NuHepMC.ProcessInfo[<id>].Description``."""
    prod = channel.get("production", "?")
    if prod == "upscattering":
        tgt = str(channel.get("target")).split("(")[0]
        nucleon = channel.get("nucleon")
        za = nuclear_za(channel.get("target_pdg", 0))
        on = f"bound {'proton' if nucleon in ('p', 'proton') else 'neutron'} of {tgt}" if nucleon else tgt
        if za is not None and za[1] == 1:
            on = f"free proton ({tgt})"
        return (f"{channel.get('neutrino', 'nu')} {on} -> {channel.get('final_hnl')} + recoil: "
                f"{channel.get('regime')} dark-sector upscattering (arXiv:{CITATION_ARXIV}); "
                "cross sections in pb per atom")
    parts = [f"{k}={channel[k]}" for k in ("production", "final_hnl", "regime", "target") if channel.get(k)]
    return "dark-seesaw process: " + ", ".join(parts)


def particle_declarations(pdgs: Sequence[int], run_info: Mapping) -> dict[int, tuple[str, str]]:
    """G.R.11 / G.C.5: {pdg: (name, description)} for the BSM codes (and the remnant) found in the file."""
    masses = run_info.get("hnl_mass_GeV", {}) or {}
    ctau = run_info.get("hnl_ctau0_cm", {}) or {}
    model = (run_info.get("provenance") or {}).get("model") or {}
    out: dict[int, tuple[str, str]] = {}
    for c in sorted({abs(int(p)) for p in pdgs}):
        if PDG_HNL_OFFSET < c < PDG_HNL_OFFSET + 25:
            name = f"N{c - PDG_HNL_OFFSET}"
            m, ct = masses.get(name), ctau.get(name)
            desc = f"heavy neutral lepton {name} (Majorana, spin 1/2, charge 0)"
            if m is not None:
                desc += f", mass {m:.10g} GeV"
            if ct is not None:
                desc += f", c tau0 {ct:.6g} cm"
            out[c] = (name, desc)
        elif c == PDG_ZPRIME:
            m = (model.get("masses_GeV") or {}).get("Z'")
            out[c] = ("Zprime", "dark photon Z' (spin 1, charge 0)" + (f", mass {m:.10g} GeV" if m else ""))
        elif c == PDG_PHIPRIME:
            m = (model.get("masses_GeV") or {}).get("phi'")
            out[c] = ("phiprime", "dark scalar phi' (spin 0, charge 0)" + (f", mass {m:.10g} GeV" if m else ""))
        elif c == PDG_REMNANT:
            out[c] = ("NuclearRemnant", "nuclear remnant pseudoparticle (P.C.2): 4-momentum balance, not for analyses")
    return out


def run_attributes(run_info: Mapping, names: Sequence[str], pdgs: Sequence[int], neutrino: bool) -> dict:
    """The ``NuHepMC.*`` GenRunInfo attributes (name -> int, float, str or list) of a run.

    ``neutrino``: write the full NuHepMC set (version, conventions, POT); otherwise only the parts that
    apply to any HepMC3 file (processes, statuses, particle codes, cross-section units).
    """
    att: dict = {}
    if neutrino:
        major, minor, patch = NUHEPMC_VERSION
        att.update({"NuHepMC.Version.Major": major, "NuHepMC.Version.Minor": minor, "NuHepMC.Version.Patch": patch})
        att["NuHepMC.Conventions"] = list(CONVENTIONS)
        if run_info.get("pot"):
            att["NuHepMC.Exposure.POT"] = float(run_info["pot"])
        counts = atom_counts(run_info)
        tot = sum(counts.values())
        if tot > 0:  # G.S.3
            att["NuHepMC.TargetMaterialRelativeAtomicAbundance"] = [
                f"{t}[{n / tot:.10g}]" for t, n in sorted(counts.items())]
    by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
    ids = [process_id(i) for i in range(len(names))]
    att["NuHepMC.ProcessIDs"] = ids
    for pid, n in zip(ids, names, strict=True):
        att[f"NuHepMC.ProcessInfo[{pid}].Name"] = n
        att[f"NuHepMC.ProcessInfo[{pid}].Description"] = process_description(by_name.get(n, {"name": n}))
    vst = VERTEX_STATUS_INFO if neutrino else {k: v for k, v in VERTEX_STATUS_INFO.items() if k != 21}
    att["NuHepMC.VertexStatusIDs"] = sorted(vst)
    for k, (nm, desc) in vst.items():
        att[f"NuHepMC.VertexStatusInfo[{k}].Name"] = nm
        att[f"NuHepMC.VertexStatusInfo[{k}].Description"] = desc
    pst = PARTICLE_STATUS_INFO if neutrino else {k: v for k, v in PARTICLE_STATUS_INFO.items() if k < 20}
    att["NuHepMC.ParticleStatusIDs"] = sorted(pst)
    for k, (nm, desc) in pst.items():
        att[f"NuHepMC.ParticleStatusInfo[{k}].Name"] = nm
        att[f"NuHepMC.ParticleStatusInfo[{k}].Description"] = desc
    decl = particle_declarations(list(pdgs) + ([PDG_REMNANT] if neutrino else []), run_info)
    att["NuHepMC.AdditionalParticleNumbers"] = sorted(decl)
    for c, (nm, desc) in decl.items():
        att[f"NuHepMC.AdditionalParticleNumber[{c}].Name"] = nm
        att[f"NuHepMC.AdditionalParticleInfo[{c}].Description"] = desc
    sigma, err = flux_averaged_cross_section_pb(run_info, names)
    if neutrino or math.isfinite(sigma):  # G.R.6 (kaon decays have no cross section)
        att["NuHepMC.Units.CrossSection.Unit"] = "pb"
        att["NuHepMC.Units.CrossSection.TargetScale"] = "PerAtom" if neutrino else "PerCollision"
    if neutrino and math.isfinite(sigma):
        att["NuHepMC.FluxAveragedTotalCrossSection"] = sigma
        att["NuHepMC.FluxAveragedTotalCrossSectionUncertainty"] = err
    att["NuHepMC.Citations.Generator.arXiv"] = [CITATION_ARXIV]
    return att


def strip_timings(obj):
    """A copy of a JSON-like object without any ``timing_s`` entry (files must not depend on the clock)."""
    if isinstance(obj, Mapping):
        return {k: strip_timings(v) for k, v in obj.items() if k != "timing_s"}
    if isinstance(obj, list | tuple):
        return [strip_timings(v) for v in obj]
    return obj


__all__ = ["CONVENTIONS", "NUHEPMC_VERSION", "PDG_REMNANT", "WEIGHT_NAMES", "atom_multiplicity",
           "flux_averaged_cross_section_pb", "is_neutrino_run", "nuclear_za", "per_atom_cross_sections_pb",
           "process_id", "run_attributes", "strip_timings"]
