"""``LivePlot``: learning curves redrawn at the end of every epoch.

In a Jupyter notebook (IPython with a running kernel) the figure is shown in the cell
output and replaced as training goes (``IPython.display``); elsewhere the PNG file given
as ``path`` is rewritten, so an image viewer that reloads it shows training as it goes. The baseline
(``fit(..., baseline=True)``) is drawn at epoch 0.
"""
import math
import os
import tempfile
import time

from ..errors import ConfigError
from .base import Callback


def in_notebook():
    """True inside a Jupyter kernel (IPython importable and a kernel attached)."""
    try:
        from IPython import get_ipython  # noqa: PLC0415
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_in_notebook(path):
    """Replace the cell output with the PNG at ``path`` (Jupyter only)."""
    from IPython.display import Image, clear_output, display  # noqa: PLC0415

    clear_output(wait=True)
    display(Image(filename=path))


class LivePlot(Callback):
    """Redraw loss and metric curves as training goes.

    In a Jupyter notebook the figure replaces itself in the cell output; elsewhere it is
    written to ``path``, which an image viewer that reloads shows live. Redrawing a figure
    costs a few tenths of a second, so it redraws at most once every ``min_interval``
    seconds (and always after the last epoch): tiny epochs are not slowed down by plotting.

    Args:
        path: PNG file rewritten at each draw. Needed outside a notebook (where else would
            the plot go?); in a notebook, optional.
        metrics: base names to draw (default: all, e.g. ``['loss', 'accuracy']``).
        notebook: force (True) or disable (False) notebook display; default: detect.
        min_interval: least number of seconds between two draws (0 draws every epoch).

    Raises:
        ConfigError: at the start of training, outside a notebook without a ``path``.

    Example:
        >>> model.fit(x, y, epochs=20, validation_split=0.1, baseline=True,
        ...           callbacks=[LivePlot("curves.png")])
    """

    def __init__(self, path=None, metrics=None, notebook=None, min_interval=1.0):
        super().__init__()
        self.path = None if path is None else os.fspath(path)
        self.metrics = metrics
        self.notebook = notebook
        if isinstance(min_interval, bool) or not isinstance(min_interval, (int, float)) or not min_interval >= 0:
            raise ConfigError(f"LivePlot: min_interval must be a number of seconds >= 0. "
                              f"Received: min_interval={min_interval!r}.")
        self.min_interval = float(min_interval)
        self.history = {}
        self.draws = 0

    def on_train_begin(self, logs=None):
        self.history = {}
        self.draws = 0
        self._notebook = in_notebook() if self.notebook is None else bool(self.notebook)
        if self.path is None and not self._notebook:
            raise ConfigError("LivePlot: outside a Jupyter notebook the curves need a file to go to. Pass one, "
                              "e.g. LivePlot('curves.png'), and open it in an image viewer that reloads.")
        self._tmp = tempfile.TemporaryDirectory(prefix="threestep-liveplot-") if self.path is None else None
        self._target = self.path or os.path.join(self._tmp.name, "live_plot.png")
        self._last_draw = -math.inf
        self._pending = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if "/" not in key:
                self.history.setdefault(key, []).append(value)
        self._pending = epoch
        if time.monotonic() - self._last_draw >= self.min_interval:
            self._draw()

    def on_train_end(self, logs=None):
        if self._pending is not None:
            self._draw()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _draw(self):
        from ..utils.plotting import plot_history  # noqa: PLC0415

        baseline = getattr(getattr(self.model, "history", None), "baseline", None)
        plot_history(self.history, self._target, baseline=baseline, metrics=self.metrics,
                     title=f"epoch {self._pending + 1}")
        self.draws += 1
        self._pending = None
        self._last_draw = time.monotonic()
        if self._notebook:
            show_in_notebook(self._target)
