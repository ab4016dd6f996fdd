"""Sequence helpers: Embedding, Masking, Bidirectional, TimeDistributed, RepeatVector."""
from .. import backend, ops
from ..errors import ConfigError, ShapeError
from . import initializers
from .base import Layer, carry_mask, check_positive_int
from .recurrent import RNN


class Embedding(Layer):
    """Word ids -> dense vectors: a lookup in a trainable (input_dim, output_dim) table.

    The lecture's 1-of-N encoding followed by a linear layer, without the one-hot vectors.
    ``mask_zero=True`` treats id 0 as padding: the output carries a mask that recurrent
    layers and losses respect (so ``input_dim`` must count id 0).

    Input shape: (batch, time) integers. Output shape: (batch, time, output_dim).

    Example:
        >>> Embedding(1000, 64)(np.array([[4, 20, 7]])).shape
        (1, 3, 64)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 mask_zero=False, input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        from . import regularizers  # noqa: PLC0415

        where = f"Embedding layer {self.name!r}"
        self.input_dim = check_positive_int(where, "input_dim", input_dim)
        self.output_dim = check_positive_int(where, "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, self.embeddings_regularizer)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def call(self, x, training=None):
        ids = x.data
        xp = backend.get_array_module(ids)
        if ids.size:  # the checks in one host read (on a GPU each read waits for the device)
            parts = [ids.min(), ids.max()]
            if ids.dtype.kind == "f":
                parts.append((ids == xp.round(ids)).all().astype(ids.dtype))
            lo, hi, *whole = backend.to_numpy(xp.stack(parts)).tolist()
            if whole and not whole[0]:
                raise ShapeError(f"Embedding layer {self.name!r} needs integer word ids; received fractional values.")
            if lo < 0 or hi >= self.input_dim:
                raise ShapeError(f"Embedding layer {self.name!r}: ids must be in 0..{self.input_dim - 1} "
                                 f"(input_dim={self.input_dim}); found {int(lo)}..{int(hi)}.")
        if ids.dtype.kind == "f":
            ids = ids.astype(xp.int64)
        out = ops.getitem(self.embeddings, ids)
        if self.mask_zero:
            out.mask = ids != 0
        return out

    def get_config(self):
        from . import regularizers  # noqa: PLC0415

        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "mask_zero": self.mask_zero, "input_length": self.input_length}


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding (and zeroes them).

    Example:
        >>> model = Sequential([Masking(0.0, input_shape=(None, 3)), LSTM(8)])  # zero steps are padding
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def call(self, x, training=None):
        keep = (x.data != self.mask_value).any(axis=-1)
        out = x * keep[..., None].astype(x.dtype)
        out.mask = keep
        return out

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards and merges them (the lecture's

    bidirectional RNN: each output sees the whole sentence).

    Args:
        layer: an RNN layer (SimpleRNN, LSTM, GRU).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (a list of both).
        backward_layer: optional RNN layer for the backward direction.

    Both directions' outputs are aligned in time: output[:, t] combines the forward state
    after step t with the backward state after step t (from the end). With
    ``return_state=True`` the states are [forward states..., backward states...].

    Example:
        >>> Bidirectional(LSTM(8, return_sequences=True))(np.ones((2, 5, 3))).shape
        (2, 5, 16)
    """

    MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, RNN):
            raise ConfigError(f"Bidirectional {self.name!r} wraps a recurrent layer (SimpleRNN, LSTM, GRU); "
                              f"received {layer!r}.")
        if merge_mode not in self.MODES:
            raise ConfigError(f"Bidirectional {self.name!r}: merge_mode must be one of {self.MODES}. "
                              f"Received: merge_mode={merge_mode!r}.")
        self.forward_layer = layer
        if backward_layer is None:
            backward_layer = type(layer).from_config({**layer.get_config(), "name": "backward_" + layer.name})
        self.backward_layer = backward_layer
        self.backward_layer._time_aligned_reverse = True
        for half in (self.forward_layer, self.backward_layer):
            if hasattr(half, "zero_output_for_mask"):  # RNN(cell): zeros at masked steps in both halves, as Keras
                half.zero_output_for_mask = layer.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    @property
    def weights(self):
        return self.forward_layer.weights + self.backward_layer.weights

    @property
    def trainable_weights(self):
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.forward_layer.non_trainable_weights + self.backward_layer.non_trainable_weights

    def get_weights(self):
        return self.forward_layer.get_weights() + self.backward_layer.get_weights()

    def set_weights(self, weights):
        n = len(self.forward_layer.weights)
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    def count_params(self):
        return self.forward_layer.count_params() + self.backward_layer.count_params()

    @property
    def losses(self):
        return self.forward_layer.losses + self.backward_layer.losses

    @losses.setter
    def losses(self, value):
        pass  # the wrapped layers keep their own

    def check_input_shape(self, input_shape):
        self.forward_layer.check_input_shape(input_shape)

    def build(self, input_shape):
        self.forward_layer.build_for(input_shape)
        self.backward_layer.build_for(input_shape)

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            out, states = out[0], out[1:]
            states = states + states
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (out[-1] * 2,)
        elif self.merge_mode is None:
            return [out, out] + states
        return [out] + states if self.return_state else out

    def call(self, x, training=None, initial_state=None, mask=None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        f = self.forward_layer.call(x, training=training, initial_state=fwd_state, mask=mask)
        b = self.backward_layer.call(x, training=training, initial_state=bwd_state, mask=mask)
        f_states = b_states = []
        if self.return_state:
            f, f_states = f[0], f[1:]
            b, b_states = b[0], b[1:]
        out_mask = getattr(f, "mask", None)
        if self.merge_mode == "concat":
            out = ops.concatenate([f, b], axis=-1)
        elif self.merge_mode == "sum":
            out = f + b
        elif self.merge_mode == "mul":
            out = f * b
        elif self.merge_mode == "ave":
            out = (f + b) * 0.5
        else:
            return [f, b] + list(f_states) + list(b_states)
        if out_mask is not None:
            out.mask = out_mask
        return [out] + list(f_states) + list(b_states) if self.return_state else out

    def get_config(self):
        from . import serialize_layer  # noqa: PLC0415

        return {**super().get_config(), "layer": serialize_layer(self.forward_layer), "merge_mode": self.merge_mode,
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        from . import deserialize_layer  # noqa: PLC0415

        config = dict(config)
        layer = deserialize_layer(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        return cls(layer, backward_layer=deserialize_layer(backward) if backward else None, **config)


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: (batch, time, ...) -> (batch, time, ...').

    Used for per-step outputs such as slot filling: TimeDistributed(Dense(n_tags, 'softmax')).

    Example:
        >>> TimeDistributed(Dense(5, activation="softmax"))(np.ones((2, 7, 16))).shape
        (2, 7, 5)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ConfigError(f"TimeDistributed {self.name!r} wraps a layer; received {layer!r}.")
        self.layer = layer

    @property
    def weights(self):
        return self.layer.weights

    @property
    def trainable_weights(self):
        return self.layer.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.layer.non_trainable_weights

    def get_weights(self):
        return self.layer.get_weights()

    def set_weights(self, weights):
        self.layer.set_weights(weights)

    def count_params(self):
        return self.layer.count_params()

    @property
    def output_activation(self):
        return getattr(self.layer, "output_activation", None)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ShapeError(f"TimeDistributed {self.name!r} needs (batch, time, ...) inputs; received "
                             f"{tuple(input_shape)}.")

    def build(self, input_shape):
        self.layer.build_for((None,) + tuple(input_shape[2:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def _apply(self, x, fn):
        """``fn`` on the (batch * time, ...) rows. A mask of more than (batch, time) (``Masking``
        on (batch, time, steps, features) inputs) goes on to the wrapped layer as its own
        (batch * time, steps, ...) mask, as in Keras: an LSTM or GlobalAveragePooling1D inside
        skips the masked inner steps. The output's mask is the wrapped layer's, back in
        (batch, time, ...) shape, or where that layer used it up, a time step counts while any
        of its inner entries does."""
        n, t = x.shape[0], x.shape[1]
        mask = getattr(x, "mask", None)
        inner = ops.reshape(x, (n * t,) + tuple(x.shape[2:]))
        if mask is not None and mask.ndim > 2:
            inner.mask = mask.reshape((n * t,) + tuple(mask.shape[2:]))
        y = carry_mask(inner, fn(inner))  # as a model carries it past a layer that keeps the steps
        out = ops.reshape(y, (n, t) + tuple(y.shape[1:]))
        inner_mask = getattr(y, "mask", None) if mask is not None and mask.ndim > 2 else None
        if inner_mask is not None:
            out.mask = inner_mask.reshape((n, t) + tuple(inner_mask.shape[1:]))
        elif mask is not None:
            out.mask = mask.reshape(n, t, -1).any(axis=-1) if mask.ndim > 2 else mask
        return out

    def call(self, x, training=None):
        return self._apply(x, lambda z: self.layer.invoke(z, training=training))

    def call_logits(self, x, training=None):
        return self._apply(x, lambda z: self.layer.invoke(z, training=training, logits=True))

    def get_config(self):
        from . import serialize_layer  # noqa: PLC0415

        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config):
        from . import deserialize_layer  # noqa: PLC0415

        config = dict(config)
        return cls(deserialize_layer(config.pop("layer")), **config)


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the encoder's summary fed to every decoder step.

    Example:
        >>> RepeatVector(4)(np.ones((2, 8))).shape
        (2, 4, 8)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = check_positive_int(f"RepeatVector layer {self.name!r}", "n", n)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeError(f"RepeatVector {self.name!r} needs (batch, features) inputs; received {tuple(input_shape)}.")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, x, training=None):
        xp = backend.get_array_module(x.data)
        return ops.getitem(ops.reshape(x, (x.shape[0], 1, x.shape[1])), (slice(None), xp.zeros(self.n, dtype=xp.intp)))

    def get_config(self):
        return {**super().get_config(), "n": self.n}
