"""``fit``: step 3 of the lecture, picking the best function by mini-batch gradient descent.

One flat loop of callback hooks: train-begin, then per epoch: epoch-begin, per batch:
batch-begin / step / batch-end (stop when ``model.stop_training``), validation with the
``val_`` prefix, epoch-end; then train-end. It returns the ``History``.
"""
import contextlib
import math
import warnings

from .. import backend
from ..accel import threads
from ..callbacks import Callback, CallbackList, History
from ..errors import ConfigError, warn
from . import checks, feed, validate
from .data import n_samples


def _pop_legacy_epochs(epochs, kwargs, caller):
    if "nb_epoch" in kwargs:
        warn(f"{caller}: 'nb_epoch' is Keras 1 spelling; use 'epochs'.", DeprecationWarning)
        epochs = kwargs.pop("nb_epoch")
    if kwargs:
        from ..errors import unknown_arguments  # noqa: PLC0415

        raise unknown_arguments(caller, kwargs, FitMixin.fit)
    return epochs


class FitMixin:
    """``Model.fit`` and its helpers (callbacks, validation data, the epoch-0 baseline, diagnose)."""

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_freq=1, seed=None, debug_numerics=False, baseline=False, max_queue_size=10,
            workers=1, use_multiprocessing=False, distributed=None, **kwargs):
        """Step 3: pick the best function by mini-batch gradient descent.

        Each epoch shuffles the training data (``shuffle=True``), splits it into batches
        of ``batch_size`` (default 32), and takes one gradient step per batch. Returns a
        ``History`` whose ``.history`` maps 'loss', metric names and their 'val_' versions
        to per-epoch lists, plus 'lr', the learning rate at the start of each epoch.

        A non-finite loss stops training with a message naming the epoch and batch (the
        weights keep their last finite values). ``debug_numerics=True`` additionally names
        the first layer whose forward or backward pass produced the non-finite value.

        ``baseline=True`` evaluates the loss and metrics on the training (and validation)
        data before the first update and stores them in ``history.baseline``, which plots
        draw at epoch 0 (skipped when resuming with ``initial_epoch > 0``).

        Data larger than memory: ``x`` may be a memory-mapped array (``np.load(path,
        mmap_mode="r")``, read batch by batch), a generator or iterable of ``(x, y)`` /
        ``(x, y, sample_weight)`` batches (with ``steps_per_epoch`` unless it has a length),
        or a ``threestep.utils.Sequence``; ``validation_data`` likewise (``validation_steps``).
        ``workers`` threads (0 = the main thread) prepare up to ``max_queue_size`` batches
        ahead; ``use_multiprocessing=True`` uses processes for a ``Sequence``.

        ``distributed="mpi"`` (or a ``threestep.distributed.MPIStrategy``) trains data-parallel
        under ``mpirun -n N``: ``batch_size`` is per rank, gradients are averaged over ranks.
        """
        epochs = _pop_legacy_epochs(epochs, kwargs, "fit")
        self._require_compiled("fit")
        epochs, initial_epoch = validate.epochs(epochs, initial_epoch)
        batch_size = validate.batch_size(batch_size, "fit")
        steps_per_epoch = validate.steps(steps_per_epoch, "steps_per_epoch", "fit")
        validation_steps = validate.steps(validation_steps, "validation_steps", "fit")
        validation_freq = validate.validation_freq(validation_freq)
        validation_split = validate.fraction(validation_split, "validation_split", "fit")
        validate.shared_optimizer(self, "fit")
        if validate.seed_on_resume(self, seed, initial_epoch):
            backend.set_seed(seed)
        options = feed.prefetch_options(workers, max_queue_size, use_multiprocessing, "fit")
        dist = None
        if distributed is not None:
            from ..distributed import get_strategy  # noqa: PLC0415  (only when asked for)

            dist = get_strategy(distributed)
        try:
            x, y, sw, val, train = feed.fit_inputs(self, x, y, sample_weight, class_weight, validation_split,
                                                   validation_data, batch_size, steps_per_epoch, validation_steps,
                                                   options)
            if dist is not None:
                callbacks, verbose = dist.setup(self, train, val, callbacks, verbose)
        except BaseException as exc:
            if dist is not None:
                dist.fail(exc)  # one rank's bad data must not leave the others waiting
            raise
        n, steps = train.n, train.steps
        self.history = History()
        self.history.prefill(getattr(self, "_training_state", None), initial_epoch)
        callback_list = self._callback_list(callbacks, verbose, {
            "batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": n,
            "verbose": verbose, "do_validation": val is not None,
            "metrics": ["loss"] + list(self._metric_names(val is not None)),
        })
        fused = self._fused()
        metric_list = self._make_metrics()
        self.stop_training = False
        debug = None
        if debug_numerics:
            from .numerics import NumericsDebugger  # noqa: PLC0415

            debug = NumericsDebugger(self)
        self._distributed, self._numerics = dist, debug
        # The optimizer may update a weight as its gradient arrives (Optimizer.minimize); then the
        # weights keep no .grad, so not for a callback that reads it.
        keep_gradients = any(getattr(cb, "needs_gradients", False) for cb in callback_list)
        try:
            if baseline and not initial_epoch:
                self.history.baseline = self._baseline(x, y, sw, val, batch_size, fused)
            self._fit_epochs(train, val, callback_list, metric_list, keep_gradients, debug, batch_size, epochs,
                             initial_epoch, shuffle, validation_freq)
        except BaseException as exc:
            if dist is not None:
                dist.fail(exc)  # aborts every rank, with this rank's traceback shown
            raise
        finally:
            self._distributed = self._numerics = None
            train.close()
            if val is not None and isinstance(val[0], feed.SourceFeed):
                val[0].close()
        return self.history

    def _fit_epochs(self, train, val, callback_list, metric_list, keep_gradients, debug, batch_size, epochs,
                    initial_epoch, shuffle, validation_freq):
        callback_list.on_train_begin()
        with self._thread_governor("train") as governor:
            self._epoch_loop(train, val, callback_list, metric_list, keep_gradients, debug, batch_size, epochs,
                             initial_epoch, shuffle, validation_freq, governor)
        callback_list.on_train_end()

    def _epoch_loop(self, train, val, callback_list, metric_list, keep_gradients, debug, batch_size, epochs,
                    initial_epoch, shuffle, validation_freq, governor):
        dist = self._distributed
        batch_metrics = callback_list.reads_batch_logs()  # else the metrics are read once per epoch
        # Once a step's layers have asked to split their rows or images over threads (recurrent and
        # convolution layers, accel.threads.blocks), every step runs with the BLAS at one thread and
        # blocks() splitting over the governor's count: GEMMs outside those blocks on OpenBLAS's
        # threads would leave its workers busy-waiting beside the blocks' threads.
        splits = self.__dict__.get("_splits_rows", False)
        for epoch in range(initial_epoch, epochs):
            for m in metric_list:
                m.reset_state()
            callback_list.on_epoch_begin(epoch)
            lr = self.optimizer.current_lr()
            loss_sum = seen = 0.0
            logs = {}
            with train.epoch(shuffle, epoch) as batches:
                for step, (xb, yb, wb) in enumerate(batches):
                    callback_list.on_train_batch_begin(step, {"batch": step, "size": len(yb)})
                    if debug is not None:
                        debug.where = (epoch, step)
                    asks, width = threads.splittable_asks(), threads.blas_threads() if splits else 1
                    with threads.one_blas_thread(rows=width) if width > 1 else contextlib.nullcontext():
                        step_logs = self.train_step(xb, yb, wb, metrics=metric_list, keep_gradients=keep_gradients)
                    if not splits and threads.splittable_asks() != asks:
                        splits = self._splits_rows = True
                    governor.tick(len(yb))
                    if not math.isfinite(step_logs["loss"]):
                        self._stop_on_nonfinite(epoch, step, step_logs["loss"])
                    size = step_logs.get("size", len(yb))  # all ranks' samples when distributed
                    seen += size
                    loss_sum += step_logs["loss"] * size
                    logs = {"loss": loss_sum / max(seen, 1)}
                    if batch_metrics:
                        logs.update({m.name: m.result() for m in metric_list})
                    callback_list.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            if not batch_metrics and seen:
                logs.update({m.name: m.result() for m in metric_list})
            if train.exhausted:
                self.stop_training = True
            train.end_epoch()
            if dist is not None:
                logs = dist.end_epoch(self, metric_list, logs)
            epoch_logs = dict(logs)
            epoch_logs["lr"] = lr
            if val is not None and validate.validates_at(validation_freq, epoch, initial_epoch):
                val_values = self._evaluate_arrays(*val, batch_size, self._fused())
                epoch_logs.update({"val_" + k: v for k, v in val_values.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break

    def _baseline(self, x, y, sw, val, batch_size, fused):
        """Loss and metrics before any update: the epoch-0 point of the learning curves."""
        values = self._evaluate_arrays(x, y, sw, batch_size, fused)
        if val is not None:
            values.update({"val_" + k: v for k, v in self._evaluate_arrays(*val, batch_size, fused).items()})
        return values

    def diagnose(self, history=None, grad_stats=None, **kwargs):
        """The lecture's recipe as a verdict on a training run (see ``models.diagnosis``).

        ``history`` defaults to the last ``fit``'s History; returns a ``Diagnosis``.
        """
        from .diagnosis import diagnose  # noqa: PLC0415

        history = history if history is not None else self.history
        if history is None:
            raise ConfigError("diagnose: no history. Call fit first or pass diagnose(history).")
        kwargs.setdefault("optimizer", self.optimizer)
        return diagnose(history, grad_stats=grad_stats, **kwargs)

    def _stop_on_nonfinite(self, epoch, step, value):
        self.stop_training = True
        message = (
            f"Epoch {epoch + 1}, batch {step + 1}: the loss is {value}; training stopped and the weights "
            "keep their last finite values. Common causes: a learning rate too high, unnormalised "
            "inputs, or log(0) in a custom loss. fit(..., debug_numerics=True) names the first layer "
            "that produced the non-finite value.")
        print(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _metric_names(self, with_val):
        names = [m.name for m in self._make_metrics()]
        return names + (["val_loss"] + ["val_" + n for n in names] if with_val else [])

    def _callback_list(self, callbacks, verbose, params, mode="train"):
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise ConfigError(f"callbacks must be a list of Callback objects; received callbacks={callbacks!r}. "
                              "Pass e.g. callbacks=[EarlyStopping(patience=3)].")
        for cb in callbacks or []:
            if not isinstance(cb, Callback):
                raise ConfigError(f"callbacks must be Callback objects; received {cb!r} in callbacks. Pass instances "
                                  "of threestep.callbacks classes (or your own Callback subclass).")
        items = []
        from ..callbacks.progress import ProgbarLogger  # noqa: PLC0415

        # a ProgbarLogger of the user's for this loop replaces the one verbose adds (as in Keras)
        own = any(isinstance(cb, ProgbarLogger) and cb.mode == mode for cb in callbacks or [])
        if verbose and not own:
            items.append(ProgbarLogger(mode=mode) if mode != "train" else ProgbarLogger())
        items += list(callbacks or [])
        if mode == "train":
            items.append(self.history)
        return CallbackList(items, model=self, params=params)

    def _prepare_validation(self, validation_data):
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ConfigError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight).")
        xv = checks.prepare_inputs(validation_data[0], "fit (validation_data)")
        yv = checks.prepare_targets(validation_data[1], n_samples(xv), "fit (validation_data)")
        checks.check_input_shape(self, xv, "fit (validation_data)")
        checks.check_targets(self, yv, self.loss, "fit (validation_data)")
        wv = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            wv = validate.sample_weight(validation_data[2], n_samples(xv), "fit (validation_data)",
                                        "validation sample_weight",
                                        temporal=getattr(self, "sample_weight_mode", None) == "temporal")
        return xv, yv, wv
