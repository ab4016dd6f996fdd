"""threestep.inspect: activation maximisation and Deep Dream on a small CNN trained on the digits."""
import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.autograd import Tensor
from threestep.datasets import digits
from threestep.inspect import (
    activation_maximization, deep_dream, layer_activation, layer_norm, layer_output, plot_image_grid,
)
from threestep.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from threestep.models import Model, Sequential


@pytest.fixture(scope="module")
def cnn():
    """A small CNN trained for a fraction of a second on the 8x8 digits (~95% test accuracy)."""
    (x, y), (xt, yt) = digits.load_data()
    x = x.reshape(-1, 8, 8, 1).astype("float32") / 16
    xt = xt.reshape(-1, 8, 8, 1).astype("float32") / 16
    ts.backend.set_seed(0)
    model = Sequential([Conv2D(8, 3, activation="relu", input_shape=(8, 8, 1), name="conv"),
                        MaxPooling2D(2, name="pool"), Flatten(name="flat"),
                        Dense(32, activation="relu", name="hidden"), Dense(10, activation="softmax", name="out")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert model.evaluate(xt, yt, verbose=0)[1] > 0.9
    return model, xt, yt


def noise(n=1, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 0.1, (n, 8, 8, 1)).astype("float32")


def same_weights(before, after):
    return len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))


def test_degree_of_activation_of_a_filter_is_the_sum_of_its_feature_map(cnn):
    model, xt, _ = cnn
    conv = model.get_layer("conv")
    maps = conv(Tensor(xt[:5])).numpy()  # (5, 6, 6, 8)
    np.testing.assert_allclose(layer_activation(model, xt[:5], "conv", 3), maps[..., 3].sum(axis=(1, 2)), rtol=1e-5)
    per_sample = layer_activation(model, xt[:5], "conv", [0, 1, 2, 3, 4])
    np.testing.assert_allclose(per_sample, [maps[i, :, :, i].sum() for i in range(5)], rtol=1e-5)


def test_class_score_is_taken_before_the_softmax(cnn):
    model, xt, _ = cnn
    probs = model.predict(xt[:4])
    scores = np.stack([layer_activation(model, xt[:4], "out", k) for k in range(10)], axis=1)
    # softmax of the scores gives the probabilities, so the scores are the logits
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layer,index,what", [("conv", 2, "filter"), ("hidden", 5, "neuron"), ("out", 7, "class")])
def test_ascent_increases_the_target_activation(cnn, layer, index, what):
    model, _, _ = cnn
    before_weights = model.get_weights()
    before_grads = [None if w.grad is None else w.grad.copy() for w in model.weights]
    start = noise(seed=1)
    image = activation_maximization(model, layer, index, steps=60, lr=0.05, init=start)
    assert image.shape == (8, 8, 1)
    before = layer_activation(model, start, layer, index)[0]
    after = layer_activation(model, image, layer, index)[0]
    assert after > before + 1.0, (what, before, after)
    assert same_weights(before_weights, model.get_weights())
    assert same_weights(before_grads, [w.grad for w in model.weights])  # no gradient reached the weights
    assert all(w.requires_grad for w in model.trainable_weights)


def test_auto_picks_filter_neuron_or_class(cnn):
    model, _, _ = cnn
    for layer, what in (("conv", "filter"), ("hidden", "neuron"), ("out", "class")):
        auto = activation_maximization(model, layer, 1, steps=5, seed=0)
        explicit = activation_maximization(model, layer, 1, what=what, steps=5, seed=0)
        np.testing.assert_array_equal(auto, explicit)


def test_class_images_are_classified_as_their_class(cnn):
    model, _, _ = cnn
    images = activation_maximization(model, index=None, steps=100, lr=0.05, seed=0)  # every class, output layer
    assert images.shape == (10, 8, 8, 1)
    assert (model.predict(images).argmax(axis=1) == np.arange(10)).mean() >= 0.9


def test_each_unit_of_a_list_is_maximised_independently(cnn):
    model, _, _ = cnn
    together = activation_maximization(model, "conv", [1, 4], steps=10, init="zeros")
    alone = activation_maximization(model, "conv", 4, steps=10, init="zeros")
    np.testing.assert_allclose(together[1], alone, rtol=1e-4, atol=1e-5)


def test_l1_penalty_makes_the_image_sparser(cnn):
    model, _, _ = cnn
    plain = activation_maximization(model, "out", 3, steps=100, lr=0.05, seed=0)
    sparse = activation_maximization(model, "out", 3, steps=100, lr=0.05, seed=0, l1=0.5)
    assert np.abs(sparse).mean() < 0.5 * np.abs(plain).mean()
    assert (np.abs(sparse) < 0.1).mean() > (np.abs(plain) < 0.1).mean()


def test_smoothness_penalty_makes_neighbours_alike(cnn):
    model, _, _ = cnn

    def tv(img):
        return (np.diff(img, axis=0) ** 2).sum() + (np.diff(img, axis=1) ** 2).sum()

    rough = activation_maximization(model, "conv", 0, steps=80, seed=0)
    smooth = activation_maximization(model, "conv", 0, steps=80, seed=0, smoothness=5.0)
    assert tv(smooth) < 0.5 * tv(rough)


def test_clip_keeps_pixels_in_range(cnn):
    model, _, _ = cnn
    image = activation_maximization(model, "out", 1, steps=30, lr=0.2, clip=(0.0, 1.0), seed=0)
    assert image.min() >= 0.0 and image.max() <= 1.0


def test_functional_model_taps_the_same_layer_output(cnn):
    model, xt, _ = cnn
    x = Input((8, 8, 1))
    layers = [Conv2D(8, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dense(32, activation="relu"),
              Dense(10, activation="softmax")]
    h = x
    for layer in layers:
        h = layer(h)
    functional = Model(x, h)
    functional.set_weights(model.get_weights())
    want = layer_output(model, Tensor(xt[:3]), model.get_layer("hidden")).numpy()
    got = layer_output(functional, Tensor(xt[:3]), layers[3]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    a = activation_maximization(model, "hidden", 2, steps=10, seed=0)
    b = activation_maximization(functional, layers[3].name, 2, steps=10, seed=0)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_deep_dream_increases_the_layer_norm_and_keeps_the_weights(cnn):
    model, xt, _ = cnn
    weights = model.get_weights()
    image = xt[0]
    dreamed = deep_dream(model, image, "conv", steps=10, lr=0.01)
    assert dreamed.shape == image.shape
    assert layer_norm(model, dreamed, "conv")[0] > 1.2 * layer_norm(model, image, "conv")[0]
    assert not np.array_equal(dreamed, image)
    assert same_weights(weights, model.get_weights())


def test_plot_image_grid_writes_a_png(cnn, tmp_path):
    model, _, _ = cnn
    images = activation_maximization(model, "conv", None, steps=3, seed=0)
    path = plot_image_grid(images, tmp_path / "grid.png", titles=[f"filter {i}" for i in range(8)])
    assert path == tmp_path / "grid.png" and (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    flat = plot_image_grid(np.random.default_rng(0).random((3, 64)), tmp_path / "flat.png")
    assert (tmp_path / "flat.png").stat().st_size > 0 and flat
    with pytest.raises(errors.ConfigError, match="2 titles for 3 images"):
        plot_image_grid(np.zeros((3, 4, 4)), tmp_path / "x.png", titles=["a", "b"])


# ---------------------------------------------------------------------------- errors
def test_unknown_layer_lists_the_valid_names(cnn):
    model, _, _ = cnn
    with pytest.raises(errors.ConfigError, match=r"no layer named 'conv9'.*'conv', 'pool', 'flat', 'hidden', 'out'"):
        activation_maximization(model, "conv9", 0)
    with pytest.raises(errors.ConfigError, match="no layer named"):
        deep_dream(model, noise(), "nope")


def test_filter_view_of_a_layer_without_spatial_output(cnn):
    model, _, _ = cnn
    with pytest.raises(errors.ShapeError, match=r"layer 'hidden' \(Dense\) has output shape \(None, 32\).*no filters"):
        activation_maximization(model, "hidden", 0, what="filter")


def test_image_of_the_wrong_shape(cnn):
    model, _, _ = cnn
    with pytest.raises(errors.ShapeError, match=r"image has shape \(1, 28, 28, 1\).*\(8, 8, 1\)"):
        deep_dream(model, np.zeros((28, 28, 1), "float32"), "conv")
    with pytest.raises(errors.ShapeError, match=r"x has shape \(2, 64\)"):
        layer_activation(model, np.zeros((2, 64), "float32"), "conv", 0)
    with pytest.raises(errors.ShapeError, match="init has shape"):
        activation_maximization(model, "conv", 0, init=np.zeros((5, 5, 1)))
    bad = noise()
    bad[0, 3, 3, 0] = np.nan
    with pytest.raises(errors.DataError, match="image contains NaN"):
        deep_dream(model, bad, "conv")
    with pytest.raises(errors.DataError, match="must hold numbers"):
        layer_activation(model, np.full((1, 8, 8, 1), "a"), "conv", 0)


def test_index_out_of_range(cnn):
    model, _, _ = cnn
    with pytest.raises(errors.ConfigError, match=r"index 8 is out of range for layer 'conv', which has 8 filters"):
        activation_maximization(model, "conv", 8)
    with pytest.raises(errors.ConfigError, match=r"index 10 is out of range for layer 'out', which has 10 class"):
        activation_maximization(model, "out", [0, 10])
    with pytest.raises(errors.ConfigError, match="index -1"):
        layer_activation(model, noise(), "hidden", -1)


def test_bad_arguments(cnn):
    model, _, _ = cnn
    with pytest.raises(errors.ConfigError, match="what must be one of"):
        activation_maximization(model, "conv", 0, what="pixel")
    with pytest.raises(errors.ConfigError, match="steps must be a positive integer"):
        activation_maximization(model, "conv", 0, steps=0)
    with pytest.raises(errors.ConfigError, match="l1 must be a number >= 0"):
        activation_maximization(model, "conv", 0, l1=-1)
    with pytest.raises(errors.ConfigError, match="init must be 'noise', 'zeros'"):
        activation_maximization(model, "conv", 0, init="ones")
    mlp = Sequential([Dense(4, input_dim=6, activation="relu"), Dense(2, activation="softmax")])
    with pytest.raises(errors.ConfigError, match="smoothness=1.0 needs an input with spatial axes"):
        activation_maximization(mlp, None, 0, smoothness=1.0, steps=2)
    assert activation_maximization(mlp, None, 0, l1=0.1, steps=2).shape == (6,)


def test_input_shape_builds_a_model_without_one():
    ts.backend.set_seed(0)
    model = Sequential([Conv2D(3, 3, activation="relu"), Flatten(), Dense(2)])
    with pytest.raises(errors.NotBuiltError, match="input shape"):
        activation_maximization(model, 0, 1, steps=2)
    images = activation_maximization(model, 0, [0, 2], steps=20, input_shape=(6, 6, 1), seed=0)
    assert images.shape == (2, 6, 6, 1)
    assert (layer_activation(model, images, 0, [0, 2]) > layer_activation(model, noise(2)[:, :6, :6], 0, [0, 2])).all()
