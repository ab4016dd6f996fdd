"""Convolution (1-D and 2-D, channels_last, Keras kernel layout): im2col plus one GEMM.

``conv`` is rank-generic: x (N, *spatial, C_in), W (*kernel, C_in, C_out), b (C_out,).
Like Keras, TensorFlow and PyTorch it computes a cross-correlation (the kernel is not
flipped). ``conv_simple`` is the readable twin built from pad, slicing and matmul.
"""
import math

import numpy as np

from .. import backend
from ..accel import dispatch as accel
from ..accel import conv_kernels, kernels, threads
from ..autograd import Config, Function, Tensor
from ..errors import ShapeError
from .arithmetic import add, matmul
from .im2col import (
    col2im_gather, from_channels_last, geometry, kernel_offsets, pad_spatial, to_channels_last, unpad, windows,
)
from .pool import pad
from .shape import getitem

# Patches (or outputs, in ``conv_max_pool``) per chunk in inference: bounds the memory a batch-1000
# convolution takes (its whole patches matrix is ~100 MB) while keeping the chunks few, since
# each chunk costs Python calls that row-block threads take turns at (benchmarks/RESULTS.md).
CHUNK_BYTES = 8 << 20


class Conv(Function):
    """y[n, o] = sum over kernel offsets k of x_pad[n, o*strides + k*dilation] @ W[k] + b.

    Forward is the lecture's "convolution is a fully connected layer with shared weights":
    the patches matrix (N*prod(out), prod(kernel)*C_in) times W as (prod(kernel)*C_in, C_out),
    one GEMM. The bias is one more input that is always 1: a column of ones in the patches
    and b as the last row of the kernel matrix, so the GEMM adds it and backward's
    gW = patches^T @ gy yields gb as its last row. That replaced a pass adding b over the
    output and a column sum of gy (NumPy's column sum over a tall matrix took longer than the
    GEMM) (figures: benchmarks/RESULTS.md, "Measurements behind the code").
    gx = col2im of gy @ W^T, skipped when x needs no gradient (the first layer's input data).
    Forward keeps the patches for gW, not x or its padded copy: rebuilding them in backward
    would save prod(kernel) x the input's memory per layer, but made the lecture CNN's
    backward slower (a fresh gather and allocation every step).

    On the GPU the bias is not a column: filling it and joining b to the kernel were two
    launches per step, where one fused pass adds b (and applies the ReLU) after the GEMM, and
    backward's gb is one column sum. With ``relu=True`` (``Conv2D(activation="relu")``) the
    output is max(conv + b, 0) in the same node: y in place after the GEMM, and backward
    passes dL/dy where y > 0 first, as ``ops.ReLU`` does -- one graph node and one launch
    (the ReLU's own pass) fewer per layer on the GPU, one array fewer on the CPU.
    """

    def __init__(self, strides=1, padding="valid", dilation=1, relu=False):
        self.strides, self.padding, self.dilation, self.relu = strides, padding, dilation, relu
        self.blocks = None

    def forward(self, x, W, b=None):
        xp = backend.get_array_module(x)
        self.g = geometry(x.shape, W.shape[:-2], self.strides, self.dilation, self.padding)
        kernel = W.reshape(-1, W.shape[-1])
        if not backend.on_gpu(x) and True not in self.needs_input_grad:
            return self._infer(x, W, b, kernel, xp)
        # training on the CPU with more than one thread: blocks of images side by side, each on one
        # BLAS thread, as ops.conv_pool.ConvMaxPool does (why: there)
        blocks = threads.blocks(x.shape[0], xp) if self.needs_input_grad[1] and not backend.on_gpu(x) else []
        if len(blocks) > 1:
            return self._forward_blocks(x, W, b, kernel, blocks)
        if backend.on_gpu(x):
            cols = _cols(x, self.g)
            y = cols @ kernel
            if self.relu:
                accel.bias_relu_(y, None if b is None else b.astype(W.dtype, copy=False))
            elif b is not None:
                y += b
        else:
            cols = _cols(x, self.g, ones=b is not None)
            y = cols @ _with_bias_row(kernel, b, xp)
            if self.relu:
                accel.bias_relu_(y)  # the bias came with the GEMM
        self.y = y if self.relu else None
        self.W, self.cols = W, cols if self.needs_input_grad[1] else None  # a frozen kernel needs no patches
        return y.reshape((x.shape[0],) + self.g.out_sizes + (W.shape[-1],))

    def _forward_blocks(self, x, W, b, kernel, blocks):
        """``forward`` a block of images per thread into its rows of y; the patches kept per block."""
        g, c_out = self.g, W.shape[-1]
        positions = math.prod(g.out_sizes)
        weights = np.ascontiguousarray(_with_bias_row(kernel, b, np))
        y = np.empty((x.shape[0] * positions, c_out), np.result_type(x.dtype, weights.dtype))

        def block(images):
            c = _cols(x[images], g, ones=b is not None)
            rows = y[images.start * positions:images.stop * positions]
            np.matmul(c, weights, out=rows)
            if self.relu:
                accel.bias_relu_(rows)  # the bias came with the GEMM
            return c
        self.cols = in_blocks(block, blocks)
        self.y = y if self.relu else None
        self.W, self.blocks = W, blocks
        return y.reshape((x.shape[0],) + g.out_sizes + (c_out,))

    def _backward_blocks(self, gy):
        """``backward`` a block of images per thread: each block's input gradient into its rows of
        gx, the weight gradient summed over the blocks."""
        W, g, blocks, n = self.W, self.g, self.blocks, gy.shape[0]
        positions = math.prod(g.out_sizes)
        needs_x = self.needs_input_grad[0]
        needs_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gy2 = gy.reshape(-1, gy.shape[-1])
        gx = np.empty((n,) + tuple(g.in_sizes) + (W.shape[-2],), gy.dtype) if needs_x else None
        cols = dict(zip((b.start for b in blocks), self.cols))

        def block(images):
            lo, hi = images.start, images.stop
            d = gy2[lo * positions:hi * positions]
            if self.relu:
                d = accel.relu_grad(d, self.y[lo * positions:hi * positions])
            if needs_x:
                gx[images] = input_grad(d, W, g, (hi - lo,) + tuple(g.out_sizes))
            return d.T @ cols[lo]
        gWb = summed(in_blocks(block, blocks))
        return (gx, *split_weight_grad(np.ascontiguousarray(gWb.T), W, needs_b))

    def _infer(self, x, W, b, kernel, xp):
        """Forward with nothing kept for backward (``predict``, ``no_grad``), on the CPU: the
        patches of some samples at a time (``CHUNK_BYTES``), each chunk's GEMM written into its
        rows of y. The whole batch's patches (a second layer's at batch 1000 are ~100 MB) are
        never allocated."""
        g, n, c_out = self.g, x.shape[0], W.shape[-1]
        positions = math.prod(g.out_sizes)
        ones = b is not None
        weights = _with_bias_row(kernel, b, xp)
        per_sample = positions * weights.shape[0] * x.dtype.itemsize
        chunk = max(1, CHUNK_BYTES // max(per_sample, 1))
        y = xp.empty((n * positions, c_out), xp.result_type(x.dtype, W.dtype))
        for s in range(0, n, chunk):
            rows = y[s * positions:min(s + chunk, n) * positions]
            xp.matmul(_cols(x[s:s + chunk], g, ones=ones), weights, out=rows)
            if self.relu:
                accel.bias_relu_(rows)  # the bias came with the GEMM
        self.y = self.W = self.cols = None
        return y.reshape((n,) + g.out_sizes + (c_out,))

    def backward(self, gy):
        if self.blocks is not None:
            return self._backward_blocks(gy)
        xp = backend.get_array_module(gy)
        W, g = self.W, self.g
        gy2 = gy.reshape(-1, gy.shape[-1])
        if self.relu:  # dL/dz = dL/dy where y > 0 (PyTorch's subgradient at 0), as ops.ReLU
            gy2 = accel.relu_grad(gy2, self.y)
            gy = gy2.reshape(gy.shape)
        gx = gW = gb = None
        needs_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if self.needs_input_grad[0]:
            gx = input_grad(gy2, W, g, gy.shape[:-1])
        if self.needs_input_grad[1] and backend.on_gpu(gy2):  # the bias is no column there (forward)
            sink = self.sink(1)  # where offered, the GEMM goes to W's gradient sink (autograd.sink)
            if sink is not None:
                sink.take_matmul(self.cols, gy2)
            else:
                gW = xp.matmul(self.cols.T, gy2).reshape(W.shape)
            if needs_b:
                sink = self.sink(2)
                if sink is not None:
                    sink.take_rowsum(gy2)
                else:
                    gb = gy2.sum(axis=0)
        elif self.needs_input_grad[1]:
            gW, gb = weight_grads(gy2, self.cols, W, needs_b)
        elif needs_b:
            gb = gy2.sum(axis=0)
        return gx, gW, gb


def in_blocks(fn, blocks):
    """``fn(images)`` for every block of images (slices of the batch, ``threads.blocks``) side by
    side, each on one BLAS thread (``threads.run``); the results in block order."""
    out = [None] * len(blocks)

    def part(j):
        out[j] = fn(blocks[j])
    threads.run(part, list(range(len(blocks))))
    return out


def summed(arrays):
    """The sum of a list of equal-shape arrays, added into the first."""
    total = arrays[0]
    for a in arrays[1:]:
        total += a
    return total


def weight_grads(gy2, cols, W, needs_b):
    """(dL/dW, dL/db or None) on the CPU from the output gradient (rows, C_out) and the patches
    (rows, K [+ the ones column where the layer has a bias]). (gy^T @ patches)^T: OpenBLAS runs
    it faster than patches^T @ gy (RESULTS.md)."""
    return split_weight_grad(np.ascontiguousarray((gy2.T @ cols).T), W, needs_b)


def split_weight_grad(gWb, W, needs_b):
    """(dL/dW, dL/db or None) from the gradient of the kernel matrix with the bias as its last
    row (the patches' ones column): that row is gy summed over positions."""
    return gWb[:math.prod(W.shape[:-1])].reshape(W.shape), (gWb[-1] if needs_b else None)


def input_grad(gy2, W, g, out_shape):
    """gx: col2im of gy @ W^T. In float32 on the CPU with Numba, one GEMM for all kernel offsets
    and one pass adding each window's rows into its input cells (``accel.conv_kernels``).
    Elsewhere on the CPU one kernel offset at a time: each offset's window gradients
    (N*prod(out), C_in) come from their own GEMM into one reused buffer and are added to their
    strided block of gx while still in cache: faster than one batched GEMM of all offsets (a
    large temporary) followed by NumPy's ``col2im`` (figures: benchmarks/RESULTS.md,
    "Measurements behind the code"), which stays the adjoint of ``patches`` for the readable
    path and for pooling. On the GPU, where each of those
    2 * prod(kernel) steps is a kernel launch, it is that one GEMM and ``col2im_gather``: four
    launches (the lecture CNN's second layer: 4 instead of 20).
    """
    xp = backend.get_array_module(gy2)
    c_in = W.shape[-2]
    if backend.on_gpu(gy2):  # a launch per offset costs more there than one big temporary
        m, k = gy2.shape[0], math.prod(g.kernel)
        rows = xp.empty((m * k + 1, c_in), gy2.dtype)  # every window's gradients, then a row of zeros
        xp.matmul(gy2, W.reshape(k * c_in, -1).T, out=rows[:-1].reshape(m, k * c_in))
        rows[-1] = 0
        return col2im_gather(rows, g, out_shape[0])
    gx = conv_kernels.conv_input_grad(gy2, W, g, out_shape)  # float32: one GEMM and a Numba scatter-add
    if gx is not None:
        return unpad(gx, g)
    kernels = xp.ascontiguousarray(W.reshape(-1, c_in, W.shape[-1]).transpose(0, 2, 1))  # (K, C_out, C_in)
    padded = g.padded_sizes
    gx = xp.zeros(out_shape[:1] + padded + (c_in,), gy2.dtype)
    block = xp.empty((gy2.shape[0], c_in), gy2.dtype)
    for k, (_, key) in enumerate(kernel_offsets(g)):
        gx[key] += xp.matmul(gy2, kernels[k], out=block).reshape(out_shape + (c_in,))
    return unpad(gx, g)


def _with_bias_row(kernel, b, xp):
    """The kernel matrix (K, C_out) with b as one more row (the patches' column of ones), or as is."""
    return kernel if b is None else xp.concatenate([kernel, b[None].astype(kernel.dtype, copy=False)])


def _cols(x, g, ones=False):
    """The patches matrix (N*prod(out), prod(kernel)*C_in), plus a last column of ones with ``ones``.

    The one place that picks the layout. C_in > 1: C-contiguous rows, one strided gather
    whose inner runs are kw*C_in floats. A single input channel (grayscale images, 1-D
    signals) would gather runs of kw floats, so there the matrix is the transpose of a
    kernel-major (K, M) buffer that takes one contiguous-run copy per kernel offset; BLAS reads
    either layout at the same speed. For a few channels the two layouts are even, for many
    row-major wins (figures: benchmarks/RESULTS.md, "Measurements behind the code").
    On CuPy the row-major gather is one kernel where the kernel-major buffer takes one per offset.
    """
    xp = backend.get_array_module(x)
    n, c = x.shape[0], x.shape[-1]
    rows, k, extra = n * math.prod(g.out_sizes), math.prod(g.kernel) * c, 1 if ones else 0
    if c == 1 and not backend.on_gpu(x):
        buf = xp.empty((k + extra, n) + g.out_sizes, x.dtype)
        xpad = pad_spatial(x, g.pads)
        for i, (_, key) in enumerate(kernel_offsets(g)):
            buf[i] = xpad[key][..., 0]
        if extra:
            buf[k:] = 1
        return buf.reshape(k + extra, rows).T
    buf = xp.empty((n,) + g.out_sizes + (k + extra,), x.dtype)
    buf[..., :k].reshape((n,) + g.out_sizes + g.kernel + (c,))[...] = windows(x, g)  # splitting an axis: a view
    if extra:
        buf[..., k:] = 1
    return buf.reshape(rows, k + extra)


def _check(x, W, b, where):
    if W.ndim < 3 or x.ndim != W.ndim:
        raise ShapeError(f"{where}: x must be (batch, *spatial, channels) and W (*kernel, in_channels, out_channels) "
                         f"with the same number of spatial axes; received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if x.shape[-1] != W.shape[-2]:
        raise ShapeError(f"{where}: x has {x.shape[-1]} channels (last axis) but W expects {W.shape[-2]} "
                         f"(W.shape[-2]); received x {tuple(x.shape)}, W {tuple(W.shape)}.")
    if b is not None and tuple(b.shape) != (W.shape[-1],):
        raise ShapeError(f"{where}: b must have shape ({W.shape[-1]},) (out_channels); received {tuple(b.shape)}.")


def conv(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last", relu=False):
    """N-D convolution (cross-correlation) of channels_last ``x`` with a Keras-layout kernel;
    with ``relu=True``, max(conv + b, 0) in one node (``Conv``).

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
    op = Conv(strides, padding, dilation, relu)
    return from_channels_last(op(x, W) if b is None else op(x, W, b), data_format)


def conv1d(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last", relu=False):
    """``conv`` for x (N, length, C_in) and W (k, C_in, C_out)."""
    if W.ndim != 3:
        raise ShapeError(f"conv1d: W must be (kernel_size, in_channels, out_channels); received {tuple(W.shape)}.")
    return conv(x, W, b, strides, padding, dilation, data_format, relu)


def conv2d(x, W, b=None, strides=1, padding="valid", dilation=1, data_format="channels_last", relu=False):
    """``conv`` for x (N, H, W, C_in) and W (kh, kw, C_in, C_out)."""
    if W.ndim != 4:
        raise ShapeError(f"conv2d: W must be (kh, kw, in_channels, out_channels); received {tuple(W.shape)}.")
    return conv(x, W, b, strides, padding, dilation, data_format, relu)


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
