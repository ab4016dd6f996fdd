"""Keras model configs (Sequential and functional) <-> threestep models.

Reading builds the threestep model layer by layer; before each layer is built its weight
count is estimated and charged to a budget (the number of weights the file really holds),
so a config declaring ``Dense(10**12)`` fails before anything is allocated.
"""
from ..errors import ConfigError, ModelFileError, ShapeError
from .keras_layers import estimate_params, layer_from_keras, layer_to_keras


# The model classes, handed over by ``threestep.models`` when it is imported: interop sits
# below models (it turns files into layers and weights), so it builds models with the classes
# it is given instead of importing the room above it.
_MODEL_TYPES = {}


def use_model_classes(sequential, model):
    """Called once by ``threestep.models``: the classes this room builds models with."""
    _MODEL_TYPES.update(Sequential=sequential, Model=model)


def model_class(name):
    """``Sequential`` or ``Model`` as registered by ``threestep.models`` (imported on demand)."""
    if name not in _MODEL_TYPES:
        import importlib  # noqa: PLC0415  (importing the package registers the classes)

        importlib.import_module("threestep.models")
    return _MODEL_TYPES[name]


def is_sequential(model):
    """Whether ``model`` is a Sequential model (its layers are its structure)."""
    return isinstance(model, model_class("Sequential"))

MODEL_CLASSES = ("Sequential", "Functional", "Model")


class Budget:
    """Counts the weights a config will allocate against what the file holds."""

    def __init__(self, limit, where):
        self.limit, self.used, self.where = limit, 0, where

    def charge(self, layer, shape):
        if self.limit is None:
            return
        self.used += estimate_params(layer, shape)
        if self.used > self.limit:
            raise ModelFileError(f"{self.where}: the model config declares more weights (at least {self.used:,} "
                                 f"numbers, up to layer {layer.name!r}) than the file holds ({self.limit:,}); the "
                                 "file is corrupt or hostile.")


def _tuple_shape(shape, where):
    if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int) and 0 <= d < 2**31
                                                       for d in shape):
        raise ModelFileError(f"{where}: invalid input shape {str(shape)[:100]}.")
    return tuple(shape)


def model_from_keras(spec, custom_objects=None, where="Keras file", budget=None):
    """A threestep model from a Keras ``{"class_name", "config"}`` model spec."""
    custom_objects = dict(custom_objects or {})
    budget = budget or Budget(None, where)
    if not isinstance(spec, dict) or spec.get("class_name") not in MODEL_CLASSES:
        name = spec.get("class_name") if isinstance(spec, dict) else type(spec).__name__
        raise ModelFileError(f"{where}: the model class {name!r} is not one threestep reads "
                             f"({', '.join(MODEL_CLASSES)}).")
    config = spec.get("config")
    try:
        if spec["class_name"] == "Sequential":
            return _sequential(config, custom_objects, where, budget)
        return _functional(config, custom_objects, where, budget)
    except (ConfigError, ShapeError, TypeError, KeyError, IndexError, AttributeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where}: cannot rebuild the model from its config: "
                             f"{type(exc).__name__}: {exc}") from None


def _nested(spec, custom_objects, where, budget):
    """A nested model's entry (a model called as a layer) as a threestep model; None for a layer."""
    if isinstance(spec, dict) and spec.get("class_name") in MODEL_CLASSES:
        return model_from_keras(spec, custom_objects, where, budget)
    return None


def _sequential(config, custom_objects, where, budget):
    from ..layers.core import InputLayer  # noqa: PLC0415

    Sequential = model_class("Sequential")  # noqa: N806

    layer_specs = config if isinstance(config, list) else config["layers"]  # Keras 2.0-2.1 wrote a bare list
    name = None if isinstance(config, list) else config.get("name")
    model = Sequential(name=name)
    shape = None
    for spec in layer_specs:
        cfg = spec.get("config") or {}
        if spec.get("class_name") == "InputLayer":
            shape = _tuple_shape(cfg.get("batch_input_shape") or cfg.get("batch_shape"), where)
            model.add(InputLayer(batch_input_shape=shape, name=cfg.get("name")))
            continue
        nested = _nested(spec, custom_objects, where, budget)
        if nested is not None:
            model.add(nested)
            shape = nested.output_shape if nested.built else None
            continue
        layer = layer_from_keras(spec, custom_objects, where)
        if shape is None and layer.batch_input_shape is not None:
            shape = _tuple_shape(layer.batch_input_shape, where)
        if shape is not None:
            budget.charge(layer, shape)
        model.add(layer)
        shape = layer.output_shape if layer.built else None
    build_shape = None if isinstance(config, list) else (config.get("build_input_shape"))
    if not model.built and build_shape:
        shape = _tuple_shape(build_shape, where)
        for layer in model.layers:  # charge every layer before build allocates anything
            budget.charge(layer, shape)
            shape = tuple(layer.compute_output_shape(shape))
        model.build(_tuple_shape(build_shape, where))
    return model


def _node_refs(node):
    """The inbound tensors of one call: [(layer, node, tensor)], from Keras 2 or Keras 3 configs."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        refs = []

        def walk(obj):
            if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
                refs.append(tuple(obj["config"]["keras_history"]))
            elif isinstance(obj, (list, tuple)):
                for item in obj:
                    walk(item)
        walk(node.get("args", []))
        extra = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None and k not in ("training",)}
        return refs, extra, isinstance((node.get("args") or [None])[0], list)
    refs = [tuple(entry[:3]) for entry in node]
    extra = {}
    for entry in node:
        if len(entry) > 3 and entry[3]:
            extra.update({k: v for k, v in entry[3].items() if k not in ("training", "mask") or v})
    return refs, extra, len(refs) > 1


def _io_refs(value):
    if value and isinstance(value[0], str):  # Keras 3 writes a single [name, node, tensor]
        value = [value]
    return [tuple(v[:3]) for v in value]


def _functional(config, custom_objects, where, budget):
    from ..layers.symbolic import Input  # noqa: PLC0415

    Model = model_class("Model")  # noqa: N806

    outputs = {}  # (layer name, node index) -> list of symbolic outputs
    pending = []
    for spec in config["layers"]:
        cfg = spec.get("config") or {}
        name = spec.get("name") or cfg.get("name")
        if spec.get("class_name") == "InputLayer":
            shape = _tuple_shape(cfg.get("batch_input_shape") or cfg.get("batch_shape"), where)
            outputs[(name, 0)] = [Input(batch_shape=shape, name=name)]
            continue
        layer = _nested(spec, custom_objects, where, budget)
        if layer is None:
            layer = layer_from_keras(spec, custom_objects, where)
            layer.batch_input_shape = None  # a functional layer takes its shape from its inbound tensors
        pending += [(layer, name, i, node) for i, node in enumerate(spec.get("inbound_nodes") or [])]
    while pending:
        progressed = False
        for item in list(pending):
            layer, name, index, node = item
            refs, extra, as_list = _node_refs(node)
            if extra:
                raise ModelFileError(f"{where}: layer {name!r} is called with arguments {sorted(extra)}, which "
                                     "threestep cannot rebuild from a Keras file.")
            if (name, index - 1) not in outputs and index > 0 or any((r[0], r[1]) not in outputs for r in refs):
                continue
            args = [outputs[(r[0], r[1])][r[2]] for r in refs]
            args = args if as_list or len(args) > 1 else args[0]
            if not layer.built:
                budget.charge(layer, tuple(args.shape) if not isinstance(args, list) else None)
            result = layer(args)
            outputs[(name, index)] = result if isinstance(result, list) else [result]
            pending.remove(item)
            progressed = True
        if not progressed:
            raise ModelFileError(f"{where}: the functional graph is inconsistent: layers "
                                 f"{sorted({p[1] for p in pending})} read tensors no layer produces.")

    def lookup(ref):
        if (ref[0], ref[1]) not in outputs:
            raise ModelFileError(f"{where}: the model's inputs/outputs name an unknown layer {ref[0]!r}.")
        return outputs[(ref[0], ref[1])][ref[2]]

    inputs = [lookup(r) for r in _io_refs(config["input_layers"])]
    outs = [lookup(r) for r in _io_refs(config["output_layers"])]
    return Model(inputs if len(inputs) > 1 else inputs[0], outs if len(outs) > 1 else outs[0], name=config.get("name"))


# ---------------------------------------------------------------------- threestep -> Keras
def model_to_keras(model, where="save"):
    """The Keras model spec (``{"class_name", "config"}``) of a threestep model, as tf-keras reads it."""

    if not model.built:
        raise ModelFileError(f"{where}: model {model.name!r} is not built; build it (give the first layer an "
                             "input_shape) before saving it as a Keras file.")
    if is_sequential(model):
        first = {"class_name": "InputLayer",
                 "config": {"batch_input_shape": list(model.input_shape), "dtype": "float32", "sparse": False,
                            "ragged": False, "name": f"{model.layers[0].name}_input" if model.layers else "input"}}
        layers = [first] + [layer_to_keras(layer, where) for layer in model.layers]
        return {"class_name": "Sequential", "config": {"name": model.name, "layers": layers}}
    graph = model._graph
    calls = {}
    for node in graph.nodes:
        calls.setdefault(node.layer.name, []).append(node)

    def ref(t):
        if t.node is None:
            return [t.name, 0, 0, {}]
        return [t.node.layer.name, calls[t.node.layer.name].index(t.node), t.index, {}]

    layers = [{"class_name": "InputLayer", "name": t.name, "inbound_nodes": [],
               "config": {"batch_input_shape": list(t.shape), "dtype": "float32", "sparse": False, "ragged": False,
                          "name": t.name}} for t in graph.inputs]
    for layer in keras_layer_order(model):
        spec = layer_to_keras(layer, where)
        nodes = []
        for node in calls[layer.name]:
            if node.kwargs:
                raise ModelFileError(f"{where}: layer {layer.name!r} is called with {sorted(node.kwargs)}; only "
                                     "plain calls can be written as a Keras model.")
            inputs = node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]
            nodes.append([ref(t) for t in inputs])
        spec["config"].pop("batch_input_shape", None)
        layers.append({**spec, "name": layer.name, "inbound_nodes": nodes})
    return {"class_name": "Functional",
            "config": {"name": model.name, "trainable": True, "layers": layers,
                       "input_layers": [ref(t)[:3] for t in graph.inputs],
                       "output_layers": [ref(t)[:3] for t in graph.outputs]}}


def keras_layer_order(model):
    """The layers of a functional model in the order Keras lists them (``model.layers``):
    by decreasing depth from the outputs, ties in the order a depth-first walk from the
    outputs first met them. Keras numbers the weight groups of ``.keras`` files this way.
    A subclassed model has no graph: its layers in the order it set them, as Keras lists them."""
    graph = model._graph
    if graph is None:
        return list(model.layers)
    finished, order, layer_index = set(), [], {}
    for out in graph.outputs:  # iterative post-order walk from each output
        stack = [(out.node, False)] if out.node is not None else []
        while stack:
            node, done = stack.pop()
            if done:
                if node not in finished:
                    finished.add(node)
                    order.append(node)
                    layer_index.setdefault(node.layer.name, len(layer_index))
                continue
            if node in finished:
                continue
            stack.append((node, True))
            parents = [p.node for p in node.parents() if p.node is not None]
            stack.extend((p, False) for p in reversed(parents))
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer.name, 0))
        layer_depth[node.layer.name] = depth
        node_depth[node] = depth
        for parent in node.parents():
            if parent.node is not None:
                node_depth[parent.node] = max(depth + 1, node_depth.get(parent.node, 0))
    by_depth = {}
    for layer in graph.layers:
        by_depth.setdefault(layer_depth[layer.name], []).append(layer)
    return [layer for depth in sorted(by_depth, reverse=True)
            for layer in sorted(by_depth[depth], key=lambda item: layer_index[item.name])]
