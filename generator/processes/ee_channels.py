"""The four e+e- production modes (ee_pair, upsilon, higgsstrahlung, isr): card -> channels.

Registered in generator.processes.registry. Each entry reads [experiment] name (collider, generator.colliders),
sqrt_s_GeV and luminosity_fb (optional overrides of the collider file) and, for ee_pair / upsilon, [process]
final_hnl (pairs "N4N5" or single names). The engine processes are in generator.processes.ee.
Units: GeV; luminosities in fb^-1, exposures in cm^-2 (constants.INV_FB_CM2).
"""

from __future__ import annotations

import re

from generator import constants as const
from generator import particles as P
from generator.channel import ChannelSpec
from generator.colliders import collider_file_name, load_collider
from generator.errors import CardError, DataFileError, UnknownNameError
from generator.model.model import as_model
from generator.model.spectrum import Spectrum
from generator.processes.ee import (
    EEPairProcess,
    HiggsstrahlungProcess,
    ISRProcess,
    UpsilonProcess,
    hnl_index,
    parse_pair,
)

#: e+e- productions built here (entries of generator.processes.registry).
EE_PRODUCTIONS = ("ee_pair", "upsilon", "higgsstrahlung", "isr")

#: record spellings of the Z' and phi' ("Zprime", "phiprime"), the final_hnl label of their channels.
_ZP, _PHI = P.record_name("Z'"), P.record_name("phi'")


def build_channels(model, production: str, collider: str = "babar", final_hnl=None, sqrt_s=None,
                   luminosity_fb=None, isr_cos_theta_cm=None) -> list:
    """Engine processes wrapped as generator.channel.ChannelSpec for the e+e- productions of a steering card.

    The ChannelSpec ``target`` field carries the running-point label ("Y2S", ...) so that channel names are unique
    across energies ("ee_pair:Y2S:N4N5").

    production : "ee_pair", "upsilon", "higgsstrahlung" or "isr"; collider : file name or path;
    final_hnl : pairs like ["N4N5"] (ee_pair, upsilon); a single name ("N5") selects every open pair containing it;
        default: all heavy pairs open at each energy;
    sqrt_s : list of GeV values (default: every running point; only resonance points for "upsilon");
    luminosity_fb : list (same length) overriding the file. Missing luminosity -> DataFileError.
    """
    allowed = ("ee_pair", "upsilon", "higgsstrahlung", "isr")
    if production not in allowed:
        raise UnknownNameError("e+e- production", production, allowed)
    col = load_collider(collider)
    runs = list(col.runs) if sqrt_s is None else [col.run(float(v)) for v in sqrt_s]
    if production == "upsilon":
        runs = [r for r in runs if r.resonance is not None]
    if luminosity_fb is not None:
        if len(luminosity_fb) != len(runs):
            msg = f"{luminosity_fb} must have one entry per sqrt_s ({len(runs)})"
            raise CardError("experiment.luminosity_fb", msg)
        lumis = [float(v) for v in luminosity_fb]
    else:
        lumis = [r.luminosity_fb for r in runs]
    spectrum = as_model(model).spectrum
    out = []
    for run, lumi in zip(runs, lumis, strict=True):
        if lumi is None:
            msg = f"{col.path}: run {run.label!r} has no luminosity_fb; give experiment.luminosity_fb"
            raise DataFileError(msg)
        beams = (run.E_electron, run.E_positron)
        extra = {"sqrt_s_GeV": run.sqrt_s, "luminosity_fb": lumi, "collider": col.name, "run": run.label}
        exposure = lumi * const.INV_FB_CM2
        if production in ("ee_pair", "upsilon"):
            pairs = _select_pairs(spectrum, run.sqrt_s, final_hnl)
            for a, b in pairs:
                if production == "ee_pair":
                    proc = EEPairProcess(model, run.sqrt_s, lumi, a, b, beams=beams)
                else:
                    proc = UpsilonProcess(model, run.sqrt_s, lumi, a, b, run.sigma_resonance_nb, run.resonance,
                                          beams=beams)
                out.append(ChannelSpec(proc, production, a + b, target=run.label, exposure=exposure, extra=dict(extra)))
        elif production == "higgsstrahlung":
            proc = HiggsstrahlungProcess(model, run.sqrt_s, lumi, beams=beams)
            out.append(ChannelSpec(proc, production, f"{_ZP}+{_PHI}", target=run.label, exposure=exposure,
                                   extra=dict(extra)))
        else:
            window = tuple(isr_cos_theta_cm) if isr_cos_theta_cm is not None else col.isr_cos_theta_cm
            proc = ISRProcess(model, run.sqrt_s, lumi, window, beams=beams)
            out.append(ChannelSpec(proc, production, _ZP, target=run.label, exposure=exposure,
                                   extra={**extra, "isr_cos_theta_cm": list(window)}))
    return out


def _select_pairs(spectrum: Spectrum, sqrt_s: float, final_hnl) -> list[tuple[str, str]]:
    """Pairs for ee_pair/upsilon: explicit pairs ("N4N5"), single names (every open pair containing it), or all."""
    if not final_hnl:
        return _open_pairs(spectrum, sqrt_s)
    out: list[tuple[str, str]] = []
    for item in final_hnl:
        if isinstance(item, str) and re.fullmatch(r"\s*N\d+\s*", item):
            hnl_index(spectrum, item.strip())
            chosen = [p for p in _open_pairs(spectrum, sqrt_s) if item.strip() in p]
        else:
            chosen = [parse_pair(item)]
        for pair in chosen:
            if pair not in out:
                out.append(pair)
    return out


def _open_pairs(spectrum: Spectrum, sqrt_s: float) -> list[tuple[str, str]]:
    """All heavy pairs (i <= j) with V_ij != 0 and m_i + m_j < sqrt_s (GeV)."""
    names = spectrum.heavy_names
    out = []
    for a_k, a in enumerate(names):
        for b in names[a_k:]:
            ia, ib = spectrum.index(a), spectrum.index(b)
            if spectrum.masses[ia] + spectrum.masses[ib] < sqrt_s and abs(spectrum.V[ia, ib]) > 1e-12:
                out.append((a, b))
    return out


def _card_channels(card, model, production: str) -> list:
    """ChannelSpecs of one e+e- production of a card ([experiment] names the collider)."""
    exp = card.experiment
    if exp is None:
        msg = f"missing: production {production!r} needs a collider; allowed: 'babar', 'belle2'"
        raise CardError("experiment.name", msg)
    return build_channels(model, production, collider_file_name(exp.name), card.process.final_hnl, exp.sqrt_s_GeV,
                          exp.luminosity_fb)


def ee_pair_channels(card, model) -> list:
    """Channels of production "ee_pair": e+e- -> Z'*, Z* -> N_i N_j at every running point of the card."""
    return _card_channels(card, model, "ee_pair")


def upsilon_channels(card, model) -> list:
    """Channels of production "upsilon": e+e- -> Upsilon(nS) -> N_i N_j at the resonance running points."""
    return _card_channels(card, model, "upsilon")


def higgsstrahlung_channels(card, model) -> list:
    """Channels of production "higgsstrahlung": e+e- -> Z' phi'."""
    return _card_channels(card, model, "higgsstrahlung")


def isr_channels(card, model) -> list:
    """Channels of production "isr": e+e- -> gamma Z' in the collider's photon window."""
    return _card_channels(card, model, "isr")


__all__ = ["EE_PRODUCTIONS", "build_channels", "ee_pair_channels", "higgsstrahlung_channels", "isr_channels",
           "upsilon_channels"]
