"""``plot_model`` / ``model_to_dot``: a model's layer graph drawn by Graphviz (Keras 2's
``keras.utils.plot_model``).

pydot (the Python side) and Graphviz (the ``dot`` program) are both optional and imported
only here; without them a :class:`GraphvizUnavailableError` says how to install them. A
``.dot`` file needs pydot only.
"""
import os

from ..errors import ConfigError, ThreestepError


class GraphvizUnavailableError(ThreestepError, ImportError):
    """pydot or the Graphviz ``dot`` program is missing."""


_INSTALL = ("Install both: `pip install pydot` and Graphviz's `dot` program "
            "(`sudo apt-get install graphviz`, `brew install graphviz`, or graphviz.org).")


def _pydot():
    try:
        import pydot  # noqa: PLC0415
    except ImportError as exc:
        raise GraphvizUnavailableError(f"plot_model needs pydot, which is not installed. "
                                       f"{_INSTALL}") from exc
    return pydot


def _shape_text(shape):
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(tuple(shape)).replace("None", "?") if shape is not None else "?"


def _edges(model):
    """``(boxes, edges)``: boxes ``[(id, layer or input tensor)]``, edges ``[(from, to)]``."""
    graph = getattr(model, "_graph", None)
    if graph is None:  # Sequential: a chain
        layers = list(model.layers)
        boxes = [(str(id(layer)), layer) for layer in layers]
        return boxes, [(boxes[i][0], boxes[i + 1][0]) for i in range(len(boxes) - 1)]
    boxes, edges, seen = [], [], set()
    for t in graph.inputs:
        boxes.append((f"input{t.uid}", t))
    for node in graph.nodes:
        key = str(id(node.layer))
        if key not in seen:
            seen.add(key)
            boxes.append((key, node.layer))
        for parent in node.parents():
            source = f"input{parent.uid}" if parent.node is None else str(id(parent.node.layer))
            if (source, key) not in edges:
                edges.append((source, key))
    return boxes, edges


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=96, subgraph=False):
    """The model's graph as a ``pydot.Dot``: one box per layer (and per Input), arrows
    along the data flow. ``show_shapes`` adds each layer's input and output shapes."""
    if rankdir not in ("TB", "LR"):
        raise ConfigError(f"model_to_dot: rankdir must be 'TB' or 'LR'. Received: {rankdir!r}.")
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi))
    dot.set_node_defaults(shape="record")
    for key, item in _edges(model)[0]:
        if hasattr(item, "node"):  # an Input's symbolic tensor
            name, kind = item.name or "input", "InputLayer"
            in_shape = out_shape = item.shape
        else:
            name, kind = item.name, type(item).__name__
            in_shape = getattr(item, "input_shape", None)
            out_shape = getattr(item, "output_shape", None)
        label = f"{name}: {kind}" if show_layer_names else kind
        if show_shapes:
            label = (f"{label}|{{input:|output:}}|{{{_shape_text(in_shape)}|"
                     f"{_shape_text(out_shape)}}}")
        dot.add_node(pydot.Node(key, label=label))
    for source, target in _edges(model)[1]:
        dot.add_edge(pydot.Edge(source, target))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=96):
    """Draws the model's layer graph into ``to_file`` (format from its extension: png, svg,
    pdf, ... or ``dot`` for the Graphviz source, which needs no Graphviz).

    Example:
        >>> plot_model(model, to_file="model.png", show_shapes=True)
    """
    dot = model_to_dot(model, show_shapes, show_layer_names, rankdir, expand_nested, dpi)
    extension = os.path.splitext(os.fspath(to_file))[1][1:].lower() or "png"
    if extension == "dot":
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(dot.to_string())
        return dot
    try:
        data = dot.create(format=extension)
    except (OSError, FileNotFoundError, AssertionError) as exc:
        raise GraphvizUnavailableError(f"plot_model: Graphviz could not draw {to_file}: "
                                       f"{exc}. {_INSTALL} Or write to a .dot file, which "
                                       "needs pydot only.") from exc
    with open(to_file, "wb") as f:
        f.write(data)
    return dot
