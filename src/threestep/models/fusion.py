"""The graph pass that rewrites the lecture's spelling into the fused nodes.

The lecture writes ``Dense(500)`` then ``Activation("relu")``: two graph nodes, the second a
full pass over the output (and one more backward). ``Dense(500, activation="relu")`` is one
node, ``ops.Linear(relu=True)``, with the bias and the ReLU in one pass. This pass finds
every layer with a fused ReLU form (``call_relu``: Dense and the convolutions) whose
activation is linear, followed by an ``Activation("relu")`` layer that reads nothing else,
and runs the pair as that one node, so that both spellings train at the same speed.

The other half of the lecture's spelling, ``Activation("softmax")`` as the last layer with
``categorical_crossentropy``, needs no rewrite here: ``Model._fused`` hands the loss the
logits (``Activation.call_logits``), whatever layer the softmax sits in, and the one-hot
targets take the same single-pass kernel as integer labels (``accel.dispatch.softmax_ce``).

A convolution (with its ReLU, fused or spelled out) followed by a max-pooling layer with
'valid' windows runs as one op too (``pooled_steps``, ``ops.conv_pool``), the ReLU on the
pooled values: in test mode one pass where the convolution's output, the largest array of a
small CNN, never exists in full (each chunk of images is pooled straight from the GEMM's
scratch); in training one graph node that keeps the patches and the arg-max, not that output,
and whose backward writes the output's gradient already masked by the ReLU. In a functional
graph (``graph_pooled``) where the pooling layer is the convolution's (or its ReLU's) only
reader.

A pair is not merged where its intermediate output is observable: an activity regularizer
on either layer, another reader of the Dense output (a functional graph), a model output,
or ``fit(debug_numerics=True)`` (which checks every layer's output). Layer outputs, weights,
``summary`` and saved files are unchanged: the pass changes only how a training or
inference pass runs.
"""
from ..layers import activations
from ..layers.core import Activation
from ..layers.pooling import MaxPooling1D, MaxPooling2D


def _own(layer, method):
    """Whether ``layer`` has the fused form ``method`` and its ``call`` is the one written beside
    it: a user's subclass that overrides ``call`` runs its own code, never the fused form."""
    owner = next((c for c in type(layer).__mro__ if method in c.__dict__), None)
    return owner is not None and type(layer).call is owner.__dict__.get("call", owner.call)


def fusable(layer, then):
    """Whether ``layer`` followed by ``then`` runs as ``layer.call_relu``."""
    return (isinstance(then, Activation) and then.activation is activations.relu
            and getattr(then, "activity_regularizer", None) is None
            and _own(layer, "call_relu") and getattr(layer, "activation", None) is activations.linear
            and getattr(layer, "activity_regularizer", None) is None)


def sequential_steps(layers):
    """``[(layer, merged Activation or None)]`` for a stack of layers: each fusable pair once."""
    steps, i = [], 0
    while i < len(layers):
        layer = layers[i]
        then = layers[i + 1] if i + 1 < len(layers) else None
        if then is not None and fusable(layer, then):
            steps.append((layer, then))
            i += 2
        else:
            steps.append((layer, None))
            i += 1
    return steps


def _readers(nodes):
    """``{tensor uid: [the nodes that read it]}`` of a functional graph."""
    readers = {}
    for node in nodes:
        for t in node.parents():
            readers.setdefault(t.uid, []).append(node)
    return readers


def graph_pairs(nodes, outputs):
    """``{id(node): Activation node}`` for the nodes of a functional graph whose one output
    is read by a fusable Activation call alone (and is no model output)."""
    readers, outs = _readers(nodes), {t.uid for t in outputs}
    pairs = {}
    for node in nodes:
        if len(node.outputs) != 1 or node.kwargs:
            continue
        uid = node.outputs[0].uid
        found = readers.get(uid, [])
        if uid in outs or len(found) != 1:
            continue
        then = found[0]
        if then.inputs is node.outputs[0] and not then.kwargs and fusable(node.layer, then.layer):
            pairs[id(node)] = then
    return pairs


def pooled_steps(steps):
    """``{i: relu}`` for the steps (``sequential_steps``) that are a convolution, with or without
    its ReLU, whose output only a following max-pooling step with 'valid' windows reads: they
    run as ``layer.call_pooled``. ``relu``: whether the ReLU comes with it."""
    pairs = {}
    for i in range(len(steps) - 1):
        (layer, then), (pool, merged) = steps[i], steps[i + 1]
        relu = then is not None or getattr(layer, "activation", None) is activations.relu
        if merged is None and _pools(layer, pool) and (relu or getattr(layer, "activation", None) is activations.linear):
            pairs[i] = relu
    return pairs


def _pools(layer, pool):
    """Whether ``pool`` after ``layer`` can run in ``layer.call_pooled``."""
    return (_own(layer, "call_pooled") and type(pool) in (MaxPooling1D, MaxPooling2D) and pool.padding == "valid"
            and pool.rank == getattr(layer, "rank", None) and getattr(layer, "activity_regularizer", None) is None
            and getattr(pool, "activity_regularizer", None) is None)


def graph_pooled(nodes, outputs, pairs):
    """``{id(conv node): (pool node, relu, Activation node or None)}`` for the convolution nodes of
    a functional graph (with their ReLU: fused, or an ``Activation`` node merged by ``graph_pairs``)
    whose output a 'valid' max-pooling node alone reads, and no model output: in test mode the
    convolution, its ReLU and the pooling run as ``layer.call_pooled``."""
    readers, outs = _readers(nodes), {t.uid for t in outputs}
    found = {}
    for node in nodes:
        if len(node.outputs) != 1 or node.kwargs or not hasattr(node.layer, "call_pooled"):
            continue
        then = pairs.get(id(node))
        last = then if then is not None else node
        act = getattr(node.layer, "activation", None)
        relu = then is not None or act is activations.relu
        if not relu and act is not activations.linear:
            continue
        uid = last.outputs[0].uid
        pool = readers.get(uid, [])
        if uid in outs or len(pool) != 1 or pool[0].inputs is not last.outputs[0] or pool[0].kwargs:
            continue
        if _pools(node.layer, pool[0].layer):
            found[id(node)] = (pool[0], relu, then)
    return found
