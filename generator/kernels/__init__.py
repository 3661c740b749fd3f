"""numba kernels for kinematics: Lorentz boosts and rotations, phase space, decay lengths.

Every kernel is compiled through :func:`kernel` (``numba.njit`` with ``cache=True``,
``error_model="numpy"``, so a division by zero gives inf/nan as in numpy instead of raising, and
``nogil=True``), in the spirit of numba-stats. Kernels take plain arrays and numbers, *events first*
((n, 4) four-vectors, (n, m, 4) lists of four-vectors), never model, card or random-generator
objects: random numbers are drawn by the caller from a ``numpy.random.Generator`` and passed in. The
public functions in the sub-modules are thin wrappers that fix dtypes and shapes.

Units: four-vectors are (E, px, py, pz) in GeV, positions (c*t, x, y, z) in cm, lengths in cm.
"""

from __future__ import annotations

import numba


def kernel(fn=None, *, inline: str = "never"):
    """Compile ``fn`` as a numba kernel (nopython, cached on disk, numpy error model, without the GIL).

    Used bare (``@kernel``) or with options (``@kernel(inline="always")`` for small helpers that numba
    should inline into their callers). ``cache=True``, ``error_model="numpy"`` and ``nogil=True`` are always set:
    kernels touch no Python object, and a kernel that holds the GIL stops every other thread of its process for as
    long as it runs (the HepMC3 writer's kernel runs for up to 0.2 s; in a parallel run, the Dask scheduler and
    client threads of the run's process then answer a worker that has finished a chunk only when it returns).
    """
    def compile_(f):
        return numba.njit(cache=True, error_model="numpy", nogil=True, inline=inline)(f)

    if fn is None:
        return compile_
    return compile_(fn)


def load_target() -> None:
    """Load numba's CPU target now instead of at the first call of a kernel in this process.

    That first call, even of a kernel cached on disk, has numba install the target's function registries, which
    imports numba's numpy implementations and, through them, scipy.linalg: about 0.45 s of CPU, measured on a Dask
    worker's first chunk of the default card (1.02 s against 0.52 s for the same chunk after this call). A worker of a
    parallel run calls this while it waits for the run's plan (generator.shards.warm_worker). Idempotent and cheap
    once done.
    """
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


__all__ = ["kernel", "load_target"]
