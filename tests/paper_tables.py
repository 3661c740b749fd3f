"""Numbers transcribed from the paper (../shared/paper), Tables I, II, IV and V, for regression tests.

Units as in the paper: masses in MeV; |V|^2, |S|^2, |U|^2 with the scale factor of each row given in SCALE.
"""

from __future__ import annotations

import numpy as np

from generator.model import Spectrum, preset

# Tables I/II: m4, m5, m6 (MeV), |V43|^2,|V53|^2,|V63|^2 (1e-8), B(Z'->NjNk) (%), c tau0 (cm)
MASSES_MEV = {"BP-A": (35, 120, 185), "BP-B": (74, 146, 220), "BP-C": (62, 110, 180), "BP-D": (275, 346, 435)}
BR_ZPRIME_PCT = {  # pairs 44, 45, 46, 55, 56, 66
    "BP-A": (0, 5.4, 0, 0, 95, 0),
    "BP-B": (0.15, 11, 0.48, 1.6, 86, 0.59),
    "BP-C": (0.00014, 30, 0.019, 0.23, 70, 0.15),
    "BP-D": (0.021, 13, 0.060, 0.13, 87, 0.023),
}
CTAU0_CM = {  # N4, N5, N6
    "BP-A": (1.6e13, 3.0, 0.26),
    "BP-B": (1.1e7, 2.2, 0.14),
    "BP-C": (1.1e7, 2.2, 0.12),
    "BP-D": (4.0e5, 3.9, 0.13),
}
ALPHA_D = {"BP-A": 0.39, "BP-B": 0.32, "BP-C": 0.76, "BP-D": 0.11}

# Table IV: |U|^2 with scale factors
U2 = {
    # key: (row label, scale, (A, B, C, D))
    ("mu", "N4"): (1e-8, (45.5, 0.00361, 0.000256, 0)),
    ("mu", "N5"): (1e-8, (0, 157, 51.1, 22.7)),
    ("mu", "N6"): (1e-8, (8.28, 14.0, 12.8, 69.5)),
    ("N1", "N4"): (1e-2, (94.9, 88.8, 71.3, 90.2)),
    ("N1", "N5"): (1e-2, (0, 0.162, 0.0139, 0.0303)),
    ("N1", "N6"): (1e-2, (5.14, 11.1, 28.7, 9.75)),
    ("N2", "N4"): (1e-4, (27.3, 2.79, 1.91, 3.30)),
    ("N2", "N5"): (1e-4, (0, 83.4, 96.2, 5.86)),
    ("N2", "N6"): (1e-4, (398, 12.8, 5.45, 23.06)),
    ("N3", "N4"): (1e-4, (0, 0, 3.65, 0)),
    ("N3", "N5"): (1e-4, (0, 0, 2.75, 0)),
    ("N3", "N6"): (1e-4, (0, 0, 9.51, 0)),
    ("DL", "N4"): (1e-1, (0.244, 0.371, 1.43, 0.554)),
    ("DL", "N5"): (1e-1, (5.00, 5.57, 5.19, 4.83)),
    ("DL", "N6"): (1e-1, (4.54, 4.04, 3.36, 4.59)),
    ("DR", "N4"): (1e-1, (0.244, 0.749, 1.44, 0.421)),
    ("DR", "N5"): (1e-1, (5.00, 4.33, 4.71, 5.16)),
    ("DR", "N6"): (1e-1, (4.54, 4.84, 3.76, 4.41)),
}

# Table V: |V_jk|^2 and |S_jk|^2 with scale factors ("3" = nu3)
V2 = {
    ("N4", "nu3"): (1e-8, (0, 13.6, 13.7, 1.44)),
    ("N5", "nu3"): (1e-8, (22.2, 26.5, 11.2, 75.3)),
    ("N6", "nu3"): (1e-8, (0, 123, 33.2, 17.1)),
    ("N4", "N4"): (1e-3, (0, 1.43, 0.00134, 0.176)),
    ("N4", "N5"): (1e-3, (48.7, 105, 284, 96.7)),
    ("N4", "N6"): (1e-3, (0, 4.60, 0.184, 0.530)),
    ("N5", "N5"): (1e-3, (0, 15.2, 2.23, 1.10)),
    ("N5", "N6"): (1e-3, (909, 869, 702, 899)),
    ("N6", "N6"): (1e-3, (0, 6.31, 1.59, 0.300)),
}
S2 = {
    ("nu3", "nu3"): (1e-14, (0.205, 7.87, 2.17, 1.30)),
    ("N4", "nu3"): (1e-8, (0.0926, 0.675, 0.273, 5.33)),
    ("N5", "nu3"): (1e-8, (0, 1.31, 0.509, 0.00670)),
    ("N6", "nu3"): (1e-8, (0.163, 0.0598, 17.4, 1.62)),
    ("N4", "N4"): (1e-2, (0.0203, 0.0783, 0.841, 0.708)),
    ("N4", "N5"): (1e-2, (0.0305, 0.394, 0.0853, 0.00108)),
    ("N4", "N6"): (1e-2, (0.181, 0.418, 11.3, 4.71)),
    ("N5", "N5"): (1e-2, (0, 1.20, 1.58, 0.000959)),
    ("N5", "N6"): (1e-2, (0.444, 0.744, 50.0, 0.107)),
    ("N6", "N6"): (1e-2, (0.668, 0.258, 10.1, 1.47)),
}
BPS = ("BP-A", "BP-B", "BP-C", "BP-D")


# Table III exactly as printed (strings keep the number of printed digits).
TABLE_III_PRINTED = {
    "BP-A": {"mD": ("0.00950", "0.278", "0.190"), "M": ("-0.0429", "1.10", "-1.10"), "L": ("-2.39", "19.0", "0.00"),
             "R": ("-2.39", "19.0", "0.00"), "MX": "-1.21"},
    "BP-B": {"mD": ("-0.0347", "1.98", "-3.89"), "M": ("-0.0900", "6.00", "-18.0"), "L": ("3.75", "24.0", "0.00"),
             "R": ("-2.81", "54.0", "0.00"), "MX": "1.96"},
    "BP-C": {"mD": ("0.0336", "-0.635", "-1.03"), "M": ("-0.0963", "5.07", "-10.1"), "L": ("3.51", "25.5", "12.7"),
             "R": ("-4.04", "44.1", "-38.1"), "MX": "1.56"},
    "BP-D": {"mD": ("0.129", "6.72", "-11.4"), "M": ("0.206", "6.00", "-18.0"), "L": ("15.0", "33.0", "0.00"),
             "R": ("-14.9", "-12.9", "0.00"), "MX": "3.50"},
}


def half_unit(s: str) -> float:
    decimals = len(s.split(".")[1]) if "." in s else 0
    return 0.5 * 10.0 ** (-decimals)


def rounding_envelope(bp: str, quantity, n: int = 300, seed: int = 7) -> tuple[float, float]:
    """Min and max of quantity(Spectrum) when every printed Table III input moves within its rounding."""
    rng = np.random.default_rng(seed)
    base, pr = preset(bp), TABLE_III_PRINTED[bp]

    def pert(strs, scale):
        # exact zeros of Table III are structural (Lambda_3 = 0), keep them
        return np.array([float(x) + (0.0 if float(x) == 0 else rng.uniform(-1, 1) * half_unit(x))
                         for x in strs]) * scale

    vals = []
    for _ in range(n):
        mD = pert(pr["mD"], 1e-3)
        M_D = np.vstack([0.11 * mD, mD]) if bp == "BP-D" else mD[None, :]
        p = base.with_(M_D=M_D, M_N=pert(pr["M"], 1.0), Lambda_L=pert(pr["L"], 1e-2)[:, None],
                       Lambda_R=pert(pr["R"], 1e-2)[:, None], M_X=pert([pr["MX"]], 0.1))
        vals.append(quantity(Spectrum(p)))
    return float(np.min(vals)), float(np.max(vals))


def _with_inputs(bp: str, key: str, values: np.ndarray):
    """Preset bp with the Table III row `key` ("mD", "M", "L", "R", "MX") replaced by `values` (printed units)."""
    base = preset(bp)
    if key == "mD":
        mD = values * 1e-3
        return base.with_(M_D=np.vstack([0.11 * mD, mD]) if bp == "BP-D" else mD[None, :])
    if key == "M":
        return base.with_(M_N=values)
    if key in ("L", "R"):
        return base.with_(**{"Lambda_" + key: values[:, None] * 1e-2})
    return base.with_(M_X=values * 0.1)


def one_at_a_time_shifts(bp: str, quantity) -> np.ndarray:
    """Largest |change| of quantity(Spectrum) when ONE printed Table III input moves by +- half a unit of its
    last printed digit, for every non-zero input (structural zeros are kept); array over inputs."""
    pr = TABLE_III_PRINTED[bp]
    q0 = quantity(Spectrum(preset(bp)))
    out = []
    for key in ("mD", "M", "L", "R", "MX"):
        strs = list(pr[key]) if key != "MX" else [pr[key]]
        for k, x in enumerate(strs):
            if float(x) == 0:
                continue
            worst = 0.0
            for sign in (-1.0, 1.0):
                vals = np.array([float(y) for y in strs])
                vals[k] += sign * half_unit(x)
                worst = max(worst, abs(quantity(Spectrum(_with_inputs(bp, key, vals))) - q0))
            out.append(worst)
    return np.array(out)
