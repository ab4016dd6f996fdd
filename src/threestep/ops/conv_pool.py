"""A convolution (with or without its ReLU) and the max pooling after it as one op: in test mode
one pass without the convolution's output (``conv_max_pool``), in training one graph node
(``ConvMaxPool``). ``models.fusion`` finds the pairs (``pooled_steps``, ``graph_pooled``).

Why: the convolution's output is the largest array of a small CNN (four times its pooled
output for 2x2 windows). Max and ReLU commute (ReLU is monotone,
and a nan stays nan in both), so the ReLU runs on the pooled values, a quarter as many for 2x2
windows, and in training its gradient is the pooled values' mask: the pooling's backward writes
the convolution's output gradient already masked, where the two layers made one more pass over
that whole array (the ReLU's derivative) and kept the convolution's output for it. Figures:
benchmarks/RESULTS.md, "Measurements behind the code".
"""
import importlib
import math

import numpy as np

from ..accel import dispatch as accel
from ..accel import blas, conv_kernels, kernels, threads
from ..autograd import Config, Function, Tensor
from ..errors import ShapeError
from .im2col import geometry, pad_spatial, unpad
from .pool import max_pool_grad_buffer, windows_tile

# the module, not the function ``ops.conv`` the package exports under the same name
conv_ops = importlib.import_module(f"{__package__}.conv")


def _geometries(x, W, strides, dilation, padding, pool_size, pool_strides):
    """(the convolution's geometry, the pooling's) for float32 NumPy arrays the kernels serve,
    or None (then the caller runs the two layers)."""
    if x.ndim not in (3, 4) or x.ndim != W.ndim or x.shape[-1] != W.shape[-2]:
        return None
    g = geometry(x.shape, W.shape[:-2], strides, dilation, padding)
    try:
        gp = geometry((x.shape[0],) + g.out_sizes + (W.shape[-1],), pool_size, pool_strides, 1, "valid")
    except ShapeError:  # windows larger than the convolution's output: the pooling layer says so
        return None
    if len(gp.kernel) > 2 or math.prod(gp.kernel) > 255:
        return None
    # Only the positions some window reads: 'valid' windows that stop short of the output's last
    # rows or columns (an 11 x 11 output pooled 2 x 2 reads 10 x 10) leave those positions out of the
    # patches, the GEMMs and the backward's scatter, in inference and in training alike.
    box = tuple((q - 1) * s + k for q, s, k in zip(gp.out_sizes, gp.strides, gp.kernel))
    return (g if box == g.out_sizes else g._replace(out_sizes=box)), gp


def conv_max_pool(x, W, b, strides, padding, dilation, relu, pool_size, pool_strides):
    """max_pool(act(conv(x, W) + b)), act the ReLU (``relu=True``) or none, pooled with 'valid'
    windows: a Tensor (a graph node where a gradient is wanted, ``ConvMaxPool``), or None where
    this path does not serve (not float32 NumPy, not 1-D or 2-D, windows the kernels do not
    take) and the caller runs the two layers instead (``models.fusion.pooled_steps``).

    In test mode the convolution's output never exists in full: a few images at a time their
    patches, one GEMM (the bias as the patches' column of ones, as in ``Conv._infer``) and the
    pooling into their rows of y, in one Numba call whose scratch stays in cache
    (``accel.conv_kernels.conv_pool_infer``); without it, one NumPy GEMM per chunk of images
    (``ops.conv.CHUNK_BYTES`` of output) into a reused scratch array, pooled by the kernel.
    Results equal the two layers' (the same GEMM per row, the same max)."""
    inputs = [x, W] + ([] if b is None else [b])
    xd, Wd, bd = x.data, W.data, None if b is None else b.data
    if not kernels.enabled(xd, Wd, *([] if bd is None else [bd])):
        return None
    both = _geometries(xd, Wd, strides, dilation, padding, pool_size, pool_strides)
    if both is None:
        return None
    g, gp = both
    if Config.enable_grad and any(t.requires_grad for t in inputs):
        return ConvMaxPool(g, gp, relu)(*inputs)
    n, c_out, positions = xd.shape[0], Wd.shape[-1], math.prod(g.out_sizes)
    weights = conv_ops._with_bias_row(Wd.reshape(-1, c_out), bd, np)
    y = conv_kernels.conv_pool_infer(pad_spatial(xd, g.pads), np.ascontiguousarray(weights), g, gp, relu,
                                     bd is not None)
    if y is not None:  # one Numba call, a few images at a time in cache
        return Tensor(y)
    per_sample = positions * max(weights.shape[0], c_out) * 4
    chunk = max(1, min(n, conv_ops.CHUNK_BYTES // per_sample))
    scratch = np.empty((chunk * positions, c_out), np.float32)
    y = np.empty((n,) + gp.out_sizes + (c_out,), np.float32)
    for s in range(0, n, chunk):
        rows = scratch[:min(chunk, n - s) * positions]
        np.matmul(conv_ops._cols(xd[s:s + chunk], g, ones=bd is not None), weights, out=rows)
        pooled = y[s:s + chunk]
        if kernels.max_pool(rows.reshape(pooled.shape[:1] + g.out_sizes + (c_out,)), gp.kernel, gp.strides,
                            gp.out_sizes, False, out=pooled) is None:
            return None
        if relu:
            accel.bias_relu_(pooled)
    return Tensor(y)


class ConvMaxPool(Function):
    """max_pool(act(conv(x, W) + b)) with a graph (training): the patches and the pooling's
    arg-max kept, not the convolution's output. Backward: dL/dpooled where pooled > 0 (the
    ReLU's derivative, PyTorch's 0 at 0), written to each window's arg-max (zeros elsewhere),
    then the convolution's gradients as ``Conv`` computes them. float32 NumPy only
    (``conv_max_pool`` decides).

    With more than one BLAS thread (``threads.blocks``) the batch is split into blocks of
    images, one per thread with the BLAS at one thread: each block's patches, GEMM and pooling
    forward, and its pooling's and convolution's backward (``conv_kernels.pool_conv_grads``,
    its weight gradient summed over the blocks after). OpenBLAS splitting each of these small
    GEMMs over two threads, with the patches and pooling passes on one, ran the lecture CNN's
    step no faster than one thread (figures: benchmarks/RESULTS.md)."""

    def __init__(self, g, gp, relu):
        self.g, self.gp, self.relu = g, gp, relu
        self.blocks = None

    def forward(self, x, W, b=None):
        g, gp, c_out = self.g, self.gp, W.shape[-1]
        blocks = threads.blocks(x.shape[0], np) if self.needs_input_grad[1] and blas.gemm_pointer() else []
        if len(blocks) > 1:
            return self._forward_blocks(x, W, b, blocks)
        cols = conv_ops._cols(x, g, ones=b is not None)
        z = cols @ conv_ops._with_bias_row(W.reshape(-1, c_out), b, np)
        pooled, self.idx = kernels.max_pool(z.reshape((x.shape[0],) + g.out_sizes + (c_out,)), gp.kernel,
                                            gp.strides, gp.out_sizes, True)
        if self.relu:
            accel.bias_relu_(pooled)
        self.pooled = pooled if self.relu else None
        self.W, self.cols = W, cols if self.needs_input_grad[1] else None
        return pooled

    def _forward_blocks(self, x, W, b, blocks):
        """``forward`` a block of images per thread; the patches kept per block."""
        g, gp, c_out, n = self.g, self.gp, W.shape[-1], x.shape[0]
        weights = np.ascontiguousarray(conv_ops._with_bias_row(W.reshape(-1, c_out), b, np))
        pooled = np.empty((n,) + gp.out_sizes + (c_out,), np.float32)
        idx = np.empty(pooled.shape, np.uint8)

        def block(images):
            c = conv_ops._cols(x[images], g, ones=b is not None)
            z = (c @ weights).reshape((images.stop - images.start,) + g.out_sizes + (c_out,))
            idx[images] = kernels.max_pool(z, gp.kernel, gp.strides, gp.out_sizes, True, out=pooled[images])[1]
            if self.relu:
                accel.bias_relu_(pooled[images])
            return c
        self.cols = conv_ops.in_blocks(block, blocks)
        self.idx, self.blocks = idx, blocks
        self.pooled = pooled if self.relu else None
        self.W = W
        return pooled

    def _backward_blocks(self, gy, want_x, zero):
        """``backward``'s gradients a block of images per thread: (dL/dx of the padded input or
        None, dL/d(kernel matrix) summed over the blocks), or None where the kernels decline."""
        g, W = self.g, self.W
        gx = np.zeros(gy.shape[:1] + g.padded_sizes + W.shape[-2:-1], np.float32) if want_x else None
        cols = dict(zip((b.start for b in self.blocks), self.cols))

        def block(images):
            return conv_kernels.pool_conv_grads(gy[images], self.idx[images], cols[images.start], W, g, self.gp,
                                                images.stop - images.start, want_x, zero,
                                                None if gx is None else gx[images])
        grads = conv_ops.in_blocks(block, self.blocks)
        if any(r is None for r in grads):
            return None
        return gx, conv_ops.summed([r[0] for r in grads])

    def backward(self, gy):
        g, gp, W = self.g, self.gp, self.W
        if self.relu:
            gy = accel.relu_grad(gy, self.pooled)
        gy = np.ascontiguousarray(gy, np.float32)  # what the Numba kernels take
        needs = self.needs_input_grad
        needs_b = len(needs) > 2 and needs[2]
        if self.blocks is not None:
            both = self._backward_blocks(gy, bool(needs[0]), not windows_tile(gp, g.out_sizes))
            if both is not None:
                gx, gWb = both
                return (None if gx is None else unpad(gx, g), *conv_ops.split_weight_grad(gWb, W, needs_b))
            self.cols = np.concatenate(self.cols)  # the kernels declined: the whole batch's patches below
        # the output gradient (and the windows' input gradients) a few images at a time, in cache; with
        # the input's gradient only on one BLAS thread (small GEMMs split over two lost: RESULTS.md)
        if needs[1] and (not needs[0] or threads.blas_threads() == 1):
            both = conv_kernels.pool_conv_grads(gy, self.idx, self.cols, W, g, gp, gy.shape[0], bool(needs[0]),
                                                zero=not windows_tile(gp, g.out_sizes))
            if both is not None:
                gWb, gx = both
                return (None if gx is None else unpad(gx, g), *conv_ops.split_weight_grad(gWb, W, needs_b))
        out_shape = gy.shape[:1] + g.out_sizes
        gz, overlap = max_pool_grad_buffer(gy, gp, g.out_sizes, np)
        if not kernels.max_pool_grad(gy, self.idx, gz, gp.kernel, gp.strides, overlap):
            raise RuntimeError("ConvMaxPool: the pooling kernel declined its own arrays")  # forward used it
        gz2 = gz.reshape(-1, gz.shape[-1])
        gx = conv_ops.input_grad(gz2, W, g, out_shape) if needs[0] else None
        gW = gb = None
        if needs[1]:
            gW, gb = conv_ops.weight_grads(gz2, self.cols, W, needs_b)
        elif needs_b:
            gb = gz2.sum(axis=0)
        return gx, gW, gb
