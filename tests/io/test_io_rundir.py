"""Output-directory safety: lock, refusal of a used directory, overwrite, free space, all-or-nothing, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from generator.errors import RunDirectoryBusyError, RunDirectoryError
from generator.io.rundir import LOCK_NAME, MANIFEST_NAME, RunDirectory


def _write(rd: RunDirectory, name: str, text: str = "x") -> None:
    rd.stage(name).write_text(text)


def _listing(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != LOCK_NAME)


def test_commit_publishes_all_files_and_a_manifest(tmp_path):
    d = tmp_path / "run"
    with RunDirectory(d, label="seed 1") as rd:
        _write(rd, "events.root")
        _write(rd, "plots/a.png")
        assert _listing(d)[0].startswith("."), "before commit only hidden .part files exist"
        assert not (d / "events.root").exists()
        rd.commit({"seed": 1})
    assert _listing(d) == [MANIFEST_NAME, "events.root", "plots/a.png"]
    man = json.loads((d / MANIFEST_NAME).read_text())
    assert man["files"] == ["events.root", "plots/a.png"] and man["seed"] == 1


def test_staged_paths_are_left_for_their_writers_to_create(tmp_path):
    # a writer that truncates a file created empty beforehand makes ext4 write the whole file back when it is closed
    # (generator.io.atomic._temp_name); so stage() only names distinct hidden .part paths, and commit() refuses an
    # output that no writer created
    d = tmp_path / "run"
    with RunDirectory(d) as rd:
        paths = [rd.stage("events.hepmc3") for _ in range(50)]
        assert len(set(paths)) == 50
        assert all(p.name.startswith(".events.hepmc3.") and p.name.endswith(".part") for p in paths)
        assert not any(p.exists() for p in paths)
        never_written = r"staged output .*\.part was not written .* become .*/run/events\.hepmc3$"
        with pytest.raises(RunDirectoryError, match=never_written):
            rd.commit()
    assert _listing(d) == []


def test_exception_leaves_nothing(tmp_path):
    d = tmp_path / "run"
    def failing_run():
        with RunDirectory(d) as rd:
            _write(rd, "events.root")
            msg = "writer failed"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="writer failed"):
        failing_run()
    assert _listing(d) == []


def test_second_run_into_a_locked_directory_fails_at_once(tmp_path):
    d = tmp_path / "run"
    with RunDirectory(d, label="first"):
        t0 = time.perf_counter()
        with pytest.raises(RunDirectoryBusyError, match=r"in use by another run \(pid \d+.*first\)"):
            RunDirectory(d).__enter__()
        assert time.perf_counter() - t0 < 1.0
    with RunDirectory(d):  # free again
        pass


def test_used_directory_refused_without_overwrite_and_cleaned_with_it(tmp_path):
    d = tmp_path / "run"
    with RunDirectory(d) as rd:
        _write(rd, "events.root")
        _write(rd, "events.hepmc3")
        _write(rd, "plots/control_E.png")
        rd.commit()
    with pytest.raises(RunDirectoryError, match=r"already holds 3 file.*--overwrite"):
        RunDirectory(d).__enter__()
    with RunDirectory(d, overwrite=True) as rd:  # the new run writes fewer outputs
        assert _listing(d) == []
        _write(rd, "events.root", "new")
        rd.commit()
    assert _listing(d) == [MANIFEST_NAME, "events.root"]
    assert (d / "events.root").read_text() == "new"


def test_overwrite_never_deletes_files_it_did_not_write(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "thesis.tex").write_text("precious")
    with pytest.raises(RunDirectoryError, match=r"no dsgen run wrote there.*thesis\.tex"):
        RunDirectory(d, overwrite=True).__enter__()
    assert (d / "thesis.tex").read_text() == "precious"


def test_not_a_directory_and_not_creatable(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(RunDirectoryError, match="exists and is not a directory"):
        RunDirectory(f).__enter__()
    with pytest.raises(RunDirectoryError, match="cannot be created"):
        RunDirectory(f / "sub").__enter__()


def test_free_space_check_names_the_estimate(tmp_path):
    with pytest.raises(RunDirectoryError, match=r"needs about .*TB.*only .* are free"):
        RunDirectory(tmp_path / "run", needed_bytes=1e18).__enter__()


def test_leftover_parts_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / ".events.root.abc123.part").write_text("half")
    with RunDirectory(d) as rd:
        assert _listing(d) == []
        rd.commit()


def test_sigterm_removes_the_part_files(tmp_path):
    d = tmp_path / "run"
    code = textwrap.dedent(f"""
        import time
        from generator.io.rundir import RunDirectory
        with RunDirectory({str(d)!r}) as rd:
            rd.stage("events.root").write_text("x" * 1000)
            print("ready", flush=True)
            time.sleep(30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    proc.stdout.close()
    assert _listing(d) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_whose_exception_python_dropped_still_stops_the_run(tmp_path, sig):
    # a signal that arrives while the main thread runs a garbage-collector callback (distributed registers one in a
    # parallel run's process), a __del__ or a weakref callback raises its exception there, and Python only reports it
    # ("Exception ignored in ..."). The run directory records the signal: the next chunk, or the commit, raises it
    # again, and the run publishes nothing. The dropped exception is not reported (pytest's check of unraisable
    # exceptions fails this test if it is), and other unraisable exceptions still are.
    import gc

    d = tmp_path / "run"
    dropped, went_on = [], []

    def in_gc(phase, info):
        if phase == "start" and not dropped:
            dropped.append(sig)
            os.kill(os.getpid(), sig)  # the handler runs in this callback, at the next bytecode
            time.sleep(0.01)

    def run() -> None:
        with RunDirectory(d) as rd:
            rd.stage("events.root").write_text("x")
            gc.callbacks.append(in_gc)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(in_gc)
            went_on.append(True)  # the exception did not reach this code: Python dropped it
            rd.commit()

    default = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (pytest may run in the bg)
    hook = sys.unraisablehook
    try:
        with pytest.raises(KeyboardInterrupt if sig == signal.SIGINT else SystemExit) as caught:
            run()
    finally:
        signal.signal(signal.SIGINT, default)
    assert dropped == [sig] and went_on == [True]
    assert sys.unraisablehook is hook
    if sig == signal.SIGTERM:
        assert caught.value.code == 128 + signal.SIGTERM
    assert _listing(d) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_other_unraisable_exceptions_are_still_reported_during_a_run(tmp_path):
    seen = []
    hook = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with RunDirectory(tmp_path / "run") as rd:
            class Dropping:
                def __del__(self):
                    raise KeyboardInterrupt  # not a signal's: no signal has arrived

            Dropping()
            rd.commit()
    finally:
        sys.unraisablehook = hook
    assert [type(u.exc_value) for u in seen] == [KeyboardInterrupt]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_whose_exception_became_another_still_ends_the_run_as_the_signal(tmp_path, sig):
    # raised inside a callback from C, a signal's exception can come out as another one (numba's unpickler turns it
    # into "SystemError: ... returned a result with an exception set"); the run ends as the signal asks, quietly
    # (dsgen prints "interrupted" for KeyboardInterrupt, exits 128 + signal for SIGTERM), and publishes nothing
    d = tmp_path / "run"

    def run() -> None:
        with RunDirectory(d) as rd:
            rd.stage("events.root").write_text("x")
            try:
                os.kill(os.getpid(), sig)
                time.sleep(5)
            except BaseException as exc:
                raise SystemError("<function _numba_unpickle> returned a result with an exception set") from exc

    default = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt if sig == signal.SIGINT else SystemExit) as caught:
            run()
    finally:
        signal.signal(signal.SIGINT, default)
    assert isinstance(caught.value.__context__, SystemError)
    if sig == signal.SIGTERM:
        assert caught.value.code == 128 + signal.SIGTERM
    assert _listing(d) == []
    # without a signal, the exception is the run's own
    with pytest.raises(SystemError), RunDirectory(d):
        raise SystemError("not a signal's")
