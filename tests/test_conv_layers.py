"""Convolution, pooling and reshaping layers: PyTorch oracle at layer level, shapes,
build-time errors, configs, and a small CNN trained end to end."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import errors
from threestep.autograd import Tensor
from threestep.layers import (
    AveragePooling1D, AveragePooling2D, Conv1D, Conv2D, Cropping1D, Cropping2D, Dense, Flatten,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
    MaxPooling2D, Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)
from threestep.models import Sequential
from helpers import to_host


@pytest.fixture
def float64():
    ts.backend.set_floatx("float64")
    yield
    ts.backend.set_floatx("float32")


def lecture_cnn(data_format="channels_last"):
    shape = (1, 28, 28) if data_format == "channels_first" else (28, 28, 1)
    return Sequential([
        Conv2D(25, (3, 3), activation="relu", input_shape=shape, data_format=data_format),
        MaxPooling2D((2, 2), data_format=data_format),
        Conv2D(50, (3, 3), activation="relu", data_format=data_format),
        MaxPooling2D((2, 2), data_format=data_format),
        Flatten(), Dense(100, activation="relu"), Dense(10, activation="softmax")])


@pytest.mark.parametrize("data_format,shapes", [
    ("channels_first", [(25, 26, 26), (25, 13, 13), (50, 11, 11), (50, 5, 5), (1250,)]),
    ("channels_last", [(26, 26, 25), (13, 13, 25), (11, 11, 50), (5, 5, 50), (1250,)]),
])
def test_lecture_cnn_summary(data_format, shapes, capsys):
    model = lecture_cnn(data_format)
    assert [layer.output_shape[1:] for layer in model.layers[:5]] == shapes
    assert [layer.count_params() for layer in model.layers] == [250, 0, 11300, 0, 0, 125100, 1010]
    model.summary()
    out = capsys.readouterr().out
    for s in shapes:
        assert "(None, " + ", ".join(map(str, s)) + ")" in out
    assert "Total params: 137,660" in out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=(3, 2), strides=2, padding="same"),
    dict(kernel_size=2, padding="same"), dict(kernel_size=3, dilation_rate=2), dict(kernel_size=(1, 3), strides=(2, 1)),
])
def test_conv2d_layer_matches_torch(float64, data_format, kwargs):
    rng = np.random.default_rng(0)
    layer = Conv2D(4, data_format=data_format, activation="tanh", **kwargs)
    x_last = rng.standard_normal((2, 7, 8, 3))
    x = x_last.transpose(0, 3, 1, 2).copy() if data_format == "channels_first" else x_last
    xt = Tensor(x, requires_grad=True)
    y = layer(xt)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    kernel, bias = layer.get_weights()
    tx = torch.tensor(x_last.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    tw = torch.tensor(kernel.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    k = layer.kernel_size
    d = layer.dilation_rate
    s = layer.strides
    inp = tx
    if layer.padding == "same":  # TensorFlow's rule: the odd cell goes after
        pads = []
        for size, kk, dd, ss in zip(x_last.shape[1:3], k, d, s):
            total = max((-(-size // ss) - 1) * ss + (kk - 1) * dd + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        inp = torch.nn.functional.pad(tx, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    ty = torch.tanh(torch.nn.functional.conv2d(inp, tw, tb, stride=s, dilation=d))
    ty_ours_layout = ty if data_format == "channels_first" else ty.permute(0, 2, 3, 1)
    np.testing.assert_allclose(to_host(y.data), ty_ours_layout.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert tuple(layer.compute_output_shape((None,) + x.shape[1:])[1:]) == y.shape[1:]
    ty_ours_layout.backward(torch.from_numpy(gy))
    gx = tx.grad.numpy() if data_format == "channels_first" else tx.grad.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(to_host(xt.grad), gx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(to_host(layer.kernel.grad), tw.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(to_host(layer.bias.grad), tb.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_conv1d_layer_matches_torch(float64, padding):
    rng = np.random.default_rng(1)
    layer = Conv1D(5, 3, strides=1, padding=padding)
    x = rng.standard_normal((2, 9, 2))
    y = layer(Tensor(x))
    kernel, bias = layer.get_weights()
    left = {"valid": 0, "same": 1, "causal": 2}[padding]
    right = {"valid": 0, "same": 1, "causal": 0}[padding]
    tx = torch.nn.functional.pad(torch.tensor(x.transpose(0, 2, 1).copy()), (left, right))
    ty = torch.nn.functional.conv1d(tx, torch.tensor(kernel.transpose(2, 1, 0).copy()), torch.tensor(bias))
    np.testing.assert_allclose(to_host(y.data), ty.numpy().transpose(0, 2, 1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer,torch_fn", [
    (MaxPooling2D(2), lambda t: torch.nn.functional.max_pool2d(t, 2)),
    (MaxPooling2D(3, strides=2), lambda t: torch.nn.functional.max_pool2d(t, 3, 2)),
    (AveragePooling2D(2), lambda t: torch.nn.functional.avg_pool2d(t, 2)),
    (GlobalMaxPooling2D(), lambda t: t.amax(dim=(2, 3))),
    (GlobalAveragePooling2D(), lambda t: t.mean(dim=(2, 3))),
])
def test_pooling_layers_match_torch(float64, layer, torch_fn):
    x = np.random.default_rng(2).standard_normal((2, 7, 7, 3))
    y = layer(Tensor(x))
    ty = torch_fn(torch.tensor(x.transpose(0, 3, 1, 2).copy())).numpy()
    expected = ty.transpose(0, 2, 3, 1) if ty.ndim == 4 else ty
    np.testing.assert_allclose(to_host(y.data), expected, rtol=1e-12)
    assert tuple(layer.compute_output_shape((None, 7, 7, 3))) == (None,) + y.shape[1:]


@pytest.mark.parametrize("layer,in_shape,out_shape", [
    (MaxPooling1D(2), (8, 3), (4, 3)), (AveragePooling1D(3, strides=1, padding="same"), (8, 3), (8, 3)),
    (GlobalMaxPooling1D(), (8, 3), (3,)), (GlobalAveragePooling1D(), (8, 3), (3,)),
    (ZeroPadding2D(2), (19, 19, 48), (23, 23, 48)), (ZeroPadding2D(((1, 0), (2, 3))), (4, 4, 1), (5, 9, 1)),
    (ZeroPadding1D(1), (5, 2), (7, 2)), (Cropping2D(((1, 1), (2, 0))), (6, 6, 2), (4, 4, 2)),
    (Cropping1D((1, 2)), (6, 2), (3, 2)), (UpSampling2D(2), (3, 4, 2), (6, 8, 2)), (UpSampling1D(3), (3, 2), (9, 2)),
    (Reshape((7, 4)), (28,), (7, 4)), (Reshape((-1, 2)), (4, 3), (6, 2)),
])
def test_shape_layers(layer, in_shape, out_shape):
    x = Tensor(np.random.default_rng(3).standard_normal((2,) + in_shape), requires_grad=True)
    y = layer(x)
    assert y.shape == (2,) + out_shape
    assert tuple(layer.compute_output_shape((None,) + in_shape)) == (None,) + out_shape
    y.backward(np.ones(y.shape))
    assert x.grad.shape == x.shape


def test_zero_padding_and_cropping_values():
    x = np.arange(4.0).reshape(1, 2, 2, 1)
    padded = to_host(ZeroPadding2D(1)(x).data[0, :, :, 0])
    np.testing.assert_array_equal(padded, np.pad(x[0, :, :, 0], 1))
    np.testing.assert_array_equal(to_host(Cropping2D(1)(padded[None, :, :, None]).data), x)
    np.testing.assert_array_equal(to_host(UpSampling2D(2)(x).data[0, :, :, 0]),
                                  np.kron(x[0, :, :, 0], np.ones((2, 2))))


# ------------------------------------------------------------------ build-time errors
def test_kernel_larger_than_input():
    model = Sequential([Conv2D(4, 3, input_shape=(6, 6, 1)), MaxPooling2D(2)])
    with pytest.raises(errors.ShapeError, match=r"Conv2D layer 'big'.*kernel \(3, 3\).*larger.*\(2, 2\)"):
        model.add(Conv2D(4, 3, name="big"))


def test_wrong_input_rank_suggests_a_channel_axis():
    with pytest.raises(errors.ShapeError, match=r"expects inputs of rank 4 \(batch, rows, cols, channels\).*"
                                                r"\(None, 28, 28\).*x\[\.\.\., None\]"):
        Sequential([Conv2D(4, 3, input_shape=(28, 28))])


def test_channel_mismatch_after_build():
    layer = Conv2D(4, 3)
    layer(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(errors.ShapeError, match=r"built for 2 input channels but received 3"):
        layer(np.zeros((1, 5, 5, 3), "float32"))


def test_invalid_padding_name():
    with pytest.raises(errors.ConfigError, match=r"padding must be one of 'valid', 'same'\. Received: padding='full'"):
        Conv2D(4, 3, padding="full")
    with pytest.raises(errors.ConfigError, match="padding='causal'"):
        Conv2D(4, 3, padding="causal")
    with pytest.raises(errors.ConfigError, match="Received: padding='full'"):
        MaxPooling2D(padding="full")


def test_bad_filters_and_kernel():
    with pytest.raises(errors.ConfigError, match="Received: filters=0"):
        Conv2D(0, 3)
    with pytest.raises(errors.ConfigError, match="kernel_size"):
        Conv2D(4, (3, 0))
    with pytest.raises(errors.ConfigError, match="data_format"):
        Conv2D(4, 3, data_format="NHWC")


def test_fit_with_images_missing_the_channel_axis():
    model = lecture_cnn()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(errors.ShapeError, match=r"expects input of shape \(None, 28, 28, 1\).*\(4, 28, 28\)"):
        model.fit(np.zeros((4, 28, 28)), np.zeros(4), verbose=0)


@pytest.mark.parametrize("layer", [
    Conv2D(8, (3, 5), strides=2, padding="same", dilation_rate=1, activation="relu", data_format="channels_first"),
    Conv1D(3, 5, padding="causal", dilation_rate=2), MaxPooling2D((2, 3), strides=1, padding="same"),
    AveragePooling1D(4), GlobalMaxPooling2D(keepdims=True), ZeroPadding2D(((1, 2), (3, 4))), Cropping1D((2, 1)),
    UpSampling2D((2, 3)), Reshape((2, -1)),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config({**config, "name": layer.name + "_clone"})
    assert {k: v for k, v in clone.get_config().items() if k != "name"} == \
        {k: v for k, v in config.items() if k != "name"}


def test_small_cnn_learns_the_digits():
    from threestep.datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train[..., None].astype("float32") / 16
    x_test = x_test[..., None].astype("float32") / 16
    ts.backend.set_seed(0)
    model = Sequential([Conv2D(16, 3, activation="relu", padding="same", input_shape=(8, 8, 1)), MaxPooling2D(2),
                        Conv2D(32, 3, activation="relu"), Flatten(), Dense(10, activation="softmax")])
    from threestep.optimizers import Adam

    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.005), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=12, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.95


def test_keras1_convolution2d_from_the_lecture():
    from threestep.keras.layers import Convolution2D, MaxPooling2D as Pool

    with pytest.warns(DeprecationWarning, match="Keras 1"):
        conv = Convolution2D(25, 3, 3, input_shape=(1, 28, 28), dim_ordering="th")
    model = Sequential([conv, Pool((2, 2), data_format="channels_first"), Flatten()])
    assert conv.kernel_size == (3, 3) and conv.data_format == "channels_first"
    assert model.layers[0].output_shape == (None, 25, 26, 26)
    with pytest.raises(errors.ShapeError, match="looks channels_first"):
        Sequential([Conv2D(25, 3, input_shape=(1, 28, 28))])
