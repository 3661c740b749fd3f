"""A run's output directory: one run at a time, all of its files or none, nothing left behind by a crash.

:class:`RunDirectory` is entered before any work is done and guards the directory for the whole run:

- **Lock.** ``.dsgen.lock`` is locked with ``fcntl.flock`` (released by the kernel when the process dies, so a
  killed run never leaves a stale lock). A second run into the same directory fails at once with
  RunDirectoryBusyError naming the holder's process id and start time.
- **Checks before work.** The path must be (or become) a writable directory; the estimated size of the run's
  outputs must fit in the free space (the estimate is in the message); a directory holding files is refused
  unless ``overwrite`` is set.
- **Overwrite.** With ``overwrite`` the previous run's files, as listed in its manifest ``.dsgen-run.json``, are
  removed first; files the generator did not write are never deleted (their presence is an error naming them).
- **All or nothing.** Writers stage their files as ``*.part`` (generator.io.atomic); :meth:`commit` renames them
  all at the end, then writes the manifest. An exception, SIGINT or SIGTERM removes the run's ``*.part`` files;
  ``*.part`` leftovers of a SIGKILL are removed by the next run that takes the lock.
- **Signals are not lost.** SIGINT and SIGTERM raise KeyboardInterrupt and _Terminated in the main thread, wherever
  it is. If it is in a garbage-collector callback (distributed registers one), a ``__del__`` or a weakref callback,
  Python only prints that exception and goes on. So the handler also records the signal, and :meth:`check_signals`
  raises it again: the run's sink calls it for every chunk (generator.chunks.RunSink.add), and :meth:`commit` calls
  it before it publishes anything. Python's report of the dropped exception is not printed (``sys.unraisablehook``,
  during the run). Raised inside a callback from C, the exception can also become another one; an exception that
  ends the run after a signal is replaced by the signal's when the directory is left. Both were seen in the Ctrl-C
  test of a parallel run, each about once in ten runs: "Exception ignored in ... GCDiagnosis._gc_callback ...
  KeyboardInterrupt", after which the run finished with exit code 0; and "SystemError: <function _numba_unpickle>
  returned a result with an exception set", which dsgen printed as a traceback.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from generator.errors import RunDirectoryBusyError, RunDirectoryError
from generator.io.atomic import PART_SUFFIX, _fsync_dir, _new_temp, _temp_name

LOCK_NAME = ".dsgen.lock"
MANIFEST_NAME = ".dsgen-run.json"
#: Hidden scratch folder of a run (e.g. for a step that writes whole files, moved into the run at staging); always
#: removed, and so is one left by a killed run.
STAGING_NAME = ".dsgen-staging"
#: Safety margin on the estimated output size when checking free space.
SPACE_MARGIN = 1.10


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"


class _Terminated(SystemExit):
    """Raised in the main thread on SIGTERM so that cleanup code (finally blocks, context managers) runs."""


class RunDirectory:
    """Context manager guarding ``path`` for one run (see module docstring).

    Parameters: ``overwrite`` removes the previous run's files; ``needed_bytes`` is the estimated size of the
    outputs (0 skips the free-space check); ``label`` (e.g. the run name and seed) is stored in the lock file and
    the manifest.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = False, needed_bytes: float = 0.0,
                 label: str = "") -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.needed_bytes = float(needed_bytes)
        self.label = label
        self._lock_fh = None
        self._staged: dict[Path, Path] = {}
        self._old_handlers: dict[int, object] = {}
        self._signal: int | None = None  # the first SIGINT or SIGTERM received (see check_signals)
        self._hooks = None  # (sys.unraisablehook before the run, the run's)
        self.files: list[str] = []

    # ------------------------------------------------------------------ entering: checks, lock, cleanup
    def __enter__(self) -> RunDirectory:
        p = self.path
        if p.exists() and not p.is_dir():
            msg = f"output directory {p}: exists and is not a directory; choose another --out"
            raise RunDirectoryError(msg)
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"output directory {p}: cannot be created ({exc.strerror})"
            raise RunDirectoryError(msg) from None
        if not os.access(p, os.W_OK | os.X_OK):
            msg = f"output directory {p}: not writable by this user; choose another --out"
            raise RunDirectoryError(msg)
        self._lock()
        try:
            self._remove_parts()
            self._check_contents()
            self._check_space()
            self._install_signals()
        except BaseException:
            self._unlock()
            raise
        return self

    def _lock(self) -> None:
        lock = self.path / LOCK_NAME
        try:
            fh = lock.open("a+")  # held open for the lifetime of the run
        except OSError as exc:
            msg = f"output directory {self.path}: cannot create the lock file ({exc.strerror})"
            raise RunDirectoryError(msg) from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            msg = (
                f"output directory {self.path} is in use by another run ({holder}); "
                                        "wait for it to finish or choose another --out"
            )
            raise RunDirectoryBusyError(msg) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}"
                 + (f", {self.label}" if self.label else ""))
        fh.flush()
        self._lock_fh = fh

    def _unlock(self) -> None:
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                self._lock_fh.seek(0)
                self._lock_fh.truncate()
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def _remove_parts(self) -> None:
        """Remove ``*.part`` files anywhere below the directory, and the scratch folder: no live writer exists
        while we hold the lock."""
        shutil.rmtree(self.path / STAGING_NAME, ignore_errors=True)
        for part in self.path.rglob(f"*{PART_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()

    def _previous(self) -> list[Path]:
        man = self.path / MANIFEST_NAME
        if not man.is_file():
            return []
        try:
            data = json.loads(man.read_text())
            return [self.path / f for f in data.get("files", [])]
        except (OSError, json.JSONDecodeError) as exc:
            msg = (
                f"output directory {self.path}: the previous run's manifest {man} cannot be "
                                    f"read ({exc}); remove the directory by hand"
            )
            raise RunDirectoryError(msg) from None

    def _contents(self) -> list[Path]:
        return sorted(f for f in self.path.rglob("*")
                      if f.is_file() and f.name not in (LOCK_NAME, MANIFEST_NAME))

    def _check_contents(self) -> None:
        present = self._contents()
        if not present:
            return
        names = ", ".join(str(f.relative_to(self.path)) for f in present[:5]) + (" ..." if len(present) > 5 else "")
        if not self.overwrite:
            msg = (
                f"output directory {self.path} already holds {len(present)} file(s) ({names}); "
                                    "pass --overwrite to replace the previous run, or choose another --out"
            )
            raise RunDirectoryError(msg)
        previous = set(self._previous())
        foreign = [f for f in present if f not in previous]
        if foreign:
            shown = ", ".join(str(f.relative_to(self.path)) for f in foreign[:5])
            msg = (
                f"output directory {self.path} holds {len(foreign)} file(s) that no dsgen run "
                                    f"wrote there ({shown}); --overwrite only removes a previous run's own files"
            )
            raise RunDirectoryError(msg)
        for f in previous:
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.path / MANIFEST_NAME).unlink()
        for d in sorted((d for d in self.path.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)):
            with contextlib.suppress(OSError):
                d.rmdir()  # only empty directories

    def _check_space(self) -> None:
        if self.needed_bytes <= 0:
            return
        free = shutil.disk_usage(self.path).free
        need = self.needed_bytes * SPACE_MARGIN
        if need > free:
            msg = (
                f"output directory {self.path}: the run needs about {_fmt_bytes(need)} "
                                    f"(estimated from the number of events and the formats), only "
                                    f"{_fmt_bytes(free)} are free; lower n_events, drop formats or choose another --out"
            )
            raise RunDirectoryError(msg)

    # ------------------------------------------------------------------ signals
    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum, frame):
            self._signal = self._signal or signum
            self.check_signals()

        previous_hook = sys.unraisablehook

        def on_unraisable(unraisable):  # a signal's exception Python dropped is raised again, not printed
            if not (self._signal is not None and isinstance(unraisable.exc_value, (KeyboardInterrupt, _Terminated))):
                previous_hook(unraisable)

        self._old_handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, on_signal)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when SIGINT is ignored (nohup, &)
            self._old_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, on_signal)
        self._hooks = (previous_hook, on_unraisable)
        sys.unraisablehook = on_unraisable

    def check_signals(self) -> None:
        """Raise KeyboardInterrupt (SIGINT) or _Terminated (SIGTERM) if such a signal has arrived during the run (again:
        see the module docstring)."""
        if self._signal == signal.SIGINT:
            raise KeyboardInterrupt
        if self._signal is not None:
            raise _Terminated(128 + self._signal)

    def _restore_signals(self) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers.clear()
        if self._hooks is not None and sys.unraisablehook is self._hooks[1]:
            sys.unraisablehook = self._hooks[0]
        self._hooks = None

    # ------------------------------------------------------------------ staging and commit
    def stage(self, relpath: str | os.PathLike) -> Path:
        """A new ``*.part`` path for the output ``relpath`` (relative to the directory), renamed by :meth:`commit`. The
        file is not created: its writer creates it (generator.io.atomic._temp_name says why), and :meth:`commit`
        refuses a staged output that no writer created."""
        final = self.path / relpath
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_name(final, taken=set(self._staged.values()))
        self._staged[final] = tmp
        return tmp

    def scratch(self) -> Path:
        """An empty hidden scratch folder of this run (STAGING_NAME); removed on exit, on error too."""
        d = self.path / STAGING_NAME
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        return d

    def stage_file(self, source: Path, relpath: str | os.PathLike) -> Path:
        """Move the complete file ``source`` into the run as output ``relpath`` (published by :meth:`commit`)."""
        tmp = self.stage(relpath)
        Path(source).replace(tmp)
        return tmp

    def stage_folder(self, folder: Path) -> list[str]:
        """Move every file under ``folder`` (e.g. the :meth:`scratch` folder a tool wrote into) into the run, at the
        same relative path (published by :meth:`commit`); returns their published paths, sorted."""
        folder = Path(folder)
        published = []
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = f.relative_to(folder)
            self.stage_file(f, rel)
            published.append(str(self.path / rel))
        return published

    def staged_path(self, relpath: str | os.PathLike) -> Path:
        """The ``*.part`` file staged for the output ``relpath`` (KeyError naming it when it was never staged)."""
        final = self.path / relpath
        if final not in self._staged:
            msg = f"{final} has not been staged in this run"
            raise KeyError(msg)
        return self._staged[final]

    def commit(self, manifest: dict | None = None) -> list[str]:
        """Rename every staged file to its final name, then write the manifest (the run is complete). A run that has
        received SIGINT or SIGTERM is not committed (check_signals)."""
        self.check_signals()
        for final, tmp in self._staged.items():
            if not tmp.exists():
                msg = f"staged output {tmp} was not written (or vanished) before it could become {final}"
                raise RunDirectoryError(msg)
            tmp.replace(final)
            self.files.append(str(final.relative_to(self.path)))
        self._staged.clear()
        data = {"label": self.label, "files": sorted(self.files), **(manifest or {})}
        tmp = _new_temp(self.path / MANIFEST_NAME)
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path / MANIFEST_NAME)
        _fsync_dir(self.path)
        return self.files

    def _discard(self) -> None:
        for tmp in self._staged.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._staged.clear()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._discard()
                self._remove_parts()
            shutil.rmtree(self.path / STAGING_NAME, ignore_errors=True)
        finally:
            self._restore_signals()
            self._unlock()
        if exc is not None and not isinstance(exc, (KeyboardInterrupt, _Terminated)):
            # the run ended with another exception after a signal: Python made it of the signal's exception, which
            # was raised inside a callback from C (numba's unpickler gives "SystemError: ... returned a result with
            # an exception set"). The run stops as the signal asks (check_signals), with that exception as context.
            self.check_signals()


__all__ = ["LOCK_NAME", "MANIFEST_NAME", "STAGING_NAME", "RunDirectory"]
