"""PNG plots for ``threestep.inspect``: image grids, hidden-layer projections, LR range tests.

matplotlib is imported only when a plot is drawn, and figures are drawn on the ``Agg`` canvas
without pyplot (``utils.plotting``), so ``import threestep`` never needs it. Every function writes ``path`` and returns it.
"""
import math
import os

import numpy

from ..utils.plotting import subplots


def _save(fig, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def as_picture(image):
    """One sample as something ``imshow`` draws: (H, W) grey or (H, W, 3) RGB in [0, 1].

    Channels-last (H, W, 1|3) and channels-first (1|3, H, W) images are recognised; a flat
    vector of square length (the digits' 64 pixels) is shown as a square; a (steps,
    channels) sequence is shown as an image with time along the x axis.
    """
    a = numpy.asarray(image, dtype=numpy.float64)
    if a.ndim == 1:
        side = math.isqrt(a.size)
        a = a.reshape(side, side) if side * side == a.size else a[None, :]
    elif a.ndim == 3:
        if a.shape[-1] in (1, 3):
            a = a[..., 0] if a.shape[-1] == 1 else a
        elif a.shape[0] in (1, 3):
            a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
        else:
            a = a.mean(axis=-1)
    elif a.ndim == 2 and a.shape[1] < a.shape[0]:
        a = a.T  # (steps, channels): time along x
    elif a.ndim > 3:
        a = a.reshape(a.shape[0], -1)
    if a.ndim == 3:  # RGB: stretch each image to [0, 1] for display
        low, high = a.min(), a.max()
        a = (a - low) / (high - low) if high > low else numpy.zeros_like(a)
    return a


def plot_image_grid(images, path, titles=None, cols=None, cmap="gray", suptitle=None):
    """Draw images in a grid (one sub-plot each) and write a PNG.

    Args:
        images: an array (n, ...) or a list of images; each as ``as_picture`` understands.
        path: the PNG file to write (folders are created).
        titles: optional list of n labels. cols: grid width (default about sqrt(n)).
    """
    images = list(images)
    if not images:
        from ..errors import ConfigError  # noqa: PLC0415

        raise ConfigError("plot_image_grid: received no images to draw.")
    if titles is not None and len(titles) != len(images):
        from ..errors import ConfigError  # noqa: PLC0415

        raise ConfigError(f"plot_image_grid: {len(titles)} titles for {len(images)} images.")
    n = len(images)
    cols = int(cols or math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    fig, axes = subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + (0.3 if suptitle else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(as_picture(images[i]), cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def plot_projection(points, labels, path, title=None, class_names=None):
    """Scatter 2-D points coloured by label (the lecture's picture of hidden layers)."""
    points = numpy.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        from ..errors import ShapeError  # noqa: PLC0415

        raise ShapeError(f"plot_projection: points must have shape (n, 2); received {points.shape}.")
    labels = numpy.asarray(labels)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(axis=1)
    if len(labels) != len(points):
        from ..errors import ShapeError  # noqa: PLC0415

        raise ShapeError(f"plot_projection: {len(labels)} labels for {len(points)} points.")
    fig, ax = subplots(figsize=(5.5, 4.5))
    classes = numpy.unique(labels)
    from matplotlib import colormaps  # noqa: PLC0415  (present: subplots needed it)

    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, c in enumerate(classes):
        sel = labels == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(points[sel, 0], points[sel, 1], s=8, color=cmap(i % cmap.N), label=name)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_lr_range(lrs, losses, path, suggested_lr=None, smoothed=None):
    """Loss against learning rate on a log x axis, with the suggested LR marked."""
    fig, ax = subplots(figsize=(5.5, 4))
    ax.plot(lrs, losses, lw=1, alpha=0.5, label="loss")
    if smoothed is not None:
        ax.plot(lrs, smoothed, lw=1.5, label="smoothed loss")
    if suggested_lr is not None:
        ax.axvline(suggested_lr, color="red", ls="--", label=f"suggested lr = {suggested_lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("Learning-rate range test")
    ax.legend()
    return _save(fig, path)
