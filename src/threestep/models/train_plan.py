"""One training step of a Sequential model as planned array steps, forward and backward.

``Model.train_step`` records a graph every batch: a Tensor per output, ``Function.__call__``
per op, the heap walk of ``Tensor.backward``, the search for gradient sinks. For a Dense stack
that bookkeeping costs a good share of what the GEMMs cost at batch 100 (figures:
benchmarks/RESULTS.md). This module plans the step once per model: ``Dense``, ``Dropout`` and
``Flatten`` (and a ``Dense`` with the ``Activation("relu")`` after it, ``models.fusion``) run
forward and backward on arrays, with the very kernels their ops use; every other layer runs as
an *island*, its own ``call`` recorded and backpropagated by the engine from a leaf Tensor at
its input; the loss is one more island (``Model._loss_of_output``, the code of the unplanned
step). Gradients of weights go where the engine would put them: to the optimizer's gradient
sink when one is attached (``autograd.sink``; Dense kernels as the GEMM ``x^T dL/dy``, biases
as the row sum), else to ``.grad``. So a planned step changes the same weights by the same
bits as the recorded one (tested), and ``Optimizer.minimize`` takes it unchanged: the planned
loss has ``.data`` and ``backward()``.

A model is planned only where the step has nothing else to do: a ``Sequential`` model (not a
subclass) of threestep's own built layers, none stateful, none making a sequence mask
(``Masking``, ``Embedding(mask_zero=True)``), no weight in two layers, no weight regularizer,
activity regularizer or ``add_loss`` term, no ``call`` set on a layer instance (a callback that
watches outputs, ``GradientMonitor``, does that for its sampled batches), on the CPU. The distributed strategy and
``debug_numerics`` take the recorded step. Weights are read at each step; ``trainable``
switched between two steps is followed (the plan reads ``requires_grad`` as the engine does).

    >>> step = train_plan.planned(model)          # doctest: +SKIP
    >>> loss, out = step(x, y, w, fused) if step else model._loss_and_output(x, y, w, True, fused)
"""
from .. import backend
from ..accel import dispatch
from ..autograd import Tensor
from ..autograd.sink import sinks_attached
from ..layers import activations
from ..layers.core import Dense, Flatten
from ..layers.dropout import Dropout
from ..ops.activations import dropout_mask
from .data import to_tensors
from .predict_plan import cached, unplan


class _Masked(Exception):
    """An island's output carries a sequence mask, which only the recorded step propagates."""


def _deliver(param, g):
    """A weight's whole gradient, where the engine puts it: its sink, else ``.grad`` (summed)."""
    if param.sink is not None and sinks_attached():
        param.sink.take(g)
    elif param.grad is not None:
        param.grad = param.grad + g
    else:
        param.grad = g


class _DenseStep:
    """``Dense`` as ``ops.nn.Linear`` computes it: ``merged``, with the ``Activation("relu")``
    after it; ``logits``, the last layer stopped before its activation (a fused loss). The
    layer's own activation is read at each step, as its ``call`` reads it."""

    def __init__(self, layer, merged, logits):
        self.layer, self.merged, self.logits = layer, merged, logits
        self.x = self.y = self.island = None

    def forward(self, a, tracked):
        layer = self.layer
        kernel, bias, act = layer.kernel, layer.bias, layer.activation
        self.relu = self.merged or (not self.logits and act is activations.relu)
        y = a @ kernel.data
        if self.relu:
            dispatch.bias_relu_(y, None if bias is None else bias.data)
        elif bias is not None:
            y += bias.data
        self.needs_x = tracked
        tracked = tracked or kernel.requires_grad or (bias is not None and bias.requires_grad)
        self.x, self.y = a, y
        if not (self.logits or self.relu or act is activations.linear):  # tanh, ...: its own op, an island
            self.island = _Island.of(act, y, tracked)
            return self.island.out, tracked
        return y, tracked

    def backward(self, gy):
        if self.island is not None:
            gy = self.island.backward(gy)
            self.island = None
        layer = self.layer
        kernel, bias = layer.kernel, layer.bias
        want_b = bias is not None and bias.requires_grad
        gb = None
        if self.relu:
            gy, gb = dispatch.relu_grad_bias(gy, self.y, want_b)
        x = self.x
        self.x = self.y = None
        gx = gy @ kernel.data.T if self.needs_x else None  # before a sink may update the kernel
        if kernel.requires_grad:
            x2, gy2 = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1])
            if kernel.sink is not None and sinks_attached():
                kernel.sink.take_matmul(x2, gy2)
            else:
                _deliver(kernel, x2.T @ gy2)
        if want_b:
            if gb is not None:
                _deliver(bias, gb)
            elif bias.sink is not None and sinks_attached():
                bias.sink.take_rowsum(gy.reshape(-1, gy.shape[-1]))
            else:
                _deliver(bias, gy.reshape(-1, gy.shape[-1]).sum(axis=0))
        return gx


class _DropoutStep:
    def __init__(self, layer):
        self.layer, self.mask = layer, None

    def forward(self, a, tracked):
        layer = self.layer
        if not layer.rate:
            self.mask = None
            return a, tracked
        self.mask = dropout_mask(a, layer.rate, layer.noise_shape, layer._generator())
        return a * self.mask, tracked

    def backward(self, gy):
        mask, self.mask = self.mask, None
        return gy if mask is None else gy * mask


class _FlattenStep:
    def forward(self, a, tracked):
        self.shape = a.shape
        return a.reshape(a.shape[0], -1), tracked

    def backward(self, gy):
        return gy.reshape(self.shape)


class _Island:
    """Part of the step the engine records and backpropagates: ``fn(Tensor)`` from a leaf
    Tensor at its input (which asks for a gradient only where an earlier layer trains)."""

    @classmethod
    def of(cls, fn, a, tracked):
        island = cls()
        island.leaf = Tensor(a, requires_grad=tracked)
        out = fn(island.leaf)
        if getattr(out, "mask", None) is not None or not isinstance(out, Tensor):
            raise _Masked
        island.result = out
        island.out = out.data
        return island

    def backward(self, gy):
        result, leaf = self.result, self.leaf
        self.result = self.leaf = None
        if result.requires_grad:
            result.backward(gy)
        return leaf.grad if leaf.requires_grad else None


class _LayerStep:
    """Any other layer through its own call, as ``Sequential.forward`` runs it: with the
    ``Activation("relu")`` after it (``then``), or with the max pooling after it (``pool``;
    ``relu``: whether a ReLU comes between) as one node where that serves."""

    def __init__(self, layer, then=None, pool=None, relu=False, logits=False):
        self.layer, self.then, self.pool, self.relu, self.logits = layer, then, pool, relu, logits
        self.island = None

    def _call(self, x):
        layer, pool = self.layer, self.pool
        out = None if pool is None else layer.call_pooled(x, pool, self.relu)
        if out is None:
            if self.then is not None:
                out = layer.call_relu(x, training=True)
            else:
                out = layer.invoke(x, training=True, logits=self.logits)
            if pool is not None:
                if getattr(out, "mask", None) is not None:
                    raise _Masked
                out = pool.invoke(out, training=True)
        return out

    def forward(self, a, tracked):
        self.island = _Island.of(self._call, a, tracked)
        return self.island.out, tracked or self.island.result.requires_grad

    def backward(self, gy):
        island, self.island = self.island, None
        return island.backward(gy)


class _PlannedLoss:
    """What ``Optimizer.minimize`` reads of a loss: its value, and ``backward()``, which runs
    the loss island and then every step's backward, last to first."""

    def __init__(self, loss, out, steps):
        self.loss, self.out, self.steps = loss, out, steps

    @property
    def data(self):
        return self.loss.data

    def backward(self, retain_grad=False):
        loss, out, steps = self.loss, self.out, self.steps
        self.steps = None  # (the loss stays: minimize may read its value after backward)
        loss.backward(retain_grad=retain_grad)
        g = out.grad
        out.grad = None
        for step in reversed(steps):
            if g is None:  # nothing before this step trains
                break
            g = step.backward(g)


def _makes_mask(layer):
    return type(layer).__name__ == "Masking" or getattr(layer, "mask_zero", False)


def _make(model):
    from .sequential import Sequential  # noqa: PLC0415

    layers = model.layers
    if type(model) is not Sequential or not layers or not all(layer.built for layer in layers):
        return None
    seen = set()
    for layer in layers:
        if (not type(layer).__module__.startswith("threestep.") or getattr(layer, "stateful", False)
                or _makes_mask(layer) or getattr(layer, "activity_regularizer", None) is not None
                or layer.__dict__.get("_static_losses")):
            return None
        for w in layer.weights:
            if id(w) in seen or getattr(w, "regularizer", None) is not None:
                return None
            seen.add(id(w))
    weights = [w for layer in layers for w in layer.weights]
    return {"weights": weights, "layers": layers, "steps": {}}


def _steps(model, fused):
    """The step objects of ``model`` for a loss fused with the last activation or not (``fused``)."""
    steps = model._fused_steps()
    pooled = model._fused_steps(pooled=True)
    last = len(steps) - 1
    plan, skip = [], False
    for i, (layer, then) in enumerate(steps):
        if skip:
            skip = False
            continue
        kind = type(layer)  # exact types: a subclass may change what call does
        logits = fused and i == last
        if i in pooled:
            plan.append(_LayerStep(layer, then, steps[i + 1][0], pooled[i]))
            skip = True
        elif kind is Dense:
            plan.append(_DenseStep(layer, then is not None, logits))
        elif kind is Dropout and then is None:
            plan.append(_DropoutStep(layer))
        elif kind is Flatten and then is None:
            plan.append(_FlattenStep())
        else:
            plan.append(_LayerStep(layer, then, logits=logits))
    return plan


def _unchanged(model, weights, layers):
    """Nothing added since the plan that the recorded step would add to the loss."""
    if getattr(model, "_added_losses", None):
        return False
    for w in weights:
        if getattr(w, "regularizer", None) is not None:
            return False
    for layer in layers:
        own = layer.__dict__
        if getattr(layer, "activity_regularizer", None) is not None or own.get("_static_losses") or "call" in own:
            return False  # (a call set on the instance: a callback watching the layer's outputs)
    return True


def planned(model):
    """A function ``(x, y, sample_weight, fused) -> (loss, output)`` taking the place of
    ``model._loss_and_output(x, y, sample_weight, True, fused)`` in a training step, or None
    where the model is not planned (see the module's notes)."""
    if getattr(model, "_trace", None) is not None or backend.backend_name() != "numpy":
        return None
    made = cached(model, "_train_plan", _make)
    if made is None or not _unchanged(model, made["weights"], made["layers"]):
        return None

    def step(xb, yb, wb, fused):
        steps = made["steps"].get(fused)
        if steps is None:
            steps = made["steps"][fused] = _steps(model, fused)
        a = to_tensors(xb).data  # the input array as the recorded step's first Tensor holds it
        tracked = False
        try:
            for s in steps:
                a, tracked = s.forward(a, tracked)
        except _Masked:
            unplan(model, "_train_plan")
            return None
        out = Tensor(a, requires_grad=tracked)
        loss, out = model._loss_of_output(out, yb, wb, fused)
        return _PlannedLoss(loss, out, steps), out
    return step
