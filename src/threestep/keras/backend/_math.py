"""The Keras 2 backend's tensor functions (``K.mean``, ``K.square``, ``K.batch_dot`` ...) on
threestep Tensors: every one is differentiable through threestep's engine.

Each function takes Tensors, NumPy arrays or numbers and returns a Tensor; given a symbolic
tensor (a layer's output, an ``Input``) it records a graph node instead, which ``K.function``,
``K.gradients`` and ``Model`` run on data later. Semantics follow tf.keras's backend.
"""
import builtins
import functools

import numpy

from ... import backend, ops
from ...autograd import Tensor, as_tensor
from ...errors import ShapeError
from ...layers.lambda_layer import symbolic_op
from ...layers.symbolic import SymbolicTensor, is_symbolic


def graph_aware(fn):
    """Make ``fn`` record a graph node when any argument is symbolic."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if is_symbolic((args, list(kwargs.values()))):
            return symbolic_op(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper


def to_tensor(x, like=None):
    """``x`` as a Tensor: Tensors pass; Python floats take the dtype of ``like`` (else floatx)."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return as_tensor(x, like)
    if isinstance(x, float) or (isinstance(x, (list, tuple)) and any(isinstance(v, float) for v in x)):
        return Tensor(backend.asarray(x, dtype=backend.floatx()))
    array = backend.asarray(x)
    if array.dtype == numpy.float64 and not backend.is_array(x):
        array = array.astype(backend.floatx())
    return Tensor(array)


def _pair(a, b):
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return to_tensor(a, like), to_tensor(b, like)


def _constant(array):
    """A result with no gradient (comparisons, argmax, shapes)."""
    return Tensor(array)


# ---------------------------------------------------------------- shapes and types
def int_shape(x):
    """The static shape as a tuple of ints (None where unknown)."""
    if isinstance(x, SymbolicTensor):
        return tuple(x.shape)
    return tuple(int(s) for s in getattr(x, "shape", numpy.shape(x)))


def ndim(x):
    """The number of axes of ``x`` (``K.ndim(x) == len(K.int_shape(x))``)."""
    return len(int_shape(x))


def shape(x):
    """The dynamic shape, as an integer array: ``K.shape(z)[0]`` is the batch size."""
    if isinstance(x, SymbolicTensor):
        return symbolic_op(shape, x)
    return numpy.asarray(getattr(x, "shape", numpy.shape(x)), dtype="int64")


def dtype(x):
    """The dtype's name ('float32')."""
    return numpy.dtype(getattr(x, "dtype", None) or numpy.asarray(x).dtype).name


def is_tensor(x):
    """True for a threestep Tensor or a symbolic tensor, False for arrays and numbers."""
    return isinstance(x, (Tensor, SymbolicTensor))


def is_keras_tensor(x):
    """True for a symbolic tensor (an ``Input`` or a layer's output), as Keras's check."""
    return isinstance(x, SymbolicTensor)


@graph_aware
def cast(x, dtype):
    """``x`` converted to ``dtype`` (``'float32'``, ``'int64'`` ...); float-to-float casts keep the gradient."""
    x = to_tensor(x)
    return ops.cast(x, numpy.dtype(dtype).name)


# ---------------------------------------------------------------- reductions
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@graph_aware
def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when ``None``); integer and boolean inputs are averaged as floatx.

    Args:
        x: tensor, array or number.
        axis: an axis, a list of axes or ``None``.
        keepdims: keep the reduced axes with length 1.

    Returns:
        The reduced tensor.
    """
    x = to_tensor(x)
    if x.dtype.kind != "f":
        x = ops.cast(x, backend.floatx())
    return ops.mean(x, _axis(axis), keepdims)


@graph_aware
def sum(x, axis=None, keepdims=False):  # noqa: A001  (Keras's name)
    """Sum over ``axis`` (all axes when ``None``); ``keepdims`` keeps the reduced axes with length 1."""
    return ops.sum(to_tensor(x), _axis(axis), keepdims)


@graph_aware
def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis`` (all axes when ``None``); the gradient goes to the maximal entries."""
    return ops.max(to_tensor(x), _axis(axis), keepdims)


@graph_aware
def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis`` (all axes when ``None``); the gradient goes to the minimal entries."""
    return -ops.max(-to_tensor(x), _axis(axis), keepdims)


@graph_aware
def prod(x, axis=None, keepdims=False):
    """Product over ``axis`` (all axes when ``None``), differentiable."""
    return ops.prod(to_tensor(x), _axis(axis), keepdims)


@graph_aware
def var(x, axis=None, keepdims=False):
    """Population variance (divides by n, as Keras)."""
    x = to_tensor(x)
    centred = x - ops.mean(x, _axis(axis), True)
    return ops.mean(centred * centred, _axis(axis), keepdims)


@graph_aware
def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis`` (divides by n, as Keras)."""
    return sqrt(var(x, axis, keepdims))


@graph_aware
def cumsum(x, axis=0):
    """Cumulative sum along ``axis`` (0 by default, as Keras)."""
    return ops.cumsum(to_tensor(x), axis)


@graph_aware
def any(x, axis=None, keepdims=False):  # noqa: A001
    """Logical OR over ``axis`` (a boolean tensor without a gradient)."""
    return _constant(backend.get_array_module(to_tensor(x).data).any(to_tensor(x).data, axis=_axis(axis),
                                                                      keepdims=keepdims))


@graph_aware
def all(x, axis=None, keepdims=False):  # noqa: A001
    """Logical AND over ``axis`` (a boolean tensor without a gradient)."""
    return _constant(backend.get_array_module(to_tensor(x).data).all(to_tensor(x).data, axis=_axis(axis),
                                                                      keepdims=keepdims))


@graph_aware
def argmax(x, axis=-1):
    """Index of the largest entry along ``axis`` (an integer tensor without a gradient)."""
    return _constant(to_tensor(x).data.argmax(axis=axis))


@graph_aware
def argmin(x, axis=-1):
    """Index of the smallest entry along ``axis`` (an integer tensor without a gradient)."""
    return _constant(to_tensor(x).data.argmin(axis=axis))


# ---------------------------------------------------------------- element-wise
@graph_aware
def square(x):
    """``x * x`` element-wise."""
    x = to_tensor(x)
    return x * x


@graph_aware
def sqrt(x):
    """sqrt(max(x, 0)), as Keras (negative inputs give 0, not NaN)."""
    x = to_tensor(x)
    return ops.sqrt(ops.maximum(x, to_tensor(0.0, x)))


@graph_aware
def abs(x):  # noqa: A001
    """Absolute value element-wise."""
    return ops.abs(to_tensor(x))


@graph_aware
def exp(x):
    """Exponential element-wise."""
    return ops.exp(to_tensor(x))


@graph_aware
def log(x):
    """Natural logarithm element-wise (no clipping: ``log(0)`` is ``-inf``, as Keras)."""
    return ops.log(to_tensor(x))


@graph_aware
def pow(x, a):  # noqa: A001
    """``x ** a`` element-wise, ``a`` a number or a tensor."""
    x = to_tensor(x)
    return ops.pow(x, to_tensor(a, x))


@graph_aware
def sign(x):
    """-1, 0 or 1 element-wise by the sign of ``x`` (no gradient)."""
    data = to_tensor(x).data
    return _constant(backend.get_array_module(data).sign(data))


@graph_aware
def round(x):  # noqa: A001
    """``x`` rounded to the nearest integer, halves to even (no gradient)."""
    data = to_tensor(x).data
    return _constant(backend.get_array_module(data).round(data))


@graph_aware
def clip(x, min_value, max_value):
    """Clip to [min_value, max_value] (a max below the min is raised to it, as Keras)."""
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    x = to_tensor(x)
    return ops.clip(x, -numpy.inf if min_value is None else min_value, numpy.inf if max_value is None else max_value)


@graph_aware
def maximum(x, y):
    """Element-wise maximum of ``x`` and ``y`` with broadcasting; ties send the gradient to ``x``."""
    return ops.maximum(*_pair(x, y))


@graph_aware
def minimum(x, y):
    """Element-wise minimum of ``x`` and ``y`` with broadcasting; ties send the gradient to ``x``."""
    return ops.minimum(*_pair(x, y))


def _compare(name):
    @graph_aware
    def compare(x, y):
        a, b = _pair(x, y)
        return _constant(getattr(backend.get_array_module(a.data), name)(a.data, b.data))

    compare.__name__ = name
    compare.__doc__ = (f"Element-wise ``numpy.{name}(x, y)`` with broadcasting: a boolean tensor without "
                       "a gradient (for masks and metrics).")
    return compare


equal = _compare("equal")
not_equal = _compare("not_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")
less = _compare("less")
less_equal = _compare("less_equal")


@graph_aware
def switch(condition, then_expression, else_expression):
    """``condition ? then : else`` element-wise; callables are called first. A condition of
    lower rank than the branches applies along the leading axes (as Keras)."""
    if callable(then_expression):
        then_expression = then_expression()
    if callable(else_expression):
        else_expression = else_expression()
    a, b = _pair(then_expression, else_expression)
    cond = getattr(condition, "data", condition)
    xp = backend.get_array_module(a.data)
    cond = xp.asarray(cond).astype(bool)
    if cond.ndim == 0:
        return a if bool(cond) else b
    while cond.ndim < builtins.max(a.ndim, b.ndim):
        cond = cond[..., None]
    return ops.where(cond, a, b)


# ---------------------------------------------------------------- linear algebra and shapes
@graph_aware
def dot(x, y):
    """Keras's dot: for an N-D ``y`` it contracts the last axis of ``x`` with the second-to-last of ``y``."""
    x, y = _pair(x, y)
    if y.ndim <= 2 or x.ndim == 1:
        return ops.matmul(x, y)
    k = y.shape[-2]
    order = [y.ndim - 2] + [i for i in range(y.ndim) if i != y.ndim - 2]
    y2 = ops.reshape(ops.transpose(y, order), (k, -1))
    out = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), y2)
    return ops.reshape(out, tuple(x.shape[:-1]) + tuple(y.shape[:-2]) + (y.shape[-1],))


@graph_aware
def batch_dot(x, y, axes=None):
    """Per-sample dot product along ``axes`` (tf.keras semantics; the result has at least 2 axes)."""
    x, y = _pair(x, y)
    if x.ndim < 2 or y.ndim < 2:
        raise ShapeError(f"batch_dot needs inputs of rank >= 2; received shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2]
    a0, a1 = (a + n if a < 0 else a for a, n in zip(axes, (x.ndim, y.ndim)))
    if 0 in (a0, a1):
        raise ShapeError("batch_dot cannot contract the batch axis (axis 0).")
    if x.shape[a0] != y.shape[a1]:
        raise ShapeError(f"batch_dot: x.shape[{a0}] = {x.shape[a0]} differs from y.shape[{a1}] = {y.shape[a1]} "
                         f"(shapes {tuple(x.shape)} and {tuple(y.shape)}).")
    batch, k = x.shape[0], x.shape[a0]
    x_rest = [i for i in range(1, x.ndim) if i != a0]
    y_rest = [i for i in range(1, y.ndim) if i != a1]
    xt = ops.reshape(ops.transpose(x, [0] + x_rest + [a0]), (batch, -1, k))
    yt = ops.reshape(ops.transpose(y, [0, a1] + y_rest), (batch, k, -1))
    out = ops.reshape(ops.matmul(xt, yt), (batch,) + tuple(x.shape[i] for i in x_rest) + tuple(y.shape[i] for i in y_rest))
    return ops.reshape(out, (batch, 1)) if out.ndim == 1 else out


@graph_aware
def transpose(x):
    """``x`` with its axes reversed (a matrix's transpose)."""
    return ops.transpose(to_tensor(x))


@graph_aware
def reshape(x, shape):
    """``x`` with a new ``shape`` (one entry may be -1, inferred from the size)."""
    return ops.reshape(to_tensor(x), tuple(int(s) for s in shape))


@graph_aware
def permute_dimensions(x, pattern):
    """``x`` with its axes reordered by ``pattern`` (a tuple naming every axis)."""
    return ops.transpose(to_tensor(x), tuple(pattern))


@graph_aware
def expand_dims(x, axis=-1):
    """``x`` with a new axis of length 1 at position ``axis`` (-1: the end)."""
    x = to_tensor(x)
    axis = axis + x.ndim + 1 if axis < 0 else axis
    return ops.reshape(x, tuple(x.shape[:axis]) + (1,) + tuple(x.shape[axis:]))


@graph_aware
def squeeze(x, axis):
    """``x`` without the length-1 axis ``axis``.

    Raises:
        ShapeError: when that axis is longer than 1.
    """
    x = to_tensor(x)
    axis = axis % x.ndim
    if x.shape[axis] != 1:
        raise ShapeError(f"squeeze: axis {axis} of shape {tuple(x.shape)} has size {x.shape[axis]}, not 1.")
    return ops.reshape(x, tuple(s for i, s in enumerate(x.shape) if i != axis))


@graph_aware
def concatenate(tensors, axis=-1):
    """Joins ``tensors`` along ``axis`` (-1: the last)."""
    tensors = [to_tensor(t) for t in tensors]
    return ops.concatenate(tensors, axis % tensors[0].ndim)


@graph_aware
def stack(x, axis=0):
    """Stacks the tensors in ``x`` along a new axis ``axis``."""
    return ops.stack([to_tensor(t) for t in x], axis)


@graph_aware
def tile(x, n):
    """Repeats ``x`` ``n`` times along each axis (``n`` an int for 1-D input, or one count per axis)."""
    return ops.tile(to_tensor(x), [n] if isinstance(n, int) else list(n))


@graph_aware
def repeat(x, n):
    """(batch, dim) -> (batch, n, dim) (RepeatVector)."""
    x = to_tensor(x)
    return ops.tile(ops.reshape(x, (x.shape[0], 1, x.shape[1])), (1, n, 1))


@graph_aware
def repeat_elements(x, rep, axis):
    """Repeats each entry of ``x`` ``rep`` times along ``axis`` (as ``numpy.repeat``)."""
    x = to_tensor(x)
    index = numpy.repeat(numpy.arange(x.shape[axis]), rep)
    key = (slice(None),) * (axis % x.ndim) + (backend.asarray(index),)
    return x[key]


@graph_aware
def flatten(x):
    """``x`` as a 1-D tensor."""
    return ops.reshape(to_tensor(x), (-1,))


@graph_aware
def batch_flatten(x):
    """``x`` as ``(batch, -1)``: every axis but the first merged into one."""
    x = to_tensor(x)
    return ops.reshape(x, (x.shape[0], -1))


@graph_aware
def gather(reference, indices):
    """Rows ``indices`` of ``reference`` (an embedding lookup); the gradient adds up repeated rows."""
    idx = getattr(indices, "data", indices)
    return to_tensor(reference)[backend.asarray(idx).astype("int64")]


@graph_aware
def l2_normalize(x, axis=None):
    """x / sqrt(max(sum(x^2, axis), 1e-12))."""
    x = to_tensor(x)
    norm2 = ops.sum(x * x, _axis(axis), True)
    return x / ops.sqrt(ops.maximum(norm2, to_tensor(1e-12, x)))


@graph_aware
def stop_gradient(x):
    """``x`` with no gradient flowing back through it."""
    return to_tensor(x).detach()


@graph_aware
def identity(x, name=None):
    """A copy of ``x`` that gradients flow through (``name`` is accepted for Keras and ignored)."""
    return to_tensor(x) * 1


def print_tensor(x, message=""):
    """Prints ``message`` and the value of ``x`` (concrete tensors) and returns ``x`` unchanged."""
    if isinstance(x, Tensor):
        print(message, backend.to_numpy(x.data))
    return x


__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "builtins", "functools", "numpy", "backend", "ops", "Tensor", "as_tensor", "ShapeError",
    "symbolic_op", "SymbolicTensor", "is_symbolic", "graph_aware", "to_tensor")]
