"""``StackedRNNCells``, and what ``RNN(cell)`` checks and reads of any cell.

A cell (Keras's protocol) is a Layer with ``state_size`` (an int, or a possibly nested list
of ints, one per state) and ``call(inputs, states)`` returning ``(output, new_states)``;
``output_size`` and ``get_initial_state`` are optional. These helpers turn a cell's sizes
into shapes and refuse anything that is not a cell with an error that says what is missing.
"""
import numbers

from .. import backend
from ..autograd import Tensor
from ..errors import ConfigError, NotBuiltError, ShapeError
from .base import Layer, _call_spec
from .symbolic import flatten as _flatten  # nested lists of states, flat


def _size(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def state_shapes(state_size, where):
    """One shape (without the batch axis) per state of a cell with ``state_size``."""
    if _size(state_size):
        return [(int(state_size),)]
    if isinstance(state_size, (list, tuple)) and state_size:
        return [shape for item in state_size for shape in state_shapes(item, where)]
    raise ConfigError(f"{where}: a cell's state_size must be a positive int or a list of them (one per state); "
                      f"received state_size={state_size!r}. E.g. self.state_size = units, or [units, units] for "
                      "two states.")


def output_shape_of(cell):
    """The shape of one step's output (no batch axis): ``output_size``, else the first state's."""
    size = getattr(cell, "output_size", None)
    if size is None:
        return state_shapes(cell.state_size, type(cell).__name__)[0]
    if _size(size):
        return (int(size),)
    if isinstance(size, (list, tuple)) and all(_size(s) for s in size):
        return tuple(int(s) for s in size)
    raise ConfigError(f"Cell {cell.name!r} ({type(cell).__name__}): output_size must be a positive int; received "
                      f"output_size={size!r}.")


def check_cell(cell, where):
    """Raise ConfigError unless ``cell`` is a Layer with ``state_size`` and its own ``call``."""
    from .recurrent import RNN  # noqa: PLC0415

    kind = type(cell).__name__
    if isinstance(cell, RNN) or hasattr(cell, "forward_layer"):
        raise ConfigError(f"{where}: the cell argument received the recurrent layer {cell.name!r} ({kind}), not a "
                          "cell. Use that layer directly, or pass a cell: SimpleRNNCell(units), LSTMCell(units), "
                          "GRUCell(units).")
    if not isinstance(cell, Layer):
        raise ConfigError(f"{where}: cell must be a cell layer (a Layer with state_size and call(inputs, states)) or "
                          f"a list of them; received {cell!r} (type {kind}). Use e.g. RNN(LSTMCell(units)); for a "
                          "layer of `units` units without a cell, use SimpleRNN(units), LSTM(units) or GRU(units).")
    if type(cell).call is Layer.call:
        raise ConfigError(f"{where}: the cell {cell.name!r} ({kind}) has no call method. Define "
                          "call(self, inputs, states) returning (output, new_states).")
    if not hasattr(cell, "state_size"):
        raise ConfigError(f"{where}: the cell {cell.name!r} ({kind}) has no state_size attribute. Set it in the "
                          "cell's __init__: self.state_size = units (an int, or a list of ints, one per state).")
    state_shapes(cell.state_size, f"{where}: cell {cell.name!r} ({kind})")


def as_cell(cell, where, custom_objects=None):
    """A cell from a cell, a list of cells (stacked) or their configs (``{"class_name", "config"}``)."""
    from . import deserialize_layer  # noqa: PLC0415

    if isinstance(cell, dict) and "class_name" in cell:
        cell = deserialize_layer(cell, custom_objects)
    elif isinstance(cell, (list, tuple)):
        cell = StackedRNNCells([as_cell(c, where, custom_objects) for c in cell])
    check_cell(cell, where)
    return cell


def cells_of(cell):
    """The cell and, for a stack, every cell inside it."""
    return [cell] + [c for inner in getattr(cell, "cells", []) for c in cells_of(inner)]


def _call_cell(cell, inputs, states, training, constants):
    spec = _call_spec(type(cell), "call")
    kwargs = {"training": training} if spec.training or spec.var_kw else {}
    if constants is not None and ("constants" in spec.names or spec.var_kw):
        kwargs["constants"] = constants
    return cell.call(inputs, states, **kwargs)


class StackedRNNCells(Layer):
    """Cells run one after another within each time step: a deep RNN in one ``RNN`` layer.

    Each cell's output is the next cell's input; the states are every cell's states in
    order (``state_size`` is the tuple of the cells' sizes); the output is the last cell's.
    ``RNN([cell1, cell2])`` builds one. The weights are the cells' weights, in order.

    Example:
        >>> cells = StackedRNNCells([LSTMCell(8), GRUCell(4)])
        >>> cells.state_size
        ([8, 8], 4)
        >>> RNN(cells)(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        where = f"StackedRNNCells {self.name!r}"
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ConfigError(f"{where} takes a non-empty list of cells; received {cells!r}.")
        self.cells = [as_cell(c, where) for c in cells]

    @property
    def state_size(self):
        return tuple(c.state_size for c in self.cells)

    @property
    def output_size(self):
        shape = output_shape_of(self.cells[-1])
        return shape[0] if len(shape) == 1 else shape

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Every cell's initial states, cell by cell (zeros where a cell has no ``get_initial_state``)."""
        batch = inputs.shape[0] if inputs is not None else batch_size
        out = []
        for cell in self.cells:
            get = getattr(cell, "get_initial_state", None)
            states = get(inputs=inputs, batch_size=batch, dtype=dtype) if get is not None else None
            if states is None:
                states = [Tensor(backend.get_xp().zeros((batch,) + s, dtype=dtype or self.dtype))
                          for s in state_shapes(cell.state_size, cell.name)]
            out.append(states)
        return out

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [step shape, *constants shapes]: the cells see the step (Keras)
            input_shape = input_shape[0]
        for cell in self.cells:
            if not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (input_shape[0],) + output_shape_of(cell)

    def call(self, inputs, states, constants=None, training=None):
        flat, new_states = list(_flatten(states)), []
        for cell in self.cells:
            count = len(state_shapes(cell.state_size, cell.name))
            own, flat = flat[:count], flat[count:]
            inputs, new = _call_cell(cell, inputs, own, training, constants)
            new_states.append(list(_flatten(new)))
        return inputs, new_states

    def __call__(self, inputs, states=None, training=None, **kwargs):
        """One step on data: ``output, new_states = cells(x_t, states)`` (states default to zeros)."""
        x = inputs if isinstance(inputs, Tensor) else Tensor(backend.asarray(inputs))
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
            self.built = True
        states = self.get_initial_state(x) if states is None else states
        states = [s if isinstance(s, Tensor) else Tensor(backend.asarray(s)) for s in _flatten(states)]
        return self.call(x, states, training=training, **kwargs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + output_shape_of(self.cells[-1])

    # ------------------------------------------------------------------ weights: the cells'
    @property
    def weights(self):
        return [w for c in self.cells for w in c.weights]

    @property
    def trainable_weights(self):
        return [w for c in self.cells for w in c.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for c in self.cells for w in c.non_trainable_weights]

    def get_weights(self):
        return [w for c in self.cells for w in c.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self.weights):
            raise ShapeError(f"StackedRNNCells {self.name!r} has {len(self.weights)} weight arrays (its cells' in "
                             f"order) but set_weights received {len(weights)}.")
        for cell in self.cells:
            n = len(cell.weights)
            cell.set_weights(weights[:n])
            weights = weights[n:]

    def count_params(self):
        if not self.built:
            raise NotBuiltError(f"StackedRNNCells {self.name!r} is not built yet, so it has no weights to count.")
        return int(sum(w.size for w in self.weights))

    def get_config(self):
        from . import serialize_layer  # noqa: PLC0415

        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [as_cell(c, "StackedRNNCells.from_config", custom_objects) for c in config["cells"]]
        return cls(**config)


__all__ = ["StackedRNNCells"]
