"""Looking inside a trained net: what it learned, how it trains, what it costs.

- ``activation_maximization``: the input that most activates a filter, neuron or class
  (gradient ascent on the input, the model fixed), with the lecture's L1 penalty.
- ``deep_dream``: make the net exaggerate what a layer sees in an image.
- ``style_transfer``: Deep Style, content from one image, style (Gram matrices) from another.
- ``project_hidden`` / ``plot_projection``: 2-D PCA of a hidden layer, coloured by label.
- ``plot_filters``: the first conv layer's filter weights. ``plot_image_grid``: any images.
- ``find_lr``: the learning-rate range test.
- ``GradientMonitor``: per-layer gradient norms during ``fit`` (vanishing gradients).
- ``layer_flops`` / ``model_flops``: the FLOP counts shown by ``model.summary()``.
- ``diagnose`` / ``overfit_one_batch``: the lecture's recipe as a verdict on a run (the
  doctor; ``model.diagnose()`` calls it).
- ``evaluate_report`` / ``classification_report`` / ``confusion_matrix``: per-class
  precision, recall and F1 (``model.evaluate_report(x, y)`` calls it).

The doctor and the report are implemented in ``threestep.models.diagnosis`` and
``threestep.models.report``: ``Model.diagnose`` and ``Model.evaluate_report`` call them,
and models never import inspect (inspect looks at models from above).
Plots need matplotlib (imported only when a plot is drawn, headless).
"""
from ..models.diagnosis import Diagnosis, OverfitResult, diagnose, overfit_one_batch
from ..models.report import classification_report, confusion_matrix, evaluate_report
from ..models.summary import layer_flops, layer_memory, model_flops
from .activation import activation_maximization, deep_dream, layer_activation, layer_norm
from .lr_finder import LRRangeResult, find_lr, suggest_lr
from .plots import plot_image_grid, plot_lr_range, plot_projection
from .projection import filter_images, plot_filters, project_hidden
from .style import random_style_net, style_transfer
from ._tap import layer_output, layer_outputs

__all__ = ["Diagnosis", "GradientMonitor", "LRRangeResult", "OverfitResult", "classification_report",
           "confusion_matrix", "diagnose", "evaluate_report", "overfit_one_batch", "activation_maximization", "deep_dream", "filter_images", "find_lr",
           "layer_activation", "layer_flops", "layer_memory", "layer_norm", "layer_output", "layer_outputs",
           "model_flops", "plot_filters", "plot_image_grid", "plot_lr_range", "plot_projection", "project_hidden",
           "random_style_net", "style_transfer", "suggest_lr"]


def __getattr__(name):
    # GradientMonitor is a callback (threestep.callbacks.gradient_monitor); imported on first use.
    if name == "GradientMonitor":
        from ..callbacks.gradient_monitor import GradientMonitor  # noqa: PLC0415

        return GradientMonitor
    raise AttributeError(f"module 'threestep.inspect' has no attribute {name!r}")
