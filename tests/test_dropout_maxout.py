"""Dropout (statistics, train/test switch, gradients, seeds) and Maxout (ops, ReLU exactly, learning)."""
import inspect

import numpy as np
import pytest
import torch

import threestep.ops as ops
from helpers import assert_close, check_against_torch, check_gradcheck, check_same, to_host
from threestep import backend
from threestep.autograd import Tensor
from threestep.autograd import test_mode as eval_mode  # not collected as a test
from threestep.errors import ConfigError, NotBuiltError, ShapeError
from threestep.layers.core import Dense
from threestep.layers.dropout import Dropout
from threestep.layers.maxout import Maxout
from threestep.models import Sequential
from threestep.ops import activations as act_ops
from threestep.ops import maxout as mx

# The op functions these tests cover (for tests/test_ops.py's every-exported-op check).
COVERED_OPS = {"dropout", "argmax_reduce", "maxout_activation", "maxout_linear"}


def test_covered_ops_exist():
    modules = (act_ops, mx)
    assert all(any(callable(getattr(m, name, None)) for m in modules) for name in COVERED_OPS)


# ================================================================ Dropout


def _ones(shape=(500, 1000)):
    return Tensor(np.ones(shape, np.float32), requires_grad=True)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_preserves_the_mean_and_drops_rate_of_units(rate):
    backend.set_seed(1)
    y = Dropout(rate)(_ones(), training=True).data
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(1 - kept.mean() - rate) < 0.005, f"fraction dropped {1 - kept.mean():.4f}, rate {rate}"
    assert abs(y.mean() - 1) < 0.01, f"mean {y.mean():.4f}"
    assert_close(y[kept], np.full(kept.sum(), 1 / (1 - rate), np.float32), 0, 1e-6, "survivors")


def test_a_new_mask_every_call():
    layer = Dropout(0.5)
    a, b = layer(_ones((64, 64)), training=True).data, layer(_ones((64, 64)), training=True).data
    assert not np.array_equal(a, b)


def test_identity_at_test_time():
    x = _ones((8, 16))
    layer = Dropout(0.5)
    assert layer(x, training=False) is x
    with eval_mode():
        assert layer(x) is x  # training=None follows Config.training
    assert not np.array_equal(layer(x).data, x.data)  # outside test_mode a plain call trains
    assert Dropout(0.0)(x, training=True) is x


def test_gradient_flows_only_through_kept_units_scaled():
    rate = 0.25
    x = Tensor(np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32), requires_grad=True)
    y = Dropout(rate)(x, training=True)
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    kept = to_host(y.data) != 0
    assert x.grad.dtype == np.float32
    assert_close(x.grad, np.where(kept, gy / (1 - rate), 0), 1e-7, 1e-6, "dL/dx")
    assert_close(y.data, np.where(kept, to_host(x.data) / (1 - rate), 0), 1e-7, 1e-6, "y")


def test_dropout_op_gradcheck_with_a_fixed_mask(rng):
    mask = (rng.random((4, 5)) > 0.3) / 0.7
    check_gradcheck(lambda x: act_ops.DropoutMask(mask)(x), [rng.standard_normal((4, 5))])


def test_dropout_op_with_its_own_generator(rng):
    x = rng.standard_normal((30, 20)).astype(np.float32)
    y = act_ops.dropout(x, 0.4, rng=np.random.default_rng(5))
    keep = np.random.default_rng(5).random((30, 20), dtype=np.float32) >= 0.4
    assert isinstance(y, Tensor) and y.dtype == np.float32
    assert np.array_equal(to_host(y.data), np.where(keep, x * np.float32(1 / 0.6), 0))
    x_t = Tensor(x)
    assert act_ops.dropout(x_t, 0.0) is x_t


def test_seeded_masks_repeat():
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    masks_a = [a(_ones((32, 32)), training=True).data for _ in range(3)]
    masks_b = [b(_ones((32, 32)), training=True).data for _ in range(3)]
    for ma, mb in zip(masks_a, masks_b):
        assert np.array_equal(ma, mb)
    assert not np.array_equal(masks_a[0], masks_a[1])
    assert not np.array_equal(masks_a[0], Dropout(0.5, seed=8)(_ones((32, 32)), training=True).data)
    backend.set_seed(3)
    first = Dropout(0.5)(_ones((32, 32)), training=True).data
    backend.set_seed(3)
    assert np.array_equal(first, Dropout(0.5)(_ones((32, 32)), training=True).data)


@pytest.mark.parametrize("rate", [1.5, 1.0, -0.1, "0.5", None, True])
def test_rate_validation(rate):
    with pytest.raises(ConfigError, match=rf"Received: rate={rate!r}".replace("(", r"\(").replace(".", r"\.")):
        Dropout(rate)


def test_rate_error_message():
    with pytest.raises(ConfigError, match=r"Received: rate=1\.5"):
        Dropout(1.5)


def test_noise_shape_broadcasts_like_keras():
    x = _ones((6, 5, 40))
    y = Dropout(0.5, noise_shape=(None, 1, 40), seed=0)(x, training=True).data
    assert np.array_equal(y, np.broadcast_to(y[:, :1, :], y.shape)), "same mask at every time step"
    assert 0 < (y == 0).mean() < 1
    y = Dropout(0.5, noise_shape=(6, 1, 1), seed=0)(x, training=True).data
    assert all(len(np.unique(y[i])) == 1 for i in range(6)), "whole samples kept or dropped"
    with pytest.raises(ShapeError, match=r"noise_shape \(None, 2, 40\)"):
        Dropout(0.5, noise_shape=(None, 2, 40))(x, training=True)
    with pytest.raises(ShapeError, match="noise_shape"):
        Dropout(0.5, noise_shape=(None, 40))(x, training=True)
    with pytest.raises(ConfigError, match=r"Received: noise_shape=5"):
        Dropout(0.5, noise_shape=5)


def test_predict_is_deterministic_and_fit_uses_dropout(rng):
    backend.set_seed(0)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    y = rng.standard_normal((64, 3)).astype(np.float32)
    model = Sequential([Dense(32, activation="relu", input_dim=10), Dropout(0.5), Dense(3)])
    plain = Sequential([Dense(32, activation="relu", input_dim=10), Dense(3)])
    plain.set_weights(model.get_weights())
    p1, p2 = model.predict(x), model.predict(x)
    assert np.array_equal(p1, p2)
    assert np.array_equal(p1, plain.predict(x)), "Dropout must be the identity in predict"
    from threestep.optimizers import SGD

    model.compile(loss="mse", optimizer=SGD(0.0))
    plain.compile(loss="mse", optimizer=SGD(0.0))
    fit_loss = model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    assert fit_loss != pytest.approx(plain.evaluate(x, y, verbose=0), rel=1e-6), "fit should drop units"
    assert model.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0), rel=1e-6)


# ================================================================ Maxout ops


def test_argmax_reduce_sends_the_gradient_to_the_first_max_only():
    x = Tensor(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, -1.0, 5.0, 4.0]]), requires_grad=True)
    y = mx.argmax_reduce(x, axis=1)
    assert_close(y.data, [3.0, 5.0], 0, 0, "max")
    y.backward(np.array([10.0, 20.0]))
    assert_close(x.grad, [[0, 10, 0, 0], [0, 0, 20, 0]], 0, 0, "grad at the arg-max")


@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, False), (-1, True), (-2, False)])
def test_argmax_reduce_against_torch(axis, keepdims, rng):
    check_gradcheck(lambda x: mx.argmax_reduce(x, axis, keepdims), [rng.standard_normal((3, 4, 5))])
    for dtype in (np.float32, np.float64):
        check_against_torch(lambda x: mx.argmax_reduce(x, axis, keepdims),
                            lambda x: torch.max(x, dim=axis, keepdim=keepdims).values,
                            [rng.standard_normal((3, 4, 5)).astype(dtype)])


def _torch_maxout_linear(pieces):
    def f(x, W, b=None):
        z = x @ W if b is None else x @ W + b
        return z.reshape(z.shape[:-1] + (pieces, -1)).max(dim=-2).values
    return f


MAXOUT_SHAPES = [((5, 4), 3, 2), ((2, 3, 4), 2, 3), ((1, 6), 4, 1)]  # x shape, units, pieces


@pytest.mark.parametrize("xshape, units, pieces", MAXOUT_SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_maxout_linear_gradcheck_torch_and_simple_twin(xshape, units, pieces, bias, rng):
    def make(dtype):
        xs = [rng.standard_normal(xshape), rng.standard_normal((xshape[-1], units * pieces))]
        xs += [rng.standard_normal(units * pieces)] if bias else []
        return [a.astype(dtype) for a in xs]

    ours = lambda *a: mx.maxout_linear(*a, pieces=pieces)  # noqa: E731
    check_gradcheck(ours, make(np.float64))
    for dtype in (np.float32, np.float64):
        check_against_torch(ours, _torch_maxout_linear(pieces), make(dtype))
        check_same(ours, lambda *a: mx.maxout_linear_simple(*a, pieces=pieces), make(dtype))


def test_maxout_activation_alone(rng):
    check_gradcheck(lambda z: mx.maxout_activation(z, 3), [rng.standard_normal((4, 6))])
    check_against_torch(lambda z: mx.maxout_activation(z, 3), lambda z: z.reshape(4, 3, 2).max(dim=1).values,
                        [rng.standard_normal((4, 6))])
    with pytest.raises(ShapeError, match="pieces=4"):
        mx.maxout_activation(Tensor(np.zeros((2, 6))), 4)


# ================================================================ Maxout layer


def test_weight_layout_is_piece_major(rng):
    layer = Maxout(3, pieces=2, input_dim=4, dtype="float64")
    layer.build_for((None, 4))
    W, b = layer.get_weights()
    assert W.shape == (4, 6) and b.shape == (6,)
    b = rng.standard_normal(6)
    layer.set_weights([W, b])
    x = rng.standard_normal((7, 4))
    want = np.maximum(x @ W[:, 0:3] + b[0:3], x @ W[:, 3:6] + b[3:6])
    assert_close(layer(Tensor(x)).data, want, 1e-12, 1e-12, "piece p = columns p*units:(p+1)*units")


def _relu_net(rng):
    backend.set_seed(4)
    d1 = Dense(16, activation="relu", input_dim=8, bias_initializer="random_normal")
    d2 = Dense(3)
    return Sequential([d1, d2])


def test_maxout_represents_relu_exactly(rng):
    relu_net = _relu_net(rng)
    d1, d2 = relu_net.layers
    twin_out = Dense(3)
    maxout_net = Sequential([Maxout.from_relu_dense(d1), twin_out])
    twin_out.set_weights(d2.get_weights())
    x = rng.standard_normal((200, 8)).astype(np.float32)
    assert np.array_equal(maxout_net.predict(x), relu_net.predict(x))
    # The same by hand with set_weights, as the docstring describes.
    W, b = d1.get_weights()
    by_hand = Maxout(16, pieces=2, input_dim=8)
    by_hand.build_for((None, 8))
    by_hand.set_weights([np.concatenate([0 * W, W], 1), np.concatenate([0 * b, b])])
    assert np.array_equal(by_hand(Tensor(x)).data, d1(Tensor(x)).data)


def test_maxout_relu_gradients_match_relu(rng):
    """The zero piece comes first, so a tie at z = 0 gets ReLU's subgradient 0."""
    d = Dense(5, activation="relu", input_dim=3, dtype="float64")
    d.build_for((None, 3))
    d.set_weights([rng.standard_normal((3, 5)), np.zeros(5)])
    m = Maxout.from_relu_dense(d)
    x = rng.standard_normal((6, 3))
    x[0] = 0  # every unit sits exactly at the kink
    grads = []
    for layer in (d, m):
        xt = Tensor(x, requires_grad=True)
        layer(xt).backward(np.ones((6, 5)))
        grads.append((xt.grad, layer.kernel.grad))
    assert_close(grads[1][0], grads[0][0], 1e-12, 1e-12, "dL/dx")
    assert_close(grads[1][0][0], np.zeros(3), 0, 0, "dL/dx at the tie")
    assert_close(grads[1][1][:, 5:], grads[0][1], 1e-12, 1e-12, "dL/dW of the ReLU piece")


def test_from_relu_dense_errors():
    with pytest.raises(ConfigError, match="activation='relu'"):
        Maxout.from_relu_dense(Dense(3, activation="tanh", input_dim=2))
    with pytest.raises(NotBuiltError):
        Maxout.from_relu_dense(Dense(3, activation="relu"))


def _train(layer, x, y, steps, lr, momentum=0.0):
    """A tiny manual loop: forward, MSE, backward, (momentum) SGD on .data."""
    velocity = [np.zeros_like(w.data) for w in layer.weights]
    for _ in range(steps):
        loss = ops.mean_squared_error(layer(Tensor(x)), Tensor(y))
        for w in layer.weights:
            w.grad = None
        loss.backward()
        for v, w in zip(velocity, layer.weights):
            v *= momentum
            v -= lr * w.grad
            w.data += v
    return float(loss.data)


def test_maxout_learns_abs():
    backend.set_seed(0)
    x = np.linspace(-2, 2, 201)[:, None]
    layer = Maxout(1, pieces=2, dtype="float64")
    layer.build_for((None, 1))
    mse = _train(layer, x, np.abs(x), steps=300, lr=0.1)
    assert mse < 1e-4, mse
    assert_close(np.sort(layer.kernel.data[0]), [-1, 1], 0.02, 0, "slopes of |x|")


def test_maxout_learns_a_convex_piecewise_linear_function():
    """max(-2x - 1, 0.5x, 1.5x - 1.2) from 3 pieces. A piece that wins nowhere gets no
    gradient (Maxout's dead-piece failure), so the pieces start as tangents of x^2/2 at
    spread points: each one wins on its own interval."""
    x = np.linspace(-2, 2, 201)[:, None]
    y = np.maximum.reduce([-2 * x - 1, 0.5 * x, 1.5 * x - 1.2])
    layer = Maxout(1, pieces=3, dtype="float64")
    layer.build_for((None, 1))
    c = np.linspace(-1.5, 1.5, 3)
    layer.set_weights([c[None, :], -c ** 2 / 2])
    mse = _train(layer, x, y, steps=300, lr=0.05, momentum=0.9)
    assert mse < 1e-3, mse
    assert np.abs(to_host(layer(Tensor(x)).data) - y).max() < 0.05
    assert_close(np.sort(layer.kernel.data[0]), [-2, 0.5, 1.5], 0.1, 0, "learned slopes")


def test_maxout_on_sequences_and_activity_regularizer(rng):
    layer = Maxout(4, pieces=3, activity_regularizer="l1")
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    y = layer(Tensor(x), training=True)
    assert y.shape == (2, 5, 4) and layer.compute_output_shape((None, 5, 6)) == (None, 5, 4)
    assert len(layer.losses) == 1
    assert layer.losses[0].item() == pytest.approx(0.01 * np.abs(to_host(y.data)).sum(), rel=1e-5)
    layer(Tensor(x), training=False)
    assert len(layer.losses) == 1  # Keras 2.3: the penalty counts at test time too
    with pytest.raises(ShapeError, match="expects 6 input features"):
        layer.build_for((None, 5, 7))


@pytest.mark.parametrize("make, match", [
    (lambda: Maxout(0), r"Received: units=0"),
    (lambda: Maxout(3, pieces=0), r"Received: pieces=0"),
    (lambda: Maxout(3, pieces=2.5), r"Received: pieces=2\.5"),
    (lambda: Maxout(3, kernel_initializer="nope"), "nope"),
])
def test_maxout_bad_arguments(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


@pytest.mark.parametrize("layer", [
    Maxout(5, pieces=3, use_bias=False, kernel_regularizer="l2", input_dim=4, name="mo"),
    Dropout(0.3, noise_shape=(None, 1, 8), seed=2, name="do"),
], ids=["Maxout", "Dropout"])
def test_get_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    init_args = set(inspect.signature(type(layer).__init__).parameters) - {"self", "kwargs"}
    assert set(config) - {"name", "trainable", "dtype", "batch_input_shape"} == init_args
