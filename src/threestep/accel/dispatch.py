"""The fast routes of the layer-sized ops, one function each: the op calls one of these and
never chooses between Numba, CuPy and NumPy itself.

Each function picks, in order: the float32 Numba kernel (NumPy arrays, ``accel.kernels``),
the one-kernel CuPy chain (``accel.fused``, which runs as plain NumPy expressions elsewhere),
and NumPy.
"""
import math

from .. import backend
from . import fused, kernels


def bias_relu_(y, b=None):
    """y = max(y + b, 0) in place (b over the last axis; None: the ReLU alone)."""
    if kernels.bias_relu_(y, b):  # float32 on NumPy: one Numba pass
        return
    if b is not None:
        fused.bias_relu_(y, b)  # one kernel on CuPy
    else:
        backend.get_array_module(y).maximum(y, 0, out=y)


def relu_grad_bias(gy, y, want_bias):
    """(dL/dz = gy where y > 0 (PyTorch's subgradient: 0 at 0), dL/db or None). dL/db, the sum
    over all axes but the last, comes from the same pass where a kernel serves it; None where
    it does not (the caller sums, perhaps straight into a buffer of its own)."""
    both = kernels.relu_grad_bias(gy, y, want_bias)
    if both is not None:
        return both
    return fused.relu_grad(gy, y), None


def relu_grad(gy, y):
    """dL/dz = gy where y > 0, as a new array."""
    out = kernels.relu_grad(gy, y)
    return out if out is not None else fused.relu_grad(gy, y)


def mean_of(loss, grad):
    """The batch mean of per-sample ``loss`` (the sum over the count, as ``ops.mean``) and the
    gradient function of that mean (1 / count to every sample)."""
    shape, count = loss.shape, loss.dtype.type(loss.size)

    def mean_grad(gy):
        xp = backend.get_array_module(gy)
        return grad(xp.full(shape, gy / gy.dtype.type(math.prod(shape)), gy.dtype))
    return loss.sum() / count, mean_grad


def sparse_softmax_ce(logits, labels, mean):
    """-log softmax(logits)[label] over the last axis, per sample (or their mean with ``mean``):
    ``(loss, grad)``, where ``grad(gy)`` returns dL/dlogits = (softmax - onehot) * gy.

    float32 NumPy: one Numba pass keeps the softmax for backward. Elsewhere (CuPy, or NumPy
    without Numba) the row maxima, then fused chains that never write the one-hot: with
    ``mean``, two reductions and backward recomputes exp; per sample, exp kept."""
    done = kernels.softmax_ce(logits, labels)
    if done is not None:
        loss, p = done
        grad = lambda gy: kernels.softmax_ce_grad(p, labels, gy)  # noqa: E731
        return mean_of(loss, grad) if mean else (loss, grad)
    xp = backend.get_array_module(logits)
    m = logits.max(axis=-1, keepdims=True)
    classes = _class_indices(xp, logits.shape[-1], logits)
    column = labels[..., None]
    if mean:
        s = fused.exp_sum(logits, m)[..., None]
        count = math.prod(logits.shape[:-1])
        loss = fused.ce_mean(logits, m, s, column, classes, logits.dtype.type(count))
        return loss, lambda gy: fused.ce_grad_logits(logits, m, s, column, classes, gy[..., None], float(count))
    e = fused.exp_shifted(logits, m)
    s = e.sum(axis=-1, keepdims=True)
    picked = xp.take_along_axis(logits, column, axis=-1)
    loss = fused.ce_from_parts(s, m, picked)[..., 0]
    return loss, lambda gy: fused.ce_grad(e, s, column, classes, gy[..., None], 1.0)


def softmax_ce(logits, targets, mean):
    """-sum(targets * log softmax(logits)) over the last axis against probability (one-hot)
    targets of the same shape, as ``sparse_softmax_ce``; None where no fast route serves them
    (the op's NumPy reference runs). dL/dlogits = (softmax * sum(targets) - targets) * gy."""
    done = kernels.softmax_ce_dense(logits, targets)
    if done is None:
        return None
    loss, p = done
    grad = lambda gy: kernels.softmax_ce_dense_grad(p, targets, gy)  # noqa: E731
    return mean_of(loss, grad) if mean else (loss, grad)


def _class_indices(xp, n, like):
    """arange(n) (int64) on ``like``'s device, made once per size and device: read-only, it spares
    the cross-entropy's backward a launch per step on CuPy. Compared with labels of any integer
    dtype, so uint8 labels and 300 classes give the right one-hot."""
    key = (xp, n, str(getattr(like, "device", "")))
    found = _CLASSES.get(key)
    if found is None:
        if len(_CLASSES) >= 32:
            _CLASSES.clear()
        found = _CLASSES[key] = xp.arange(n, dtype=xp.int64)
    return found


_CLASSES = {}  # (array module, classes, device) -> arange(classes)
