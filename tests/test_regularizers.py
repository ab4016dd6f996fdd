"""L1 / L2 penalties (Keras: l * sum|w|, l * sum w^2, no 1/2) on kernels, biases and activities."""
import numpy as np
import pytest
import torch

import threestep.ops as ops
from helpers import assert_close, to_host
from threestep import regularizers
from threestep.autograd import Tensor
from threestep.errors import ConfigError
from threestep.layers.advanced_activations import PReLU
from threestep.layers.core import Dense
from threestep.models import Sequential
from threestep.optimizers import SGD


@pytest.mark.parametrize("reg, expected", [
    (regularizers.l1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    (regularizers.l2(0.2), lambda w: 0.2 * (w ** 2).sum()),
    (regularizers.l1_l2(0.1, 0.05), lambda w: 0.1 * np.abs(w).sum() + 0.05 * (w ** 2).sum()),
    (regularizers.get("l1"), lambda w: 0.01 * np.abs(w).sum()),
    (regularizers.get("l2"), lambda w: 0.01 * (w ** 2).sum()),
    (regularizers.get("l1_l2"), lambda w: 0.01 * np.abs(w).sum() + 0.01 * (w ** 2).sum()),
    (regularizers.L1L2(), lambda w: 0.0),
], ids=["l1", "l2", "l1_l2", "name-l1", "name-l2", "name-l1_l2", "zero"])
def test_penalty_values(reg, expected, rng):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    penalty = reg(Tensor(w))
    assert isinstance(penalty, Tensor) and penalty.shape == () and penalty.dtype == np.float32
    assert penalty.item() == pytest.approx(expected(w.astype(np.float64)), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("l1, l2", [(0.1, 0.0), (0.0, 0.2), (0.1, 0.2)])
def test_penalty_gradients_against_torch(l1, l2, rng):
    """loss = mse(x W + b, y) + R(W) + R(b), ours vs torch autograd, float64."""
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    reg = regularizers.L1L2(l1, l2)
    Wt, bt = Tensor(W.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    loss = ops.mean_squared_error(ops.linear(Tensor(x), Wt, bt), Tensor(y)) + reg(Wt) + reg(bt)
    loss.backward()

    tW, tb = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    penalty = sum(l1 * p.abs().sum() + l2 * (p ** 2).sum() for p in (tW, tb))
    tloss = torch.nn.functional.mse_loss(torch.tensor(x) @ tW + tb, torch.tensor(y)) + penalty
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    assert_close(Wt.grad, tW.grad.numpy(), 1e-12, 1e-10, "dL/dW")
    assert_close(bt.grad, tb.grad.numpy(), 1e-12, 1e-10, "dL/db")


def _regularized_model(x_dim=4, units=3):
    model = Sequential([Dense(units, input_dim=x_dim, bias_initializer="ones",
                              kernel_regularizer=regularizers.l1(0.01), bias_regularizer=regularizers.l2(0.1),
                              activity_regularizer=regularizers.l1_l2(0.02, 0.03))])
    model.compile(loss="mse", optimizer=SGD(0.0))  # learning rate 0: the weights do not move
    return model


def test_fit_loss_includes_every_penalty(rng):
    n = 20
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = rng.standard_normal((n, 3)).astype(np.float32)
    model = _regularized_model()
    W, b = (w.astype(np.float64) for w in model.get_weights())
    out = x.astype(np.float64) @ W + b
    mse = ((out - y) ** 2).mean()
    weights_penalty = 0.01 * np.abs(W).sum() + 0.1 * (b ** 2).sum()
    activity = 0.02 * np.abs(out).sum() + 0.03 * (out ** 2).sum()  # Keras 2.3: summed, not averaged
    history = model.fit(x, y, batch_size=n, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(mse + weights_penalty + activity, rel=1e-5)
    # evaluate reports the same total loss, and the same value every time
    first = model.evaluate(x, y, batch_size=n, verbose=0)
    assert first == pytest.approx(mse + weights_penalty + activity, rel=1e-5)
    assert model.evaluate(x, y, batch_size=n, verbose=0) == first
    assert_close(model.get_weights()[0], W.astype(np.float32), 0, 0, "SGD(0.0) leaves weights alone")


def test_activity_penalty_on_a_fused_softmax_output(rng):
    """With softmax + cross-entropy fit feeds logits to the loss; the penalty still sees the
    softmax output: l1 * sum|p| = l1 * n, since every row of p sums to 1."""
    n = 20
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    model = Sequential([Dense(3, input_dim=4, activation="softmax", activity_regularizer=regularizers.l1(0.1))])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.0))
    p = model.predict(x).astype(np.float64)
    cross_entropy = -(y * np.log(p)).sum(-1).mean()
    loss = model.fit(x, y, batch_size=n, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    assert loss == pytest.approx(cross_entropy + 0.1 * n, rel=1e-5)


def test_activity_penalty_per_call_in_both_phases(rng):
    layer = Dense(3, input_dim=4, activity_regularizer="l2")
    x = Tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = layer(x, training=True)
    assert len(layer.losses) == 1
    assert layer.losses[0].item() == pytest.approx(0.01 * (to_host(y.data).astype(np.float64) ** 2).sum(), rel=1e-5)
    layer(x, training=True)
    assert len(layer.losses) == 1, "losses are per call, not accumulated"
    layer(x, training=False)
    assert len(layer.losses) == 1, "Keras 2.3 counts the activity penalty at test time too"


def test_activity_penalty_gradient_reaches_the_weights(rng):
    """d/dW of l * sum|x W|, against torch."""
    x = rng.standard_normal((6, 4))
    layer = Dense(3, input_dim=4, use_bias=False, activity_regularizer=regularizers.l1(0.5), dtype="float64")
    layer(Tensor(x), training=True)
    layer.losses[0].backward()
    tW = torch.tensor(layer.get_weights()[0], requires_grad=True)
    (0.5 * (torch.tensor(x) @ tW).abs().sum()).backward()
    assert_close(layer.kernel.grad, tW.grad.numpy(), 1e-12, 1e-10, "dR/dW")


def test_prelu_alpha_regularizer_is_in_the_penalty(rng):
    model = Sequential([Dense(3, input_dim=2, kernel_initializer="zeros"),
                        PReLU(alpha_initializer="ones", alpha_regularizer=regularizers.l1(0.5))])
    model.compile(loss="mse", optimizer=SGD(0.0))
    x = rng.standard_normal((4, 2)).astype(np.float32)
    # a zero kernel gives zero outputs, so the reported loss is the penalty alone: 0.5 * |alpha| summed
    assert model.evaluate(x, np.zeros((4, 3), np.float32), verbose=0) == pytest.approx(0.5 * 3)


def test_zero_regularizer_in_evaluate(rng):
    model = Sequential([Dense(2, input_dim=3, kernel_regularizer=regularizers.L1L2(0.0, 0.0))])
    model.compile(loss="mse", optimizer=SGD(0.0))
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    assert np.isfinite(model.evaluate(x, y, verbose=0))


def test_get_serialize_round_trip():
    reg = regularizers.l1_l2(0.3, 0.4)
    spec = regularizers.serialize(reg)
    assert spec == {"class_name": "L1L2", "config": {"l1": 0.3, "l2": 0.4}}
    back = regularizers.get(spec)
    assert (back.l1, back.l2) == (0.3, 0.4)
    assert regularizers.get(None) is None and regularizers.get(reg) is reg
    config = Dense(3, kernel_regularizer=reg, activity_regularizer="l2").get_config()
    assert Dense.from_config(config).get_config() == config


def test_bad_regularizers():
    with pytest.raises(ConfigError, match="l1_l2"):
        regularizers.get("l3")
    with pytest.raises(ConfigError, match=r"Received: l1=-1"):
        regularizers.l1(-1)
    with pytest.raises(ConfigError, match=r"Received: l2='a'"):
        regularizers.L1L2(l2="a")
    with pytest.raises(ConfigError, match="Could not interpret regularizer"):
        regularizers.get(3.5)


def test_public_paths_name_the_same_regularizers():
    """The code lives in threestep.layers.regularizers; threestep.regularizers and the Keras 2 path
    threestep.keras.regularizers (``from keras import regularizers``) are the same objects."""
    from threestep import keras
    from threestep.layers import regularizers as beside_layers

    for name in ("L1L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"):
        assert getattr(regularizers, name) is getattr(beside_layers, name) is getattr(keras.regularizers, name)
    assert Dense(2, kernel_regularizer=keras.regularizers.l2(0.1)).kernel_regularizer.get_config() == \
        {"l1": 0.0, "l2": 0.1}


def test_tf_keras_capitalised_l1_and_l2_classes():
    """tf.keras code spells them ``L1(0.01)``, ``L2(l2=1e-4)`` (classes; Keras 2's ``l`` keyword too)."""
    from keras_oracle import import_tf_keras  # noqa: PLC0415
    from threestep.keras import regularizers as kr  # noqa: PLC0415
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential, model_from_json  # noqa: PLC0415

    tfk = import_tf_keras()
    w = np.random.default_rng(4).normal(size=(5, 3)).astype(np.float32)
    for ours, theirs in ((kr.L1(0.02), tfk.regularizers.L1(0.02)), (kr.L2(l2=0.3), tfk.regularizers.L2(l2=0.3)),
                         (kr.L2(), tfk.regularizers.L2()), (kr.L1(l=0.5), tfk.regularizers.L1(l=0.5))):
        assert float(ours(Tensor(w)).data) == pytest.approx(float(theirs(w)), rel=1e-5)
        assert ours.get_config() == pytest.approx(theirs.get_config())
        assert isinstance(ours, kr.Regularizer)
    with pytest.raises(ConfigError, match="l2 must be a finite number >= 0"):
        kr.L2(-1.0)
    with pytest.raises(ConfigError, match="unexpected"):
        kr.L1(0.1, l2=0.2)
    model = Sequential([Dense(3, input_shape=(5,), kernel_regularizer=kr.L2(1e-3), bias_regularizer=kr.L1(1e-2))])
    again = model_from_json(model.to_json())
    assert again.layers[0].kernel_regularizer.get_config() == {"l1": 0.0, "l2": 1e-3}
    assert again.layers[0].bias_regularizer.get_config() == {"l1": 1e-2, "l2": 0.0}
