"""NumPy's own BLAS, called for the one routine NumPy does not expose: axpy (y += a x), the
plain SGD update.

Why, measured on the 2-core machine (MLP 784-500-500-10, 2 BLAS threads): after an update
written by one core (NumPy or a Numba loop), the next step's GEMMs ran 13 % slower than with
constant weights -- the other core's GEMM thread reads the new weights out of the first core's
cache -- and at 1 thread they did not slow down at all. OpenBLAS's saxpy runs on the same thread
pool as NumPy's GEMMs (already awake, so no fight for the cores, unlike a second pool),
splits large updates over both cores, and left the GEMMs ~3 % slower while taking half the
time of the single-core update. Results agree with the Numba kernel's to one ulp (both use
fused multiply-adds; a few tail elements may not).

Not after a recurrent layer's row-parallel loops (``ops._threads``): the saxpy's threads spin
for ~0.1 s after it returns and took a core from the next step's loops (LSTM(128) training at
2 threads fell from 5.7k to 3.2k samples/s), so the optimizers use it only after a step that
ran none (``Optimizer.apply_gradients``).

Only NumPy's own OpenBLAS is used: the OpenBLAS that threadpoolctl finds inside NumPy's
installation (pip wheels bundle it), or the only OpenBLAS loaded when NumPy was built against
OpenBLAS. Anything else (MKL, several OpenBLAS copies, no threadpoolctl, a failed self-check)
serves nothing and the caller's own code runs. ``THREESTEP_BLAS_UPDATE=0`` turns it off.
"""
import ctypes
import os

import numpy as np

from . import _threads

_axpy = []  # [the saxpy function, or None], once looked for

# The same routine under the names of the OpenBLAS builds NumPy ships with or links against:
# scipy-openblas64 (ILP64, NumPy's wheels), scipy-openblas32, a system OpenBLAS.
_SYMBOLS = ("scipy_cblas_saxpy64_", "scipy_cblas_saxpy", "cblas_saxpy")


def _numpy_openblas():
    """The file of the OpenBLAS NumPy uses, or None where that cannot be told for sure."""
    libs = _threads.numpy_blas()  # NumPy's own BLAS libraries, else every BLAS library loaded
    own = [c.filepath for c in libs if c.internal_api == "openblas"]
    if len(own) != 1:
        return None
    if "numpy" not in own[0]:  # not bundled with NumPy: only if NumPy was built against OpenBLAS
        config = getattr(getattr(np, "__config__", None), "CONFIG", {})
        if "openblas" not in str(config.get("Build Dependencies", {}).get("blas", {}).get("name", "")).lower():
            return None
    return own[0]


def _load():
    if os.environ.get("THREESTEP_BLAS_UPDATE", "1") == "0":
        return None
    path = _numpy_openblas()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)  # already loaded by NumPy: the same handle, the same thread pool
    except OSError:
        return None
    for name in _SYMBOLS:
        fn = getattr(lib, name, None)
        if fn is not None:
            break
    else:
        return None
    # 64-bit integers work for both integer widths on the 64-bit ABIs (a 32-bit callee reads the
    # low half of the register or stack slot); callers keep n below 2**31.
    fn.argtypes = [ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
    fn.restype = None
    y, x = np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 1.0, 4.0], np.float32)
    fn(3, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)
    return fn if np.array_equal(y, [0.5, 1.5, 1.0]) else None


def axpy_(y, x, alpha):
    """y += alpha * x in place through NumPy's OpenBLAS (split over its threads for large
    arrays), for C-contiguous float32 NumPy arrays of one shape; False where not served."""
    if not _axpy:
        _axpy.append(_load())
    fn = _axpy[0]
    if (fn is None or type(y) is not np.ndarray or type(x) is not np.ndarray or y.dtype != np.float32
            or x.dtype != np.float32 or y.shape != x.shape or not y.flags.c_contiguous
            or not x.flags.c_contiguous or not y.flags.writeable or y.size >= 2**31):
        return False
    fn(y.size, float(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
    return True
