"""MiniBooNE mechanisms: CCQE neutrino-energy reconstruction of an e-like shower and the Fig. 2
analogue (signal E_nu^QE and cos(theta) spectra on top of the 2020 neutrino-mode data release).

The detector numbers (tank, fiducial radius, resolutions, overlap and visibility thresholds) are in
detectors/data/miniboone.toml. The data release (bin edges, observed events, predicted background) is
never shipped: it is found by :func:`generator.datasets.locate_miniboone_release` from, in order, the
detector option ``data_release_dir`` (set by ``dsgen detect --data-release DIR`` or the card key
``[detector] data_release``), the environment variable ``DSGEN_MINIBOONE_RELEASE``, or the developers'
``../shared`` fallback. A named directory that does not exist is an error; when nothing is found a
:class:`generator.errors.MissingDataWarning` says where it looked and the plot is titled "signal only".
"""

from __future__ import annotations

import warnings

import numpy as np

from detectors.kinematics import enu_qe
from detectors.registry import (
    DetectorState,
    ModuleSpec,
    PlotSpec,
    module_type,
    weighted_hist,
)
from generator.constants import LEPTON_MASS, PDG_HNL_OFFSET
from generator.datasets import (  # noqa: F401  (RELEASE_FILES, read_miniboone_release re-exported)
    MINIBOONE_RELEASE_ENV,
    RELEASE_FILES,
    ReleaseLocation,
    locate_miniboone_release,
    read_miniboone_release,
    release_excess,
)
from generator.errors import DetectorCardError, MissingDataWarning
from generator.kernels.lorentz import cos_theta_z

#: Bin edges (GeV) of the 2020 release's E_nu^QE histogram, used for the signal when the release is absent
#: (MiniBooNE, arXiv:2006.16883, data release file miniboone_binboundaries_nue_lowe.txt, 200-3000 MeV).
RELEASE_EDGES_GEV = (0.2, 0.3, 0.375, 0.475, 0.55, 0.675, 0.8, 0.95, 1.1, 1.25, 1.5, 3.0)

@module_type("EnuQE")
def enu_qe_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs [energy (GeV), direction (n, 3)] of the e-like shower; outputs [E_nu^QE (GeV),
    cos(theta) to the beam]. CCQE formula of MiniBooNE PRD 81, 092005 (2010), Eq. (1) with binding
    energy ``binding_energy_GeV`` and the lepton mass of ``lepton`` (the shower is taken as that
    lepton)."""
    if len(spec.inputs) < 2 or len(spec.outputs) < 2:
        raise DetectorCardError(spec.where, f"modules[{spec.name}]", "EnuQE needs 2 inputs and 2 outputs")
    E = state.get(spec.inputs[0], spec)
    cos = cos_theta_z(state.get(spec.inputs[1], spec))
    lep = spec.param("lepton", "e", kind=str)
    if lep not in LEPTON_MASS:
        raise DetectorCardError(spec.where, f"{spec.pkey}.lepton", f"{lep!r}; allowed: {', '.join(LEPTON_MASS)}")
    m_l = LEPTON_MASS[lep]
    E_l = np.maximum(E, m_l)
    state.put(spec.outputs[0], enu_qe(E_l, cos, m_l=m_l, E_B=spec.number("binding_energy_GeV", 0.034)))
    state.put(spec.outputs[1], cos)


def find_release(state: DetectorState) -> ReleaseLocation:
    """Locate the data release for this run: option ``data_release_dir`` (empty = not given), then
    ``$DSGEN_MINIBOONE_RELEASE``, then the developers' fallback. Warns (MissingDataWarning) when none is
    found; raises DataFileError when a named directory does not exist."""
    loc = locate_miniboone_release(state.options.get("data_release_dir") or None)
    if not loc.found:
        msg = ("MiniBooNE 2020 data release not found (looked at: detector option data_release_dir - not given; "
               f"environment variable {MINIBOONE_RELEASE_ENV} - not set; the developers' ../shared fallback - "
               "absent): the Fig. 2 analogue shows the signal only. Give the release directory (fhcmode) with "
               f"`dsgen detect --data-release DIR`, the card key [detector] data_release, or {MINIBOONE_RELEASE_ENV}.")
        warnings.warn(msg, MissingDataWarning, stacklevel=2)
    return loc


def _signal_in_window(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of MiniBooNESpectra: signal (release POT) in 200-1250 MeV from the merged E_QE plot."""
    plot = plots["enu_qe"]
    edges = plot.edges
    m = (edges[:-1] >= 0.2 - 1e-9) & (edges[1:] <= 1.25 + 1e-9)
    extra["signal_200_1250MeV_release_pot"] = float(np.sum(plot.total_signal()[m]))


@module_type("MiniBooNESpectra", finalize=_signal_in_window)
def miniboone_spectra(state: DetectorState, spec: ModuleSpec) -> None:
    """Fig. 2 analogue. Inputs [E_QE (GeV), cos_theta, HNL pdg of the pair, regime]. Signal stacked
    by HNL (N5, N6, ...) and regime (coherent hatched, incoherent filled) on top of the release
    background, with the release data; signal scaled to the release POT (option ``release_pot``)
    when the run metadata give ``pot``. cos(theta): the release files hold no angular data, so the
    signal is drawn alone."""
    Eqe, cos = state.get(spec.inputs[0], spec), state.get(spec.inputs[1], spec)
    hnl, regime = state.get(spec.inputs[2], spec), state.get(spec.inputs[3], spec)
    sel = state.selected
    loc = find_release(state)
    release = read_miniboone_release(loc.path) if loc.found else None
    note = "" if loc.found else "data release not found: signal only"
    pot = state.metadata.get("pot")
    release_pot = float(state.options.get("release_pot", 0) or 0)
    scale = release_pot / float(pot) if pot and release_pot else 1.0
    if not pot:
        note = (note + "; " if note else "") + "no POT in metadata: signal not rescaled"
    edges = release["edges"] if release is not None else np.array(RELEASE_EDGES_GEV)
    cos_edges = np.linspace(-1.0, 1.0, 21)
    comps_E, comps_c = [], []
    colors = {5: "#3182bd", 6: "#e7298a"}
    w = state.weight * scale
    for code in sorted(set(np.abs(hnl[sel]).tolist())):
        j = int(code) - PDG_HNL_OFFSET if code else 0
        for reg, rname, hatch in ((2, "incoherent", None), (1, "coherent", "///"), (0, "", None)):
            m = sel & (np.abs(hnl) == code) & (regime == reg)
            if not np.any(m):
                continue
            label = f"N{j} {rname}".strip() if j > 0 else f"other {rname}".strip()
            style = {"color": colors.get(j, "#66c2a5"), "hatch": hatch}
            comps_E.append((label, weighted_hist(Eqe[m], w[m], edges), style))
            comps_c.append((label, weighted_hist(cos[m], w[m], cos_edges), style))
    bkg, data = [], None
    if release is not None:
        bkg = [("MiniBooNE background (2020)", release["background"])]
        data = ("MiniBooNE data (18.75e20 POT)", release["data"], np.sqrt(release["data"]))
    title = ("MiniBooNE nu-mode e-like events: signal on top of the 2020 release" if release is not None
             else "MiniBooNE nu-mode e-like events: signal only (2020 data release not found)")
    state.plots["enu_qe"] = PlotSpec(
        title=title,
        xlabel=r"$E_\nu^{QE}$ [GeV]", ylabel="expected e-like events / MeV (one shower per event)", edges=edges,
        components=comps_E,
        background=bkg, data=data, per_width=True, width_scale=1e3, note=note)
    state.plots["cos_theta"] = PlotSpec(
        title="MiniBooNE e-like signal: shower angle to the beam",
        xlabel=r"$\cos\theta$", ylabel="expected e-like events / bin (one shower per event)", edges=cos_edges,
        components=comps_c,
        note="2020 release files hold no cos(theta) data: signal only")
    state.extra["signal_scale_to_release_pot"] = scale
    if release is not None:
        state.extra["release_excess_200_1250MeV"] = release_excess(release)
        state.extra["release_dir"] = str(loc.path)
    else:
        state.extra["release_dir"] = None
    state.extra["release_source"] = loc.source
