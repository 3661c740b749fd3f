"""Provenance: model label with overrides, resolved model, versions, git commit, command line, card."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pyhepmc
import pytest

from generator import provenance
from generator.card import CardError, parse_card
from generator.model.model import Model
from generator.model.parameters import preset

HBARC_GEV_CM = 1.973269804e-14  # hbar c in GeV cm (CODATA 2018), independent of generator.constants


def _card(extra: str = "") -> str:
    return f'[model]\npreset = "BP-B"\n{extra}'


def test_model_name_says_when_a_preset_is_modified():
    alpha = preset("BP-B").alpha_D
    assert provenance.model_name(parse_card(_card())) == "BP-B"
    assert provenance.model_name(parse_card(_card(f"alpha_D = {alpha * 2}\n"))) == "BP-B (modified: alpha_D)"
    two = parse_card(_card(f"alpha_D = {alpha * 2}\nm_Zprime_GeV = 1.5\n"))
    assert provenance.model_name(two) == "BP-B (modified: m_Zprime, alpha_D)"
    # a key set to the preset's own value is no modification
    assert provenance.model_name(parse_card(_card(f"alpha_D = {alpha!r}\n"))) == "BP-B"


def test_resolved_model_masses_widths_and_ctau():
    """Masses, widths and c tau0 (= hbar c / Gamma, independent constant, rel 1e-9) of the resolved model."""
    card = parse_card(_card("m_Zprime_GeV = 1.5\n"))
    model = Model(card.parameters())
    prov = provenance.build_provenance(card, model, argv=["dsgen", "run", "x.toml"])
    m = prov["model"]
    assert m["masses_GeV"]["Z'"] == 1.5
    assert m["masses_GeV"]["N6"] == pytest.approx(model.mass("N6"), rel=1e-15)
    assert m["vertex_convention"] == "majorana"
    for name, width in m["widths_GeV"].items():
        assert width > 0
        assert m["ctau0_cm"][name] == pytest.approx(HBARC_GEV_CM / width, rel=1e-9)
    assert m["couplings"]["alpha_D"] == preset("BP-B").alpha_D
    assert set(m["mixings_U2"]) == {f"mu,{n}" for n in model.spectrum.heavy_names}
    assert m["mixings_U2"]["mu,N4"] == pytest.approx(model.spectrum.U2("mu", "N4"), rel=1e-15)
    assert prov["model_name"] == "BP-B (modified: m_Zprime)"
    assert prov["command_line"] == ["dsgen", "run", "x.toml"]
    assert prov["card"] == card.text
    json.dumps(prov)  # JSON-friendly


def test_versions_and_git_commit():
    prov = provenance.build_provenance(None, None)
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["versions"]["pyhepmc"] == pyhepmc.__version__
    assert set(provenance.KEY_DEPENDENCIES) <= set(prov["versions"])
    here = Path(provenance.__file__).resolve().parent
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=False)
    expected = head.stdout.strip() if head.returncode == 0 else None
    assert prov["git_commit"] == expected
    assert prov["model"] is None and prov["model_name"] is None


def test_no_checkout_gives_no_commit_and_no_error(tmp_path):
    assert provenance.git_state(tmp_path) == (None, None)


def test_from_card_text():
    assert provenance.from_card_text("[run]\nseed = 1\n")["model"] is None
    assert provenance.from_card_text(_card())["model_name"] == "BP-B"
    with pytest.raises(CardError):
        provenance.from_card_text('[model]\npreset = "BP-Z"\n')


def test_hepmc_run_info_carries_the_provenance(tmp_path):
    """The HepMC3 header holds the provenance (modified-preset name, resolved model), without timings."""
    from generator.io import write_hepmc
    from tests.io.test_io_synthetic import make_run

    blocks, run_info = make_run(seed=4)
    run_info = dict(run_info, card=_card("alpha_D = 0.5\n"))
    path = write_hepmc(tmp_path / "p.hepmc3", blocks, run_info)
    with pyhepmc.open(path) as f:
        ri = f.read().run_info
    prov = json.loads(str(ri.attributes["NuHepMC.Provenance.JSON"]))
    assert prov["model_name"] == "BP-B (modified: alpha_D)"
    assert prov["model"]["couplings"]["alpha_D"] == 0.5
    assert prov["versions"]["numpy"] == np.__version__
