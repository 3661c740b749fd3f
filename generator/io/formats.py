"""The one registry of event-file formats: card value -> streaming writer, file name and writer options.

Both the card schema (``[output].formats`` accepts exactly the registered names) and the run read
:data:`OUTPUT_FORMATS`. Adding a format is one writer module plus one :func:`register_output_format`
call below (see docs/extending.md, "An output format").

Streaming writer protocol (peak memory set by the chunk, never by the number of events)::

    writer = fmt.open(path, run_info, output)  # path: the (staged) file to write; run_info: the run header
                                               # (everything known before any event); output: the card's [output]
    writer.write(blocks)                       # one chunk: list[EventBlock] (GeV, cm, ns), in run order; may be empty
    writer.close(run_info)                     # the final run_info (n_events, after-decay sums): finish the file

A parallel run (generator.shards.run_parallel) splits the writing in two: workers encode each chunk
(``fmt.encode(blocks, run_info, output, spool_path) -> payload``, the registered ``encoder``; it may write
``spool_path``), and the run's process appends the payloads in run order to one sink
(``fmt.open_appender(path, run_info, output)``: the registered ``appender`` class, default the writer class, with
``write_encoded(payload)`` and ``close(run_info)``). The file must equal the one the streaming writer makes. A format
without an encoder is written by serial runs only.

The writer class is given as ``"module:Class"`` and imported only when a run asks for it, so validating a
card never imports pyhepmc or uproot; it is constructed as ``Class(path, run_info, **options(output))``.
It writes ``path`` in place (the caller places it atomically: the run directory renames staged files, and
:func:`write_formats` goes through :func:`generator.io.atomic.atomic_path`). A writer may also have
``abort()`` (close without finishing after an error).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import OutputError, UnknownNameError
from generator.io.atomic import atomic_path


def _no_options(output) -> dict:
    """Writer keyword arguments of a format that has no [output] options."""
    return {}


@dataclass(frozen=True)
class OutputFormat:
    """One event-file format.

    ``name``: the value in ``[output].formats``; ``writer``: ``"module:Class"`` of the streaming writer (see
    module docstring); ``file_name(output) -> str``: the file's name inside the run directory, from the card's
    [output] section; ``options(output) -> dict``: extra keyword arguments of the writer;
    ``description``: one line for listings and the progress bar; ``merger``: ``"module:function"`` that streams
    the files of shards into one, called as ``function(fmt, shard_paths, out_path, run_info, output)`` (empty: the
    format's shards cannot be merged, and ``dsgen merge`` says so).
    """

    name: str
    writer: str
    file_name: Callable[[object], str]
    description: str
    options: Callable[[object], dict] = field(default=_no_options)
    merger: str = ""
    encoder: str = ""
    appender: str = ""

    def load_writer(self) -> Callable:
        """Import and return the writer class (raises OutputError naming the format if it cannot)."""
        module_name, _, attr = self.writer.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            msg = f"output format {self.name!r}: writer {self.writer!r} cannot be imported: {exc}"
            raise OutputError(msg) from exc

    def merge(self, shard_paths: Sequence[Path], out_path: Path, run_info: Mapping, output) -> None:
        """Stream the files of ``shard_paths`` (in order) into ``out_path`` with the merged run ``run_info``."""
        if not self.merger:
            msg = f"output format {self.name!r} registers no merger; its shard files cannot be merged"
            raise OutputError(msg)
        module_name, _, attr = self.merger.partition(":")
        getattr(importlib.import_module(module_name), attr)(self, shard_paths, Path(out_path), run_info, output)

    def encode(self, blocks: Sequence, run_info: Mapping, output, spool: Path):
        """Encode one chunk for :meth:`open_appender` (on any process; may write ``spool``)."""
        if not self.encoder:
            msg = f"output format {self.name!r} registers no encoder; it is written by serial runs only"
            raise OutputError(msg)
        missing = [b.channel for b in blocks if b.n_events and "event_id" not in b.info]
        if missing:
            msg = (f"blocks {missing} carry no info['event_id']: an encoded chunk is numbered by its events' run-wide "
                   "event_id (it does not know how many events came before it)")
            raise OutputError(msg)
        return _load(self.encoder, self.name)(self, blocks, run_info, output, Path(spool))

    def open_appender(self, path: str | Path, run_info: Mapping, output):
        """The sink of encoded chunks on ``path`` (see module docstring)."""
        cls = _load(self.appender, self.name) if self.appender else self.load_writer()
        return cls(Path(path), run_info, **self.options(output))

    def open(self, path: str | Path, run_info: Mapping, output):
        """A streaming writer of this format on ``path`` (see module docstring); ``output``: the [output] section."""
        return self.load_writer()(Path(path), run_info, **self.options(output))


def _load(ref: str, name: str):
    module_name, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"output format {name!r}: {ref!r} cannot be imported: {exc}"
        raise OutputError(msg) from exc


#: registered formats in registration order (the order in which a run writes them).
OUTPUT_FORMATS: dict[str, OutputFormat] = {}


def register_output_format(fmt: OutputFormat) -> OutputFormat:
    """Add ``fmt`` to :data:`OUTPUT_FORMATS`; a name can be registered once. Returns ``fmt``."""
    if fmt.name in OUTPUT_FORMATS:
        msg = f"output format {fmt.name!r} is already registered (writer {OUTPUT_FORMATS[fmt.name].writer!r})"
        raise OutputError(msg)
    if ":" not in fmt.writer:
        msg = f"output format {fmt.name!r}: writer {fmt.writer!r} must be 'module:Class'"
        raise OutputError(msg)
    OUTPUT_FORMATS[fmt.name] = fmt
    return fmt


def get_output_format(name: str) -> OutputFormat:
    """The registered format ``name``; raises UnknownNameError listing the registered names."""
    if name not in OUTPUT_FORMATS:
        what = "output format"
        raise UnknownNameError(what, name, OUTPUT_FORMATS)
    return OUTPUT_FORMATS[name]


def requested_formats(output) -> list[OutputFormat]:
    """The formats of ``output.formats`` in registry order (raises UnknownNameError on an unknown name)."""
    requested = set(output.formats)
    for name in sorted(requested):
        get_output_format(name)
    return [fmt for name, fmt in OUTPUT_FORMATS.items() if name in requested]


def open_writers(stage: Callable[[str], Path], run_info: Mapping, output) -> dict[str, tuple[Path, object]]:
    """Open a streaming writer of every requested format, in registry order.

    ``stage(file_name) -> path``: where to write the file named ``fmt.file_name(output)`` (e.g. the run
    directory's staged path). Returns {format name: (path, writer)}; on an error the writers opened so far are
    aborted.
    """
    out: dict[str, tuple[Path, object]] = {}
    try:
        for fmt in requested_formats(output):
            path = Path(stage(fmt.file_name(output)))
            out[fmt.name] = (path, fmt.open(path, run_info, output))
    except BaseException:
        for _, w in out.values():
            getattr(w, "abort", w.close)()
        raise
    return out


def write_formats(out_dir: Path, blocks: Sequence, run_info: Mapping, output,
                  done: Callable[[str], None] = lambda label: None) -> dict[str, str]:
    """Write ``blocks`` (one chunk) in every format of ``output.formats`` into ``out_dir``, in registry order.

    Convenience for small jobs and tests, on the streaming writers (open, write, close), each file written
    atomically. ``output`` is the card's [output] section. Returns {format name: file path}. ``done(label)`` is
    called after each file (progress bar).
    """
    from generator.io import common_weight_unit

    run_info = {"weight_unit": common_weight_unit(blocks), **run_info}  # header: the blocks' unit unless given
    files: dict[str, str] = {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for fmt in requested_formats(output):
        path = out_dir / fmt.file_name(output)
        with atomic_path(path) as tmp:
            writer = fmt.open(tmp, run_info, output)
            try:
                writer.write(blocks)
            except BaseException:
                getattr(writer, "abort", writer.close)()
                raise
            writer.close(run_info)
        files[fmt.name] = str(path)
        done(f"{fmt.description} written")
    return files


# ---- built-in formats (one registration each) ------------------------------------------------------

register_output_format(OutputFormat(
    name="hepmc3",
    writer="generator.io.hepmc:HepMCWriter",
    file_name=lambda output: "events.hepmc3.gz" if output.gzip else "events.hepmc3",
    options=lambda output: {"gzip": output.gzip},
    description="HepMC3",
    merger="generator.io.merge:merge_hepmc_files",
    encoder="generator.io.hepmc:encode_hepmc_chunk",
    appender="generator.io.merge:HepMCAppender",
))
register_output_format(OutputFormat(
    name="root",
    writer="generator.io.root:RootWriter",
    file_name=lambda output: "events.root",
    description="ROOT TTree",
    merger="generator.io.merge:merge_root_files",
    encoder="generator.io.root:encode_root_chunk",
))
register_output_format(OutputFormat(
    name="rntuple",
    writer="generator.io.root:RootWriter",
    # beside a TTree file the RNTuple gets its own name; alone it is the run's events.root
    file_name=lambda output: "events_rntuple.root" if "root" in output.formats else "events.root",
    options=lambda output: {"rntuple": True},
    description="ROOT RNTuple",
    merger="generator.io.merge:merge_root_files",
    encoder="generator.io.root:encode_root_chunk",
))

__all__ = ["OUTPUT_FORMATS", "OutputFormat", "get_output_format", "open_writers", "register_output_format",
           "requested_formats", "write_formats"]
