"""A convolution and the max pooling after it as one graph node in training (``ops.conv_pool``
``ConvMaxPool``): the same loss, outputs and gradients (weights and input) as the two layers run
one after the other, the same weights after ``fit``, and the layers as written wherever the pair
must not merge (a user's ``call``, a kept intermediate)."""
import importlib

import numpy as np
import pytest

import threestep.ops as ops
from threestep import layers as L
from threestep.accel import kernels
from threestep.autograd import Tensor
from threestep.models import Model, Sequential
from helpers import numpy_only

pytestmark = numpy_only("the fused node serves NumPy float32 arrays; on a GPU the two layers run")
pool_module = importlib.import_module("threestep.ops.conv_pool")

CASES = {
    "lecture CNN": (lambda: [L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(5, 3, activation="relu"),
                             L.MaxPooling2D(2), L.Flatten(), L.Dense(3)], (12, 12, 1)),
    "lecture spelling, pools that leave a border": (lambda: [L.Conv2D(4, 3), L.Activation("relu"), L.MaxPooling2D(2),
                                                             L.Flatten(), L.Dense(3)], (12, 11, 2)),
    "linear, no bias, same padding, overlapping pools": (lambda: [
        L.Conv2D(4, 3, strides=2, padding="same", use_bias=False), L.MaxPooling2D((3, 2), strides=(2, 1)),
        L.Flatten(), L.Dense(2)], (13, 12, 3)),
    "1-D": (lambda: [L.Conv1D(4, 5, activation="relu"), L.MaxPooling1D(3, strides=2), L.Flatten(), L.Dense(2)],
            (30, 2)),
    "dilated, same padding": (lambda: [L.Conv2D(3, 3, dilation_rate=(2, 1), padding="same", activation="relu"),
                                       L.MaxPooling2D(2), L.Flatten(), L.Dense(2)], (9, 10, 2)),
}


def _model(case):
    make, shape = CASES[case]
    model = Sequential(make())
    model.build((None,) + shape)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # biases too, so that every term of the gradient shows
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in layer.get_weights()])
    return model, shape


def _loss_and_grads(model, x, fused, x_grad=True):
    """sum(output^2) and d/d(every weight[, x]), through ``model.forward`` (fused) or layer by
    layer. Without ``x_grad`` the first convolution's input needs no gradient (data, in ``fit``)."""
    for w in model.trainable_weights:
        w.grad = None
    xt = Tensor(x, requires_grad=x_grad)
    if fused:
        out = model.forward(xt, training=True)
    else:
        out = xt
        for layer in model.layers:
            out = layer(out, training=True)
    loss = (out * out).sum()
    loss.backward()
    return out.numpy(), [w.grad.copy() for w in model.trainable_weights] + ([xt.grad] if x_grad else [])


@pytest.fixture
def fused_nodes(monkeypatch):
    """The ConvMaxPool nodes made (their count)."""
    made = []
    real = pool_module.ConvMaxPool

    class Counting(real):
        def __init__(self, *args):
            made.append(1)
            super().__init__(*args)
    monkeypatch.setattr(pool_module, "ConvMaxPool", Counting)
    return made


@pytest.mark.parametrize("blas_threads", [1, 2])
@pytest.mark.parametrize("x_grad", [True, False], ids=["input gradient", "first layer"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_equal_the_two_layers(case, x_grad, blas_threads, fused_nodes, monkeypatch):
    """On one BLAS thread the input gradient comes from the chunked Numba pass too, on two from
    the whole batch's GEMM and scatter-add (``ConvMaxPool.backward``)."""
    from threestep.accel import conv_kernels, threads

    monkeypatch.setattr(conv_kernels, "GRAD_CACHE_BYTES", 5000)  # a few images per chunk, a short last one
    monkeypatch.setattr(threads, "blas_threads", lambda: blas_threads)
    model, shape = _model(case)
    x = np.random.default_rng(1).standard_normal((5,) + shape).astype(np.float32)
    out, grads = _loss_and_grads(model, x, fused=True, x_grad=x_grad)
    assert len(fused_nodes) == (2 if case == "lecture CNN" else 1) * kernels.available()
    expected_out, expected = _loss_and_grads(model, x, fused=False, x_grad=x_grad)
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_fit_trains_the_same_weights(monkeypatch):
    model, shape = _model("lecture CNN")
    twin, _ = _model("lecture CNN")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16,) + shape).astype(np.float32), rng.integers(0, 3, 16)
    for m in (model, twin):
        m.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    monkeypatch.setattr(ops, "conv_max_pool", lambda *args: None)  # the two layers, as written
    twin.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_ties_and_negative_windows_get_no_gradient():
    """A window whose values are all <= 0 pools to 0 after the ReLU: no gradient reaches any of
    its cells (the layers' ReLU derivative is 0 at 0), whichever cell the max picked."""
    model = Sequential([L.Conv2D(1, 1, activation="relu", use_bias=False), L.MaxPooling2D(2)])
    model.build((None, 2, 4, 1))
    model.layers[0].set_weights([np.ones((1, 1, 1, 1), np.float32)])
    x = np.array([[[-1.0, -2.0, 3.0, 3.0], [-0.5, 0.0, 1.0, 2.0]]], np.float32)[..., None]
    out, (_, gx) = _loss_and_grads(model, x, fused=True)
    np.testing.assert_array_equal(out.reshape(-1), [0.0, 3.0])
    np.testing.assert_array_equal(gx.reshape(2, 4), [[0, 0, 6, 0], [0, 0, 0, 0]])  # the first max of the tie


def test_a_functional_cnn_trains_through_the_fused_node(fused_nodes):
    inp = L.Input((12, 12, 2))
    h = L.MaxPooling2D(2)(L.Conv2D(5, 3, activation="relu")(inp))
    model = Model(inp, L.Dense(2)(L.Flatten()(h)))
    x = np.random.default_rng(3).standard_normal((4, 12, 12, 2)).astype(np.float32)
    out, grads = _loss_and_grads(model, x, fused=True)
    assert len(fused_nodes) == kernels.available()
    with_layers = Sequential(list(model.layers))
    expected_out, expected = _loss_and_grads(with_layers, x, fused=False)
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_subclass_with_its_own_call_is_not_merged(fused_nodes):
    class Doubled(L.Conv2D):
        def call(self, x, training=None):
            return super().call(x) * 2.0

    model = Sequential([Doubled(3, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten()])
    model.build((None, 8, 8, 1))
    x = np.random.default_rng(4).standard_normal((2, 8, 8, 1)).astype(np.float32)
    out, _ = _loss_and_grads(model, x, fused=True)
    expected, _ = _loss_and_grads(model, x, fused=False)
    assert fused_nodes == []
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)
