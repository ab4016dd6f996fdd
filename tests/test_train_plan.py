"""The planned training step (``models.train_plan``): the same weights, bit for bit, as the step
recorded through Tensors, ``Function.__call__`` and ``Tensor.backward``, for every layer it runs on
arrays, the layers it runs as islands, every optimizer plan (updates on arrival, in the GEMM,
gradients kept), and every case where it must step aside."""
import numpy as np
import pytest

import threestep as ts
from threestep import activations, backend, layers as L, regularizers
from threestep.models import Sequential, train_plan
from threestep.models.training import Model
from threestep.optimizers import SGD, Adam, RMSprop

RNG = np.random.default_rng(0)


def twins(make_layers, shape, loss, optimizer, metrics=None, dtype=None):
    """Two models with the same weights and seeds, compiled alike."""
    models = []
    for _ in range(2):
        backend.set_seed(3)
        model = Sequential(make_layers())
        model.build((None,) + shape)
        model.compile(loss=loss, optimizer=optimizer(), metrics=metrics)
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    return models


def fit_both(models, monkeypatch, x, y, **kwargs):
    """Fit the first model planned and the second recorded (the plan switched off), each from the
    same seed; returns both histories."""
    histories = []
    for planned, model in zip((True, False), models):
        with monkeypatch.context() as m:
            if not planned:
                m.setattr(train_plan, "planned", lambda model: None)
            backend.set_seed(11)
            histories.append(model.fit(x, y, verbose=0, **kwargs).history)
    return histories


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def labels(n, k=3):
    return RNG.integers(0, k, n)


MLP = lambda: [L.Dense(16, activation="relu"), L.Dense(16, activation="relu"),  # noqa: E731
               L.Dense(3, activation="softmax")]
CASES = {
    "lecture MLP, Adam": (MLP, (8,), "sparse_categorical_crossentropy", Adam),
    "lecture MLP, SGD in the GEMM": (MLP, (8,), "sparse_categorical_crossentropy", lambda: SGD(0.1)),
    "momentum, one-hot": (MLP, (8,), "categorical_crossentropy", lambda: SGD(0.1, momentum=0.9, nesterov=True)),
    "dropout, flatten, tanh, no bias": (
        lambda: [L.Flatten(), L.Dropout(0.3), L.Dense(12, activation="tanh", use_bias=False),
                 L.Dropout(0.5, noise_shape=(None, 1)), L.Dense(3, activation="softmax")],
        (2, 4), "sparse_categorical_crossentropy", RMSprop),
    "lecture spelling": (
        lambda: [L.Dense(10), L.Activation("relu"), L.Dense(10), L.Activation("sigmoid"), L.Dense(3),
                 L.Activation("softmax")], (8,), "sparse_categorical_crossentropy", Adam),
    "sigmoid + binary cross-entropy": (
        lambda: [L.Dense(10, activation="relu"), L.Dense(1, activation="sigmoid")], (8,), "binary_crossentropy",
        Adam),
    "regression, mse": (lambda: [L.Dense(10, activation="elu"), L.Dense(2)], (8,), "mse", Adam),
    "dense over steps": (
        lambda: [L.Dense(6, activation="relu"), L.Flatten(), L.Dense(3, activation="softmax")], (4, 5),
        "sparse_categorical_crossentropy", Adam),
    "lecture CNN with batch norm": (
        lambda: [L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.BatchNormalization(), L.Conv2D(5, 3),
                 L.Activation("relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(8, activation="relu"),
                 L.Dense(3, activation="softmax")], (14, 14, 1), "sparse_categorical_crossentropy", Adam),
    "LSTM": (lambda: [L.LSTM(6), L.Dense(3, activation="softmax")], (5, 4), "sparse_categorical_crossentropy",
             Adam),
}


def data_for(shape, loss, n=64):
    x = RNG.standard_normal((n,) + shape).astype(np.float32)
    if loss == "categorical_crossentropy":
        y = np.eye(3, dtype=np.float32)[labels(n)]
    elif loss == "binary_crossentropy":
        y = labels(n, 2).reshape(-1, 1).astype(np.float32)
    elif loss == "mse":
        y = RNG.standard_normal((n, 2)).astype(np.float32)
    else:
        y = labels(n)
    return x, y


@pytest.mark.parametrize("name", list(CASES))
def test_planned_fit_equals_the_recorded_step_bit_for_bit(name, monkeypatch):
    make, shape, loss, optimizer = CASES[name]
    models = twins(make, shape, loss, optimizer, metrics=["accuracy"] if "entropy" in loss else None)
    x, y = data_for(shape, loss)
    planned, recorded = fit_both(models, monkeypatch, x, y, batch_size=16, epochs=2)
    if name == "LSTM":  # two LSTM models stepped in one process differ in the last bits, recorded or planned
        for a, b in zip(models[0].get_weights(), models[1].get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(planned["loss"], recorded["loss"], rtol=1e-5)
        return
    assert planned == recorded
    assert_same_weights(*models)


def test_the_plan_runs_instead_of_the_recorded_forward(monkeypatch):
    model, _ = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    calls = []
    original = Model._loss_and_output
    monkeypatch.setattr(Model, "_loss_and_output", lambda self, *a: calls.append(1) or original(self, *a))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert bool(calls) == (backend.backend_name() != "numpy")  # every step planned on the CPU ...
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # ... and each weight moved


def test_sample_and_class_weights_planned_as_recorded(monkeypatch):
    models = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam, metrics=["accuracy"])
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    w = RNG.random(len(x)).astype(np.float32)
    planned, recorded = fit_both(models, monkeypatch, x, y, batch_size=16, sample_weight=w)
    assert planned == recorded
    assert_same_weights(*models)
    fit_both(models, monkeypatch, x, y, batch_size=16, class_weight={0: 1.0, 1: 3.0, 2: 0.5})
    assert_same_weights(*models)


def test_frozen_layers_and_trainable_switched_between_fits(monkeypatch):
    models = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    first = [m.layers[0].get_weights()[0].copy() for m in models]
    for m in models:
        m.layers[0].trainable = False
        m.compile(loss="sparse_categorical_crossentropy", optimizer=Adam())
    fit_both(models, monkeypatch, x, y, batch_size=16)
    assert_same_weights(*models)
    np.testing.assert_array_equal(models[0].layers[0].get_weights()[0], first[0])  # frozen stays
    for m in models:
        m.layers[0].trainable = True
        m.layers[2].trainable = False
        m.compile(loss="sparse_categorical_crossentropy", optimizer=Adam())
    fit_both(models, monkeypatch, x, y, batch_size=16)
    assert_same_weights(*models)
    assert not np.array_equal(models[0].layers[0].get_weights()[0], first[0])  # gradient reached layer 0


def test_train_on_batch_leaves_the_same_gradients(monkeypatch):
    models = twins(MLP, (8,), "sparse_categorical_crossentropy", lambda: SGD(0.1))
    x, y = data_for((8,), "sparse_categorical_crossentropy", n=16)
    losses = []
    for planned, model in zip((True, False), models):
        with monkeypatch.context() as m:
            if not planned:
                m.setattr(train_plan, "planned", lambda model: None)
            losses.append(model.train_on_batch(x, y))
    assert losses[0] == losses[1]
    for a, b in zip(models[0].trainable_weights, models[1].trainable_weights):
        assert a.grad is not None
        np.testing.assert_array_equal(backend.to_numpy(a.grad), backend.to_numpy(b.grad))
    assert_same_weights(*models)


def test_float64(monkeypatch):
    with backend_floatx("float64"):
        models = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
        x, y = data_for((8,), "sparse_categorical_crossentropy")
        fit_both(models, monkeypatch, x.astype(np.float64), y, batch_size=16)
        assert models[0].layers[0].kernel.data.dtype == np.float64
        assert_same_weights(*models)


class backend_floatx:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.before = backend.floatx()
        backend.set_floatx(self.dtype)

    def __exit__(self, *exc):
        backend.set_floatx(self.before)


def test_a_users_dense_subclass_runs_its_own_call(monkeypatch):
    calls = []

    class Logged(L.Dense):
        def call(self, x, training=None):
            calls.append(training)
            return super().call(x, training=training)

    make = lambda: [Logged(12, activation="relu"), L.Dense(3, activation="softmax")]  # noqa: E731
    models = twins(make, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    fit_both(models, monkeypatch, x, y, batch_size=16)
    assert calls and all(calls)  # every step, in training mode, in both
    assert_same_weights(*models)


@pytest.mark.parametrize("extra", ["regularizer", "activity", "add_loss", "mask"])
def test_steps_the_plan_cannot_take_are_recorded(extra, monkeypatch):
    """A penalty or a sequence mask: the model runs the recorded step, with the same result as
    with the plan switched off (the penalty's gradient counted once, the mask followed)."""
    if extra == "mask":
        make = lambda: [L.Embedding(10, 4, mask_zero=True), L.LSTM(5), L.Dense(3, activation="softmax")]  # noqa
        shape = (6,)
        x = RNG.integers(0, 10, (64, 6)).astype(np.float32)
        x[:, 4:] = 0
    else:
        kw = {"regularizer": {"kernel_regularizer": regularizers.l2(0.1)},
              "activity": {"activity_regularizer": regularizers.l1(0.1)}, "add_loss": {}}[extra]
        make = lambda: [L.Dense(10, activation="relu", **kw), L.Dense(3, activation="softmax")]  # noqa: E731
        shape = (8,)
        x = RNG.standard_normal((64, 8)).astype(np.float32)
    models = twins(make, shape, "sparse_categorical_crossentropy", Adam)
    if extra == "add_loss":
        for m in models:
            m.add_loss(lambda m=m: ts.ops.mean(m.layers[0].kernel * m.layers[0].kernel))
    y = labels(64)
    seen = []
    original = Model._loss_and_output
    monkeypatch.setattr(Model, "_loss_and_output", lambda self, *a: seen.append(1) or original(self, *a))
    planned, recorded = fit_both(models, monkeypatch, x, y, batch_size=16)
    assert len(seen) == 8  # four steps each: none planned
    if extra == "mask":  # two LSTM models stepped in one process differ in the last bits (see above)
        for a, b in zip(models[0].get_weights(), models[1].get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        return
    assert planned == recorded
    assert_same_weights(*models)


def test_a_penalty_added_after_planning_leaves_the_plan(monkeypatch):
    models = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    fit_both(models, monkeypatch, x, y, batch_size=16)
    for m in models:
        m.layers[1].kernel.regularizer = regularizers.l2(1.0)  # what compile-time options would have set
    planned, recorded = fit_both(models, monkeypatch, x, y, batch_size=16)
    assert planned == recorded
    assert_same_weights(*models)


def test_a_non_finite_loss_leaves_the_weights(monkeypatch):
    model, _ = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy", n=16)
    model.train_on_batch(x, y)
    before = model.get_weights()
    model.layers[2].bias.data[0] = np.inf
    model.fit(x, y, batch_size=16, verbose=0)
    for a, b in zip(before[:-1], model.get_weights()[:-1]):
        np.testing.assert_array_equal(a, b)


def test_layers_added_after_a_fit_are_planned_anew(monkeypatch):
    models = twins(lambda: [L.Dense(12, activation="relu")], (8,), "mse", Adam)
    x = RNG.standard_normal((64, 8)).astype(np.float32)
    fit_both(models, monkeypatch, x, RNG.standard_normal((64, 12)).astype(np.float32), batch_size=16)
    for m in models:
        m.add(L.Dense(3, activation="softmax"))
        m.compile(loss="sparse_categorical_crossentropy", optimizer=Adam())
    models[1].set_weights(models[0].get_weights())
    fit_both(models, monkeypatch, x, labels(64), batch_size=16)
    assert_same_weights(*models)


def test_a_call_set_on_the_instance_runs_in_fit_and_predict():
    """A call replaced on one layer (what a callback watching outputs does) is what runs."""
    model, _ = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, verbose=0)
    model.predict(x, batch_size=16)  # both planned first
    layer, seen = model.layers[1], []
    original = layer.call

    def watched(x, training=None, **kwargs):
        seen.append(bool(training))
        return original(x, training=training, **kwargs)
    layer.call = watched
    model.fit(x, y, batch_size=16, verbose=0)
    model.predict(x, batch_size=16)
    assert seen == [True] * 4 + [False] * 4


def test_an_activation_changed_between_fits_is_followed(monkeypatch):
    """Dense's call reads its activation at each call; so does the plan."""
    models = twins(MLP, (8,), "sparse_categorical_crossentropy", Adam)
    x, y = data_for((8,), "sparse_categorical_crossentropy")
    fit_both(models, monkeypatch, x, y, batch_size=16)
    for m in models:
        m.layers[0].activation = activations.get("tanh")
        m.layers[1].activation = activations.get("linear")
    planned, recorded = fit_both(models, monkeypatch, x, y, batch_size=16)
    assert planned == recorded
    assert_same_weights(*models)
