"""Every exception the generator raises on bad input, in one place.

Each message names the offending key or value and states what is allowed. Where a name was
mistyped, the closest valid names are suggested (as uproot's KeyInFileError does).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DarkSeesawError(Exception):
    """Base class of all errors raised by this package on bad input or impossible requests."""


class CardError(DarkSeesawError):
    """A steering card is malformed: unknown key, missing key, wrong type or unphysical value.

    ``key`` is the dotted path of the offending entry (e.g. ``model.m_Zprime_GeV``).
    """

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"card key `{key}`: {message}")


class UnknownNameError(DarkSeesawError, KeyError):
    """A name (card key, preset, experiment, target, channel) is not one of the known ones."""

    def __init__(self, what: str, name: str, allowed: Iterable[str]):
        allowed = sorted(allowed)
        close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"unknown {what} {name!r}; allowed: {', '.join(allowed)}.{hint}"
        self.what, self.name, self.allowed = what, name, allowed
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class PhysicsError(DarkSeesawError):
    """A physically impossible request: a kinematically closed channel, an energy below threshold."""


class KinematicallyClosedError(PhysicsError):
    """The requested channel is closed at the given masses/energies (message names them)."""


class FluxFileError(DarkSeesawError):
    """A neutrino flux file cannot be read or has the wrong format (message names path and line)."""


class DataFileError(DarkSeesawError):
    """A project data file (experiment, detector, run output) is missing or malformed."""


class FitError(DarkSeesawError):
    """A fit cannot be set up or did not converge: no signal in the fitted range, an unusable run
    directory, or a minimiser failure (message names the run, the quantity and the rule)."""
