"""Fluxes and experiments: shipped parameterisations against the published tables, table reader, errors.

The published tables live in ../shared/data/fluxes (never copied into the repository); tests that need them
skip with a reason when that folder is absent.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from generator.errors import CardError, FluxFileError, UnknownNameError
from generator.experiments import available_experiments, experiment, sample_uniform
from generator.flux import available_fluxes, read_flux_table, shipped_flux
from generator.geometry import Box, Cylinder, Sphere

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fluxes"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"published flux tables not found at {SHARED}")
FILES = {"MiniBooNE_FHC": "MiniBooNE_FHC.dat", "MiniBooNE_RHC": "MiniBooNE_RHC.dat",
         "MicroBooNE_BNB": "MicroBooNE_BNB_fullflux.txt", "PS191": "PS_191_numu_flux.dat",
         "PS191_nue": "PS_191_nue_flux.dat", "NuTeV_FHC": "NuTeV_FHC.dat"}
#: main beam components, fitted to <= 4% in the bulk; minor (wrong-sign / nu_e) components carry larger
#: bin-to-bin Monte Carlo fluctuations in the tables and are accepted by the fit script up to 10%.
MAIN = {("MiniBooNE_FHC", "nu_mu"), ("MicroBooNE_BNB", "nu_mu"), ("PS191", "nu_mu"), ("NuTeV_FHC", "nu_mu"),
        ("MiniBooNE_RHC", "nu_mu_bar"), ("PS191_nue", "nu_e")}


@needs_shared
@pytest.mark.parametrize(("name", "flavour"), [(n, f) for n, fl in available_fluxes().items() for f in fl])
def test_parameterisation_matches_published_table(name, flavour):
    table = read_flux_table(SHARED / FILES[name], flavour)
    par = shipped_flux(name, flavour)
    lo, hi = par.E_min, par.E_max
    # integrated flux over the fitted range: 1.5% (the fit accepts 1%; the table here is interpolated
    # linearly between bins, the fit compared bin values)
    assert par.integral(lo, hi) == pytest.approx(table.integral(lo, hi), rel=0.015)
    # bin by bin where the flux exceeds 10% of its peak
    E = table.nodes_E[1:-1] if table.binned else table.nodes_E
    phi = table(E)
    bulk = phi > 0.1 * phi.max()
    dev = np.abs(par(E[bulk]) / phi[bulk] - 1)
    assert dev.max() < (0.05 if (name, flavour) in MAIN else 0.10)
    # flux-averaged energy over the fitted range: 2%
    assert par.mean_energy(lo, hi) == pytest.approx(table.mean_energy(lo, hi), rel=0.02)


@needs_shared
def test_formats_are_detected_and_units_agree():
    """MicroBooNE numu file (edges, per 50 MeV) and full-flux file (centres, per bin) describe the same flux:
    integrals agree to 1% (independent releases of the same MCC9 prediction; they differ by 0.3%)."""
    a = read_flux_table(SHARED / "MicroBooNE_BNB_numu_flux.dat", "nu_mu")
    b = read_flux_table(SHARED / "MicroBooNE_BNB_fullflux.txt", "nu_mu")
    assert a.integral() == pytest.approx(b.integral(), rel=0.01)
    raw = np.loadtxt(SHARED / "MiniBooNE_FHC.dat")
    c = read_flux_table(SHARED / "MiniBooNE_FHC.dat", "nu_mu")
    assert c.integral() == pytest.approx(raw[:, 2].sum() * 0.05, rel=1e-3)  # per GeV x 50 MeV bins


def test_synthetic_tables_all_formats(tmp_path):
    E = np.arange(0.05, 3.0, 0.1)
    phi = np.exp(-E)  # per GeV
    w = 0.1
    f1 = tmp_path / "two.dat"
    np.savetxt(f1, np.c_[E, phi])
    f2 = tmp_path / "centres_bin.txt"
    cols = np.zeros((E.size, 6))
    cols[:, 1] = phi * w
    np.savetxt(f2, np.c_[E, cols], header="BinMid nue numu nutau nuebar numubar nutaubar per bin")
    f3 = tmp_path / "edges.dat"
    np.savetxt(f3, np.c_[E - w / 2, E + w / 2, phi * w, np.zeros_like(E)], header="Elo Ehi numu numub")
    exact = math.exp(-E[0]) - math.exp(-E[-1])  # integral between the first and last point
    for path in (f1, f2, f3):
        t = read_flux_table(path, "nu_mu")
        # linear interpolation of exp(-E) on a 0.1 GeV grid: error ~ w^2/12 = 1e-3 relative
        assert t.integral(E[0], E[-1]) == pytest.approx(exact, rel=2e-3)


def test_reader_errors_name_path_line_and_format(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("# E flux\n0.1 1.0\n0.2 abc\n")
    with pytest.raises(FluxFileError, match=r"bad\.dat'?, line 3: .* expected one of the formats"):
        read_flux_table(bad)
    with pytest.raises(FluxFileError, match="does not exist"):
        read_flux_table(tmp_path / "missing.dat")
    ragged = tmp_path / "ragged.dat"
    ragged.write_text("0.1 1 2\n0.2 1\n")
    with pytest.raises(FluxFileError, match="line 2: 2 columns"):
        read_flux_table(ragged)
    neg = tmp_path / "neg.dat"
    neg.write_text("0.1 1\n0.2 -1\n")
    with pytest.raises(FluxFileError, match="line 2: negative flux"):
        read_flux_table(neg)
    order = tmp_path / "order.dat"
    order.write_text("0.3 1\n0.2 1\n")
    with pytest.raises(FluxFileError, match="line 2: energies must increase"):
        read_flux_table(order)
    with pytest.raises(UnknownNameError, match="flavour"):
        read_flux_table(order, "nu_x")


# ------------------------------------------------------------------------------------ experiments
def test_experiments_catalogue_and_unknown_name():
    assert set(available_experiments()) >= {"miniboone", "microboone", "ps191", "ccfr"}
    for name in ("MiniBooNE", "MicroBooNE", "PS-191", "CCFR"):
        e = experiment(name)
        assert e.pot > 0 and e.fiducial_mass_t > 0 and e.flux().integral() > 0
    with pytest.raises(UnknownNameError, match="Did you mean 'miniboone'"):
        experiment("minibone")


def test_paper_exposures():
    # POT from the paper (MicroBooNE, end of Sec. IV) and from the MiniBooNE 2020 release in ../shared
    assert experiment("MicroBooNE").pot == 13.6e20
    assert experiment("MiniBooNE").pot == 18.75e20


@pytest.mark.parametrize("name", ["MiniBooNE", "MicroBooNE", "PS191"])
def test_fiducial_mass_matches_volume_times_density(name):
    """The quoted mass and the vertex volume describe the same detector: 1.5% (MicroBooNE: 85 t quoted,
    85.9 t from the box and the LAr density)."""
    e = experiment(name)
    assert e.density_g_cm3 * e.geometry.volume_cm3 / 1e6 == pytest.approx(e.fiducial_mass_t, rel=0.015)


def test_target_counts_of_mineral_oil():
    """CH2: twice as many H as C nuclei; masses add up to the fiducial mass (nuclear masses, 1e-9)."""
    e = experiment("MiniBooNE")
    nC, nH = e.n_nuclei("C12"), e.n_nuclei("H1")
    assert nH / nC == pytest.approx(2.0, rel=1e-12)
    from generator.targets import target

    grams = (nC * target("C12").mass + nH * target("H1").mass) / 0.93149410242 / 6.02214076e23
    assert grams == pytest.approx(e.fiducial_mass_t * 1e6, rel=1e-9)
    with pytest.raises(UnknownNameError, match="target of MiniBooNE"):
        e.n_nuclei("Ar40")


def test_bad_overrides(tmp_path):
    e = experiment("MicroBooNE")
    with pytest.raises(CardError, match=r"experiment\.pot.*must be a finite number of POT > 0"):
        e.with_overrides(pot=0.0)
    bad = tmp_path / "flux.txt"
    bad.write_text("energy flux\n")
    with pytest.raises(FluxFileError, match="line 1"):
        e.with_overrides(flux_file=bad)
    good = tmp_path / "mono.dat"
    np.savetxt(good, np.c_[[0.5, 1.0, 1.5], [1e-10, 2e-10, 1e-10]])
    e2 = e.with_overrides(flux_file=good, pot=1e20)
    assert e2.flux().integral() == pytest.approx(1.5e-10, rel=1e-3) and e2.pot == 1e20  # trapezoid


@pytest.mark.parametrize("shape", [Sphere(50.0, (1.0, 2.0, 3.0)), Cylinder(30.0, 200.0, (0, 0, 10.0), (1.0, 1.0, 0.0)),
                                   Box((10.0, 20.0, 40.0), (5.0, 0.0, 0.0))])
def test_vertices_uniform_inside_volume(shape):
    """All points inside; the fraction inside a half-size copy is 1/8 (sphere, box) or 1/8 (cylinder with
    half radius and half length) -- binomial, 5 sigma -- and a KS test on one coordinate's CDF (box)."""
    rng = np.random.default_rng(7)
    n = 40000
    pts = sample_uniform(shape, n, rng)
    assert np.all(shape.contains(pts))
    if isinstance(shape, Sphere):
        inner = Sphere(shape.radius_cm / 2, shape.center_cm)
    elif isinstance(shape, Cylinder):
        inner = Cylinder(shape.radius_cm / 2, shape.length_cm / 2, shape.center_cm, shape.axis)
    else:
        inner = Box(tuple(s / 2 for s in shape.size_cm), shape.center_cm)
    frac = inner.contains(pts).mean()
    assert abs(frac - 1 / 8) < 5 * math.sqrt(1 / 8 * 7 / 8 / n)
    if isinstance(shape, Box):
        u = (pts[:, 2] - shape.center_cm[2]) / shape.size_cm[2] + 0.5
        assert stats.kstest(u, "uniform").pvalue > 1e-3


# ------------------------------------------------------------------------------------ user flux files: units
def _shipped_table(E_scale=1.0, value_scale=1.0, n=300):
    """The shipped MicroBooNE nu_mu flux sampled as a two-column table; E x E_scale, values x value_scale."""
    f = shipped_flux("MicroBooNE_BNB", "nu_mu")
    E = np.geomspace(f.E_min, f.E_max, n)
    return np.c_[E * E_scale, f(E) * value_scale], f


def test_declared_units_are_converted(tmp_path):
    """The same flux in GeV / per GeV / per cm^2 / per POT and in MeV / per MeV / per m^2 / per 1e6 POT reads
    back identically: 1 GeV = 1000 MeV, 1 m^2 = 1e4 cm^2 (independent numbers); rel 1e-12."""
    gev, _ = _shipped_table()
    mev = np.c_[gev[:, 0] * 1000.0, gev[:, 1] / 1000.0 * 1e4 * 1e6]  # per MeV, per m^2, for 1e6 POT
    np.savetxt(tmp_path / "gev.dat", gev)
    np.savetxt(tmp_path / "mev.dat", mev)
    a = read_flux_table(tmp_path / "gev.dat")
    b = read_flux_table(tmp_path / "mev.dat", energy_unit="MeV", area_unit="m2", pot=1e6)
    assert b.integral() == pytest.approx(a.integral(), rel=1e-12)
    assert b.mean_energy() == pytest.approx(a.mean_energy(), rel=1e-12)
    assert b.integral() == pytest.approx(np.trapezoid(gev[:, 1], gev[:, 0]), rel=1e-3)


def test_per_bin_and_per_energy_normalisation(tmp_path):
    """Bin centres 0.1 GeV apart: per-bin contents = per-GeV values x 0.1 GeV."""
    E = np.arange(0.1, 2.0, 0.1)
    phi = np.exp(-E)
    cols = np.zeros((len(E), 6))
    cols[:, 1] = phi
    np.savetxt(tmp_path / "per_gev.dat", np.c_[E, cols])
    cols[:, 1] = phi * 0.1
    np.savetxt(tmp_path / "per_bin.dat", np.c_[E, cols])
    a = read_flux_table(tmp_path / "per_gev.dat", normalisation="per_energy")
    b = read_flux_table(tmp_path / "per_bin.dat", normalisation="per_bin")
    assert b.integral() == pytest.approx(a.integral(), rel=1e-9)
    with pytest.raises(FluxFileError, match="normalisation"):
        read_flux_table(tmp_path / "per_bin.dat", fmt="centres_per_GeV", normalisation="per_bin")


def test_mev_table_read_as_gev_warns_loudly(tmp_path):
    """A table in MeV given without flux_energy_unit is flagged (energy 1000x the shipped flux's)."""
    from generator.flux import FluxFileSpec

    mev, _ = _shipped_table(E_scale=1000.0, value_scale=1e-3)
    np.savetxt(tmp_path / "mev.dat", mev)
    e = experiment("MicroBooNE")
    with pytest.warns(UserWarning, match="flux_energy_unit"):
        e.with_overrides(flux_file=tmp_path / "mev.dat").flux("nu_mu")
    spec = FluxFileSpec(tmp_path / "mev.dat", energy_unit="MeV")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = e.with_overrides(flux_file=spec).flux("nu_mu")
    assert f.integral() == pytest.approx(e.flux("nu_mu").integral(), rel=0.01)


def test_per_m2_exposure_table_read_as_per_cm2_pot_warns(tmp_path):
    """Values per m^2 for 1e20 POT read as per cm^2 per POT are 1e16 x too large: the integral is flagged."""
    tab, _ = _shipped_table(value_scale=1e4 * 1e20)
    np.savetxt(tmp_path / "exposure.dat", tab)
    with pytest.warns(UserWarning, match="flux_area_unit, flux_pot"):
        experiment("MicroBooNE").with_overrides(flux_file=tmp_path / "exposure.dat").flux("nu_mu")


TABLES = {
    "empty": ("# only a comment\n\n", "is empty"),
    "one_column": ("0.1\n0.2\n0.3\n", "1 column"),
    "non_numeric": ("0.1 1.0\n0.2 lots\n", "line 2: .* not a row of numbers"),
    "negative": ("0.1 1.0\n0.2 -3.0\n", "line 2: negative flux"),
    "unsorted": ("0.1 1.0\n0.3 1.0\n0.2 1.0\n", "line 3: energies must increase strictly"),
}


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_bad_tables_name_the_resolved_path(tmp_path, monkeypatch, kind):
    text, match = TABLES[kind]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f"{kind}.dat").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FluxFileError, match=match) as info:
        read_flux_table(Path("sub") / f"{kind}.dat")
    assert str((tmp_path / "sub" / f"{kind}.dat").resolve()) in str(info.value)


def test_missing_table_names_the_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FluxFileError, match="does not exist") as info:
        read_flux_table("nowhere.dat")
    assert str(tmp_path.resolve() / "nowhere.dat") in str(info.value)


CARD = """[model]
preset = "BP-B"

[experiment]
name = "MicroBooNE"
{extra}
"""


def test_card_flux_file_relative_to_the_card(tmp_path, monkeypatch):
    """flux_file = "flux.dat" is the file next to the card, whatever the working directory."""
    from generator.card import load_card

    cards = tmp_path / "cards"
    cards.mkdir()
    tab, _ = _shipped_table(E_scale=1000.0, value_scale=1e-3)
    np.savetxt(cards / "flux.dat", tab)
    (cards / "c.toml").write_text(CARD.format(extra='flux_file = "flux.dat"\nflux_energy_unit = "MeV"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    card = load_card(Path("..") / "cards" / "c.toml")
    spec = card.experiment.flux_file
    assert Path(spec) == (cards / "flux.dat").resolve()
    assert spec.energy_unit == "MeV"
    flux = experiment("MicroBooNE").with_overrides(flux_file=spec).flux("nu_mu")
    assert flux.integral() == pytest.approx(experiment("MicroBooNE").flux("nu_mu").integral(), rel=0.01)


@pytest.mark.parametrize(("extra", "match"), [
    ('flux_energy_unit = "MeV"', r"experiment\.flux_energy_unit.*give flux_file too"),
    ('flux_file = "f.dat"\nflux_energy_unit = "TeV"', r"experiment\.flux_energy_unit.*'TeV' is not allowed"),
    ('flux_file = "f.dat"\nflux_area_unit = "km2"', r"experiment\.flux_area_unit"),
    ('flux_file = "f.dat"\nflux_pot = -1.0', r"experiment\.flux_pot.*must be > 0"),
    ('flux_file = "f.dat"\nflux_format = "centres_per_bin"\nflux_normalisation = "per_energy"',
     r"experiment\.flux_normalisation.*matching"),
])
def test_card_flux_keys_are_validated(extra, match):
    from generator.card import parse_card

    with pytest.raises(CardError, match=match):
        parse_card(CARD.format(extra=extra))
