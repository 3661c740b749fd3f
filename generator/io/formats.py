"""The one registry of event-file formats: card value -> writer, file name and writer options.

Both the card schema (``[output].formats`` accepts exactly the registered names) and the run
(:func:`generator.run.run_card` writes every requested format through :func:`write_formats`) read
:data:`OUTPUT_FORMATS`. Adding a format is one writer module plus one :func:`register_output_format`
call below (see docs/extending.md, "An output format").

A writer is given as ``"module:function"`` and imported only when a run asks for it, so validating a
card never imports pyhepmc or uproot. It is called as
``function(path, blocks, run_info, **options(output))`` with ``path`` a :class:`pathlib.Path` inside
the run directory, ``blocks`` the run's list of :class:`generator.record.EventBlock` (GeV, cm, ns),
``run_info`` the run summary dict (see :mod:`generator.io`) and ``output`` the card's [output]
section; it must write the file atomically (:func:`generator.io.atomic.atomic_path`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import OutputError, UnknownNameError


def _no_options(output) -> dict:
    """Writer keyword arguments of a format that has no [output] options."""
    return {}


@dataclass(frozen=True)
class OutputFormat:
    """One event-file format.

    ``name``: the value in ``[output].formats``; ``writer``: ``"module:function"`` (see module
    docstring); ``file_name(output) -> str``: the file's name inside the run directory, from the card's
    [output] section; ``options(output) -> dict``: extra keyword arguments of the writer;
    ``description``: one line for listings and the progress bar.
    """

    name: str
    writer: str
    file_name: Callable[[object], str]
    description: str
    options: Callable[[object], dict] = field(default=_no_options)

    def load_writer(self) -> Callable:
        """Import and return the writer function (raises OutputError naming the format if it cannot)."""
        module_name, _, attr = self.writer.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            msg = f"output format {self.name!r}: writer {self.writer!r} cannot be imported: {exc}"
            raise OutputError(msg) from exc


#: registered formats in registration order (the order in which a run writes them).
OUTPUT_FORMATS: dict[str, OutputFormat] = {}


def register_output_format(fmt: OutputFormat) -> OutputFormat:
    """Add ``fmt`` to :data:`OUTPUT_FORMATS`; a name can be registered once. Returns ``fmt``."""
    if fmt.name in OUTPUT_FORMATS:
        msg = f"output format {fmt.name!r} is already registered (writer {OUTPUT_FORMATS[fmt.name].writer!r})"
        raise OutputError(msg)
    if ":" not in fmt.writer:
        msg = f"output format {fmt.name!r}: writer {fmt.writer!r} must be 'module:function'"
        raise OutputError(msg)
    OUTPUT_FORMATS[fmt.name] = fmt
    return fmt


def get_output_format(name: str) -> OutputFormat:
    """The registered format ``name``; raises UnknownNameError listing the registered names."""
    if name not in OUTPUT_FORMATS:
        what = "output format"
        raise UnknownNameError(what, name, OUTPUT_FORMATS)
    return OUTPUT_FORMATS[name]


def write_formats(out_dir: Path, blocks: Sequence, run_info: Mapping, output,
                  done: Callable[[str], None] = lambda label: None) -> dict[str, str]:
    """Write ``blocks`` in every format of ``output.formats`` into ``out_dir``, in registry order.

    ``output`` is the card's [output] section. Returns {format name: file path}. ``done(label)`` is
    called after each file (progress bar).
    """
    requested = set(output.formats)
    for name in sorted(requested):
        get_output_format(name)
    files: dict[str, str] = {}
    for name, fmt in OUTPUT_FORMATS.items():
        if name not in requested:
            continue
        path = Path(out_dir) / fmt.file_name(output)
        fmt.load_writer()(path, blocks, run_info, **fmt.options(output))
        files[name] = str(path)
        done(f"{fmt.description} written")
    return files


# ---- built-in formats (one registration each) ------------------------------------------------------

register_output_format(OutputFormat(
    name="hepmc3",
    writer="generator.io.hepmc:write_hepmc",
    file_name=lambda output: "events.hepmc3.gz" if output.gzip else "events.hepmc3",
    options=lambda output: {"gzip": output.gzip},
    description="HepMC3",
))
register_output_format(OutputFormat(
    name="root",
    writer="generator.io.root:write_root",
    file_name=lambda output: "events.root",
    description="ROOT TTree",
))
register_output_format(OutputFormat(
    name="rntuple",
    writer="generator.io.root:write_root",
    # beside a TTree file the RNTuple gets its own name; alone it is the run's events.root
    file_name=lambda output: "events_rntuple.root" if "root" in output.formats else "events.root",
    options=lambda output: {"rntuple": True},
    description="ROOT RNTuple",
))

__all__ = ["OUTPUT_FORMATS", "OutputFormat", "get_output_format", "register_output_format", "write_formats"]
