"""``predict`` with whole batches side by side, one per thread (models.row_blocks.side_by_side),
and ``predict``'s callbacks and progress bar (Keras 2: ``on_predict_*`` hooks, ``verbose``)."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from helpers import numpy_only
from threestep import backend, keras
from threestep.accel import switches, threads
from threestep.errors import DataError
from threestep.models import row_blocks

layers = keras.layers
cpu_only = numpy_only("batches run side by side on the CPU only; on a GPU they queue on the device")


def mlp():
    return keras.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)), layers.Dropout(0.3),
                             layers.Dense(32, activation="relu"), layers.Dense(5, activation="softmax")])


def lstm():
    return keras.Sequential([layers.LSTM(16, input_shape=(7, 6)), layers.Dense(4, activation="softmax")])


def gru_sequences():
    return keras.Sequential([layers.GRU(12, return_sequences=True, input_shape=(5, 3)), layers.SimpleRNN(8)])


def cnn():
    return keras.Sequential([layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 2)), layers.MaxPooling2D(),
                             layers.BatchNormalization(), layers.Flatten(), layers.Dense(3)])


MODELS = {"mlp": (mlp, (20,)), "lstm": (lstm, (7, 6)), "gru": (gru_sequences, (5, 3)), "cnn": (cnn, (10, 10, 2))}


@pytest.fixture
def two_cpus(monkeypatch):
    """Two threads for the BLAS and the batches, whatever this machine's CPU count."""
    monkeypatch.setattr(threads, "cpus_available", lambda: 2)
    with threadpool_limits(2):
        yield


class BatchThreads(list):
    """The threads each batch ran on, in the order the batches started. ``meet()``: the first two
    batches each wait (up to 10 s) until the other has started, so that a test sees two threads
    whenever two can run batches at once, however fast the first thread is."""

    barrier = None

    def meet(self):
        self.barrier = threading.Barrier(2, timeout=10)
        return self


@pytest.fixture
def batch_threads(monkeypatch):
    seen = BatchThreads()
    original = row_blocks._outputs

    def spy(model, xb):
        seen.append(threading.get_ident())
        if seen.barrier is not None and len(seen) <= 2:
            try:
                seen.barrier.wait()
            except threading.BrokenBarrierError:  # no second thread came: the test's assertion says so
                pass
        return original(model, xb)

    monkeypatch.setattr(row_blocks, "_outputs", spy)
    return seen


def data(shape, n=230, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + shape).astype(np.float32)


def one_at_a_time(model, x, batch_size):
    """Every batch predicted alone, in one thread with the BLAS at one thread."""
    with threadpool_limits(1):
        return np.concatenate([model.predict(x[s:s + batch_size], batch_size=batch_size)
                               for s in range(0, len(x), batch_size)])


@cpu_only
@pytest.mark.parametrize("name", sorted(MODELS))
def test_batches_side_by_side_equal_each_batch_alone(name, two_cpus, batch_threads):
    make, shape = MODELS[name]
    model = make()
    model.compile("adam", "mse")
    x = data(shape)
    batch_threads.meet()
    out = model.predict(x, batch_size=20)
    assert len(set(batch_threads)) == 2  # the 12 batches ran on two threads
    batch_threads.clear()
    np.testing.assert_array_equal(out, one_at_a_time(model, x, 20))  # bit for bit, the short last batch too


@cpu_only
def test_switch_off_runs_batches_in_turn(two_cpus, batch_threads, monkeypatch):
    model = mlp()
    x = data((20,))
    on = model.predict(x, batch_size=20)
    monkeypatch.setattr(switches, "SIDE_BY_SIDE", False)
    batch_threads.clear()
    off = model.predict(x, batch_size=20)
    assert set(batch_threads) == {threading.get_ident()}
    np.testing.assert_allclose(on, off, rtol=1e-5, atol=1e-6)  # the BLAS's thread count may round differently


def test_one_batch_or_one_thread_runs_in_turn(batch_threads, monkeypatch):
    model = mlp()
    monkeypatch.setattr(threads, "cpus_available", lambda: 2)
    with threadpool_limits(2):
        model.predict(data((20,), n=20), batch_size=20)  # a single batch
    with threadpool_limits(1):
        model.predict(data((20,)), batch_size=20)  # one thread allowed
    assert set(batch_threads) == {threading.get_ident()}


@cpu_only
def test_a_batch_larger_than_a_block_is_taken_a_block_at_a_time(two_cpus, batch_threads, monkeypatch, capsys):
    model = mlp()
    per_row = row_blocks.activation_bytes(model.layers, row_blocks._unallocated(model))
    monkeypatch.setattr(row_blocks, "BLOCK_BYTES", 40 * per_row)  # 40 rows of the MLP's outputs per block
    assert row_blocks.block_rows(model) == 40
    assert row_blocks.side_by_side(model, 100, 1) == 2  # three blocks of one batch
    assert row_blocks.side_by_side(model, 100, 3, whole=True) == 1  # evaluate: a batch's loss is its own mean
    x = data((20,), n=230)
    batch_threads.meet()
    out = model.predict(x, batch_size=100, verbose=2)
    assert len(set(batch_threads)) == 2 and len(batch_threads) == 3 + 3 + 1  # 100 rows: 3 blocks; 30 rows: 1
    assert capsys.readouterr().out.startswith("3/3 - ")  # the progress bar counts batches, not blocks
    np.testing.assert_allclose(out, one_at_a_time(model, x, 100), rtol=1e-5, atol=1e-6)


def test_a_users_layer_keeps_batches_in_turn(two_cpus, batch_threads):
    class Double(layers.Layer):  # a user's layer may compute across the batch
        def call(self, x):
            return x * 2

    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), Double()])
    model.predict(data((3,)), batch_size=20)
    assert set(batch_threads) == {threading.get_ident()}


def test_an_error_in_a_later_batch_surfaces(two_cpus, tmp_path):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(230, 20))
    x[:] = data((20,))
    x[151, 3] = np.nan  # read (and checked) batch by batch
    model = mlp()
    with pytest.raises(DataError, match="NaN") as side:
        model.predict(x, batch_size=20)
    switches.SIDE_BY_SIDE = False
    try:
        with pytest.raises(DataError, match="NaN") as in_turn:
            model.predict(x, batch_size=20)
    finally:
        switches.SIDE_BY_SIDE = True
    assert str(side.value) == str(in_turn.value)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_predict_begin(self, logs=None):
        self.events.append(("begin", dict(logs)))

    def on_predict_batch_begin(self, batch, logs=None):
        self.events.append(("batch_begin", batch, logs["size"]))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, backend.to_numpy(logs["outputs"]).copy()))

    def on_predict_end(self, logs=None):
        self.events.append(("end", dict(logs)))


def test_predict_calls_the_callbacks_hooks_in_order(two_cpus, batch_threads):
    model = mlp()
    x = data((20,), n=50)
    rec = Recorder()
    out = model.predict(x, batch_size=20, callbacks=[rec])
    assert set(batch_threads) == {threading.get_ident()}  # a callback watches each batch: in turn
    kinds = [e[:2] if e[0].startswith("batch") else e[0] for e in rec.events]
    assert kinds == ["begin", ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
                     ("batch_begin", 2), ("batch_end", 2), "end"]
    assert [e[2] for e in rec.events if e[0] == "batch_begin"] == [20, 20, 10]
    np.testing.assert_array_equal(np.concatenate([e[2] for e in rec.events if e[0] == "batch_end"]), out)
    assert rec.model is model and rec.params["steps"] == 3


@cpu_only
def test_hooks_of_the_whole_pass_alone_leave_batches_side_by_side(two_cpus, batch_threads):
    class Ends(keras.callbacks.Callback):
        calls = []

        def on_predict_begin(self, logs=None):
            self.calls.append("begin")

        def on_predict_end(self, logs=None):
            self.calls.append("end")

    model = mlp()
    batch_threads.meet()
    model.predict(data((20,)), batch_size=20, callbacks=Ends())
    assert Ends.calls == ["begin", "end"]
    assert len(set(batch_threads)) == 2


def test_callbacks_must_be_callbacks():
    with pytest.raises(Exception, match="callbacks"):
        mlp().predict(data((20,)), callbacks=["not a callback"])


@pytest.mark.parametrize("side", [True, False])
def test_verbose_prints_a_progress_bar(side, two_cpus, capsys, monkeypatch):
    monkeypatch.setattr(switches, "SIDE_BY_SIDE", side)
    model = mlp()
    model.predict(data((20,)), batch_size=20, verbose=0)
    assert capsys.readouterr().out == ""
    model.predict(data((20,)), batch_size=20, verbose=2)
    out = capsys.readouterr().out
    assert out.startswith("12/12 - ") and out.endswith("/step\n") and out.count("\n") == 1


@pytest.mark.slow
def test_hooks_match_tf_keras():
    from keras_oracle import import_tf_keras  # noqa: PLC0415

    tfk = import_tf_keras()

    def recorder(base):
        class Rec(base):
            events = []

            def on_predict_begin(self, logs=None):
                self.events.append("begin")

            def on_predict_batch_begin(self, batch, logs=None):
                self.events.append(("batch_begin", batch))

            def on_predict_batch_end(self, batch, logs=None):
                self.events.append(("batch_end", batch, backend.to_numpy(logs["outputs"]).shape))

            def on_predict_end(self, logs=None):
                self.events.append("end")
        return Rec()

    x = data((20,), n=50)
    ours, theirs = recorder(keras.callbacks.Callback), recorder(tfk.callbacks.Callback)
    mlp().predict(x, batch_size=20, callbacks=[ours])
    tf_model = tfk.Sequential([tfk.layers.Dense(5, input_shape=(20,))])
    tf_model.predict(x, batch_size=20, callbacks=[theirs], verbose=0)
    assert ours.events == theirs.events


def test_a_stateful_layer_keeps_batches_in_turn(two_cpus, batch_threads):
    model = keras.Sequential([layers.SimpleRNN(4, stateful=True, batch_input_shape=(10, 3, 2))])
    x = data((3, 2), n=40)
    out = model.predict(x, batch_size=10)
    assert set(batch_threads) == {threading.get_ident()}  # each batch starts from the last one's states
    model.reset_states()
    np.testing.assert_array_equal(out[10:20], np.concatenate([model.predict(x[s:s + 10], batch_size=10)
                                                              for s in range(0, 20, 10)])[10:])


# ---------------------------------------------------------------- evaluate
@pytest.fixture
def eval_threads(monkeypatch):
    """The threads each batch of ``evaluate`` ran on (``BatchThreads``) for models made by ``track``."""
    seen = BatchThreads()

    def track(model):
        original = model._loss_and_output

        def spy(*args):
            seen.append(threading.get_ident())
            if seen.barrier is not None and len(seen) <= 2:
                try:
                    seen.barrier.wait()
                except threading.BrokenBarrierError:
                    pass
            return original(*args)

        monkeypatch.setattr(model, "_loss_and_output", spy)
        return model

    seen.track = track
    return seen


def compiled(make, **kwargs):
    model = make(**kwargs) if kwargs else make()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy", keras.metrics.AUC()])
    return model


def labels(n, classes, seed=1):
    return np.eye(classes, dtype=np.float32)[np.random.default_rng(seed).integers(0, classes, n)]


def evaluate_in_turn(model, x, y, **kwargs):
    """``evaluate`` one batch after the other, the BLAS at one thread (what each side-by-side batch does)."""
    switches.SIDE_BY_SIDE = False
    try:
        with threadpool_limits(1):
            return model.evaluate(x, y, verbose=0, **kwargs)
    finally:
        switches.SIDE_BY_SIDE = True


@cpu_only
@pytest.mark.parametrize("name", ["mlp", "lstm"])
def test_evaluate_side_by_side_equals_batches_in_turn(name, two_cpus, eval_threads):
    make, shape = MODELS[name]
    model = eval_threads.track(compiled(make))
    x, y = data(shape), labels(230, model.output_shape[-1])
    weights = np.random.default_rng(2).uniform(size=230).astype(np.float32)
    eval_threads.meet()
    got = model.evaluate(x, y, batch_size=20, verbose=0, sample_weight=weights)
    assert len(set(eval_threads)) == 2
    assert got == evaluate_in_turn(model, x, y, batch_size=20, sample_weight=weights)  # bit for bit


@cpu_only
def test_evaluate_with_activity_penalties_runs_batches_in_turn(two_cpus, eval_threads):
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(20,),
                                           activity_regularizer=keras.regularizers.l2(0.1)),
                              layers.Dense(5, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    eval_threads.track(model)
    x, y = data((20,)), labels(230, 5)
    got = model.evaluate(x, y, batch_size=20, verbose=0)
    assert set(eval_threads) == {threading.get_ident()}  # each batch's penalty is read right after its pass
    assert got == evaluate_in_turn(model, x, y, batch_size=20)


@cpu_only
def test_evaluate_callbacks_watching_batches_run_them_in_turn(two_cpus, eval_threads):
    class Watch(keras.callbacks.Callback):
        steps = []

        def on_test_batch_end(self, batch, logs=None):
            self.steps.append((batch, round(logs["loss"], 6)))

    model = eval_threads.track(compiled(mlp))
    x, y = data((20,)), labels(230, 5)
    model.evaluate(x, y, batch_size=20, verbose=0, callbacks=[Watch()])
    assert set(eval_threads) == {threading.get_ident()}
    assert [s for s, _ in Watch.steps] == list(range(12))


@cpu_only
def test_validation_in_fit_matches_evaluate(two_cpus):
    model = compiled(mlp)
    x, y = data((20,)), labels(230, 5)
    history = model.fit(x, y, batch_size=20, epochs=1, verbose=0, validation_data=(x[:150], y[:150]), shuffle=False)
    again = model.evaluate(x[:150], y[:150], batch_size=20, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(again["loss"], rel=1e-6)
    assert history.history["val_accuracy"][0] == again["accuracy"]


@cpu_only
def test_an_error_in_a_batch_hook_stops_every_thread(two_cpus, eval_threads):
    model = keras.Sequential([layers.Dense(1, input_shape=(20,))])  # a linear output: AUC refuses it
    model.compile("sgd", "mse", metrics=[keras.metrics.AUC()])
    eval_threads.track(model)
    x, y = data((20,), n=2000), np.ones((2000, 1), np.float32)
    with pytest.raises(DataError, match="probabilities in \\[0, 1\\]") as side:
        model.evaluate(x, y, batch_size=20, verbose=0)
    assert len(eval_threads) < 10  # stopped after the first batches, not all 100
    with pytest.raises(DataError) as in_turn:
        evaluate_in_turn(model, x, y, batch_size=20)
    assert str(side.value) == str(in_turn.value)
