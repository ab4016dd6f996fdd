"""Input validation and pre-flight checks: silent wrong results are the worst bug a learner meets.

Every check raises a ``threestep.errors`` exception (or warns) that names the layer,
the expected and received value, and what to change.
"""

import numpy

from .. import backend
from ..accel import kernels
from ..errors import ConfigError, DataError, ShapeError, ThreestepHint, warn




def as_array(data, role, caller):
    """``data`` as an array (NumPy or CuPy); lists become arrays; rejects non-numeric data."""
    if data is None:
        raise DataError(f"{caller}: {role} is None. Pass the {role} data as an array.")
    if not backend.is_array(data):
        try:
            data = numpy.asarray(data)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{caller}: could not turn {role} into an array ({exc}). Pass a NumPy array.") from exc
    if data.dtype.kind not in "biuf":
        raise DataError(f"{caller}: {role} must be numeric; received dtype {data.dtype}. Convert it first, "
                        "e.g. x.astype('float32').")
    if data.ndim == 0:
        raise DataError(f"{caller}: {role} must have a batch axis (one row per sample); received a scalar "
                        f"{role}={data!r}. Pass an array, e.g. numpy.array([[...]]) for one sample.")
    return data


def check_finite(data, role, caller, rows=None):
    """NaN/inf in ``data`` raise DataError with the index of the first; ``rows`` (a batch's
    dataset row numbers, e.g. of a memory map) turn its batch index into the dataset row."""
    if data.dtype.kind == "f":
        if kernels.all_finite(data):  # float32 on NumPy: one pass without a boolean copy
            return
        finite = backend.get_array_module(data).isfinite(data)
        if not bool(finite.all()):
            bad = numpy.argwhere(~backend.to_numpy(finite))
            index = tuple(int(i) for i in bad[0])
            where = f"index {index}"
            if rows is not None:
                row = numpy.arange(rows.start or 0, (rows.start or 0) + len(data))[index[0]] \
                    if isinstance(rows, slice) else int(numpy.asarray(rows)[index[0]])
                where = f"dataset row {row} (index {(row,) + index[1:]})"
            raise DataError(
                f"{caller}: {role} contains {len(bad)} NaN or infinite value(s); the first is at {where}. "
                "Remove or impute them before training "
                "(e.g. x[~np.isfinite(x)] = 0, or drop those samples)."
            )


def check_cast(data, role, caller):
    """Values of a wider float type that do not fit the default float dtype: the cast would turn
    them into infinity, which must be reported as an overflow, not as data that was infinite."""
    target = numpy.dtype(backend.floatx())
    if data.dtype.kind != "f" or data.dtype.itemsize <= target.itemsize:
        return
    xp = backend.get_array_module(data)
    limit = numpy.finfo(target).max
    over = xp.isfinite(data) & (xp.abs(data) > limit)
    if bool(over.any()):
        bad = numpy.argwhere(backend.to_numpy(over))
        index = tuple(int(i) for i in bad[0])
        raise DataError(
            f"{caller}: {role} is {data.dtype} with {len(bad)} value(s) beyond {target}'s range (+-{limit:.3g}); "
            f"the first is {float(data[index]):.6g} at index {index}. Casting to {target} (the default float "
            "dtype) would overflow them to infinity. Rescale the data (e.g. standardise it), or use float64 "
            "throughout with threestep.backend.set_floatx('float64').")


def prepare_inputs(x, caller, lazy=False):
    """Validate x and cast it to the default float dtype (uint8 images become float32).

    A list or tuple of arrays is a model with several inputs: each is prepared, and they
    must have the same number of samples. ``lazy=True`` (fit/evaluate/predict) leaves a
    ``numpy.memmap`` on disk: its batches are cast and checked as they are read."""
    if isinstance(x, (list, tuple)) and x and all(hasattr(a, "shape") for a in x):
        arrays = [prepare_inputs(a, caller, lazy) for a in x]
        if len({len(a) for a in arrays}) != 1:
            raise DataError(f"{caller}: the model's inputs must have the same number of samples; received "
                            f"{[len(a) for a in arrays]}.")
        return arrays
    x = as_array(x, "x", caller)
    if len(x) == 0:
        raise DataError(f"{caller}: x is empty (0 samples). Pass at least one sample.")
    if lazy and isinstance(x, numpy.memmap):
        return x  # never copied whole: each batch is cast and checked when read (models.feed)
    if x.dtype != backend.floatx():
        check_cast(x, "x", caller)
        x = x.astype(backend.floatx())
    check_finite(x, "x", caller)
    return x


def prepare_targets(y, n, caller, lazy=False):
    y = as_array(y, "y", caller)
    if len(y) != n:
        raise DataError(
            f"{caller}: x and y must have the same number of samples; received x with {n} samples "
            f"and y with {len(y)}. Pass one label (row of y) per sample of x."
        )
    if lazy and isinstance(y, numpy.memmap):
        return y  # cast and checked per batch (models.feed)
    if y.dtype.kind == "f" and y.dtype != backend.floatx():
        check_cast(y, "y", caller)
        y = y.astype(backend.floatx())
    check_finite(y, "y", caller)
    return y


def check_input_shape(model, x, caller):
    """The data's per-sample shape must match what the first layer was built for."""
    expected = model.input_shape
    if expected is None:
        return
    if isinstance(expected, list) or isinstance(x, list):
        expected = expected if isinstance(expected, list) else [expected]
        x = x if isinstance(x, list) else [x]
        if len(x) != len(expected):
            raise DataError(f"{caller}: model {model.name!r} has {len(expected)} input(s) but received "
                            f"{len(x)} array(s).")
        for i, (a, want) in enumerate(zip(x, expected)):
            got = tuple(a.shape[1:])
            if len(got) != len(want) - 1 or any(w is not None and w != g for w, g in zip(want[1:], got)):
                raise ShapeError(f"{caller}: input {i} of model {model.name!r} expects shape {tuple(want)} but "
                                 f"received data of shape {tuple(a.shape)}.")
        return
    got = tuple(x.shape[1:])
    want = tuple(expected[1:])
    if len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got)):
        return
    first = model.layers[0]
    hint = ""
    if len(got) > len(want) and numpy.prod(got) == numpy.prod([w or 1 for w in want]):
        hint = (f" The sizes agree once flattened: reshape the data with x.reshape(len(x), -1), "
                "or add a Flatten layer first.")
    elif len(got) > len(want):
        hint = " Missing Flatten? Or reshape the data: x.reshape(len(x), -1)."
    raise ShapeError(
        f"{caller}: layer {first.name!r} ({type(first).__name__}) expects input of shape "
        f"{(None,) + want} but received data of shape {tuple(x.shape)}.{hint}"
    )


def _output_layer(model):
    return model._output_layer()


def check_loss_activation(model, loss):
    """Warn or fail on output activation / loss pairs that silently train the wrong thing."""
    last = _output_layer(model)
    activation = getattr(last, "output_activation", None)
    units = model.output_shape[-1] if model.output_shape is not None else None
    name = getattr(loss, "name", "")
    if getattr(loss, "from_logits", False):
        if activation in ("softmax", "sigmoid"):
            warn(
                f"compile: loss {name!r} has from_logits=True but the last layer {last.name!r} already "
                f"applies {activation}; the loss would apply it again. Use activation=None (linear) "
                "or from_logits=False.", ThreestepHint)
        return
    if activation == "softmax" and name == "binary_crossentropy":
        if units == 1:
            raise ConfigError(
                f"compile: the last layer {last.name!r} is a softmax over 1 unit, which always outputs 1.0, "
                "so binary_crossentropy cannot learn. For two classes use Dense(1, activation='sigmoid') "
                "with binary_crossentropy.")
        warn(
            f"compile: softmax output (layer {last.name!r}) with binary_crossentropy treats each of the "
            f"{units} classes as a separate yes/no question and inflates 'accuracy'. For one label per "
            "sample use categorical_crossentropy (one-hot labels) or sparse_categorical_crossentropy "
            "(integer labels).", ThreestepHint)
    if activation == "sigmoid" and name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if units == 1:
            raise ConfigError(
                f"compile: {name} over a single sigmoid unit (layer {last.name!r}) is always 0 and cannot "
                "learn. Use binary_crossentropy for a one-unit sigmoid output.")
        warn(
            f"compile: sigmoid output (layer {last.name!r}) with {name}: the outputs do not sum to one. "
            "Use activation='softmax' on the last layer for single-label classification, or "
            "binary_crossentropy for multi-label outputs.", ThreestepHint)


_HINTED = set()


def check_targets(model, y, loss, caller):
    """Labels must fit the loss and the output layer (shape, integer-ness, range)."""
    out_shape = model.output_shape
    if out_shape is None or getattr(loss, "no_targets", False) or isinstance(out_shape, list):
        return  # several outputs: models.multi_output.pack checks each output's targets
    last = _output_layer(model)
    units = out_shape[-1]
    name = getattr(loss, "name", "")
    where = (f"the last layer {last.name!r} has {units} output unit(s)" if last is not None
             else f"model {model.name!r} outputs {units} unit(s)")
    integer_like = y.dtype.kind in "biu"
    if name == "sparse_categorical_crossentropy":
        if y.ndim == len(out_shape) and y.shape[-1] == units and units > 1:
            raise DataError(
                f"{caller}: sparse_categorical_crossentropy expects integer class labels shaped "
                f"{(len(y),) + tuple(out_shape[1:-1])}, but y has shape {tuple(y.shape)} (one-hot?). Use "
                "loss='categorical_crossentropy' for one-hot labels, or pass y.argmax(-1).")
        values = backend.to_numpy(y)
        if not integer_like and not numpy.all(values == numpy.round(values)):
            bad = values[values != numpy.round(values)].ravel()[0]
            raise DataError(f"{caller}: sparse_categorical_crossentropy needs whole-number class labels; y has "
                            f"fractional values (e.g. {bad:g}). Pass integer labels, e.g. y.astype(int), or use "
                            "categorical_crossentropy for soft targets.")
        lo, hi = values.min(), values.max()
        if lo < 0 or hi >= units:
            raise DataError(
                f"{caller}: labels must be in 0..{units - 1} because {where}; found labels from {lo:g} to "
                f"{hi:g}. Give the last layer {int(hi) + 1} units, or fix the labels.")
        return
    if name == "categorical_crossentropy":
        if (y.ndim == 1 or y.shape[-1] == 1) and units > 1:
            raise DataError(
                f"{caller}: categorical_crossentropy expects one-hot labels of shape ({len(y)}, {units}) but "
                f"y has shape {tuple(y.shape)} (integer class labels?). Either use "
                "loss='sparse_categorical_crossentropy', or convert the labels with "
                f"threestep.utils.to_categorical(y, {units}).")
    if name == "binary_crossentropy":
        values = backend.to_numpy(y)
        if values.min() < 0 or values.max() > 1:
            raise DataError(
                f"{caller}: binary_crossentropy needs targets in [0, 1]; found values from {values.min():g} to "
                f"{values.max():g}. For several classes use (sparse_)categorical_crossentropy with a softmax output.")
    # shape agreement for every dense-target loss
    want = tuple(out_shape[1:])
    got = tuple(y.shape[1:])
    same = len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got))  # None: any length
    if not same and not (want == (1,) and got == ()):
        hint = ""
        if len(want) > len(got):
            hint = " The model's output has more axes than the labels: missing Flatten before the Dense layers?"
        raise ShapeError(
            f"{caller}: the labels y have shape {tuple(y.shape)} but the model outputs {(None,) + want} "
            f"({where}).{hint} Reshape the labels to {(len(y),) + want}, or give the last layer "
            f"{got[-1] if got else 1} unit(s).")
    if name == "mean_squared_error" and getattr(last, "output_activation", None) == "softmax" and "mse" not in _HINTED:
        _HINTED.add("mse")
        warn(
            "Hint: mean squared error on a softmax output trains, but cross-entropy usually trains "
            "much faster (its gradient does not vanish when the output is confidently wrong). Try "
            "loss='categorical_crossentropy'.", ThreestepHint)
