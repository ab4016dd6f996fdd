"""The performance switches, read from the environment once, when ``threestep.accel`` is imported.

* ``THREESTEP_NUMBA=0``: no Numba kernels (``accel.kernels``); the NumPy reference runs.
* ``THREESTEP_BLAS_UPDATE=0``: no direct calls into NumPy's OpenBLAS (``accel.blas``: axpy,
  the dW GEMM with an optimizer's update folded in, the sgemm pointer of the recurrent Numba
  loops, and stopping its busy-waiting workers before ``predict``'s batches side by side).
* ``THREESTEP_ADAPTIVE_THREADS=0``: ``fit`` and ``predict`` keep NumPy's BLAS at its pool size
  instead of timing which thread count is fastest now (``accel.threads.Governor``).
* ``THREESTEP_SIDE_BY_SIDE=0``: ``predict`` runs its batches one after the other instead of
  several at once, one per thread (``models.row_blocks.side_by_side``).
* ``THREESTEP_CUPY_FUSE=0``: the CuPy chains of ``accel.fused`` run op by op instead of as one
  fused kernel each (the A/B switch for a GPU profile).

Tests that need another setting inside one process assign the attribute (``switches.NUMBA =
False``) instead of changing the environment; every other module reads these names, never
``os.environ``.
"""
import os


def _on(name):
    return os.environ.get(name, "1") != "0"


NUMBA = _on("THREESTEP_NUMBA")
BLAS_UPDATE = _on("THREESTEP_BLAS_UPDATE")
CUPY_FUSE = _on("THREESTEP_CUPY_FUSE")
ADAPTIVE_THREADS = _on("THREESTEP_ADAPTIVE_THREADS")
SIDE_BY_SIDE = _on("THREESTEP_SIDE_BY_SIDE")
