"""``ModelCheckpoint``: save the model (or only its weights) while training, as Keras 2.3 does.

Never writes a checkpoint from a diverged model: when a weight or the monitored value is
NaN or infinite, the save is skipped with a warning and the previous file stays as it was.
Full-model checkpoints carry a training state (completed epochs, random-generator state,
history) so ``load_model(path).fit(..., initial_epoch=k)`` continues exactly.
"""
import math
import os
import warnings

from .. import backend
from ..errors import ConfigError
from .base import Callback


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


class ModelCheckpoint(Callback):
    """Save the model after every epoch (or every ``period`` epochs, or ``save_freq`` batches).

    Args:
        filepath: where to save; formatted with ``filepath.format(epoch=epoch + 1, **logs)``,
            so ``'weights.{epoch:02d}-{val_loss:.3f}.ts'`` names each file after its epoch
            and validation loss.
        monitor: the logged quantity that decides the "best" model.
        verbose: 1 prints a line for every save or skip.
        save_best_only: only save when ``monitor`` improves on the best value so far (the
            file at ``filepath`` then always holds the best model).
        save_weights_only: save ``model.save_weights(filepath)`` instead of the full model.
        mode: 'min', 'max' or 'auto' (max for accuracies, ``'acc' in monitor``; else min).
        save_freq: 'epoch', or an integer: save every that many batches.
        period: with ``save_freq='epoch'``, save every ``period`` epochs.

    Example:
        >>> ckpt = ModelCheckpoint("best.ts", monitor="val_acc", save_best_only=True, verbose=1)
        >>> model.fit(x, y, validation_split=0.1, epochs=20, callbacks=[ckpt])
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", period=1):
        super().__init__()
        if not isinstance(filepath, (str, bytes, os.PathLike)):
            raise ConfigError(f"ModelCheckpoint: filepath must be a path (str or pathlib.Path), optionally with "
                              f"{{epoch}} fields. Received: filepath={filepath!r}. Pass e.g. 'model-{{epoch:02d}}.ts'.")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode {mode!r} is unknown, fallback to auto mode.", RuntimeWarning,
                          stacklevel=2)
            mode = "auto"
        if mode == "auto":
            mode = "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
        self.mode = mode
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ConfigError("ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches. "
                              f"Received: save_freq={save_freq!r}.")
        if not isinstance(period, int) or period < 1:
            raise ConfigError(f"ModelCheckpoint: period must be a positive integer. Received: period={period!r}.")
        self.save_freq = save_freq
        self.period = period
        self.best = None
        self._since_save = 0
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.best = None  # found lazily from the history so far (a resumed run keeps its best)
        self._since_save = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save(self._epoch, logs or {}, completed=self._epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.period:
            self._since_save = 0
            self._save(epoch, logs or {}, completed=epoch + 1)

    # ------------------------------------------------------------------ helpers
    def _better(self, current, best):
        return current > best if self.mode == "max" else current < best

    def _best_so_far(self):
        if self.best is None:
            history = getattr(self.model, "history", None)
            earlier = [v for v in getattr(history, "history", {}).get(self.monitor, [])
                       if _is_number(v) and math.isfinite(float(v))]
            pick = max if self.mode == "max" else min
            self.best = pick(earlier) if earlier else (-math.inf if self.mode == "max" else math.inf)
        return self.best

    def _format(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise ConfigError(f"ModelCheckpoint: filepath {self.filepath!r} uses {{{exc.args[0]}}}, which is not "
                              f"in the logs. Available: {['epoch'] + sorted(logs)}.") from None

    def _weights_finite(self):
        for w in self.model.weights:
            xp = backend.get_array_module(w.data)
            if not bool(xp.isfinite(w.data).all()):
                return False
        return True

    def _skip(self, epoch, filepath, reason):
        message = (f"ModelCheckpoint: not saving epoch {epoch + 1} to {filepath!r}: {reason}; the previous "
                   "checkpoint is kept.")
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1:05d}: {reason}, not saving.")

    def _save(self, epoch, logs, completed):
        filepath = self._format(epoch, logs)
        current = logs.get(self.monitor)
        if self.save_best_only and current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping. "
                          f"Available keys: {sorted(logs)}.", RuntimeWarning, stacklevel=3)
            return
        if current is not None and _is_number(current) and not math.isfinite(float(current)):
            self._skip(epoch, filepath, f"{self.monitor} is {current} (training diverged?)")
            return
        if not self._weights_finite():
            self._skip(epoch, filepath, "the weights contain NaN or inf (training diverged?)")
            return
        if self.save_best_only:
            best = self._best_so_far()
            if not self._better(current, best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1:05d}: {self.monitor} did not improve from {best:0.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1:05d}: {self.monitor} improved from {best:0.5f} to {current:0.5f}, "
                      f"saving model to {filepath}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1:05d}: saving model to {filepath}")
        self._write(filepath, epoch, logs, completed)

    def _write(self, filepath, epoch, logs, completed):
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            state = self._training_state(epoch, logs, completed)
            self.model.save(filepath, overwrite=True, training_state=state)

    def _training_state(self, epoch, logs, completed):
        """Completed epochs, generator states and the history up to now, for an exact resume.

        At epoch end the History callback (always last) has not recorded this epoch yet,
        so its logs are added here.
        """
        history = getattr(self.model, "history", None)
        values = {k: [float(v) for v in vs] for k, vs in getattr(history, "history", {}).items()}
        epochs = list(getattr(history, "epoch", []))
        if completed == epoch + 1 and (not epochs or epochs[-1] != epoch):
            epochs.append(epoch)
            for key, value in logs.items():
                if _is_number(value):
                    values.setdefault(key, []).append(float(value))
        state = {"epoch": completed, "rng": self._rng_state(), "history": values, "history_epochs": epochs}
        if completed == epoch:
            state["mid_epoch"] = True  # a batch-level checkpoint: resuming it repeats this epoch
        return state

    def _rng_state(self):
        """The generators' states, or None (with a warning, once) where they cannot be saved."""
        from ..saving.archive import to_json  # noqa: PLC0415

        state = backend.get_rng_state()
        try:
            to_json(state, "the random-generator state")
        except ConfigError as exc:
            if not getattr(self, "_warned_rng", False):
                warnings.warn(f"ModelCheckpoint: {exc} Checkpoints are saved without it, so a resumed run "
                              "will not repeat the uninterrupted run's random stream.", RuntimeWarning,
                              stacklevel=4)
                self._warned_rng = True
            return None
        return state

    def __repr__(self):
        return (f"ModelCheckpoint({self.filepath!r}, monitor={self.monitor!r}, mode={self.mode!r}, "
                f"save_best_only={self.save_best_only}, save_weights_only={self.save_weights_only})")
