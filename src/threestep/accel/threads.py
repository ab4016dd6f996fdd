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
import contextvars
import os
import threading
import time

from . import crew

MIN_ROWS = 32  # rows per block below which a block's Python overhead outweighs the parallelism
# How long OpenBLAS's worker threads busy-wait after a threaded call before they sleep: 2**28
# TSC cycles, measured ~0.12 s here (benchmarks/RESULTS.md), with a margin.
BLAS_SPIN_SECONDS = 0.25

_lock = threading.Lock()
_local = threading.local()  # rows: the threads this thread's blocks() splits over inside one_blas_thread(rows=n)
_state = {"blas": None, "pool": None, "workers": 0, "pid": None, "active": 0, "saved": None, "runs": 0,
          "splittable": 0}


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


def note_threaded_blas():
    """Record that NumPy's BLAS ran threaded just now (a ``fit`` epoch, an unsplit ``predict``)."""
    _state["threaded_at"] = time.perf_counter()


def blas_spinning():
    """Whether NumPy's BLAS workers may still be busy-waiting from a threaded call of this
    process (``note_threaded_blas`` less than ``BLAS_SPIN_SECONDS`` ago): threads started now
    would share their cores with them."""
    at = _state.get("threaded_at")
    return at is not None and time.perf_counter() - at < BLAS_SPIN_SECONDS


def blas_threads():
    """The number of threads NumPy's BLAS may use now (1 where it cannot be read)."""
    libs = numpy_blas()
    try:
        return max(1, min(c.get_num_threads() for c in libs)) if libs else 1
    except Exception:
        return 1


def blocks(n, xp):
    """Row blocks (slices) to split n batch rows into: one per thread, each >= MIN_ROWS rows. The
    threads are the BLAS pool's size, or inside ``one_blas_thread(rows=k)`` (a training step of a
    model whose layers split their rows) k on the thread that entered it."""
    if getattr(xp, "__name__", "") != "numpy" or n < 2 * MIN_ROWS:
        return [slice(None)]
    _state["splittable"] += 1
    return even(n, min(getattr(_local, "rows", None) or blas_threads(), n // MIN_ROWS))


def splittable_asks():
    """How many times a layer has asked ``blocks`` for row blocks it could run side by side, even
    where the BLAS's size gave it one: ``fit`` learns from it, in a step at any thread count,
    that the model's steps split their rows (``one_blas_thread(rows=k)``)."""
    return _state["splittable"]


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


_HELPERS = ("threestep-rows", "threestep-crew")  # threestep's own compute threads (idle between blocks)


def _others_alive():
    """Whether a Python thread other than this one and threestep's idle compute helpers is alive
    (a user's thread, a notebook kernel's, a data-prefetch thread running a user's Sequence): it
    may be inside a threaded BLAS call at any moment."""
    me = threading.current_thread()
    return any(t is not me and not t.name.startswith(_HELPERS) for t in threading.enumerate())


class one_blas_thread:
    """``with one_blas_thread():`` the BLAS pool at one thread for the whole block (restored after),
    so that many ``run`` calls inside (a ``predict`` loop's batches) do not each resize it: resizing
    parks and wakes the BLAS threads, which costs more than a small batch's work.

    ``rows=k``: a training step of a model whose layers split their rows or images over threads
    (``run``): ``blocks`` on this thread splits over k threads inside, while every GEMM outside
    those blocks (a CNN's dense head, the optimizer's updates) runs on one BLAS thread. Else
    those GEMMs split over OpenBLAS's threads, which then busy-wait beside the blocks' threads:
    a lecture CNN's step at two threads ran no faster than at one (benchmarks/RESULTS.md).

    Where NumPy's BLAS workers may still busy-wait from a threaded call (``blas_spinning``: right
    after ``fit``), they are stopped once the pool is at one thread (``blas.stop_workers``), so
    the block's threads have the cores to themselves. Restoring the pool's size starts them
    again, busy-waiting for a while: that is noted for the next block. Only while this is the
    process's one Python thread besides threestep's compute helpers: stopping the workers under a
    threaded call another thread has running can leave both waiting for ever (measured: a thread
    multiplying matrices in a loop beside ``fit`` / ``predict`` cycles hung the process)."""

    def __init__(self, rows=None):
        self.rows = rows

    def __enter__(self):
        from . import blas  # noqa: PLC0415  (blas imports this module)

        _enter()
        self.stopped = False
        # (not for a training step: OpenBLAS restarts stopped workers when the pool's size is
        # restored after it, and stopping them before every step would cost more than they do)
        if self.rows is None and blas_spinning() and not _others_alive():
            with _lock:  # the first of nested blocks only
                self.stopped = _state["active"] == 1 and blas.stop_workers()
        self.saved_rows = getattr(_local, "rows", None)
        _local.rows = self.rows
        return self

    def __exit__(self, *exc):
        _local.rows = self.saved_rows
        _exit()
        if self.stopped:
            note_threaded_blas()
        return False

    def tick(self, rows=1):  # the Governor's interface: nothing to measure here
        pass


def even(n, parts):
    """``parts`` slices of about equal size covering range(n) ([slice(None)] for one part)."""
    if parts <= 1:
        return [slice(None)]
    edges = [n * j // parts for j in range(parts + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def run(fn, parts):
    """Call ``fn(part)`` for every slice in ``parts``: in parallel with the BLAS pool at one thread
    when there are several (this thread runs the first), else once. Re-raises a part's error.
    Each part runs in a copy of the caller's ``contextvars`` context (``no_grad``, test mode)."""
    if len(parts) == 1:
        fn(parts[0])
        return
    _enter()
    rows, _local.rows = getattr(_local, "rows", None), None  # a part that asks for blocks gets one
    try:
        if crew.run(fn, parts):  # helpers that wait hot between parts (accel.crew)
            return
        pool = _pool(len(parts) - 1)
        futures = [pool.submit(contextvars.copy_context().run, fn, part) for part in parts[1:]]
        try:
            fn(parts[0])
        finally:
            concurrent.futures.wait(futures)
        for f in futures:
            f.result()
    finally:
        _local.rows = rows
        _exit()



def cpus_available():
    """The CPUs this process may run on (its affinity mask where the OS tells it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Governor:
    """Picks the BLAS thread count step by step, by timing the steps, so that a process sharing
    its cores with busy neighbours does not split every GEMM over threads the neighbours hold.

    A GEMM split over two threads ends when its slower half ends; when another process holds one
    of the cores, that half waits for the scheduler, and the thread that finished first spins
    waiting for it. One thread is then faster than two. Which is faster depends on what else runs
    now, so the governor measures: it tries each candidate count for a few steps, keeps the
    fastest for a while, and measures again (sooner when a step suddenly takes much longer,
    as when a neighbour starts). The counts tried never exceed the BLAS pool's size when the
    loop starts (``OMP_NUM_THREADS``, ``threadpoolctl.threadpool_limits``) nor the CPUs this
    process may run on, and the pool's size is restored at the end. The recurrent layers'
    row-parallel loops follow the count (``blocks``).

    ``clock`` and ``set_threads`` are for tests; by default ``time.perf_counter`` and NumPy's BLAS.

        >>> gov = Governor()            # doctest: +SKIP
        >>> with gov:
        ...     for batch in batches:
        ...         step(batch)
        ...         gov.tick(len(batch))
    """

    PROBE = 3  # steps timed per candidate (after one step to settle)
    FIRST_PERIOD, MAX_PERIOD = 24, 768  # steps the winner runs before the next measurement
    SLOWER = 1.6  # a step this much slower than the winner's measured time triggers a new measurement
    BUDGET = 0.05  # measuring may cost at most this share of the time the winner runs until the next
    HOPELESS = 1.5  # a probed count this much slower than the fastest known is dropped at once
    SETTLING = 2.5  # ... or, on the step right after the switch (which also pays for it), this much

    def __init__(self, limit=None, clock=None, set_threads=None):
        import time

        self._clock = clock or time.perf_counter
        self._set = set_threads
        self._limit = limit
        self.active = False
        self.period = self.FIRST_PERIOD
        self.best = None
        self._probing = False
        self._ref = None  # the winner's time per row when it was last measured
        self._paused_at = None  # when the last loop left (None while none has: a second thread's entry)

    def _set_threads(self, n):
        if self._set is not None:
            self._set(n)
        else:
            for c in numpy_blas():
                c.set_num_threads(n)
        self.current = n

    def __enter__(self):
        from . import switches

        if self._limit is not None:
            limit, self._saved = self._limit, None
        else:
            libs = numpy_blas()
            limit = min(blas_threads(), cpus_available()) if libs else 1
            self._saved = [c.get_num_threads() for c in libs] if libs else None
        self.active = bool(switches.ADAPTIVE_THREADS) and limit > 1
        if self.active:
            # fewest threads first: next to a busy neighbour the many-thread steps are the slow
            # ones, and with a fewer-thread time known the first of them is dropped as hopeless
            candidates = sorted({limit, max(1, limit // 2), 1})
            self._last = self._clock()
            if candidates != getattr(self, "candidates", None):
                self.candidates, self.best, self._ref = candidates, None, None
                self.period = self.FIRST_PERIOD
                self._start_probe()
            elif self._probing:  # a measurement the last loop left unfinished (a short predict) goes on
                if self._paused_at is not None:  # the time between loops is not its cost
                    self._probe_start += self._last - self._paused_at
                self._skip = 1  # the step after entering pays for the switch; earlier samples stand
                self._set_threads(self._candidate)
            else:  # a later loop (the next epoch's fit, the next predict): the winner goes on
                self._set_threads(self.best)
        return self

    def __exit__(self, *exc):
        self._paused_at = self._clock()
        if (getattr(self, "current", 1) > 1 if self.active else self._limit is None and blas_threads() > 1):
            note_threaded_blas()  # its workers spin on for a while (row_blocks.plan looks)
        if self.active and self._saved is not None:
            for c, n in zip(numpy_blas(), self._saved):
                c.set_num_threads(n)
        self.active = False
        return False

    def _start_probe(self, keep=None):
        # the candidates in turn, the current winner last so that exploiting it needs no switch
        order = [c for c in self.candidates if c != keep] + ([keep] if keep is not None else [])
        self._queue = order
        self._times = {}
        self._probing = True
        self._probe_start, self._probe_rows, self._probe_steps = self._last, 0, 0
        self._next_candidate()

    def _next_candidate(self):
        self._candidate = self._queue.pop(0)
        self._samples = []
        self._skip = 1  # the first step after a switch wakes or parks BLAS threads
        self._set_threads(self._candidate)

    def tick(self, rows=1):
        """Call after each step, with the rows (samples) it processed."""
        if not self.active:
            return
        now = self._clock()
        per_row = (now - self._last) / max(rows, 1)
        self._last = now
        if self._probing:
            self._probe_rows += rows
            self._probe_steps += 1
            # a candidate far slower than the fastest known is dropped after one step: when a
            # neighbour holds a core, a split GEMM can take several times as long, and every
            # probing step at that count costs as much
            ref = min(self._times.values(), default=self._ref)
            # the step after a switch pays for it (waking or parking threads; at a count first
            # tried, starting its helper threads): a CNN's first two-thread step took 1.45x a
            # one-thread step and its later ones 0.73x
            hopeless = ref is not None and per_row > (self.SETTLING if self._skip else self.HOPELESS) * ref
            if self._skip and not hopeless:
                self._skip -= 1
                return
            self._samples.append(per_row)
            if len(self._samples) < self.PROBE and not hopeless:
                return
            self._times[self._candidate] = sorted(self._samples)[len(self._samples) // 2]
            if self._queue:
                self._next_candidate()
                return
            winner = min(self._times, key=self._times.get)
            self.period = self.period * 2 if winner == self.best else self.FIRST_PERIOD
            # what this measurement cost beyond running the winner throughout, in winner's steps:
            # next to a busy neighbour one step on both cores can take as long as 30 on one, so
            # the next measurement waits until that cost is BUDGET of the time in between
            ref = self._times[winner]
            extra = (now - self._probe_start) - ref * self._probe_rows
            step = ref * self._probe_rows / max(self._probe_steps, 1)
            if step > 0 and extra > 0:
                self.period = max(self.period, int(extra / step / self.BUDGET))
            self.period = min(self.period, self.MAX_PERIOD)
            self.best, self._probing, self._left = winner, False, self.period
            self._ref = self._times[winner]
            self._slow = 0
            if winner != self._candidate:
                self._set_threads(winner)
            return
        self._left -= 1
        # slower steps call for a new measurement only where fewer threads could help
        slow = per_row > self.SLOWER * self._ref and self.best > min(self.candidates)
        self._slow = self._slow + 1 if slow else 0
        if self._left <= 0 or self._slow >= 3:
            if self._slow >= 3:
                self.period = self.FIRST_PERIOD
            self._start_probe(self.best)
