"""``predict`` in row blocks over several threads (``models.row_blocks``): the same outputs as one
block, rows in order, and never a split where a layer may compute across the batch."""
import threading

import numpy as np
import pytest

import threestep.accel.threads as threads
from threestep import layers as L
from threestep.autograd import Config, no_grad
from threestep.models import Model, Sequential, row_blocks
from threestep.layers import Input
from helpers import numpy_only

pytestmark = numpy_only("predict splits batches into row blocks on the CPU only; on a GPU a batch is one block")


@pytest.fixture
def two_cores(monkeypatch):
    """Two BLAS threads and two CPUs, whatever the machine running the tests has."""
    monkeypatch.setattr(threads, "blas_threads", lambda: 2)
    monkeypatch.setattr(threads, "cpus_available", lambda: 2)
    monkeypatch.setitem(threads._state, "threaded_at", None)  # no threaded BLAS call just before


@pytest.fixture
def record_threads(monkeypatch):
    """The names of the threads that ran a forward pass of any model, recorded by a spy. The first
    two passes each wait (up to 10 s) until the other has started: where blocks are taken by
    whichever thread is free (``row_blocks.forward_batches``), a fast first thread could
    otherwise take them all before the second one starts."""
    seen = set()
    real = row_blocks._outputs  # one block's forward pass, planned or not
    meet, calls = threading.Barrier(2, timeout=10), []

    def spy(model, x):
        seen.add(threading.current_thread().name)
        calls.append(1)
        if len(calls) <= 2:
            try:
                meet.wait()
            except threading.BrokenBarrierError:  # no second thread came: the test's assertion says so
                pass
        return real(model, x)
    monkeypatch.setattr(row_blocks, "_outputs", spy)
    return seen


def _one_block(model, x):
    with no_grad():
        return model.forward(row_blocks.to_tensors(x), training=False).data


def _cnn():
    model = Sequential([L.Conv2D(6, 3, input_shape=(12, 12, 1), activation="relu"), L.MaxPooling2D(2),
                        L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


def test_blocks_over_two_threads_give_the_rows_of_one_block(two_cores, record_threads, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 12, 12, 1)).astype(np.float32)
    model = _cnn()
    expected = _one_block(model, x[:150])
    monkeypatch.setattr(row_blocks, "BLOCK_BYTES", 1)  # MIN_ROWS rows per block: many blocks, a short last one
    got = model.predict(x, batch_size=150)
    assert got.shape == (150, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert len(record_threads) == 2  # the blocks did run on two threads
    got = model.predict(x, batch_size=64)  # batches of 64, 64 and 22 rows (the last one unsplit)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_recurrent_and_several_inputs_and_outputs(two_cores, record_threads):
    rng = np.random.default_rng(1)
    seq, side = Input((7, 5)), Input((3,))
    h = L.LSTM(16)(seq)
    joined = L.Concatenate()([h, L.Dense(4)(side)])
    model = Model([seq, side], [L.Dense(2)(joined), L.Dense(3, activation="softmax")(joined)])
    xs = [rng.standard_normal((96, 7, 5)).astype(np.float32), rng.standard_normal((96, 3)).astype(np.float32)]
    assert len(row_blocks.plan(model, 96)[0]) == 2
    with no_grad():
        expected = [o.data for o in model.forward(row_blocks.to_tensors(xs), training=False)]
    got = model.predict(xs, batch_size=96)
    assert len(got) == 2 and len(record_threads) == 2
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_layer_that_reads_the_whole_batch_is_never_split(two_cores, monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    monkeypatch.setattr(row_blocks, "MIN_BLOCK_REUSE", 0)
    monkeypatch.setattr(row_blocks, "BLOCK_BYTES", 1)

    def centre(t):  # each row minus the batch mean: depends on every row of the batch
        return t - t.mean(axis=0, keepdims=True)

    lam = Sequential([L.Dense(3, input_dim=4), L.Lambda(centre)])
    z = x @ lam.layers[0].kernel.data + lam.layers[0].bias.data
    np.testing.assert_allclose(lam.predict(x, batch_size=128), z - z.mean(axis=0), rtol=1e-5, atol=1e-5)

    class Centre(L.Layer):  # a user's layer class: threestep cannot know what it computes
        def call(self, t):
            return t - t.mean(axis=0, keepdims=True)

    custom = Sequential([L.Dense(3, input_dim=4), Centre()])
    z = x @ custom.layers[0].kernel.data + custom.layers[0].bias.data
    np.testing.assert_allclose(custom.predict(x, batch_size=128), z - z.mean(axis=0), rtol=1e-5, atol=1e-5)

    stateful = Sequential([L.SimpleRNN(3, stateful=True, batch_input_shape=(128, 2, 4))])
    assert row_blocks.plan(stateful, 128) == ([slice(None)], 1)


def test_a_small_dense_batch_stays_one_gemm(two_cores):
    """A Dense stack uses each weight once per row: two threads would each pack every weight
    matrix, so a 100-row batch runs as one GEMM over the BLAS threads."""
    mlp = Sequential([L.Dense(500, input_dim=784, activation="relu"), L.Dense(10)])
    assert row_blocks.plan(mlp, 100) == ([slice(None)], 1)
    blocks, workers = row_blocks.plan(mlp, 1000)
    assert workers == 2 and blocks == [slice(0, 500), slice(500, 1000)]
    assert row_blocks.plan(_cnn(), 100)[1] == 2  # a convolution reuses its kernel at every position


def test_run_carries_the_callers_context_into_its_threads(two_cores):
    seen = {}

    def part(i):
        seen[i] = Config.enable_grad
    with no_grad():
        threads.run(part, [0, 1])
    assert seen == {0: False, 1: False}


def test_a_dense_stack_runs_unsplit_while_the_blas_workers_spin(two_cores, monkeypatch):
    """Right after threaded BLAS calls (a fit epoch, a batch-100 predict) OpenBLAS's workers
    busy-wait on the cores for ~0.1 s: a Dense stack then runs on the BLAS threads instead of
    row blocks beside them; a convolution, whose blocks gain far more, still splits."""
    mlp = Sequential([L.Dense(64, activation="relu", input_shape=(20,)), L.Dense(3)])
    assert row_blocks.plan(mlp, 1000)[1] == 2
    threads.note_threaded_blas()
    assert threads.blas_spinning()
    assert row_blocks.plan(mlp, 1000) == ([slice(None)], 1)
    assert row_blocks.plan(_cnn(), 100)[1] == 2
    now = [threads.time.perf_counter() + threads.BLAS_SPIN_SECONDS + 0.01]
    monkeypatch.setattr(threads.time, "perf_counter", lambda: now[0])
    assert not threads.blas_spinning() and row_blocks.plan(mlp, 1000)[1] == 2


def test_a_governor_leaving_a_threaded_loop_marks_the_blas_as_spinning(monkeypatch):
    monkeypatch.setitem(threads._state, "threaded_at", None)
    counts = []
    with threads.Governor(limit=1, set_threads=counts.append):
        pass
    assert not threads.blas_spinning()
    from threestep.accel import switches

    monkeypatch.setattr(switches, "ADAPTIVE_THREADS", True)
    with threads.Governor(limit=2, set_threads=counts.append) as gov:
        gov._set_threads(2)
    assert threads.blas_spinning()


def test_outputs_never_allocated_do_not_shrink_the_blocks(two_cores):
    """A convolution pooled in one pass (or a merged ReLU) allocates no output: blocks are sized
    by the outputs that exist, so the lecture CNN at batch 1000 runs as one block per thread."""
    cnn = Sequential([L.Conv2D(25, 3, input_shape=(28, 28, 1)), L.Activation("relu"), L.MaxPooling2D(2),
                      L.Conv2D(50, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(10)])
    cnn.build((None, 28, 28, 1))
    blocks, workers = row_blocks.plan(cnn, 1000)
    assert workers == 2 and len(blocks) == 2
    observed = Sequential([L.Conv2D(25, 3, input_shape=(28, 28, 1), activation="relu"), L.Flatten(), L.Dense(10)])
    observed.build((None, 28, 28, 1))  # the convolution's whole output exists: 68 kB a row
    blocks, workers = row_blocks.plan(observed, 1000)
    assert workers == 2 and len(blocks) > 2 and max(b.stop - b.start for b in blocks) * 68e3 <= row_blocks.BLOCK_BYTES
