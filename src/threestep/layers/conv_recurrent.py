"""``ConvLSTM2D``: an LSTM whose gates are convolutions (Shi et al. 2015), for sequences of images.

Input (batch, time, rows, cols, channels) (channels_first: (batch, time, channels, rows,
cols)). At each step, i, f, o = rec_act(conv(x_t, W_g) + conv(h, U_g) + b_g), c = f c +
i act(conv(x_t, W_c) + conv(h, U_c) + b_c), h = o act(c). The input convolution uses the
layer's strides and padding, the recurrent one stride 1 and 'same' padding, so h keeps the
input convolution's output size. Keras layout: kernel (kh, kw, C, 4 F), recurrent_kernel
(kh, kw, F, 4 F), bias (4 F,), gate blocks [i, f, c, o]; recurrent_activation defaults to
'hard_sigmoid' as in Keras. The input convolution of every step runs as one batched
convolution; the time loop then needs one recurrent convolution per step.
"""
from .. import backend, ops
from ..autograd import Config, Tensor
from ..errors import ConfigError, ShapeError
from . import activations, initializers
from .conv import Conv


class ConvLSTM2D(Conv):
    """Convolutional LSTM over a sequence of images.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate: as Conv2D.
        initializers, regularizers, constraints: as Conv2D (plus ``recurrent_*`` for the recurrent kernel).
        activation: of the candidate and the output (default 'tanh').
        recurrent_activation: of the gates (default 'hard_sigmoid').
        unit_forget_bias: start the forget gate's bias at 1.
        return_sequences, return_state, go_backwards, stateful: as LSTM.
        dropout, recurrent_dropout: fractions dropped of the inputs / of h, one mask per
            gate drawn once per sequence (inverted dropout, training only).

    Output shape: (batch, new_rows, new_cols, filters), or with return_sequences (batch,
    time, new_rows, new_cols, filters).

    Example:
        >>> ConvLSTM2D(16, (3, 3), padding="same", return_sequences=True, input_shape=(10, 40, 40, 1))
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 activation="tanh", recurrent_activation="hard_sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        from . import regularizers  # noqa: PLC0415

        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        where = f"ConvLSTM2D layer {self.name!r}"
        self.recurrent_activation = activations.get(recurrent_activation)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.recurrent_constraint = recurrent_constraint
        self.unit_forget_bias = bool(unit_forget_bias)
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ConfigError(f"{where}: {name} must be in [0, 1). Received: {name}={rate}.")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.states = None

    # ------------------------------------------------------------------ shapes and weights
    def _frame_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def check_input_shape(self, input_shape):
        if len(input_shape) != 5:
            raise ShapeError(f"ConvLSTM2D layer {self.name!r} expects inputs of rank 5 (batch, time, rows, cols, "
                             f"channels); received shape {tuple(input_shape)}.")
        super().check_input_shape(self._frame_shape(input_shape))

    def build(self, input_shape):
        frame = self._frame_shape(input_shape)
        channels = frame[1] if self.data_format == "channels_first" else frame[-1]
        f4 = 4 * self.filters
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels, f4),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=self.kernel_size + (self.filters, f4),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            base, units = self.bias_initializer, self.filters

            def init(shape, dtype=None):
                b = base(shape, dtype)
                if self.unit_forget_bias:
                    b[units:2 * units] = 1
                return b

            self.bias = self.add_weight(name="bias", shape=(f4,), initializer=init, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        frame_out = super().compute_output_shape(self._frame_shape(input_shape))
        out = (frame_out[0], input_shape[1]) + tuple(frame_out[1:]) if self.return_sequences else frame_out
        return [out, frame_out, frame_out] if self.return_state else out

    # ------------------------------------------------------------------ forward
    def _masks(self, shape, rate, dtype):
        xp = backend.get_xp()
        return [(backend.rng().random(shape, dtype=xp.float32) >= rate).astype(dtype) * dtype.type(1 / (1 - rate))
                for _ in range(4)]

    def call(self, x, training=None, initial_state=None, mask=None):
        if mask is not None or getattr(x, "mask", None) is not None:
            raise ShapeError(f"ConvLSTM2D layer {self.name!r} does not take masks; pad the sequences to one length.")
        training = Config.training if training is None else training
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 1, 3, 4, 2))
        n, t = x.shape[0], x.shape[1]
        f = self.filters
        frames = ops.reshape(x, (n * t,) + tuple(x.shape[2:]))
        if self.dropout and training:  # one input mask per gate, the same at every step
            masks = self._masks((n, 1) + tuple(x.shape[2:]), self.dropout, x.dtype)
            blocks = [ops.getitem(self.kernel, (..., slice(k * f, (k + 1) * f))) for k in range(4)]
            parts = [ops.conv(ops.reshape(x * m, frames.shape), w, None, self.strides, self.padding, self.dilation_rate)
                     for m, w in zip(masks, blocks)]
            zx = ops.concatenate(parts, axis=-1)
            zx = zx + self.bias if self.bias is not None else zx
        else:
            zx = ops.conv(frames, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)
        zx = ops.reshape(zx, (n, t) + tuple(zx.shape[1:]))
        out_spatial = tuple(zx.shape[2:4])
        h, c = self._start_states(initial_state, n, out_spatial, x.dtype)
        rec_masks = self._masks((n,) + out_spatial + (f,), self.recurrent_dropout, x.dtype) \
            if self.recurrent_dropout and training else None
        act, rec = self.activation, self.recurrent_activation
        outputs = []
        order = range(t - 1, -1, -1) if self.go_backwards else range(t)
        for step in order:
            gates = []
            for k in range(4):
                hk = h if rec_masks is None else h * rec_masks[k]
                uk = ops.getitem(self.recurrent_kernel, (..., slice(k * f, (k + 1) * f)))
                zk = ops.getitem(zx, (slice(None), step, ..., slice(k * f, (k + 1) * f)))
                gates.append(zk + ops.conv(hk, uk, None, 1, "same"))
            i, fg, o = rec(gates[0]), rec(gates[1]), rec(gates[3])
            c = fg * c + i * act(gates[2])
            h = o * act(c)
            outputs.append(h)
        if self.stateful:
            self.states = [Tensor(h.data), Tensor(c.data)]
        output = ops.stack(outputs, axis=1) if self.return_sequences else h
        if self.data_format == "channels_first":
            back = (0, 1, 4, 2, 3) if self.return_sequences else (0, 3, 1, 2)
            output = ops.transpose(output, back)
            h, c = ops.transpose(h, (0, 3, 1, 2)), ops.transpose(c, (0, 3, 1, 2))
        self.record_activity(output)
        return [output, h, c] if self.return_state else output

    def _start_states(self, initial_state, n, spatial, dtype):
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != n:
                raise ShapeError(f"ConvLSTM2D layer {self.name!r} is stateful with batches of "
                                 f"{self.states[0].shape[0]}; received {n}. Feed batches of one size, or call "
                                 "reset_states().")
            return self.states
        if initial_state is None:
            zeros = Tensor(backend.get_xp().zeros((n,) + spatial + (self.filters,), dtype))
            return zeros, zeros
        states = list(initial_state)
        if len(states) != 2:
            raise ShapeError(f"ConvLSTM2D layer {self.name!r} takes 2 initial states [h, c]; received {len(states)}.")
        if self.data_format == "channels_first":
            states = [ops.transpose(s, (0, 2, 3, 1)) for s in states]
        return states

    def reset_states(self, states=None):
        """Forget the carried states (stateful=True), or set them to ``states`` = [h, c] arrays."""
        if not self.stateful:
            raise ConfigError(f"ConvLSTM2D layer {self.name!r}: reset_states() needs stateful=True.")
        self.states = None if states is None else [Tensor(backend.asarray(s, dtype=self.dtype)) for s in states]

    def get_config(self):
        from . import regularizers  # noqa: PLC0415

        return {**super().get_config(), "recurrent_activation": activations.name_of(self.recurrent_activation),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "unit_forget_bias": self.unit_forget_bias, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


