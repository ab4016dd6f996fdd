"""``RNN(cell)``: Keras 2's generic recurrent layer, which loops a cell over the time axis.

``threestep.layers.RNN`` is two things, as in Keras: the base class of SimpleRNN, LSTM, GRU
and JordanRNN, and the layer ``RNN(cell, ...)``. Calling ``RNN(...)`` itself returns a
``CellRNN`` (``RNN.__new__`` picks it), a subclass, so ``isinstance(LSTM(8), RNN)`` and
``isinstance(RNN(cell), RNN)`` both hold and the fused layers keep their own code. The
subclass's class name is ``"RNN"``: configs, saved files, summaries and the layer registry
call it what Keras calls it.
"""
import math

from .. import backend, ops
from ..autograd import Config, Function, Tensor, using_config
from ..errors import ConfigError, NotBuiltError, ShapeError
from .base import LAYER_CLASSES, Layer, _call_spec
from .recurrent import RNN, _mask_of, name_cells_after
from .rnn_cells import BUILT_IN_CELLS
from .rnn_stacked import _call_cell, _flatten, as_cell, cells_of, output_shape_of, state_shapes


class _Unstack(Function):
    """(batch, time, ...) -> one (batch, ...) Tensor per step, as one op (backward stacks)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        return tuple(xp.ascontiguousarray(xp.moveaxis(x, 1, 0)))

    def backward(self, *gys):
        return backend.get_array_module(gys[0]).stack(gys, axis=1)


def _steps(x):
    return list(_Unstack()(x)) if x.shape[1] > 1 else [ops.getitem(x, (slice(None), 0))]


class CellRNN(RNN):
    """Runs a cell over the time axis: Keras 2's ``RNN(cell, ...)``.

    ``cell`` is a built-in cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``), a list of
    cells (stacked: ``StackedRNNCells``), or your own cell: any Layer with ``state_size``
    (an int, or a list of ints for several states) and ``call(inputs, states)`` returning
    ``(output, new_states)``; optionally ``training=`` and ``constants=`` arguments, an
    ``output_size`` (default: the first state's size) and ``get_initial_state(inputs,
    batch_size, dtype)`` (default: zeros).

    Arguments as Keras: ``return_sequences``, ``return_state`` (then ``[output, *states]``;
    a stack's states come flat, cell after cell, where tf-keras nests them per cell),
    ``go_backwards`` (outputs in processing order), ``stateful`` (the final states start the
    next batch; ``reset_states()``), ``time_major`` (inputs and sequence outputs are (time,
    batch, ...); the output carries no mask then). ``unroll`` has no effect (the loop is
    always a Python loop over steps) and is kept for the config. Call arguments:
    ``initial_state`` (one tensor per state; for a stack flat or nested per cell),
    ``constants`` (passed to every step's ``call``; the cell is built for the step input
    only, as in tf-keras 2),
    ``mask`` and ``training``.

    Masks (``Embedding(mask_zero=True)``, ``Masking``), as tf-keras: a masked step carries
    the states unchanged and outputs the previous step's output again (zeros before the
    first real step); ``zero_output_for_mask=True`` outputs zeros instead (what Keras's
    ``Bidirectional`` sets). With ``return_sequences`` the input mask travels on with the
    output unchanged, even with ``go_backwards`` (as tf-keras does). This differs from
    threestep's ``LSTM``/``GRU``/``SimpleRNN`` layers, which output zeros at masked steps.

    Cost: a single built-in cell whose activations the fused ops know runs, without a mask,
    constants or active dropout, through the same whole-sequence op as its layer (same
    results, same speed). Anything else runs the generic loop: one call of the cell per
    step, each a dozen or so autograd ops, so several times slower than the fused op on
    long sequences, with backpropagation through time done by the engine.

    Example:
        >>> RNN(LSTMCell(8))(np.ones((2, 5, 3))).shape
        (2, 8)
        >>> RNN([GRUCell(4), GRUCell(6)], return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 6)
    """

    supports_masking = True

    def __init__(self, cell=None, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, time_major=False, zero_output_for_mask=False, **kwargs):
        if "units" in kwargs:
            raise ConfigError(f"RNN takes a cell, not units. Received: units={kwargs['units']!r}. Use "
                              f"SimpleRNN({kwargs['units']!r}) or RNN(SimpleRNNCell({kwargs['units']!r})).")
        if cell is None:
            raise ConfigError("RNN needs a cell: RNN(SimpleRNNCell(units)), RNN(LSTMCell(units)), RNN([cell1, "
                              "cell2]) or your own cell layer. Received: cell=None.")
        Layer.__init__(self, **kwargs)  # RNN.__init__ sets up the fused layers' weights, not wanted here
        self.cell = as_cell(cell, f"RNN layer {self.name!r}")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll, self.time_major = bool(unroll), bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None  # stateful: the last batch's final states (Tensors, no graph)
        self._time_aligned_reverse = False  # set by Bidirectional on its backward copy
        self._state_shapes = state_shapes(self.cell.state_size, f"RNN layer {self.name!r}")
        if self.makes_own_cell:
            name_cells_after(self, cell)

    makes_own_cell = False  # True for a user's RNN subclass that hands RNN.__init__ a cell (layers.recurrent)

    # ------------------------------------------------------------------ weights: the cell's
    @property
    def weights(self):
        return self.cell.weights

    @property
    def trainable_weights(self):
        return self.cell.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        return self.cell.non_trainable_weights if self.trainable else self.cell.weights

    def get_weights(self):
        return self.cell.get_weights()

    def set_weights(self, weights):
        self.cell.set_weights(weights)

    def count_params(self):
        if not self.built:
            raise NotBuiltError(f"{self._where()} is not built yet, so it has no weights to count. Give it an "
                                "input_shape= (or call it on data) first.")
        return int(sum(w.size for w in self.weights))

    def call_losses(self):
        return super().call_losses() + [t for c in cells_of(self.cell) for t in c.call_losses()]

    @property
    def units(self):
        """The width of one step's output (what summaries count the FLOPs of)."""
        return math.prod(output_shape_of(self.cell))

    @property
    def gates(self):
        return getattr(self.cell, "gates", 1)

    # ------------------------------------------------------------------ shapes and build
    def _where(self):
        return f"RNN layer {self.name!r}"

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list):
            raise ShapeError(f"{self._where()} takes one input tensor; pass states as initial_state=[...] and "
                             "constants as constants=[...].")
        if len(input_shape) < 3:
            layout = "(time, batch, features)" if self.time_major else "(batch, time, features)"
            raise ShapeError(f"{self._where()} expects a sequence {layout}, at least 3-D; received shape "
                             f"{tuple(input_shape)}. Reshape it, e.g. x[..., None] for one feature per step.")
        built = getattr(self, "_step_features", None)
        if built is not None and tuple(input_shape[2:]) != built:
            raise ShapeError(f"{self._where()} was built for steps of shape {built} but received input shape "
                             f"{tuple(input_shape)} (steps of shape {tuple(input_shape[2:])}).")

    def build(self, input_shape):
        batch = input_shape[1] if self.time_major else input_shape[0]
        step = (batch,) + tuple(input_shape[2:])
        if not self.cell.built:
            self.cell.build(step)  # the step's shape only, also with constants (as tf-keras 2)
            self.cell.built = True
        self._step_features = tuple(input_shape[2:])

    def build_for(self, input_shape, **extra_shapes):
        out = super().build_for(input_shape, **extra_shapes)
        shapes = extra_shapes.get("initial_state")
        if shapes is not None:
            self._check_states(shapes if isinstance(shapes, list) else [shapes], None)
        return out

    def compute_output_shape(self, input_shape):
        n, t = (input_shape[1], input_shape[0]) if self.time_major else (input_shape[0], input_shape[1])
        step = output_shape_of(self.cell)
        if self.return_sequences:
            out = ((t, n) if self.time_major else (n, t)) + step
        else:
            out = (n,) + step
        if self.return_state:
            return [out] + [(n,) + s for s in self._state_shapes]
        return out

    def __call__(self, inputs, training=None, **kwargs):
        constants = kwargs.get("constants")
        if constants is not None:  # refused before the cell is built
            self._check_takes_constants()
        return super().__call__(inputs, training=training, **kwargs)

    # ------------------------------------------------------------------ states
    def _check_states(self, shapes, batch):
        want = self._state_shapes
        if len(shapes) != len(want):
            raise ShapeError(f"{self._where()}: initial_state takes {len(want)} tensor(s), one per state of the cell "
                             f"(state_size={self.cell.state_size!r}); received {len(shapes)}. Pass a list of "
                             f"{len(want)} arrays of shapes {[(batch,) + s for s in want]}.")
        for i, (got, shape) in enumerate(zip(shapes, want)):
            got = tuple(got)
            if got[1:] != shape or (batch is not None and got[0] is not None and got[0] != batch):
                raise ShapeError(f"{self._where()}: initial_state[{i}] must have shape {(batch,) + shape} "
                                 f"(batch, state size); received {got}. The cell's state_size is "
                                 f"{self.cell.state_size!r}.")

    def _initial_states(self, initial_state, x):
        batch = x.shape[0]
        if initial_state is None:
            get = getattr(self.cell, "get_initial_state", None)
            states = get(inputs=None, batch_size=batch, dtype=x.dtype) if get is not None else None
            if states is None:
                xp = backend.get_array_module(x.data)
                states = [Tensor(xp.zeros((batch,) + s, dtype=x.dtype)) for s in self._state_shapes]
        else:
            states = initial_state
        states = list(_flatten(states))
        states = [s if isinstance(s, Tensor) else Tensor(backend.asarray(s, dtype=x.dtype)) for s in states]
        self._check_states([s.shape for s in states], batch)
        return states

    def reset_states(self, states=None):
        """Forget the carried states (zeros at the next batch), or set them to ``states`` (arrays)."""
        if not self.stateful:
            raise ConfigError(f"{self._where()}: reset_states() needs stateful=True.")
        if states is None:
            self.states = None
            return
        states = [Tensor(backend.asarray(s, dtype=self.dtype)) for s in _flatten(states)]
        self._check_states([s.shape for s in states], states[0].shape[0] if states else None)
        self.states = states

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=None, initial_state=None, constants=None, mask=None):
        mask = _mask_of(inputs, mask)
        x = ops.transpose(inputs, (1, 0) + tuple(range(2, inputs.ndim))) if self.time_major else inputs
        if mask is not None:
            mask = backend.get_array_module(x.data).asarray(mask).astype(bool)
            if tuple(mask.shape) != tuple(x.shape[:2]):
                raise ShapeError(f"{self._where()}: the mask has shape {tuple(mask.shape)} but the input's (batch, "
                                 f"time) is {tuple(x.shape[:2])}.")
        if self.stateful and initial_state is None and self.states is not None:
            initial_state = self._carried_states(x)
        states = self._initial_states(initial_state, x)
        if constants is not None and not isinstance(constants, (list, tuple)):
            constants = [constants]
        training = bool(Config.training if training is None else training)
        reverse = self.go_backwards or self._time_aligned_reverse
        run = self._fused(x, states, mask, constants, training, reverse) or \
            self._loop(x, states, mask, constants, training, reverse)
        seq, last, finals = run
        if self.stateful:
            self.states = [Tensor(f.data) for f in finals]  # carried to the next batch, without its graph
        if self.return_sequences:
            output = seq
            if self.time_major:
                output = ops.transpose(output, (1, 0) + tuple(range(2, output.ndim)))
            elif mask is not None:
                output.mask = mask
        else:
            output = last
        return [output] + list(finals) if self.return_state else output

    def _fused(self, x, states, mask, constants, training, reverse):
        """The cell's whole-sequence op, where it computes exactly what the loop would."""
        cell = self.cell
        if type(cell) not in BUILT_IN_CELLS or mask is not None or constants is not None or not cell.fusable():
            return None
        if training and (cell.dropout or cell.recurrent_dropout):
            return None
        hs, finals = cell.whole_sequence(x, states, reverse)
        if self.go_backwards and not self._time_aligned_reverse:
            hs = ops.getitem(hs, (slice(None), slice(None, None, -1)))  # Keras: outputs in processing order
        return hs, finals[0], finals

    def _loop(self, x, states, mask, constants, training, reverse):
        cell = self.cell
        if constants is not None:
            self._check_takes_constants()
        for c in cells_of(cell):
            for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
                if hasattr(c, reset):
                    getattr(c, reset)()
        zero_masked = self.zero_output_for_mask or (self._time_aligned_reverse and self.return_sequences)
        steps = _steps(x)
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        outputs, previous = [], None
        with using_config("training", training):
            with _calling(cells_of(cell)):
                for n, t in enumerate(order):
                    output, new = _call_cell(cell, steps[t], list(states), training, constants)
                    new = list(_flatten(new))
                    if n == 0:
                        self._check_step(output, new, x.shape[0])
                    if mask is not None:
                        m = mask[:, t]
                        if previous is None or zero_masked:
                            previous = Tensor(backend.get_array_module(output.data).zeros(output.shape, output.dtype))
                        output = ops.where(_column(m, output), output, previous)
                        new = [ops.where(_column(m, s), s, old) for s, old in zip(new, states)]
                    states, previous = new, output
                    outputs.append(output)
        last = outputs[-1]
        if self._time_aligned_reverse:
            outputs = outputs[::-1]  # position t holds the output after consuming step t
        seq = ops.stack(outputs, axis=1) if self.return_sequences else None
        return seq, last, states

    def _check_takes_constants(self):
        spec = _call_spec(type(self.cell), "call")
        if "constants" not in spec.names and not spec.var_kw:
            raise ConfigError(f"{self._where()} was called with constants, but its cell {type(self.cell).__name__}'s "
                              "call() takes no `constants` argument. Add `constants=None` to the cell's call, or "
                              "call the RNN without constants.")

    def _check_step(self, output, new, batch):
        where, cell = self._where(), type(self.cell).__name__
        if not isinstance(output, Tensor):
            raise ConfigError(f"{where}: the cell {cell}'s call() must return (output, new_states) with output a "
                              f"tensor; received output of type {type(output).__name__}.")
        got = [tuple(s.shape) for s in new]
        want = [(batch,) + s for s in self._state_shapes]
        if got != want:
            raise ShapeError(f"{where}: the cell {cell}'s call() returned states of shapes {got}, but its "
                             f"state_size={self.cell.state_size!r} means {want}. Return (output, [new states]) with "
                             "one tensor per state, in the order of state_size.")

    # ------------------------------------------------------------------ config
    def get_config(self):
        from . import serialize_layer  # noqa: PLC0415

        config = {**Layer.get_config(self), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "time_major": self.time_major}
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        config["cell"] = serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "cell" not in config and cls is not CellRNN:  # a user's RNN subclass that makes its cell itself
            return cls(**config)
        config["cell"] = as_cell(config["cell"], "RNN.from_config", custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"RNN({self.cell!r}, name={self.name!r})"


class _calling:
    """Marks cells as inside a call while the loop runs, so their ``add_loss`` counts (as in Layer.invoke)."""

    def __init__(self, cells):
        self.cells = cells

    def __enter__(self):
        for c in self.cells:
            c.losses, c._in_call = [], True

    def __exit__(self, *exc):
        for c in self.cells:
            c._in_call = False


def _column(m, like):
    """A (batch,) boolean mask shaped to broadcast over a (batch, ...) tensor."""
    return m.reshape((m.shape[0],) + (1,) * (like.ndim - 1))


# Keras's class name: configs, saved files, summaries and the layer registry say "RNN", and
# loading an "RNN" config builds this class.
CellRNN.__name__ = "RNN"
LAYER_CLASSES["RNN"] = LAYER_CLASSES.pop("CellRNN")

__all__ = ["CellRNN"]
