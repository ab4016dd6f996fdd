"""Model subclassing (tf.keras's third way to build a model, next to Sequential and functional).

    class TwoLayers(Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(64, activation="relu")
            self.out = Dense(10, activation="softmax")

        def call(self, x, training=None):
            return self.out(self.hidden(x))

The model is its ``call``: the layers it holds as attributes (one, or a list of them) are its
layers, in the order they were set, and their weights are its weights. There is no graph to
read before data arrives, so the model builds at its first data (``fit``, ``predict``, a
direct call, or ``build(input_shape)``), running ``call`` once on one row of zeros in test
mode, which builds every layer ``call`` uses. Forward passes run ``call`` as written: the
graph passes that fuse layers, the loss that takes the logits, and ``predict``'s row blocks
(``call`` may compute across the batch) stay off, and the architecture cannot be saved as a
config (as in tf.keras: save the weights, and build the class again to load them).
"""
import inspect

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad, using_config
from ..errors import NotSupportedError
from ..layers.base import Layer

_ATTRS = "_subclass_layers"


def track_setattr(model, name, value):
    """Set an attribute of a subclassed model, remembering a Layer or a list/tuple of Layers."""
    object.__setattr__(model, name, value)
    if name.startswith("__"):
        return
    held = isinstance(value, Layer) or (isinstance(value, (list, tuple)) and all(isinstance(v, Layer) for v in value))
    found = model.__dict__.get(_ATTRS)
    if held:
        if found is None:
            found = {}
            object.__setattr__(model, _ATTRS, found)
        found[name] = value
    elif found and name in found:
        del found[name]


def layers_of(model):
    """The layers a subclassed model holds, in the order they were set, each once."""
    found = []
    for value in model.__dict__.get(_ATTRS, {}).values():
        for layer in value if isinstance(value, (list, tuple)) else [value]:
            if all(layer is not f for f in found):
                found.append(layer)
    return found


def _run_call(model, x, training):
    params = inspect.signature(model.call).parameters
    takes_training = "training" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    with using_config("training", bool(training)):
        return model.call(x, training=training) if takes_training else model.call(x)


def forward(model, x, training):
    """``model.call`` on Tensors ``x`` (one per input), its output as a Tensor (or a list)."""
    if isinstance(x, (list, tuple)) and len(x) == 1:
        x = x[0]
    out = _run_call(model, x, training)
    if isinstance(out, (list, tuple)):
        return [o if isinstance(o, Tensor) else Tensor(backend.asarray(o)) for o in out]
    return out if isinstance(out, Tensor) else Tensor(backend.asarray(out))


def build(model, input_shape):
    """Build every layer ``call`` uses by running it on one row of zeros; record the shapes."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if any(s is None for shape in shapes for s in tuple(shape)[1:]):
        raise NotSupportedError(
            f"Model {model.name!r} (a subclassed model) cannot build for {input_shape}: every axis but the "
            "batch must be known. Call it on data (fit, predict) or pass a full shape to build().")
    zeros = [Tensor(backend.asarray(np.zeros((1,) + tuple(shape)[1:], backend.floatx()))) for shape in shapes]
    with no_grad():
        out = forward(model, zeros if len(zeros) > 1 else zeros[0], False)
    model.__dict__["_subclass_shapes"] = (
        input_shape,
        [(None,) + tuple(o.shape[1:]) for o in out] if isinstance(out, list) else (None,) + tuple(out.shape[1:]))


def shapes(model):
    """(input shape, output shape) found by ``build``, or (None, None) before it."""
    return model.__dict__.get("_subclass_shapes", (None, None))


def no_config(model):
    return NotSupportedError(
        f"Model {model.name!r} is a subclassed model ({type(model).__name__}): its architecture is Python code "
        "in call(), not a config that a file can hold. Save its weights (model.save_weights(path)) and load them "
        "into a new instance (build it on data first), or write the model with Sequential or Model(inputs, outputs).")
