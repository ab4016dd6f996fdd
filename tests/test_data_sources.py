"""fit / evaluate / predict on data that need not fit in memory: generators, Sequence, memory maps.

Every source must train to exactly the weights that the same batches give from in-memory
arrays; the background prefetch must never hang or leak its thread; a memory-mapped
dataset must train within a batch-buffer budget far below its size.
"""
import threading
import time
import tracemalloc
import traceback
import warnings

import numpy as np
import pytest

from threestep import backend
from threestep.callbacks import Callback, EarlyStopping
from threestep.errors import ConfigError, DataError
from helpers import numpy_only
from threestep.keras.utils import Sequence as KerasSequence
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.models import checks
from threestep.models.prefetch import OrderedPrefetch, StreamPrefetch
from threestep.utils import Sequence

N, D, K, B = 96, 5, 3, 16


@pytest.fixture
def data(rng):
    x = rng.normal(size=(N, D)).astype("float32")
    y = rng.integers(0, K, N)
    return x, y


def make_model(seed=1, d=D):
    backend.set_seed(seed)
    model = Sequential([Dense(8, activation="tanh", input_shape=(d,)), Dense(K, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def assert_same_weights(a, b, atol=0.0):
    for i, (u, v) in enumerate(zip(a.get_weights(), b.get_weights())):
        assert np.allclose(u, v, atol=atol, rtol=0), f"weight {i}: max diff {np.abs(u - v).max()}"


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("threestep-prefetch") or
            t.name.startswith("ThreadPoolExecutor")]


class Batches(Sequence):
    """A Sequence over in-memory arrays that records how it is used."""

    def __init__(self, x, y, batch_size=B, fail_at=None):
        self.x, self.y, self.batch_size, self.fail_at = x, y, batch_size, fail_at
        self.epochs_ended = 0
        self.threads = set()
        self.calls = []

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        self.threads.add(threading.current_thread().name)
        self.calls.append((threading.current_thread().name, i))
        if i == self.fail_at:
            raise KeyError(f"sequence item {i} is broken")
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def endless(x, y, batch_size=B):
    while True:
        for s in range(0, len(x), batch_size):
            yield x[s:s + batch_size], y[s:s + batch_size]


# ---------------------------------------------------------------------- generators
@pytest.mark.parametrize("workers", [0, 1])
def test_generator_trains_like_arrays(data, workers):
    x, y = data
    ref = make_model()
    ref.fit(x, y, batch_size=B, epochs=2, shuffle=False, verbose=0)
    model = make_model()
    hist = model.fit(endless(x, y), steps_per_epoch=N // B, epochs=2, verbose=0, workers=workers)
    assert_same_weights(model, ref)
    assert hist.history["loss"] == pytest.approx(ref.history.history["loss"], rel=1e-6)
    assert not prefetch_threads()


def test_generator_without_steps_is_a_clear_error(data):
    x, y = data
    with pytest.raises(ConfigError, match="steps_per_epoch is required"):
        make_model().fit(endless(x, y), epochs=1, verbose=0)


def test_iterable_with_len_needs_no_steps_and_restarts_each_epoch(data):
    x, y = data
    batches = [(x[s:s + B], y[s:s + B]) for s in range(0, N, B)]
    ref = make_model()
    ref.fit(x, y, batch_size=B, epochs=3, shuffle=False, verbose=0)
    model = make_model()
    model.fit(batches, epochs=3, verbose=0)  # a list of (x, y) tuples is an iterable of batches
    assert_same_weights(model, ref)


def test_generator_with_sample_weights_and_validation_generator(data):
    x, y = data
    w = np.linspace(0.5, 1.5, N).astype("float32")

    def weighted():
        while True:
            for s in range(0, N, B):
                yield x[s:s + B], y[s:s + B], w[s:s + B]

    ref = make_model()
    ref.fit(x, y, sample_weight=w, batch_size=B, epochs=2, shuffle=False, verbose=0, validation_data=(x, y))
    model = make_model()
    hist = model.fit(weighted(), steps_per_epoch=N // B, epochs=2, verbose=0,
                     validation_data=endless(x, y), validation_steps=N // B)
    assert_same_weights(model, ref)
    assert hist.history["val_loss"] == pytest.approx(ref.history.history["val_loss"], rel=1e-5)


def test_generator_that_runs_out_stops_training_with_a_warning(data):
    x, y = data
    finite = ((x[s:s + B], y[s:s + B]) for s in range(0, N, B))  # 6 batches, then done
    with pytest.warns(RuntimeWarning, match="ran out of data after 2 of 4"):
        hist = make_model().fit(finite, steps_per_epoch=4, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 2


def test_generator_yielding_bare_arrays_is_a_clear_error(data):
    x, _ = data
    with pytest.raises(DataError, match=r"tuple \(x, y\)"):
        make_model().fit((x[s:s + B] for s in range(0, N, B)), steps_per_epoch=2, verbose=0)


def test_generator_with_bad_batch_names_the_batch(data):
    x, y = data

    def bad():
        yield x[:B], y[:B]
        yield x[:B, :3], y[:B]

    with pytest.raises(Exception, match="3"):
        make_model().fit(bad(), steps_per_epoch=2, verbose=0)
    assert not prefetch_threads()


# ---------------------------------------------------------------------- prefetch failure and shutdown
@pytest.mark.parametrize("workers", [0, 1])
def test_producer_error_reaches_caller_with_its_traceback(data, workers):
    x, y = data

    def broken_reader():
        for s in range(0, N, B):
            if s == 3 * B:
                raise OSError("disk read failed at batch 3")
            yield x[s:s + B], y[s:s + B]

    start = time.monotonic()
    with pytest.raises(OSError, match="disk read failed") as info:
        make_model().fit(broken_reader(), steps_per_epoch=6, verbose=0, workers=workers)
    assert time.monotonic() - start < 30
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "broken_reader" in frames, frames  # the producer's own frame, not only the re-raise
    assert not prefetch_threads()


def test_sequence_error_in_worker_keeps_type_and_names_the_batch(data):
    x, y = data
    seq = Batches(x, y, fail_at=2)
    with pytest.raises(KeyError, match="sequence item 2 is broken") as info:
        make_model().fit(seq, epochs=1, shuffle=False, verbose=0, workers=2)
    assert any("prefetch worker" in note for note in getattr(info.value, "__notes__", []))
    assert "__getitem__" in [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert not prefetch_threads()


def test_early_stopping_with_endless_generator_stops_the_thread(data):
    x, y = data
    hist = make_model().fit(endless(x, y), steps_per_epoch=3, epochs=50, verbose=0,
                            callbacks=[EarlyStopping(monitor="loss", patience=0, min_delta=10.0)])
    assert len(hist.history["loss"]) == 2
    assert not prefetch_threads()


def test_keyboard_interrupt_stops_the_thread(data):
    x, y = data

    class Interrupt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_model().fit(endless(x, y), steps_per_epoch=5, epochs=2, verbose=0, callbacks=[Interrupt()])
    assert not prefetch_threads()


def test_stream_prefetch_stays_bounded_and_closes():
    produced = []

    def source():
        for i in range(1000):
            produced.append(i)
            yield i

    stream = StreamPrefetch(source(), workers=1, max_queue_size=3)
    assert next(stream) == 0
    time.sleep(0.2)
    assert len(produced) <= 3 + 2, len(produced)  # the queue, plus one in hand, plus one being put
    stream.close()
    assert not prefetch_threads()


def test_ordered_prefetch_keeps_order_with_several_workers():
    def slow_square(i):
        time.sleep(0.002 * (5 - i % 5))
        return i * i

    assert list(OrderedPrefetch(slow_square, range(20), workers=3, max_queue_size=4)) == [i * i for i in range(20)]
    assert list(OrderedPrefetch(slow_square, range(5), workers=0)) == [0, 1, 4, 9, 16]


def test_prefetch_arguments_are_validated(data):
    x, y = data
    with pytest.raises(ConfigError, match="workers"):
        make_model().fit(x, y, workers=-1, verbose=0)
    with pytest.raises(ConfigError, match="max_queue_size"):
        make_model().fit(x, y, max_queue_size=0, verbose=0)
    with pytest.raises(ConfigError, match="use_multiprocessing=True needs"):
        make_model().fit(endless(x, y), steps_per_epoch=2, use_multiprocessing=True, verbose=0)


# ---------------------------------------------------------------------- Sequence
def test_keras_import_path():
    assert KerasSequence is Sequence


def test_sequence_trains_like_arrays_and_calls_on_epoch_end(data):
    x, y = data
    ref = make_model()
    ref.fit(x, y, batch_size=B, epochs=3, shuffle=False, verbose=0)
    seq = Batches(x, y)
    model = make_model()
    model.fit(seq, epochs=3, shuffle=False, verbose=0, workers=1)
    assert_same_weights(model, ref)
    assert seq.epochs_ended == 3
    background = sorted(i for name, i in seq.calls if name != "MainThread")
    assert background == sorted(list(range(len(seq))) * 3)  # every training batch prepared in the background


def test_sequence_shuffles_batch_order_reproducibly(data):
    x, y = data
    a, b = make_model(), make_model()
    a.fit(Batches(x, y), epochs=2, shuffle=True, seed=5, verbose=0)
    b.fit(Batches(x, y), epochs=2, shuffle=True, seed=5, verbose=0)
    assert_same_weights(a, b)
    c = make_model()
    c.fit(Batches(x, y), epochs=2, shuffle=False, verbose=0)
    assert any(not np.array_equal(u, v) for u, v in zip(a.get_weights(), c.get_weights()))


def test_sequence_in_main_thread_with_workers_0(data):
    x, y = data
    seq = Batches(x, y)
    make_model().fit(seq, epochs=1, verbose=0, workers=0)
    assert seq.threads == {"MainThread"}


def test_sequence_with_processes(data):
    x, y = data
    ref = make_model()
    ref.fit(Batches(x, y), epochs=1, shuffle=False, verbose=0, workers=0)
    model = make_model()
    model.fit(Batches(x, y), epochs=1, shuffle=False, verbose=0, workers=2, use_multiprocessing=True)
    assert_same_weights(model, ref)


def test_evaluate_and_predict_take_sequences_and_generators(data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.evaluate(x, y, batch_size=B, verbose=0)
    assert model.evaluate(Batches(x, y), verbose=0) == pytest.approx(expected, rel=1e-6)
    assert model.evaluate(endless(x, y), steps=N // B, verbose=0) == pytest.approx(expected, rel=1e-6)
    probs = model.predict(x)
    assert np.allclose(model.predict(Batches(x, y)), probs, atol=1e-7)
    assert np.allclose(model.predict((x[s:s + B] for s in range(0, N, B)), steps=N // B), probs, atol=1e-7)
    with pytest.raises(ConfigError, match="steps is required"):
        model.evaluate(endless(x, y), verbose=0)


# ---------------------------------------------------------------------- memory-mapped arrays
@pytest.fixture
def on_disk(tmp_path, data):
    x, y = data
    np.save(tmp_path / "x.npy", x.astype("float64"))  # another dtype on disk: cast batch by batch
    np.save(tmp_path / "y.npy", y)
    return np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def test_memmap_is_never_copied_whole(on_disk):
    xm, ym = on_disk
    assert checks.prepare_inputs(xm, "fit", lazy=True) is xm
    assert checks.prepare_targets(ym, len(xm), "fit", lazy=True) is ym
    assert checks.prepare_inputs(xm, "train_on_batch").dtype == np.float32  # one batch: cast as before


@pytest.mark.parametrize("workers", [0, 2])
def test_memmap_training_is_identical_to_in_memory(data, on_disk, workers):
    x, y = data
    xm, ym = on_disk
    ref = make_model()
    ref.fit(x, y, batch_size=B, epochs=2, seed=7, verbose=0, validation_split=0.25)
    model = make_model()
    hist = model.fit(xm, ym, batch_size=B, epochs=2, seed=7, verbose=0, validation_split=0.25, workers=workers)
    assert model.train_on_batch(xm[:B], ym[:B]) == ref.train_on_batch(x[:B], y[:B])
    assert_same_weights(model, ref)
    assert hist.history == ref.history.history
    assert model.evaluate(xm, ym, verbose=0) == ref.evaluate(x, y, verbose=0)
    assert np.array_equal(model.predict(xm), ref.predict(x))


def test_memmap_with_nan_names_the_batch(tmp_path, data):
    x, y = data
    bad = x.copy()
    bad[40, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    xm = np.load(tmp_path / "bad.npy", mmap_mode="r")
    with pytest.raises(DataError, match="NaN or infinite"):
        make_model().fit(xm, y, batch_size=B, shuffle=False, verbose=0)
    assert not prefetch_threads()


def test_memmap_larger_than_the_buffer_budget_trains_in_bounded_memory(tmp_path):
    """24 MB on disk, a 3 MB budget for batch buffers: peak traced memory must stay under it."""
    n, d, batch, queue = 30_000, 200, 64, 4
    rng = np.random.default_rng(1)
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype="float32", shape=(n, d))
    for s in range(0, n, 5000):
        big[s:s + 5000] = rng.normal(size=(min(5000, n - s), d))
    big.flush()
    del big
    labels = rng.integers(0, K, n)
    dataset_bytes = n * d * 4
    budget = 3 * 2 ** 20
    assert dataset_bytes > 7 * budget

    xm = np.load(path, mmap_mode="r")
    model = make_model(d=d)
    model.fit(xm[:64], labels[:64], epochs=1, verbose=0)  # build weights and optimizer slots first
    tracemalloc.start()
    try:
        model.fit(xm, labels, batch_size=batch, epochs=1, seed=3, verbose=0, workers=1, max_queue_size=queue)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        naive = np.asarray(xm).astype("float32") + 0  # what a whole-array copy would cost
        _, naive_peak = tracemalloc.get_traced_memory()
        del naive
    finally:
        tracemalloc.stop()
    print(f"memmap fit: dataset {dataset_bytes / 2**20:.1f} MiB, peak traced {peak / 2**20:.2f} MiB, "
          f"whole-array copy {naive_peak / 2**20:.1f} MiB")
    assert peak < budget, f"peak {peak / 2**20:.2f} MiB over the {budget / 2**20:.0f} MiB budget"
    assert naive_peak > budget  # the measurement does see a whole-array copy

    reference = make_model(d=d)
    reference.fit(np.load(path)[:64], labels[:64], epochs=1, verbose=0)
    reference.fit(np.load(path), labels, batch_size=batch, epochs=1, seed=3, verbose=0)
    assert_same_weights(model, reference)


def test_lists_of_arrays_are_still_arrays(data):
    x, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = make_model().fit(x.tolist(), y.tolist(), epochs=1, verbose=0)
    assert len(hist.history["loss"]) == 1


def test_memmap_validation_data(data, on_disk):
    x, y = data
    xm, ym = on_disk
    ref = make_model()
    ref.fit(x, y, batch_size=B, epochs=1, seed=2, verbose=0, validation_data=(x, y))
    model = make_model()
    hist = model.fit(x, y, batch_size=B, epochs=1, seed=2, verbose=0, validation_data=(xm, ym))
    assert hist.history == ref.history.history


@numpy_only("NumPy subclasses on the NumPy backend")
def test_on_device_turns_numpy_subclasses_into_plain_views(tmp_path):
    """A memory-mapped batch becomes a plain ndarray view (no copy), so it takes the same fused
    kernels as in-memory data (the kernels serve plain arrays only)."""
    path = tmp_path / "y.npy"
    np.save(path, np.arange(6))
    mm = np.load(path, mmap_mode="r")
    out = backend.on_device(mm[2:5])
    assert type(out) is np.ndarray and np.shares_memory(out, mm)
    np.testing.assert_array_equal(out, [2, 3, 4])
    plain = np.ones(3, np.float32)
    assert backend.on_device(plain) is plain
