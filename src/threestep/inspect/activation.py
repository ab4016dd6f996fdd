"""What does the net learn? Activation maximisation and Deep Dream.

Activation maximisation finds x* = argmax_x a by gradient ascent on the input, the model
fixed. The degree of activation ``a`` is, as in the lecture:

- a conv filter k: the sum of its feature map, a^k = sum_i sum_j a^k_ij;
- a neuron j (Dense or any other layer): its output a^j;
- an output class i: its score y^i, taken before the softmax (``call_logits``) so the
  ascent does not stall where the softmax saturates.

``l1`` subtracts l1 * sum_ij |x_ij|, the lecture's fix for images that look like a broken
TV: x* = argmax_x (y^i - sum_ij |x_ij|); ``smoothness`` subtracts a total-variation term
(neighbouring pixels alike). Deep Dream instead starts from a given image and ascends
the squared L2 norm of a whole layer's output: "make the CNN exaggerate what it sees".
"""
import numpy

from .. import backend
from ..autograd import no_grad
from ..errors import ConfigError
from . import _ascent
from ._tap import channel_axis, check_image, find_layer, layer_output, output_layer, sample_shape

_WHATS = ("auto", "filter", "neuron", "class")


def _resolve_what(model, layer, what, caller):
    if what not in _WHATS:
        raise ConfigError(f"{caller}: what must be one of {', '.join(map(repr, _WHATS))}. Received: what={what!r}.")
    rank = len(layer.output_shape) if isinstance(layer.output_shape, tuple) else 0
    if what == "auto":
        if layer is output_layer(model) and rank == 2:
            return "class"
        return "filter" if rank >= 3 else "neuron"
    if what == "filter" and rank < 3:
        raise _no_spatial(layer, caller)
    return what


def _no_spatial(layer, caller):
    from ..errors import ShapeError  # noqa: PLC0415

    return ShapeError(f"{caller}: layer {layer.name!r} ({type(layer).__name__}) has output shape "
                      f"{layer.output_shape}, with no spatial axes, so it has no filters (feature maps) to "
                      "maximise. Pick a Conv1D/Conv2D (or pooling) layer, or use what='neuron'.")


def _n_units(layer, what):
    shape = layer.output_shape
    if what == "filter":
        return shape[channel_axis(layer)]
    units = 1
    for d in shape[1:]:
        units = None if d is None or units is None else units * d
    return units


def _indices(index, n_units, layer, what, caller):
    single = isinstance(index, (int, numpy.integer)) and not isinstance(index, bool)
    if index is None:
        if n_units is None:
            raise ConfigError(f"{caller}: layer {layer.name!r} has a variable-size output; pass index=.")
        indices = list(range(n_units))
    else:
        indices = [index] if single else list(index)
    if not indices:
        raise ConfigError(f"{caller}: index is an empty list; pass at least one {what} number.")
    for i in indices:
        if not isinstance(i, (int, numpy.integer)) or isinstance(i, bool) or \
                (n_units is not None and not 0 <= i < n_units):
            raise ConfigError(f"{caller}: index {i!r} is out of range for layer {layer.name!r}, which has "
                              f"{n_units} {what}s (valid: 0..{None if n_units is None else n_units - 1}).")
    return [int(i) for i in indices], single


def _selected(out, indices, layer, what):
    """Per-sample degree of activation: sample i scores unit ``indices[i]`` (a Tensor, (n,))."""
    xp = backend.get_array_module(out.data)
    n = out.shape[0]
    if what == "filter":
        axis = channel_axis(layer) % out.ndim
        mask = xp.zeros((n, out.shape[axis]), dtype=out.dtype)
        mask[xp.arange(n), xp.asarray(indices)] = 1
        shape = [n] + [1] * (out.ndim - 1)
        shape[axis] = out.shape[axis]
        picked = out * mask.reshape(shape)
    else:
        flat = out.reshape((n, -1))
        mask = xp.zeros(flat.shape, dtype=out.dtype)
        mask[xp.arange(n), xp.asarray(indices)] = 1
        picked = flat * mask
    return picked.reshape((n, -1)).sum(axis=1)


def layer_activation(model, x, layer=None, index=0, *, what="auto"):
    """The degree of activation of unit(s) ``index`` of ``layer`` for inputs ``x``, as NumPy (n,).

    ``index`` may be one number (the same unit for every sample) or one per sample.
    Useful to check what ``activation_maximization`` achieved.
    """
    caller = "layer_activation"
    model._require_built(caller)
    layer = output_layer(model) if layer is None else find_layer(model, layer, caller)
    what = _resolve_what(model, layer, what, caller)
    x = check_image(model, x, caller, "x")
    indices, single = _indices(index, _n_units(layer, what), layer, what, caller)
    if single:
        indices = indices * len(x)
    elif len(indices) != len(x):
        raise ConfigError(f"{caller}: {len(indices)} indices for {len(x)} samples; give one index, or one per sample.")
    from ..autograd import Tensor  # noqa: PLC0415

    with no_grad(), _ascent.frozen(model):
        out = layer_output(model, Tensor(x), layer, logits=(what == "class"))
        return backend.to_numpy(_selected(out, indices, layer, what).data)


def _initial(init, shape, seed, model, caller):
    if isinstance(init, str):
        if init == "noise":
            return numpy.random.default_rng(seed).uniform(0.0, 0.1, shape).astype(backend.floatx())
        if init == "zeros":
            return numpy.zeros(shape, dtype=backend.floatx())
        raise ConfigError(f"{caller}: init must be 'noise', 'zeros' or an array of starting images. "
                          f"Received: init={init!r}.")
    x = check_image(model, init, caller, "init")
    if len(x) == 1 and shape[0] > 1:
        x = numpy.repeat(x, shape[0], axis=0)
    if tuple(x.shape) != tuple(shape):
        raise ConfigError(f"{caller}: init holds {len(x)} images but {shape[0]} units are maximised; give one "
                          "image or one per unit.")
    return x.copy()


def activation_maximization(model, layer=None, index=None, *, what="auto", steps=200, lr=0.05, l1=0.0,
                            smoothness=0.0, input_shape=None, init="noise", seed=None, clip=None):
    """Find the input that most activates a filter, a neuron or an output class.

    Gradient ascent on the input with the model fixed (the lecture's x* = argmax_x a^k),
    using Adam on the image. Each requested unit gets its own image; all are optimised in
    one batch (the images are independent, so this is the same as one run per unit).

    Args:
        model: a built single-input model.
        layer: layer name (or index, or Layer); default: the output layer.
        index: the unit number, a list of them, or None for every unit of the layer.
        what: 'filter' (sum of a feature map), 'neuron' (one output value), 'class' (an
            output score before the softmax) or 'auto' (class for the output layer,
            filter for a layer with spatial output, else neuron).
        steps, lr: number of Adam steps and their size.
        l1: weight of the L1 penalty sum_ij |x_ij| (sparser images, "less broken TV").
        smoothness: weight of the total-variation penalty (neighbouring pixels alike).
        input_shape: one sample's shape, for models whose input has free (None) sizes.
        init: 'noise' (uniform in [0, 0.1)), 'zeros', or starting image(s).
        seed: seed of the starting noise.
        clip: optional (low, high) range the pixels are kept in after every step.

    Returns:
        NumPy images: one sample's shape for an int ``index``, else (len(index), ...).

    Example:
        >>> imgs = activation_maximization(model, "conv2d_2", index=[0, 1, 2], l1=1e-3)
        >>> plot_image_grid(imgs, "filters.png")
    """
    caller = "activation_maximization"
    steps = _ascent.check_positive(caller, "steps", steps, integer=True)
    lr = _ascent.check_positive(caller, "lr", lr)
    l1 = _ascent.check_non_negative(caller, "l1", l1)
    smoothness = _ascent.check_non_negative(caller, "smoothness", smoothness)
    if input_shape is not None and not model.built:
        model.build((None,) + tuple(input_shape))
    model._require_built(caller)
    layer = output_layer(model) if layer is None else find_layer(model, layer, caller)
    what = _resolve_what(model, layer, what, caller)
    indices, single = _indices(index, _n_units(layer, what), layer, what, caller)
    shape = tuple(input_shape) if input_shape is not None else sample_shape(model, caller)
    if any(d is None for d in shape):
        raise ConfigError(f"{caller}: model {model.name!r} takes inputs of shape {shape} with free sizes; pass "
                          "input_shape= with every size, e.g. input_shape=(28, 28, 1).")
    check_image(model, numpy.zeros(shape, dtype=backend.floatx()), caller, "input_shape")
    x = backend.asarray(_initial(init, (len(indices),) + shape, seed, model, caller))
    axes = _ascent.spatial_axes(model, x.ndim)
    logits = what == "class"

    def objective(xt):
        score = _selected(layer_output(model, xt, layer, logits=logits), indices, layer, what).sum()
        cost = _ascent.penalty(xt, l1, smoothness, axes, caller)
        return score if cost is None else score - cost

    x = _ascent.ascend(model, objective, x, steps, lr, clip)
    images = backend.to_numpy(x)
    return images[0] if single else images


def deep_dream(model, image, layer, steps=20, lr=0.01, *, clip=None, l1=0.0, smoothness=0.0):
    """Deep Dream: change ``image`` so that ``layer`` sees more of what it already sees.

    Ascends the squared L2 norm of the layer's output (positive values grow more positive,
    negative more negative) with respect to the image, by normalised gradient steps
    x <- x + lr * g / mean|g|, the model fixed.

    Args:
        model: a built single-input model.
        image: one sample (or a batch) of the model's input shape.
        layer: the layer whose output is exaggerated (name, index or Layer).
        steps, lr: number of steps and the step size relative to the mean gradient.
        clip: optional (low, high) pixel range. l1, smoothness: penalties as in
            ``activation_maximization``.

    Returns:
        The new image(s), NumPy, with the shape ``image`` had.
    """
    caller = "deep_dream"
    steps = _ascent.check_positive(caller, "steps", steps, integer=True)
    lr = _ascent.check_positive(caller, "lr", lr)
    layer = find_layer(model, layer, caller)
    given = numpy.shape(image.data if hasattr(image, "data") and not isinstance(image, numpy.ndarray) else image)
    x = backend.asarray(check_image(model, image, caller).copy())
    axes = _ascent.spatial_axes(model, x.ndim)

    def objective(xt):
        out = layer_output(model, xt, layer)
        score = (out * out).sum()
        cost = _ascent.penalty(xt, l1, smoothness, axes, caller)
        return score if cost is None else score - cost

    with _ascent.frozen(model):
        for _ in range(steps):
            _, grad = _ascent.input_gradient(objective, x)
            xp = backend.get_array_module(grad)
            scale = float(xp.abs(grad).mean()) + 1e-8
            x = x + (lr / scale) * grad
            if clip is not None:
                x = xp.clip(x, clip[0], clip[1])
    return backend.to_numpy(x).reshape(given)


def layer_norm(model, x, layer):
    """The squared L2 norm of ``layer``'s output for each sample of ``x`` (NumPy, (n,))."""
    from ..autograd import Tensor  # noqa: PLC0415

    layer = find_layer(model, layer, "layer_norm")
    x = check_image(model, x, "layer_norm", "x")
    with no_grad(), _ascent.frozen(model):
        out = layer_output(model, Tensor(x), layer)
        return backend.to_numpy((out * out).reshape((len(x), -1)).sum(axis=1).data)
