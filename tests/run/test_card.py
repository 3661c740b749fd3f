"""Steering-card validation: every bad card gets an error naming the key, the value and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.card import load_card, parse_card
from generator.errors import CardError, UnknownNameError

ROOT = Path(__file__).resolve().parents[2]

GOOD_MODEL = """
[model]
flavours = ["mu"]
M_D_GeV = [-3.47e-5, 1.98e-3, -3.89e-3]
M_N_GeV = [-0.09, 6.0, -18.0]
Lambda_L_GeV = [0.0375, 0.24, 0.0]
Lambda_R_GeV = [-0.0281, 0.54, 0.0]
M_X_GeV = 0.196
m_Zprime_GeV = 1.25
epsilon2 = 4.6e-4
alpha_D = 0.32
m_phiprime_GeV = 1.0
"""


def test_shipped_cards_load():
    for path in sorted((ROOT / "cards").glob("*.toml")):
        card = load_card(path)
        assert card.parameters().m_Zprime > 0


def test_explicit_card_equals_preset():
    from generator.model import Spectrum, preset

    s1 = Spectrum(parse_card(GOOD_MODEL).parameters())
    s2 = Spectrum(preset("BP-B"))
    assert abs(s1.mass("N5") - s2.mass("N5")) < 1e-12


def test_preset_with_override():
    card = parse_card('[model]\npreset = "BP-B"\nm_phiprime_GeV = 1.6\n')
    assert card.parameters().m_phiprime == 1.6
    assert card.parameters().alpha_D == 0.32


BAD = [
    # (card text, exception type, fragments that must appear in the message)
    ('[model]\npreset = "BP-B"\nm_zprime_GeV = 1.0\n', CardError,
     ["model.m_zprime_GeV", "unknown key", "m_Zprime_GeV"]),
    ('[model]\npreset = "BP-E"\n', CardError, ["model.preset", "'BP-E'", "BP-A"]),
    ('[modle]\npreset = "BP-B"\n', CardError, ["modle", "unknown section", "model"]),
    ("[run]\nseed = 1\n", CardError, ["model", "missing section"]),
    (GOOD_MODEL.replace("m_Zprime_GeV = 1.25", "m_Zprime_GeV = -1.0"), CardError,
     ["model.m_Zprime_GeV", "-1.0", "> 0"]),
    (GOOD_MODEL.replace("alpha_D = 0.32", 'alpha_D = "big"'), CardError, ["model.alpha_D", "'big'", "number"]),
    (GOOD_MODEL.replace("m_phiprime_GeV = 1.0\n", ""), CardError, ["model.m_phiprime_GeV", "missing"]),
    (GOOD_MODEL.replace("epsilon2 = 4.6e-4", "epsilon2 = 4.6e-4\nchi = 0.02"), CardError, ["chi", "only one"]),
    (GOOD_MODEL.replace('flavours = ["mu"]', 'flavours = ["mu", "e", "tau"]'), CardError, ["model.flavours", "1 or 2"]),
    (GOOD_MODEL.replace('flavours = ["mu"]', 'flavours = ["muon"]'), UnknownNameError, ["'muon'", "mu"]),
    (GOOD_MODEL.replace("M_N_GeV = [-0.09, 6.0, -18.0]", "M_N_GeV = [-0.09, 6.0]"), CardError,
     ["model.M_D_GeV", "shape"]),
    (GOOD_MODEL.replace("M_X_GeV = 0.196", "M_X_GeV = 0.0"), CardError, ["model.M_X_GeV", "non-zero"]),
    (GOOD_MODEL.replace("alpha_D = 0.32", "alpha_D = 3.0"), CardError, ["model.alpha_D", "<= 1"]),
    (GOOD_MODEL.replace("epsilon2 = 4.6e-4", "epsilon2 = 0.0"), CardError, ["model.epsilon2", "> 0"]),
    (GOOD_MODEL + "\n[run]\nn_events = 0\n", CardError, ["run.n_events", "= 0", "> 0"]),
    (GOOD_MODEL + "\n[run]\nshard = 3\nn_shards = 2\n", CardError, ["run.shard", "n_shards"]),
    (GOOD_MODEL + '\n[process]\nproduction = "upscatter"\n', CardError, ["process.production", "upscattering"]),
    (GOOD_MODEL + '\n[output]\nformats = ["hepmc"]\n', CardError, ["output.formats", "hepmc3"]),
    (GOOD_MODEL + '\n[experiment]\nname = "miniboone"\npot = 0.0\n', CardError, ["experiment.pot", "> 0"]),
    (GOOD_MODEL + "\n[xsec]\nE_min_GeV = 2.0\nE_max_GeV = 1.0\n", CardError, ["xsec.E_max_GeV", "E_min_GeV"]),
    (GOOD_MODEL + '\n[decay]\nmode = "forced"\n', CardError, ["decay.forced", "missing"]),
    ("[model\npreset = 1", CardError, ["not valid TOML"]),
    ("[model]\npreset = 5\n", CardError, ["model.preset", "5", "string"]),
]


@pytest.mark.parametrize(("text", "exc", "fragments"), BAD)
def test_bad_cards_name_key_value_and_rule(text, exc, fragments):
    with pytest.raises(exc) as info:
        parse_card(text)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in message {msg!r}"


def test_missing_file_error(tmp_path):
    with pytest.raises(CardError, match="does not exist"):
        load_card(tmp_path / "nope.toml")


# ------------------------------------------------------------------ encodings (TOML v1.0: files are UTF-8)
def test_latin1_card_names_file_offset_and_rule(tmp_path):
    text = '[model]\npreset = "BP-B"\n[run]\nname = "r\u00e9sum\u00e9"\n'
    path = tmp_path / "latin1.toml"
    path.write_bytes(text.encode("latin-1"))
    offset = text.index("\u00e9")  # ASCII before it: character index = byte offset
    with pytest.raises(CardError) as err:
        load_card(path)
    msg = str(err.value)
    for frag in (str(path), f"byte offset {offset}", "line 4", "b'\\xe9'", "cards must be UTF-8"):
        assert frag in msg, f"{frag!r} not in message {msg!r}"
    assert err.value.__cause__ is None and not isinstance(err.value, UnicodeDecodeError)


def test_utf16_card_is_refused_with_card_error(tmp_path):
    path = tmp_path / "utf16.toml"
    path.write_bytes('[model]\npreset = "BP-B"\n'.encode("utf-16"))  # starts with the BOM ff fe
    with pytest.raises(CardError, match=r"byte offset 0 .*cards must be UTF-8"):
        load_card(path)


def test_utf8_bom_is_accepted_and_dropped(tmp_path):
    text = '[model]\npreset = "BP-B"\n[run]\nname = "r\u00e9sum\u00e9"\n'
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    card = load_card(path)
    assert card.name == "r\u00e9sum\u00e9"
    assert card.text == text  # the stored card text (written into output files) has no BOM
    assert parse_card("\ufeff" + text).name == card.name


# ------------------------------------------------------------------ shared fixtures (tests/conftest.py)
def test_make_card_builds_validated_cards(make_card):
    card = make_card(run={"name": "built", "n_events": 123, "seed": 5}, output={"formats": ["root"], "gzip": True})
    assert (card.name, card.run.n_events, card.run.seed) == ("built", 123, 5)
    assert card.output.formats == ["root"] and card.output.gzip is True
    assert card.parameters().name == "BP-B"  # default [model]
    assert parse_card(card.text).run.n_events == 123  # card.text is the TOML the card was built from
    with pytest.raises(CardError, match=r"output\.formats"):
        make_card(output={"formats": ["lhe"]})


def test_bp_models_are_the_table_iii_presets(bp_models):
    assert sorted(bp_models) == ["BP-A", "BP-B", "BP-C", "BP-D"]
    # "For all BPs, we take m_Z' = 1.25 GeV, m_phi' = 1 GeV and eps^2 = 4.6e-4" (paper, App. A)
    for bp, model in bp_models.items():
        assert model.params.name == bp
        assert model.params.m_Zprime == pytest.approx(1.25, rel=1e-12)
        assert model.params.epsilon**2 == pytest.approx(4.6e-4, rel=1e-12)
