"""Convolution (1-D and 2-D, channels_last, Keras kernel layout): im2col plus one GEMM.

``conv`` is rank-generic: x (N, *spatial, C_in), W (*kernel, C_in, C_out), b (C_out,).
Like Keras, TensorFlow and PyTorch it computes a cross-correlation (the kernel is not
flipped). ``conv_simple`` is the readable twin built from pad, slicing and matmul.
"""
import math

from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from .arithmetic import add, matmul
from .im2col import col2im, from_channels_last, geometry, kernel_offsets, patches, to_channels_last
from .pool import pad
from .shape import getitem


class Conv(Function):
    """y[n, o] = sum over kernel offsets k of x_pad[n, o*strides + k*dilation] @ W[k] + b.

    Forward is the lecture's "convolution is a fully connected layer with shared weights":
    the patches matrix (N*prod(out), prod(kernel)*C_in) times W as (prod(kernel)*C_in, C_out),
    one GEMM. Backward: gW = patches^T @ gy, gb = sum of gy, and gx = col2im of gy @ W^T
    (skipped when x needs no gradient, as for the first layer's input data).
    Forward keeps the patches for gW, not x or its padded copy: rebuilding them in backward
    would save prod(kernel) x the input's memory per layer, but made the lecture CNN's
    backward 1.3-1.6x slower (a fresh gather and allocation every step).
    """

    def __init__(self, strides=1, padding="valid", dilation=1):
        self.strides, self.padding, self.dilation = strides, padding, dilation

    def forward(self, x, W, b=None):
        self.g = geometry(x.shape, W.shape[:-2], self.strides, self.dilation, self.padding)
        cols = _cols(x, self.g)
        y = cols @ W.reshape(-1, W.shape[-1])
        self.W, self.cols = W, cols if self.needs_input_grad[1] else None  # a frozen kernel needs no patches
        if b is not None:
            y += b
        return y.reshape((x.shape[0],) + self.g.out_sizes + (W.shape[-1],))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        W, g = self.W, self.g
        gy2 = gy.reshape(-1, gy.shape[-1])
        gx = gW = gb = None
        if self.needs_input_grad[0]:
            # Kernel-major (K, M, C_in) window gradients, one batched GEMM: each col2im add is contiguous.
            gcols = xp.matmul(gy2, W.reshape(-1, W.shape[-2], W.shape[-1]).transpose(0, 2, 1))
            gx = col2im(gcols.reshape(g.kernel + gy.shape[:-1] + (W.shape[-2],)), g)
        if self.needs_input_grad[1]:
            gW = (self.cols.T @ gy2).reshape(W.shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy2.sum(axis=0)
        return gx, gW, gb


def _cols(x, g):
    """The C-contiguous patches matrix (N*prod(out), prod(kernel)*C_in)."""
    cols = patches(x, g)
    return cols.reshape(cols.shape[0] * math.prod(g.out_sizes), -1)


def _check(x, W, b, where):
    if W.ndim < 3 or x.ndim != W.ndim:
        raise ShapeError(f"{where}: x must be (batch, *spatial, channels) and W (*kernel, in_channels, out_channels) "
                         f"with the same number of spatial axes; received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if x.shape[-1] != W.shape[-2]:
        raise ShapeError(f"{where}: x has {x.shape[-1]} channels (last axis) but W expects {W.shape[-2]} "
                         f"(W.shape[-2]); received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if b is not None and tuple(b.shape) != (W.shape[-1],):
        raise ShapeError(f"{where}: b must have shape ({W.shape[-1]},) (out_channels); received {tuple(b.shape)}.")


def conv(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last"):
    """N-D convolution (cross-correlation) of channels_last ``x`` with a Keras-layout kernel.

    Args:
        x: (N, *spatial, C_in) ((N, C_in, *spatial) with ``data_format='channels_first'``).
        W: (*kernel, C_in, C_out). b: (C_out,) or None.
        strides, dilation: an int or one int per spatial axis.
        padding: 'valid', 'same' (TensorFlow's rule: output size ceil(in / stride), the odd
            padding cell at the end), 'causal' (1-D only), or explicit ints / (lo, hi) pairs.

    Example:
        >>> conv(x, W, b, strides=2, padding="same")  # x (100, 28, 28, 1), W (3, 3, 1, 25)
    """
    x = to_channels_last(x, data_format, "conv")
    _check(x, W, b, "conv")
    op = Conv(strides, padding, dilation)
    return from_channels_last(op(x, W) if b is None else op(x, W, b), data_format)


def conv1d(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last"):
    """``conv`` for x (N, length, C_in) and W (k, C_in, C_out)."""
    if W.ndim != 3:
        raise ShapeError(f"conv1d: W must be (kernel_size, in_channels, out_channels); received {tuple(W.shape)}.")
    return conv(x, W, b, strides, padding, dilation, data_format)


def conv2d(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last"):
    """``conv`` for x (N, H, W, C_in) and W (kh, kw, C_in, C_out)."""
    if W.ndim != 4:
        raise ShapeError(f"conv2d: W must be (kh, kw, in_channels, out_channels); received {tuple(W.shape)}.")
    return conv(x, W, b, strides, padding, dilation, data_format)


def conv_simple(x, W, b=None, strides=1, padding="valid", dilation=1):
    """The readable twin of ``conv``: pad, then one matmul per kernel offset, summed."""
    _check(x, W, b, "conv_simple")
    g = geometry(x.shape, W.shape[:-2], strides, dilation, padding)
    xpad = pad(x, ((0, 0),) + g.pads + ((0, 0),))
    y = None
    for offset, key in kernel_offsets(g):
        term = matmul(getitem(xpad, key), getitem(W, offset))
        y = term if y is None else add(y, term)
    return y if b is None else add(y, b)
