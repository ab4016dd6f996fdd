"""Helper threads for ``threads.run`` that wait for their next part hot, for a moment, before
they sleep.

Why: ``run`` hands each part but the first to a helper thread, and a helper that slept since
its last part must be woken on another core. On a 2-core VM that wake-up took ~0.15-0.2 ms
and the woken core then ran its part slower for a while: an LSTM(128)'s two 64-row blocks took
3.05-3.13 ms side by side in a loop, but 3.88 ms per batch through a sleeping pool
(benchmarks/RESULTS.md). So after a part a helper waits up to ``SPIN_ROUNDS`` rounds of
``sched_yield`` (about a millisecond) inside a ``nogil`` Numba loop watching its request flag,
and only then sleeps on a semaphore; the caller likewise waits for a helper's result hot for a
moment before it sleeps. Yielding each round leaves the core to any other runnable thread
(a neighbour process), and a millisecond bounds what waiting costs when none comes.

Flags live in one int64 array: request and done counters per helper. Each hand-off has a
lock-guarded slow path (a ``sleeping``/``waiting`` mark and a semaphore), so no wake-up is
lost whichever side gets there first. Only one ``run`` uses the crew at a time; another (from a
second user thread, or nested) takes the thread-pool path. Without Numba or ``sched_yield``
there is no crew and ``run`` uses its thread pool.
"""
import contextvars
import ctypes
import os
import threading

import numpy as np

SPIN_ROUNDS = 3000  # sched_yield rounds a side waits hot (~0.3-0.5 us each) before it sleeps

_crew = {"crew": None, "pid": None, "spin": None, "yield": None}
_lock = threading.Lock()


def spinner():
    """(spin, sched_yield pointer): ``spin(yield_, flags, i, target, rounds)`` returns whether
    flags[i] reached ``target`` within ``rounds`` yields; None where it cannot be built."""
    if _crew["spin"] is None:
        found = (None, None)
        try:
            from . import kernels  # noqa: PLC0415

            if kernels.available():
                from ._numba_kernels import spin_until  # noqa: PLC0415

                libc = ctypes.CDLL(None)
                found = (spin_until, ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.cast(libc.sched_yield,
                                                                                ctypes.c_void_p).value))
        except (OSError, AttributeError, ImportError):
            pass
        _crew["spin"], _crew["yield"] = found
    return None if _crew["spin"] is None else (_crew["spin"], _crew["yield"])


class _Helper:
    def __init__(self, crew, k):
        self.crew, self.k = crew, k
        self.lock = threading.Lock()
        self.wake, self.finished = threading.Semaphore(0), threading.Semaphore(0)
        self.sleeping = self.waiting = False
        self.seq = 0
        self.job = self.error = None
        threading.Thread(target=self._loop, name=f"threestep-crew-{k}", daemon=True).start()

    def _loop(self):
        flags, spin, yield_ = self.crew.flags, *self.crew.spinner
        seq = 0
        while True:
            seq += 1
            if not spin(yield_, flags, 2 * self.k, seq, SPIN_ROUNDS):
                with self.lock:
                    self.sleeping = flags[2 * self.k] != seq
                if self.sleeping:
                    self.wake.acquire()
            ctx, fn, part = self.job
            try:
                ctx.run(fn, part)
            except BaseException as error:  # noqa: BLE001  (re-raised in the caller's thread)
                self.error = error
            with self.lock:
                flags[2 * self.k + 1] = seq
                if self.waiting:
                    self.waiting = False
                    self.finished.release()

    def submit(self, fn, part):
        self.job, self.error = (contextvars.copy_context(), fn, part), None
        self.seq += 1
        with self.lock:
            self.crew.flags[2 * self.k] = self.seq
            if self.sleeping:
                self.sleeping = False
                self.wake.release()

    def result(self):
        flags, (spin, yield_) = self.crew.flags, self.crew.spinner
        if not spin(yield_, flags, 2 * self.k + 1, self.seq, SPIN_ROUNDS):
            with self.lock:
                self.waiting = flags[2 * self.k + 1] != self.seq
            if self.waiting:
                self.finished.acquire()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class _Crew:
    def __init__(self, helpers, spinner):
        self.spinner = spinner
        self.flags = np.zeros(2 * helpers, np.int64)
        self.busy = threading.Lock()
        self.helpers = [_Helper(self, k) for k in range(helpers)]


def crew(helpers):
    """The process's crew of at least ``helpers`` helper threads, or None (no Numba, no
    ``sched_yield``). A forked child makes its own (its copy of the threads is gone)."""
    waits = spinner()
    if waits is None:
        return None
    with _lock:
        have = _crew["crew"]
        if have is None or len(have.helpers) < helpers or _crew["pid"] != os.getpid():
            # a larger crew replaces a smaller one, which stays marked busy (its threads sleep)
            if have is not None and _crew["pid"] == os.getpid() and not have.busy.acquire(blocking=False):
                return None  # in use: the caller takes the pool this once
            _crew["crew"], _crew["pid"] = _Crew(helpers, waits), os.getpid()
        return _crew["crew"]


def run(fn, parts):
    """``fn(part)`` for every part, the first in this thread and each other in a helper; returns
    False without running anything where the crew is busy or missing (the caller then runs them
    its own way). Re-raises a part's error after all have ended."""
    team = crew(len(parts) - 1)
    if team is None or not team.busy.acquire(blocking=False):
        return False
    try:
        used = team.helpers[:len(parts) - 1]
        for helper, part in zip(used, parts[1:]):
            helper.submit(fn, part)
        try:
            fn(parts[0])
        finally:
            errors = []
            for helper in used:
                try:
                    helper.result()
                except BaseException as error:  # noqa: BLE001
                    errors.append(error)
        if errors:
            raise errors[0]
    finally:
        team.busy.release()
    return True
