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
