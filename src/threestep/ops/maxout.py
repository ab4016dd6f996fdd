"""Max over a "pieces" axis where the gradient flows only to the arg-max: Maxout, max pooling.

Maxout and max pooling share one backward rule: the output is one of the inputs (the
largest in its group), so the whole gradient goes to that input and the others get 0
(the lecture: "only the parameters of the selected elements are updated"). That rule
lives here once, as array functions that a fused op calls from its own forward and
backward (``MaxoutLinear`` below, ``MaxPool`` in ``pool.py``):

    y, idx = argmax_select(x, axis)           # forward over one axis: keep idx
    gx = argmax_scatter(gy, idx, size, axis)  # backward: gy to the arg-max, 0 elsewhere
    y, idx = max_of_pieces(pieces)            # the same over a list of views (window cells)
    scatter_to_pieces(gy, idx, outs)          # ... writing into views of the gradient

and as the ``ArgMaxReduce`` Function for models built from small ops. Ties go to the
first maximal element (``argmax``), as in torch.max(dim) and max pooling — unlike
``ops.max``, where tied elements share the gradient (as torch.amax).
"""
from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from ..accel import fused
from .nn import linear
from .shape import reshape


_FEW_PIECES = 16  # up to this many pieces, one pass per piece beats max + compare + max over an axis


def max_of_pieces(pieces, index=True):
    """Elementwise max of same-shape arrays and (with ``index``) which piece holds it.

    The pieces may be any views: the slices of one axis, or the strided window cells of max
    pooling (``x[:, i::2, j::2]``), so nothing is gathered first. Each piece is read once,
    by the ``maximum`` that updates the running max; whether it won is read off the new max
    against the old (``new > old`` exactly when ``piece > old``), a strict test that keeps
    the first piece on ties, and the index (uint8) only grows, so it needs no masked writes.
    This was faster than comparing each piece as well, than im2col patches + ``argmax_select``
    over the window axis, and than masked ``copyto`` or ``where`` (figures: benchmarks/RESULTS.md, "Measurements behind the code"). NaN wins, as in
    ``argmax``.
    """
    xp = backend.get_array_module(pieces[0])
    first = pieces[0]
    if len(pieces) == 1:
        return first.copy(), (xp.zeros(first.shape, xp.uint8) if index else None)
    if index and len(pieces) < 256 and backend.on_gpu(first):
        return fused.max_of_pieces(*pieces)  # one kernel on CuPy, no host sync for the NaN rule
    y = xp.maximum(first, pieces[1])
    if not index:
        for piece in pieces[2:]:
            xp.maximum(y, piece, out=y)
        return y, None
    idx = xp.greater(pieces[1], first).view(xp.uint8)
    hit, step, spare = xp.empty(y.shape, bool), xp.empty(y.shape, xp.uint8), xp.empty_like(y)
    for p, piece in enumerate(pieces[2:], 2):
        xp.maximum(y, piece, out=spare)
        xp.greater(spare, y, out=hit)
        xp.maximum(idx, xp.multiply(hit.view(xp.uint8), p, out=step), out=idx)
        y, spare = spare, y
    if y.dtype.kind in "fc" and bool(xp.isnan(y).any()):  # NaN never compares >
        for p in range(len(pieces) - 1, -1, -1):
            idx = xp.where(xp.isnan(pieces[p]), xp.uint8(p), idx)
    return y, idx


def scatter_to_pieces(gy, idx, outs, accumulate=False):
    """Backward of ``max_of_pieces``: ``gy`` into ``outs[p]`` where ``idx == p``, 0 elsewhere.

    ``outs`` are views of the input's gradient (strided window cells for pooling); with
    ``accumulate`` the pieces overlap (pooling windows with strides < pool_size) and are added.
    """
    xp = backend.get_array_module(gy)
    if not accumulate and backend.on_gpu(gy):
        fused.scatter_to_pieces_(gy, idx, *outs)  # one kernel on CuPy
        return
    hit = xp.empty(idx.shape, bool)
    tmp = xp.empty(gy.shape, gy.dtype) if accumulate else None
    for p, out in enumerate(outs):
        xp.equal(idx, p, out=hit)
        if accumulate:
            out += xp.multiply(gy, hit, out=tmp)
        else:
            xp.multiply(gy, hit, out=out)


def _pieces(x, axis):
    """The slices of ``x`` along ``axis`` (views)."""
    lead = (slice(None),) * (axis % x.ndim)
    return [x[lead + (p,)] for p in range(x.shape[axis])]


def argmax_select(x, axis):
    """The max over ``axis`` (kept, size 1) and the first arg-max's indices (same shape).

    Up to ``_FEW_PIECES`` slices: ``max_of_pieces``. Longer axes: max + comparison instead of
    ``argmax``, whose inner loop over a short axis (a 2x2 window) is much slower.
    """
    xp = backend.get_array_module(x)
    size = x.shape[axis]
    if size <= _FEW_PIECES:
        y, idx = max_of_pieces(_pieces(x, axis))
        return xp.expand_dims(y, axis), xp.expand_dims(idx, axis)
    y = x.max(axis=axis, keepdims=True)
    if size > 32767 or bool(xp.isnan(y).any()):  # NaN: x == y never holds; argmax knows NaN
        idx = xp.expand_dims(x.argmax(axis=axis), axis)
        return xp.take_along_axis(x, idx, axis=axis), idx
    shape = [1] * x.ndim
    shape[axis] = size
    reverse = xp.arange(size - 1, -1, -1, dtype=xp.int16).reshape(shape)  # first hit gets the largest weight
    idx = (size - 1) - ((x == y) * reverse).max(axis=axis, keepdims=True).astype(xp.intp)
    return y, idx


def argmax_scatter(gy, idx, size, axis):
    """Backward of ``argmax_select``: ``gy`` (reduced axis kept) placed at ``idx`` along an
    axis of length ``size``; every other element gets 0."""
    xp = backend.get_array_module(gy)
    axis = axis % idx.ndim
    if size <= _FEW_PIECES:
        gx = xp.empty(idx.shape[:axis] + (size,) + idx.shape[axis + 1:], gy.dtype)
        scatter_to_pieces(xp.squeeze(gy, axis), xp.squeeze(idx, axis), _pieces(gx, axis))
        return gx
    positions = xp.arange(size).reshape([size if a == axis else 1 for a in range(idx.ndim)])
    return (positions == idx) * gy


class ArgMaxReduce(Function):
    """max over ``axis`` with the whole gradient sent to the (first) arg-max."""

    def __init__(self, axis=-1, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        y, self.idx = argmax_select(x, self.axis)
        self.size = x.shape[self.axis]
        return y if self.keepdims else y.squeeze(self.axis)

    def backward(self, gy):
        if not self.keepdims:
            gy = backend.get_array_module(gy).expand_dims(gy, self.axis)
        return argmax_scatter(gy, self.idx, self.size, self.axis)


class MaxoutLinear(Function):
    """Fused Maxout unit layer: y = max over p of (x @ W_p + b_p), p = 0 .. pieces-1.

    ``W`` is (in, pieces*units) and ``b`` (pieces*units,), piece-major: columns
    ``p*units:(p+1)*units`` are piece p, a Dense kernel of its own. Each piece is its own
    matrix product (one batched matmul), the same BLAS call a Dense layer makes, so a
    Maxout copied from a ReLU Dense (a zero piece plus the Dense piece) reproduces its
    output bit for bit. Backward sends each output's gradient to its winning piece only,
    then runs the reverse network of that piece as one wide product with ``W``.
    """

    def __init__(self, pieces):
        self.pieces = pieces

    def forward(self, x, W, b=None):
        xp = backend.get_array_module(x)
        k, (n_in, total) = self.pieces, W.shape
        u = total // k
        z = xp.matmul(x[..., None, :, :], W.reshape(n_in, k, u).transpose(1, 0, 2))  # (..., k, M, u)
        if b is not None:
            z += b.reshape(k, 1, u)
        y, self.idx = argmax_select(z, -3)
        self.x, self.W = x, W
        return y[..., 0, :, :]

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, W, k = self.x, self.W, self.pieces
        gz = argmax_scatter(gy[..., None, :, :], self.idx, k, -3)  # (..., k, M, u)
        gz = xp.moveaxis(gz, -3, -2).reshape(x.shape[:-1] + (W.shape[1],))  # piece-major columns
        gx = gz @ W.T if self.needs_input_grad[0] else None
        flat = gz.reshape(-1, W.shape[1])
        gW = x.reshape(-1, x.shape[-1]).T @ flat if self.needs_input_grad[1] else None
        gb = flat.sum(axis=0) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return gx, gW, gb


def argmax_reduce(x, axis=-1, keepdims=False):
    """Maximum over ``axis`` whose gradient goes to one arg-max per group (ties: the first), the rule Maxout and
    max pooling share."""
    return ArgMaxReduce(axis, keepdims)(x)


def _check_pieces(total, pieces, where):
    if pieces < 1 or total % pieces:
        raise ShapeError(f"{where}: the last axis ({total}) must split into pieces={pieces} equal groups.")


def maxout_activation(z, pieces):
    """The Maxout activation alone: (..., pieces*units) piece-major -> (..., units).

    (Not called ``maxout``: that name is this module's, ``threestep.ops.maxout``.)
    """
    _check_pieces(z.shape[-1], pieces, "maxout_activation")
    z = reshape(z, tuple(z.shape[:-1]) + (pieces, z.shape[-1] // pieces))
    return argmax_reduce(z, axis=-2)


def maxout_linear(x, W, b=None, pieces=2):
    """Fused ``maxout_activation(linear(x, W, b), pieces)`` (see ``MaxoutLinear``)."""
    _check_pieces(W.shape[-1], pieces, "maxout_linear")
    if x.ndim < 2:
        raise ShapeError(f"maxout_linear: x needs shape (batch, ..., features); received {tuple(x.shape)}.")
    op = MaxoutLinear(pieces)
    return op(x, W) if b is None else op(x, W, b)


def maxout_linear_simple(x, W, b=None, pieces=2):
    """The readable twin of ``maxout_linear``, from primitives (equal up to rounding)."""
    return maxout_activation(linear(x, W, b), pieces)
