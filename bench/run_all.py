"""`make bench`: every benchmark script in this folder, one after the other, each in its own process
(so that peak memory is measured per benchmark). Each prints events per second and peak memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_upscattering.py", "bench_decay.py", "bench_io.py", "bench_run.py"]


def main() -> int:
    scripts = [HERE / s for s in ORDER if (HERE / s).exists()]
    scripts += sorted(p for p in HERE.glob("bench_*.py") if p.name not in ORDER)
    status = 0
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        status |= subprocess.call([sys.executable, str(script)])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
