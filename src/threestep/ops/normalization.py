"""Batch normalization, fused: normalise over every axis except the feature axis.

Training mode uses the batch's mean and (biased) variance; inference mode uses the
running statistics the layer keeps. Backward is written out by hand (the classic
three-term formula) instead of composing a dozen small ops.
"""
from .. import backend
from ..autograd import Function


def _shape_for(x, axis):
    """Broadcast shape of a per-feature vector along ``axis`` of x."""
    return [x.shape[a] if a == axis % x.ndim else 1 for a in range(x.ndim)]


class BatchNormTrain(Function):
    """y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta with batch statistics.

    ``self.mean`` and ``self.var`` (per feature, biased) are left for the layer to update
    its moving averages.
    """

    def __init__(self, axis=-1, epsilon=1e-3):
        self.axis, self.epsilon = axis, epsilon

    def forward(self, x, gamma, beta):
        xp = backend.get_array_module(x)
        self.axes = tuple(a for a in range(x.ndim) if a != self.axis % x.ndim)
        shape = _shape_for(x, self.axis)
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        self.xhat = centred * self.inv_std
        self.gamma = gamma.reshape(shape)
        self.mean, self.var = mean.reshape(-1), var.reshape(-1)
        return self.xhat * self.gamma + beta.reshape(shape)

    def backward(self, gy):
        xhat, axes = self.xhat, self.axes
        n = gy.dtype.type(gy.size // xhat.shape[self.axis])
        ggamma = (gy * xhat).sum(axis=axes) if self.needs_input_grad[1] else None
        gbeta = gy.sum(axis=axes) if self.needs_input_grad[2] else None
        gx = None
        if self.needs_input_grad[0]:
            gxhat = gy * self.gamma
            gx = (gxhat - gxhat.mean(axis=axes, keepdims=True)
                  - xhat * (gxhat * xhat).sum(axis=axes, keepdims=True) / n) * self.inv_std
        return gx, ggamma, gbeta


class BatchNormInfer(Function):
    """y = gamma * (x - moving_mean) / sqrt(moving_var + eps) + beta (statistics fixed)."""

    def __init__(self, mean, var, axis=-1, epsilon=1e-3):
        self.mean, self.var = backend.on_device(mean), backend.on_device(var)  # host statistics move to the GPU
        self.axis, self.epsilon = axis, epsilon

    def forward(self, x, gamma, beta):
        xp = backend.get_array_module(x)
        shape = _shape_for(x, self.axis)
        self.axes = tuple(a for a in range(x.ndim) if a != self.axis % x.ndim)
        self.inv_std = (1.0 / xp.sqrt(self.var + x.dtype.type(self.epsilon))).reshape(shape)
        self.xhat = (x - self.mean.reshape(shape)) * self.inv_std
        self.gamma = gamma.reshape(shape)
        return self.xhat * self.gamma + beta.reshape(shape)

    def backward(self, gy):
        gx = gy * self.gamma * self.inv_std if self.needs_input_grad[0] else None
        ggamma = (gy * self.xhat).sum(axis=self.axes) if self.needs_input_grad[1] else None
        gbeta = gy.sum(axis=self.axes) if self.needs_input_grad[2] else None
        return gx, ggamma, gbeta


def batch_norm_train(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Returns (y, batch_mean, batch_var) — the statistics as raw arrays."""
    fn = BatchNormTrain(axis, epsilon)
    y = fn(x, gamma, beta)
    return y, fn.mean, fn.var


def batch_norm_infer(x, gamma, beta, mean, var, axis=-1, epsilon=1e-3):
    """Batch normalization at inference: normalise with the stored moving ``mean`` and ``var``.

    ``gamma * (x - mean) / sqrt(var + epsilon) + beta``: a fixed affine map, so a prediction
    does not depend on the other samples of its batch.
    """
    return BatchNormInfer(mean, var, axis, epsilon)(x, gamma, beta)


class LayerNorm(Function):
    """x_hat = (x - mean) / sqrt(var + eps) over ``axes`` of each sample (Ba et al. 2016).

    The statistics are per sample, so training and inference compute the same thing; the
    layer's scale and shift (gamma, beta) are ordinary broadcast multiply and add nodes.
    Backward is the batch-norm formula with the roles of the axes swapped:
    gx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)) over ``axes``.
    """

    def __init__(self, axes=(-1,), epsilon=1e-3):
        self.axes, self.epsilon = tuple(axes), epsilon

    def forward(self, x):
        xp = backend.get_array_module(x)
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        self.xhat = centred * self.inv_std
        return self.xhat

    def backward(self, gy):
        xhat, axes = self.xhat, self.axes
        return (gy - gy.mean(axis=axes, keepdims=True)
                - xhat * (gy * xhat).mean(axis=axes, keepdims=True)) * self.inv_std


def layer_norm(x, axes=(-1,), epsilon=1e-3):
    """Normalise each sample over ``axes`` to mean 0 and variance 1 (no scale or shift)."""
    return LayerNorm(axes, epsilon)(x)


def layer_norm_simple(x, axes=(-1,), epsilon=1e-3):
    """The readable twin of ``layer_norm``, from mean, subtract, multiply and sqrt nodes."""
    from .elementwise import sqrt  # noqa: PLC0415
    from .reduce import mean  # noqa: PLC0415

    centred = x - mean(x, axis=axes, keepdims=True)
    return centred / sqrt(mean(centred * centred, axis=axes, keepdims=True) + epsilon)
