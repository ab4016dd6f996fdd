"""Recurrent layers: a network with memory (the lecture's RNN, LSTM, GRU, Jordan network).

Each layer runs one whole-sequence op from ``threestep.ops.recurrent`` (a forward loop over
time and one hand-written backward loop: backpropagation through time), with the Keras
weight layout (kernel (input_dim, k*units), recurrent_kernel (units, k*units), bias) and
Keras arguments: ``return_sequences``, ``return_state``, ``go_backwards``, ``initial_state``,
masks from ``Embedding(mask_zero=True)`` or ``Masking``.

Masks travel on the Tensor (``tensor.mask``, a boolean (batch, time) array). At a masked
step the state is carried over; with ``return_sequences`` that step's output is zero and
the mask goes on with the output, so a loss on the sequence ignores padded steps.
"""
import inspect
import re
from .. import backend, ops
from ..autograd import Config, Tensor
from ..errors import ConfigError, ShapeError
from . import activations
from .base import Layer, _snake_case, check_positive_int, deprecated_arg
from .recurrent_loop import gru_loop, lstm_loop, simple_rnn_loop
from .weight_options import get_regularizer, weight_options, weight_options_config


def lstm_bias_init(base, units, unit_forget_bias):
    """An LSTM's bias initializer: with ``unit_forget_bias`` (Keras's default) ones for the
    forget gate's block, ``base`` elsewhere."""
    if not unit_forget_bias:
        return base

    def init(shape, dtype=None):
        b = base(shape, dtype)
        b[units:2 * units] = 1
        return b

    return init


def _mask_of(x, mask):
    if mask is not None:
        return mask.data if hasattr(mask, "data") else mask
    return getattr(x, "mask", None)


def _is_cell(arg):
    """Whether ``arg`` is what Keras's ``RNN`` takes first: a cell (a layer with ``state_size``) or
    a list of cells."""
    if isinstance(arg, (list, tuple)):
        return bool(arg) and all(_is_cell(c) for c in arg)
    return isinstance(arg, Layer) and hasattr(arg, "state_size")


_CELL_VARIANTS = {}


def _become_cell_rnn(layer, cell, fused_args, cell_args):
    """Make ``layer``, an instance of a user's ``RNN`` subclass whose ``__init__`` handed
    ``RNN.__init__`` a cell, the cell-driven ``CellRNN`` it means (as Keras's ``RNN`` is): its
    class becomes one deriving from both, under the user's class name (configs and files name
    it so). Arguments only the fused layers take are refused: positional arguments after the
    cell would have landed there."""
    from .recurrent_cell import CellRNN  # noqa: PLC0415

    defaults = inspect.signature(RNN.__init__).parameters
    given = [k for k, v in fused_args.items() if v is not defaults[k].default and v != defaults[k].default]
    kind = type(layer)
    if given:
        raise ConfigError(f"{kind.__name__}: a layer built on RNN with a cell takes RNN's arguments (return_sequences, "
                          f"return_state, go_backwards, stateful, unroll, time_major) by keyword; received "
                          f"{', '.join(f'{k}={fused_args[k]!r}' for k in given)}, which only SimpleRNN, LSTM and GRU "
                          "take. Pass them by name, e.g. super().__init__(cell, return_sequences=True).")
    if not isinstance(layer, CellRNN):
        variant = _CELL_VARIANTS.get(kind)
        if variant is None:
            variant = _CELL_VARIANTS[kind] = type(kind.__name__, (kind, CellRNN), {
                "__module__": kind.__module__, "__qualname__": kind.__qualname__, "__doc__": kind.__doc__,
                "makes_own_cell": True})
        layer.__class__ = variant
    CellRNN.__init__(layer, cell, **cell_args)


def name_cells_after(layer, cell):
    """A user's RNN subclass makes its cell itself, so a file's config may not hold the cell: a
    cell named automatically is named after the layer instead, so that its weights have the same
    names when the model is loaded (minimal_cell_1 -> my_rnn_cell)."""
    cells = list(cell) if isinstance(cell, (list, tuple)) else [cell]
    for i, c in enumerate(cells):
        if re.fullmatch(re.escape(_snake_case(type(c).__name__)) + r"(_\d+)?", c.name) and not c.built:
            c.name = f"{layer.name}_cell" + (f"_{i}" if len(cells) > 1 else "")


class RNN(Layer):
    """Base of SimpleRNN, LSTM, GRU and JordanRNN: arguments, masks, states, outputs; and,
    called as ``RNN(cell, ...)``, Keras 2's generic layer that loops a cell over time.

    ``RNN(...)`` itself returns a ``CellRNN`` (see ``threestep.layers.recurrent_cell``), a
    subclass that Keras configs and files call "RNN"; the fused layers subclass this base.

    Example:
        >>> isinstance(LSTM(8), RNN)  # every recurrent layer takes RNN's arguments
        True
        >>> RNN(LSTMCell(8), return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    def __new__(cls, *args, **kwargs):
        if cls is RNN:  # Keras's RNN(cell, ...): the cell-driven subclass
            from .recurrent_cell import CellRNN  # noqa: PLC0415

            cls = CellRNN
        return super().__new__(cls)

    gates = 1  # how many blocks of `units` columns the kernels hold
    state_names = ("h",)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, implementation=2, **kwargs):
        if _is_cell(units):  # Keras's RNN(cell, ...) from a user's subclass: class MyRNN(RNN) + super().__init__(cell)
            _become_cell_rnn(self, units, dict(activation=activation, use_bias=use_bias, kernel_initializer=(
                kernel_initializer), recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                implementation=implementation), dict(return_sequences=return_sequences, return_state=return_state,
                go_backwards=go_backwards, stateful=stateful, unroll=unroll, **kwargs))
            return
        legacy = _legacy_rnn_args(type(self).__name__, kwargs)
        units = legacy.get("units", units)
        kernel_initializer = legacy.get("kernel_initializer", kernel_initializer)
        recurrent_initializer = legacy.get("recurrent_initializer", recurrent_initializer)
        kernel_regularizer = legacy.get("kernel_regularizer", kernel_regularizer)
        recurrent_regularizer = legacy.get("recurrent_regularizer", recurrent_regularizer)
        bias_regularizer = legacy.get("bias_regularizer", bias_regularizer)
        dropout = legacy.get("dropout", dropout)
        recurrent_dropout = legacy.get("recurrent_dropout", recurrent_dropout)
        super().__init__(**kwargs)
        where = f"{type(self).__name__} layer {self.name!r}"
        self.units = check_positive_int(where, "units", units)
        self.activation_name = activations.name_of(activations.get(activation)) if activation else "linear"
        self.use_bias = bool(use_bias)
        weight_options(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        weight_options(self, "recurrent", recurrent_initializer, recurrent_regularizer, recurrent_constraint)
        weight_options(self, "bias", bias_initializer, bias_regularizer, bias_constraint)
        self.activity_regularizer = get_regularizer(activity_regularizer)
        if not 0 <= dropout < 1:
            raise ConfigError(f"{where}: dropout must be in [0, 1). Received: dropout={dropout}.")
        if not 0 <= recurrent_dropout < 1:
            raise ConfigError(f"{where}: recurrent_dropout must be in [0, 1). "
                              f"Received: recurrent_dropout={recurrent_dropout}.")
        if implementation not in (0, 1, 2):
            raise ConfigError(f"{where}: implementation must be 1 or 2. Received: implementation={implementation!r}.")
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        # unroll and implementation choose how Keras builds the same computation (a static
        # graph per step; one or four GEMMs per step); here the fused op always runs, so
        # they are stored for the config and change nothing.
        self.stateful, self.unroll, self.implementation = bool(stateful), bool(unroll), int(implementation)
        self.states = None  # stateful: the last batch's final states (Tensors, no graph)
        self._time_aligned_reverse = False  # set by Bidirectional: reverse without flipping outputs

    # ------------------------------------------------------------------ shapes
    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} takes one input tensor; pass states as "
                             "initial_state=[...].")
        if len(input_shape) != 3:
            hint = " Reshape it to (batch, time, 1), or use x[..., None]." if len(input_shape) == 2 else ""
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} expects a 3-D input (batch, time, features); "
                             f"received shape {tuple(input_shape)}.{hint}")
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} was built for {self.kernel.shape[0]} features "
                             f"per step but received {input_shape[-1]} (input shape {tuple(input_shape)}).")

    def output_units(self):
        return self.units

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.output_units()) if self.return_sequences else (n, self.output_units())
        if self.return_state:
            return [out] + [(n, self.state_size(name)) for name in self.state_names]
        return out

    def state_size(self, name):
        return self.units

    # ------------------------------------------------------------------ weights
    def build(self, input_shape):
        dim = input_shape[-1]
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (dim, width), self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.recurrent_rows(), width),
                                                self.recurrent_initializer, self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self.bias_shape(width), self.bias_init(), self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.build_extra(input_shape)

    def recurrent_rows(self):
        return self.units

    def bias_shape(self, width):
        return (width,)

    def bias_init(self):
        return self.bias_initializer

    def build_extra(self, input_shape):
        pass

    # ------------------------------------------------------------------ forward
    def call(self, x, training=None, initial_state=None, mask=None):
        mask = _mask_of(x, mask)
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r}: the mask has shape {tuple(mask.shape)} but "
                             f"the input's (batch, time) is {tuple(x.shape[:2])}.")
        if self.stateful and initial_state is None and self.states is not None:
            initial_state = self._carried_states(x)
        states = self._initial_states(initial_state, x)
        training = Config.training if training is None else training
        if self.dropout and training:
            x = ops.dropout(x, self.dropout, noise_shape=(x.shape[0], 1, x.shape[2]), rng=backend.rng())
        reverse = self.go_backwards or self._time_aligned_reverse
        if self.recurrent_dropout and training:
            seq, finals = self.run_loop(x, states, mask, reverse, self._recurrent_masks(x))
        else:
            seq, finals = self.run(x, states, mask, reverse)
        if self.stateful:
            self.states = [Tensor(f.data) for f in finals]  # carried to the next batch, without its graph
        if self.go_backwards and not self._time_aligned_reverse:
            seq = ops.getitem(seq, (slice(None), slice(None, None, -1)))  # Keras: outputs in processing order
            if mask is not None:
                mask = mask[:, ::-1]
        output = seq if self.return_sequences else finals[self.output_state]
        if self.return_sequences and mask is not None:
            output.mask = mask
        self.record_activity(output)
        if self.return_state:
            return [output] + list(finals)
        return output

    output_state = 0  # which final state is the last output (Jordan: the network output)

    # ------------------------------------------------------------------ recurrent dropout, states
    def _recurrent_masks(self, x):
        """One inverted-dropout mask (batch, units) per gate block, drawn once for the sequence."""
        xp = backend.get_array_module(x.data)
        rate = self.recurrent_dropout
        return [(backend.rng().random((x.shape[0], self.units), dtype=xp.float32) >= rate).astype(x.dtype)
                * x.dtype.type(1.0 / (1.0 - rate)) for _ in range(self.gates)]

    def run_loop(self, x, states, mask, reverse, rec_masks):
        raise ConfigError(f"{type(self).__name__} layer {self.name!r} does not support recurrent_dropout; use "
                          "dropout= on its inputs.")

    def _carried_states(self, x):
        batch = self.states[0].shape[0]
        if x.shape[0] != batch:
            raise ShapeError(
                f"{type(self).__name__} layer {self.name!r} is stateful and carries states for batches of {batch}; "
                f"received a batch of {x.shape[0]}. Feed batches of one size (batch_input_shape=({batch}, ...), "
                "fit/predict with that batch_size and a sample count divisible by it), or call reset_states().")
        return list(self.states)

    def reset_states(self, states=None):
        """Forget the carried states (zeros at the next batch), or set them to ``states`` (arrays)."""
        if not self.stateful:
            raise ConfigError(f"{type(self).__name__} layer {self.name!r}: reset_states() needs stateful=True.")
        if states is None:
            self.states = None
            return
        states = states if isinstance(states, (list, tuple)) else [states]
        if len(states) != len(self.state_names):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} has {len(self.state_names)} state(s) "
                             f"({', '.join(self.state_names)}); reset_states received {len(states)}.")
        self.states = [Tensor(backend.asarray(s, dtype=self.dtype)) for s in states]

    def _initial_states(self, initial_state, x):
        if initial_state is None:
            return [None] * len(self.state_names)
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self.state_names):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} takes {len(self.state_names)} initial "
                             f"state(s) ({', '.join(self.state_names)}); received {len(states)}.")
        for name, s in zip(self.state_names, states):
            want = (x.shape[0], self.state_size(name))
            if tuple(s.shape) != want:
                raise ShapeError(f"{type(self).__name__} layer {self.name!r}: initial state {name!r} must have shape "
                                 f"{want}; received {tuple(s.shape)}.")
        return list(states)

    # ------------------------------------------------------------------ config
    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name,
                "use_bias": self.use_bias, **weight_options_config(self, ("kernel", "recurrent", "bias")),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "implementation": self.implementation}

    def __repr__(self):
        return f"{type(self).__name__}({self.units}, name={self.name!r})"


class SimpleRNN(RNN):
    """The Elman network: h_t = activation(x_t W + h_{t-1} U + b); the hidden layer's output

    goes to memory. ``SimpleRNN(units, activation="relu", recurrent_initializer="identity")``
    is the IRNN of Le et al. (2015).

    Input shape: (batch, time, features). Output shape: (batch, units), or (batch, time,
    units) with return_sequences=True.

    Example:
        >>> SimpleRNN(8)(np.ones((2, 5, 3))).shape
        (2, 8)
        >>> SimpleRNN(8, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    def run(self, x, states, mask, reverse):
        hs, h = ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, states[0], self.activation_name,
                               mask, reverse)
        return hs, [h]

    def run_loop(self, x, states, mask, reverse, rec_masks):
        hs, h = simple_rnn_loop(x, self.kernel, self.recurrent_kernel, self.bias, states[0], self.activation_name,
                                mask, reverse, rec_masks)
        return hs, [h]


class LSTM(RNN):
    """Long short-term memory: input, forget and output gates around a memory cell.

    Keras 2 layout and defaults: gate blocks [i, f, c, o], recurrent_activation='sigmoid',
    unit_forget_bias=True (the forget gate's bias starts at 1). ``use_peepholes=True`` adds
    the lecture's peephole connections: the gates also see the cell (i and f see c_{t-1},
    o sees c_t) through learned diagonal weights ``peephole`` (3, units).

    ``return_state=True`` returns [output, h, c]; ``initial_state=[h0, c0]``.

    Example:
        >>> LSTM(16)(np.ones((2, 10, 4))).shape
        (2, 16)
        >>> out, h, c = LSTM(16, return_state=True)(np.ones((2, 10, 4)))
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True,
                 use_peepholes=False, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.name_of(activations.get(recurrent_activation))
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_peepholes = bool(use_peepholes)

    def bias_init(self):
        return lstm_bias_init(self.bias_initializer, self.units, self.unit_forget_bias)

    def build_extra(self, input_shape):
        self.peephole = None
        if self.use_peepholes:
            self.peephole = self.add_weight("peephole", (3, self.units), "zeros")

    def run(self, x, states, mask, reverse):
        hs, h, c = ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1], mask, reverse,
                            self.activation_name, self.recurrent_activation, self.peephole)
        return hs, [h, c]

    def run_loop(self, x, states, mask, reverse, rec_masks):
        if self.peephole is not None:
            raise ConfigError(f"LSTM layer {self.name!r}: use_peepholes=True does not support recurrent_dropout.")
        hs, h, c = lstm_loop(x, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1],
                             self.activation_name, self.recurrent_activation, mask, reverse, rec_masks)
        return hs, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias, "use_peepholes": self.use_peepholes}


class GRU(RNN):
    """Gated recurrent unit: update and reset gates, no separate cell (Keras blocks [z, r, h]).

    ``reset_after=True`` (the default, as in Keras 2.3+ with TensorFlow 2 and PyTorch)
    applies the reset gate after the recurrent product and keeps two bias rows (2, 3*units);
    ``reset_after=False`` is the original (Cho et al.) form with one bias vector.

    Example:
        >>> GRU(16, return_sequences=True)(np.ones((2, 10, 4))).shape
        (2, 10, 16)
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.name_of(activations.get(recurrent_activation))
        self.reset_after = bool(reset_after)

    def bias_shape(self, width):
        return (2, width) if self.reset_after else (width,)

    def run(self, x, states, mask, reverse):
        hs, h = ops.gru(x, self.kernel, self.recurrent_kernel, self.bias, states[0], mask, reverse,
                        self.activation_name, self.recurrent_activation, self.reset_after)
        return hs, [h]

    def run_loop(self, x, states, mask, reverse, rec_masks):
        hs, h = gru_loop(x, self.kernel, self.recurrent_kernel, self.bias, states[0], self.activation_name,
                         self.recurrent_activation, self.reset_after, mask, reverse, rec_masks)
        return hs, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "reset_after": self.reset_after}


class JordanRNN(RNN):
    """The Jordan network: the network's OUTPUT (not its hidden layer) goes to memory.

    h_t = activation(x_t W + y_{t-1} U + b),  y_t = output_activation(h_t W_y + b_y).
    Its output is y (``output_units`` wide); with return_sequences, y for every step.
    ``return_state=True`` returns [output, y_last].

    Example:
        >>> JordanRNN(8, output_units=3)(np.ones((2, 5, 4))).shape
        (2, 3)
    """

    state_names = ("y",)

    def __init__(self, units, output_units, output_activation="softmax", **kwargs):
        super().__init__(units, **kwargs)
        self.output_units_ = check_positive_int(f"JordanRNN layer {self.name!r}", "output_units", output_units)
        self.output_activation = output_activation

    def output_units(self):
        return self.output_units_

    def state_size(self, name):
        return self.output_units_

    def recurrent_rows(self):
        return self.output_units_

    def build_extra(self, input_shape):
        self.output_kernel = self.add_weight("output_kernel", (self.units, self.output_units_),
                                             self.kernel_initializer)
        self.output_bias = self.add_weight("output_bias", (self.output_units_,), "zeros")

    def build(self, input_shape):
        if not self.use_bias:
            raise ConfigError(f"JordanRNN layer {self.name!r} needs use_bias=True.")
        super().build(input_shape)

    def run(self, x, states, mask, reverse):
        hs, ys, y = ops.jordan(x, self.kernel, self.recurrent_kernel, self.bias, self.output_kernel, self.output_bias,
                               states[0], self.activation_name, self.output_activation, mask, reverse)
        return ys, [y]

    def get_config(self):
        return {**super().get_config(), "output_units": self.output_units_,
                "output_activation": self.output_activation}


_KERAS1_RNN_ARGS = (("output_dim", "units"), ("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
                    ("W_regularizer", "kernel_regularizer"), ("U_regularizer", "recurrent_regularizer"),
                    ("b_regularizer", "bias_regularizer"), ("dropout_W", "dropout"), ("dropout_U", "recurrent_dropout"))


def _legacy_rnn_args(layer, kwargs):
    """Keras 1 argument names of recurrent layers -> Keras 2 names, each with a DeprecationWarning."""
    found = {}
    for old, new in _KERAS1_RNN_ARGS:
        value = deprecated_arg(kwargs, old, new, layer)
        if value is not None:
            found[new] = value
    return found
