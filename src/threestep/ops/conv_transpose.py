"""Transposed convolution ("deconvolution"): the adjoint of ``conv`` with respect to its input.

``conv_transpose(x, W)`` with W in the Keras layout (*kernel, C_out, C_in) scatters every
input position's x @ W[k]^T into the output at stride ``strides``: exactly the gradient
that ``conv(y, W)`` would send back to its input y. So a Conv2DTranspose with stride 2
inverts the shape change of a Conv2D with stride 2 (upsampling in DCGANs and
autoencoders). Output sizes follow Keras (``deconv_output_length``):

* 'valid': (n - 1) * s + span, or n * s + max(span - s, 0) without output_padding;
* 'same': n * s without output_padding, else (n - 1) * s + span - 2 * (span // 2) + op,

with span = (k - 1) * dilation + 1. The padding is the one TensorFlow's 'same' rule gives
the forward convolution over an input of the output's size.
"""
from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from .im2col import from_channels_last, geometry, kernel_offsets, normalize_tuple, patches, to_channels_last, unpad


def output_length(n, kernel, stride, padding, dilation=1, output_padding=None):
    """Keras's output size of a transposed convolution along one axis (None stays None)."""
    if n is None:
        return None
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return n * stride + max(span - stride, 0) if padding == "valid" else n * stride
    pad = span // 2 if padding == "same" else 0
    return (n - 1) * stride + span - 2 * pad + output_padding


class ConvTranspose(Function):
    """y = conv^T(x; W): forward is conv's input gradient, backward is conv (for gx) and conv's
    weight gradient with the roles of input and output swapped (for gW)."""

    def __init__(self, out_sizes, strides, padding, dilation):
        self.out_sizes, self.strides, self.padding, self.dilation = out_sizes, strides, padding, dilation

    def forward(self, x, W, b=None):
        xp = backend.get_array_module(x)
        n, filters, c_in = x.shape[0], W.shape[-2], W.shape[-1]
        self.g = g = geometry((n,) + self.out_sizes + (filters,), W.shape[:-2], self.strides, self.dilation,
                              self.padding, "conv_transpose")
        if tuple(g.out_sizes) != tuple(x.shape[1:-1]):
            raise ShapeError(f"conv_transpose: output sizes {self.out_sizes} do not map back to the input's "
                             f"spatial sizes {tuple(x.shape[1:-1])} (a convolution of them gives {g.out_sizes}).")
        self.x, self.W = x, W
        padded = g.padded_sizes
        y = xp.zeros((n,) + padded + (filters,), x.dtype)
        x2 = x.reshape(-1, c_in)
        kernels = W.reshape(-1, filters, c_in)
        for k, (_, key) in enumerate(kernel_offsets(g)):
            y[key] += (x2 @ kernels[k].T).reshape(x.shape[:-1] + (filters,))
        y = unpad(y, g)
        return y + b if b is not None else y

    def backward(self, gy):
        g, x, W = self.g, self.x, self.W
        c_in = W.shape[-1]
        cols = patches(gy, g).reshape(-1, W[..., 0].size)  # (N * prod(in), prod(kernel) * filters)
        gx = (cols @ W.reshape(-1, c_in)).reshape(x.shape) if self.needs_input_grad[0] else None
        gW = (cols.T @ x.reshape(-1, c_in)).reshape(W.shape) if self.needs_input_grad[1] else None
        gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0) if len(self.needs_input_grad) > 2 else None
        return gx, gW, gb


def conv_transpose(x, W, b=None, strides=1, padding="valid", output_padding=None, dilation=1,
                   data_format="channels_last"):
    """N-D transposed convolution of channels_last ``x`` with a Keras-layout kernel.

    Args:
        x: (N, *spatial, C_in) ((N, C_in, *spatial) with ``data_format='channels_first'``).
        W: (*kernel, C_out, C_in), as Keras's Conv2DTranspose stores it. b: (C_out,) or None.
        strides, dilation: an int or one per spatial axis. padding: 'valid' or 'same'.
        output_padding: None, an int or one per axis (each < its stride): extra cells at the end.

    Example:
        >>> conv_transpose(x, W, strides=2, padding="same")  # (8, 7, 7, 32) -> (8, 14, 14, C_out)
    """
    x = to_channels_last(x, data_format, "conv_transpose")
    rank = W.ndim - 2
    if W.ndim < 3 or x.ndim != W.ndim or x.shape[-1] != W.shape[-1]:
        raise ShapeError(f"conv_transpose: x must be (batch, *spatial, C_in) and W (*kernel, C_out, C_in) with the "
                         f"same C_in; received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if b is not None and tuple(b.shape) != (W.shape[-2],):
        raise ShapeError(f"conv_transpose: b must have shape ({W.shape[-2]},); received {tuple(b.shape)}.")
    strides = normalize_tuple(strides, rank, "strides")
    dilation = normalize_tuple(dilation, rank, "dilation_rate")
    ops_ = (None,) * rank if output_padding is None else (
        (output_padding,) * rank if isinstance(output_padding, int) else tuple(output_padding))
    out = tuple(output_length(n, k, s, padding, d, p)
                for n, k, s, d, p in zip(x.shape[1:-1], W.shape[:-2], strides, dilation, ops_))
    op = ConvTranspose(out, strides, padding, dilation)
    return from_channels_last(op(x, W) if b is None else op(x, W, b), data_format)
