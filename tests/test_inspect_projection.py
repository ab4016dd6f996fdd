"""threestep.inspect: hidden-layer PCA projections, filter-weight grids and the plot helpers."""
import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.inspect import filter_images, plot_filters, plot_projection, project_hidden
from threestep.inspect.plots import as_picture
from threestep.layers import Conv1D, Conv2D, Dense, Flatten, MaxPooling2D
from threestep.models import Sequential

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cnn():
    ts.backend.set_seed(0)
    return Sequential([Conv2D(6, 3, activation="relu", input_shape=(8, 8, 1), name="conv"), MaxPooling2D(2),
                       Flatten(name="flat"), Dense(5, activation="tanh", name="hidden"),
                       Dense(3, activation="softmax", name="out")])


def test_projection_is_the_pca_of_the_layer_outputs(cnn, rng):
    x = rng.uniform(0, 1, (40, 8, 8, 1)).astype("float32")
    points = project_hidden(cnn, x, "hidden", batch_size=16)
    assert points.shape == (40, 2)
    hidden = Sequential(cnn.layers[:4]).predict(x).astype("float64")  # the same layers, stopped at 'hidden'
    centered = hidden - hidden.mean(axis=0)
    u, s, vt = np.linalg.svd(centered, full_matrices=False)
    expected = centered @ vt[:2].T  # projections on the first two principal axes
    for k in range(2):  # a principal axis is defined up to its sign
        sign = np.sign(points[:, k] @ expected[:, k])
        np.testing.assert_allclose(points[:, k], sign * expected[:, k], rtol=1e-4, atol=1e-5)
    assert np.var(points[:, 0]) >= np.var(points[:, 1])


def test_projection_of_feature_maps_flattens_each_sample(cnn, rng):
    x = rng.uniform(0, 1, (10, 8, 8, 1)).astype("float32")
    assert project_hidden(cnn, x, "conv").shape == (10, 2)
    with pytest.raises(errors.ShapeError, match="at least 2 samples"):
        project_hidden(cnn, x[:1], "conv")
    with pytest.raises(errors.ConfigError, match="no layer named 'dense_9'"):
        project_hidden(cnn, x, "dense_9")
    with pytest.raises(errors.ShapeError, match=r"x has shape \(10, 64\)"):
        project_hidden(cnn, x.reshape(10, 64), "conv")


def test_plot_projection_writes_a_png(cnn, rng, tmp_path):
    x = rng.uniform(0, 1, (30, 8, 8, 1)).astype("float32")
    labels = np.arange(30) % 3
    path = plot_projection(project_hidden(cnn, x, "hidden"), labels, tmp_path / "proj.png", title="hidden")
    assert open(path, "rb").read(8) == PNG
    one_hot = np.eye(3)[labels]
    plot_projection(np.zeros((30, 2)), one_hot, tmp_path / "onehot.png", class_names=["a", "b", "c"])
    assert (tmp_path / "onehot.png").read_bytes()[:8] == PNG
    with pytest.raises(errors.ShapeError, match=r"points must have shape \(n, 2\)"):
        plot_projection(np.zeros((30, 3)), labels, tmp_path / "bad.png")
    with pytest.raises(errors.ShapeError, match="29 labels for 30 points"):
        plot_projection(np.zeros((30, 2)), labels[:29], tmp_path / "bad.png")


def test_filter_grid_of_the_first_conv_layer(cnn, tmp_path):
    images = filter_images(cnn.get_layer("conv"))
    kernel = cnn.get_layer("conv").get_weights()[0]  # (3, 3, 1, 6)
    assert images.shape == (6, 3, 3)
    np.testing.assert_array_equal(images[4], kernel[:, :, 0, 4])
    path = plot_filters(cnn, path=tmp_path / "filters.png")
    assert (tmp_path / "filters.png").read_bytes()[:8] == PNG and path == tmp_path / "filters.png"


def test_filter_images_of_rgb_and_conv1d_kernels():
    rgb = Sequential([Conv2D(4, 3, input_shape=(6, 6, 3))]).layers[0]
    assert filter_images(rgb).shape == (4, 3, 3, 3)
    np.testing.assert_array_equal(filter_images(rgb)[1], rgb.get_weights()[0][..., 1])
    seq = Sequential([Conv1D(5, 4, input_shape=(10, 2))]).layers[0]
    assert filter_images(seq).shape == (5, 2, 4)


def test_plot_filters_errors(cnn, tmp_path):
    mlp = Sequential([Dense(3, input_dim=4)])
    with pytest.raises(errors.ConfigError, match="has no Conv1D/Conv2D layer"):
        plot_filters(mlp, path=tmp_path / "f.png")
    with pytest.raises(errors.ShapeError, match=r"layer 'hidden' \(Dense\) has no filters"):
        plot_filters(cnn, "hidden", path=tmp_path / "f.png")


def test_as_picture_layouts():
    assert as_picture(np.zeros(64)).shape == (8, 8)
    assert as_picture(np.zeros((5, 7, 1))).shape == (5, 7)
    assert as_picture(np.zeros((1, 5, 7))).shape == (5, 7)
    rgb = as_picture(np.arange(2 * 3 * 3).reshape(3, 2, 3))
    assert rgb.shape == (3, 2, 3) and rgb.min() == 0 and rgb.max() == 1
    assert as_picture(np.zeros((20, 3))).shape == (3, 20)  # (steps, channels): time along x


def test_inspect_reexports_the_gradient_monitor_and_the_tools():
    import threestep.inspect as inspect_room
    from threestep.callbacks.gradient_monitor import GradientMonitor

    assert inspect_room.GradientMonitor is GradientMonitor
    for name in inspect_room.__all__:
        assert getattr(inspect_room, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        inspect_room.nope  # noqa: B018
