"""keras.layers.merge: layers that combine several tensors, and their lowercase functional
shortcuts (``add([a, b])`` is ``Add()([a, b])``).

Layer names resolve lazily to threestep's layers; see ``threestep.keras._paths``.
"""
from .._paths import lookup, path_module

__getattr__, __dir__ = path_module(__name__, [
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
])


def _merge(class_name, inputs, **kwargs):
    return lookup(class_name, "keras.layers.merge")(**kwargs)(inputs)


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``: the elementwise sum, e.g. a residual connection."""
    return _merge("Add", inputs, **kwargs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``."""
    return _merge("Subtract", inputs, **kwargs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``: the elementwise product, e.g. a gate."""
    return _merge("Multiply", inputs, **kwargs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``: the elementwise mean, e.g. of an ensemble's outputs."""
    return _merge("Average", inputs, **kwargs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``: the elementwise maximum."""
    return _merge("Maximum", inputs, **kwargs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``: the elementwise minimum."""
    return _merge("Minimum", inputs, **kwargs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``: join along ``axis`` (default: features)."""
    return _merge("Concatenate", inputs, axis=axis, **kwargs)


def dot(inputs, axes, normalize=False, **kwargs):
    """``Dot(axes, normalize, **kwargs)(inputs)``: dot products of samples along ``axes``
    (``normalize=True``: cosine similarity)."""
    return _merge("Dot", inputs, axes=axes, normalize=normalize, **kwargs)
