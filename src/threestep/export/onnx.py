"""``to_onnx``: a threestep model as an ONNX file, built with the ``onnx`` package.

The graph computes ``model.predict`` (inference: Dropout is the identity, BatchNormalization
uses its moving statistics) with a dynamic batch axis named ``batch``. The file is checked
with ``onnx.checker`` and written atomically.

Example:
    >>> from threestep.export import to_onnx
    >>> to_onnx(model, "model.onnx")          # then: onnxruntime.InferenceSession("model.onnx")
"""
import os

from .. import backend
from ..errors import ConfigError
from . import layers as conv
from .graph import GraphBuilder
from .recurrent import recurrent

_CONVERTERS = {
    "Dense": conv.dense, "Maxout": conv.maxout, "Conv1D": conv.conv, "Conv2D": conv.conv,
    "Convolution1D": conv.conv, "Convolution2D": conv.conv,
    "MaxPooling1D": conv.pool, "MaxPooling2D": conv.pool, "AveragePooling1D": conv.pool,
    "AveragePooling2D": conv.pool, "GlobalAveragePooling1D": conv.global_pool,
    "GlobalAveragePooling2D": conv.global_pool, "GlobalMaxPooling1D": conv.global_pool,
    "GlobalMaxPooling2D": conv.global_pool, "BatchNormalization": conv.batch_norm,
    "Activation": conv.activation_layer, "LeakyReLU": conv.activation_layer, "PReLU": conv.activation_layer,
    "ELU": conv.activation_layer, "ThresholdedReLU": conv.activation_layer, "Softmax": conv.activation_layer,
    "ReLU": conv.activation_layer, "Flatten": conv.flatten, "Reshape": conv.reshape, "Dropout": conv.identity,
    "InputLayer": conv.identity, "RepeatVector": conv.repeat_vector, "Embedding": conv.embedding,
    "TimeDistributed": conv.time_distributed, "SimpleRNN": recurrent, "LSTM": recurrent, "GRU": recurrent,
    "Bidirectional": recurrent, "Add": conv.merge, "Subtract": conv.merge, "Multiply": conv.merge,
    "Average": conv.merge, "Maximum": conv.merge, "Concatenate": conv.merge,
    "ZeroPadding1D": conv.zero_padding, "ZeroPadding2D": conv.zero_padding, "Cropping1D": conv.cropping,
    "Cropping2D": conv.cropping, "UpSampling1D": conv.upsampling, "UpSampling2D": conv.upsampling,
}


def supported_layers():
    """The layer class names ``to_onnx`` converts."""
    return sorted(_CONVERTERS)


def convert_layer(b, layer, x, state):
    kind = type(layer).__name__
    if kind not in _CONVERTERS:
        raise ConfigError(f"to_onnx: layer {layer.name!r} ({kind}) has no ONNX converter. Supported: "
                          f"{', '.join(supported_layers())}.")
    return _CONVERTERS[kind](b, layer, x, state)


def _elem_type(onnx, dtype):
    return onnx.TensorProto.DOUBLE if str(dtype) == "float64" else onnx.TensorProto.FLOAT


def _input_types(model, onnx, dtype):
    """INT64 for inputs read only by Embedding layers (word ids), the float type otherwise."""
    from ..models.sequential import Sequential  # noqa: PLC0415

    if isinstance(model, Sequential):
        first = model.layers[0] if model.layers else None
        return [onnx.TensorProto.INT64 if type(first).__name__ == "Embedding" else _elem_type(onnx, dtype)]
    types = []
    for t in model.inputs:
        readers = [n.layer for n in model._graph.nodes if any(p.uid == t.uid for p in n.parents())]
        ids = readers and all(type(r).__name__ == "Embedding" for r in readers)
        types.append(onnx.TensorProto.INT64 if ids else _elem_type(onnx, dtype))
    return types


def _build(model, b):
    """Add the model's nodes to ``b``; returns (input names, output names)."""
    from ..models.sequential import Sequential  # noqa: PLC0415

    if isinstance(model, Sequential):
        x = "input"
        state = {}
        for layer in model.layers:
            x = convert_layer(b, layer, x, state)
        return ["input"], [x]
    names = {t.uid: (t.name or f"input_{i}") for i, t in enumerate(model.inputs)}
    states = {}
    for node in model._graph.nodes:
        if node.kwargs:
            raise ConfigError(f"to_onnx: layer {node.layer.name!r} is called with {sorted(node.kwargs)}; only plain "
                              "calls are exported.")
        inputs = node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]
        x = [names[t.uid] for t in inputs]
        state = dict(states.get(inputs[0].uid, {})) if len(inputs) == 1 else {}
        out = convert_layer(b, node.layer, x if isinstance(node.inputs, (list, tuple)) else x[0], state)
        for t in node.outputs:
            names[t.uid] = out
            states[t.uid] = state
    return [names[t.uid] for t in model.inputs], [names[t.uid] for t in model.outputs]


def to_onnx(model, path, opset=17):
    """Write ``model`` (Sequential or functional, built) as an ONNX file and return the path.

    Args:
        model: a built threestep model.
        path: the ``.onnx`` file to write.
        opset: the ONNX opset (13 to 21; default 17).

    Raises ConfigError naming the first layer (or activation) that has no ONNX form, and
    ConfigError naming the extra when the ``onnx`` package is missing.
    """
    from ..saving.atomic import atomic_write  # noqa: PLC0415

    if not model.built:
        raise ConfigError(f"to_onnx: model {model.name!r} is not built; give its first layer an input_shape or "
                          "call it on data first.")
    dtype = backend.floatx() if not model.layers else model.layers[0].dtype
    b = GraphBuilder(int(opset), "float64" if str(dtype) == "float64" else "float32")
    onnx = b.onnx
    input_names, output_names = _build(model, b)
    in_shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    out_shapes = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    types = _input_types(model, onnx, dtype)
    inputs = [b.value_info(n, t, s) for n, t, s in zip(input_names, types, in_shapes)]
    outputs = []
    for i, (name, shape) in enumerate(zip(output_names, out_shapes)):
        final = f"output_{i}" if len(output_names) > 1 else "output"
        b.nodes.append(onnx.helper.make_node("Identity", [name], [final]))
        outputs.append(b.value_info(final, _elem_type(onnx, dtype), shape))
    proto = b.model(inputs, outputs, model.name or "threestep", f"threestep model {model.name!r}")
    with atomic_write(path) as stream:
        stream.write(proto.SerializeToString())
    return os.fspath(path)
