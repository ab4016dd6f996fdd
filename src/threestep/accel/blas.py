"""NumPy's own BLAS, called for what NumPy does not expose: axpy (y += a x), the plain SGD
update, and GEMM with a beta (C = b C + a A^T B), the dW GEMM with SGD's step folded in
(``gemm_update_``: ``SGD.fold_matmul``, when a weight's gradient sink is handed the dW GEMM of
``ops.Linear``; C is the weight, or momentum's velocity). Folded, dL/dW is never written to
fresh memory (benchmarks/RESULTS.md has the figures). And the sgemm as a function pointer
(``gemm_pointer``) for the Numba kernels that run a whole recurrent time loop (``sequences``), and
a way to stop OpenBLAS's busy-waiting workers before threads of our own start (``stop_workers``).

Why: after an update written by one core (NumPy or a Numba loop), the next step's GEMMs on
two BLAS threads run slower than with constant weights -- the other core's GEMM thread reads
the new weights out of the first core's cache. OpenBLAS's saxpy runs on the same thread pool
as NumPy's GEMMs (already awake, so no fight for the cores, unlike a second pool), splits
large updates over the cores, and costs the GEMMs much less (figures: benchmarks/RESULTS.md).
Results agree with the Numba kernel's to one ulp (both use fused multiply-adds; a few tail
elements may not).

Not after a recurrent layer's row-parallel loops (``accel.threads``): the saxpy's threads spin
after it returns and take a core from the next step's loops, so the optimizers use it only
after a step that ran none (``Optimizer._check_blas_threads``).

Only NumPy's own OpenBLAS is used: the OpenBLAS that threadpoolctl finds inside NumPy's
installation (pip wheels bundle it), or the only OpenBLAS loaded when NumPy was built against
OpenBLAS. Anything else (MKL, several OpenBLAS copies, no threadpoolctl, a failed self-check)
serves nothing and the caller's own code runs. ``THREESTEP_BLAS_UPDATE=0`` turns it off.
"""
import ctypes
import os

import numpy as np

from . import switches, threads

_axpy = []  # [the saxpy function, or None], once looked for
_gemm = []  # [the sgemm function, or None], once looked for
_gemm_ptr = []  # [sgemm as a ctypes function pointer for Numba, or None], once looked for
_shutdown = []  # [OpenBLAS's blas_thread_shutdown_, or None], once looked for

# The same routines under the names of the OpenBLAS builds NumPy ships with or links against:
# scipy-openblas64 (ILP64, NumPy's wheels), scipy-openblas32, a system OpenBLAS.
_SYMBOLS = ("scipy_cblas_saxpy64_", "scipy_cblas_saxpy", "cblas_saxpy")
_GEMM_SYMBOLS = ("scipy_cblas_sgemm64_", "scipy_cblas_sgemm", "cblas_sgemm")
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_F32 = np.dtype(np.float32)
_MAX = 2**31  # sizes and leading dimensions stay below the 32-bit builds' limit


def _numpy_openblas():
    """The file of the OpenBLAS NumPy uses, or None where that cannot be told for sure."""
    libs = threads.numpy_blas()  # NumPy's own BLAS libraries, else every BLAS library loaded
    own = [c.filepath for c in libs if c.internal_api == "openblas"]
    if len(own) != 1:
        return None
    if "numpy" not in own[0]:  # not bundled with NumPy: only if NumPy was built against OpenBLAS
        config = getattr(getattr(np, "__config__", None), "CONFIG", {})
        if "openblas" not in str(config.get("Build Dependencies", {}).get("blas", {}).get("name", "")).lower():
            return None
    return own[0]


def _library():
    if not switches.BLAS_UPDATE:
        return None
    path = _numpy_openblas()
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)  # already loaded by NumPy: the same handle, the same thread pool
    except OSError:
        return None


def _symbol(lib, names):
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            return fn
    return None


# 64-bit integers work for both integer widths on the 64-bit ABIs (a 32-bit callee reads the low
# half of the register or stack slot); callers keep every size below 2**31.
def _load():
    fn = _symbol(_library(), _SYMBOLS)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
    fn.restype = None
    y, x = np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 1.0, 4.0], np.float32)
    fn(3, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)
    return fn if np.array_equal(y, [0.5, 1.5, 1.0]) else None


def _load_gemm():
    fn = _symbol(_library(), _GEMM_SYMBOLS)
    if fn is None:
        return None
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    fn.argtypes = [i64, i64, i64, i64, i64, i64, ctypes.c_float, ptr, i64, ptr, i64, ctypes.c_float, ptr, i64]
    fn.restype = None
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)  # (k=3, m=2)
    b = np.array([[1.0], [0.0], [2.0]], np.float32)  # (k=3, n=1)
    c = np.ones((2, 1), np.float32)
    fn(_ROW_MAJOR, _TRANS, _NO_TRANS, 2, 1, 3, -0.5, a.ctypes.data, 2, b.ctypes.data, 1, 1.0, c.ctypes.data, 1)
    return fn if np.array_equal(c, 1.0 - 0.5 * (a.T @ b)) else None


def gemm_pointer():
    """NumPy's OpenBLAS ``cblas_sgemm`` as a ctypes function pointer whose array arguments are
    integers (addresses), for Numba kernels that run a whole recurrent time loop -- a GEMM and
    the gate math per step -- without returning to Python (``accel.sequences``); None where the
    sgemm is not served (see above). Row-major arguments: (101, transA, transB, m, n, k, alpha,
    A, lda, B, ldb, beta, C, ldc), transposes 111 (no) or 112 (yes)."""
    if not _gemm_ptr:
        fn = _gemm[0] if _gemm else _first(_gemm, _load_gemm)
        i64 = ctypes.c_int64
        proto = ctypes.CFUNCTYPE(None, i64, i64, i64, i64, i64, i64, ctypes.c_float, i64, i64, i64, i64,
                                 ctypes.c_float, i64, i64)
        _gemm_ptr.append(None if fn is None else proto(ctypes.cast(fn, ctypes.c_void_p).value))
    return _gemm_ptr[0]


def stop_workers():
    """Stop NumPy's OpenBLAS worker threads now, through OpenBLAS's ``blas_thread_shutdown_`` (what
    it runs itself before a ``fork``). After a threaded call they busy-wait for more work for
    ~0.1 s, and threads started meanwhile (``predict``'s batches side by side) share the cores
    with them: the first ``predict`` after ``fit`` ran 25-80 % slower (benchmarks/RESULTS.md).
    OpenBLAS starts them again the next time its thread count is set or a call runs threaded.
    Call it with the BLAS pool at one thread and no other thread that could be inside a threaded
    BLAS call (``threads.one_blas_thread`` calls it only as the process's one Python thread
    besides threestep's compute helpers). Returns whether it ran."""
    if not _shutdown:
        lib = _library()
        fn = getattr(lib, "blas_thread_shutdown_", None) if lib is not None else None
        if fn is not None:
            fn.argtypes, fn.restype = [], ctypes.c_int
        _shutdown.append(fn)
    if _shutdown[0] is None:
        return False
    _shutdown[0]()
    return True


def axpy_(y, x, alpha):
    """y += alpha * x in place through NumPy's OpenBLAS (split over its threads for large
    arrays), for C-contiguous float32 NumPy arrays of one shape; False where not served."""
    fn = _axpy[0] if _axpy else _first(_axpy, _load)
    if (fn is None or type(y) is not np.ndarray or type(x) is not np.ndarray or y.dtype != np.float32
            or x.dtype != np.float32 or y.shape != x.shape or not y.flags.c_contiguous
            or not x.flags.c_contiguous or not y.flags.writeable or y.size >= 2**31):
        return False
    fn(y.size, float(alpha), _address(x), 1, _address(y), 1)
    return True


def gemm_update_(c, a_t, b, alpha, beta=1.0):
    """c = beta * c + alpha * a_t.T @ b in place, in one BLAS call (NumPy's own OpenBLAS, its
    threads): the dW GEMM of a linear layer with the optimizer's step folded in -- plain SGD's
    weight update (c = W, beta = 1) or momentum's velocity (c = v, beta = momentum) -- so that
    dL/dW is never written to fresh memory and read back. ``c`` (m x n) C-contiguous and
    writeable, ``a_t`` (k x m) and ``b`` (k x n) C- or F-contiguous, all float32 NumPy arrays;
    False (nothing done) where not served."""
    fn = _gemm[0] if _gemm else _first(_gemm, _load_gemm)
    if (fn is None or type(c) is not np.ndarray or type(a_t) is not np.ndarray or type(b) is not np.ndarray
            or c.dtype != _F32 or a_t.dtype != _F32 or b.dtype != _F32 or a_t.ndim != 2 or b.ndim != 2):
        return False
    (k, m), n = a_t.shape, b.shape[1]
    c_flags = c.flags
    if (c.shape != (m, n) or b.shape[0] != k or not c_flags.c_contiguous or not c_flags.writeable
            or a_t.size >= _MAX or b.size >= _MAX or c.size >= _MAX):
        return False
    if not c.size:
        return True
    if not k:  # a sum over no samples: only the scaling
        if beta != 1.0:
            c *= _F32.type(beta)
        return True
    # Row-major op(A) (m x k) is a_t transposed, so a_t is presented with its flag flipped.
    a_op, lda = _layout(a_t.flags, k, m, flip=True)
    b_op, ldb = _layout(b.flags, k, n)
    if a_op is None or b_op is None:
        return False
    fn(_ROW_MAJOR, a_op, b_op, m, n, k, float(alpha), _address(a_t), lda, _address(b), ldb, float(beta), _address(c), n)
    return True


def _layout(flags, rows, cols, flip=False):
    """(transpose flag, leading dimension) presenting a (rows x cols) array with these flags to
    row-major BLAS without a copy (``flip``: as its transpose), or (None, None)."""
    if flags.c_contiguous:
        return (_TRANS if flip else _NO_TRANS), cols
    if flags.f_contiguous:
        return (_NO_TRANS if flip else _TRANS), rows
    return None, None


def _first(cache, load):
    cache.append(load())
    return cache[0]


def _address(a):
    """The address of a non-empty array's first element: through the buffer protocol where that
    serves (C-contiguous, writeable; the quicker one) else ``a.ctypes.data``."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data
