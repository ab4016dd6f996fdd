"""threestep.inspect.find_lr: the learning-rate range test on a small MLP and the digits."""
import math

import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.datasets import digits
from threestep.inspect import find_lr, suggest_lr
from threestep.inspect.lr_finder import smooth
from threestep.layers import Dense, Dropout
from threestep.models import Sequential
from threestep.optimizers import SGD, Adam


@pytest.fixture(scope="module")
def data():
    (x, y), _ = digits.load_data()
    return x.reshape(len(x), 64).astype("float32") / 16, y


def mlp(optimizer):
    ts.backend.set_seed(0)
    model = Sequential([Dense(32, activation="relu", input_dim=64), Dropout(0.1), Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def test_range_test_suggests_a_learning_rate_in_range_and_restores_everything(data, tmp_path):
    x, y = data
    model = mlp(Adam(learning_rate=1e-3))
    model.fit(x[:256], y[:256], epochs=1, verbose=0)  # the optimizer now has state to restore
    weights, state = model.get_weights(), model.optimizer.get_state()
    rng_state = ts.backend.get_rng_state()
    lrs, losses, lr = find_lr(model, x, y, start_lr=1e-6, end_lr=10.0, steps=80, batch_size=32, seed=0,
                              path=tmp_path / "lr.png")
    assert 1e-6 <= lr <= 10.0
    assert len(lrs) == len(losses) <= 80
    np.testing.assert_allclose(lrs[:3], [1e-6, 1e-6 * 10 ** (7 / 79), 1e-6 * 10 ** (14 / 79)], rtol=1e-9)
    assert all(b > a for a, b in zip(lrs, lrs[1:]))
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # weights, optimizer state, learning rate and random stream are as before
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    after = model.optimizer.get_state()
    assert after["iterations"] == state["iterations"]
    for name in state["slots"]:
        assert all(np.array_equal(a, b) for a, b in zip(state["slots"][name], after["slots"][name]))
    assert model.optimizer.learning_rate == 1e-3
    assert ts.backend.get_rng_state()["host_rng"] == rng_state["host_rng"]


def test_the_test_stops_when_the_loss_explodes(data):
    x, y = data
    model = mlp(SGD(learning_rate=0.01))
    lrs, losses, lr = find_lr(model, x, y, start_lr=1e-3, end_lr=1e4, steps=120, seed=0)
    assert len(lrs) < 120  # stopped early: at lr ~1e4 plain SGD diverges
    finite = [v for v in losses if math.isfinite(v)]
    assert not math.isfinite(losses[-1]) or smooth(finite)[-1] > 4 * min(smooth(finite))
    assert 1e-3 <= lr < lrs[-1]


def test_suggested_lr_trains_better_than_a_too_small_one(data):
    x, y = data
    model = mlp(SGD(learning_rate=1e-4))
    _, _, lr = find_lr(model, x, y, steps=100, seed=0)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, seed=0)
    slow = model.evaluate(x, y, verbose=0)[1]
    tuned = mlp(SGD(learning_rate=lr))
    tuned.fit(x, y, epochs=3, batch_size=32, verbose=0, seed=0)
    assert tuned.evaluate(x, y, verbose=0)[1] > slow + 0.2


def test_suggestion_rules():
    lrs = list(np.logspace(-5, 0, 60))
    losses = [2.0] * 20 + list(np.linspace(2.0, 0.5, 25)) + list(np.linspace(0.5, 5.0, 15))
    steepest = suggest_lr(lrs, losses, beta=0.0)
    assert lrs[20] <= steepest <= lrs[44]
    noisy_start = [2.0, 9.0, 1.0] + losses[3:]  # noise in the skipped first tenth is ignored
    assert lrs[20] <= suggest_lr(lrs, noisy_start, beta=0.0) <= lrs[44]
    best = int(np.argmin(losses))
    assert suggest_lr(lrs, losses, beta=0.0, method="min/10") == pytest.approx(lrs[best] / 10)
    with pytest.raises(errors.ConfigError, match="method must be 'steepest' or 'min/10'"):
        suggest_lr(lrs, losses, method="valley")


def test_bad_arguments(data):
    x, y = data
    model = Sequential([Dense(10, activation="softmax", input_dim=64)])
    with pytest.raises(errors.NotCompiledError, match="find_lr"):
        find_lr(model, x, y)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(errors.ConfigError, match="end_lr must be larger than start_lr"):
        find_lr(model, x, y, start_lr=1.0, end_lr=0.1)
    with pytest.raises(errors.ConfigError, match="steps must be at least 2"):
        find_lr(model, x, y, steps=1)
    with pytest.raises(errors.DataError, match="find_lr"):
        find_lr(model, x, y[:10])
    with pytest.raises(errors.DataError, match="x is empty"):
        find_lr(model, x[:0], y[:0])
    bad = x.copy()
    bad[3, 3] = np.nan
    with pytest.raises(errors.DataError, match="NaN"):
        find_lr(model, bad, y)


def test_find_lr_on_a_trained_model_stays_in_range_and_warns(data, tmp_path):
    x, y = data
    model = mlp(Adam())
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)  # the README's order: train, then look
    with pytest.warns(UserWarning, match="did not fall") as record:
        result = find_lr(model, x, y, start_lr=1e-7, end_lr=1e-3, steps=40, path=tmp_path / "lr.png", seed=0)
    assert record[0].filename == __file__  # attributed to the caller's line, not lr_finder.py
    assert 1e-7 <= result.suggested_lr <= 1e-3
    assert min(result.lrs) <= result.suggested_lr <= max(result.lrs)


def test_suggestion_never_leaves_the_range():
    lrs = list(np.logspace(-7, -3, 50))
    rising = list(np.linspace(0.1, 0.5, 50))  # minimum at the very start
    with pytest.warns(UserWarning, match="did not fall"):
        assert suggest_lr(lrs, rising, beta=0.0) == lrs[0]
    with pytest.warns(UserWarning, match="did not fall"):
        assert suggest_lr(lrs, rising, beta=0.0, method="min/10") == lrs[0]
