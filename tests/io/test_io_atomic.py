"""Atomic writes: the final name only ever holds a complete file, even if the writer is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from generator.io.atomic import PART_SUFFIX, atomic_open, atomic_path

REPO = Path(__file__).resolve().parents[2]


def test_success_renames_and_leaves_no_temporary(tmp_path):
    final = tmp_path / "sub" / "out.txt"  # missing parent directories are created
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.endswith(PART_SUFFIX) and tmp.name.startswith(".")
        assert not final.exists()  # nothing at the final name while writing
        tmp.write_text("complete")
    assert final.read_text() == "complete"
    assert sorted(p.name for p in final.parent.iterdir()) == ["out.txt"]


def test_exception_keeps_old_file_and_removes_temporary(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    def write_half_then_fail():
        with atomic_open(final, "w") as fh:
            fh.write("half")
            msg = "boom"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="boom"):
        write_half_then_fail()
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_permissions_follow_umask(tmp_path):
    """The renamed file gets the permissions of a plain open() (mkstemp would give 0600)."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with atomic_open(tmp_path / "atomic.txt", "w") as fh:
        fh.write("x")
    assert (tmp_path / "atomic.txt").stat().st_mode == plain.stat().st_mode


def test_bad_mode_and_directory_target(tmp_path):
    with pytest.raises(ValueError, match="'r'"), atomic_open(tmp_path / "x", "r"):
        pass
    with pytest.raises(IsADirectoryError, match="directory"), atomic_path(tmp_path):
        pass


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from tests.io.test_io_synthetic import coherent_block
    from generator.io import write_hepmc, write_root
    fmt, path = sys.argv[1], sys.argv[2]
    block = coherent_block(np.random.default_rng(1), 200)
    blocks = [block] * 5000  # 1e6 events: tens of seconds of writing, killed long before the end
    run_info = {"version": "kill-test", "seed": 1, "card": ""}
    if fmt == "hepmc3":
        write_hepmc(path, blocks, run_info)
    else:
        write_root(path, blocks, run_info, chunk_size=100)
""")


@pytest.mark.parametrize("fmt", ["hepmc3", "root"])
def test_sigkill_mid_write_leaves_no_file_at_final_name(tmp_path, fmt):
    """Kill a writer process while it writes: the old complete file stays, no new file appears."""
    final = tmp_path / f"events.{fmt}"
    final.write_bytes(b"previous complete output")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, fmt, str(final)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        part = []
        # wait until the writer has put real data (> 64 kB) into its temporary file
        while time.monotonic() < deadline and proc.poll() is None:
            part = [p for p in tmp_path.iterdir() if p.name.endswith(PART_SUFFIX)]
            if part and part[0].stat().st_size > 65536:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"writer ended before it could be killed: {proc.stderr.read().decode()}"
        assert part, "writer never created its temporary file"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert final.read_bytes() == b"previous complete output"  # untouched
    names = sorted(p.name for p in tmp_path.iterdir())
    # only the hidden *.part file of the killed writer remains next to the old output
    assert names[-1] == final.name and len(names) == 2
    assert names[0].startswith(f".{final.name}.") and names[0].endswith(PART_SUFFIX)
