"""``to_torch``: a built threestep layer or Sequential model as an equivalent ``torch.nn`` module.

threestep (like Keras) keeps channels last; torch convolutions, pooling and batch norm
want channels first. ``to_torch`` tracks the layout as it walks the layers and inserts a
permute where the next module needs the other one, so the returned ``nn.Sequential``
takes and returns exactly what ``model.predict`` does.

Example:
    >>> net = to_torch(model).double().eval()
    >>> net(torch.from_numpy(x))   # == model.predict(x)
"""
import functools

from ..errors import ConfigError
from ._deps import require
from .torch_state import state_dict

_ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "elu": "ELU", "selu": "SELU",
                "softplus": "Softplus", "softsign": "Softsign", "swish": "SiLU", "silu": "SiLU", "relu6": "ReLU6"}


@functools.lru_cache(maxsize=1)
def _helpers():
    """Small torch modules torch.nn lacks (made on first use: torch is optional)."""
    nn = require("torch").nn

    class Permute(nn.Module):
        def __init__(self, *dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return x.permute(*self.dims)

    class Reshape(nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x):
            return x.reshape((x.shape[0],) + self.shape)

    class GlobalPool(nn.Module):
        def __init__(self, mode, dims):
            super().__init__()
            self.mode, self.dims = mode, tuple(dims)

        def forward(self, x):
            return x.mean(dim=self.dims) if self.mode == "avg" else x.amax(dim=self.dims)

    class Recurrent(nn.Module):
        """Wraps nn.RNN/LSTM/GRU (batch_first) to return what the Keras layer returns."""

        def __init__(self, rnn, return_sequences):
            super().__init__()
            self.rnn, self.return_sequences = rnn, return_sequences

        def forward(self, x):
            out, h = self.rnn(x)
            if self.return_sequences:
                return out
            h = h[0] if isinstance(h, tuple) else h  # LSTM: (h_n, c_n)
            return h.permute(1, 0, 2).reshape(x.shape[0], -1)  # [forward, backward] final states

    return Permute, Reshape, GlobalPool, Recurrent


def _activation(name, where):
    nn = require("torch").nn
    if name in (None, "linear"):
        return []
    if name == "softmax":
        return [nn.Softmax(dim=-1)]
    if name not in _ACTIVATIONS:
        raise ConfigError(f"{where}: activation {name!r} has no torch.nn module here.")
    return [getattr(nn, _ACTIVATIONS[name])()]


def _load(module, layer):
    module.load_state_dict(state_dict(layer), strict=True)
    return module


def _conv(layer, nn):
    rank = layer.rank
    cls = nn.Conv1d if rank == 1 else nn.Conv2d
    padding = 0 if layer.padding in ("valid", "causal") else "same"
    if padding == "same" and any(s != 1 for s in layer.strides):
        raise ConfigError(f"Conv layer {layer.name!r}: padding='same' with strides {layer.strides} has no torch.nn "
                          "equivalent (torch's 'same' needs stride 1).")
    conv = _load(cls(layer.kernel.shape[-2], layer.filters, layer.kernel_size, stride=layer.strides, padding=padding,
                     dilation=layer.dilation_rate, bias=layer.use_bias).to(_dtype(layer)), layer)
    if layer.padding == "causal":
        return [nn.ConstantPad1d(((layer.kernel_size[0] - 1) * layer.dilation_rate[0], 0), 0.0), conv]
    return [conv]


def _dtype(layer):
    torch = require("torch")
    return torch.float64 if str(layer.dtype) == "float64" else torch.float32


def _recurrent(layer, nn, Recurrent):
    inner = layer.forward_layer if type(layer).__name__ == "Bidirectional" else layer
    kind = type(inner).__name__
    if type(layer).__name__ == "Bidirectional" and layer.merge_mode != "concat":
        raise ConfigError(f"Bidirectional {layer.name!r}: only merge_mode='concat' is torch's bidirectional output.")
    if inner.go_backwards or inner.return_state or inner.dropout:
        raise ConfigError(f"{kind} {inner.name!r}: go_backwards, return_state and dropout have no torch.nn form here.")
    kwargs = dict(input_size=inner.kernel.shape[0], hidden_size=inner.units, batch_first=True,
                  bidirectional=type(layer).__name__ == "Bidirectional", bias=True)
    if kind == "SimpleRNN":
        if inner.activation_name not in ("tanh", "relu"):
            raise ConfigError(f"SimpleRNN {inner.name!r}: torch.nn.RNN has tanh or relu, not "
                              f"{inner.activation_name!r}.")
        rnn = nn.RNN(nonlinearity=inner.activation_name, **kwargs)
    else:
        if inner.activation_name != "tanh" or inner.recurrent_activation != "sigmoid":
            raise ConfigError(f"{kind} {inner.name!r}: torch's {kind} uses tanh and sigmoid.")
        rnn = (nn.LSTM if kind == "LSTM" else nn.GRU)(**kwargs)
    rnn = rnn.to(_dtype(inner))
    rnn.load_state_dict(state_dict(layer), strict=True)
    return Recurrent(rnn, inner.return_sequences)


def to_torch(model):
    """An ``nn.Sequential`` computing what the built threestep Sequential ``model`` (or a single
    built layer) computes at inference. Raises ConfigError naming the first layer that has no
    torch form."""
    torch = require("torch")
    nn = torch.nn
    Permute, Reshape, GlobalPool, Recurrent = _helpers()
    layers = model.layers if hasattr(model, "layers") and not hasattr(model, "call") else [model]
    modules, first = [], False  # first: the running tensor is channels-first (torch's conv layout)

    def layout(want_first, rank):
        nonlocal first
        if rank < 3 or want_first == first:
            return
        modules.append(Permute(0, rank - 1, *range(1, rank - 1)) if want_first else Permute(0, *range(2, rank), 1))
        first = want_first

    for layer in layers:
        kind = type(layer).__name__
        rank = len(layer.input_shape) if layer.input_shape else 2
        where = f"layer {layer.name!r} ({kind})"
        if getattr(layer, "data_format", "channels_last") == "channels_first":
            raise ConfigError(f"{where}: channels_first layers are not converted; use channels_last.")
        if kind in ("Dense",):
            layout(False, rank)
            modules.append(_load(nn.Linear(layer.kernel.shape[0], layer.units, bias=layer.use_bias)
                                 .to(_dtype(layer)), layer))
            modules += _activation(layer.output_activation, where)
        elif kind in ("Conv1D", "Conv2D", "Convolution1D", "Convolution2D"):
            layout(True, rank)
            modules += _conv(layer, nn) + _activation(layer.output_activation, where)
        elif kind == "BatchNormalization":
            if layer.axis not in (-1, rank - 1):
                raise ConfigError(f"{where}: only axis=-1 (the channels) converts.")
            layout(True, rank)
            cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
            modules.append(_load(cls(layer.gamma.shape[0], eps=layer.epsilon, momentum=1 - layer.momentum)
                                 .to(_dtype(layer)), layer))
        elif kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
            if layer.padding != "valid":
                raise ConfigError(f"{where}: padding='same' pooling has no torch.nn form here.")
            layout(True, rank)
            cls = getattr(nn, ("MaxPool" if kind.startswith("Max") else "AvgPool") + kind[-2:].lower())
            modules.append(cls(layer.pool_size, stride=layer.strides))
        elif kind.startswith("Global"):
            if getattr(layer, "keepdims", False):
                raise ConfigError(f"{where}: keepdims=True is not converted.")
            modules.append(GlobalPool("avg" if "Average" in kind else "max",
                                      range(2, rank) if first else range(1, rank - 1)))
            first = False
        elif kind == "Flatten":
            layout(False, rank)
            modules.append(nn.Flatten())
        elif kind == "Reshape":
            layout(False, rank)
            modules.append(Reshape(layer.target_shape))
        elif kind == "Dropout":
            modules.append(nn.Dropout(layer.rate))
        elif kind == "Activation":
            modules += _activation(layer.output_activation, where)
        elif kind == "Softmax" and layer.axis == -1:
            layout(False, rank)
            modules.append(nn.Softmax(dim=-1))
        elif kind == "ReLU" and not layer.negative_slope and not layer.threshold:
            modules.append(nn.ReLU() if layer.max_value is None else nn.Hardtanh(0.0, layer.max_value))
        elif kind == "ThresholdedReLU":
            modules.append(nn.Threshold(layer.theta, 0.0))
        elif kind in ("ZeroPadding1D", "ZeroPadding2D"):
            layout(True, rank)
            pads = [v for pair in reversed(layer.padding) for v in pair]  # torch: last axis first
            modules.append(nn.ConstantPad1d(pads, 0.0) if rank == 3 else nn.ZeroPad2d(pads))
        elif kind in ("UpSampling1D", "UpSampling2D"):
            layout(True, rank)
            modules.append(nn.Upsample(scale_factor=tuple(float(s) for s in layer.size), mode="nearest"))
        elif kind == "TimeDistributed" and type(layer.layer).__name__ == "Dense":
            inner = layer.layer  # nn.Linear acts on the last axis of (batch, time, features)
            layout(False, rank)
            modules.append(_load(nn.Linear(inner.kernel.shape[0], inner.units, bias=inner.use_bias)
                                 .to(_dtype(inner)), inner))
            modules += _activation(inner.output_activation, where)
        elif kind == "LeakyReLU":
            modules.append(nn.LeakyReLU(layer.alpha))
        elif kind == "ELU":
            modules.append(nn.ELU(layer.alpha))
        elif kind == "PReLU":
            channels = layer.alpha.shape[-1]
            if layer.alpha.size != channels:
                raise ConfigError(f"{where}: torch.nn.PReLU has one slope per channel; share the other axes.")
            layout(True, rank)
            modules.append(_load(nn.PReLU(channels).to(_dtype(layer)), layer))
        elif kind == "Embedding":
            if layer.mask_zero:
                raise ConfigError(f"{where}: mask_zero=True has no torch.nn form (torch's RNNs do not skip id 0).")
            modules.append(_load(nn.Embedding(layer.input_dim, layer.output_dim).to(_dtype(layer)), layer))
        elif kind in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
            layout(False, rank)
            modules.append(_recurrent(layer, nn, Recurrent))
        else:
            raise ConfigError(f"{where} has no torch.nn counterpart in to_torch.")
    if layers:
        layout(False, len(layers[-1].output_shape))
    return nn.Sequential(*modules)
