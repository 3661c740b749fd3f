"""The decay-channel record and the ONE registry of decay-channel families of the Z', phi' and the HNLs.

A *family* is a function that builds the :class:`DecayChannel` objects of one kind of decay (e.g. all
"N_i -> N_j l+ l-") for one parent, from a :class:`ChannelContext`. It is registered once with
:func:`register_channel`; :func:`generator.model.channels.zprime_channels`, ``phiprime_channels`` and
``hnl_channels`` read the registry. Families of the HNLs have a scope: "pair" families are called once per lighter
state j (``build(ctx, j)``), "parent" families once per parent (``build(ctx)``). Within a parent (and scope) the
channels are listed by the family's ``order``; the order fixes the channel list, hence the random-number use of a
run (tests/run/test_regression_events.py).

Units: widths and masses in GeV; couplings dimensionless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from generator.errors import RegistryError, UnknownNameError
from generator.model import vertices
from generator.model.rates import gamma_three_body_vector
from generator.model.spectrum import Spectrum

#: SM lepton flavours considered in final states.
LEPTONS = ("e", "mu", "tau")
#: parents that have channel families: the Z', the phi' and every heavy neutrino ("hnl").
PARENTS = ("Z'", "phi'", "hnl")
#: "parent": built once per parent; "pair": built once per lighter mass state j (HNL parents only).
SCOPES = ("parent", "pair")


@dataclass(frozen=True)
class DecayChannel:
    """One decay channel with what a sampler needs.

    parent : "Z'", "phi'" or "N5" ...; daughters : names, e.g. ("N5", "e-", "e+") = (j, f, fbar) for three-body
    vector channels (the order of three_body.msq_vector: p_j, p_1, p_2); width_GeV : partial width in GeV;
    kind : "two_body", "three_body_vector" (N_j f fbar through neutral vectors), "three_body_cc" (W, heavy line
    N_i -> charged lepton), "three_body_invisible" (N -> 3 nu, couplings of the dominant Z term),
    "hadrons" (inclusive, no exclusive final state); the decay step picks its momentum sampler from the kind
    (generator.decay.samplers.SAMPLERS); daughter_masses : GeV;
    med_m, med_w (GeV), aL, aR, bL, bR : arrays for three_body.msq_vector (empty for two-body channels).
    name : "N6 -> N5 e+ e-" style label.
    """

    parent: str
    daughters: tuple[str, ...]
    width_GeV: float
    kind: str
    daughter_masses: tuple[float, ...] = ()
    med_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    med_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    aL: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    aR: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    bL: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    bR: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.parent} -> {' '.join(self.daughters)}"


@dataclass
class ChannelContext:
    """What a family needs: the Spectrum, the vertex convention and, for HNL parents, the parent and Z' width.

    spec : generator.model.spectrum.Spectrum (masses in GeV); convention : one of vertices.CONVENTIONS;
    zprime_width : total Z' width in GeV (propagator of three-body channels); parent : "N5" ...; i : its index.
    """

    spec: Spectrum
    convention: str = "majorana"
    zprime_width: float = 0.0
    parent: str = ""
    i: int = -1

    @cached_property
    def Xzp(self) -> np.ndarray:
        """Z' vertex matrix on the neutrino line (vertices.zprime_neutrino_matrix)."""
        return vertices.zprime_neutrino_matrix(self.spec)

    @cached_property
    def Xz(self) -> np.ndarray:
        """Z vertex matrix on the neutrino line (vertices.z_neutrino_matrix)."""
        return vertices.z_neutrino_matrix(self.spec)

    def zp_on_shell(self, j: int) -> bool:
        """True when N_i -> N_j Z' is open on shell (then the Z' is dropped from three-body N_i -> N_j f fbar)."""
        m = self.spec.masses
        return bool(m[self.i] > m[j] + self.spec.params.m_Zprime)


@dataclass(frozen=True)
class ChannelFamily:
    """A registered family: name, parent ("Z'", "phi'", "hnl"), scope ("parent", "pair"), order, build function."""

    name: str
    parent: str
    scope: str
    order: float
    build: Callable[..., list[DecayChannel]]


#: the registry: family name -> ChannelFamily.
FAMILIES: dict[str, ChannelFamily] = {}


def register_channel(name: str, parent: str, *, order: float, scope: str = "parent"):
    """Decorator registering a channel family ``build(ctx) -> list[DecayChannel]`` (``build(ctx, j)`` for scope
    "pair"). ``order`` places its channels in the parent's channel list (ascending)."""
    if parent not in PARENTS:
        raise UnknownNameError("channel-family parent", parent, PARENTS)
    if scope not in SCOPES:
        raise UnknownNameError("channel-family scope", scope, SCOPES)
    if scope == "pair" and parent != "hnl":
        msg = f"channel family {name!r}: scope 'pair' needs parent 'hnl', not {parent!r}"
        raise RegistryError(msg)

    def deco(fn):
        if name in FAMILIES:
            msg = (
                f"channel family {name!r} is registered twice (by {FAMILIES[name].build.__module__} "
                               f"and {fn.__module__}); family names must be unique"
            )
            raise RegistryError(msg)
        FAMILIES[name] = ChannelFamily(name, parent, scope, float(order), fn)
        return fn

    return deco


def families(parent: str, scope: str = "parent") -> list[ChannelFamily]:
    """Registered families of ``parent`` with ``scope``, by (order, name)."""
    found = [f for f in FAMILIES.values() if f.parent == parent and f.scope == scope]
    return sorted(found, key=lambda f: (f.order, f.name))


def boson_to_neutrino_pairs(ctx: ChannelContext, parent: str, M: float, pair_width) -> tuple[list[DecayChannel], float]:
    """Two-body decays of the boson ``parent`` (mass ``M``, GeV) into every open mass-eigenstate pair N_j N_k,
    j <= k: ``pair_width(j, k, identical)`` gives the width in GeV (``identical``: j = k in the "majorana"
    convention, the 1/2 of an identical pair). Returns the heavy-pair channels and the summed width of the pairs
    with a light state (k < n_light), which callers list as "nu nu"."""
    spec = ctx.spec
    m, names, nl = spec.masses, spec.names, spec.n_light
    out: list[DecayChannel] = []
    w_light = 0.0
    for j in range(spec.dim):
        for k in range(j, spec.dim):
            if m[j] + m[k] >= M:
                continue
            w = pair_width(j, k, j == k and ctx.convention == "majorana")
            if k < nl:
                w_light += w
                continue
            out.append(DecayChannel(parent, (names[j], names[k]), w, "two_body", (m[j], m[k])))
    return out, w_light


def three_body_channel(parent, daughters, kind, masses, med_m, med_w, aL, aR, bL, bR, factor=1.0, label=""):
    """A three-body DecayChannel with its width from rates.gamma_three_body_vector (GeV) times ``factor``.

    masses = (m_i, m_j, m_1, m_2) in GeV; mediators med_m, med_w (GeV) and couplings aL, aR (neutrino line),
    bL, bR (f fbar line) as in generator.model.three_body.msq_vector.
    """
    med_m = np.asarray(med_m, float)
    med_w = np.asarray(med_w, float)
    aL, aR, bL, bR = (np.asarray(x, complex) for x in (aL, aR, bL, bR))
    mi, mj, m1, m2 = masses
    w = factor * gamma_three_body_vector(mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR)
    return DecayChannel(parent, daughters, w, kind, (mj, m1, m2), med_m, med_w, aL, aR, bL, bR, label)
