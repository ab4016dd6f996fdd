"""The ops that carry a network's work, fused: linear, softmax, log-softmax, and the losses.

Each fused op has a ``*_simple`` twin in ``simple.py`` built from primitives; the tests
check one against the other.
"""
from .. import backend
from ..accel import dispatch as accel
from ..autograd import Function
from ..errors import ConfigError, DataError


def _float_like(t, x):
    """Integer or bool targets (labels) in x's float dtype: int64 * float32 would give float64."""
    return t.astype(x.dtype) if t.dtype.kind in "biu" and x.dtype.kind == "f" else t


class Linear(Function):
    """y = x @ W + b over the last axis of x (the lecture's z = Wa + b, in Keras layout);
    with ``relu=True``, y = max(x @ W + b, 0): the bias and the ReLU in one pass over y.

    Backward is the lecture's "reverse network": dL/dx = dL/dy @ W^T, and
    dL/dW = x^T @ dL/dy (forward value times backward value). dL/dx is skipped when
    x needs no gradient (the first layer's input data). With the ReLU, dL/dy first passes
    where y > 0 only (PyTorch's subgradient: 0 at 0). Where the engine offers W's or b's
    gradient sink (``autograd.sink``), dL/dW goes to it as the GEMM ``x^T @ dL/dy`` and
    dL/db as the row sum, so that the sink may compute them into its own storage.
    """

    def __init__(self, relu=False):
        self.relu = relu

    def forward(self, x, W, b=None):
        self.x, self.W = x, W
        y = x @ W
        if self.relu:
            accel.bias_relu_(y, b)
            self.y = y
        elif b is not None:
            y += b
        return y

    def backward(self, gy):
        needs = self.needs_input_grad
        want_b = len(needs) > 2 and needs[2]
        gb = None
        if self.relu:
            gy, gb = accel.relu_grad_bias(gy, self.y, want_b)  # dL/db from the same pass where it can
        x, W = self.x, self.W
        gx = gy @ W.T if needs[0] else None  # before a sink may update W
        gW = None
        if needs[1]:
            x2, gy2 = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1])
            sink = self.sink(1)
            if sink is None:
                gW = x2.T @ gy2
            else:
                sink.take_matmul(x2, gy2)
        if want_b and gb is None:
            gy2 = gy.reshape(-1, gy.shape[-1])
            sink = self.sink(2)
            if sink is None:
                gb = gy2.sum(axis=0)
            else:
                sink.take_rowsum(gy2)
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
    """exp(x) / sum(exp(x)) along ``axis``; backward: y * (gy - sum(y * gy))."""

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
    """log softmax(x) along ``axis``, stable for large scores; backward: gy - softmax(x) * sum(gy)."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        self.y = _log_softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


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


class SoftmaxCrossEntropy(Function):
    """Per-sample cross-entropy of softmax(logits) against targets, from the logits.

    ``targets`` are integer class labels shaped like ``logits.shape[:-1]`` or
    probabilities (one-hot) shaped like ``logits``. Returns a loss per sample (with
    ``mean=True`` their batch mean, in the same node). dL/dlogits = softmax * sum(target) -
    target: the reason the fused form is both faster and stabler than softmax followed by log.

    The reference below is NumPy's log-softmax; ``accel.dispatch`` serves the same math in one
    pass where it can (float32 on NumPy, and integer labels on CuPy).
    """

    def __init__(self, mean=False):
        self.mean = mean  # the batch mean in the same node (the plain loss): one op less per step

    def forward(self, logits, targets):
        check_labels(logits, targets)  # every path (generators, train_on_batch, custom loops) passes here
        if targets.ndim == logits.ndim - 1:  # integer class labels
            # On CuPy integer labels index as they are: casting them was a launch per step.
            keep = backend.on_gpu(targets) and targets.dtype.kind in "iu"
            labels = targets if keep else targets.astype(backend.get_array_module(logits).intp, copy=False)
            loss, self.grad_logits = accel.sparse_softmax_ce(logits, labels, self.mean)
            return loss
        targets = _float_like(targets, logits)
        fast = None if self.needs_input_grad[1] else accel.softmax_ce(logits, targets, self.mean)
        if fast is not None:
            loss, self.grad_logits = fast
            return loss
        self.logp, self.targets = _log_softmax(logits, -1), targets  # the reference
        loss = -(targets * self.logp).sum(axis=-1)
        if self.mean:
            loss, self.grad_logits = accel.mean_of(loss, self._reference_grad)
        else:
            self.grad_logits = self._reference_grad
        return loss

    def _reference_grad(self, gy):
        g = backend.get_array_module(gy).exp(self.logp)
        g *= self.targets.sum(axis=-1, keepdims=True)  # soft targets need not sum to one: p * sum(t) - t
        g -= self.targets
        g *= gy[..., None]
        self.gy_per_sample = gy
        return g

    def backward(self, gy):
        g = self.grad_logits(gy)
        gt = None
        if self.needs_input_grad[1] and getattr(self, "logp", None) is not None:  # targets that need a gradient
            gt = -self.logp * self.gy_per_sample[..., None]
        return g, gt


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
    """Softmax along ``axis`` as a graph node: scores become probabilities that sum to 1.

    Example:
        >>> softmax(Tensor(np.array([[0.0, 0.0]]))).numpy()
        array([[0.5, 0.5]])
    """
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis`` as one stable graph node (no log of a tiny probability)."""
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
    """(pred - target)^2 elementwise as one graph node; backward: 2 (pred - target) gy to pred."""
    return SquaredError()(pred, target)


def mean_squared_error(pred, target):
    """Mean over all elements of (pred - target)^2, as Keras's and PyTorch's MSE."""
    from .reduce import mean

    return mean(squared_error(pred, target))
