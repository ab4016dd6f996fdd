"""Callbacks: objects that ``fit`` calls at fixed points of the training loop.

They talk to the loop only through ``logs`` (a dict of metric values) and
``model.stop_training``. Base hooks are no-ops; a callback resets its state in
``on_train_begin`` so the same object can be reused across ``fit`` calls.
"""
import os

from ..errors import ConfigError


import functools
import inspect


def _checked_init(cls, init):
    """``init`` that turns an unknown keyword argument into an ArgumentError with a "did you mean"."""
    try:
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return init
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return init
    names = [n for n, p in params.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    @functools.wraps(init)
    def checked(self, *args, **kwargs):
        unknown = set(kwargs) - set(names)
        if unknown:
            from ..errors import unknown_arguments  # noqa: PLC0415

            raise unknown_arguments(cls.__name__, unknown, names)
        return init(self, *args, **kwargs)
    return checked


class Callback:
    """Base class. Override any ``on_*`` hook.

    Attributes set by ``fit``: ``model`` and ``params`` (``epochs``, ``steps``,
    ``verbose``, ``batch_size``, ``samples``, ``metrics``).

    ``needs_gradients``: set True in a callback that reads the weights' ``.grad`` after a
    batch. Otherwise ``fit`` lets the optimizer update each weight on the CPU as soon as
    backward delivers its gradient (``Optimizer.minimize``; SGD inside the Dense kernel's dW
    GEMM), and those weights keep no ``.grad``.
    """

    needs_gradients = False
    # Whether the callback reads the metrics in the logs of ``on_train_batch_end`` (fit always
    # passes the running loss there) and the loss and metrics in those of ``on_test_batch_end``;
    # None: whenever it has its own such hook. When no callback reads them, fit and evaluate
    # compute them once per epoch / pass instead of after every batch (on a GPU each such read
    # waits for the device).
    reads_batch_logs = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _checked_init(cls, cls.__dict__["__init__"])

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...  # Keras 2 names of the training-batch hooks
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks=(), model=None, params=None):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def reads_batch_logs(self, hook="on_train_batch_end"):
        """Whether any callback reads the logs that ``hook`` gets after each batch."""
        return any(reads_batch_logs(cb, hook) for cb in self.callbacks)

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook, *args):
        if args and args[-1] is None:  # Keras passes an empty dict, never None
            args = args[:-1] + ({},)
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)


class History(Callback):
    """Records every epoch's logs: ``history.history['loss']`` is the list of epoch losses.

    ``fit`` returns this object; ``history.epoch`` lists the epoch indices.

    Example:
        >>> model = Sequential([Dense(1, input_shape=(3,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0)
        >>> len(history.history["loss"]), history.epoch
        (2, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.baseline = None  # metrics before any update, from fit(..., baseline=True)

    def on_train_begin(self, logs=None):
        # A new History per fit (as Keras); a resumed fit starts from the prefilled one.
        if not getattr(self, "_prefilled", False):
            self.epoch = []
            self.history = {}
        self._prefilled = False

    def prefill(self, training_state, initial_epoch):
        """Start from the History saved in a checkpoint when resuming at ``initial_epoch``."""
        if not training_state or not initial_epoch:
            return
        epochs = [e for e in training_state.get("history_epochs", []) if e < initial_epoch]
        self.epoch = list(epochs)
        self.history = {k: list(v[: len(epochs)]) for k, v in training_state.get("history", {}).items()}
        self._prefilled = True

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def plot(self, path=None, metrics=None, title=None):
        """Learning curves as a PNG (loss panel, metric panel; training vs ``val_``).

        The baseline (``fit(..., baseline=True)``) is drawn at epoch 0. Writes ``path`` and
        returns it; in a Jupyter notebook ``path`` may be left out and the figure is shown
        in the cell instead (nothing is written to the working directory).

        Example:
            >>> history = model.fit(x, y, epochs=10, validation_split=0.1, baseline=True)
            >>> history.plot("curves.png")
        """
        from ..utils.plotting import plot_history  # noqa: PLC0415  (matplotlib is optional)
        from .live_plot import in_notebook, show_in_notebook  # noqa: PLC0415

        if path is not None:
            return plot_history(self.history, path, baseline=self.baseline, title=title, metrics=metrics)
        if not in_notebook():
            raise ConfigError("History.plot: outside a Jupyter notebook the figure needs a file. Pass one, "
                              "e.g. history.plot('history.png').")
        import tempfile  # noqa: PLC0415

        with tempfile.TemporaryDirectory(prefix="threestep-plot-") as folder:
            target = plot_history(self.history, os.path.join(folder, "history.png"), baseline=self.baseline,
                                  title=title, metrics=metrics)
            show_in_notebook(target)
        return None

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


def reads_batch_logs(callback, hook="on_train_batch_end"):
    """``callback.reads_batch_logs`` where it says, else whether it has its own ``hook`` (a method
    of its class or, as ``LambdaCallback`` makes, a function set on the object)."""
    declared = getattr(callback, "reads_batch_logs", None)
    if declared is not None:
        return bool(declared)
    if hook == "on_train_batch_end" and reads_batch_logs(callback, "on_batch_end"):
        return True
    return getattr(getattr(callback, hook, None), "__func__", None) is not getattr(Callback, hook)
