"""The Model: spectrum, decay channels, widths, lifetimes and branching ratios of a parameter point.

Everything is computed once per Model and cached. Units: widths in GeV, c*tau0 in cm.

Usage::

    m = Model(preset("BP-B"))
    m.ctau0_cm("N5"), m.branching_ratios("Z'")["Z' -> N5 N6"], m.decay_channels("N6")
"""

from __future__ import annotations

from functools import cached_property

from generator import constants as const
from generator.errors import PhysicsError, UnknownNameError
from generator.model.channels import DecayChannel, hnl_channels, phiprime_channels, zprime_channels
from generator.model.parameters import ModelParameters
from generator.model.spectrum import Spectrum
from generator.model.vertices import CONVENTIONS

__all__ = ["DecayChannel", "Model", "as_model"]


class Model:
    """Widths, lifetimes and decay channels of the unstable states "Z'", "phi'", "N4", "N5", ...

    Parameters
    ----------
    params : ModelParameters (masses in GeV).
    convention : vector-vertex convention for Majorana pairs (default: params.vertex_convention),
        one of ``vertices.CONVENTIONS``:
        "majorana" (default, physical: a_R = -a_L^*, 1/2 for identical pairs) or "paper" (a_R = -a_L, no 1/2,
        which reproduces Tables I/II of the paper; see generator/model/vertices.py).
    """

    def __init__(self, params: ModelParameters, convention: str | None = None):
        if convention is None:
            convention = params.vertex_convention
        if convention not in CONVENTIONS:
            raise UnknownNameError("vertex convention", convention, CONVENTIONS)
        self.params = params
        self.convention = convention

    # ------------------------------------------------------------------ cached pieces
    @cached_property
    def spectrum(self) -> Spectrum:
        """Mass eigenstates and vertex matrices (generator.model.spectrum.Spectrum)."""
        return Spectrum(self.params)

    @property
    def unstable(self) -> tuple[str, ...]:
        """Names of the states with decay channels: "Z'", "phi'" and the heavy neutrinos."""
        return ("Z'", "phi'", *self.spectrum.heavy_names)

    @cached_property
    def _channels(self) -> dict[str, list[DecayChannel]]:
        spec = self.spectrum
        out = {"Z'": zprime_channels(spec, self.convention), "phi'": phiprime_channels(spec, self.convention)}
        zw = sum(c.width_GeV for c in out["Z'"])
        for name in spec.heavy_names:
            out[name] = hnl_channels(spec, name, zw, self.convention)
        return out

    def _check(self, name: str) -> str:
        if name not in self.unstable:
            if name in self.spectrum.names:
                msg = f"{name} is a light neutrino (stable in this model); unstable states: {', '.join(self.unstable)}"
                raise PhysicsError(msg)
            raise UnknownNameError("unstable particle", name, self.unstable)
        return name

    # ------------------------------------------------------------------ public API
    def decay_channels(self, name: str) -> list[DecayChannel]:
        """Open decay channels of ``name`` with partial widths (GeV) and sampling couplings."""
        return list(self._channels[self._check(name)])

    def partial_widths(self, name: str) -> dict[str, float]:
        """{channel name: partial width in GeV} for ``name``."""
        return {c.name: c.width_GeV for c in self.decay_channels(name)}

    def width(self, name: str) -> float:
        """Total width of ``name`` in GeV."""
        return float(sum(c.width_GeV for c in self.decay_channels(name)))

    def ctau0_cm(self, name: str) -> float:
        """Proper decay length c*tau0 = hbar c / Gamma in cm."""
        w = self.width(name)
        if w <= 0.0:
            msg = f"{name} has no open decay channel (total width 0); it is stable at these parameters"
            raise PhysicsError(msg)
        return const.HBARC_GEV_CM / w

    def branching_ratios(self, name: str) -> dict[str, float]:
        """{channel name: branching ratio} for ``name`` (sums to 1)."""
        w = self.width(name)
        if w <= 0.0:
            msg = f"{name} has no open decay channel (total width 0)"
            raise PhysicsError(msg)
        return {k: v / w for k, v in self.partial_widths(name).items()}

    def mass(self, name: str) -> float:
        """Mass in GeV of "Z'", "phi'" or a neutrino mass eigenstate."""
        if name == "Z'":
            return self.params.m_Zprime
        if name == "phi'":
            return self.params.m_phiprime
        return self.spectrum.mass(name)


def as_model(obj) -> Model:
    """The Model of ``obj``: a Model (returned as is), ModelParameters (new Model, the parameters' vertex
    convention) or Spectrum (Model of its parameters, reusing that spectrum). The one adapter for every
    function that accepts "a model"; any other type raises TypeError naming it."""
    if isinstance(obj, Model):
        return obj
    if isinstance(obj, ModelParameters):
        return Model(obj)
    if isinstance(obj, Spectrum):
        model = Model(obj.params)
        model.__dict__["spectrum"] = obj  # fills the cached_property: the spectrum is not diagonalised twice
        return model
    msg = f"model = {type(obj).__name__}: must be a Model, ModelParameters or Spectrum (generator.model)"
    raise TypeError(msg)
