"""Row-parallel time loops for the recurrent ops on NumPy.

The batch rows of a recurrent time loop never meet: row n's state at step t depends only on
row n's inputs and states. So with more than one thread allowed, each thread runs the WHOLE
time loop (forward or backward) on its own block of rows, and the threads never wait for
each other inside the loop. Each step's GEMM and NumPy's elementwise gate math (the tanh
passes are half of a forward step) release the GIL, so the blocks run in parallel, each
GEMM single-threaded: the BLAS pool is set to one thread while the blocks run, then restored.
The GEMMs before and after the loops are split over the same threads (``run``), because
OpenBLAS's worker threads busy-wait for ~0.1 s after every threaded call: one threaded GEMM
right before a row-parallel loop leaves a worker spinning on a core the loop needs (it nearly
doubled an LSTM's forward pass). So a model whose other layers run threaded GEMMs
(large Dense layers) gains less, and can lose; ``threadpool_limits(1)`` turns this off.

The figures are in benchmarks/RESULTS.md ("Measurements behind the code"). Results agree with one block to float
rounding (the BLAS may round a 64-row GEMM differently from a 128-row one, as it rounds one
thread differently from two).

The thread count is the BLAS pool's size (``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``,
``threadpoolctl.threadpool_limits``), read through threadpoolctl (a scikit-learn dependency);
where it cannot be read, or on another array module (CuPy), loops run as one block.
"""
import concurrent.futures
import os
import threading

MIN_ROWS = 32  # rows per block below which a block's Python overhead outweighs the parallelism

_lock = threading.Lock()
_state = {"blas": None, "pool": None, "workers": 0, "pid": None, "active": 0, "saved": None, "runs": 0}


def numpy_blas():
    """threadpoolctl's controllers of NumPy's BLAS (all BLAS libraries if none is NumPy's), or []."""
    if _state["blas"] is None:
        try:
            from threadpoolctl import ThreadpoolController

            found = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # threadpoolctl missing or unable to read a library: stay serial
            found = []
        _state["blas"] = [c for c in found if "numpy" in (c.filepath or "")] or found
    return _state["blas"]


def blas_threads():
    """The number of threads NumPy's BLAS may use now (1 where it cannot be read)."""
    libs = numpy_blas()
    try:
        return max(1, min(c.get_num_threads() for c in libs)) if libs else 1
    except Exception:
        return 1


def blocks(n, xp):
    """Row blocks (slices) to split n batch rows into: one per thread, each >= MIN_ROWS rows."""
    if getattr(xp, "__name__", "") != "numpy" or n < 2 * MIN_ROWS:
        return [slice(None)]
    return even(n, min(blas_threads(), n // MIN_ROWS))


def _pool(workers):
    """The worker threads (at least ``workers``); a new pool in a forked child, whose copy has none."""
    with _lock:
        forked = _state["pid"] not in (None, os.getpid())
        if _state["workers"] < workers or forked:
            old = _state["pool"]
            _state["pool"] = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="threestep-rows")
            _state["workers"], _state["pid"] = workers, os.getpid()
            if old is not None and not forked:
                old.shutdown(wait=False)
        return _state["pool"]


def parallel_runs():
    """How many row-parallel runs this process has made: the optimizers look at whether a training
    step made any (``accel.blas``: a threaded BLAS call right before such a loop slows it down)."""
    return _state["runs"]


def _enter():
    """Set the BLAS pool to one thread while any row-parallel loop runs (the first one saves the sizes)."""
    with _lock:
        _state["runs"] += 1
        if _state["active"] == 0:
            _state["saved"] = [c.get_num_threads() for c in numpy_blas()]
            for c in numpy_blas():
                c.set_num_threads(1)
        _state["active"] += 1


def _exit():
    with _lock:
        _state["active"] -= 1
        if _state["active"] == 0:
            for c, n in zip(numpy_blas(), _state["saved"]):
                c.set_num_threads(n)


def even(n, parts):
    """``parts`` slices of about equal size covering range(n) ([slice(None)] for one part)."""
    if parts <= 1:
        return [slice(None)]
    edges = [n * j // parts for j in range(parts + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def run(fn, parts):
    """Call ``fn(part)`` for every slice in ``parts``: in parallel with the BLAS pool at one thread
    when there are several (this thread runs the first), else once. Re-raises a part's error."""
    if len(parts) == 1:
        fn(parts[0])
        return
    pool = _pool(len(parts) - 1)
    _enter()
    try:
        futures = [pool.submit(fn, part) for part in parts[1:]]
        try:
            fn(parts[0])
        finally:
            concurrent.futures.wait(futures)
        for f in futures:
            f.result()
    finally:
        _exit()

