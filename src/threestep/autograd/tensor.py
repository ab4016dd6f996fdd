"""``Tensor``: an array, its gradient, and the ``Function`` that created it.

The backward pass walks the graph iteratively: functions are popped from a heap keyed on
generation (the longest path from a leaf), so every function runs after all functions
that consume its outputs, and recursion depth never grows with the graph.
"""
import heapq

from .. import backend
from .sink import sinks_attached


class Tensor:
    """A node of the computational graph.

    Args:
        data: array-like; converted to an array on the current device. Python floats
            and float64 NumPy data keep their dtype (use ``astype`` to change it).
        requires_grad: whether gradients flow to this tensor (True for parameters).
        name: optional label, shown in ``repr`` and error messages.
    """

    __array_priority__ = 200  # numpy_array * tensor -> Tensor.__rmul__
    sink = None  # a leaf's gradient sink while one is attached (autograd.sink)

    def __init__(self, data, requires_grad=False, name=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = backend.on_device(data)
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad
        self.name = name

    # ----------------------------------------------------------------- array-like
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The data as a NumPy array (copied off the GPU if needed)."""
        return backend.to_numpy(self.data)

    def item(self):
        return self.data.item()

    def __repr__(self):
        label = f", name={self.name!r}" if self.name else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = str(self.data).replace("\n", "\n" + " " * 7)
        return f"Tensor({body}, dtype={self.dtype}{grad}{label})"

    def detach(self):
        """A new leaf tensor sharing this data, cut off from the graph."""
        return Tensor(self.data)

    def set_creator(self, func):
        self.creator = func
        self.generation = func.generation + 1

    def zero_grad(self):
        self.grad = None

    # ----------------------------------------------------------------- backward
    def backward(self, grad=None, retain_graph=False, retain_grad=False):
        """Backpropagate from this tensor: the backward pass of the lecture.

        Args:
            grad: dL/d(self); defaults to ones (so a scalar loss needs nothing).
            retain_graph: keep saved values so backward can run again on this graph.
            retain_grad: keep ``.grad`` on intermediate tensors too (leaves always keep it).

        A leaf with a gradient sink attached (``autograd.sink``) gets its gradient delivered
        to the sink instead of ``.grad``.
        """
        xp = backend.get_array_module(self.data)
        if grad is None:
            grad = xp.ones_like(self.data)
        elif isinstance(grad, Tensor):
            grad = grad.data
        else:  # a NumPy upstream gradient for a tensor on the GPU moves there
            grad = backend.on_device(grad)
        if self.creator is None:
            if self.sink is not None and sinks_attached():
                self.sink.take(grad)
            else:
                self.grad = grad if self.grad is None else self.grad + grad  # leaves accumulate
            return
        self.grad = grad  # a non-leaf's grad belongs to this pass (retain_graph reruns must not add up)
        heap, seen, counter = [], set(), 0
        # Leaves with a sink: an op that is a leaf's only user may hand its gradient to the sink
        # itself (`direct`); the gradients of the others are summed here and delivered at the end.
        direct, pending = _sink_uses(self.creator) if sinks_attached() else (None, None)

        def push(func):
            nonlocal counter
            if func not in seen:
                seen.add(func)
                counter += 1  # tie-breaker keeps the heap from comparing Functions
                heapq.heappush(heap, (-func.generation, counter, func))

        push(self.creator)
        while heap:
            func = heapq.heappop(heap)[2]
            refs = func.outputs
            if len(refs) == 1:
                out = refs[0]()
                outputs = (out,)
                gys = (None if out is None else out.grad,)
                func.held = None  # outputs are strongly referenced by `outputs` now
                if gys[0] is None:
                    continue
            else:
                outputs = [ref() for ref in refs]
                func.held = None
                gys = [None if o is None else o.grad for o in outputs]
                if not any([g is not None for g in gys]):
                    continue
            if func.released:
                raise RuntimeError(
                    f"backward() reached {func!r} a second time, but the first backward() freed "
                    "its saved values. Pass retain_graph=True to the first backward() call."
                )
            offered = direct.get(func) if direct else None
            if offered:
                func.sinks = offered
                gxs = func.run_backward(gys)
                func.sinks = None
            else:
                gxs = func.run_backward(gys)
            for x, gx in zip(func.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.data.shape:
                    gx = sum_to(gx, x.data.shape)
                creator = x.creator
                if creator is None:
                    if pending is not None and x.sink is not None:
                        if id(x) in pending:  # used more than once: summed, delivered at the end
                            pending[id(x)][1].append(gx)
                        else:  # its only user returned the gradient instead of handing it over
                            x.sink.take(gx)
                    elif x.grad is not None:
                        x.grad = x.grad + gx
                    else:  # a leaf's grad may be changed in place later: never a read-only or broadcast
                        # view (CuPy has no `writeable` flag, so a broadcast shows as a 0 stride there)
                        shared = not getattr(getattr(gx, "flags", None), "writeable", True) or 0 in gx.strides
                        x.grad = gx.copy() if shared else gx
                    continue
                # Keep x alive until its creator runs: releasing this function may drop the
                # last strong reference to x, and its creator reads x.grad. `held` is empty at
                # the start of a pass, so the first gradient of this pass replaces a stale one.
                held = creator.held
                if held is None:
                    creator.held = {id(x): x}
                    x.grad = gx
                elif id(x) in held:
                    x.grad = x.grad + gx
                else:
                    held[id(x)] = x
                    x.grad = gx
                push(creator)
            if not retain_grad:
                for o in outputs:
                    if o is not None and o is not self:
                        o.grad = None
            if not retain_graph:
                func.release()
        for x, parts in (pending or {}).values():
            if parts:
                total = parts[0]
                for g in parts[1:]:
                    total = total + g
                x.sink.take(total)


def _sink_uses(root):
    """For the leaves with a sink in the graph below ``root`` (one walk over its ops, each once):
    ``{op: {input index: sink}}`` for those that are an input of exactly one op, once, and
    ``{id(leaf): (leaf, [])}`` for the others, whose gradient contributions backward collects."""
    uses, seen, stack = {}, {root}, [root]
    while stack:
        func = stack.pop()
        for i, x in enumerate(func.inputs):
            creator = x.creator
            if creator is None:
                if x.sink is not None and x.requires_grad:
                    uses.setdefault(id(x), (x, []))[1].append((func, i))
            elif creator not in seen:
                seen.add(creator)
                stack.append(creator)
    direct, pending = {}, {}
    for x, found in uses.values():
        if len(found) == 1:
            func, i = found[0]
            direct.setdefault(func, {})[i] = x.sink
        else:
            pending[id(x)] = (x, [])
    return direct, pending


def sum_to(gx, shape):
    """Un-broadcast: sum ``gx`` down to ``shape`` (the one place broadcasting is undone)."""
    ndim = len(shape)
    lead = gx.ndim - ndim
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gx.shape[i + lead] != 1)
    if axes:
        gx = gx.sum(axis=axes, keepdims=True)
    if lead:
        gx = gx.reshape(shape)
    return gx


def as_tensor(obj, like=None):
    """``obj`` as a Tensor; Python scalars take the dtype of ``like`` (avoids float64 leaks)."""
    if isinstance(obj, Tensor):
        return obj
    if like is not None and not backend.is_array(obj):
        # Only a float tensor imposes its dtype: int_tensor * 0.5 must not truncate 0.5 to 0.
        dtype = like.dtype if like.dtype.kind == "f" else None
        xp = backend.get_array_module(like.data)
        if backend.on_gpu(like.data) and (type(obj) in (int, float, bool) or getattr(obj, "ndim", None) == 0):
            # a Python or NumPy scalar: a fill kernel, not a host->device copy (which waits for the GPU)
            return Tensor(xp.full((), obj, dtype=dtype or getattr(obj, "dtype", None)))
        return Tensor(xp.asarray(obj, dtype=dtype))
    return Tensor(obj)
