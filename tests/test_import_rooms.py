"""The rooms of src/threestep import each other only along the declared arrows, and never in a circle.

Every ``import`` in the package (top-level and inside functions alike: a lazy import is
still an arrow) is parsed with ``ast`` and mapped to the top-level room it names
(``threestep.models.persist`` -> ``models``). The declared table below follows the room
table of the design document (rooms and "may import"); where the code needs a different
arrow, the arrow is listed in ``DEVIATIONS`` with the reason. A new room, or an arrow that
is neither declared nor explained, fails here.
"""
import ast
import collections
import os

import threestep

PACKAGE_DIR = os.path.dirname(threestep.__file__)

# room -> the rooms it may import directly (the design document's "may import" column;
# "everything above" spelled out). What a room may import, its importers need not list
# again: the check allows the transitive closure (of these and the deviations).
DECLARED = {
    "errors": set(),  # the exception vocabulary (threestep.errors): every room may raise them
    "custom_objects": set(),  # the registry of the user's own classes and functions (load_model's custom_objects)
    "__version__": set(),  # ``from threestep import __version__``: a string, no room behind it
    "backend": set(),
    "autograd": {"backend"},
    "accel": {"backend"},
    "ops": {"autograd", "accel", "backend"},
    "layers": {"ops", "custom_objects"},
    "regularizers": {"layers"},  # the public path threestep.regularizers re-exports layers.regularizers
    "activations": {"layers"},  # the public path threestep.activations re-exports layers.activations
    "losses": {"ops", "accel", "backend", "custom_objects"},
    "metrics": {"ops", "accel", "backend", "losses", "custom_objects"},  # any loss is also a metric (Keras)
    "optimizers": {"ops", "accel", "backend", "custom_objects"},
    "callbacks": {"ops", "accel", "backend"},
    "preprocessing": {"backend"},
    "utils": {"backend", "custom_objects"},  # utils re-exports custom_object_scope, as keras.utils does
    "saving": {"backend"},  # file formats and the atomic writer: "models import saving, never the reverse"
    "distributed": {"backend"},  # "knows nothing of models"
    "constraints": {"layers"},  # the public path threestep.constraints re-exports layers.constraints
    "interop": {"layers", "saving", "losses", "optimizers"},  # file formats (Keras HDF5 / .keras, PyTorch state dicts) <-> layers and
                                      # weights; models hands it the model classes to build with
    "models": {"backend", "autograd", "accel", "ops", "layers", "regularizers", "losses", "metrics", "optimizers",
               "callbacks", "distributed", "saving", "interop"},
    "datasets": {"backend"},
    "inspect": {"models"},
    "experiments": {"models", "inspect", "datasets", "preprocessing", "utils", "search"},
    "keras": {"models", "layers", "losses", "metrics", "optimizers", "callbacks", "datasets", "preprocessing",
              "utils", "regularizers"},
    "export": {"models", "layers", "interop"},
    "search": {"models", "datasets"},
    "cli": {"models", "inspect", "experiments", "datasets", "utils", "interop", "export", "search"},
    "__main__": {"cli"},
    "threestep": {"backend", "autograd", "ops"},  # the package's own __init__: Tensor, no_grad, the operators
}

# Arrows the code needs beyond the table, and why.
DEVIATIONS = {
    ("callbacks", "utils"): "the progress bar (ProgbarLogger) and History/run plots are utils; utils imports only "
                            "backend, so this cannot close a circle (the design lists utils after models only for "
                            "reading order)",
    ("models", "utils"): "the confusion-matrix plot of model.evaluate_report draws with utils.plotting",
    ("callbacks", "layers"): "GradientMonitor names a layer's activation (activations.name_of) to decide which "
                             "units count as dead or saturated",
    ("callbacks", "saving"): "RunLogger writes its JSON through the package's one atomic writer, and "
                             "ModelCheckpoint checks the RNG state is JSON with saving's to_json; saving imports "
                             "only backend and errors",
    ("datasets", "saving"): "downloaded files land through the package's one atomic writer (saving.atomic)",
    ("datasets", "preprocessing"): "IMDB and the sequence tasks pad and index text with preprocessing's helpers",
    ("models", "datasets"): "the seq2seq builders decode greedily with the sequence tasks' decoder "
                            "(datasets imports only backend, saving and preprocessing: no circle)",
    ("preprocessing", "utils"): "ImageDataGenerator's iterators are utils.Sequence objects, as in Keras (utils "
                                "imports only backend and custom_objects)",
}

# Arrows that exist only to keep an old public name importable, resolved on first lookup
# (a module-level __getattr__), never at import time and never used inside the package.
COMPAT_FORWARDS = {
    ("saving", "models"): ("saving/__init__.py", "threestep.saving.load_model / save_model / load_weights / "
                           "save_weights were public before the model-level code moved to models.persist"),
}


def _module_name(path):
    rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


# Top-level modules that belong to another room: one room split over two files.
ROOM_OF = {"losses_keras": "losses", "metrics_confusion": "metrics", "metrics_classes": "metrics",
           "metrics_r2": "metrics", "metrics_fscore": "metrics", "metrics_iou": "metrics", "metrics_at": "metrics"}


def _room(module):
    parts = module.split(".")
    if parts[0] != "threestep":
        return None
    return "threestep" if len(parts) == 1 else ROOM_OF.get(parts[1], parts[1])


def _imported_modules(node, module, is_package):
    """The threestep modules one Import/ImportFrom node names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if node.module is None or target == "threestep":  # `from .. import ops, backend`: each name may be a module
        return [f"{target}.{alias.name}" for alias in node.names]
    return [target]


def _inside_getattr(tree, node):
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name == "__getattr__" and node in ast.walk(fn):
            return True
    return False


def scan():
    """{(from_room, to_room): [(file, line, inside a module __getattr__)]} for every cross-room import."""
    arrows = collections.defaultdict(list)
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            module = _module_name(path)
            source_room = _room(module)
            tree = ast.parse(open(path, encoding="utf-8").read(), path)
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                for target in _imported_modules(node, module, name == "__init__.py"):
                    room = _room(target)
                    if target == "threestep.__version__":
                        room = "__version__"
                    if room is None or room == source_room:
                        continue
                    rel = os.path.relpath(path, PACKAGE_DIR)
                    arrows[(source_room, room)].append((rel, node.lineno, _inside_getattr(tree, node)))
    return arrows


def _closure(room, graph, seen=None):
    seen = set() if seen is None else seen
    for nxt in graph.get(room, ()):
        if nxt not in seen:
            seen.add(nxt)
            _closure(nxt, graph, seen)
    return seen


def _cycle(edges):
    """One cycle as a list of rooms, or None (iterative depth-first search)."""
    graph = collections.defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    state = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_every_room_is_declared():
    rooms = {ROOM_OF.get(name[:-3], name[:-3]) if name.endswith(".py") else name for name in os.listdir(PACKAGE_DIR)
             if (name.endswith(".py") and name != "__init__.py")
             or os.path.isfile(os.path.join(PACKAGE_DIR, name, "__init__.py"))}
    assert rooms <= set(DECLARED), f"rooms missing from the declared table: {sorted(rooms - set(DECLARED))}"


def test_arrows_follow_the_declared_table():
    arrows = scan()
    graph = {room: set(targets) for room, targets in DECLARED.items()}
    for a, b in DEVIATIONS:
        graph[a].add(b)
    allowed = {room: _closure(room, graph) | {"errors", "__version__"} for room in graph}
    bad = {}
    for (a, b), places in sorted(arrows.items()):
        if b in allowed.get(a, set()) or (a, b) in DEVIATIONS:
            continue
        if (a, b) in COMPAT_FORWARDS:
            where, _ = COMPAT_FORWARDS[(a, b)]
            assert all(rel == where and in_getattr for rel, _, in_getattr in places), \
                f"{a} -> {b} is allowed only in {where}'s module __getattr__; found at {places}"
            continue
        bad[f"{a} -> {b}"] = places[:3]
    assert not bad, f"arrows that are neither declared nor explained: {bad}"


def test_no_circle_between_rooms():
    edges = set(scan()) - set(COMPAT_FORWARDS)
    cycle = _cycle(edges)
    assert cycle is None, "import circle between rooms: " + " -> ".join(cycle)


def test_declared_table_itself_has_no_circle():
    edges = {(a, b) for a, targets in DECLARED.items() for b in targets} | set(DEVIATIONS)
    assert _cycle(edges) is None


def test_compat_forwards_are_not_used_inside_the_package():
    """Inside the package the model-level save/load come from models, never through saving's forward."""
    names = {"load_model", "save_model", "load_weights", "save_weights"}
    offenders = []
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            module = _module_name(path)
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.ImportFrom) and names & {a.name for a in node.names}:
                    targets = _imported_modules(node, module, name == "__init__.py")
                    if any(t == "threestep.saving" for t in targets):
                        offenders.append(f"{os.path.relpath(path, PACKAGE_DIR)}:{node.lineno}")
    assert not offenders, offenders


def test_the_forward_gives_the_models_functions():
    from threestep import models, saving

    assert saving.load_model is models.load_model and saving.save_model is models.save_model


def test_cli_and_distributed_do_not_touch_sys_path_or_models():
    """The command never edits the import path (``threestep bench`` runs the suite as a child
    process), and distributed never imports models (it works on the arrays fit hands it)."""
    touched = []
    for folder in ("cli", "distributed"):
        for name in os.listdir(os.path.join(PACKAGE_DIR, folder)):
            if not name.endswith(".py"):
                continue
            path = os.path.join(PACKAGE_DIR, folder, name)
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if isinstance(node, ast.Attribute) and node.attr == "path" and \
                        isinstance(node.value, ast.Name) and node.value.id == "sys":
                    touched.append(f"{folder}/{name}:{node.lineno}")
    assert not touched, touched
    assert not [k for k in scan() if k[0] == "distributed" and k[1] == "models"]


def test_scan_sees_lazy_and_relative_imports(tmp_path):
    """The scanner itself: a function-level relative import counts as an arrow."""
    tree = ast.parse("def f():\n    from ..models import persist\n")
    node = tree.body[0].body[0]
    assert _imported_modules(node, "threestep.saving.archive", False) == ["threestep.models"]
    node = ast.parse("from .. import ops, backend\n").body[0]
    assert _imported_modules(node, "threestep.layers.core", False) == ["threestep.ops", "threestep.backend"]
    assert _cycle({("a", "b"), ("b", "c"), ("c", "a")}) == ["a", "b", "c", "a"]
    assert _cycle({("a", "b"), ("b", "c")}) is None
