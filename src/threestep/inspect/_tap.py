"""Tapping a hidden layer: its output as a Tensor with a graph back to the input.

Every tool in ``threestep.inspect`` asks the same question: "what does layer L output for
this input, and how does that output change with the input?" ``layer_output`` answers it
for a Sequential model (run the stack up to L) and for a functional model (run the graph's
nodes in order up to L's first call), so the caller can ``.backward()`` to the input.
"""
from .. import backend
from ..autograd import Tensor
from ..errors import ConfigError, DataError, ShapeError
from ..layers.base import carry_mask


def find_layer(model, layer, caller):
    """The layer object for a name, an index or the layer itself; ConfigError listing valid names."""
    layers = list(model.layers)
    names = [lay.name for lay in layers]
    if isinstance(layer, int) and not isinstance(layer, bool):
        if not -len(layers) <= layer < len(layers):
            raise ConfigError(f"{caller}: layer index {layer} is out of range for model {model.name!r} with "
                              f"{len(layers)} layers. Valid layer names: {names}.")
        return layers[layer]
    for candidate in layers:
        if candidate is layer or candidate.name == layer:
            return candidate
    raise ConfigError(f"{caller}: model {model.name!r} has no layer named {layer!r}. Valid layer names: {names}.")


def output_layer(model):
    """The layer that produces the model's (single) output."""
    last = model._output_layer()
    if last is None:
        raise ConfigError(f"Model {model.name!r} has several outputs (or none); name the layer to inspect.")
    return last


def sample_shape(model, caller):
    """One sample's input shape (no batch axis); ConfigError for multi-input models."""
    model._require_built(caller)
    shape = model.input_shape
    if isinstance(shape, list):
        raise ConfigError(f"{caller}: model {model.name!r} has {len(shape)} inputs; threestep.inspect works on "
                          "single-input models.")
    return tuple(shape[1:])


def check_image(model, image, caller, argument="image"):
    """``image`` as a float array with a batch axis, checked against the model's input shape."""
    want = sample_shape(model, caller)
    x = backend.to_numpy(image.data if isinstance(image, Tensor) else backend.asarray(image))
    if x.ndim == len(want):
        x = x[None]
    ok = x.ndim == len(want) + 1 and all(w is None or w == g for w, g in zip(want, x.shape[1:]))
    if ok and x.dtype.kind not in "fiub":
        raise DataError(f"{caller}: {argument} must hold numbers; received dtype {x.dtype}.")
    if ok and x.dtype.kind == "f" and not backend.get_array_module(x).isfinite(x).all():
        raise DataError(f"{caller}: {argument} contains NaN or infinity; give finite pixel values.")
    if not ok:
        shown = "(" + ", ".join("any" if w is None else str(w) for w in want) + ")"
        raise ShapeError(f"{caller}: {argument} has shape {tuple(x.shape)} but model {model.name!r} takes one "
                         f"sample of shape {shown} (or a batch of them). Reshape the {argument} to the model's "
                         "input shape, e.g. x.reshape((1,) + model.input_shape[1:]).")
    return x.astype(backend.floatx(), copy=False)


def layer_output(model, x, layer, logits=False, training=False):
    """The output of ``layer`` (a Layer of ``model``) for the input Tensor ``x``.

    With ``logits=True`` the layer stops before its activation (``call_logits``), so an
    output class is scored before the softmax squashes it.
    """
    return layer_outputs(model, x, [layer], logits=logits, training=training)[0]


def layer_outputs(model, x, layers, logits=False, training=False):
    """The outputs of several layers in one forward pass (stops after the last one needed)."""
    wanted = {id(lay): lay for lay in layers}
    found = {}

    def run(lay, inp, **kw):
        return lay.invoke(inp, training=training, logits=logits and lay is layers[0] and hasattr(lay, "call_logits"),
                          **kw)

    if model._graph is None:
        for lay in model.layers:
            x = carry_mask(x, run(lay, x))
            if id(lay) in wanted and id(lay) not in found:
                found[id(lay)] = x
                if len(found) == len(wanted):
                    return [found[id(lay)] for lay in layers]
    else:
        first = next((n for n in model._graph.nodes if n.layer is layers[0]), None)
        for node, out in model._graph.steps([x], training, logits_node=first if logits else None):
            if id(node.layer) in wanted and id(node.layer) not in found:
                found[id(node.layer)] = out[0] if isinstance(out, (list, tuple)) else out
                if len(found) == len(wanted):
                    return [found[id(lay)] for lay in layers]
    missing = [lay.name for lay in layers if id(lay) not in found]
    raise ConfigError(f"Layer(s) {missing} are not in model {model.name!r}.")


def channel_axis(layer):
    """The filter axis of a layer's spatial output (1 for channels_first, else -1)."""
    return 1 if getattr(layer, "data_format", None) == "channels_first" else -1
