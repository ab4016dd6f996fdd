"""How an optimizer takes one training step (``Optimizer.minimize``): the plan.

The optimizer decides per parameter list (at the first step, again only when the parameters,
their arrays or the device change) how each update meets its gradient:

* ``"grad"`` -- backward fills ``.grad``; the update runs after it, parameter by parameter.
  For a caller that reads gradients or changes them first (``keep_gradients``, a hook such
  as the distributed strategy's all-reduce), and for ``global_clipnorm`` (it needs every
  gradient first).
* ``"arrival"`` (NumPy) -- each parameter carries a gradient sink that applies its update the
  moment backward delivers its gradient (PyTorch's "optimizer step in backward"). Where the
  gradient is a GEMM (a Dense or Conv kernel), an optimizer whose update has the GEMM's form
  ``C = beta C + alpha A^T B`` does it in that GEMM (``Optimizer.fold_matmul``: plain SGD on
  the weight, momentum on its velocity), so dL/dW is never written to memory.
* ``"packed"`` (CuPy) -- parameters, gradients and slots live in flat buffers
  (``optimizers.packing``); each sink writes its gradient into its view of the flat gradient,
  and one update kernel steps every parameter.

The engine knows none of this: it only hands gradients to sinks (``autograd.sink``).
"""
import operator

from .. import backend
from ..autograd import GradientSink
from .packing import Packing, packable


class ArrivalSink(GradientSink):
    """Applies the optimizer's update to one parameter as soon as its gradient arrives."""

    def __init__(self, optimizer, index, param):
        self.optimizer, self.index, self.param = optimizer, index, param

    def take(self, g):
        shape = self.param.data.shape
        self.optimizer._update_one(self.index, self.param, g if g.shape == shape else g.reshape(shape))

    def take_matmul(self, a, b):
        if self.optimizer.fold_matmul(self.index, self.param.data, a, b, self.optimizer._step_lr):
            self.optimizer._constrain(self.param)
        else:
            self.take(a.T @ b)


class BufferSink(GradientSink):
    """Writes one parameter's gradient into its view of the packed flat gradient buffer."""

    def __init__(self, view):
        self.view = view
        self.arrived = self.copied = False

    def take(self, g):
        self.view[...] = g.reshape(self.view.shape)  # one copy kernel: the op made its own array
        self.arrived = self.copied = True

    def take_matmul(self, a, b):
        view = self.view
        out = view.reshape(-1, view.shape[-1]) if view.flags.c_contiguous else None
        if out is None or out.shape != (a.shape[1], b.shape[1]):
            self.take(a.T @ b)
            return
        backend.get_array_module(a).matmul(a.T, b, out=out)
        self.arrived = True

    def take_rowsum(self, g):
        if self.view.ndim != 1 or not self.view.flags.c_contiguous:
            self.take(g.sum(axis=0))
            return
        g.sum(axis=0, out=self.view)
        self.arrived = True


class StepPlan:
    """One parameter list's way of stepping: ``kind`` ("grad", "arrival" or "packed"), and for
    the packed kind the ``packing``."""

    def __init__(self, kind, params, packing=None):
        self.kind, self.params, self.packing = kind, list(params), packing
        self.sinks = {}
        self.key = None  # (keep_gradients, hooked): what the plan was made for

    def serves(self, params, key, slots):
        if self.key != key or len(params) != len(self.params) or not all(map(operator.is_, params, self.params)):
            return False
        return self.packing is None or self.packing.intact(params, slots)

    def attach(self, optimizer):
        """Fresh sinks for this step: ``{param: sink}``."""
        if self.kind == "arrival":
            self.sinks = {p: ArrivalSink(optimizer, i, p) for i, p in enumerate(self.params)}
        elif self.kind == "packed":
            self.sinks = {p: BufferSink(view) for p, view in zip(self.params, self.packing.grads)}
        else:
            self.sinks = {}
        return self.sinks


def make_plan(optimizer, params, keep_gradients, hooked):
    """The plan for ``params`` (see the module docstring)."""
    if not params:
        plan = StepPlan("grad", params)
    elif backend.on_gpu(params[0].data):
        if optimizer.clipnorm is None and packable(params):
            plan = StepPlan("packed", params, Packing(params, optimizer.slots))  # slot lists now hold views
        else:
            plan = StepPlan("grad", params)
    elif keep_gradients or hooked or optimizer.global_clipnorm is not None:
        plan = StepPlan("grad", params)
    else:
        plan = StepPlan("arrival", params)
    plan.key = (bool(keep_gradients), bool(hooked))
    return plan


def packed_update(optimizer, plan, lr):
    """The update of a packed step: one ``update_step`` on the flat buffers where every
    gradient arrived; else (a parameter without a gradient this step) parameter by parameter
    on the views, for those that have one. Returns whether most gradients were copies (the
    ops made their own arrays): then the plan steps per parameter from ``.grad`` from now on,
    where a kernel per parameter is spent either way."""
    sinks = [plan.sinks[p] for p in plan.params]
    packing = plan.packing
    if all(s.arrived for s in sinks):
        grad = optimizer._clip([packing.grad])[0]
        slots = optimizer.slots
        optimizer.slots = {name: [flat] for name, flat in packing.slot_flats.items()}
        try:
            optimizer.update_step(0, packing.flat, grad, lr)
        finally:
            optimizer.slots = slots
        for p in plan.params:
            optimizer._constrain(p)
    else:
        todo = [(i, p, s.view) for i, (p, s) in enumerate(zip(plan.params, sinks)) if s.arrived]
        optimizer._apply(todo, lr)
    copies = sum(s.copied for s in sinks)
    return copies + 1 >= len(sinks)
