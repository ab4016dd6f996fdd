"""Keras 2's recurrent cells: one time step of SimpleRNN, LSTM and GRU as a layer of its own.

A cell computes ``output, new_states = cell(x_t, states)`` for one step; ``RNN(cell)``
loops it over a sequence. Cells exist so that a step can be reused, stacked
(``StackedRNNCells``) or replaced by a user's own cell, as in Keras. The weights have the
layouts of the recurrent layers (kernel (input_dim, k*units), recurrent_kernel (units,
k*units), bias; gate blocks LSTM [i, f, c, o], GRU [z, r, h]), so weights move freely
between ``LSTM(u)`` and ``RNN(LSTMCell(u))`` and to and from Keras.

Dropout follows Keras's cells: one input mask and one recurrent mask per gate, drawn at
the first step of each ``RNN`` call and kept for the whole sequence. With
``implementation=2`` (the default) all gates share the first input mask;
``recurrent_dropout > 0`` switches a cell to ``implementation=1``, where every gate gets
its own masks, as Keras does.
"""
from .. import backend, ops
from ..autograd import Tensor
from ..errors import ConfigError, NotSupportedError, ShapeError
from . import activations
from .base import Layer, check_positive_int
from .recurrent import lstm_bias_init
from .weight_options import weight_options, weight_options_config

_FUSED_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "hard_sigmoid")


def _block(z, units, k):
    """Columns k*units .. (k+1)*units of a (batch, n*units) tensor (one gate's block)."""
    return ops.getitem(z, (slice(None), slice(k * units, (k + 1) * units)))


def _fusable(fn):
    name = activations.name_of(fn)
    return name in _FUSED_ACTIVATIONS and activations.get(name) is fn


class _GateCell(Layer):
    """What the built-in cells share: arguments, weights, dropout masks, direct calls."""

    gates = 1  # blocks of `units` columns in the kernels

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} {self.name!r}"
        self.units = check_positive_int(where, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        weight_options(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        weight_options(self, "recurrent", recurrent_initializer, recurrent_regularizer, recurrent_constraint)
        weight_options(self, "bias", bias_initializer, bias_regularizer, bias_constraint)
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ConfigError(f"{where}: {arg} must be in [0, 1). Received: {arg}={rate!r}.")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self._masks = {}

    # ------------------------------------------------------------------ Keras's cell protocol
    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Zero states for a batch (Keras's signature): one (batch, units) Tensor, or a list
        for a cell with several states."""
        batch = inputs.shape[0] if inputs is not None else batch_size
        xp = backend.get_array_module(inputs.data) if isinstance(inputs, Tensor) else backend.get_xp()
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        zeros = [Tensor(xp.zeros((batch, s), dtype=dtype or self.dtype)) for s in sizes]
        return zeros if isinstance(self.state_size, (list, tuple)) else zeros[0]

    def build(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != 2:
            raise ShapeError(f"{type(self).__name__} {self.name!r} takes one step of input, shape (batch, features); "
                             f"received input shape {input_shape}. Wrap the cell in RNN(...) to run it over "
                             "(batch, time, features) sequences.")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], width), self.kernel_initializer,
                                      self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer,
                                                self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(width), self._bias_init(), self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def _bias_shape(self, width):
        return (width,)

    def _bias_init(self):
        return self.bias_initializer

    def __call__(self, inputs, states=None, training=None, **kwargs):
        """One step on data: ``output, new_states = cell(x_t, states)`` (states default to zeros)."""
        from .symbolic import is_symbolic  # noqa: PLC0415

        if is_symbolic(inputs) or is_symbolic(states):
            raise NotSupportedError(f"{type(self).__name__} {self.name!r} was called on symbolic tensors. A cell runs "
                                    "one step on data; in a model, wrap it: RNN(cell)(inputs).")
        x = inputs if isinstance(inputs, Tensor) else Tensor(backend.asarray(inputs))
        if not self.built:
            self.build_for((None,) + tuple(x.shape[1:]))
        if states is None:
            states = self.get_initial_state(x)
        nested = isinstance(states, (list, tuple))
        states = [s if isinstance(s, Tensor) else Tensor(backend.asarray(s)) for s in (states if nested else [states])]
        self.reset_dropout_mask()
        self.reset_recurrent_dropout_mask()
        from ..autograd import Config  # noqa: PLC0415

        output, new = self.call(x, states, training=Config.training if training is None else training, **kwargs)
        return output, (new if nested or len(new) > 1 else new[0])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    # ------------------------------------------------------------------ dropout masks (Keras names)
    def _mask_list(self, key, rate, like, training, count):
        if not rate or not training:
            return None
        if key not in self._masks:
            xp = backend.get_array_module(like.data)
            shape, keep = tuple(like.shape), like.dtype.type(1.0 / (1.0 - rate))
            self._masks[key] = [(backend.rng().random(shape, dtype=xp.float32) >= rate).astype(like.dtype) * keep
                                for _ in range(count)]
        masks = self._masks[key]
        return masks[0] if count == 1 else masks

    def get_dropout_mask_for_cell(self, inputs, training, count=1):
        """The input dropout mask(s) of this sequence (``count`` of them; one array when
        ``count`` is 1), drawn on first use; None when not training or ``dropout`` is 0."""
        return self._mask_list("dropout", self.dropout, inputs, training, count)

    def get_recurrent_dropout_mask_for_cell(self, inputs, training, count=1):
        """The recurrent dropout mask(s) of this sequence, as ``get_dropout_mask_for_cell``."""
        return self._mask_list("recurrent", self.recurrent_dropout, inputs, training, count)

    def reset_dropout_mask(self):
        """Forget the input masks: the next step draws new ones (``RNN`` calls it per sequence)."""
        self._masks.pop("dropout", None)

    def reset_recurrent_dropout_mask(self):
        """Forget the recurrent masks: the next step draws new ones."""
        self._masks.pop("recurrent", None)

    # ------------------------------------------------------------------ helpers
    def _input_part(self, inputs, dp, k):
        """x_t W_k (+ b_k) for gate k, with gate k's input mask."""
        x = inputs * dp[k] if dp is not None else inputs
        z = ops.matmul(x, _block(self.kernel, self.units, k))
        bias = self._input_bias()
        return z + ops.getitem(bias, slice(k * self.units, (k + 1) * self.units)) if bias is not None else z

    def _input_bias(self):
        return self.bias

    def fusable(self):
        """Whether ``RNN`` may run this cell through the whole-sequence op (same results, faster)."""
        return _fusable(self.activation) and _fusable(getattr(self, "recurrent_activation", self.activation))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.name_of(self.activation),
                "use_bias": self.use_bias,
                **weight_options_config(self, ("kernel", "recurrent", "bias"), activity=False),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}

    def __repr__(self):
        return f"{type(self).__name__}({self.units}, name={self.name!r})"


class SimpleRNNCell(_GateCell):
    """One step of the Elman network: h_t = activation(x_t W + h_{t-1} U + b).

    The cell of ``SimpleRNN``, for ``RNN(SimpleRNNCell(units))`` and stacks of cells. One
    state, ``h`` (``state_size = units``); the output is the new state.

    Example:
        >>> out, states = SimpleRNNCell(4)(np.ones((2, 3)), [np.zeros((2, 4))])
        >>> out.shape, states[0].shape
        ((2, 4), (2, 4))
    """

    def call(self, inputs, states, training=None):
        prev = states[0] if isinstance(states, (list, tuple)) else states
        dp = self.get_dropout_mask_for_cell(inputs, training)
        rdp = self.get_recurrent_dropout_mask_for_cell(prev, training)
        z = ops.matmul(inputs * dp if dp is not None else inputs, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        z = z + ops.matmul(prev * rdp if rdp is not None else prev, self.recurrent_kernel)
        output = self.activation(z)
        return output, [output]

    def whole_sequence(self, x, states, reverse):
        """The same steps over a whole (batch, time, features) sequence in one fused op."""
        hs, h = ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, states[0],
                               activations.name_of(self.activation), None, reverse)
        return hs, [h]


class LSTMCell(_GateCell):
    """One step of the LSTM (Keras gate blocks [i, f, c, o]); states ``[h, c]``.

    ``unit_forget_bias=True`` starts the forget gate's bias at 1 (Keras's default).
    ``implementation`` (1 or 2) chooses how Keras computes the same step; here it only
    decides how dropout masks are shared between gates, as in Keras.

    Example:
        >>> cell = LSTMCell(8)
        >>> cell.state_size
        [8, 8]
        >>> out, (h, c) = cell(np.ones((2, 3)))
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True,
                 implementation=2, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = _implementation(self, implementation)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        return lstm_bias_init(self.bias_initializer, self.units, self.unit_forget_bias)

    def call(self, inputs, states, training=None):
        h_prev, c_prev = states[0], states[1]
        u, act, rec = self.units, self.activation, self.recurrent_activation
        dp = self.get_dropout_mask_for_cell(inputs, training, count=4)
        rdp = self.get_recurrent_dropout_mask_for_cell(h_prev, training, count=4)
        if self.implementation == 1 and (dp is not None or rdp is not None):  # a mask per gate
            z = [self._input_part(inputs, dp, k) + ops.matmul(h_prev * rdp[k] if rdp is not None else h_prev,
                                                              _block(self.recurrent_kernel, u, k)) for k in range(4)]
        else:
            zz = ops.matmul(inputs * dp[0] if dp is not None else inputs, self.kernel)
            zz = zz + ops.matmul(h_prev, self.recurrent_kernel)
            if self.bias is not None:
                zz = zz + self.bias
            z = [_block(zz, u, k) for k in range(4)]
        c = rec(z[1]) * c_prev + rec(z[0]) * act(z[2])
        h = rec(z[3]) * act(c)
        return h, [h, c]

    def whole_sequence(self, x, states, reverse):
        hs, h, c = ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1], None, reverse,
                            activations.name_of(self.activation), activations.name_of(self.recurrent_activation))
        return hs, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.name_of(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, "implementation": self.implementation}


class GRUCell(_GateCell):
    """One step of the GRU (Keras gate blocks [z, r, h]); one state ``h``.

    ``reset_after=True`` (the default, as tf.keras 2) applies the reset gate after the
    recurrent product and keeps two bias rows (2, 3*units); ``reset_after=False`` is the
    original form with one bias vector.

    Example:
        >>> out, states = GRUCell(5)(np.ones((2, 3)), [np.zeros((2, 5))])
        >>> out.shape
        (2, 5)
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 implementation=2, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = _implementation(self, implementation)

    def _bias_shape(self, width):
        return (2, width) if self.reset_after else (width,)

    def _input_bias(self):
        if self.bias is None:
            return None
        return ops.getitem(self.bias, 0) if self.reset_after else self.bias

    def _recurrent_part(self, h, rdp, k):
        z = ops.matmul(h * rdp[k] if rdp is not None else h, _block(self.recurrent_kernel, self.units, k))
        if self.reset_after and self.bias is not None:
            z = z + ops.getitem(self.bias, (1, slice(k * self.units, (k + 1) * self.units)))
        return z

    def call(self, inputs, states, training=None):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        u, act, rec = self.units, self.activation, self.recurrent_activation
        dp = self.get_dropout_mask_for_cell(inputs, training, count=3)
        rdp = self.get_recurrent_dropout_mask_for_cell(h_prev, training, count=3)
        U = self.recurrent_kernel
        if self.implementation == 1 and (dp is not None or rdp is not None):  # a mask per gate
            xz, xr, xh = (self._input_part(inputs, dp, k) for k in range(3))
            z, r = rec(xz + self._recurrent_part(h_prev, rdp, 0)), rec(xr + self._recurrent_part(h_prev, rdp, 1))
            if self.reset_after:
                rh = r * self._recurrent_part(h_prev, rdp, 2)
            else:
                hh_prev = h_prev * rdp[2] if rdp is not None else h_prev
                rh = ops.matmul(r * hh_prev, _block(U, u, 2))
        else:
            mx = ops.matmul(inputs * dp[0] if dp is not None else inputs, self.kernel)
            if self.bias is not None:
                mx = mx + self._input_bias()
            xz, xr, xh = (_block(mx, u, k) for k in range(3))
            if self.reset_after:
                inner = ops.matmul(h_prev, U)
                if self.bias is not None:
                    inner = inner + ops.getitem(self.bias, 1)
                z, r = rec(xz + _block(inner, u, 0)), rec(xr + _block(inner, u, 1))
                rh = r * _block(inner, u, 2)
            else:
                inner = ops.matmul(h_prev, ops.getitem(U, (slice(None), slice(0, 2 * u))))
                z, r = rec(xz + _block(inner, u, 0)), rec(xr + _block(inner, u, 1))
                rh = ops.matmul(r * h_prev, _block(U, u, 2))
        h = z * h_prev + (1 - z) * act(xh + rh)
        return h, [h]

    def whole_sequence(self, x, states, reverse):
        hs, h = ops.gru(x, self.kernel, self.recurrent_kernel, self.bias, states[0], None, reverse,
                        activations.name_of(self.activation), activations.name_of(self.recurrent_activation),
                        self.reset_after)
        return hs, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.name_of(self.recurrent_activation),
                "implementation": self.implementation, "reset_after": self.reset_after}


def _implementation(cell, value):
    """Keras's rule: recurrent dropout needs a mask per gate, so it forces implementation 1."""
    if value not in (1, 2):
        raise ConfigError(f"{type(cell).__name__} {cell.name!r}: implementation must be 1 or 2. "
                          f"Received: implementation={value!r}.")
    return 1 if cell.recurrent_dropout else int(value)


BUILT_IN_CELLS = (SimpleRNNCell, LSTMCell, GRUCell)

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]
