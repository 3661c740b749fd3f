"""The production registry (generator/processes/registry.py), the card keys per production, the one definition
loader (generator/datafiles.py) and the one model adapter (generator.model.model.as_model)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from generator import datafiles
from generator.card import ExperimentSection, ProcessSection, load_card, parse_card
from generator.colliders import load_collider
from generator.errors import CardError, DataFileError, DataTableError, UnknownNameError
from generator.experiments import experiment, load_experiment_file, load_kaon_experiment
from generator.model.model import Model, as_model
from generator.model.parameters import preset
from generator.model.spectrum import Spectrum
from generator.processes.registry import PRODUCTIONS, CardKey, Process, production, register, section_keys, users_of
from generator.run import build_channels, run_card

ROOT = Path(__file__).resolve().parents[2]
CARDS = sorted((ROOT / "cards").glob("*.toml"))
BABAR = ('[model]\npreset = "BP-B"\n[process]\nproduction = ["ee_pair", "upsilon"]\nfinal_hnl = ["N4N5"]\n'
         '[experiment]\nname = "babar"\n')


# ------------------------------------------------------------------------------------------ registry
def test_registry_is_the_card_schema():
    assert set(PRODUCTIONS) == {"upscattering", "ee_pair", "upsilon", "higgsstrahlung", "isr", "kaon_decay"}
    for name in PRODUCTIONS:  # every registered name is accepted by the card, every builder imports
        parse_card(f'[model]\npreset = "BP-B"\n[process]\nproduction = "{name}"\n')
        assert callable(production(name).channel_builder())
    with pytest.raises(UnknownNameError, match="ee_pair"):
        production("ee_pairs")
    assert users_of("process", "lepton") == ["kaon_decay"]
    assert set(users_of("experiment", "luminosity_fb")) == {"ee_pair", "upsilon", "higgsstrahlung", "isr"}


def test_every_process_satisfies_the_protocol():
    card = parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = ["ee_pair", "upsilon", "higgsstrahlung", '
                      '"isr"]\nfinal_hnl = ["N4N5"]\n[experiment]\nname = "babar"\nsqrt_s_GeV = [10.02]\n')
    specs = build_channels(card, Model(card.parameters()))
    assert [s.production for s in specs] == ["ee_pair", "upsilon", "higgsstrahlung", "isr"]
    rng = np.random.default_rng(1)
    for s in specs:
        assert isinstance(s.process, Process)
        x = rng.random((8, s.process.dim))
        w = s.process.integrand(x)
        assert w.shape == (8,) and np.all(np.isfinite(w)) and np.all(w >= 0)
        assert s.process.events(x, w, rng).n_events == 8


# ------------------------------------------------------------------------------------------ card keys per production
def test_key_of_another_production_is_rejected():
    text = BABAR.replace('final_hnl = ["N4N5"]\n',
                         'final_hnl = ["N4N5"]\ntargets = ["Ar40"]\nneutrino = "nu_e_bar"\npauli_blocking = true\n')
    with pytest.raises(CardError) as info:
        parse_card(text)
    msg = str(info.value)
    for frag in ("process.neutrino", "ee_pair, upsilon", "'upscattering'"):
        assert frag in msg, msg
    bad_exp = BABAR + "pot = 1e20\n"
    with pytest.raises(CardError, match=r"experiment\.pot.*'upscattering'"):
        parse_card(bad_exp)
    kaon = '[model]\npreset = "BP-B"\n[process]\nproduction = "kaon_decay"\n[experiment]\nname = "na62"\n'
    with pytest.raises(CardError, match=r"experiment\.luminosity_fb.*'ee_pair'"):
        parse_card(kaon + "luminosity_fb = [1.0]\n")
    # default production (upscattering) when [process] is absent: kaon keys are foreign
    with pytest.raises(CardError, match=r"experiment\.n_kaon_decays.*kaon_decay"):
        parse_card('[model]\npreset = "BP-B"\n[experiment]\nname = "MiniBooNE"\nn_kaon_decays = 1e10\n')
    # a key is fine as soon as one of the card's productions reads it
    parse_card(kaon.replace('"kaon_decay"', '["kaon_decay", "upscattering"]') + "pot = 1e20\n")


@pytest.mark.parametrize("path", CARDS, ids=[p.stem for p in CARDS])
def test_shipped_cards_load_and_run(path):
    card = load_card(path)
    if card.process is None:  # model-only cards (dsgen spectrum / widths)
        assert card.experiment is None
        return
    card.run.n_events, card.run.n_adapt, card.run.evals_per_iter, card.run.progress = 10, 2, 300, False
    res = run_card(card, write=False)
    assert {c.spec.production for c in res.channels} == set(card.process.productions)
    assert all(isinstance(c.spec.process, Process) for c in res.channels)
    assert res.summary["expected_events_total"] > 0


def test_card_sections_are_built_from_the_declarations():
    assert ProcessSection().productions == ["upscattering"]
    for section, cls in (("process", ProcessSection), ("experiment", ExperimentSection)):
        assert [f.name for f in dataclasses.fields(cls)] == list(section_keys(section))
    card = parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = "kaon_decay"\n[experiment]\nname = "na62"\n')
    assert card.process.lepton == "mu" and card.process.final_hnl == ["N5", "N6"]
    assert card.experiment.acceptance is None  # default: the experiment file's
    with pytest.raises(CardError, match=r"process\.lepton.*'tau' is not allowed.*'mu', 'e'"):
        parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = "kaon_decay"\nlepton = "tau"\n')
    with pytest.raises(CardError, match=r"experiment\.acceptance.*= 1\.5: must be in \(0, 1\]"):
        parse_card('[model]\npreset = "BP-B"\n[process]\nproduction = "kaon_decay"\n[experiment]\nname = "na62"\n'
                   'acceptance = 1.5\n')
    with pytest.raises(ValueError, match="share one CardKey"):
        register("other_kaon", "generator.processes.kaon:channels_from_card", {"lepton": CardKey(str, "e")})
    assert "other_kaon" not in PRODUCTIONS


# ------------------------------------------------------------------------------------------ definition loader
def test_shipped_definitions_are_package_resources():
    assert set(datafiles.shipped_files("colliders")) == {"babar", "belle2"}
    assert {"miniboone", "microboone", "ps191", "ccfr", "na62"} <= set(datafiles.shipped_files("experiments"))
    assert load_collider("babar").path.endswith("babar.toml")
    assert experiment("MiniBooNE").pot == pytest.approx(18.75e20)


def test_definition_errors_name_file_and_key(tmp_path):
    f = tmp_path / "col.toml"
    f.write_text('name = "X"\nisr_cos_theta_cm = [-0.5, 0.5]\n[[runs]]\nlabel = "a"\nsqrt_s_GeV = "ten"\n'
                 'E_electron_GeV = 5.0\nE_positron_GeV = 5.0\n')
    with pytest.raises(DataTableError) as info:
        load_collider(str(f))
    assert info.value.file == str(f) and info.value.key == "runs[0].sqrt_s_GeV" and "'ten'" in str(info.value)
    assert isinstance(info.value, DataFileError)
    f.write_text('name = "X"\nisr_cos_theta_cm = [-0.5, 0.5]\nrun = []\n')
    with pytest.raises(DataTableError, match=r"col\.toml: key `run`: unknown key"):
        load_collider(str(f))
    k = tmp_path / "kaon.toml"
    k.write_text('name = "X"\nmeson = "K+"\nn_decays = 1e10\nacceptance = 1.5\nbeam_momentum_GeV = 75.0\n'
                 'beam_momentum_sigma_GeV = 0.7\ndecay_volume_z_m = [105.0, 165.0]\n')
    with pytest.raises(DataTableError, match=r"kaon\.toml: key `acceptance`: = 1\.5: must be in \(0, 1\]"):
        load_kaon_experiment(str(k))
    e = tmp_path / "exp.toml"
    good = datafiles.read_file(datafiles.shipped_files("experiments")["miniboone"])
    assert load_experiment_file(datafiles.shipped_files("experiments")["miniboone"]).name == good["name"]
    e.write_text('name = "X"\npot = -1.0\n')
    with pytest.raises(DataTableError, match=r"exp\.toml: key `pot`: = -1\.0: must be > 0"):
        load_experiment_file(e)
    e.write_text("name = [")
    with pytest.raises(DataTableError, match=r"exp\.toml: key `<file>`: is not valid TOML"):
        load_experiment_file(e)


# ------------------------------------------------------------------------------------------ model adapter
def test_as_model_accepts_model_parameters_and_spectrum():
    params = preset("BP-B")
    m = Model(params)
    assert as_model(m) is m
    spec = Spectrum(params)
    from_spec = as_model(spec)
    assert from_spec.spectrum is spec and from_spec.convention == params.vertex_convention
    assert as_model(params).width("Z'") == pytest.approx(m.width("Z'"), rel=1e-12)
    with pytest.raises(TypeError, match="dict"):
        as_model({})
