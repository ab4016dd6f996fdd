"""One converter per layer kind: ``convert(builder, layer, x, state) -> output name``.

Tensors stay channels-last between layers, as in threestep; convolutions and pooling
transpose to ONNX's channels-first layout and back around their op. ``state`` carries the
sequence lengths an ``Embedding(mask_zero=True)`` produces (the count of non-zero ids,
exact for trailing padding) to the recurrent layer that consumes them.
"""
import math

import numpy

from .. import backend
from ..errors import ConfigError

_SIMPLE = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign",
           "exponential": "Exp", "selu": "Selu", "elu": "Elu", "hard_sigmoid": "HardSigmoid"}
_RNN_ACT = {"sigmoid": ("Sigmoid", None), "tanh": ("Tanh", None), "relu": ("Relu", None),
            "hard_sigmoid": ("HardSigmoid", (0.2, 0.5))}


def _np(tensor):
    return numpy.asarray(backend.to_numpy(tensor.data))


def activation(b, x, name, where):
    """The activation called ``name`` applied to ``x``."""
    if name in (None, "linear"):
        return x
    if name == "softmax":
        return b.add("Softmax", [x], axis=-1)
    if name in _SIMPLE:
        extra = {"alpha": 0.2, "beta": 0.5} if name == "hard_sigmoid" else {}
        return b.add(_SIMPLE[name], [x], **extra)
    if name in ("swish", "silu"):
        return b.add("Mul", [x, b.add("Sigmoid", [x])])
    if name == "relu6":
        return b.add("Clip", [x, b.const(0.0), b.const(6.0)])
    if name == "leaky_relu":
        return b.add("LeakyRelu", [x], alpha=0.2)
    raise ConfigError(f"to_onnx: {where}: activation {name!r} has no ONNX form here.")


def _act_name(layer):
    return getattr(layer, "output_activation", None)


# ---------------------------------------------------------------------- dense, conv, pooling
def dense(b, layer, x, state):
    bias = _np(layer.bias) if layer.bias is not None else None
    return activation(b, b.matmul_bias(x, _np(layer.kernel), bias), _act_name(layer), layer.name)


def maxout(b, layer, x, state):
    y = b.matmul_bias(x, _np(layer.kernel), _np(layer.bias) if layer.bias is not None else None)
    rank = len(layer.input_shape)
    y = b.reshape(y, [0] * (rank - 1) + [layer.pieces, layer.units])  # piece-major columns
    return b.reduce("ReduceMax", y, [rank - 1])


def _same_pads(size, k, s, d, padding, where):
    span = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    if size is None:
        raise ConfigError(f"to_onnx: {where}: padding='same' needs a known input size.")
    total = max((math.ceil(size / s) - 1) * s + span - size, 0)
    return total // 2, total - total // 2


def _to_first(b, x, rank):
    return b.transpose(x, [0, rank - 1] + list(range(1, rank - 1)))


def _to_last(b, x, rank):
    return b.transpose(x, [0] + list(range(2, rank)) + [1])


def _check_last(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ConfigError(f"to_onnx: layer {layer.name!r}: only channels_last layers are exported.")


def conv(b, layer, x, state):
    _check_last(layer)
    rank = len(layer.input_shape)
    spatial = layer.input_shape[1:-1]
    pads = [_same_pads(n, k, s, d, layer.padding, layer.name)
            for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate)]
    kernel = _np(layer.kernel)
    weight = numpy.transpose(kernel, (kernel.ndim - 1, kernel.ndim - 2) + tuple(range(kernel.ndim - 2)))
    inputs = [_to_first(b, x, rank), b.const(weight, "weight")]
    if layer.bias is not None:
        inputs.append(b.const(_np(layer.bias), "bias"))
    y = b.add("Conv", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
              dilations=list(layer.dilation_rate), pads=[p[0] for p in pads] + [p[1] for p in pads])
    return activation(b, _to_last(b, y, rank), _act_name(layer), layer.name)


def pool(b, layer, x, state):
    _check_last(layer)
    rank = len(layer.input_shape)
    pads = [_same_pads(n, k, s, 1, layer.padding, layer.name)
            for n, k, s in zip(layer.input_shape[1:-1], layer.pool_size, layer.strides)]
    op = "MaxPool" if layer.mode == "max" else "AveragePool"
    y = b.add(op, [_to_first(b, x, rank)], kernel_shape=list(layer.pool_size), strides=list(layer.strides),
              pads=[p[0] for p in pads] + [p[1] for p in pads])
    return _to_last(b, y, rank)


def global_pool(b, layer, x, state):
    _check_last(layer)
    rank = len(layer.input_shape)
    op = "ReduceMean" if "Average" in type(layer).__name__ else "ReduceMax"
    return b.reduce(op, x, list(range(1, rank - 1)), keepdims=getattr(layer, "keepdims", False))


def batch_norm(b, layer, x, state):
    scale = _np(layer.gamma) / numpy.sqrt(_np(layer.moving_variance) + layer.epsilon)
    shift = _np(layer.beta) - _np(layer.moving_mean) * scale
    rank = len(layer.input_shape)
    axis = layer.axis % rank
    shape = [-1] + [1] * (rank - 1 - axis)
    return b.add("Add", [b.add("Mul", [x, b.const(scale.reshape(shape), "bn_scale")]),
                         b.const(shift.reshape(shape), "bn_shift")])


# ---------------------------------------------------------------------- activation layers
def activation_layer(b, layer, x, state):
    kind = type(layer).__name__
    if kind == "Activation":
        return activation(b, x, _act_name(layer), layer.name)
    if kind == "LeakyReLU":
        return b.add("LeakyRelu", [x], alpha=layer.alpha)
    if kind == "ELU":
        return b.add("Elu", [x], alpha=layer.alpha)
    if kind == "ThresholdedReLU":
        return b.add("ThresholdedRelu", [x], alpha=layer.theta)
    if kind == "Softmax":
        return b.add("Softmax", [x], axis=layer.axis)
    if kind == "PReLU":
        return b.add("PRelu", [x, b.const(_np(layer.alpha), "slope")])
    # ReLU(max_value, negative_slope, threshold)
    if layer.max_value is None and not layer.negative_slope and not layer.threshold:
        return b.add("Relu", [x])
    t = b.const(layer.threshold)
    below = b.add("Mul", [b.add("Sub", [x, t]), b.const(layer.negative_slope)])
    y = b.add("Where", [b.add("GreaterOrEqual", [x, t]), x, below])
    return y if layer.max_value is None else b.add("Min", [y, b.const(layer.max_value)])


# ---------------------------------------------------------------------- shapes and merges
def flatten(b, layer, x, state):
    return b.add("Flatten", [x], axis=1)


def reshape(b, layer, x, state):
    return b.reshape(x, [-1 if layer.input_shape[0] is None else layer.input_shape[0]] + list(layer.target_shape)) \
        if -1 not in layer.target_shape else b.reshape(x, [0] + list(layer.target_shape))


def identity(b, layer, x, state):
    return x


def repeat_vector(b, layer, x, state):
    y = b.add("Unsqueeze", [x, b.ints([1], "axes")])
    return b.add("Tile", [y, b.ints([1, layer.n, 1], "repeats")])


def merge(b, layer, xs, state):
    kind = type(layer).__name__
    if kind == "Concatenate":
        return b.add("Concat", xs, axis=layer.axis)
    if kind == "Subtract":
        return b.add("Sub", xs)
    op = {"Add": "Sum", "Average": "Mean", "Maximum": "Max"}.get(kind)
    if op:
        return b.add(op, xs)
    y = xs[0]  # Multiply
    for other in xs[1:]:
        y = b.add("Mul", [y, other])
    return y


def embedding(b, layer, x, state):
    ids = b.add("Cast", [x], to=b.onnx.TensorProto.INT64)
    if layer.mask_zero:
        nonzero = b.add("Cast", [b.add("Not", [b.add("Equal", [ids, b.const(numpy.int64(0), dtype=numpy.int64)])])],
                        to=b.onnx.TensorProto.INT32)
        state["sequence_lens"] = b.add("ReduceSum", [nonzero, b.ints([1], "axes")], keepdims=0)
    return b.add("Gather", [b.const(_np(layer.embeddings), "embeddings"), ids], axis=0)


def time_distributed(b, layer, x, state):
    from .onnx import convert_layer  # noqa: PLC0415

    inner = layer.layer
    if type(inner).__name__ == "Dense":
        return dense(b, inner, x, state)  # MatMul broadcasts over (batch, time)
    steps = layer.input_shape[1]
    if steps is None:
        raise ConfigError(f"to_onnx: TimeDistributed {layer.name!r} needs a known number of time steps.")
    flat = b.reshape(x, [-1] + list(layer.input_shape[2:]))
    y = convert_layer(b, inner, flat, {})
    return b.reshape(y, [-1, steps] + list(inner.output_shape[1:]))


def _spatial_pairs(layer, pairs):
    _check_last(layer)
    return [(0, 0)] + list(pairs) + [(0, 0)]


def zero_padding(b, layer, x, state):
    pairs = _spatial_pairs(layer, layer.padding)
    return b.add("Pad", [x, b.ints([p[0] for p in pairs] + [p[1] for p in pairs], "pads")])


def cropping(b, layer, x, state):
    pairs = list(layer.cropping)
    _check_last(layer)
    axes = list(range(1, len(pairs) + 1))
    ends = [-hi if hi else 2**62 for _, hi in pairs]
    return b.add("Slice", [x, b.ints([lo for lo, _ in pairs]), b.ints(ends), b.ints(axes)])


def upsampling(b, layer, x, state):
    _check_last(layer)
    scales = [1.0] + [float(s) for s in layer.size] + [1.0]
    return b.add("Resize", [x, "", b.const(numpy.asarray(scales, numpy.float32), "scales", dtype=numpy.float32)],
                 mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
