"""Hidden-layer projections and first-layer filter weights.

``project_hidden`` maps a layer's outputs to 2-D with PCA, the lecture's picture of how
deeper layers pull apart what the input mixes (speech states, MFCC vs hidden layers).
``plot_filters`` draws the first conv layer's kernels: the one layer whose filters can be
read directly, because each sees a small patch of pixels.
"""
from .. import backend
from ..autograd import Tensor, no_grad
from ..errors import ConfigError, ShapeError
from . import _ascent
from ._tap import check_image, find_layer, layer_output


def pca_2d(features):
    """The first two principal components of ``features`` (n, d), signs fixed (sklearn's svd_flip)."""
    xp = backend.get_array_module(features)
    f = features.astype("float64")
    f = f - f.mean(axis=0, keepdims=True)
    u, s, _ = xp.linalg.svd(f, full_matrices=False)
    u, s = u[:, :2], s[:2]
    signs = xp.sign(u[xp.argmax(xp.abs(u), axis=0), xp.arange(u.shape[1])])
    signs[signs == 0] = 1
    points = u * s * signs
    if points.shape[1] < 2:  # a single feature: the second coordinate is 0
        points = xp.concatenate([points, xp.zeros((len(points), 2 - points.shape[1]))], axis=1)
    return points


def project_hidden(model, x, layer, batch_size=256):
    """2-D PCA of ``layer``'s outputs for inputs ``x``: a NumPy array (n, 2).

    Outputs with several axes (feature maps, sequences) are flattened per sample first.

    Example:
        >>> points = project_hidden(model, x_test[:500], "dense_2")
        >>> plot_projection(points, y_test[:500], "hidden.png")
    """
    caller = "project_hidden"
    layer = find_layer(model, layer, caller)
    x = check_image(model, x, caller, "x")
    if len(x) < 2:
        raise ShapeError(f"{caller}: PCA needs at least 2 samples; received x of shape {tuple(x.shape)}.")
    parts = []
    with no_grad(), _ascent.frozen(model):
        for start in range(0, len(x), int(batch_size)):
            out = layer_output(model, Tensor(x[start:start + int(batch_size)]), layer)
            parts.append(out.data.reshape((out.shape[0], -1)))
    xp = backend.get_array_module(parts[0])
    return backend.to_numpy(pca_2d(xp.concatenate(parts, axis=0)))


def first_conv_layer(model):
    for layer in model.layers:
        if hasattr(layer, "kernel_size") and hasattr(layer, "filters"):
            return layer
    raise ConfigError(f"plot_filters: model {model.name!r} has no Conv1D/Conv2D layer. "
                      f"Layers: {[layer.name for layer in model.layers]}.")


def filter_images(layer):
    """The kernels of a conv layer as one picture per filter (NumPy, (filters, ...)).

    Conv2D (kh, kw, in, out): an RGB patch when in == 3, else the mean over input channels
    (for the first layer of a grey-image net that is the kernel itself). Conv1D (k, in, out):
    an (in, k) image per filter.
    """
    if not (hasattr(layer, "kernel_size") and hasattr(layer, "filters")):
        raise ShapeError(f"plot_filters: layer {layer.name!r} ({type(layer).__name__}) has no filters (no "
                         "convolution kernel); pick a Conv1D or Conv2D layer.")
    kernel = backend.to_numpy(layer.kernel.data)
    if kernel.ndim == 3:  # Conv1D: (k, in, out) -> (out, in, k)
        return kernel.transpose(2, 1, 0)
    if kernel.shape[2] == 3:
        return kernel.transpose(3, 0, 1, 2)
    return kernel.mean(axis=2).transpose(2, 0, 1)


def plot_filters(model, layer=None, path="filters.png", max_filters=64):
    """Write a grid PNG of a conv layer's filter weights (default: the first conv layer).

    Returns ``path``.
    """
    from .plots import plot_image_grid  # noqa: PLC0415

    layer = first_conv_layer(model) if layer is None else find_layer(model, layer, "plot_filters")
    images = filter_images(layer)[:int(max_filters)]
    return plot_image_grid(images, path, titles=[str(i) for i in range(len(images))],
                           suptitle=f"{layer.name}: filter weights", cmap="gray")
