"""``LivePlot``: learning curves redrawn at the end of every epoch.

In a Jupyter notebook (IPython with a running kernel) the figure is shown in the cell
output and replaced at each epoch (``IPython.display``); elsewhere the PNG file is
rewritten, so an image viewer that reloads it shows training as it goes. The baseline
(``fit(..., baseline=True)``) is drawn at epoch 0.
"""
import os

from .base import Callback


def in_notebook():
    """True inside a Jupyter kernel (IPython importable and a kernel attached)."""
    try:
        from IPython import get_ipython  # noqa: PLC0415
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LivePlot(Callback):
    """Redraw loss and metric curves at each epoch end.

    Args:
        path: PNG file written at each epoch (default ``live_plot.png``).
        metrics: base names to draw (default: all, e.g. ``['loss', 'accuracy']``).
        notebook: force (True) or disable (False) notebook display; default: detect.

    Example:
        >>> model.fit(x, y, epochs=20, validation_split=0.1, baseline=True, callbacks=[LivePlot()])
    """

    def __init__(self, path="live_plot.png", metrics=None, notebook=None):
        super().__init__()
        self.path = os.fspath(path)
        self.metrics = metrics
        self.notebook = notebook
        self.history = {}
        self.draws = 0

    def on_train_begin(self, logs=None):
        self.history = {}
        self.draws = 0
        self._notebook = in_notebook() if self.notebook is None else bool(self.notebook)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if "/" not in key:
                self.history.setdefault(key, []).append(value)
        from ..utils.plotting import plot_history  # noqa: PLC0415

        baseline = getattr(getattr(self.model, "history", None), "baseline", None)
        plot_history(self.history, self.path, baseline=baseline, metrics=self.metrics,
                     title=f"epoch {epoch + 1}")
        self.draws += 1
        if self._notebook:
            from IPython.display import Image, clear_output, display  # noqa: PLC0415

            clear_output(wait=True)
            display(Image(filename=self.path))
