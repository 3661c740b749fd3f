"""What `pip install .` installs: the build step (setuptools build_py, run into tmp_path) must carry every
shipped card and every data file of generator/ and detectors/, so that an installed package runs without the
source checkout. (The full proof, a new virtualenv running `dsgen run miniboone_bp_b` from an empty directory,
is the manual check of README "Install".)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("generator", "detectors", "cards")


def _data_files(base: Path) -> set[str]:
    """Non-Python files under the package folders of ``base``, relative paths; caches excluded."""
    found = set()
    for pkg in PACKAGES:
        for p in (base / pkg).rglob("*"):
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts:
                found.add(p.relative_to(base).as_posix())
    return found


def test_build_carries_cards_and_data_files(tmp_path):
    cmd = [sys.executable, "-c", "from setuptools import setup; setup()", "-q",
           "egg_info", "--egg-base", str(tmp_path), "build_py", "--build-lib", str(tmp_path / "lib")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "deprecat" not in proc.stderr.lower(), proc.stderr  # e.g. data folders not listed as packages
    source = _data_files(ROOT)
    assert {f"cards/{p.name}" for p in (ROOT / "cards").glob("*.toml")} <= source
    assert len(source) > 20  # 15 cards plus the experiment, collider, target, flux and detector tables
    assert source == _data_files(tmp_path / "lib")
    assert (tmp_path / "lib" / "cards" / "__init__.py").is_file()
