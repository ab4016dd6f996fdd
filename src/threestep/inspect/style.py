"""Deep Style (style transfer): the content of one image in the style of another.

The lecture's idea: pass an image through a CNN; the filter outputs say *what* is in it
(content), and the correlations between filter outputs (their Gram matrix) say *how* it
is drawn (style). Find an image whose filter outputs match the content image's and whose
filter correlations match the style image's, by gradient descent on the image.

Both losses are relative squared errors (divided by the target's mean square), so
``content_weight`` and ``style_weight`` mean the same thing for any net, trained or
random. Without a model, a deep randomly initialised conv net is used: random filters
(He-initialised, average pooling) already give useful Gram statistics.
"""
import numpy

from .. import backend
from ..autograd import Tensor, no_grad
from ..errors import ConfigError, ShapeError
from . import _ascent
from ._tap import channel_axis, check_image, find_layer, layer_outputs

RANDOM_NET_WIDTHS = (32, 32, 64, 64, 128)


def random_style_net(input_shape, seed=0, widths=RANDOM_NET_WIDTHS):
    """A deep conv net with random He-normal filters: 3x3 ReLU convs, average pooling after
    the 2nd and 4th. ``input_shape`` is one image (rows, cols, channels)."""
    from ..layers import AveragePooling2D, Conv2D  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    layers = []
    for i, width in enumerate(widths):
        kwargs = {"input_shape": tuple(input_shape)} if i == 0 else {}
        layers.append(Conv2D(width, 3, padding="same", activation="relu", name=f"style_conv_{i + 1}", **kwargs))
        if i in (1, 3) and i < len(widths) - 1:
            layers.append(AveragePooling2D(2, padding="same", name=f"style_pool_{i // 2 + 1}"))
    model = Sequential(layers, name="random_style_net")
    rng = numpy.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            kernel = layer.kernel.shape
            fan_in = int(numpy.prod(kernel[:-1]))
            layer.set_weights([rng.normal(0.0, numpy.sqrt(2.0 / fan_in), kernel), numpy.zeros(kernel[-1])])
    return model


def gram(features, layer):
    """The Gram matrix (channels x channels) of one image's feature maps, / number of positions."""
    n_channels = features.shape[channel_axis(layer)]
    if channel_axis(layer) == 1:
        f = features.reshape((n_channels, -1)).T
    else:
        f = features.reshape((-1, n_channels))
    return (f.T @ f) / f.dtype.type(f.shape[0])


def _conv_layers(model):
    return [layer for layer in model.layers
            if isinstance(layer.output_shape, tuple) and len(layer.output_shape) >= 3 and layer.weights]


def style_transfer(content, style, model=None, content_layer=None, style_layers=None, content_weight=1.0,
                   style_weight=1.0, steps=200, lr=0.02, seed=0, init="content", clip=None):
    """Paint ``content`` in the style of ``style`` (Gatys et al.'s "Deep Style").

    Args:
        content, style: one image each (rows, cols, channels), or with a batch axis of 1.
            The style image may have another size than the content image.
        model: a conv net (trained or not); None builds ``random_style_net``.
        content_layer: the layer whose outputs must match the content image's (default: the
            second-to-last conv layer). style_layers: layers whose Gram matrices must match
            the style image's (default: every conv layer).
        content_weight, style_weight: weights of the two relative losses.
        steps, lr: Adam steps on the image and their size. seed: the random net's seed.
        init: 'content' (start from the content image) or 'noise'.
        clip: optional (low, high) pixel range kept after every step.

    Returns:
        (image, history): the image (NumPy, the content's shape) and a dict of per-step
        lists 'loss', 'content_loss', 'style_loss' (the loss before each step).
    """
    caller = "style_transfer"
    steps = _ascent.check_positive(caller, "steps", steps, integer=True)
    lr = _ascent.check_positive(caller, "lr", lr)
    content_weight = _ascent.check_non_negative(caller, "content_weight", content_weight)
    style_weight = _ascent.check_non_negative(caller, "style_weight", style_weight)
    given = numpy.shape(content)
    c = numpy.asarray(content, dtype=backend.floatx())
    c = c[None] if c.ndim == 3 else c
    if c.ndim != 4 or c.shape[0] != 1:
        raise ShapeError(f"{caller}: content must be one image (rows, cols, channels); received shape {given}.")
    if model is None:
        model = random_style_net(c.shape[1:], seed=seed)
    c = check_image(model, c, caller, "content")
    s = numpy.asarray(style, dtype=backend.floatx())
    s = s[None] if s.ndim == 3 else s
    if s.ndim != 4 or s.shape[0] != 1 or _channels(s, model) != _channels(c, model):
        raise ShapeError(f"{caller}: style must be one image with the content's channels; received shape "
                         f"{numpy.shape(style)}, content shape {given}.")
    convs = _conv_layers(model)
    if not convs and (content_layer is None or style_layers is None):
        raise ShapeError(f"{caller}: model {model.name!r} has no layer with spatial (feature map) output. "
                         "Use a conv net, or model=None for a random one.")
    style_layers = convs if style_layers is None else [find_layer(model, n, caller) for n in style_layers]
    content_layer = (convs[-2] if len(convs) > 1 else convs[-1]) if content_layer is None \
        else find_layer(model, content_layer, caller)
    for layer in style_layers + [content_layer]:
        if not (isinstance(layer.output_shape, tuple) and len(layer.output_shape) >= 3):
            raise ShapeError(f"{caller}: layer {layer.name!r} ({type(layer).__name__}) has output shape "
                             f"{layer.output_shape}, with no spatial axes: it has no filters whose content or "
                             "correlations (style) could be compared. Pick conv layers.")
    wanted = [content_layer] + style_layers
    with no_grad(), _ascent.frozen(model):
        target_content = layer_outputs(model, Tensor(backend.asarray(c)), wanted)[0].data
        style_feats = layer_outputs(model, Tensor(backend.asarray(s)), wanted)[1:]
        target_grams = [gram(f, layer).data for f, layer in zip(style_feats, style_layers)]
    c_scale = float((target_content ** 2).mean()) + 1e-12
    g_scales = [float((g ** 2).mean()) + 1e-12 for g in target_grams]
    history = {"loss": [], "content_loss": [], "style_loss": []}

    def objective(xt):
        outs = layer_outputs(model, xt, wanted)
        d = outs[0] - target_content
        content_loss = (d * d).mean() * d.dtype.type(1.0 / c_scale)
        style_loss = None
        for f, layer, target, scale in zip(outs[1:], style_layers, target_grams, g_scales):
            e = gram(f, layer) - target
            term = (e * e).mean() * e.dtype.type(1.0 / (scale * len(style_layers)))
            style_loss = term if style_loss is None else style_loss + term
        history["content_loss"].append(float(content_loss.data))
        history["style_loss"].append(float(style_loss.data))
        total = content_loss * d.dtype.type(content_weight) + style_loss * d.dtype.type(style_weight)
        history["loss"].append(float(total.data))
        return -total  # input_gradient ascends; we descend the loss

    if init == "content":
        x = backend.asarray(c.copy())
    elif init == "noise":
        x = backend.asarray(numpy.random.default_rng(seed).uniform(c.min(), c.max(), c.shape).astype(c.dtype))
    else:
        raise ConfigError(f"{caller}: init must be 'content' or 'noise'. Received: init={init!r}.")
    x = _ascent.ascend(model, objective, x, steps, lr, clip)
    return backend.to_numpy(x).reshape(given), history


def _channels(x, model):
    first = model.layers[0] if model.layers else None
    return x.shape[1] if getattr(first, "data_format", None) == "channels_first" else x.shape[-1]
