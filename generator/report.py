"""Model report behind `dsgen spectrum`: masses, mixings, vertices, widths, lifetimes, BRs, observables.

All numbers in GeV and cm (c*tau0), |X|^2 dimensionless, light-neutrino masses in eV.
"""

from __future__ import annotations

from generator import particles as P
from generator.model.parameters import ModelParameters

ZP, PHI = P.canonical("Z'"), P.canonical("phi'")
#: record spellings ("Zprime", "phiprime") used as JSON keys.
ZP_KEY, PHI_KEY = P.record_name(ZP), P.record_name(PHI)

HEAVY_KEYS = tuple(P.hnl_name(j) for j in range(4, 9))
PAIR_KEYS = ("43", "53", "63", "44", "45", "46", "55", "56", "66")


def _state(spec, digit: str) -> str:
    return spec.nu_light if digit == "3" else P.hnl_name(int(digit))


def _zprime_br_key(daughters: tuple[str, ...], light: set[str]) -> str:
    if set(daughters) <= light:
        return "nunu"
    if len(daughters) == 2 and daughters[0] in ("e+", "e-", "mu+", "mu-"):
        lep = daughters[0].rstrip("+-")
        return f"{lep}+{lep}-"  # "e+e-", "mu+mu-"
    if all(P.hnl_index(d) is not None for d in daughters):
        return "".join(sorted(daughters, key=P.hnl_index))
    return "".join(daughters)


def spectrum_report(params: ModelParameters) -> dict:
    """Everything `dsgen spectrum --json` prints, as a JSON-ready dict (GeV, cm, eV)."""
    from generator.model.model import Model
    from generator.model.observables import delta_a_mu, light_neutrino_mass

    model = Model(params)
    spec = model.spectrum
    light = set(spec.names[: spec.n_light]) | {"nu"}
    rep: dict = {"model": params.name, "flavours": list(params.flavours)}
    rep["parameters"] = {
        f"m_{ZP_KEY}_GeV": params.m_Zprime, "epsilon2": params.epsilon**2, "alpha_D": params.alpha_D,
        f"m_{PHI_KEY}_GeV": params.m_phiprime, "sin_theta": params.sin_theta,
    }
    rep["mass_GeV"] = {name: float(m) for name, m in zip(spec.names, spec.masses, strict=True)}
    hnls = list(spec.heavy_names)
    rep["ctau0_cm"] = {n: model.ctau0_cm(n) for n in hnls}
    rep["V2"] = {k: spec.V2(_state(spec, k[0]), _state(spec, k[1])) for k in PAIR_KEYS}
    rep["S2"] = {k: spec.S2(_state(spec, k[0]), _state(spec, k[1])) for k in (*PAIR_KEYS, "33")}
    rep["U2"] = {f"{fl}{P.hnl_index(n)}": spec.U2(fl, n) for fl in params.flavours for n in hnls}
    br_z = {}
    for channel, br in model.branching_ratios(ZP).items():
        key = _zprime_br_key(tuple(channel.split("->")[1].split()), light)
        br_z[key] = br_z.get(key, 0.0) + br
    rep[f"br_{ZP_KEY}"] = br_z
    rep[f"br_{PHI_KEY}"] = model.branching_ratios(PHI)
    rep["width_GeV"] = {ZP_KEY: model.width(ZP), PHI_KEY: model.width(PHI)}
    rep["width_GeV"].update({n: model.width(n) for n in hnls})
    rep["br_hnl"] = {n: model.branching_ratios(n) for n in hnls}
    rep["delta_a_mu"] = delta_a_mu(params)
    rep["m_light_eV"] = light_neutrino_mass(params)
    return rep


def format_spectrum(rep: dict) -> str:
    """Readable table of a spectrum report."""
    out = [f"Model {rep['model']}  (active flavours: {', '.join(rep['flavours'])})"]
    par = rep["parameters"]
    out.append(f"  m_{ZP} = {par[f'm_{ZP_KEY}_GeV']} GeV, eps^2 = {par['epsilon2']:.3g}, alpha_D = {par['alpha_D']}, "
               f"m_{PHI} = {par[f'm_{PHI_KEY}_GeV']} GeV, sin(theta) = {par['sin_theta']}")
    out.append("")
    out.append(f"  {'state':<6}{'mass [MeV]':>14}{'width [GeV]':>14}{'c tau0 [cm]':>14}")
    for name, m in rep["mass_GeV"].items():
        w = rep["width_GeV"].get(name)
        ct = rep["ctau0_cm"].get(name)
        ws = f"{w:14.4g}" if w is not None else " " * 14
        cs = f"{ct:14.4g}" if ct is not None else " " * 14
        out.append(f"  {name:<6}{m * 1e3:14.6g}{ws}{cs}")
    out.append("")
    out.append("  |V_jk|^2: " + ", ".join(f"{k}={v:.3g}" for k, v in rep["V2"].items()))
    out.append("  |S_jk|^2: " + ", ".join(f"{k}={v:.3g}" for k, v in rep["S2"].items()))
    out.append("  |U_aj|^2: " + ", ".join(f"{k}={v:.3g}" for k, v in rep["U2"].items()))
    out.append("")
    out.append(f"  {ZP} width {rep['width_GeV'][ZP_KEY]:.4g} GeV; branching ratios:")
    for k, v in sorted(rep[f"br_{ZP_KEY}"].items(), key=lambda kv: -kv[1]):
        out.append(f"    {ZP} -> {k:<10}{v * 100:10.4g} %")
    out.append(f"  {PHI} width {rep['width_GeV'][PHI_KEY]:.4g} GeV; branching ratios:")
    for k, v in sorted(rep[f"br_{PHI_KEY}"].items(), key=lambda kv: -kv[1])[:8]:
        out.append(f"    {k:<24}{v * 100:10.4g} %")
    for n in HEAVY_KEYS[:3]:
        if n in rep["br_hnl"]:
            out.append(f"  {n} decays:")
            for k, v in sorted(rep["br_hnl"][n].items(), key=lambda kv: -kv[1])[:6]:
                out.append(f"    {k:<24}{v * 100:10.4g} %")
    out.append("")
    out.append(f"  Delta a_mu (Z' loop) = {rep['delta_a_mu']:.3g}")
    ml = rep["m_light_eV"]
    out.append(f"  light neutrino mass: tree level {ml['tree']:.4g} eV, with one loop {ml['one_loop']:.4g} eV")
    return "\n".join(out)
