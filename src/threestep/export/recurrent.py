"""SimpleRNN / LSTM / GRU / Bidirectional as ONNX's RNN, LSTM and GRU operators.

Gate orders: Keras LSTM blocks [i, f, c, o] become ONNX's [i, o, f, c]; Keras GRU blocks
[z, r, h] are ONNX's [z, r, h] already, and ``reset_after=True`` is ONNX's
``linear_before_reset=1`` (``False`` is 0). Keras keeps one input bias (GRU with
reset_after two rows); ONNX's recurrent bias half is then zero. The ops run time-major, so
the input is transposed to (time, batch, features) and the outputs back.
"""
import numpy

from ..errors import ConfigError
from .layers import _RNN_ACT, _np


def _blocks(array, units, order):
    parts = [array[..., i * units:(i + 1) * units] for i in range(len(order))]
    return numpy.concatenate([parts[i] for i in order], axis=-1)


def _direction_weights(layer):
    kind = type(layer).__name__
    units = layer.units
    kernel, recurrent = _np(layer.kernel), _np(layer.recurrent_kernel)
    width = kernel.shape[1]
    bias = _np(layer.bias) if layer.bias is not None else numpy.zeros(width, kernel.dtype)
    b_in, b_rec = (bias[0], bias[1]) if bias.ndim == 2 else (bias, numpy.zeros_like(bias))
    if kind == "LSTM":
        order = [0, 3, 1, 2]
        kernel, recurrent, b_in, b_rec = (_blocks(a, units, order) for a in (kernel, recurrent, b_in, b_rec))
    return kernel.T, recurrent.T, numpy.concatenate([b_in, b_rec])


def _activations(layer, where):
    kind = type(layer).__name__
    if kind == "SimpleRNN":
        names = [layer.activation_name]
    else:  # ONNX: gates (f), candidate (g) and, for LSTM, the cell output (h)
        names = [layer.recurrent_activation, layer.activation_name]
        names += [layer.activation_name] if kind == "LSTM" else []
    ops, alphas, betas = [], [], []
    for name in names:
        if name not in _RNN_ACT:
            raise ConfigError(f"to_onnx: {where}: activation {name!r} has no ONNX recurrent form "
                              f"({', '.join(_RNN_ACT)} do).")
        op, params = _RNN_ACT[name]
        ops.append(op)
        if params:
            alphas.append(params[0])
            betas.append(params[1])
    extra = {"activation_alpha": alphas, "activation_beta": betas} if alphas else {}
    if alphas and len(alphas) != len(ops):
        raise ConfigError(f"to_onnx: {where}: hard_sigmoid mixed with other activations is not exported.")
    return ops, extra


def recurrent(b, layer, x, state):
    kind = type(layer).__name__
    bidirectional = kind == "Bidirectional"
    cells = [layer.forward_layer, layer.backward_layer] if bidirectional else [layer]
    inner = cells[0]
    cell_kind = type(inner).__name__
    where = f"layer {layer.name!r}"
    if cell_kind not in ("SimpleRNN", "LSTM", "GRU"):
        raise ConfigError(f"to_onnx: {where}: {cell_kind} has no ONNX operator.")
    if inner.return_state or getattr(inner, "peephole", None) is not None:
        raise ConfigError(f"to_onnx: {where}: return_state and LSTM peepholes are not exported.")
    if bidirectional and layer.merge_mode is None:
        raise ConfigError(f"to_onnx: {where}: merge_mode=None (two outputs) is not exported.")
    weights = [_direction_weights(cell) for cell in cells]
    w, r, bias = (numpy.stack([wt[i] for wt in weights]) for i in range(3))
    ops, extra = _activations(inner, where)
    if bidirectional:
        ops, extra = ops * 2, {k: v * 2 for k, v in extra.items()}
    seq = b.transpose(x, [1, 0, 2])
    lens = state.pop("sequence_lens", None)
    if inner.go_backwards and not bidirectional:
        if lens is not None:
            raise ConfigError(f"to_onnx: {where}: go_backwards with a mask is not exported.")
        seq = b.add("Slice", [seq, b.ints([-1]), b.ints([-2**62]), b.ints([0]), b.ints([-1])])
    inputs = [seq, b.const(w, "W"), b.const(r, "R"), b.const(bias, "B"), lens or ""]
    attrs = {"hidden_size": inner.units, "direction": "bidirectional" if bidirectional else "forward",
             "activations": ops, **extra}
    op = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[cell_kind]
    if op == "GRU":
        attrs["linear_before_reset"] = int(inner.reset_after)
    if lens is None:
        inputs = inputs[:4]
    y, y_h = b.add(op, inputs, outputs=3 if op == "LSTM" else 2, **attrs)[:2]
    mode = layer.merge_mode if bidirectional else "concat"
    if inner.return_sequences:
        y = b.transpose(y, [2, 0, 1, 3])  # (batch, time, directions, units)
        if lens is not None:
            state["sequence_lens"] = lens  # the mask goes on with the sequence
        return _merge(b, y, mode, 2, [0, 0, -1])
    y_h = b.transpose(y_h, [1, 0, 2])  # (batch, directions, units)
    return _merge(b, y_h, mode, 1, [0, -1])


def _merge(b, y, mode, axis, concat_shape):
    if mode == "concat":
        return b.reshape(y, concat_shape)
    op = {"sum": "ReduceSum", "ave": "ReduceMean", "mul": "ReduceProd"}[mode]
    return b.reduce(op, y, [axis])
