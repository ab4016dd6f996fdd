"""Headless plots of training runs: learning curves and any family of lines.

matplotlib is imported lazily (``import threestep`` never needs it) and figures are drawn
by the ``Agg`` canvas without pyplot, so plots are written as PNG files on machines
without a display and a notebook's own pyplot backend is never changed. The
lecture reads training in two panels: the loss (is gradient descent working at all?) and
an accuracy-like metric on training vs validation data (is it overfitting?).
"""
import math
import os

from ..errors import ConfigError, ThreestepError


class PlottingUnavailableError(ThreestepError, ImportError):
    """matplotlib is not installed."""


def new_figure(figsize=(6, 4)):
    """A matplotlib ``Figure`` drawn by the Agg canvas, or a clear error saying how to install it.

    Figures are made without pyplot, so plotting never changes the user's pyplot backend
    (a notebook keeps its inline plots) and never needs a display.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError as exc:
        raise PlottingUnavailableError(
            "Plotting needs matplotlib, which is not installed. "
            'Install it with: pip install "threestep[plot]" (or pip install matplotlib).'
        ) from exc
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def subplots(nrows=1, ncols=1, figsize=(6, 4), **kwargs):
    """``pyplot.subplots`` without pyplot: a ``new_figure`` and its axes (``Figure.subplots`` arguments)."""
    fig = new_figure(figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


NOT_CURVES = ("lr", "learning_rate", "wall_time", "epoch_time", "epoch")  # per-epoch columns that are not metrics


def _finite(ys):
    return [float(y) if y is not None and math.isfinite(float(y)) else float("nan") for y in ys]


def _check_path(path, argument="path"):
    if path is None or not str(path):
        raise ConfigError(f"{argument} must be a file path for the PNG. Received: {argument}={path!r}.")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write the plot {path}: the directory {directory} does not exist.")
    return path


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    return MaxNLocator(integer=True)


def split_history(history, metrics=None):
    """Group History keys into (loss_keys, metric_keys), training before its ``val_`` twin.

    ``metrics`` restricts to those base names (``['loss', 'accuracy']``); their ``val_``
    versions come along. Per-layer columns such as ``grad_norm/dense_1`` (GradientMonitor)
    are left out here; ``plot_history(metrics=['grad_norm'])`` draws them in their own panel.
    """
    names = [k for k in history if "/" not in k and k not in NOT_CURVES]
    if metrics is not None:
        wanted = set(metrics) | {"val_" + m for m in metrics}
        unknown = [m for m in metrics if m not in history and "val_" + m not in history
                   and not _layer_columns(history, m)]
        if unknown:
            raise ConfigError(
                f"plot: metrics {unknown} are not in the history. Available: {sorted(names)}."
            )
        names = [k for k in names if k in wanted]
    bases = []
    for k in names:
        base = k[4:] if k.startswith("val_") else k
        if base not in bases:
            bases.append(base)
    loss_keys, metric_keys = [], []
    for base in bases:
        group = [k for k in (base, "val_" + base) if k in history]
        (loss_keys if "loss" in base else metric_keys).extend(group)
    return loss_keys, metric_keys


def _layer_columns(history, stat):
    """The per-layer columns ``stat/<layer>`` of a history, in layer order."""
    return [k for k in history if k.startswith(stat + "/")]


def plot_history(history, path, baseline=None, title=None, metrics=None):
    """Write learning curves to ``path`` (PNG) and return the path.

    ``history``: dict name -> per-epoch list (``History.history``) or a ``History``.
    One panel for the loss(es), one for accuracy-like metrics, training solid and ``val_``
    dashed. Epochs are numbered from 1; with ``baseline`` (dict of the same names, measured
    before any update) each curve starts at epoch 0 from the baseline value. A GradientMonitor
    statistic named in ``metrics`` (``'grad_norm'``, ``'update_ratio'``, ``'saturated'`` ...)
    gets a panel of its own, one line per layer (log scale for norms and ratios).
    """
    if hasattr(history, "history") and baseline is None:
        baseline = getattr(history, "baseline", None)
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, dict):
        raise ConfigError(f"plot_history: history must be a dict name -> list or a History. Received: {type(history).__name__}.")
    path = _check_path(path)
    loss_keys, metric_keys = split_history(history, metrics)
    stat_panels = [_layer_columns(history, m) for m in metrics or () if _layer_columns(history, m)]
    if not loss_keys and not metric_keys and not stat_panels:
        raise ConfigError(f"plot_history: nothing to plot; the history has no per-epoch metrics. Keys: {sorted(history)}.")
    panels = [keys for keys in (loss_keys, metric_keys) if keys] + stat_panels
    fig = new_figure((5.5 * len(panels), 4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    baseline = baseline or {}
    for ax, keys in zip(axes[0], panels):
        for key in keys:
            ys = _finite(history[key])
            xs = list(range(1, len(ys) + 1))
            if key in baseline:
                xs, ys = [0] + xs, [_finite([baseline[key]])[0]] + ys
            style = "--" if key.startswith("val_") else "-"
            ax.plot(xs, ys, style, marker="o" if len(xs) <= 30 else None, markersize=3, label=key)
        ax.set_xlabel("epoch" + (" (0 = before training)" if baseline else ""))
        ax.xaxis.set_major_locator(_integer_ticks())
        stat = keys[0].split("/", 1)[0] if "/" in keys[0] else None
        ax.set_ylabel(stat or ("loss" if keys is loss_keys else "metric"))
        if stat in ("grad_norm", "weight_norm", "update_ratio"):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def plot_lines(series, path, xlabel, ylabel, title=None, logx=False, logy=False):
    """Write one line per ``label -> (xs, ys)`` to ``path`` (PNG) and return the path.

    Non-finite values are left as gaps; with ``logy`` non-positive values are gaps too.
    """
    if not isinstance(series, dict) or not series:
        raise ConfigError(f"plot_lines: series must be a non-empty dict label -> (xs, ys). Received: {series!r:.80}.")
    for label, pair in series.items():
        if len(pair) != 2 or len(pair[0]) != len(pair[1]):
            raise ConfigError(
                f"plot_lines: series[{label!r}] must be (xs, ys) of equal length. "
                f"Received lengths {[len(p) for p in pair]}."
            )
    path = _check_path(path)
    fig = new_figure((6, 4))
    ax = fig.subplots()
    for label, (xs, ys) in series.items():
        ys = _finite(ys)
        if logy:
            ys = [y if y > 0 else float("nan") for y in ys]
        ax.plot(list(xs), ys, marker="o" if len(ys) <= 30 else None, markersize=3, label=str(label))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if xlabel == "epoch":
        ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if len(series) > 1 or str(next(iter(series))):
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path
