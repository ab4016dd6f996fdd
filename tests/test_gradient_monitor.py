"""GradientMonitor: per-layer gradient statistics and the lecture's vanishing-gradient picture."""
import numpy as np
import pytest

from threestep import backend
from threestep.callbacks import Callback, GradientMonitor
from threestep.callbacks.gradient_monitor import activation_stats
from threestep.datasets import digits
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.optimizers import SGD
from threestep.utils import to_categorical


@pytest.fixture(scope="module")
def digit_data():
    (x, y), _ = digits.load_data()
    return x.reshape(len(x), 64).astype("float32")[:512] / 16, to_categorical(y[:512], 10)


def _mlp(act, depth=6, width=32):
    backend.set_seed(0)
    layers = [Dense(width, activation=act, input_dim=64)] + [Dense(width, activation=act) for _ in range(depth - 1)]
    model = Sequential(layers + [Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.1), metrics=["accuracy"])
    return model


@pytest.mark.parametrize("act", ["sigmoid", "relu"])
def test_vanishing_gradients_sigmoid_vs_relu(digit_data, act):
    """The lecture: in a 6-layer sigmoid MLP the first layer's gradient is far below the last's."""
    model = _mlp(act)
    monitor = GradientMonitor(every=4)
    model.fit(*digit_data, epochs=2, batch_size=32, verbose=0, callbacks=[monitor])
    grads = monitor.layer_stats("grad_norm")
    names = [layer.name for layer in model.layers]
    ratio = grads[names[0]][-1] / grads[names[-1]][-1]
    if act == "sigmoid":
        assert ratio < 0.01, ratio
        # and it grows layer by layer towards the output
        per_layer = [grads[n][-1] for n in names]
        assert per_layer == sorted(per_layer)
    else:
        assert ratio > 0.1, ratio


def test_columns_match_manual_measurement(rng):
    """Every sampled batch: grad norm from .grad, update ratio from the weights' actual change."""
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    backend.set_seed(1)
    model = Sequential([Dense(4, activation="tanh", input_dim=3), Dense(2)])
    model.compile(loss="mse", optimizer=SGD(0.05))
    snapshots = {}

    class Spy(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            snapshots["before"] = [w.data.copy() for w in model.layers[0].trainable_weights]

        def on_train_batch_end(self, batch, logs=None):
            weights = model.layers[0].trainable_weights
            snapshots["grad"] = np.sqrt(sum(float((w.grad ** 2).sum()) for w in weights))
            snapshots["weight"] = np.sqrt(sum(float((w.data ** 2).sum()) for w in weights))
            snapshots["step"] = np.sqrt(sum(float(((w.data - b) ** 2).sum())
                                            for w, b in zip(weights, snapshots["before"])))

    monitor = GradientMonitor(every=1)
    history = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[Spy(), monitor])
    name = model.layers[0].name
    assert history.history[f"grad_norm/{name}"][0] == pytest.approx(snapshots["grad"], rel=1e-5)
    assert history.history[f"weight_norm/{name}"][0] == pytest.approx(snapshots["weight"], rel=1e-5)
    assert history.history[f"update_ratio/{name}"][0] == pytest.approx(snapshots["step"] / snapshots["weight"],
                                                                       rel=1e-4)
    # update = lr * grad for plain SGD
    assert snapshots["step"] == pytest.approx(0.05 * snapshots["grad"], rel=1e-4)
    assert f"saturated/{name}" in history.history


def test_activation_stats_dead_and_saturated():
    y = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert activation_stats("relu", y) == (pytest.approx(100 / 3), None)
    s = np.array([[0.001, 0.5], [0.995, 0.2]])
    assert activation_stats("sigmoid", s) == (None, pytest.approx(50.0))
    t = np.array([[-0.999, 0.0, 0.995, 0.5]])
    assert activation_stats("tanh", t) == (None, pytest.approx(50.0))
    assert activation_stats("linear", t) == (None, None)


def test_dead_relu_units_detected(rng):
    """A layer whose bias is pushed far negative has every unit dead."""
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    model = Sequential([Dense(5, activation="relu", input_dim=4), Dense(1)])
    model.layers[0].bias.data[...] = -100.0
    model.compile(loss="mse", optimizer=SGD(0.01))
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[GradientMonitor(every=2)])
    assert history.history[f"dead_relu/{model.layers[0].name}"] == [100.0]


def test_every_samples_batches_and_unwraps(rng, tmp_path):
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    model = Sequential([Dense(3, activation="sigmoid", input_dim=4), Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    monitor = GradientMonitor(every=2, plot_path=str(tmp_path / "g.png"))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[monitor])
    assert [(r["epoch"], r["batch"]) for r in monitor.records] == [(e, b) for e in range(3) for b in (0, 2, 4)]
    assert "call" not in model.layers[0].__dict__  # no wrapper left behind
    assert len(history.history[f"grad_norm/{model.layers[1].name}"]) == 3
    assert (tmp_path / "g.png").exists()
    monitor.plot(str(tmp_path / "u.png"), stat="update_ratio")
    monitor.plot(str(tmp_path / "s.png"), stat="saturated")
    with pytest.raises(ConfigError, match="dead_relu"):
        monitor.plot(str(tmp_path / "d.png"), stat="dead_relu")


def test_bad_arguments(rng):
    with pytest.raises(ConfigError, match="every=0"):
        GradientMonitor(every=0)
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ConfigError, match="nope"):
        model.fit(rng.normal(size=(4, 2)), rng.normal(size=(4, 1)), verbose=0,
                  callbacks=[GradientMonitor(layers=["nope"])])
    with pytest.raises(ConfigError, match="stat must be"):
        GradientMonitor().layer_stats("nonsense")
