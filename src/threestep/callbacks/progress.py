"""``ProgbarLogger``: the ``Epoch 3/20`` lines and progress bars that ``fit(verbose=...)``,
``evaluate(verbose=...)`` and ``predict(verbose=...)`` print."""
import sys

from ..errors import ConfigError
from ..utils.progbar import Progbar
from .base import Callback

_NOT_METRICS = ("batch", "size")


class ProgbarLogger(Callback):
    """Prints training (or evaluation) progress with a ``Progbar``.

    ``fit`` adds one of these itself when ``verbose`` is 1 or 2: it prints ``Epoch 3/20``
    at the start of every epoch, a live bar per epoch on a terminal or in Jupyter
    (``verbose=1``), or one line per epoch (``verbose=2``, or ``verbose=1`` when the
    output goes to a file or a pipe). The epoch's final line includes the ``val_`` metrics.

    Args:
        count_mode: ``"steps"`` (default) counts batches against ``params['steps']``;
            ``"samples"`` counts samples against ``params['samples']`` (training only).
        stateful_metrics: names to show as given rather than averaged. Kept for Keras
            compatibility: every logged value is shown as given anyway, because the
            training loop already logs running averages over the epoch.
        mode: ``"train"`` reacts to the epoch and train-batch hooks; ``"test"`` to the
            ``on_test_*`` hooks of ``evaluate``, ``"predict"`` to the ``on_predict_*`` hooks of
            ``predict`` (both with the target ``params['steps']``).

    Example:

        >>> model.fit(x, y, epochs=3, verbose=0, callbacks=[ProgbarLogger()])  # doctest: +SKIP
    """

    def __init__(self, count_mode="steps", stateful_metrics=None, mode="train"):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ConfigError(f"ProgbarLogger: count_mode must be 'steps' or 'samples'. "
                              f"Received: count_mode={count_mode!r}.")
        if mode not in ("train", "test", "predict"):
            raise ConfigError(f"ProgbarLogger: mode must be 'train', 'test' or 'predict'. Received: mode={mode!r}.")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self.mode = mode
        self.progbar = None
        self.seen = 0
        self._batch_size = None

    @property
    def reads_batch_logs(self):
        """Only the live bar of ``verbose=1`` shows the loss and metrics during an epoch or pass."""
        return self._verbose() == 1

    # ------------------------------------------------------------------ training
    def on_train_begin(self, logs=None):
        self.progbar = None
        self.seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.mode != "train":
            return
        if self._verbose():
            out = sys.stdout
            out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
            out.flush()
        self._new_progbar()

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_size = (logs or {}).get("size")

    def on_train_batch_end(self, batch, logs=None):
        if self.mode != "train":
            return
        if self.count_mode == "samples":
            self.seen += self._batch_size or self.params.get("batch_size", 1)
        else:
            self.seen = batch + 1
        self._update(logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.mode == "train":
            self._update(logs, finalize=True)

    # ------------------------------------------------------------------ evaluation
    def on_test_begin(self, logs=None):
        if self.mode == "test":
            self._new_progbar()

    def on_test_batch_end(self, batch, logs=None):
        if self.mode == "test":
            self.seen = batch + 1
            self._update(logs, finalize=False)

    def on_test_end(self, logs=None):
        if self.mode == "test":
            self._update(logs, finalize=True)

    # ------------------------------------------------------------------ prediction
    def on_predict_begin(self, logs=None):
        if self.mode == "predict":
            self._new_progbar()

    def on_predict_batch_end(self, batch, logs=None):
        if self.mode == "predict":
            self.seen = batch + 1
            self._update(None, finalize=False)

    def on_predict_end(self, logs=None):
        if self.mode == "predict":
            self._update(None, finalize=True)

    # ------------------------------------------------------------------ internals
    def _verbose(self):
        return self.params.get("verbose", 1)

    def _new_progbar(self):
        samples = self.count_mode == "samples" and self.mode == "train"
        self.seen = 0
        self.progbar = Progbar(self.params.get("samples" if samples else "steps"),
                               verbose=self._verbose(), stateful_metrics=self.stateful_metrics,
                               unit_name="sample" if samples else "step")

    def _update(self, logs, finalize):
        if self.progbar is None:  # hooks called without their begin hook
            self._new_progbar()
        values = [(k, v) for k, v in (logs or {}).items() if k not in _NOT_METRICS]
        # The loop logs running averages, not per-batch values: show them as given.
        self.progbar.stateful_metrics.update(k for k, _ in values)
        self.progbar.update(self.seen, values, finalize=finalize)

    def __repr__(self):
        return f"<ProgbarLogger mode={self.mode!r} count_mode={self.count_mode!r}>"
