"""The functional API: ``Model(inputs, outputs)`` over a graph of layer calls.

    x = Input((784,))
    h = Dense(500, activation="relu")(x)
    y = Dense(10, activation="softmax")(h)
    model = Model(x, y)

Layers called on symbolic tensors record ``Node``s; the model orders them once
(iteratively, parents first) and its forward pass runs them in that order, feeding each
layer the values of its input tensors. A layer used twice shares its weights.
"""
from ..errors import ConfigError, ShapeError
from ..layers.base import carry_mask
from ..layers.symbolic import SymbolicTensor, flatten, topological_nodes
from .fusion import graph_pairs, graph_pooled


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class GraphNetwork:
    """The graph of a functional model: inputs, outputs, nodes in execution order."""

    def __init__(self, inputs, outputs):
        self.inputs = _as_list(inputs)
        self.outputs = _as_list(outputs)
        for t in self.inputs:
            if not isinstance(t, SymbolicTensor) or t.node is not None:
                raise ConfigError(f"Model inputs must come from Input(...); received {t!r}.")
        for t in self.outputs:
            if not isinstance(t, SymbolicTensor):
                raise ConfigError(f"Model outputs must be the results of layer calls; received {t!r}.")
        self.nodes = topological_nodes(self.outputs)
        known = {t.uid for t in self.inputs}
        for node in self.nodes:
            for parent in node.parents():
                if parent.uid not in known:
                    origin = "an Input not passed to Model" if parent.node is None else repr(parent.node.layer.name)
                    raise ConfigError(f"Model graph is disconnected: layer {node.layer.name!r} reads a tensor from "
                                      f"{origin}. Pass every Input the outputs depend on in Model(inputs=...).")
            known.update(t.uid for t in node.outputs)
        layers = []
        for node in self.nodes:
            if not any(existing is node.layer for existing in layers):
                layers.append(node.layer)
        names = [layer.name for layer in layers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"The name {repeated[0]!r} is used {names.count(repeated[0])} times in the model; all layer "
                              "names should be unique. Pass a different name= to one of those layers.")
        self.layers = layers
        self.extra = []  # symbolic loss terms from Model.add_loss, computed on every forward pass
        self.extra_values = []

    def add_extra(self, tensors):
        """Also compute ``tensors`` (symbolic, from this graph) on each forward pass."""
        self.extra = self.extra + list(tensors)
        self.nodes = topological_nodes(self.outputs + self.extra)

    def run(self, x, training, logits=False):
        """The forward pass on Tensors ``x`` (one per input)."""
        last = self.outputs[0].node if len(self.outputs) == 1 else None
        values = {}
        # a convolution and the max pooling after it as one op (ops.conv_pool; one graph node in training)
        for _ in self.steps(x, training, logits_node=last if logits else None, values=values, fuse=True, pool=True):
            pass
        self.extra_values = [values[t.uid] for t in self.extra]
        outs = [values[t.uid] for t in self.outputs]
        return outs if len(outs) > 1 else outs[0]

    def steps(self, x, training, logits_node=None, values=None, fuse=False, pool=False):
        """The forward pass one node at a time: yields ``(node, out)`` after each layer call,
        so a caller can stop at a hidden layer (``threestep.inspect``). ``logits_node`` stops
        before its activation; ``values`` (a dict, filled in) maps tensor uids to Tensors.
        ``fuse``: a layer whose output only an ``Activation("relu")`` reads runs with it as one
        node (``models.fusion``); the pair then yields once, as the activation's node. ``pool``:
        a convolution whose output only a max-pooling layer reads runs with it as one op
        (``ops.conv_pool``), yielded once as the pooling's node."""
        x = _as_list(x)
        if len(x) != len(self.inputs):
            raise ShapeError(f"The model has {len(self.inputs)} input(s) but received {len(x)}.")
        values = {} if values is None else values
        values.update({t.uid: v for t, v in zip(self.inputs, x)})

        def value(structure):
            if isinstance(structure, (list, tuple)):
                return [value(s) for s in structure]
            return values[structure.uid] if isinstance(structure, SymbolicTensor) else structure

        pairs = self._fusion_pairs() if fuse else {}
        pooled = self._pooled(pairs) if fuse and pool else {}
        merged = set()
        for node in self.nodes:
            if id(node) in merged:
                continue
            pool_node, relu, then = pooled.get(id(node), (None, False, None))
            if pool_node is not None and (logits_node is None or logits_node not in (pool_node, then)):
                out = node.layer.call_pooled(value(node.inputs), pool_node.layer, relu)
                if out is not None:  # None: the fused pass does not serve these inputs
                    merged.update({id(pool_node), id(then)})
                    out = values[pool_node.outputs[0].uid] = carry_mask(value(node.inputs), out)
                    yield pool_node, out
                    continue
            then = pairs.get(id(node))
            if then is not None and then is not logits_node:
                merged.add(id(then))
                out = carry_mask(value(node.inputs), node.layer.call_relu(value(node.inputs), training=training))
                values[then.outputs[0].uid] = out
                yield then, out
                continue
            kwargs = {k: value(v) for k, v in node.kwargs.items()}
            out = node.layer.invoke(value(node.inputs), training=training, logits=node is logits_node, **kwargs)
            if not isinstance(out, (list, tuple)) and not isinstance(node.inputs, (list, tuple)):
                out = carry_mask(value(node.inputs), out)
            for t, v in zip(node.outputs, out if isinstance(out, (list, tuple)) else [out]):
                values[t.uid] = v
            yield node, out

    def _fusion_pairs(self):
        if self.__dict__.get("_pairs") is None:
            self._pairs = graph_pairs(self.nodes, self.outputs)
        return self._pairs

    def _pooled(self, pairs):
        if self.__dict__.get("_pooled_nodes") is None:
            self._pooled_nodes = graph_pooled(self.nodes, self.outputs, pairs)
        return self._pooled_nodes

    # ------------------------------------------------------------------ config
    def get_config(self, name):
        from ..layers import serialize_layer  # noqa: PLC0415

        index = {}  # layer name -> its nodes, to name each call (layer, call number, output number)
        for node in self.nodes:
            index.setdefault(node.layer.name, []).append(node)

        def ref(t):
            if t.node is None:
                return ["input", self.inputs.index(t), 0, 0]
            return [t.node.layer.name, index[t.node.layer.name].index(t.node), t.index]

        def encode(structure):
            if isinstance(structure, (list, tuple)):
                return {"list": [encode(s) for s in structure]}
            if isinstance(structure, SymbolicTensor):
                return {"tensor": ref(structure)}
            return {"value": structure}

        layers = [{**serialize_layer(layer), "calls": [{"inputs": encode(n.inputs),
                                                        "kwargs": {k: encode(v) for k, v in n.kwargs.items()}}
                                                       for n in index[layer.name]]} for layer in self.layers]
        return {"name": name, "inputs": [{"shape": list(t.shape), "name": t.name} for t in self.inputs],
                "layers": layers, "outputs": [ref(t) for t in self.outputs]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..layers import deserialize_layer  # noqa: PLC0415
        from ..layers.symbolic import Input  # noqa: PLC0415

        inputs = [Input(batch_shape=tuple(spec["shape"]), name=spec["name"]) for spec in config["inputs"]]
        calls = {}  # layer name -> list of outputs (per call)

        def decode(item):
            if "list" in item:
                return [decode(i) for i in item["list"]]
            if "tensor" in item:
                name, call, out = item["tensor"][:3]
                if name == "input":
                    return inputs[call]
                outs = calls[name][call]
                return outs[out] if isinstance(outs, list) else outs
            return item["value"]

        pending = [(deserialize_layer({"class_name": s["class_name"], "config": s["config"]}, custom_objects), s)
                   for s in config["layers"]]
        # Calls were saved layer by layer; replay them in an order where every input exists.
        remaining = [(layer, i, call) for layer, spec in pending for i, call in enumerate(spec["calls"])]
        while remaining:
            progressed = False
            for item in list(remaining):
                layer, i, call = item
                try:
                    args = decode(call["inputs"])
                    kwargs = {k: decode(v) for k, v in call["kwargs"].items()}
                except (KeyError, IndexError):
                    continue
                if len(calls.get(layer.name, [])) != i:
                    continue
                calls.setdefault(layer.name, []).append(layer(args, **kwargs))
                remaining.remove(item)
                progressed = True
            if not progressed:
                raise ConfigError("Functional model config is inconsistent: some layer calls read missing tensors.")
        outputs = [decode({"tensor": ref}) if ref[0] != "input" else inputs[ref[1]] for ref in config["outputs"]]
        return inputs, outputs


def all_symbolic(structure):
    return all(isinstance(t, SymbolicTensor) for t in flatten(structure))
