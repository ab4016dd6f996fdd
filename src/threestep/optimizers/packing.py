"""One update kernel for all parameters on the GPU: parameters, gradients and slots packed flat.

On CuPy every update is a kernel launch, so an optimizer stepping a 3-layer MLP launched 6 kernels
(8 for the lecture CNN) where the arithmetic of all of them together is one small pass. PyTorch's
answer is its "foreach" multi-tensor kernels; here the arrays themselves are made contiguous: each
parameter's ``data`` becomes a view into one flat buffer, each slot (momentum, Adam's m and v) a
view into one flat buffer per slot name, and there is one flat gradient buffer whose views the
backward pass writes into (``optimizers.step.BufferSink``: Dense's and Conv's weight GEMM and bias
sum write there directly, handed to the sink by the op). The optimizer's own update then runs once,
on the flat arrays, and is the same elementwise math as parameter by parameter.

The packing is checked at every step by identity (``p.data is`` its view, and every slot too):
anything that rebinds a parameter (``model.to``, a loaded state, a user's assignment) makes the
next step pack again from the current values. Used on CuPy only; NumPy keeps its per-parameter
Numba/BLAS updates, which the CPU benchmarks were tuned with.
"""
import operator

from .. import backend


class Packing:
    """``params`` (Tensors of one dtype on one device) and ``slots`` (``{name: [array per
    parameter]}``) copied into flat buffers, the parameters' ``data`` and the slot lists rebound
    to views of them (values unchanged); ``grads`` holds one gradient view per parameter."""

    def __init__(self, params, slots):
        xp = backend.get_array_module(params[0].data)
        dtype = params[0].data.dtype
        self.params = list(params)
        sizes = [p.data.size for p in params]
        self.bounds = [(sum(sizes[:i]), sum(sizes[:i + 1])) for i in range(len(sizes))]
        total = sum(sizes)
        self.flat = xp.empty(total, dtype)
        self.views = self._rebind(self.flat, [p.data for p in params])
        for p, view in zip(params, self.views):
            p.data = view
        self.grad = xp.empty(total, dtype)
        self.grads = [_view(self.grad, lo, hi, p.data) for (lo, hi), p in zip(self.bounds, params)]
        self.grad_of = {id(p): g for p, g in zip(params, self.grads)}  # parameter -> its gradient view
        self.slot_flats, self.slot_views = {}, {}
        for name, arrays in slots.items():
            flat = xp.empty(total, arrays[0].dtype)
            self.slot_views[name] = slots[name] = self._rebind(flat, arrays)
            self.slot_flats[name] = flat

    def _rebind(self, flat, arrays):
        views = []
        for (lo, hi), a, p in zip(self.bounds, arrays, self.params):
            view = _view(flat, lo, hi, p.data)
            view[...] = a
            views.append(view)
        return views

    def intact(self, params, slots):
        """Whether ``params`` and ``slots`` are still exactly what was packed (identity checks
        only: a few microseconds per step)."""
        if len(params) != len(self.params) or not all(map(operator.is_, params, self.params)):
            return False
        if not all(map(operator.is_, [p.data for p in params], self.views)):
            return False
        if slots.keys() != self.slot_views.keys():
            return False
        return all(len(arrays) == len(self.views) and all(map(operator.is_, arrays, self.slot_views[name]))
                   for name, arrays in slots.items())


def _view(flat, lo, hi, like):
    """``flat[lo:hi]`` shaped and laid out like ``like`` (C or Fortran order: a recurrent kernel
    kept transposed stays so), so that element k of every view of one parameter -- the
    parameter, its gradient, its slots -- is the same weight."""
    if like.flags.c_contiguous:
        return flat[lo:hi].reshape(like.shape)
    return flat[lo:hi].reshape(like.shape[::-1]).T


def packable(params):
    """Whether one flat update can serve ``params``: on the GPU, at least two, one dtype, each
    parameter's data contiguous in C or Fortran order (so that a flat view can replace it)."""
    if len(params) < 2 or not backend.on_gpu(params[0].data):
        return False
    dtype = params[0].data.dtype
    return all(backend.on_gpu(p.data) and p.data.dtype == dtype
               and (p.data.flags.c_contiguous or p.data.flags.f_contiguous) for p in params)
