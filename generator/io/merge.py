"""File-level merge of shard outputs, in shard order, streaming (memory bounded by a read chunk).

A sharded run (generator.pipeline: shard s of K takes a contiguous range of the run's chunks) writes one set of
files per shard; event numbers are global (``event_id``, the index in the unsharded run). Concatenating the
shards' events in shard order therefore reproduces the unsharded run:

- :func:`merge_root`: every shard's ``events`` tree read with ``uproot.iterate`` in steps of ``step_size`` entries
  and appended through a :class:`generator.io.root.RootWriter` (``write_arrays``); the writer's ``close`` then
  writes the ``run`` tree and strings from the merged run summary;
- :func:`merge_hepmc`: one header built from the merged ``run_info`` (as :class:`generator.io.hepmc.HepMCWriter`
  writes it), then the event records of every shard copied line by line as text (HepMC3 ASCII event records
  are self-contained: ``E``, ``U``, ``W``, ``C``, ``A``, ``P``, ``V`` lines), then the end-of-listing footer;
- histograms of the control plots: :func:`merge_plots` (``generator.plots.ControlPlots.add``).
"""

from __future__ import annotations

import gzip as _gzip
import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from generator.errors import DataFileError, OutputError
from generator.io.hepmc import HEPMC_END, HEPMC_START, HepMCWriter


def merge_root(shard_paths: Sequence[str | os.PathLike], out_writer, step_size: int = 100_000) -> None:
    """Append the ``events`` trees of ``shard_paths``, in order, to ``out_writer`` (a RootWriter).

    ``step_size``: entries read per step (bounds memory). The caller closes the writer with the merged run
    summary (``out_writer.close(run_info)``). Raises DataFileError if a shard has no ``events`` tree.
    """
    from generator.io.root import open_root

    for path in shard_paths:
        with open_root(path) as f:
            if "events" not in f:
                msg = f"shard {path}: no 'events' tree; not a darkseesaw-gen ntuple"
                raise DataFileError(msg)
            tree = f["events"]
            keys = [k for k in tree.keys() if k != "n_particles"]  # noqa: SIM118 (uproot: .keys() are names)
            for arrays in tree.iterate(keys, step_size=step_size):
                out_writer.write_arrays(arrays)


def _open_text(path: Path, mode: str, gzip: bool | None = None):
    """Text handle of a HepMC3 file; gzip when ``gzip`` is true (None: when the name ends in .gz)."""
    if gzip if gzip is not None else path.suffix == ".gz":
        return _gzip.open(path, mode + "t", encoding="ascii", compresslevel=1) if "w" in mode else \
            _gzip.open(path, mode + "t", encoding="ascii")
    return path.open(mode, encoding="ascii")


def hepmc_header(run_info, gzip: bool = False, precision: int = 16) -> str:
    """The header text (up to and without the first event) that HepMCWriter writes for ``run_info``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "header.hepmc3"
        HepMCWriter(path, run_info, precision=precision).close()
        text = path.read_text(encoding="ascii")
    end = text.index(HEPMC_END)
    return text[:end]


def merge_hepmc(shard_paths: Sequence[str | os.PathLike], out_path: str | os.PathLike, run_info,
                precision: int = 16, gzip: bool | None = None) -> Path:
    """Write ``out_path``: the header of ``run_info`` then the events of every shard, in order, then the footer.

    ``out_path`` is gzip-compressed when ``gzip`` is true (None: when its name ends in .gz; a staged ``*.part``
    path needs the explicit flag); shards are read by their names. ``run_info``: the
    merged run header (see :mod:`generator.io`); its cross section goes into the header (the events keep theirs:
    shards of one card and seed share the seed-only integration). Raises DataFileError when a shard is not a
    complete HepMC3 ASCII listing. Returns ``out_path``.
    """
    out_path = Path(out_path)
    header = hepmc_header(run_info, precision=precision)
    with _open_text(out_path, "w", gzip) as out:
        out.write(header)
        for shard in shard_paths:
            _copy_events(Path(shard), out)
        out.write(HEPMC_END + "\n\n")
    return out_path


def _copy_events(path: Path, out) -> None:
    """Copy the event records of one HepMC3 ASCII file (from the first ``E`` line up to the footer) to ``out``.

    Plain files are copied as bytes in blocks between those two offsets (no per-line Python work); gzip files are
    read line by line."""
    if path.suffix != ".gz":
        _copy_events_plain(path, out)
        return
    in_events, ended = False, False
    with _open_text(path, "r") as fh:
        first = fh.readline().rstrip("\n")
        if not first.startswith("HepMC::Version"):
            msg = f"shard {path}: first line {first[:40]!r} is not 'HepMC::Version ...'; not HepMC3 ASCII"
            raise DataFileError(msg)
        for line in fh:
            if line.startswith(HEPMC_END):
                ended = True
                break
            if not in_events and line.startswith("E "):
                in_events = True
            if in_events:
                out.write(line)
    if not ended:
        msg = f"shard {path}: no '{HEPMC_END}' line; the file is truncated (was its run finished?)"
        raise DataFileError(msg)


_BLOCK = 1 << 24


def _find_first_event(fh, head: bytes, stop: int) -> int:
    """Offset of the newline before the first ``E`` line (``stop - 1`` when the file has no event)."""
    pos = head.find(b"\nE ")
    offset = 0
    buf = head
    while pos < 0 and offset + len(buf) < stop:
        offset += len(buf) - 2  # keep two bytes of overlap for a match across blocks
        fh.seek(offset)
        buf = fh.read(1 << 20)
        pos = buf.find(b"\nE ")
    return offset + pos if 0 <= offset + pos < stop else stop - 1


def _copy_in_kernel(src, dst, offset: int, count: int) -> int:
    """Copy ``count`` bytes of ``src`` from ``offset`` to the end of the plain file ``dst`` inside the kernel
    (os.copy_file_range: no copy through this process); returns the bytes left for a user-space copy (all of them
    when ``dst`` is not a plain file, e.g. gzip, or the system cannot)."""
    if not hasattr(os, "copy_file_range") or not isinstance(dst, io.BufferedWriter):
        return count
    try:
        while count > 0:
            done = os.copy_file_range(src.fileno(), dst.fileno(), min(count, 1 << 30), offset)
            if done <= 0:
                break
            offset += done
            count -= done
    except OSError:
        pass
    return count


def _copy_events_plain(path: Path, out) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(min(size, 1 << 20))
        if not head.startswith(b"HepMC::Version"):
            msg = f"shard {path}: first line {head[:40]!r} is not 'HepMC::Version ...'; not HepMC3 ASCII"
            raise DataFileError(msg)
        tail_len = min(size, 4096)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        end = tail.rfind(b"\n" + HEPMC_END.encode())
        if end < 0:
            msg = f"shard {path}: no '{HEPMC_END}' line; the file is truncated (was its run finished?)"
            raise DataFileError(msg)
        stop = size - tail_len + end + 1
        first = _find_first_event(fh, head, stop)
        fh.seek(first + 1)
        remaining = stop - (first + 1)
        out.flush()
        raw = out.buffer if hasattr(out, "buffer") else out
        raw.flush()
        remaining = _copy_in_kernel(fh, raw, first + 1, remaining)
        fh.seek(stop - remaining)
        while remaining > 0:
            block = fh.read(min(_BLOCK, remaining))
            if not block:
                break
            raw.write(block)
            remaining -= len(block)
        raw.flush()


class HepMCAppender:
    """Streaming HepMC3 writer fed with encoded chunks (:func:`generator.io.hepmc.encode_hepmc_chunk` files, made on
    any process): the header of ``run_info``, then each chunk's event records as they come (block copies, no parsing),
    then the footer. The file equals the one :class:`generator.io.hepmc.HepMCWriter` writes from the same events.
    ``gzip``: compress (level 1, as HepMCWriter)."""

    def __init__(self, path: str | os.PathLike, run_info, gzip: bool = False) -> None:
        self.path = Path(path)
        self._out = _open_text(self.path, "w", gzip)
        try:
            self._out.write(hepmc_header(run_info))
        except BaseException:
            self._out.close()
            raise

    def write_encoded(self, chunk_file: str | os.PathLike) -> None:
        """Append the event records of one encoded chunk file."""
        _copy_events(Path(chunk_file), self._out)

    def close(self, run_info=None) -> Path:
        """Write the footer and close the file."""
        try:
            self._out.write(HEPMC_END + "\n\n")
        finally:
            self._out.close()
        return self.path

    def abort(self) -> None:
        """Close without the footer (after an error; the caller discards the file)."""
        self._out.close()


def merge_plots(shard_files: Sequence[str | os.PathLike]):
    """The control-plot histograms of every shard (``ControlPlots.save`` files), added in order."""
    from generator.plots import ControlPlots

    if not shard_files:
        msg = "merge_plots: no shard histogram files given"
        raise OutputError(msg)
    total = ControlPlots.load(shard_files[0])
    for f in shard_files[1:]:
        total.add(ControlPlots.load(f))
    return total


def merge_root_files(fmt, shard_paths, out_path: Path, run_info, output) -> None:
    """Registry merger of the ROOT formats: a new writer of ``fmt`` on ``out_path``, every shard's events
    appended in order (:func:`merge_root`), closed with the merged ``run_info``."""
    writer = fmt.open(out_path, run_info, output)
    try:
        merge_root(shard_paths, writer)
    except BaseException:
        getattr(writer, "abort", writer.close)()
        raise
    writer.close(run_info)


def merge_hepmc_files(fmt, shard_paths, out_path: Path, run_info, output) -> None:
    """Registry merger of HepMC3: :func:`merge_hepmc` with the format's compression."""
    merge_hepmc(shard_paths, out_path, run_info, gzip=bool(fmt.options(output).get("gzip", False)))


__all__ = ["HEPMC_END", "HEPMC_START", "HepMCAppender", "hepmc_header", "merge_hepmc", "merge_hepmc_files",
           "merge_plots", "merge_root", "merge_root_files"]
