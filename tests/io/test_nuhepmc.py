"""NuHepMC 1.0 validator (NuHepMC/Spec README, arXiv:2310.13211) applied to files a MicroBooNE run writes.

:func:`violations` checks every requirement (G.R.1-11, E.R.1-9, V.R.1, P.R.1) of a file read back with
pyhepmc and returns messages prefixed with the requirement id; it is written from the standard's text,
not from the writer's constants. Deliberately broken copies of a good file show that it fails.
Tolerances: four-momentum at each vertex to 1e-9 relative to the incoming energy (the writer keeps 16
digits after the decimal point; decays are computed in double precision).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyhepmc
import pytest
from particle import PDGID, Particle
from particle.particle import InvalidParticle, ParticleNotFound

from generator.card import load_card
from generator.run import run_card

CARD = """[run]
name = "mb_nuhepmc"
seed = 5
n_events = {n}
progress = false

[model]
preset = "BP-B"

[process]
production = "upscattering"
final_hnl = ["N5", "N6"]

[experiment]
name = "MicroBooNE"

[decay]
mode = "all"
stable = ["N4"]

[output]
formats = ["hepmc3"]
plots = false
"""


def _ints(att) -> list[int]:
    return [int(x) for x in str(att).split()]


def _standard_pdg(code: int) -> bool:
    """True when ``code`` is in the PDG numbering scheme (a nucleus, or a particle in the PDG table)."""
    if PDGID(code).is_nucleus:
        return True
    try:
        Particle.from_pdgid(code)
    except (ParticleNotFound, InvalidParticle):
        return False
    return True


def _strings(view) -> dict[str, str]:
    """An attribute view as {name: text}."""
    return {k: str(view[k]) for k in view}


def _run_info_violations(ri) -> list[str]:
    out = []
    if ri is None:
        return ["G.R.1: no GenRunInfo"]
    att = _strings(ri.attributes)
    version = [att.get(f"NuHepMC.Version.{k}") for k in ("Major", "Minor", "Patch")]
    if None in version or [int(str(v)) for v in version] != [1, 0, 0]:
        out.append(f"G.R.2: NuHepMC.Version.Major/Minor/Patch = {version}, expected 1 0 0")
    if not ri.tools or any(not t.name or not t.version for t in ri.tools):
        out.append("G.R.3: a ToolInfo with a non-empty name and version is required")
    conv = str(att.get("NuHepMC.Conventions", "")).split()
    if not conv:
        out.append("G.R.4: NuHepMC.Conventions missing or empty")
    if "G.C.2" in conv:
        fatx = float(str(att.get("NuHepMC.FluxAveragedTotalCrossSection", "nan")))
        if not (math.isfinite(fatx) and fatx > 0):
            out.append(f"G.R.5: G.C.2 signalled but NuHepMC.FluxAveragedTotalCrossSection = {fatx}")
    elif "E.C.4" not in conv:
        out.append("G.R.5: neither G.C.2 nor E.C.4 signalled")
    if str(att.get("NuHepMC.Units.CrossSection.Unit", "")) not in ("pb", "10-38 cm2", "cm2"):
        out.append("G.R.6: NuHepMC.Units.CrossSection.Unit missing or not a reserved value")
    if str(att.get("NuHepMC.Units.CrossSection.TargetScale", "")) not in ("PerAtom", "PerNucleon"):
        out.append("G.R.6: NuHepMC.Units.CrossSection.TargetScale missing or not a reserved value")
    if "CV" not in list(ri.weight_names):
        out.append(f"G.R.7: weight names {list(ri.weight_names)} lack 'CV'")
    for rid, key, info in (("G.R.8", "ProcessIDs", "ProcessInfo"), ("G.R.9", "VertexStatusIDs", "VertexStatusInfo"),
                           ("G.R.10", "ParticleStatusIDs", "ParticleStatusInfo")):
        if f"NuHepMC.{key}" not in att:
            out.append(f"{rid}: NuHepMC.{key} missing")
            continue
        for i in _ints(att[f"NuHepMC.{key}"]):
            out.extend(f"{rid}: NuHepMC.{info}[{i}].{field} missing" for field in ("Name", "Description")
                       if not str(att.get(f"NuHepMC.{info}[{i}].{field}", "")))
    if "NuHepMC.AdditionalParticleNumbers" not in att:
        out.append("G.R.11: NuHepMC.AdditionalParticleNumbers missing")
    else:
        out.extend(f"G.R.11: NuHepMC.AdditionalParticleNumber[{c}].Name missing"
                   for c in _ints(att["NuHepMC.AdditionalParticleNumbers"])
                   if not str(att.get(f"NuHepMC.AdditionalParticleNumber[{c}].Name", "")))
    return out


def _four(p) -> np.ndarray:
    m = p.momentum
    return np.array([m.e, m.px, m.py, m.pz])


def _event_violations(evt, att, seen: set) -> list[str]:
    out = []
    n = evt.event_number
    conv = str(att.get("NuHepMC.Conventions", "")).split()
    # E.R.1: HepMC3 graph: every vertex has incoming and outgoing particles; four-momentum conserved
    for v in evt.vertices:
        if not v.particles_in or not v.particles_out:
            out.append(f"E.R.1: event {n} vertex {v.id} lacks incoming or outgoing particles")
            continue
        pin = sum(_four(p) for p in v.particles_in)
        pout = sum(_four(p) for p in v.particles_out)
        if not np.allclose(pin, pout, rtol=0, atol=1e-9 * abs(pin[0])):
            out.append(f"E.R.1: event {n} vertex {v.id} (status {v.status}) violates four-momentum conservation")
    if n < 0 or n in seen:
        out.append(f"E.R.2: event number {n} negative or repeated")
    seen.add(n)
    ea = _strings(evt.attributes)
    pids = _ints(att.get("NuHepMC.ProcessIDs", ""))
    spid = ea.get("signal_process_id")
    if spid is None or int(str(spid)) not in pids:
        out.append(f"E.R.3: event {n} signal_process_id {spid} not declared in NuHepMC.ProcessIDs")
    if (evt.momentum_unit, evt.length_unit) != (pyhepmc.Units.GEV, pyhepmc.Units.MM):
        out.append(f"E.R.4: event {n} units {evt.momentum_unit}, {evt.length_unit}; this writer states GEV MM")
    lab = ea.get("lab_pos")
    if lab is None or len(str(lab).split()) not in (3, 4):
        out.append(f"E.R.5: event {n} lab_pos missing or not 3/4 doubles")
    vst = [v.status for v in evt.vertices]
    if not vst or vst.count(1) != 1 or 0 in vst:
        out.append(f"E.R.6: event {n} vertex statuses {vst}: need one primary (1) and no 0")
    st = [p.status for p in evt.particles]
    if st.count(4) != 1 or st.count(20) != 1:
        out.append(f"E.R.7: event {n} particle statuses {st}: need exactly one beam (4) and one target (20)")
    for p in evt.particles:
        if p.end_vertex is None and p.status != 1:
            out.append(f"E.R.8: event {n} particle {p.id} (pdg {p.pid}) leaves the event with status {p.status}")
        if p.status == 20 and np.any(_four(p)[1:] != 0):
            out.append(f"E.R.9: event {n} target not at rest: momenta are not in the lab frame")
    declared_v = set(_ints(att.get("NuHepMC.VertexStatusIDs", "")))
    out.extend(f"V.R.1: event {n} vertex status {s} reserved or undeclared (G.R.9)" for s in vst
               if s in (0, *range(3, 21)) or (s >= 21 and s not in declared_v and not (s == 21 and "V.C.1" in conv)))
    declared_p = set(_ints(att.get("NuHepMC.ParticleStatusIDs", "")))
    for p in evt.particles:
        s = p.status
        if s == 0 or 5 <= s <= 19 or (s >= 21 and s not in declared_p and not (s == 21 and "P.C.1" in conv)):
            out.append(f"P.R.1: event {n} particle status {s} reserved or undeclared (G.R.10)")
        incoming = p.production_vertex is None or p.production_vertex.id == 0
        if incoming and s not in (4, 20):
            out.append(f"P.R.1: event {n} incoming particle {p.id} has status {s}, not 4 or 20")
    extra = set(_ints(att.get("NuHepMC.AdditionalParticleNumbers", "")))
    out.extend(f"G.R.11: event {n} uses non-standard PDG code {p.pid} not declared" for p in evt.particles
               if not _standard_pdg(p.pid) and abs(p.pid) not in extra and p.pid not in extra)
    w = evt.weight("CV") if "CV" in list(evt.run_info.weight_names) else math.nan
    if not math.isfinite(w):
        out.append(f"G.R.7: event {n} has no finite CV weight")
    return out


def violations(path) -> list[str]:
    """All NuHepMC 1.0 requirement violations of a file, each message prefixed with its id (deduplicated)."""
    out: list[str] = []
    seen: set = set()
    with pyhepmc.open(path) as f:
        events = list(f)
    if not events:
        return ["G.R.1: no events, no GenRunInfo"]
    ri = events[0].run_info
    out += _run_info_violations(ri)
    att = _strings(ri.attributes) if ri is not None else {}
    for evt in events:
        out += _event_violations(evt, att, seen)
    return list(dict.fromkeys(re.sub(r"event \d+", "event N", m) for m in out))


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mb_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("nuhepmc")
    (d / "mb.toml").write_text(CARD.format(n=60))
    return run_card(load_card(d / "mb.toml"), out_dir=d / "out")


@pytest.fixture(scope="module")
def mb_file(mb_run):
    return mb_run.files["hepmc3"]


def test_microboone_file_passes_the_validator(mb_file):
    """Every requirement holds on the file of a MicroBooNE run, including four-momentum conservation."""
    assert violations(mb_file) == []


def test_every_vertex_conserves_four_momentum(mb_file):
    """Sum of incoming = sum of outgoing four-momenta at every vertex (primary, nucleon separation, decays)."""
    statuses = set()
    with pyhepmc.open(mb_file) as f:
        for evt in f:
            for v in evt.vertices:
                pin = np.sum([_four(p) for p in v.particles_in], axis=0)
                pout = np.sum([_four(p) for p in v.particles_out], axis=0)
                np.testing.assert_allclose(pin, pout, rtol=0, atol=1e-9 * pin[0])
                statuses.add(v.status)
            # E.R.5: lab_pos is the primary vertex position in mm (written with 6 decimals: 1e-6 mm)
            primary = next(v for v in evt.vertices if v.status == 1)
            lab = [float(x) for x in str(evt.attributes["lab_pos"]).split()]
            pos = primary.position
            np.testing.assert_allclose(lab, [pos.x, pos.y, pos.z], rtol=0, atol=1e-6)
    assert statuses == {1, 21, 22}  # coherent + incoherent events with HNL decays


def test_flux_averaged_cross_section_is_per_atom(mb_run, mb_file):
    """G.C.2 value = sum over channels of sigma per argon atom: coherent per nucleus, incoherent x Z or x N.

    Independent numbers: Ar40 has Z = 18 protons and N = 22 neutrons. One flavour, one target, so the
    flux average is the plain sum; relative tolerance 1e-12 (printed with 15 digits).
    """
    mult = {"coherent": 1, "p": 18, "n": 22}
    expected = 0.0
    for c in mb_run.summary["channels"]:
        key = c["regime"] if c["regime"] == "coherent" else c["nucleon"]
        expected += c["sigma_per_scatterer_cm2"] * mult[key] / 1e-36  # 1 pb = 1e-36 cm^2
        # summary.json states the same per-atom value, labelled
        assert c["sigma_cm2"] == pytest.approx(c["sigma_per_scatterer_cm2"] * mult[key], rel=1e-12)
        assert c["sigma_scale"] == "per Ar40 atom"
    with pyhepmc.open(mb_file) as f:
        evt = f.read()
    att = _strings(evt.run_info.attributes)
    assert float(str(att["NuHepMC.FluxAveragedTotalCrossSection"])) == pytest.approx(expected, rel=1e-12)
    assert str(att["NuHepMC.Units.CrossSection.TargetScale"]) == "PerAtom"
    assert evt.cross_section.xsec() == pytest.approx(expected, rel=1e-8)  # GenCrossSection: 9 digits
    assert float(str(att["NuHepMC.Exposure.POT"])) == pytest.approx(13.6e20, rel=1e-12)  # G.C.1
    # the sum of CV weights is the expected number of events of the run
    total = sum(c["expected_events"] for c in mb_run.summary["channels"])
    with pyhepmc.open(mb_file) as f:
        assert sum(e.weight("CV") for e in f) == pytest.approx(total, rel=1e-9)


def test_same_card_and_seed_give_identical_bytes(mb_run, tmp_path):
    """No timings or other clock-dependent values in the file: a second run gives the same bytes."""
    card = load_card(mb_run.card.path)
    again = run_card(card, out_dir=tmp_path / "again")
    assert Path(again.files["hepmc3"]).read_bytes() == Path(mb_run.files["hepmc3"]).read_bytes()
    assert "timing_s" not in Path(again.files["hepmc3"]).read_text()


BREAKS = [
    ("W CV\n", "W Default\n", "G.R.7"),
    ("A NuHepMC.Version.Major 1\n", "", "G.R.2"),
    ("A NuHepMC.Conventions G.C.1 G.C.2", "A NuHepMC.Conventions G.C.1", "G.R.5"),
    ("A NuHepMC.Units.CrossSection.Unit pb\n", "", "G.R.6"),
    ("A NuHepMC.ProcessInfo[750].Description", "A Broken[750].Description", "G.R.8"),
    ("A NuHepMC.VertexStatusIDs 1 21 22", "A NuHepMC.VertexStatusIDs 1 21", "V.R.1"),
    ("A NuHepMC.AdditionalParticleNumbers 32 9900004 ", "A NuHepMC.AdditionalParticleNumbers 32 ", "G.R.11"),
    ("A 0 lab_pos", "A 0 not_lab_pos", "E.R.5"),
    ("A 0 signal_process_id 750", "A 0 signal_process_id 7", "E.R.3"),
    (" 3.7224724248699999e+01 3.7224724248699999e+01 20\n", " 3.7224724248699999e+01 3.7224724248699999e+01 4\n",
     "E.R.7"),
    ("V -1 1 [", "V -1 0 [", "E.R.6"),
    ("V -2 22 [", "V -2 7 [", "V.R.1"),
]


@pytest.mark.parametrize(("old", "new", "rid"), BREAKS, ids=[b[2] + "-" + str(i) for i, b in enumerate(BREAKS)])
def test_validator_catches_a_broken_file(mb_file, tmp_path, old, new, rid):
    """Each deliberate break of a good file is reported under the requirement it violates."""
    text = Path(mb_file).read_text()
    assert old in text
    bad = tmp_path / "bad.hepmc3"
    bad.write_text(text.replace(old, new))
    found = violations(bad)
    assert any(m.startswith(rid) for m in found), found


def test_validator_catches_momentum_violation(mb_file, tmp_path):
    """Changing one outgoing energy breaks four-momentum conservation (E.R.1)."""
    text = Path(mb_file).read_text()
    lines = text.splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if ln.startswith("P 3 -1 "))
    fields = lines[k].split()
    fields[7] = repr(float(fields[7]) * 1.01)  # E of the particle
    lines[k] = " ".join(fields) + "\n"
    bad = tmp_path / "bad.hepmc3"
    bad.write_text("".join(lines))
    assert any(m.startswith("E.R.1") for m in violations(bad))


def test_plain_hepmc3_for_non_neutrino_runs(tmp_path):
    """Runs that are not neutrino upscattering carry the metadata but no NuHepMC version (not NuHepMC files)."""
    from generator.io import write_hepmc
    from tests.io.test_io_synthetic import make_run

    blocks, run_info = make_run(seed=3)
    path = write_hepmc(tmp_path / "plain.hepmc3", blocks, run_info)
    with pyhepmc.open(path) as f:
        evt = f.read()
    att = _strings(evt.run_info.attributes)
    assert "NuHepMC.Version.Major" not in att
    assert list(evt.run_info.weight_names) == ["CV"]
    assert _ints(att["NuHepMC.ProcessIDs"]) == [750, 751]
    assert any(m.startswith("G.R.2") for m in violations(path))


def test_flux_averaged_cross_section_with_two_targets():
    """CH2 (N_H = 2 N_C atoms), one flavour: <sigma> = (R_C + R_p + R_H) / (POT (N_C + N_H) Phi), pb per atom.

    Hand-made channels: coherent on C12 (per nucleus), incoherent on the 6 protons of C12 (per proton) and on
    the free proton H1; the rates follow from sigma x scatterers x POT x Phi. Exact arithmetic, rel 1e-12.
    """
    from generator.io.nuhepmc import flux_averaged_cross_section_pb

    pot, phi, n_c = 1e20, 5e-10, 1e30
    chans = [
        {"name": "coh", "target_pdg": 1000060120, "nucleon": None, "sigma_per_scatterer_cm2": 3e-39,
         "n_scatterers": n_c},
        {"name": "incp", "target_pdg": 1000060120, "nucleon": "p", "sigma_per_scatterer_cm2": 2e-40,
         "n_scatterers": 6 * n_c},
        {"name": "h", "target_pdg": 1000010010, "nucleon": "p", "sigma_per_scatterer_cm2": 1e-40,
         "n_scatterers": 2 * n_c},
    ]
    for c in chans:
        c.update(pot=pot, flux_integral_per_cm2_per_pot=phi, neutrino="nu_mu", production="upscattering",
                 expected_events=c["sigma_per_scatterer_cm2"] * c["n_scatterers"] * pot * phi, expected_events_err=0.0)
    sigma, err = flux_averaged_cross_section_pb({"channels": chans}, ["coh", "incp", "h"])
    per_c_atom = 3e-39 + 6 * 2e-40  # cm^2 per carbon atom
    expected = (n_c * per_c_atom + 2 * n_c * 1e-40) / (3 * n_c) / 1e-36
    assert sigma == pytest.approx(expected, rel=1e-12)
    assert err == 0.0
