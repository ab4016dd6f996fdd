"""A convolution and the max pooling after it in one pass in test mode (``ops.conv_max_pool``,
``models.fusion.pooled_steps``): the same outputs as the two layers, where it serves and only
there ('same' pooling and observable intermediates run as written)."""
import importlib

import numpy as np
import pytest

import threestep.ops as ops
from threestep import layers as L
from threestep.accel import conv_kernels, kernels
from threestep.autograd import Tensor, no_grad
from threestep.models import Sequential
from helpers import numpy_only

conv_module = importlib.import_module("threestep.ops.conv")
pytestmark = numpy_only("the fused pass serves NumPy float32 arrays; on a GPU the two layers run")
COVERED_OPS = {"conv_max_pool"}  # read by test_ops.test_every_exported_op_has_a_case


@pytest.fixture
def fused_calls(monkeypatch):
    """How many times the fused pass served (its calls that returned a result)."""
    served = []
    real = ops.conv_max_pool

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        served.append(out is not None)
        return out

    monkeypatch.setattr(ops, "conv_max_pool", counting)
    return served


def _unfused(model, x):
    """The model's test-mode output with every layer run on its own."""
    h = Tensor(x)
    with no_grad():
        for layer in model.layers:
            h = layer(h, training=False)
    return h.numpy()


CASES = {
    "lecture CNN": lambda: [L.Conv2D(6, 3, activation="relu", input_shape=(12, 12, 1)), L.MaxPooling2D(2),
                            L.Conv2D(5, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(3)],
    "lecture spelling": lambda: [L.Conv2D(4, 3, input_shape=(11, 10, 2)), L.Activation("relu"), L.MaxPooling2D(2),
                                 L.Flatten(), L.Dense(3)],
    "linear, no bias, same padding, strides": lambda: [
        L.Conv2D(4, 3, strides=2, padding="same", use_bias=False, input_shape=(13, 12, 3)),
        L.MaxPooling2D((3, 2), strides=(2, 1)), L.Flatten()],
    "1-D": lambda: [L.Conv1D(4, 5, activation="relu", input_shape=(30, 2)), L.MaxPooling1D(3, strides=2),
                    L.GlobalAveragePooling1D()],
    "dilated": lambda: [L.Conv2D(3, 3, dilation_rate=(1, 2), activation="relu", input_shape=(12, 13, 2)),
                        L.MaxPooling2D(2), L.Flatten()],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("chunk_bytes", [1, 3000, 8 << 20])
def test_the_fused_pass_equals_the_two_layers(monkeypatch, fused_calls, case, chunk_bytes):
    """One image per chunk, a few with a short last chunk, and the whole batch at once."""
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)  # the NumPy path's chunks (no Numba)
    monkeypatch.setattr(conv_kernels, "CACHE_BYTES", chunk_bytes)  # the Numba pass's
    model = Sequential(CASES[case]())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7,) + model.layers[0].input_shape[1:]).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, batch_size=7), _unfused(model, x), rtol=1e-6, atol=1e-6)
    # served where the Numba kernels are (the pooling kernel); else asked, declined, run as two layers
    assert fused_calls and all(fused_calls) if kernels.available() else fused_calls and not any(fused_calls)
    x[0, 1, 1] = np.nan  # a nan stays nan through max and ReLU, as in the layers (predict refuses it)
    with no_grad():
        got = model.forward(Tensor(x)).numpy()
    expected = _unfused(model, x)
    assert np.isnan(got).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_training_and_recorded_graphs_take_the_fused_node(fused_calls):
    """In training the pair is one graph node (``ConvMaxPool``; its gradients are checked in
    test_conv_pool_training.py), in evaluate and predict the one pass."""
    model = Sequential(CASES["lecture CNN"]())
    model.compile("sgd", "mse")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 12, 12, 1)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert len(fused_calls) == 4 and all(fused_calls) == kernels.available()  # two pairs, two steps
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    out = model.forward(Tensor(x))  # grad enabled, weights that need gradients: a graph is recorded
    out.sum().backward()
    assert model.layers[0].kernel.grad is not None and model.layers[2].kernel.grad is not None
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    assert len(fused_calls) == 10 and all(fused_calls) == kernels.available()


@pytest.mark.parametrize("make", [
    lambda: [L.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), L.MaxPooling2D(2, padding="same")],
    lambda: [L.Conv2D(4, 3, activation="tanh", input_shape=(10, 10, 1)), L.MaxPooling2D(2)],
    lambda: [L.Conv2D(4, 3, activation="relu", activity_regularizer="l2", input_shape=(10, 10, 1)),
             L.MaxPooling2D(2)],
    lambda: [L.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), L.AveragePooling2D(2)],
    lambda: [L.Conv2D(4, 3, activation="relu", data_format="channels_first", input_shape=(1, 10, 10)),
             L.MaxPooling2D(2, data_format="channels_first")],
])
def test_pairs_the_pass_does_not_take_run_as_two_layers(fused_calls, make):
    model = Sequential(make())
    x = np.random.default_rng(2).standard_normal((3,) + model.layers[0].input_shape[1:]).astype(np.float32)
    got = model.predict(x)
    assert not any(fused_calls)
    np.testing.assert_allclose(got, _unfused(model, x), rtol=1e-6, atol=1e-6)


def test_float64_inputs_fall_back_to_the_layers():
    model = Sequential(CASES["lecture CNN"]())
    x = np.random.default_rng(3).standard_normal((2, 12, 12, 1))
    W, b = model.layers[0].kernel, model.layers[0].bias
    with no_grad():
        assert ops.conv_max_pool(Tensor(x), W, b, 1, "valid", 1, True, (2, 2), (2, 2)) is None
        direct = ops.conv_max_pool(Tensor(x.astype(np.float32)), W, b, 1, "valid", 1, True, (2, 2), (2, 2))
    assert direct is None if not kernels.available() else direct.shape == (2, 5, 5, 6)
    np.testing.assert_allclose(model.predict(x), _unfused(model, x.astype(np.float32)), rtol=1e-5, atol=1e-5)


def _functional(kind):
    """A functional CNN: the pairs the pass takes, and one it must not (an observed conv output)."""
    from threestep.models import Model

    inp = L.Input((12, 12, 2))
    if kind == "chain":  # the lecture CNN, one ReLU fused and one spelled as Activation("relu")
        h = L.MaxPooling2D(2)(L.Conv2D(5, 3, activation="relu")(inp))
        h = L.MaxPooling2D(2)(L.Activation("relu")(L.Conv2D(4, 3)(h)))
        return Model(inp, L.Dense(3)(L.Flatten()(h)))
    conv = L.Conv2D(4, 3, activation="relu")(inp)  # read by the pooling and by a second branch
    pooled = L.Flatten()(L.MaxPooling2D(2)(conv))
    return Model(inp, [L.Dense(2)(pooled), L.Dense(2)(L.GlobalAveragePooling2D()(conv))])


def _unfused_graph(model, x):
    with no_grad():
        values = {}
        for _ in model._graph.steps([Tensor(x)], False, values=values):
            pass
        return [values[t.uid].numpy() for t in model._graph.outputs]


@pytest.mark.parametrize("kind", ["chain", "observed"])
def test_functional_models_take_the_pass_where_the_pooling_alone_reads_the_convolution(fused_calls, kind):
    model = _functional(kind)
    x = np.random.default_rng(4).standard_normal((5, 12, 12, 2)).astype(np.float32)
    got = model.predict(x, batch_size=5)
    for a, b in zip(got if isinstance(got, list) else [got], _unfused_graph(model, x)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    served = sum(fused_calls)
    assert served == ((2 if kind == "chain" else 0) if kernels.available() else 0)
    assert len(fused_calls) == (2 if kind == "chain" else 0)
    model.compile("sgd", "mse")
    if kind == "chain":  # training takes the fused node too (test_conv_pool_training.py)
        before = len(fused_calls)
        model.fit(x, np.zeros((5, 3), np.float32), epochs=1, verbose=0)
        assert len(fused_calls) == before + 2


@pytest.mark.parametrize("channels", [1, 3])  # one channel: the patches built per kernel offset
@pytest.mark.parametrize("strides, dilation, padding, pool, pool_strides, relu, bias", [
    (1, 1, "valid", (2, 2), (2, 2), True, True), (2, 1, "valid", (3, 2), (2, 1), False, True),
    (1, 1, "valid", (2, 3), (1, 2), True, False), (1, 1, "valid", (2, 2), (1, 1), True, True),  # overlapping 2x2
    (1, (1, 2), "same", (2, 2), (2, 2), False, False),
    ((2, 1), 1, "valid", (2, 2), (3, 3), True, True),  # windows with gaps between them
])
def test_conv_max_pool_against_torch(channels, strides, dilation, padding, pool, pool_strides, relu, bias):
    """Outputs equal PyTorch's convolution, ReLU and max pooling; the inputs' sizes leave the
    convolution's last column (and some rows) outside every window."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 14, 13, channels)).astype(np.float32)
    W = rng.standard_normal((3, 3, channels, 7)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32) if bias else None
    with no_grad():
        ours = ops.conv_max_pool(Tensor(x), Tensor(W), None if b is None else Tensor(b), strides, padding, dilation,
                                 relu, pool, pool_strides)
    if not kernels.available():  # THREESTEP_NUMBA=0: not served, the layers run instead
        assert ours is None
        return
    ours = ours.numpy()
    z = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(W).permute(3, 2, 0, 1),
                                   None if b is None else torch.from_numpy(b), stride=strides, padding=padding,
                                   dilation=dilation)
    z = torch.relu(z) if relu else z
    theirs = torch.nn.functional.max_pool2d(z, pool, pool_strides).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
