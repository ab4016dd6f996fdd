"""The API reference is generated from docstrings, so every public name needs one.

For each public module: every class or function in ``__all__`` has its own docstring (not one
inherited from ``object``), and every layer, loss, metric, optimizer and callback class, and every
loss or metric function, shows a short example (a ``>>>`` line or an ``Example:`` section).
Each failure names the offenders, so a new layer without a docstring is caught at once.
"""
import importlib
import inspect
import pkgutil

import pytest

CORE = [
    "threestep.layers", "threestep.layers.initializers", "threestep.regularizers", "threestep.losses",
    "threestep.metrics", "threestep.optimizers", "threestep.optimizers.schedules", "threestep.callbacks",
    "threestep.models", "threestep.autograd", "threestep.backend", "threestep.ops", "threestep.utils",
    "threestep.inspect", "threestep.datasets", "threestep.preprocessing", "threestep.errors",
    "threestep.experiments",
]
OPTIONAL = ["threestep.activations", "threestep.keras.backend", "threestep.interop", "threestep.export",
            "threestep.search"]


def _optional_present():
    out = []
    for name in OPTIONAL:
        try:
            importlib.util.find_spec(name)
        except ModuleNotFoundError:  # its parent package does not exist
            continue
        if importlib.util.find_spec(name) is not None:
            out.append(name)
    return out


def _public_modules():
    names = CORE + _optional_present()
    pre = importlib.import_module("threestep.preprocessing")
    names += [f"threestep.preprocessing.{m.name}" for m in pkgutil.iter_modules(pre.__path__)
              if not m.name.startswith("_")]
    return names


MODULES = _public_modules()


def _own_doc(obj):
    """The object's own docstring ("" when it has none or only inherits one)."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return (doc or "").strip()


def _public(module_name):
    mod = importlib.import_module(module_name)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
            yield name, obj


def _has_example(obj):
    docs = [_own_doc(obj)]
    if inspect.isclass(obj) and "__init__" in obj.__dict__:
        docs.append(inspect.getdoc(obj.__dict__["__init__"]) or "")
    return any(">>>" in d or "Example:" in d or "Examples:" in d for d in docs)


def _needs_example():
    """(qualified name, object) of every layer, loss, metric, optimizer and callback in the API."""
    from threestep import callbacks, layers, losses, metrics, optimizers

    bases = [(layers, layers.Layer), (losses, losses.Loss), (metrics, metrics.Metric),
             (optimizers, optimizers.Optimizer), (callbacks, callbacks.Callback)]
    seen = {}
    for mod, base in bases:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
                seen.setdefault(id(obj), (f"{mod.__name__}.{name}", obj))
            elif mod in (losses, metrics) and inspect.isfunction(obj):
                params = list(inspect.signature(obj).parameters)
                if params[:2] == ["y_true", "y_pred"]:  # a loss or metric function, not get/serialize
                    seen.setdefault(id(obj), (f"{mod.__name__}.{name}", obj))
    return sorted(seen.values(), key=lambda t: t[0])


@pytest.mark.parametrize("module_name", MODULES)
def test_module_declares_all(module_name):
    mod = importlib.import_module(module_name)
    assert isinstance(getattr(mod, "__all__", None), (list, tuple)), \
        f"{module_name} has no __all__; list its public API so the reference knows what to render"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{module_name}.__all__ names what the module lacks: {missing}"
    assert _own_doc(mod), f"{module_name} has no module docstring"


@pytest.mark.parametrize("module_name", MODULES)
def test_public_names_have_docstrings(module_name):
    offenders = sorted(f"{module_name}.{name}" for name, obj in _public(module_name) if not _own_doc(obj))
    assert not offenders, (f"{len(offenders)} public names without a docstring (say what and why, Google "
                           "style):\n  " + "\n  ".join(offenders))


def test_layers_losses_metrics_optimizers_callbacks_show_an_example():
    items = _needs_example()
    assert len(items) > 100  # the census itself works: layers alone are more than that
    offenders = [name for name, obj in items if not _has_example(obj)]
    assert not offenders, (f"{len(offenders)} of {len(items)} layers, losses, metrics, optimizers and callbacks "
                           "show no example (a '>>>' line or an 'Example:' section):\n  " + "\n  ".join(offenders))
