"""threestep.inspect.style_transfer: content loss on filter outputs + style loss on Gram matrices."""
import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.autograd import Tensor
from threestep.inspect import layer_output, random_style_net, style_transfer
from threestep.inspect.style import gram
from threestep.layers import Conv2D, Dense, Flatten, MaxPooling2D
from threestep.models import Sequential


def images(size=16):
    rng = np.random.default_rng(0)
    content = np.zeros((size, size, 3), "float32")
    content[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = [0.9, 0.2, 0.1]  # a red square
    content += rng.uniform(0, 0.05, content.shape).astype("float32")
    yy, xx = np.mgrid[:size, :size]
    style = 0.5 + 0.5 * np.stack([np.sin(xx / 1.5), np.cos(yy / 1.5), np.sin((xx + yy) / 2.0)], -1)  # stripes
    return content, style.astype("float32")


def test_gram_matrix_is_the_filter_correlation():
    f = np.random.default_rng(0).standard_normal((1, 5, 6, 4)).astype("float32")
    layer = Conv2D(4, 3)  # only its data_format is read
    flat = f.reshape(-1, 4)
    np.testing.assert_allclose(gram(Tensor(f), layer).numpy(), flat.T @ flat / 30, rtol=1e-5)
    first = Conv2D(4, 3, data_format="channels_first")
    np.testing.assert_allclose(gram(Tensor(f.transpose(0, 3, 1, 2).copy()), first).numpy(), flat.T @ flat / 30,
                               rtol=1e-5)


def test_random_net_style_transfer_decreases_its_loss():
    content, style = images(12)
    image, history = style_transfer(content, style, steps=20, lr=0.1, style_weight=10.0, seed=0)
    assert image.shape == content.shape
    assert set(history) == {"loss", "content_loss", "style_loss"} and len(history["loss"]) == 20
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert history["style_loss"][-1] < 0.3 * history["style_loss"][0]
    assert not np.allclose(image, content)
    # starting from the content image the content loss starts at 0 and stays small
    assert history["content_loss"][0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(history["loss"][0], 10.0 * history["style_loss"][0], rtol=1e-5)


def test_style_image_of_another_size_and_noise_start():
    content, _ = images(12)
    _, style = images(10)
    image, history = style_transfer(content, style, steps=10, lr=0.05, init="noise", seed=1)
    assert image.shape == (12, 12, 3)
    assert history["loss"][-1] < history["loss"][0]


def test_random_style_net_is_deep_and_seeded():
    a = random_style_net((8, 8, 3), seed=5)
    b = random_style_net((8, 8, 3), seed=5)
    c = random_style_net((8, 8, 3), seed=6)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    convs = [layer for layer in a.layers if layer.weights]
    assert len(convs) >= 5
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    kernel = a.layers[0].get_weights()[0]
    assert abs(kernel.std() - np.sqrt(2 / 27)) < 0.3 * np.sqrt(2 / 27)  # He-normal scale


def test_style_transfer_with_a_users_conv_net():
    content, style = images(12)
    ts.backend.set_seed(0)
    model = Sequential([Conv2D(8, 3, activation="relu", padding="same", input_shape=(12, 12, 3), name="c1"),
                        MaxPooling2D(2), Conv2D(8, 3, activation="relu", name="c2"), Flatten(),
                        Dense(2, activation="softmax", name="out")])
    weights = model.get_weights()
    image, history = style_transfer(content, style, model=model, content_layer="c2", style_layers=["c1", "c2"],
                                    steps=15, lr=0.05)
    assert image.shape == content.shape and history["loss"][-1] < history["loss"][0]
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    # the content target really is c2's output for the content image
    assert layer_output(model, Tensor(content[None]), model.get_layer("c2")).shape == (1, 4, 4, 8)
    with pytest.raises(errors.ShapeError, match=r"layer 'out' \(Dense\) has output shape \(None, 2\).*no spatial"):
        style_transfer(content, style, model=model, style_layers=["out"], steps=1)
    with pytest.raises(errors.ConfigError, match="no layer named 'c3'.*'c1'"):
        style_transfer(content, style, model=model, content_layer="c3", steps=1)
    with pytest.raises(errors.ShapeError, match=r"content has shape \(1, 16, 16, 3\)"):
        style_transfer(images(16)[0], style, model=model, steps=1)


def test_bad_images():
    content, style = images(8)
    with pytest.raises(errors.ShapeError, match="content must be one image"):
        style_transfer(np.zeros((2, 8, 8, 3)), style, steps=1)
    with pytest.raises(errors.ShapeError, match="style must be one image with the content's channels"):
        style_transfer(content, style[..., :1], steps=1)
    with pytest.raises(errors.ConfigError, match="init must be 'content' or 'noise'"):
        style_transfer(content, style, steps=1, init="zeros")
