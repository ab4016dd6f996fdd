"""Depthwise convolution: each input channel convolved with its own ``depth_multiplier`` filters.

x (N, *spatial, C), W (*kernel, C, M) -> y (N, *out, C * M), output channel c * M + m
(TensorFlow's order). No channel mixing: a SeparableConv follows it with a 1x1 ``conv``.
Forward is one einsum over the window patches; backward is the same einsum for gW and
the window gradients summed back into place (``col2im``) for gx.
"""
from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from .im2col import col2im, from_channels_last, geometry, patches, to_channels_last


class DepthwiseConv(Function):
    def __init__(self, strides=1, padding="valid", dilation=1):
        self.strides, self.padding, self.dilation = strides, padding, dilation

    def forward(self, x, W, b=None):
        xp = backend.get_array_module(x)
        self.g = g = geometry(x.shape, W.shape[:-2], self.strides, self.dilation, self.padding, "depthwise_conv")
        n, c, m, k = x.shape[0], x.shape[-1], W.shape[-1], W[..., 0, 0].size
        self.cols = patches(x, g).reshape(n, -1, k, c)  # (N, P, K, C)
        self.W = W
        y = xp.einsum("npkc,kcm->npcm", self.cols, W.reshape(k, c, m), optimize=True)
        y = y.reshape((n,) + g.out_sizes + (c * m,))
        return y + b if b is not None else y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g, W, cols = self.g, self.W, self.cols
        n, p, k, c = cols.shape
        m = W.shape[-1]
        g4 = gy.reshape(n, p, c, m)
        gx = gW = gb = None
        if self.needs_input_grad[0]:
            gcols = xp.einsum("npcm,kcm->knpc", g4, W.reshape(k, c, m), optimize=True)
            gx = col2im(gcols.reshape(g.kernel + (n,) + g.out_sizes + (c,)), g)
        if self.needs_input_grad[1]:
            gW = xp.einsum("npkc,npcm->kcm", cols, g4, optimize=True).reshape(W.shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.reshape(-1, c * m).sum(axis=0)
        return gx, gW, gb


def depthwise_conv(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last"):
    """Depthwise convolution of channels_last ``x`` (N, *spatial, C) with W (*kernel, C, M).

    Example:
        >>> depthwise_conv(x, W, strides=2, padding="same")  # x (8, 28, 28, 3), W (3, 3, 3, 2) -> 6 channels
    """
    x = to_channels_last(x, data_format, "depthwise_conv")
    if W.ndim < 3 or x.ndim != W.ndim or x.shape[-1] != W.shape[-2]:
        raise ShapeError(f"depthwise_conv: x must be (batch, *spatial, C) and W (*kernel, C, depth_multiplier) with "
                         f"the same C; received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if b is not None and tuple(b.shape) != (W.shape[-2] * W.shape[-1],):
        raise ShapeError(f"depthwise_conv: b must have shape ({W.shape[-2] * W.shape[-1]},); "
                         f"received {tuple(b.shape)}.")
    op = DepthwiseConv(strides, padding, dilation)
    return from_channels_last(op(x, W) if b is None else op(x, W, b), data_format)
