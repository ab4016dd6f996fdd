"""``threestep visualize MODEL_FILE``: what a saved network's filters, neurons and classes respond to.

Loads the model, runs activation maximisation for the chosen units of one layer and
writes PNG grids to ``--out``:

- ``--what filters``: the images that most activate each filter of a conv layer (sum of
  its feature map), plus the filter weights when the layer is a convolution;
- ``--what neurons``: the images that most activate each neuron of a layer;
- ``--what classes``: the images that most raise each class score (before the softmax);
  ``--l1`` adds the lecture's penalty that turns "broken TV" images into strokes.
"""
import os
import sys

from ..errors import ConfigError, ThreestepError

_WHAT = {"filters": "filter", "neurons": "neuron", "classes": "class"}


def add_visualize_parser(sub):
    p = sub.add_parser("visualize", help="write PNG grids of what a saved model's filters, neurons or classes "
                                         "respond to (activation maximisation)")
    p.add_argument("model_file", metavar="MODEL_FILE", help="a model saved with model.save(...)")
    p.add_argument("--layer", default=None,
                   help="layer name (default: first conv layer for filters, output layer for classes, last "
                        "hidden layer for neurons)")
    p.add_argument("--what", choices=sorted(_WHAT), default="classes", help="what to visualise (default: classes)")
    p.add_argument("--out", default="visualize", help="output folder (default: ./visualize)")
    p.add_argument("--l1", type=float, default=0.0, help="L1 penalty on the image (default: 0)")
    p.add_argument("--smoothness", type=float, default=0.0, help="total-variation penalty (default: 0)")
    p.add_argument("--steps", type=int, default=200, help="gradient-ascent steps (default: 200)")
    p.add_argument("--lr", type=float, default=0.05, help="step size of the ascent (default: 0.05)")
    p.add_argument("--max-units", type=int, default=16, help="visualise at most this many units (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting noise (default: 0)")
    p.set_defaults(func=visualize)
    return p


def _default_layer(model, what):
    from ..inspect._tap import output_layer  # noqa: PLC0415

    if what == "classes":
        return output_layer(model)
    if what == "filters":
        for layer in model.layers:
            if isinstance(layer.output_shape, tuple) and len(layer.output_shape) >= 3 and layer.weights:
                return layer
        raise ConfigError(f"model {model.name!r} has no conv layer; pass --layer or use --what neurons.")
    hidden = [layer for layer in model.layers if layer.weights and layer is not output_layer(model)]
    if not hidden:
        raise ConfigError(f"model {model.name!r} has no hidden layer with weights; pass --layer.")
    return hidden[-1]


def visualize(args):
    from ..inspect import activation_maximization, plot_filters, plot_image_grid  # noqa: PLC0415
    from ..inspect._tap import find_layer  # noqa: PLC0415
    from ..inspect.activation import _n_units, _resolve_what  # noqa: PLC0415
    from ..models import load_model  # noqa: PLC0415

    try:
        model = load_model(args.model_file, compile=False)
        layer = find_layer(model, args.layer, "visualize --layer") if args.layer else _default_layer(model, args.what)
        what = _resolve_what(model, layer, _WHAT[args.what], "visualize")
        n = _n_units(layer, what)
        indices = list(range(min(n if n is not None else args.max_units, args.max_units)))
        images = activation_maximization(model, layer, indices, what=what, steps=args.steps, lr=args.lr,
                                         l1=args.l1, smoothness=args.smoothness, seed=args.seed)
        os.makedirs(args.out, exist_ok=True)
        written = [plot_image_grid(images, os.path.join(args.out, f"{layer.name}_{args.what}.png"),
                                   titles=[f"{what} {i}" for i in indices],
                                   suptitle=f"{layer.name}: inputs that maximise each {what}"
                                            + (f" (l1={args.l1:g})" if args.l1 else ""))]
        if args.what == "filters" and hasattr(layer, "kernel_size"):
            written.append(plot_filters(model, layer, os.path.join(args.out, f"{layer.name}_weights.png")))
    except (ThreestepError, OSError) as exc:
        print(f"threestep visualize: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0
