"""NumPy's OpenBLAS workers busy-wait for ~0.1 s after a threaded call; a block that runs its own
threads with the BLAS at one thread (``threads.one_blas_thread``: ``predict``'s batches side by
side) stops them first, so its threads have the cores to themselves, unless another thread may
be inside a threaded call (a governor's loop such as ``fit``, or a ``blas_calls`` loop)."""
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from threestep.accel import blas, threads

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task") or blas._library() is None,
                                reason="needs Linux's /proc (the threads are counted there) and NumPy's own OpenBLAS")


def _threads():
    return set(os.listdir("/proc/self/task"))


def _threaded_matmul(rng):
    a = rng.standard_normal((400, 400)).astype(np.float32)
    out = a @ a  # 400^3 runs on both BLAS threads: their worker busy-waits after it
    threads.note_threaded_blas()
    return a, out


def test_a_one_thread_block_right_after_a_threaded_call_stops_the_blas_workers():
    rng = np.random.default_rng(0)
    with threadpool_limits(2, user_api="blas"):
        a, expected = _threaded_matmul(rng)
        before = _threads()
        with threads.one_blas_thread():
            inside = _threads()
            np.testing.assert_allclose(a @ a, expected, rtol=1e-6)  # one thread, the same product
        assert before - inside, "OpenBLAS's worker thread still runs inside the block"
        # OpenBLAS starts its workers again: threaded calls after the block still give the same result
        np.testing.assert_allclose(a @ a, expected, rtol=1e-6)
        assert threads.blas_spinning()  # the restarted workers busy-wait: the next block stops them too
        assert threads.blas_threads() == 2


@pytest.mark.parametrize("loop", ["governor", "blas_calls"])
def test_no_stop_while_a_loop_may_run_threaded_calls(loop):
    """Not inside a governor's loop (fit, predict in turn) nor a ``blas_calls`` loop (evaluate's
    batches in turn, train_on_batch), which may be inside a threaded call in another thread."""
    rng = np.random.default_rng(1)
    region = threads.Governor(limit=2, set_threads=lambda n: None) if loop == "governor" else threads.blas_calls()
    with threadpool_limits(2, user_api="blas"), region:
        a, expected = _threaded_matmul(rng)
        before = _threads()
        with threads.one_blas_thread():
            inside = _threads()
        assert not before - inside
        np.testing.assert_allclose(a @ a, expected, rtol=1e-6)


def test_predict_right_after_fit_gives_what_a_later_predict_gives():
    from threestep.layers import Dense  # noqa: PLC0415
    from threestep.models import Sequential  # noqa: PLC0415

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

