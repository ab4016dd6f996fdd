"""fit options: validation_split (and its sorted-data warning), class_weight, sample_weight,
initial_epoch, the learning rate in History, train_on_batch."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import errors
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.models.checks import ThreestepHint
from threestep.optimizers import SGD
from threestep.optimizers.schedules import ExponentialDecay


def classifier(seed=0, lr=0.1):
    ts.backend.set_seed(seed)
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr), metrics=["accuracy"])
    return model


RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4)).astype("float32")
Y = np.arange(60) % 3


def test_validation_split_takes_the_last_samples():
    model = classifier()
    history = model.fit(X, Y, validation_split=0.25, epochs=1, batch_size=60, shuffle=False, verbose=0)
    assert "val_loss" in history.history and "val_accuracy" in history.history
    # validation ran on exactly the last 15 samples, and training on the first 45 only
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(X[45:], Y[45:], verbose=0)[0], rel=1e-6)
    reference = classifier()
    reference.fit(X[:45], Y[:45], epochs=1, batch_size=60, shuffle=False, verbose=0)
    np.testing.assert_array_equal(reference.get_weights()[0], model.get_weights()[0])


def test_validation_split_warns_on_sorted_labels():
    sorted_y = np.sort(Y)
    with pytest.warns(ThreestepHint, match="sorted by label"):
        classifier().fit(X, sorted_y, validation_split=0.2, epochs=1, verbose=0)


def test_validation_split_out_of_range():
    with pytest.raises(errors.ConfigError, match="validation_split=1.5"):
        classifier().fit(X, Y, validation_split=1.5, verbose=0)


def test_class_weight_equals_the_matching_sample_weight():
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a = classifier()
    a.fit(X, Y, class_weight=cw, epochs=2, batch_size=20, shuffle=False, verbose=0)
    b = classifier()
    b.fit(X, Y, sample_weight=np.array([cw[c] for c in Y]), epochs=2, batch_size=20, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_class_weight_balanced():
    y = np.array([0] * 40 + [1] * 10 + [2] * 10)
    a = classifier()
    a.fit(X, y, class_weight="balanced", epochs=1, batch_size=60, shuffle=False, verbose=0)
    weights = {0: 60 / (3 * 40), 1: 60 / (3 * 10), 2: 60 / (3 * 10)}
    b = classifier()
    b.fit(X, y, sample_weight=np.array([weights[c] for c in y]), epochs=1, batch_size=60, shuffle=False, verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)


def test_class_weight_missing_class():
    with pytest.raises(errors.ConfigError, match=r"no weight for class\(es\) \[2\]"):
        classifier().fit(X, Y, class_weight={0: 1, 1: 1}, verbose=0)


def test_sample_weight_matches_pytorch():
    ts.backend.set_floatx("float64")
    try:
        x = RNG.standard_normal((12, 4))
        y = RNG.integers(0, 3, 12)
        w = RNG.random(12) * 2
        model = classifier(lr=0.5)
        k, b = model.get_weights()
        model.fit(x, y, sample_weight=w, batch_size=12, epochs=1, shuffle=False, verbose=0)
        tk = torch.tensor(k, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        per = torch.nn.functional.cross_entropy(torch.tensor(x) @ tk + tb, torch.tensor(y), reduction="none")
        (per * torch.tensor(w)).mean().backward()
        np.testing.assert_allclose(model.get_weights()[0], k - 0.5 * tk.grad.numpy(), rtol=1e-10)
    finally:
        ts.backend.set_floatx("float32")


def test_initial_epoch_runs_the_remaining_epochs(capsys):
    history = classifier().fit(X, Y, epochs=5, initial_epoch=3, verbose=2)
    assert history.epoch == [3, 4]
    out = capsys.readouterr().out
    assert "Epoch 4/5" in out and "Epoch 5/5" in out and "Epoch 3/5" not in out


def test_learning_rate_is_recorded_every_epoch():
    ts.backend.set_seed(0)
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    schedule = ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(schedule))
    history = model.fit(X, Y, epochs=3, batch_size=20, verbose=0)  # 3 steps per epoch
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_train_on_batch_and_test_on_batch():
    model = classifier()
    loss, acc = model.train_on_batch(X[:10], Y[:10])
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert len(model.test_on_batch(X[:10], Y[:10])) == 2


def test_evaluate_return_dict_and_scalar():
    model = classifier()
    values = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(values) == {"loss", "accuracy"}
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    assert isinstance(model.evaluate(X, Y, verbose=0), float)


def test_validation_data_with_sample_weight():
    history = classifier().fit(X, Y, validation_data=(X[:10], Y[:10], np.ones(10)), epochs=1, verbose=0)
    assert len(history.history["val_loss"]) == 1
