"""Checks of the sizes, counts and weights passed to ``fit`` / ``evaluate`` / ``predict``.

A size that is zero, negative, fractional or a string would otherwise train nothing, be
rounded, or fail deep inside ``range()``; a sample weight of the wrong shape or sign
would broadcast or train the wrong thing. Each check raises a ``threestep.errors``
exception naming the argument, the value received and the fix.
"""
import numbers
import warnings

import numpy

from .. import backend
from ..errors import ConfigError, DataError


def _is_int(value):
    return isinstance(value, (numbers.Integral, numpy.integer)) and not isinstance(value, (bool, numpy.bool_))


def count(value, name, caller, minimum=1, default=None, fix=""):
    """``value`` as an int >= ``minimum`` (None gives ``default``); rejects bools, floats, strings."""
    if value is None:
        return default
    if not _is_int(value):
        if isinstance(value, float) and value.is_integer() and value >= minimum:
            hint = f" Pass {name}={int(value)}."
        else:
            hint = f" {fix}" if fix else ""
        raise ConfigError(f"{caller}: {name} must be an integer >= {minimum}. Received: {name}={value!r} "
                          f"(type {type(value).__name__}).{hint}")
    if value < minimum:
        raise ConfigError(f"{caller}: {name} must be an integer >= {minimum}. Received: {name}={value!r}."
                          + (f" {fix}" if fix else ""))
    return int(value)


def batch_size(value, caller):
    return count(value, "batch_size", caller, 1, 32, "Leave it out for the default of 32, or pass e.g. batch_size=32.")


def epochs(value, initial_epoch, caller="fit"):
    epochs_ = count(value, "epochs", caller, 1, 1, "Pass the number of passes over the data, e.g. epochs=10.")
    start = count(initial_epoch, "initial_epoch", caller, 0, 0,
                  "initial_epoch is the epoch to resume from (0 for a fresh run).")
    if epochs_ == start:
        warnings.warn(f"{caller}: epochs={epochs_} equals initial_epoch={start}: there is nothing left to train. "
                      "epochs is the index of the last epoch (Keras): pass a larger epochs to train more.",
                      RuntimeWarning, stacklevel=3)
    if epochs_ < start:
        raise ConfigError(f"{caller}: epochs={epochs_} is smaller than initial_epoch={start}, so nothing would "
                          f"train. epochs is the index of the last epoch (Keras): pass epochs > {start}.")
    return epochs_, start


def steps(value, name, caller):
    return count(value, name, caller, 1, None, f"Pass the number of batches, e.g. {name}=100, or None.")


def fraction(value, name, caller):
    """A number in [0, 1) (0 or None: off)."""
    if value is None:
        return 0.0
    if not isinstance(value, (numbers.Real, numpy.floating)) or isinstance(value, bool) \
            or not 0 <= value < 1:
        raise ConfigError(f"{caller}: {name} must be a number in [0, 1), the fraction of the samples held out. "
                          f"Received: {name}={value!r}. Pass e.g. {name}=0.2.")
    return float(value)


def validation_freq(value, caller="fit"):
    """An int >= 1 (validate every n epochs) or a collection of 1-based epoch numbers."""
    if _is_int(value):
        return count(value, "validation_freq", caller, 1)
    if isinstance(value, (list, tuple, set, range)) and value and all(_is_int(v) and v >= 1 for v in value):
        return frozenset(int(v) for v in value)
    raise ConfigError(f"{caller}: validation_freq must be an integer >= 1 (validate every n epochs) or a list of "
                      f"1-based epoch numbers. Received: validation_freq={value!r}. Pass e.g. validation_freq=1.")


def validates_at(freq, epoch, initial_epoch):
    """Whether epoch (0-based) is a validation epoch for ``validation_freq``."""
    if isinstance(freq, frozenset):
        return epoch + 1 in freq
    return (epoch + 1 - initial_epoch) % freq == 0


def sample_weight(sw, n, caller, role="sample_weight", temporal=False):
    """Per-sample weights: shape (n,) (or (n, 1)), finite and >= 0; returns the float array.
    With ``temporal`` (compile(sample_weight_mode='temporal')) also (n, steps): one per time step."""
    if sw is None:
        return None
    try:
        arr = sw if backend.is_array(sw) else numpy.asarray(sw)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{caller}: {role} could not be turned into an array ({exc}). Pass one number per "
                        "sample, shape (n_samples,).") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{caller}: {role} must be numeric, one weight per sample; received dtype {arr.dtype}. "
                        "Pass a float array of shape (n_samples,).")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    if temporal and arr.ndim == 2 and len(arr) == n:
        pass  # one weight per (sample, step)
    elif arr.ndim != 1 or len(arr) != n:
        raise DataError(f"{caller}: {role} must have shape ({n},), one weight per sample; received shape "
                        f"{tuple(arr.shape)}. For per-class weights use class_weight={{class: weight}}.")
    if isinstance(arr, numpy.memmap):
        return arr  # checked batch by batch as it is read
    arr = arr.astype(backend.floatx()) if arr.dtype != backend.floatx() else arr
    host = backend.to_numpy(arr)
    if not numpy.isfinite(host).all():
        at = _first(~numpy.isfinite(host))
        raise DataError(f"{caller}: {role} contains NaN or infinite values; the first is at sample {at[0]} "
                        f"({host[at]!r}). Pass finite weights >= 0.")
    if (host < 0).any():
        at = _first(host < 0)
        index = ", ".join(str(i) for i in at)
        raise DataError(f"{caller}: {role} must be >= 0 (a negative weight rewards errors); received "
                        f"{role}[{index}]={host[at]:g}. Pass weights >= 0 (0 ignores a sample).")
    return arr


def _first(bad):
    """The index (a tuple) of the first True entry of ``bad``."""
    return tuple(int(i) for i in numpy.argwhere(bad)[0])


def class_weight(value, units, caller="fit"):
    """``{class: weight}`` with integer classes in 0..units-1 and finite weights >= 0, or 'balanced'."""
    if value is None or (isinstance(value, str) and value == "balanced"):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{caller}: class_weight must be a dict {{class_index: weight}} or 'balanced'. "
                          f"Received: class_weight={value!r}.")
    clean = {}
    for key, weight in value.items():
        if not _is_int(key):
            raise ConfigError(f"{caller}: class_weight keys must be integer class indices 0..{units - 1}; received "
                              f"the key {key!r} (type {type(key).__name__}). Use e.g. class_weight={{0: 1.0, 1: 5.0}}.")
        if units is not None and not 0 <= key < max(units, 2):
            raise ConfigError(f"{caller}: class_weight names class {key!r}, but the model's output has classes "
                              f"0..{max(units, 2) - 1}. Remove that key or fix the class index.")
        if not isinstance(weight, (numbers.Real, numpy.floating, numpy.integer)) or isinstance(weight, bool) \
                or not numpy.isfinite(weight) or weight < 0:
            raise ConfigError(f"{caller}: class_weight[{key!r}] must be a finite number >= 0. Received: "
                              f"{weight!r}.")
        clean[int(key)] = float(weight)
    return clean


def shared_optimizer(model, caller):
    """One optimizer object trains one model: its slots are kept by position, so a second
    model (even with the same parameter count) would read and overwrite the first one's state."""
    import weakref  # noqa: PLC0415

    optimizer = model.optimizer
    owner_ref = getattr(optimizer, "_threestep_model", None)
    owner = owner_ref() if owner_ref is not None else None
    if owner is not None and owner is not model:
        raise ConfigError(
            f"{caller}: the optimizer {type(optimizer).__name__} passed to model {model.name!r}.compile() already "
            f"trains model {owner.name!r}; its moment/velocity state belongs to that model's weights. Give each "
            "model its own optimizer, e.g. compile(optimizer=Adam()) or optimizers.get(serialize(opt)).")
    optimizer._threestep_model = weakref.ref(model)


def seed_on_resume(model, seed, initial_epoch):
    """Whether ``fit(seed=...)`` should reseed: not when resuming a loaded checkpoint.

    A checkpoint restores the random generators, so ``fit(initial_epoch=k)`` continues the
    stream of the interrupted run (bit-identical resume). Reseeding would silently replace
    that stream, so the restored state is kept and a warning says so."""
    if seed is None:
        return False
    state = getattr(model, "_training_state", None)
    if initial_epoch and isinstance(state, dict) and state.get("rng") is not None:
        from .checks import ThreestepHint  # noqa: PLC0415

        warnings.warn(
            f"fit: seed={seed!r} is not applied because model {model.name!r} was loaded from a checkpoint "
            f"and resumes at initial_epoch={initial_epoch}: the random state saved with it is kept, so the run "
            "continues exactly as the interrupted one would have. Call threestep.utils.set_seed(seed) "
            "before fit to start a new random stream instead.", ThreestepHint, stacklevel=3)
        return False
    return True
