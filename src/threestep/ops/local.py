"""Unshared ("locally connected") convolution: a different filter at every output position.

x (N, *spatial, C), W (P, K * C, F) with P output positions and K kernel cells, b (*out, F).
y[n, p] = patch_p(x[n]) @ W[p] + b[p]: a batch of P small GEMMs, one per position (Keras's
``LocallyConnected`` layout with implementation=1; padding 'valid' only).
"""
from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from .im2col import col2im, geometry, patches


class LocalConv(Function):
    def __init__(self, kernel, strides):
        self.kernel, self.strides = kernel, strides

    def forward(self, x, W, b=None):
        xp = backend.get_array_module(x)
        self.g = g = geometry(x.shape, self.kernel, self.strides, 1, "valid", "local_conv")
        n, p = x.shape[0], W.shape[0]
        self.cols = patches(x, g).reshape(n, p, -1).transpose(1, 0, 2)  # (P, N, K*C)
        self.W = W
        y = xp.matmul(self.cols, W).transpose(1, 0, 2).reshape((n,) + g.out_sizes + (W.shape[-1],))
        return y + b if b is not None else y

    def backward(self, gy):
        g, W, cols = self.g, self.W, self.cols
        p, n = cols.shape[:2]
        g3 = gy.reshape(n, p, -1).transpose(1, 0, 2)  # (P, N, F)
        gx = gW = gb = None
        if self.needs_input_grad[0]:
            gcols = (g3 @ W.transpose(0, 2, 1)).transpose(1, 0, 2)  # (N, P, K*C)
            c = gcols.shape[-1] // len(list(_cells(g.kernel)))
            gcols = gcols.reshape((n,) + g.out_sizes + g.kernel + (c,))
            k = len(g.kernel)
            order = tuple(range(1 + k, 1 + 2 * k)) + tuple(range(1 + k)) + (1 + 2 * k,)
            gx = col2im(gcols.transpose(order), g)
        if self.needs_input_grad[1]:
            gW = cols.transpose(0, 2, 1) @ g3
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=0)
        return gx, gW, gb


def _cells(kernel):
    size = 1
    for k in kernel:
        size *= k
    return range(size)


def local_conv(x, W, b=None, kernel_size=(3,), strides=1):
    """Locally connected layer's forward: x (N, *spatial, C), W (P, K*C, F), b (*out, F) or None.

    Example:
        >>> local_conv(x, W, b, kernel_size=(3,), strides=1)  # x (8, 10, 4), W (8, 12, 5) -> (8, 8, 5)
    """
    op = LocalConv(tuple(kernel_size), strides)
    if W.ndim != 3:
        raise ShapeError(f"local_conv: W must be (positions, kernel cells * channels, filters); received {W.shape}.")
    return op(x, W) if b is None else op(x, W, b)
