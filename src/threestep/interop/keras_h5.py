"""Keras 2 HDF5 files: ``model.save("m.h5")`` models and ``save_weights("w.h5")`` weights.

Layout (Keras 2.x and tf-keras): root attributes ``model_config`` (JSON) and
``training_config``; a group ``model_weights`` (or the root, for a weights file) whose
attribute ``layer_names`` lists the layers in order, each layer a group whose attribute
``weight_names`` lists its datasets in the layer's weight order.
"""
import os
import warnings

from ..errors import ModelFileError
from . import h5safe
from .keras_config import Budget, is_sequential, keras_layer_order, model_from_keras, model_to_keras
from .keras_layers import keras_weight_shapes, keras_weights, set_keras_weights

KERAS_VERSION = "2.21.0"  # the Keras 2 file layout written (tf-keras reads it back)


# ---------------------------------------------------------------------- reading
def _layer_entries(group, where):
    """``[(layer name, layer group, [weight datasets in order])]`` of a legacy weights group."""
    names = h5safe.name_list_attr(group, "layer_names", where)
    if names is None:
        raise ModelFileError(f"{where}: no 'layer_names' attribute: not a Keras 2 weights file.")
    entries = []
    for name in names:
        g = h5safe.child(group, name, where)
        if g is None:
            raise ModelFileError(f"{where}: layer {name!r} is listed but its weight group is missing.")
        weight_names = h5safe.name_list_attr(g, "weight_names", where) or []
        datasets = []
        for wname in weight_names:
            obj, parts = g, wname.split("/")
            for i, part in enumerate(parts):
                obj = h5safe.child(obj, part, where, kind="dataset" if i == len(parts) - 1 else "group")
                if obj is None:
                    raise ModelFileError(f"{where}: weight {wname!r} of layer {name!r} is missing.")
            datasets.append(obj)
        entries.append((name, g, datasets))
    return entries


def _assign(layer, datasets, where):
    shapes = keras_weight_shapes(layer)
    if len(shapes) != len(datasets):
        raise ModelFileError(f"{where}: layer {layer.name!r} ({type(layer).__name__}) has {len(shapes)} weights but "
                             f"the file holds {len(datasets)}.")
    arrays = [h5safe.read_array(d, s, where) for d, s in zip(datasets, shapes)]
    set_keras_weights(layer, arrays, where)


def _weighted(model):
    return [layer for layer in model.layers if layer.weights]


def assign_weights(model, group, where, by_name=False, skip_mismatch=False):
    """Set ``model``'s weights from a legacy weights group (Keras's load_weights semantics)."""
    entries = [e for e in _layer_entries(group, where) if e[2]]
    layers = _weighted(model)
    if not by_name:
        if len(entries) != len(layers):
            raise ModelFileError(f"{where}: the file holds weights for {len(entries)} layers "
                                 f"({[e[0] for e in entries]}) but the model has {len(layers)} layers with weights "
                                 f"({[layer.name for layer in layers]}). Use by_name=True to match by layer name.")
        for layer, (_, _, datasets) in zip(layers, entries):
            _assign(layer, datasets, where)
        return
    by = {name: datasets for name, _, datasets in entries}
    for layer in layers:
        if layer.name not in by:
            continue
        try:
            _assign(layer, by[layer.name], where)
        except ModelFileError as exc:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping layer {layer.name!r}: {exc}", RuntimeWarning, stacklevel=3)


def load_model(path, custom_objects=None, compile=True, max_bytes=h5safe.MAX_BYTES):  # noqa: A002
    """A threestep model from a Keras 2 ``.h5`` model file (architecture + weights)."""
    where = os.fspath(path)
    with h5safe.open_h5(path, where) as f:
        spec = h5safe.json_attr(f, "model_config", where)
        if spec is None:
            raise ModelFileError(f"{where}: an HDF5 file without a 'model_config' attribute holds weights only; "
                                 "build the model and call model.load_weights() on it.")
        weights = h5safe.child(f, "model_weights", where) or f
        limit = h5safe.declared_bytes(weights, where, max_bytes) // 2 + 1_000_000  # float16 is the smallest
        model = model_from_keras(spec, custom_objects, where, Budget(limit, where))
        _assign_by_name(model, weights, where)
        training = h5safe.json_attr(f, "training_config", where)
    if compile and training:
        compile_from_keras(model, training, custom_objects or {}, where)
    return model


def _assign_by_name(model, group, where):
    """Weights of a model rebuilt from the same file: every layer by its own name, all required."""
    entries = {name: datasets for name, _, datasets in _layer_entries(group, where)}
    for layer in _weighted(model):
        if layer.name not in entries:
            raise ModelFileError(f"{where}: no weights for layer {layer.name!r} in the file.")
        _assign(layer, entries[layer.name], where)


def load_weights(model, path, by_name=False, skip_mismatch=False, max_bytes=h5safe.MAX_BYTES):
    """Keras's ``model.load_weights("w.h5")`` for legacy and ``.weights.h5`` layouts."""
    where = os.fspath(path)
    if skip_mismatch and not by_name:
        raise ModelFileError("load_weights: skip_mismatch=True needs by_name=True (as in Keras).")
    with h5safe.open_h5(path, where) as f:
        group = h5safe.child(f, "model_weights", where) or f
        h5safe.declared_bytes(group, where, max_bytes)
        if h5safe.child(group, "layers", where) is not None and "layer_names" not in group.attrs:
            from .keras_zip import assign_v3  # noqa: PLC0415

            assign_v3(model, group, where)
        else:
            assign_weights(model, group, where, by_name=by_name, skip_mismatch=skip_mismatch)


def compile_from_keras(model, training, custom_objects, where):
    """Compile with a Keras ``training_config`` when threestep has its loss and optimizer; warn otherwise."""
    from .. import optimizers  # noqa: PLC0415

    loss = training.get("loss")
    if isinstance(loss, dict) and all(isinstance(v, str) for v in loss.values()):  # one loss per output name
        loss = {k: custom_objects.get(v, v) for k, v in loss.items()}
    else:
        loss = custom_objects.get(loss, loss) if isinstance(loss, str) else None
    opt = training.get("optimizer_config") or {}
    name = str(opt.get("class_name", "")).replace("Custom>", "")
    keep = ("learning_rate", "lr", "momentum", "nesterov", "rho", "beta_1", "beta_2", "epsilon", "amsgrad")
    try:
        if loss is None:
            raise ValueError(f"loss {training.get('loss')!r}")
        config = {k: v for k, v in (opt.get("config") or {}).items() if k in keep and v is not None}
        optimizer = optimizers.get({"class_name": name, "config": config})
        metrics = training.get("metrics") or []
        if isinstance(metrics, dict):  # metrics per output name
            metrics = {k: [m for m in ([v] if isinstance(v, str) else v or []) if isinstance(m, str)]
                       for k, v in metrics.items()}
        else:
            metrics = [m for m in metrics if isinstance(m, str)]
        weights = training.get("loss_weights")
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                      loss_weights=weights if isinstance(weights, (dict, list)) else None)
    except (ValueError, TypeError, KeyError) as exc:
        warnings.warn(f"{where}: the model is returned uncompiled: its training config cannot be used in threestep "
                      f"({exc}). Call model.compile(...) yourself.", RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------------- writing
def _names_attr(obj, name, values):
    """A list-of-names attribute; split into ``name0``, ``name1``, ... as Keras does when it
    would pass HDF5's 64 KiB limit on an attribute in the object header."""
    import numpy  # noqa: PLC0415

    data = numpy.array([v.encode() for v in values], dtype=bytes if values else "S1")
    chunks = max(1, -(-data.nbytes // 64000))
    if chunks == 1:
        obj.attrs[name] = data
        return
    for i, part in enumerate(numpy.array_split(data, chunks)):
        obj.attrs[f"{name}{i}"] = part


def _fill_weights(group, model):
    layers = list(model.layers) if is_sequential(model) else keras_layer_order(model)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ModelFileError(f"Keras files name weight groups by layer name, and layers {duplicates} share a name; "
                             "give each layer a unique name= before saving.")
    _names_attr(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = KERAS_VERSION
    for layer in layers:
        g = group.create_group(layer.name)
        weights = keras_weights(layer)
        _names_attr(g, "weight_names", [name for name, _ in weights])
        for name, array in weights:
            g.create_dataset(name, data=array)
    _names_attr(group.create_group("top_level_model_weights"), "weight_names", [])


_OPTIMIZER_KEYS = {"SGD": ("learning_rate", "momentum", "nesterov"),
                   "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"),
                   "RMSprop": ("learning_rate", "rho", "momentum", "epsilon", "centered"),
                   "Adagrad": ("learning_rate", "initial_accumulator_value", "epsilon"),
                   "Adadelta": ("learning_rate", "rho", "epsilon"),
                   "Adamax": ("learning_rate", "beta_1", "beta_2", "epsilon"),
                   "Nadam": ("learning_rate", "beta_1", "beta_2", "epsilon")}


def training_config(model):
    """Keras's ``training_config`` for a model compiled with a built-in loss and a plain
    optimizer (so tf-keras's load_model compiles it too); None otherwise."""
    compiled = model.compile_config() if getattr(model, "compiled", False) else None
    if not compiled or compiled["loss_config"].get("from_logits"):
        return None
    loss = compiled.get("loss")
    per_output = compiled.get("output_losses")
    if loss is None and per_output and all(isinstance(v, str) for v in per_output.values()):
        loss = per_output  # several outputs: a loss per output name, as Keras writes it
    if not loss:
        return None
    opt = compiled["optimizer"]
    keys = _OPTIMIZER_KEYS.get(opt["class_name"])
    config = opt.get("config", {})
    if keys is None or not isinstance(config.get("learning_rate"), (int, float)):
        return None
    metrics = compiled.get("metrics") or []
    if isinstance(metrics, dict):
        metrics = {k: [m for m in v if isinstance(m, str)] for k, v in metrics.items()}
    else:
        metrics = [m for m in metrics if isinstance(m, str)]
    return {"loss": loss, "metrics": metrics or None, "weighted_metrics": None,
            "loss_weights": compiled.get("loss_weights"),
            "optimizer_config": {"class_name": opt["class_name"],
                                 "config": {k: config[k] for k in keys if k in config}}}


def save_model(model, path, overwrite=True):
    """Write ``model`` as a Keras 2 HDF5 model file (tf-keras ``load_model`` reads it; a model
    compiled with a built-in loss and optimizer is compiled there too)."""
    import json  # noqa: PLC0415

    from ..saving.atomic import atomic_write  # noqa: PLC0415

    config = json.dumps(model_to_keras(model, os.fspath(path)))
    training = training_config(model)

    def fill(f):
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = config
        if training is not None:
            f.attrs["training_config"] = json.dumps(training)
        _fill_weights(f.create_group("model_weights"), model)

    data = h5safe.write_bytes_h5(fill)
    with atomic_write(path, overwrite) as stream:
        stream.write(data)


def save_weights(model, path, overwrite=True):
    """Write ``model``'s weights as a Keras 2 HDF5 weights file (``model.load_weights`` in Keras reads it)."""
    from ..saving.atomic import atomic_write  # noqa: PLC0415

    if not model.built:
        raise ModelFileError(f"save_weights({os.fspath(path)!r}): the model is not built, so it has no weights yet.")
    data = h5safe.write_bytes_h5(lambda f: _fill_weights(f, model))
    with atomic_write(path, overwrite) as stream:
        stream.write(data)
