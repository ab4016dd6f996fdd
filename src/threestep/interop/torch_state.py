"""threestep layers <-> PyTorch ``state_dict``s and modules.

Layouts and conventions converted:

- Dense kernel (in, out) <-> ``nn.Linear.weight`` (out, in).
- Conv kernels (*k, in, out) <-> ``nn.Conv1d/2d.weight`` (out, in, *k); channels_last
  activations become torch's channels-first ones inside ``to_torch`` (permutes are added).
- BatchNormalization: Keras ``momentum=m`` (moving = m*moving + (1-m)*batch) is torch
  ``momentum=1-m``; ``epsilon`` is ``eps``; gamma/beta/moving stats are
  weight/bias/running_mean/running_var.
- SimpleRNN/LSTM/GRU: kernels transposed; Keras has one input bias (GRU with
  ``reset_after=True`` two rows), torch two (``bias_ih``, ``bias_hh``): going to torch the
  recurrent bias is zero, coming back the two are summed. LSTM gates [i, f, c, o] are
  torch's [i, f, g, o]; GRU blocks [z, r, h] become torch's [r, z, n]. Only
  ``reset_after=True`` is torch's GRU (reset applied after the recurrent product).
- Embedding: the same table.

Example:
    >>> net = to_torch(model)                      # an equivalent nn.Sequential
    >>> sd = state_dict(model.layers[0])           # {"weight": ..., "bias": ...}
    >>> load_state_dict(model.layers[0], torch_linear.state_dict())
"""
from collections import OrderedDict

import numpy

from .. import backend
from ..errors import ConfigError, NotBuiltError
from ._deps import require


def _np(tensor):
    return backend.to_numpy(tensor.data)


def _kind(layer):
    return type(layer).__name__


def _require_built(layer):
    if not layer.built:
        raise NotBuiltError(f"Layer {layer.name!r} is not built; build it (call the model on data or give it an "
                            "input_shape) before converting its weights.")


def _gru_blocks(array, units):
    """Swap the first two gate blocks on the last axis: Keras [z, r, h] <-> torch [r, z, n]
    (the swap is its own inverse)."""
    a, b, c = (array[..., i * units:(i + 1) * units] for i in range(3))
    return numpy.concatenate([b, a, c], axis=-1)


# ---------------------------------------------------------------------- to torch
def _rnn_state(layer, suffix=""):
    units = layer.units
    kernel, recurrent = _np(layer.kernel), _np(layer.recurrent_kernel)
    if _kind(layer) == "LSTM" and getattr(layer, "peephole", None) is not None:
        raise ConfigError(f"LSTM {layer.name!r} has peepholes, which torch.nn.LSTM lacks.")
    if _kind(layer) == "GRU" and not layer.reset_after:
        raise ConfigError(f"GRU {layer.name!r} has reset_after=False (the reset gate before the recurrent product); "
                          "torch.nn.GRU applies it after (reset_after=True), so no torch GRU computes the same.")
    width = kernel.shape[1]
    bias = _np(layer.bias) if layer.bias is not None else numpy.zeros(width, kernel.dtype)
    bias_ih, bias_hh = (bias[0], bias[1]) if bias.ndim == 2 else (bias, numpy.zeros_like(bias))
    arrays = [kernel, recurrent, bias_ih, bias_hh]
    if _kind(layer) == "GRU":
        arrays = [_gru_blocks(a, units) for a in arrays]
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    return OrderedDict((n + suffix, a.T.copy() if a.ndim == 2 else a.copy()) for n, a in zip(names, arrays))


def state_dict_arrays(layer):
    """The torch ``state_dict`` of ``layer``'s torch twin, as NumPy arrays."""
    _require_built(layer)
    kind = _kind(layer)
    if kind == "Dense":
        out = OrderedDict(weight=_np(layer.kernel).T.copy())
    elif kind in ("Conv1D", "Conv2D", "Convolution1D", "Convolution2D"):
        kernel = _np(layer.kernel)
        out = OrderedDict(weight=numpy.transpose(kernel, (kernel.ndim - 1, kernel.ndim - 2) +
                                                 tuple(range(kernel.ndim - 2))).copy())
    elif kind == "BatchNormalization":
        return OrderedDict(weight=_np(layer.gamma).copy(), bias=_np(layer.beta).copy(),
                           running_mean=_np(layer.moving_mean).copy(), running_var=_np(layer.moving_variance).copy(),
                           num_batches_tracked=numpy.array(0, dtype=numpy.int64))
    elif kind == "Embedding":
        return OrderedDict(weight=_np(layer.embeddings).copy())
    elif kind in ("SimpleRNN", "LSTM", "GRU"):
        return _rnn_state(layer)
    elif kind == "Bidirectional":
        out = _rnn_state(layer.forward_layer)
        out.update(_rnn_state(layer.backward_layer, "_reverse"))
        return out
    elif kind == "PReLU":
        return OrderedDict(weight=_np(layer.alpha).reshape(-1).copy())
    else:
        raise ConfigError(f"Layer {layer.name!r} ({kind}) has no PyTorch counterpart in threestep.interop.torch_state "
                          "(Dense, Conv1D/2D, BatchNormalization, Embedding, SimpleRNN, LSTM, GRU, Bidirectional, "
                          "PReLU map).")
    if getattr(layer, "bias", None) is not None:
        out["bias"] = _np(layer.bias).copy()
    return out


def state_dict(layer):
    """``layer``'s weights as the ``state_dict`` of the equivalent torch module (torch tensors)."""
    torch = require("torch")
    return OrderedDict((k, torch.from_numpy(numpy.ascontiguousarray(v))) for k, v in state_dict_arrays(layer).items())


# ---------------------------------------------------------------------- from torch
def _arrays(state):
    """The state's values as NumPy arrays: torch tensors (CPU or CUDA) and NumPy or CuPy arrays are
    each moved to the host explicitly (a CuPy array refuses the implicit ``numpy.asarray``)."""
    out = {}
    for k, v in state.items():
        out[k] = v.detach().cpu().numpy() if hasattr(v, "detach") else backend.to_numpy(v)
    return out


def _set(tensor, value, layer, key):
    """Check ``value``'s shape against ``tensor`` and copy it onto the device the weights live on."""
    value = backend.to_numpy(value)
    if tuple(value.shape) != tuple(tensor.shape):
        raise ConfigError(f"Layer {layer.name!r}: torch {key!r} gives shape {tuple(value.shape)} but "
                          f"{tensor.name!r} has shape {tuple(tensor.shape)}.")
    tensor.data = backend.asarray(value, dtype=tensor.dtype)


def _take(state, key, layer):
    if key not in state:
        raise ConfigError(f"Layer {layer.name!r}: the state_dict has no {key!r} (keys: {sorted(state)}).")
    return state[key]


def _load_rnn(layer, state, suffix=""):
    units = layer.units
    w_ih, w_hh = _take(state, "weight_ih_l0" + suffix, layer).T, _take(state, "weight_hh_l0" + suffix, layer).T
    b_ih = state.get("bias_ih_l0" + suffix)
    b_hh = state.get("bias_hh_l0" + suffix)
    if _kind(layer) == "GRU":
        if not layer.reset_after:
            raise ConfigError(f"GRU {layer.name!r} has reset_after=False; torch.nn.GRU weights need reset_after=True.")
        w_ih, w_hh = _gru_blocks(w_ih, units), _gru_blocks(w_hh, units)
        b_ih, b_hh = (None if b is None else _gru_blocks(b, units) for b in (b_ih, b_hh))
    _set(layer.kernel, w_ih, layer, "weight_ih_l0" + suffix)
    _set(layer.recurrent_kernel, w_hh, layer, "weight_hh_l0" + suffix)
    if layer.bias is None:
        if b_ih is not None and (numpy.any(b_ih) or numpy.any(b_hh)):
            raise ConfigError(f"Layer {layer.name!r} has use_bias=False but the torch biases are not zero.")
        return
    zeros = numpy.zeros(layer.kernel.shape[1])
    b_ih = zeros if b_ih is None else b_ih
    b_hh = zeros if b_hh is None else b_hh
    bias = numpy.stack([b_ih, b_hh]) if len(layer.bias.shape) == 2 else b_ih + b_hh
    _set(layer.bias, bias, layer, "bias_ih_l0" + suffix)


def load_state_dict(layer, state):
    """Set a built threestep ``layer``'s weights from its torch twin's ``state_dict``."""
    _require_built(layer)
    state = _arrays(state)
    kind = _kind(layer)
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        return _load_rnn(layer, state)
    if kind == "Bidirectional":
        _load_rnn(layer.forward_layer, state)
        return _load_rnn(layer.backward_layer, state, "_reverse")
    if kind == "BatchNormalization":
        for key, option, neutral in (("weight", "scale", 1), ("bias", "center", 0)):
            if getattr(layer, option):
                _set(layer.gamma if key == "weight" else layer.beta, _take(state, key, layer), layer, key)
            elif key in state and not numpy.all(state[key] == neutral):  # torch's affine=False has neither key
                raise ConfigError(f"Layer {layer.name!r} has {option}=False (no {'gamma' if neutral else 'beta'}), "
                                  f"but the state_dict's {key!r} is not all {neutral}s: build the layer with "
                                  f"{option}=True to take it.")
        for key, tensor in (("running_mean", layer.moving_mean), ("running_var", layer.moving_variance)):
            _set(tensor, _take(state, key, layer), layer, key)
        return None
    if kind == "Embedding":
        return _set(layer.embeddings, _take(state, "weight", layer), layer, "weight")
    if kind == "PReLU":
        return _set(layer.alpha, numpy.broadcast_to(_take(state, "weight", layer).reshape(
            (1,) * (len(layer.alpha.shape) - 1) + (-1,)), layer.alpha.shape), layer, "weight")
    weight = _take(state, "weight", layer)
    if kind == "Dense":
        _set(layer.kernel, weight.T, layer, "weight")
    elif kind in ("Conv1D", "Conv2D", "Convolution1D", "Convolution2D"):
        nd = weight.ndim
        _set(layer.kernel, numpy.transpose(weight, tuple(range(2, nd)) + (1, 0)), layer, "weight")
    else:
        raise ConfigError(f"Layer {layer.name!r} ({kind}) has no PyTorch counterpart.")
    if layer.bias is not None:
        _set(layer.bias, _take(state, "bias", layer), layer, "bias")
    elif "bias" in state:
        raise ConfigError(f"Layer {layer.name!r} has use_bias=False but the state_dict has a 'bias'.")
    return None
