"""NumPy's OpenBLAS workers busy-wait for ~0.1 s after a threaded call; a block that runs its own
threads with the BLAS at one thread (``threads.one_blas_thread``: ``predict``'s batches side by
side) stops them first, so its threads have the cores to themselves -- but only as the process's
one Python thread besides threestep's compute helpers: stopping them under a threaded call of
another thread can hang both.

The checks that need no other thread alive run in a fresh interpreter (a test runner keeps
threads of its own)."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from threestep.accel import blas, threads

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task") or blas._library() is None,
                                reason="needs Linux's /proc (the threads are counted there) and NumPy's own OpenBLAS")

_HEAD = """
import os, numpy as np
from threadpoolctl import threadpool_limits
from threestep.accel import threads

def tasks():
    return set(os.listdir("/proc/self/task"))

def threaded_matmul(rng):
    a = rng.standard_normal((400, 400)).astype(np.float32)
    out = a @ a  # 400^3 runs on both BLAS threads: their worker busy-waits after it
    threads.note_threaded_blas()
    return a, out
"""


def _run(body, timeout=120):
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _HEAD + textwrap.dedent(body)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_one_thread_block_right_after_a_threaded_call_stops_the_blas_workers():
    _run("""
        rng = np.random.default_rng(0)
        with threadpool_limits(2, user_api="blas"):
            a, expected = threaded_matmul(rng)
            before = tasks()
            with threads.one_blas_thread():
                inside = tasks()
                # one thread, the same product up to float32 rounding: on some CPUs OpenBLAS splits the
                # sums differently at one thread than at two (entries ~20, differences ~4e-5)
                np.testing.assert_allclose(a @ a, expected, rtol=1e-5, atol=1e-3)
            assert before - inside, "OpenBLAS's worker thread still runs inside the block"
            # OpenBLAS starts its workers again: threaded calls after the block give the same result
            np.testing.assert_allclose(a @ a, expected, rtol=1e-5, atol=1e-3)
            assert threads.blas_spinning()  # the restarted workers busy-wait: the next block stops them too
            assert threads.blas_threads() == 2
    """)


def test_no_stop_while_another_python_thread_is_alive():
    """Here (a test runner's process) and wherever a user's thread, a notebook kernel's or a
    prefetch thread lives: any of them could be inside a threaded BLAS call."""
    rng = np.random.default_rng(1)
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="a-users-thread")
    other.start()
    try:
        with threadpool_limits(2, user_api="blas"):
            a = rng.standard_normal((400, 400)).astype(np.float32)
            expected = a @ a
            threads.note_threaded_blas()
            before = set(os.listdir("/proc/self/task"))
            with threads.one_blas_thread():
                inside = set(os.listdir("/proc/self/task"))
            assert not before - inside
            np.testing.assert_allclose(a @ a, expected, rtol=1e-5, atol=1e-3)
    finally:
        release.set()
        other.join()


@pytest.mark.slow
def test_fit_and_predict_beside_a_thread_multiplying_matrices_finish():
    """The hang the rule prevents: a thread running threaded matrix products in a loop beside
    fit -> predict cycles (each predict's block right after fit's threaded GEMMs). With the workers
    stopped under the other thread's call this hung within 40 s; every cycle must finish."""
    out = _run("""
        import threading, time
        from threestep import keras
        rng = np.random.default_rng(2)
        x = rng.standard_normal((2000, 784)).astype(np.float32)
        y = rng.integers(0, 10, 2000)
        model = keras.Sequential([keras.layers.Dense(500, activation="relu", input_dim=784),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        stop = threading.Event()
        def products():
            a = rng.standard_normal((300, 300)).astype(np.float32)
            while not stop.is_set():
                a @ a
        worker = threading.Thread(target=products)
        worker.start()
        cycles, start = 0, time.perf_counter()
        with threadpool_limits(2, user_api="blas"):
            while time.perf_counter() - start < 20:
                model.fit(x, y, batch_size=100, epochs=1, verbose=0)
                model.predict(x, batch_size=100)
                cycles += 1
        stop.set()
        worker.join()
        print(cycles)
    """, timeout=100)
    assert int(out.split()[-1]) > 10


def test_predict_right_after_fit_gives_what_a_later_predict_gives():
    _run("""
        from threestep.layers import Dense
        from threestep.models import Sequential
        rng = np.random.default_rng(2)
        x = rng.standard_normal((1200, 300)).astype(np.float32)
        y = rng.integers(0, 4, 1200)
        model = Sequential([Dense(400, activation="relu", input_shape=(300,)), Dense(4, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        with threadpool_limits(2, user_api="blas"):
            model.fit(x, y, batch_size=200, epochs=1, verbose=0)
            first = model.predict(x, batch_size=100)
            again = model.predict(x, batch_size=100)
            model.fit(x, y, batch_size=200, epochs=1, verbose=0)  # threaded GEMMs work after the stop
            third = model.predict(x, batch_size=100)
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(third, first)
        assert np.isfinite(third).all()
    """)
