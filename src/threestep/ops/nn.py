"""The ops that carry a network's work, fused: linear, softmax, log-softmax, and the losses.

Each fused op has a ``*_simple`` twin in ``simple.py`` built from primitives; the tests
check one against the other.
"""
import math

from .. import backend
from ..autograd import Function
from ..errors import ConfigError, DataError
from . import _blas, fused, kernels


def _float_like(t, x):
    """Integer or bool targets (labels) in x's float dtype: int64 * float32 would give float64."""
    return t.astype(x.dtype) if t.dtype.kind in "biu" and x.dtype.kind == "f" else t


class Linear(Function):
    """y = x @ W + b over the last axis of x (the lecture's z = Wa + b, in Keras layout);
    with ``relu=True``, y = max(x @ W + b, 0): the bias and the ReLU in one pass over y.

    Backward is the lecture's "reverse network": dL/dx = dL/dy @ W^T, and
    dL/dW = x^T @ dL/dy (forward value times backward value). dL/dx is skipped when
    x needs no gradient (the first layer's input data). With the ReLU, dL/dy first passes
    where y > 0 only (PyTorch's subgradient: 0 at 0). Asked to fold an update of W into backward
    (``Tensor.backward(update=...)``), the dW GEMM writes beta * target + alpha * dL/dW into the
    target (W itself, or momentum's velocity) instead of returning dL/dW.
    """

    def __init__(self, relu=False):
        self.relu = relu

    def forward(self, x, W, b=None):
        self.x, self.W = x, W
        y = x @ W
        if self.relu:
            if not kernels.bias_relu_(y, b):  # float32 on NumPy: one Numba pass
                if b is not None:
                    fused.bias_relu_(y, b)  # one kernel on CuPy
                else:
                    backend.get_array_module(y).maximum(y, 0, out=y)
            self.y = y
        elif b is not None:
            y += b
        return y

    def backward(self, gy):
        want_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gb = None
        if self.relu:
            both = kernels.relu_grad_bias(gy, self.y, want_b)  # float32: the ReLU and dL/db in one pass
            gy, gb = both if both is not None else (fused.relu_grad(gy, self.y), None)
        x, W = self.x, self.W
        gx = gy @ W.T if self.needs_input_grad[0] else None  # before any folded update of W
        gW = None
        if self.needs_input_grad[1]:
            x2, gy2 = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1])
            fold = self.fold_update
            target = self.gradient_target(1, W.shape)  # the GPU: a packed optimizer's gradient view
            if target is not None:
                backend.get_array_module(gy2).matmul(x2.T, gy2, out=target)
            elif fold and 1 in fold and fold[1][0].shape == W.shape and _blas.gemm_update_(fold[1][0], x2, gy2,
                                                                                            fold[1][1], fold[1][2]):
                del fold[1]  # target = beta * target + alpha * x^T @ dL/dy in the GEMM itself (float32 NumPy)
            else:
                gW = x2.T @ gy2
        if want_b and gb is None:
            target = self.gradient_target(2, gy.shape[-1:])
            if target is not None:
                gy.reshape(-1, gy.shape[-1]).sum(axis=0, out=target)
            else:
                gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0)
        return gx, gW, gb


def _softmax(x, axis):
    xp = backend.get_array_module(x)
    e = x - x.max(axis=axis, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(x, axis):
    xp = backend.get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


class Softmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = _softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        y = self.y
        gx = y * gy
        gx -= y * gx.sum(axis=self.axis, keepdims=True)
        return gx


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = _log_softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class SoftmaxCrossEntropy(Function):
    """Per-sample cross-entropy of softmax(logits) against targets, from the logits.

    ``targets`` are integer class labels shaped like ``logits.shape[:-1]`` or
    probabilities (one-hot) shaped like ``logits``. Returns a loss per sample (the
    caller averages or weights them). dL/dlogits = softmax - target: the reason the
    fused form is both faster and stabler than softmax followed by log.
    """

    p = None  # softmax(logits), kept by the float32 kernel path (backward needs no exp then)
    e = s = None  # exp(logits - max) and its row sums, kept by the sparse path elsewhere
    z = m = None  # the logits and their row maxima, kept instead of e by that path's mean

    def __init__(self, mean=False):
        self.mean = mean  # the batch mean in the same node (the plain loss): one op less per step

    def forward(self, logits, targets):
        check_labels(logits, targets)  # every path (generators, train_on_batch, custom loops) passes here
        loss = self._per_sample(logits, targets)
        if not self.mean:
            return loss
        if loss is None:  # the sparse path without Numba: the mean in one reduction (fused.ce_mean)
            z = self.z
            self.shape = z.shape[:-1]
            classes = _class_indices(backend.get_array_module(z), z.shape[-1], z)
            return fused.ce_mean(z, self.m, self.s, self.labels[..., None], classes, z.dtype.type(math.prod(self.shape)))
        self.shape = loss.shape  # the mean as ops.mean computes it: the sum over the count
        return loss.sum() / loss.dtype.type(loss.size)

    def _per_sample(self, logits, targets):
        """The loss per sample; None on the sparse path without the Numba kernel with ``mean``,
        which keeps what ``forward`` averages without writing per-sample losses."""
        self.sparse = targets.ndim == logits.ndim - 1
        if self.sparse:
            xp = backend.get_array_module(logits)
            # On CuPy integer labels index as they are: casting them was a launch per step.
            keep = backend.on_gpu(targets) and targets.dtype.kind in "iu"
            self.labels = targets if keep else targets.astype(xp.intp, copy=False)
            done = kernels.softmax_ce(logits, self.labels)  # float32 on NumPy: one Numba pass
            if done is not None:
                loss, self.p = done
                return loss
            # NumPy without Numba, and CuPy: the row maxima, then the mean in two fused reductions
            # (backward recomputes exp); per sample, two reductions, a gather and two chains
            m = logits.max(axis=-1, keepdims=True)
            if self.mean:
                self.z, self.m = logits, m
                self.s = fused.exp_sum(logits, m)[..., None]
                return None
            self.e = fused.exp_shifted(logits, m)
            self.s = self.e.sum(axis=-1, keepdims=True)
            picked = xp.take_along_axis(logits, self.labels[..., None], axis=-1)
            return fused.ce_from_parts(self.s, m, picked)[..., 0]
        logp = _log_softmax(logits, -1)
        self.labels = targets = _float_like(targets, logits)
        self.logp = logp
        return -(targets * logp).sum(axis=-1)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        if self.z is not None:  # the mean on the sparse path without Numba: one chain
            z = self.z
            classes = _class_indices(xp, z.shape[-1], z)
            count = float(math.prod(self.shape))
            return fused.ce_grad_logits(z, self.m, self.s, self.labels[..., None], classes, gy[..., None], count), None
        if self.e is not None:  # per sample on the sparse path without Numba: one chain
            classes = _class_indices(xp, self.e.shape[-1], self.e)
            return fused.ce_grad(self.e, self.s, self.labels[..., None], classes, gy[..., None], 1.0), None
        if self.mean:  # d(mean)/d(loss_i) = 1 / count, as ops.mean's backward
            gy = xp.full(self.shape, gy / gy.dtype.type(math.prod(self.shape)), gy.dtype)
        if self.p is not None:
            return kernels.softmax_ce_grad(self.p, self.labels, gy), None
        g = xp.exp(self.logp)
        g *= self.labels.sum(axis=-1, keepdims=True)  # soft targets need not sum to one: p * sum(t) - t
        g -= self.labels
        g *= gy[..., None]
        gt = None
        if not self.sparse and self.needs_input_grad[1]:
            gt = -self.logp * gy[..., None]
        return g, gt


def check_labels(logits, targets):
    """Integer labels must name one of the logits' classes: an out-of-range label would
    otherwise get zero loss and zero gradient (or index out of bounds) without a word."""
    if targets.ndim != logits.ndim - 1 or targets.size == 0 or backend.on_gpu(targets):
        return  # on the GPU a check would read the device every step: fit/evaluate check labels on the host
    n = logits.shape[-1]
    lo, hi = targets.min(), targets.max()
    if lo < 0 or hi >= n:
        bad = targets[(targets < 0) | (targets >= n)]
        raise DataError(
            f"softmax_cross_entropy: class labels must be in 0..{n - 1} (the output has {n} units); received "
            f"{int(bad.size)} label(s) out of range, from {float(lo):g} to {float(hi):g} (e.g. {float(bad[0]):g}). "
            f"Fix the labels, or give the last layer {max(int(hi) + 1, n)} units.")


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


class SigmoidCrossEntropy(Function):
    """Elementwise binary cross-entropy of sigmoid(logits) against targets in [0, 1].

    loss = max(z, 0) - z t + log(1 + e^-|z|), which never overflows; dL/dz = sigmoid(z) - t.
    """

    def forward(self, logits, targets):
        xp = backend.get_array_module(logits)
        targets = _float_like(targets, logits)
        self.z, self.t = logits, targets
        return xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))

    def backward(self, gy):
        from .elementwise import stable_sigmoid  # same family, kept next to Sigmoid

        gz = (stable_sigmoid(self.z) - self.t) * gy if self.needs_input_grad[0] else None
        gt = -self.z * gy if self.needs_input_grad[1] else None
        return gz, gt


class SquaredError(Function):
    """Elementwise (y_pred - y_true)^2; the loss layer averages it (MSE)."""

    def forward(self, pred, target):
        self.diff = pred - _float_like(target, pred)
        return self.diff * self.diff

    def backward(self, gy):
        g = 2 * gy * self.diff
        return (g if self.needs_input_grad[0] else None), (-g if self.needs_input_grad[1] else None)


def linear(x, W, b=None, relu=False):
    """x @ W + b; ``relu=True`` applies max(., 0) in the same op (Dense(activation="relu"))."""
    return Linear(relu)(x, W) if b is None else Linear(relu)(x, W, b)


def softmax(x, axis=-1):
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    return LogSoftmax(axis)(x)


def softmax_cross_entropy(logits, targets, reduction="none"):
    """CE from logits; targets are int labels or one-hot/probabilities. ``reduction="none"``:
    one loss per sample; ``"mean"``: their mean, in the same graph node."""
    if reduction not in ("none", "mean"):
        raise ConfigError(f"softmax_cross_entropy: reduction must be 'none' or 'mean'. Received: {reduction!r}.")
    return SoftmaxCrossEntropy(mean=reduction == "mean")(logits, targets)


def sigmoid_cross_entropy(logits, targets):
    """Elementwise binary CE from logits (the stable form)."""
    return SigmoidCrossEntropy()(logits, targets)


def squared_error(pred, target):
    return SquaredError()(pred, target)


def mean_squared_error(pred, target):
    """Mean over all elements of (pred - target)^2, as Keras's and PyTorch's MSE."""
    from .reduce import mean

    return mean(squared_error(pred, target))
