"""``predict``'s forward pass as a list of array -> array steps, planned once per model.

``Sequential.forward`` in test mode keeps no graph, but it still wraps every array in a Tensor
and runs each op through ``Layer.invoke`` and ``Function.__call__``: for small layers that
Python costs as much as a good share of the GEMM (figures: benchmarks/RESULTS.md). The plan runs
the same fused steps (a layer and the ``Activation("relu")`` after it; a convolution and the
max pooling after it, ``models.fusion``) with ``Dense``, ``Activation``, ``Dropout`` and
``Flatten`` on arrays directly and every other layer through ``invoke`` as before. Each step
computes what the layer's own ops compute (the same GEMM, the same bias + ReLU kernel, the same
softmax), so the outputs are bit-identical to the unplanned pass.

A model is planned only where that pass has nothing else to do: a Sequential model of built
layers, no per-layer trace (``fit(debug_numerics=True)``), and no sequence mask. A mask can
only appear at a layer's output (``Masking``, ``Embedding(mask_zero=True)``), so the first
batch whose steps meet one leaves the plan for good and runs again unplanned.

Weights are read at each call (``layer.kernel.data``): ``set_weights``, ``fit`` and
``load_weights`` between two ``predict`` calls need no new plan. Adding or removing layers does.

    >>> run = predict_plan.runner(model)     # doctest: +SKIP
    >>> probabilities = run(x_batch) if run else None
"""
from .. import backend
from ..accel import dispatch
from ..autograd import Tensor
from ..layers import activations
from ..layers.core import Activation, Dense, Flatten
from ..layers.dropout import Dropout
from ..ops.nn import _softmax


class _Masked(Exception):
    """A step's output carries a sequence mask, which only the unplanned pass propagates."""


def _apply(activation, y):
    """``activation`` of the array ``y``, as a new array (or ``y`` itself for ``linear``)."""
    if activation is activations.linear:
        return y
    if activation is activations.softmax:
        return _softmax(y, -1)
    return activation(Tensor(y)).data


def _dense(layer, relu):
    def step(a):
        y = a @ layer.kernel.data
        bias = None if layer.bias is None else layer.bias.data
        if relu or layer.activation is activations.relu:  # ops.linear(relu=True)'s pass
            dispatch.bias_relu_(y, bias)
            return y
        if bias is not None:
            y += bias
        return _apply(layer.activation, y)
    return step


def _invoke(layer, then=None, pool=None, relu=False):
    """Any other layer through its own call, as ``Sequential.forward`` runs it: with the
    ``Activation("relu")`` after it (``then``) as one node, or with the max pooling after it
    (``pool``; ``relu``: whether the ReLU comes between) as one pass where that serves."""
    def step(a):
        x = Tensor(a)
        out = None if pool is None else layer.call_pooled(x, pool, relu)
        if out is None:
            out = layer.call_relu(x, training=False) if then is not None else layer.invoke(x, training=False)
            if pool is not None:  # the fused pass does not serve (a GPU): the pooling after it
                out = _unmasked(out)
                out = pool.invoke(out, training=False)
        return _unmasked(out).data
    return step


def _unmasked(out):
    if getattr(out, "mask", None) is not None or not isinstance(out, Tensor):
        raise _Masked
    return out


def _step(layer, then, pool=None, relu=False):
    kind = type(layer)  # exact types: a subclass may change what call does
    if pool is not None:
        return _invoke(layer, then, pool, relu)
    if kind is Dense:
        return _dense(layer, then is not None)
    if then is not None:
        return _invoke(layer, then)
    if kind is Activation:  # _apply writes to no array it did not make: the input stays as it was
        return lambda a: _apply(layer.activation, a)
    if kind is Dropout:  # identity in test mode
        return lambda a: a
    if kind is Flatten:
        return lambda a: a.reshape(a.shape[0], -1)
    return _invoke(layer)


def _make(model):
    from .sequential import Sequential  # noqa: PLC0415

    layers = model.layers
    if type(model) is not Sequential or not layers or not all(layer.built for layer in layers) \
            or any(getattr(layer, "stateful", False) for layer in layers):
        return None  # (a stateful layer's states must not advance twice where a mask ends a plan)
    steps = model._fused_steps()
    pooled = model._fused_steps(pooled=True)
    plan, skip = [], False
    for i, (layer, then) in enumerate(steps):
        if skip:
            skip = False
            continue
        if i in pooled:
            plan.append(_step(layer, then, steps[i + 1][0], pooled[i]))
            skip = True
        else:
            plan.append(_step(layer, then))
    return plan


def cached(model, attr, make):
    """``make(model)``, kept in ``model.<attr>`` until the model's layers change (None: not
    planned). A model built by its first, unplanned batch is planned from the next one: an
    unbuilt model's None is not kept."""
    key = tuple(map(id, model.layers))
    found = model.__dict__.get(attr)
    if found is None or found[0] != key:
        plan = make(model)
        if plan is None and not all(layer.built for layer in model.layers):
            return None
        found = (key, plan)
        setattr(model, attr, found)
    return found[1]


def unplan(model, attr):
    """Keep ``model`` unplanned (in ``model.<attr>``) until its layers change."""
    setattr(model, attr, (tuple(map(id, model.layers)), None))


def runner(model):
    """A function from an input batch (an array) to ``model``'s test-mode output array, or None
    where the model is not planned (see the module's notes). Call it under ``no_grad``."""
    if getattr(model, "_trace", None) is not None:
        return None
    plan = cached(model, "_predict_plan", _make)
    if plan is None or any("call" in layer.__dict__ for layer in model.layers):
        return None  # (a call set on a layer instance, by a user or a callback, runs unplanned)

    def run(a):
        a = backend.on_device(a)  # as Tensor(a) does: NumPy batches move to the GPU under CuPy
        try:
            for step in plan:
                a = step(a)
        except _Masked:
            unplan(model, "_predict_plan")
            return None
        return a
    return run
