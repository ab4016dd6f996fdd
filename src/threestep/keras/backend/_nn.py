"""The backend's activations, per-sample losses, random tensors and dropout (``K.softmax``,
``K.categorical_crossentropy``, ``K.random_normal``, ``K.dropout`` ...), with tf.keras's
formulas (clipping to [epsilon, 1 - epsilon] for losses on probabilities)."""
import builtins

import numpy

from ... import backend, ops
from ...autograd import Tensor
from ...errors import ConfigError
from ._math import graph_aware, to_tensor


# ---------------------------------------------------------------- activations
@graph_aware
def softmax(x, axis=-1):
    """Softmax along ``axis`` (-1: the last), the probabilities of a classifier."""
    return ops.softmax(to_tensor(x), axis)


@graph_aware
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's options.

    Args:
        x: input tensor.
        alpha: slope below ``threshold``.
        max_value: upper bound of the output (``None``: unbounded).
        threshold: values below it are damped by ``alpha``.

    Returns:
        A tensor of the shape of ``x``.
    """
    from ...layers.activations import relu as _relu  # noqa: PLC0415

    return _relu(to_tensor(x), alpha, max_value, threshold)


@graph_aware
def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return ops.elu(to_tensor(x), alpha)


@graph_aware
def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` element-wise."""
    return ops.sigmoid(to_tensor(x))


@graph_aware
def hard_sigmoid(x):
    """Piecewise linear sigmoid ``clip(0.2 * x + 0.5, 0, 1)``, cheaper than ``sigmoid``."""
    return ops.hard_sigmoid(to_tensor(x))


@graph_aware
def tanh(x):
    """Hyperbolic tangent element-wise."""
    return ops.tanh(to_tensor(x))


@graph_aware
def softplus(x):
    """``log(1 + exp(x))`` element-wise, a smooth ReLU."""
    return ops.softplus(to_tensor(x))


@graph_aware
def softsign(x):
    """``x / (1 + |x|)`` element-wise."""
    return ops.softsign(to_tensor(x))


# ---------------------------------------------------------------- losses (per element / per sample)
@graph_aware
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) ``target`` and ``output`` along ``axis``.

    Args:
        target: targets of the shape of ``output``.
        output: probabilities, or logits when ``from_logits``.
        from_logits: whether ``output`` is unnormalised logits.
        axis: the class axis.

    Returns:
        The loss per sample (``axis`` reduced).
    """
    output = to_tensor(output)
    target = to_tensor(target, output)
    if from_logits:
        return -ops.sum(target * ops.log_softmax(output, axis), axis)
    from ...backend import epsilon  # noqa: PLC0415

    p = output / ops.sum(output, axis, True)
    p = ops.clip(p, epsilon(), 1 - epsilon())
    return -ops.sum(target * ops.log(p), axis)


@graph_aware
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class ``target`` and ``output`` along ``axis``.

    Args:
        target: integer class indices (the shape of ``output`` without ``axis``).
        output: probabilities, or logits when ``from_logits``.
        from_logits: whether ``output`` is unnormalised logits.
        axis: the class axis.

    Returns:
        The loss per sample.
    """
    output = to_tensor(output)
    labels = backend.asarray(getattr(target, "data", target))
    if labels.ndim == output.ndim:
        labels = labels[..., 0]
    labels = labels.astype("int64")
    if axis not in (-1, output.ndim - 1):
        output = ops.transpose(output, [i for i in range(output.ndim) if i != axis % output.ndim] + [axis % output.ndim])
    if from_logits:
        logp = ops.log_softmax(output, -1)
    else:
        from ...backend import epsilon  # noqa: PLC0415

        p = ops.clip(output, epsilon(), 1 - epsilon())
        logp = ops.log(p) - ops.log(ops.sum(p, -1, True))
    xp = backend.get_array_module(logp.data)
    onehot = (labels[..., None] == xp.arange(output.shape[-1])).astype(logp.dtype)
    return -ops.sum(logp * onehot, -1)


@graph_aware
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy between ``target`` and ``output``.

    Args:
        target: targets in [0, 1].
        output: probabilities, or logits when ``from_logits``.
        from_logits: whether ``output`` is unnormalised logits.

    Returns:
        A tensor of the shape of ``output``.
    """
    output = to_tensor(output)
    target = to_tensor(target, output)
    if from_logits:
        return ops.sigmoid_cross_entropy(output, target)
    from ...backend import epsilon  # noqa: PLC0415

    eps = epsilon()
    p = ops.clip(output, eps, 1 - eps)
    return -(target * ops.log(p + eps) + (1 - target) * ops.log(1 - p + eps))


# ---------------------------------------------------------------- random
def _shape_tuple(shape):
    return tuple(int(s) for s in (shape.data if isinstance(shape, Tensor) else shape))


def _rng(seed):
    return numpy.random.default_rng(seed) if seed is not None else backend.rng()


def _random(fill, shape, dtype, seed):
    dtype = dtype or backend.floatx()
    data = backend.asarray(fill(_rng(seed), _shape_tuple(shape)), dtype=dtype)
    return Tensor(data)


@graph_aware
def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A tensor of ``shape`` drawn from N(``mean``, ``stddev``²) (``seed`` makes it repeatable)."""
    # standard_normal, not normal: CuPy's Generator (the backend's on a GPU) has no ``normal``;
    # on NumPy ``mean + stddev * z`` is what ``normal(mean, stddev)`` computes, draw for draw.
    return _random(lambda g, s: mean + stddev * g.standard_normal(s), shape, dtype, seed)


@graph_aware
def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """A tensor of ``shape`` drawn uniformly from [``minval``, ``maxval``) (``seed`` makes it repeatable)."""
    return _random(lambda g, s: g.uniform(minval, maxval, s), shape, dtype, seed)


@graph_aware
def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """A tensor of ``shape`` of ones with probability ``p`` and zeros otherwise."""
    return _random(lambda g, s: g.uniform(0, 1, s) < p, shape, dtype, seed)


@graph_aware
def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A tensor of ``shape`` from N(``mean``, ``stddev``²), redrawn beyond two standard deviations."""
    def fill(g, s):
        out = g.standard_normal(s)  # CuPy's Generator has no ``normal`` (see random_normal)
        bad = builtins.abs(out) > 2
        while bad.any():
            out[bad] = g.standard_normal(int(bad.sum()))
            bad = builtins.abs(out) > 2
        return mean + stddev * out

    return _random(fill, shape, dtype, seed)


@graph_aware
def dropout(x, level, noise_shape=None, seed=None):
    """Inverted dropout: zero a fraction ``level`` of the entries, scale the rest by 1/(1-level)."""
    if not 0 <= level < 1:
        raise ConfigError(f"dropout: level must be in [0, 1). Received: level={level}.")
    x = to_tensor(x)
    return ops.dropout(x, level, noise_shape, rng=_rng(seed) if seed is not None else None)


__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "builtins", "numpy", "backend", "ops", "Tensor", "ConfigError", "graph_aware", "to_tensor")]
