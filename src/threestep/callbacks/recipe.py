"""The training recipe's callbacks: early stopping, learning-rate control, NaN guard, lambdas.

Each one talks to ``fit`` only through ``logs`` and ``model.stop_training`` (and, for the
learning-rate callbacks, ``model.optimizer.learning_rate``). Each resets its state in
``on_train_begin``, so one object can be passed to several ``fit`` calls.

Keras 2.3 semantics and argument names throughout; Keras 3 additions
(``EarlyStopping(start_from_epoch=)``, the best epoch in the restore message) where noted.

Learning rates: the callbacks read and write the optimizer's *base* rate,
``optimizer.learning_rate``, as Keras 2 reads and writes ``optimizer.lr``. When that is a
schedule (a callable of the step), they read its value at ``optimizer.iterations`` and
setting a new rate replaces the schedule with that constant (a warning says so). The
optimizer's ``decay`` keeps applying on top of the base rate, as in Keras 2.
"""
import inspect
import math
import numbers
import operator
import warnings

from ..errors import ConfigError
from .base import Callback


# --------------------------------------------------------------------------- helpers
def _check_number(owner, name, value, signed=False):
    """A finite number (>= 0 unless ``signed``): a callback's threshold or rate."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or (value < 0 and not signed):
        raise ConfigError(f"{owner}: {name} must be a finite number{'' if signed else ' >= 0'}. Received: "
                          f"{name}={value!r}.")


def _resolve_mode(mode, monitor, owner):
    """'min' or 'max'. 'auto' means max when 'acc' is in the monitor's name (Keras 2)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", RuntimeWarning, stacklevel=3)
        mode = "auto"
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def _monitor_value(logs, monitor, what):
    """``logs[monitor]`` as a float, or None with a RuntimeWarning that lists the available keys."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(f"{what} conditioned on metric `{monitor}` which is not available. "
                      f"Available metrics are: {','.join(logs)}", RuntimeWarning, stacklevel=3)
        return None
    return float(value)


def _optimizer(model, owner):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "learning_rate"):
        raise ConfigError(f"{owner}: the model's optimizer must have a 'learning_rate' attribute; "
                          f"compile the model first. Received: optimizer={opt!r}.")
    return opt


def get_learning_rate(optimizer):
    """The optimizer's base learning rate now: the float, or the schedule's value at this step.

    ``decay`` is not applied: it acts on top of the base rate (``optimizer.current_lr()``
    gives the rate the next step will use, decay included).
    """
    lr = optimizer.learning_rate
    if callable(lr):
        return float(lr(getattr(optimizer, "iterations", 0)))
    return float(lr)


def set_learning_rate(optimizer, value, owner):
    """Set the base learning rate to the float ``value`` (replacing a schedule, with a warning)."""
    if callable(optimizer.learning_rate):
        warnings.warn(f"{owner}: the optimizer's learning_rate was a schedule "
                      f"({optimizer.learning_rate!r}); it is replaced by the constant {value:.6g}.",
                      UserWarning, stacklevel=3)
    optimizer.learning_rate = float(value)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------- EarlyStopping
class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    An epoch *improves* iff ``op(current - min_delta, best)``, where ``op`` is ``>`` in max
    mode and ``<`` in min mode (min_delta's sign is flipped in min mode, so an improvement
    must beat the best by more than ``|min_delta|``). ``wait`` counts the epochs since the
    last improvement and resets on one; training stops when ``wait >= patience``, so
    ``patience=0`` stops at the first epoch that does not improve.

    Args:
        monitor: the key of the epoch logs to watch, e.g. 'val_loss', 'val_accuracy'.
        min_delta: how much a change must exceed to count as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints "Epoch 00005: early stopping" at the end of training.
        mode: 'min', 'max' or 'auto' (max when 'acc' is in ``monitor``, else min).
        baseline: the value to beat; it is the starting ``best``, so epochs that do not
            beat it count towards ``patience`` from the first epoch on.
        restore_best_weights: when it stops training, set the weights back to those at
            the end of the best epoch and print "Restoring model weights from the end of
            the best epoch: 3." (1-based, as Keras 3 prints it) when ``verbose > 0``, as
            Keras does. As in Keras 2.3, nothing is restored when
            training runs to the last epoch without stopping. If no epoch beat
            ``baseline``, the epoch with the best monitored value is restored (Keras 3).
        start_from_epoch: epochs before this one (0-based) are not monitored (warm-up).

    Attributes:
        stopped_epoch: the 0-based epoch at which it stopped training (0 if it did not).
        best_epoch: the 0-based epoch whose weights ``restore_best_weights`` restores
            (the best one), or None while no epoch has been monitored.
        best: the best monitored value (starts at ``baseline`` or ±inf).
        wait: epochs since the last improvement.

    Example:
        >>> stop = EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True)
        >>> history = model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
        >>> len(history.history['loss'])  # epochs actually run
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(patience, numbers.Integral) or patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be an integer >= 0. Received: patience={patience!r}.")
        _check_number("EarlyStopping", "min_delta", min_delta, signed=True)  # its sign is ignored
        if not isinstance(start_from_epoch, numbers.Integral) or start_from_epoch < 0:
            raise ConfigError("EarlyStopping: start_from_epoch must be an integer >= 0. "
                              f"Received: start_from_epoch={start_from_epoch!r}.")
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.monitor_op = operator.gt if self.mode == "max" else operator.lt
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = None
        self.best_weights = None
        self.best = self.baseline if self.baseline is not None else (
            -math.inf if self.mode == "max" else math.inf)
        self._stopped = False
        self._improved = False  # has any epoch improved on the starting best (baseline)?
        self._fallback = None   # the best value seen while nothing beat the baseline

    def on_train_begin(self, logs=None):
        self._reset()

    def get_monitor_value(self, logs):
        return _monitor_value(logs, self.monitor, "Early stopping")

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.monitor_op(current - self.min_delta, self.best):
            self.best = current
            self.wait = 0
            self._improved = True
            self._remember(epoch)
            return
        if not self._improved and not math.isnan(current) and (
                self._fallback is None or self.monitor_op(current, self._fallback)):
            # Nothing has beaten the baseline yet: keep the best epoch so far to restore.
            self._fallback = current
            self._remember(epoch)
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self._stopped = True
            self.model.stop_training = True
            if self.restore_best_weights:
                self._restore()

    def _remember(self, epoch):
        self.best_epoch = epoch
        if self.restore_best_weights:
            self.best_weights = self.model.get_weights()

    def _restore(self):
        if self.best_weights is None:
            warnings.warn(f"EarlyStopping: restore_best_weights=True but no epoch had a comparable value "
                          f"of `{self.monitor}` (NaN?); the weights are not restored.", RuntimeWarning,
                          stacklevel=3)
            return
        if self.verbose > 0:
            print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
        self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self._stopped and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1:05d}: early stopping")

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, patience={self.patience}, "
                f"min_delta={abs(self.min_delta)}, baseline={self.baseline}, "
                f"restore_best_weights={self.restore_best_weights})")


# --------------------------------------------------------------------------- TerminateOnNaN
class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite.

    It prints "Batch 3: Invalid loss, terminating training (epoch 1)." (Keras's message,
    0-based batch index, plus the 1-based epoch) and sets ``model.stop_training``.

    Example:
        >>> model.fit(x, y, callbacks=[TerminateOnNaN()])
    """

    reads_batch_logs = False  # only the loss, which fit always passes

    def on_train_begin(self, logs=None):
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training (epoch {getattr(self, '_epoch', 0) + 1}).")
            self.model.stop_training = True


# --------------------------------------------------------------------------- LearningRateScheduler
def _takes_lr(schedule):
    """Whether ``schedule`` accepts (epoch, lr), the Keras 2 "new API", or only (epoch)."""
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume the new API
        return True
    kinds = [p.kind for p in params]
    positional = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                     for k in kinds)
    return positional >= 2 or inspect.Parameter.VAR_POSITIONAL in kinds


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from ``schedule``.

    Args:
        schedule: ``schedule(epoch)`` or ``schedule(epoch, lr)`` returning the new rate
            (a number); ``epoch`` is 0-based and ``lr`` is the current base rate.
        verbose: 1 prints "Epoch 00001: LearningRateScheduler setting learning rate to 0.01."

    The rate is written to ``model.optimizer.learning_rate`` as a float; if that was a
    schedule callable, the first write replaces it (with a warning). At the end of each
    epoch 'lr' is added to the logs unless ``fit`` already put it there.

    Example:
        >>> def halve_every_10(epoch, lr):
        ...     return lr * 0.5 if epoch and epoch % 10 == 0 else lr
        >>> model.fit(x, y, epochs=50, callbacks=[LearningRateScheduler(halve_every_10)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ConfigError("LearningRateScheduler: schedule must be a function schedule(epoch) or "
                              f"schedule(epoch, lr). Received: schedule={schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose
        self._with_lr = _takes_lr(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        opt = _optimizer(self.model, "LearningRateScheduler")
        lr = self.schedule(epoch, get_learning_rate(opt)) if self._with_lr else self.schedule(epoch)
        if not _is_number(lr) or not math.isfinite(lr) or lr < 0:
            raise ConfigError("LearningRateScheduler: the schedule must return a non-negative finite number "
                              f"(float). Received: {lr!r} for epoch={epoch}.")
        set_learning_rate(opt, lr, "LearningRateScheduler")
        if self.verbose > 0:
            print(f"Epoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to {lr:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.setdefault("lr", get_learning_rate(_optimizer(self.model, "LearningRateScheduler")))


# --------------------------------------------------------------------------- ReduceLROnPlateau
class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored quantity stops improving.

    Keras 2.3 rules: in min mode an epoch improves iff ``current < best - min_delta`` (max
    mode: ``current > best + min_delta``). After ``patience`` epochs without improvement
    the rate becomes ``max(lr * factor, min_lr)`` (only if ``lr > min_lr``), ``wait``
    resets and ``cooldown`` epochs follow in which ``wait`` does not count.

    Args:
        monitor: the key of the epoch logs to watch.
        factor: the multiplier, < 1 (``new_lr = lr * factor``).
        patience: epochs without improvement before the rate is reduced.
        verbose: 1 prints "Epoch 00005: ReduceLROnPlateau reducing learning rate to 0.001."
        mode: 'min', 'max' or 'auto' (max when 'acc' is in ``monitor``, else min).
        min_delta: the margin an improvement must exceed (``epsilon=`` is its Keras 1 name).
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate never goes below this.

    The new rate is written to ``model.optimizer.learning_rate`` as a float, replacing a
    schedule if there was one (with a warning). 'lr' (the rate used in the epoch just
    ended) is added to the epoch logs unless ``fit`` already put it there.

    Example:
        >>> reduce = ReduceLROnPlateau(monitor='val_loss', factor=0.2, patience=5, min_lr=1e-4)
        >>> model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[reduce])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:
            warnings.warn("ReduceLROnPlateau: `epsilon` is deprecated; use `min_delta`.",
                          DeprecationWarning, stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau() got unexpected keyword argument(s): {sorted(kwargs)}.")
        _check_number("ReduceLROnPlateau", "factor", factor)
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"ReduceLROnPlateau: {name} must be an integer >= 0 (epochs). Received: "
                                  f"{name}={value!r}.")
        _check_number("ReduceLROnPlateau", "min_delta", min_delta, signed=True)
        _check_number("ReduceLROnPlateau", "min_lr", min_lr)
        if factor >= 1.0:
            raise ConfigError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}. "
                              "Pass a factor below 1, e.g. factor=0.1 (the new rate is lr * factor).")
        if factor < 0:
            raise ConfigError(f"ReduceLROnPlateau: factor must be in [0, 1). Received: factor={factor}.")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self.mode = _resolve_mode(mode, monitor, "Learning Rate Plateau Reducing")
        self._reset()

    def _reset(self):
        if self.mode == "min":
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self.best = math.inf
        else:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self.best = -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        opt = _optimizer(self.model, "ReduceLROnPlateau")
        if logs is not None:
            logs.setdefault("lr", get_learning_rate(opt))
        current = _monitor_value(logs, self.monitor, "Reduce LR on plateau")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = get_learning_rate(opt)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    set_learning_rate(opt, new_lr, "ReduceLROnPlateau")
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1:05d}: ReduceLROnPlateau reducing learning rate to {new_lr:.6g}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, mode={self.mode!r}, factor={self.factor}, "
                f"patience={self.patience}, cooldown={self.cooldown}, min_lr={self.min_lr})")


# --------------------------------------------------------------------------- LambdaCallback
_KERAS2_NAMES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """A callback made of plain functions, for quick one-off hooks.

    Args (each optional):
        on_epoch_begin, on_epoch_end: ``f(epoch, logs)``.
        on_batch_begin, on_batch_end: ``f(batch, logs)``; training batches (Keras 2 names
            for ``on_train_batch_begin`` / ``on_train_batch_end``, also accepted).
        on_train_begin, on_train_end: ``f(logs)``.
        Any other hook of ``Callback`` may be given by keyword (e.g. ``on_test_end=``).
        needs_gradients: True if a hook reads the weights' ``.grad`` (see ``Callback``).

    ``logs`` is always a dict (empty when ``fit`` has nothing to report).

    Example:
        >>> losses = []
        >>> log_loss = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs['loss']))
        >>> model.fit(x, y, epochs=5, callbacks=[log_loss])
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, needs_gradients=False, **kwargs):
        super().__init__()
        self.needs_gradients = bool(needs_gradients)
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_batch_begin": on_batch_begin, "on_batch_end": on_batch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end, **kwargs}
        self.hooks = {}
        for name, fn in given.items():
            if fn is None:
                continue
            hook = _KERAS2_NAMES.get(name, name)
            if not hook.startswith("on_") or not callable(getattr(Callback, hook, None)):
                raise TypeError(f"LambdaCallback() got an unexpected keyword argument {name!r}; "
                                "the hooks are on_epoch_begin, on_epoch_end, on_batch_begin, on_batch_end, "
                                "on_train_begin, on_train_end and the other on_* methods of Callback.")
            if not callable(fn):
                raise ConfigError(f"LambdaCallback: {name} must be a function. Received: {name}={fn!r}.")
            if hook in self.hooks:
                raise TypeError(f"LambdaCallback: {name} and {hook} name the same hook; give only one.")
            self.hooks[hook] = fn
            setattr(self, hook, self._bind(fn, indexed="epoch" in hook or "batch" in hook))

    @staticmethod
    def _bind(fn, indexed):
        if indexed:
            return lambda index, logs=None: fn(index, {} if logs is None else logs)
        return lambda logs=None: fn({} if logs is None else logs)

    def __repr__(self):
        return f"LambdaCallback({', '.join(self.hooks)})"
