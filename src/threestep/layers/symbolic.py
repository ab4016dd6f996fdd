"""Symbolic tensors: how the functional API records a network without running it.

``Input(shape)`` returns a ``SymbolicTensor``; calling a layer on symbolic tensors builds
the layer for their shapes and returns new symbolic tensors that remember the call (a
``Node``). ``Model(inputs, outputs)`` then walks those nodes back from the outputs.
"""
import itertools

_uids = itertools.count()


class SymbolicTensor:
    """A placeholder with a shape (batch axis ``None``), produced by ``Input`` or a layer call."""

    is_symbolic = True  # Tensor's operators defer to this class's reflected ones

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node  # the Node that produced it (None for an Input)
        self.index = index  # which output of that node
        self.uid = next(_uids)
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        origin = f", from {self.node.layer.name!r}" if self.node is not None else f", Input {self.name!r}"
        return f"<SymbolicTensor shape={self.shape}{origin}>"

    def __len__(self):
        raise TypeError("A symbolic tensor has no length: it stands for a batch not seen yet.")

    def __iter__(self):
        raise TypeError("A symbolic tensor cannot be iterated: it stands for a batch not seen yet. Index it "
                        "(x[:, 0]) or split it in a Lambda layer.")

    # Arithmetic and indexing record graph nodes (as Keras tensors do): ``1 - K.square(z)``,
    # ``layer.output[:, :, :, 3]``; ``K.function`` and ``Model`` run them on data later.
    def _op(self, fn, *args):
        from .lambda_layer import symbolic_op  # noqa: PLC0415

        return symbolic_op(fn, *args)

    def __add__(self, other):
        return self._op(_binary("add"), self, other)

    def __radd__(self, other):
        return self._op(_binary("add"), other, self)

    def __sub__(self, other):
        return self._op(_binary("sub"), self, other)

    def __rsub__(self, other):
        return self._op(_binary("sub"), other, self)

    def __mul__(self, other):
        return self._op(_binary("mul"), self, other)

    def __rmul__(self, other):
        return self._op(_binary("mul"), other, self)

    def __truediv__(self, other):
        return self._op(_binary("div"), self, other)

    def __rtruediv__(self, other):
        return self._op(_binary("div"), other, self)

    def __pow__(self, other):
        return self._op(_binary("pow"), self, other)

    def __matmul__(self, other):
        return self._op(_binary("matmul"), self, other)

    def __neg__(self):
        return self._op(_negate, self)

    def __getitem__(self, key):
        return self._op(_index, self, key)


def _tensor(x, like):
    from ..autograd import as_tensor  # noqa: PLC0415

    return as_tensor(x, like if hasattr(like, "data") else None)


def _binary(name):
    def run(a, b):
        from .. import ops  # noqa: PLC0415

        like = a if hasattr(a, "data") else b
        return getattr(ops, name)(_tensor(a, like), _tensor(b, like))

    run.__name__ = name
    return run


def _negate(x):
    return -x


def _index(x, key):
    return x[key]


class Node:
    """One call of a layer in a functional graph: inputs, keyword tensors, outputs."""

    def __init__(self, layer, inputs, kwargs, outputs):
        self.layer = layer
        self.inputs = inputs  # a SymbolicTensor or a list of them (as passed)
        self.kwargs = kwargs  # e.g. {"initial_state": [h, c]} (symbolic) and plain values
        self.outputs = outputs  # list of SymbolicTensor

    def parents(self):
        """Every symbolic tensor this call reads (positional and keyword)."""
        found = list(flatten(self.inputs))
        for value in self.kwargs.values():
            found += [t for t in flatten(value) if isinstance(t, SymbolicTensor)]
        return found


def topological_nodes(outputs, known=()):
    """Every Node needed for ``outputs``, parents before children (no recursion); the walk
    stops at tensors whose uid is in ``known`` (values already at hand)."""
    order, state = [], {}
    # Outputs and parents are pushed last-first so that the first is ordered first, as Keras orders
    # layers (and so their weights: get_weights / set_weights match a Keras model's).
    stack = [(t.node, False) for t in reversed(outputs) if t.node is not None and t.uid not in known]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if state.get(node) != "done":
                state[node] = "done"
                order.append(node)
            continue
        if state.get(node) is not None:
            continue
        state[node] = "open"
        stack.append((node, True))
        for parent in reversed(node.parents()):
            if parent.node is not None and parent.uid not in known and state.get(parent.node) is None:
                stack.append((parent.node, False))
    return order


def flatten(structure):
    if isinstance(structure, (list, tuple)):
        for item in structure:
            yield from flatten(item)
    elif structure is not None:
        yield structure


def is_symbolic(structure):
    return any(isinstance(t, SymbolicTensor) for t in flatten(structure))


def shapes_of(structure):
    """Batch shapes of a tensor or a list of tensors (a list stays a list)."""
    if isinstance(structure, (list, tuple)):
        return [tuple(t.shape) for t in structure]
    return tuple(structure.shape)


def symbolic_call(layer, inputs, kwargs):
    """Build ``layer`` for the symbolic ``inputs`` and return its symbolic outputs."""
    layer.build_for(shapes_of(inputs), **{k: shapes_of(v) for k, v in kwargs.items() if is_symbolic(v)})
    out_shape = layer.output_shape
    multiple = isinstance(out_shape, list)
    node = Node(layer, inputs, kwargs, [])
    shapes = out_shape if multiple else [out_shape]
    node.outputs = [SymbolicTensor(s, layer.dtype, node, i) for i, s in enumerate(shapes)]
    result = node.outputs if multiple else node.outputs[0]
    inbound = getattr(layer, "_inbound", None)
    if inbound is not None:
        inbound.append((inputs, result))
    return result


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):
    """A symbolic input: ``x = Input((784,)); y = Dense(10)(x); Model(x, y)``.

    Also accepted as the first entry of ``Sequential([...])`` (Keras 3 style).
    """
    from .. import backend  # noqa: PLC0415
    from ..errors import ConfigError  # noqa: PLC0415
    from .base import unique_name  # noqa: PLC0415

    if shape is None and batch_shape is None:
        raise ConfigError("Input needs shape= (one sample's shape, e.g. Input((784,))) or batch_shape=.")
    full = tuple(batch_shape) if batch_shape is not None else (batch_size,) + tuple(shape)
    return SymbolicTensor(full, dtype or backend.floatx(), name=name or unique_name("input"))
