"""Every numba kernel of the package has the options generator.kernels.kernel compiles with."""

from __future__ import annotations

import importlib
import pkgutil

import numba.core.registry

import detectors
import generator


def _kernels():
    seen = {}
    for pkg in (generator, detectors):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name.endswith(".__main__"):  # runs the command line
                continue
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.py_func.__module__ == info.name:
                    seen[f"{info.name}.{name}"] = obj
    return seen


def test_every_kernel_is_cached_numpy_error_model_and_releases_the_gil():
    """cache=True (on-disk), error_model="numpy" (x/0 gives inf/nan as in numpy) and nogil=True: a kernel holding the
    GIL for its whole run (the HepMC3 writer's for up to 0.2 s) stops the Dask threads of a parallel run's process,
    which then answer a worker that has finished a chunk only when the kernel returns (generator.kernels)."""
    kernels = _kernels()
    assert len(kernels) > 30, sorted(kernels)  # the walk found the package's kernels
    for name, k in kernels.items():
        assert k.targetoptions.get("nogil") is True, name
        assert k.targetoptions.get("error_model") == "numpy", name
        assert type(k._cache).__name__ == "FunctionCache", name  # NullCache without cache=True


def test_load_target_leaves_nothing_for_the_first_kernel_call_to_import():
    """generator.kernels.load_target does ahead what the first call of any kernel in a process does otherwise:
    numba installs its CPU target's registries, importing its numpy implementations and scipy.linalg (about 0.45 s,
    which a parallel run's worker spends while it waits for the plan instead of in its first chunk). Checked in fresh
    processes: without it, the first call of a kernel (cached on disk by the warm-up run) imports numba.np.linalg;
    after it, that call imports no module at all."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def first_call_imports(warm: bool) -> list[str]:
        code = ("import sys, numpy as np\n"
                "from generator.kernels import load_target\n"
                "from generator.kernels.lorentz import boost_to_lab\n"
                f"{'load_target()' if warm else 'pass'}\n"
                "k, P = np.array([[1.0, 0, 0, 0.5]]), np.array([[2.0, 0, 0, 1.0]])\n"
                "before = set(sys.modules)\n"
                "boost_to_lab(k, P)\n"
                "print(' '.join(sorted(set(sys.modules) - before)))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
        return out.stdout.split()

    first_call_imports(True)  # compiles the kernel into the disk cache, if it is not there yet
    assert "numba.np.linalg" in first_call_imports(False)
    assert first_call_imports(True) == []
