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


class RunDirectoryError(DarkSeesawError):
    """A run's output directory cannot be used: it is not a directory, not writable, holds another run's files
    (without ``--overwrite``), lacks the free space the run needs, or is one of a merge's inputs. The message names
    the directory and what to do."""


class RunDirectoryBusyError(RunDirectoryError):
    """Another run holds the lock of the output directory (the message names its process id and start time)."""


class RegistryError(DarkSeesawError):
    """An extension-point registry is misused: a name registered twice, or an entry with an unknown parent,
    scope or kind (message names the entry and the allowed values)."""


class OutputError(DataFileError):
    """Input handed to an event writer is inconsistent: a malformed EventBlock topology, a block
    whose channel is not in ``run_info["channels"]``, a missing ``run_info`` key, mixed weight units,
    or an output format that is registered twice or whose writer cannot be imported. The message
    names the block/key/format and states what is allowed. (Also importable as generator.io.OutputError.)"""


class DetectorCardError(DataFileError):
    """A detector data file (detectors/data/<name>.toml) or a detector option is malformed: unknown key,
    missing key, wrong type or unphysical value. ``where`` names the file (or the option set), ``key`` the
    dotted key; the message states the rule."""

    def __init__(self, where: str, key: str, message: str):
        self.where, self.key = where, key
        super().__init__(f"{where}: `{key}`: {message}")


class GeometryError(DarkSeesawError):
    """A geometry operation a shape does not support (e.g. ray entry/exit distances of a shell or a union,
    which can have several disjoint segments); the message names the shape and the operation."""


class MissingDataWarning(UserWarning):
    """Optional published data (e.g. the MiniBooNE 2020 release) were not found, so a comparison is drawn
    without them; the message names where the data were looked for and how to give them."""


class UnknownCardError(UnknownNameError, CardError):
    """A card argument is neither an existing file nor the name of a shipped card.

    The message lists the shipped card names (``dsgen cards``) and the closest ones.
    """

    def __init__(self, name: str, allowed: Iterable[str]):
        allowed = sorted(allowed)
        close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"card {name!r} is neither a file nor a shipped card; shipped cards: {', '.join(allowed)}.{hint}"
        self.what, self.name, self.allowed, self.key = "card", name, allowed, "<file>"
        DarkSeesawError.__init__(self, msg)


class DataTableError(DataFileError):
    """A definition file (experiment, collider, kaon beam, target table, flux parameterisation) is unreadable or
    breaks its schema. ``file`` is the file, ``key`` the dotted key inside it (``"runs[0].sqrt_s_GeV"``, or
    ``"<file>"`` for the whole file); the message states the value and the rule."""

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: key `{key}`: {message}")


class FitError(DarkSeesawError):
    """A fit cannot be set up or did not converge: no signal in the fitted range, an unusable run
    directory, or a minimiser failure (message names the run, the quantity and the rule)."""


class ClusterError(DarkSeesawError):
    """A Dask cluster cannot be started or reached (message names the address or the worker count)."""


class NotReweightableError(DarkSeesawError):
    """A generated sample cannot be reweighted to another model point: masses differ, or the new point produces
    events the old sample holds none of (a channel closed at the old point); the message names the state or
    channel. Parameter scans regenerate such points."""


class ScanError(DarkSeesawError):
    """A parameter scan is malformed: a ``--set`` item that is not KEY=v1,v2,..., an unknown card section or key,
    or a value of the wrong type (message names the item and the rule)."""
