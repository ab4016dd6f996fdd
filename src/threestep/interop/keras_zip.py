"""The ``.keras`` zip format of tf-keras 2.13+ (and Keras 3): ``metadata.json``, ``config.json``
and ``model.weights.h5``.

In ``model.weights.h5`` each layer's variables sit at ``layers/<key>/vars/<i>``, where
``<key>`` is the snake-cased Keras class name made unique by a counter in ``model.layers``
order (``dense``, ``dense_1``, ...); a recurrent layer keeps them in ``.../cell/vars``, a
Bidirectional in ``forward_layer/cell`` and ``backward_layer/cell``, a TimeDistributed in
``layer``. The variables are numbered trainable first, then non-trainable.
"""
import datetime
import io
import json
import os
import zipfile

from ..errors import ModelFileError
from . import h5safe
from .keras_config import Budget, is_sequential, keras_layer_order, model_from_keras, model_to_keras
from .keras_layers import keras_class_name, keras_weight_shapes, keras_weights, set_keras_weights, snake_case

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_CONFIG_BYTES = 64 * 2**20


def is_keras_zip(path):
    """True if ``path`` is a zip holding config.json and model.weights.h5."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return CONFIG in names and WEIGHTS in names


def _member_paths(pairs, prefix="layers"):
    """``[(layer, [h5 path of each vars group, with the layer owning it])]`` for Keras-ordered
    ``(keras class name, layer)`` pairs."""
    used, out = {}, []
    for class_name, layer in pairs:
        key = snake_case(class_name)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        if layer is not None:
            out.append((layer, _inner_paths(f"{prefix}/{key}", layer)))
    return out


def _inner_paths(prefix, layer):
    if type(layer).__name__ == "ModelLayer":  # a nested model: its own layers under its group
        return [p for _, paths in _member_paths(_pairs_of_model(layer.model), prefix + "/layers") for p in paths]
    if hasattr(layer, "forward_layer"):
        return _inner_paths(prefix + "/forward_layer", layer.forward_layer) + \
            _inner_paths(prefix + "/backward_layer", layer.backward_layer)
    if type(layer).__name__ == "TimeDistributed":
        return _inner_paths(prefix + "/layer", layer.layer)
    cells = getattr(getattr(layer, "cell", None), "cells", None)
    if cells is not None:  # RNN of a cell stack: one vars group per cell, as Keras's trackables nest
        used, out = {}, []
        for cell in cells:  # named as Keras names them: lstm_cell, gru_cell, lstm_cell_1, ...
            key = snake_case(type(cell).__name__)
            used[key] = used.get(key, -1) + 1
            out.append((f"{prefix}/cell/cells/{key}" + (f"_{used[key]}" if used[key] else ""), cell))
        return out
    if hasattr(layer, "gates"):
        return [(prefix + "/cell", layer)]
    return [(prefix, layer)]


def _pairs_of_model(model):
    if is_sequential(model):
        return [(keras_class_name(layer), layer) for layer in model.layers]
    return [("InputLayer", None) for _ in model.inputs] + [(keras_class_name(layer), layer)
                                                          for layer in keras_layer_order(model)]


def assign_v3(model, group, where, pairs=None):
    """Set the weights of ``model`` from a ``.keras``-layout weights group."""
    for owner, paths in _member_paths(pairs or _pairs_of_model(model)):
        for path, layer in paths:
            shapes = keras_weight_shapes(layer)
            vars_group = _group_at(group, path + "/vars", where)
            count = len(vars_group.keys()) if vars_group is not None else 0
            if count != len(shapes):
                raise ModelFileError(f"{where}: layer {owner.name!r} ({type(layer).__name__}) has {len(shapes)} "
                                     f"weights but the file holds {count} at {path}/vars.")
            arrays = [h5safe.read_array(h5safe.child(vars_group, str(i), where, kind="dataset"), s, where)
                      for i, s in enumerate(shapes)]
            set_keras_weights(layer, arrays, where)


def _group_at(group, path, where):
    for part in path.split("/"):
        group = h5safe.child(group, part, where)
        if group is None:
            return None
    return group


def _read_member(zf, name, limit, where):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{where}: the archive has no {name}.") from None
    if info.file_size > limit:
        raise ModelFileError(f"{where}: {name} is {info.file_size:,} bytes, over the limit of {limit:,}.")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ModelFileError(f"{where}: {name} cannot be read ({exc}).") from None


def load_model(path, custom_objects=None, compile=True, max_bytes=h5safe.MAX_BYTES):  # noqa: A002
    """A threestep model from a ``.keras`` file (architecture + weights)."""
    where = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as zf:
            raw_config = _read_member(zf, CONFIG, MAX_CONFIG_BYTES, where)
            raw_weights = _read_member(zf, WEIGHTS, max_bytes + 2**24, where)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{where}: not a readable zip archive ({exc}).") from None
    try:
        spec = json.loads(raw_config)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{where}: {CONFIG} is not valid JSON ({str(exc)[:100]}).") from None
    source = f"{where}:{WEIGHTS}"
    with h5safe.open_h5(io.BytesIO(raw_weights), source) as f:
        limit = h5safe.declared_bytes(f, source, max_bytes) // 2 + 1_000_000
        model = model_from_keras(spec, custom_objects, where, Budget(limit, where))
        layer_specs = spec["config"]["layers"] if isinstance(spec.get("config"), dict) else []
        by_name = {layer.name: layer for layer in model.layers}
        pairs = [(s.get("class_name"), by_name.get((s.get("config") or {}).get("name")))
                 for s in layer_specs
                 if not (spec.get("class_name") == "Sequential" and s.get("class_name") == "InputLayer")]
        assign_v3(model, f, source, pairs)
    compile_config = spec.get("compile_config")
    if compile and isinstance(compile_config, dict) and compile_config.get("loss"):
        from .keras_h5 import compile_from_keras  # noqa: PLC0415

        optimizer = compile_config.get("optimizer")
        optimizer = {"class_name": optimizer} if isinstance(optimizer, str) else optimizer or {}
        compile_from_keras(model, {**compile_config, "optimizer_config": optimizer}, custom_objects or {}, where)
    return model


def _fill_v3(f, model):
    f.create_group("vars")
    for owner, paths in _member_paths(_pairs_of_model(model)):
        for path, layer in paths:
            g = f.create_group(path + "/vars")
            for i, (_, array) in enumerate(keras_weights(layer)):
                g.create_dataset(str(i), data=array)


def _keras3_module(spec):
    """Add the ``module`` / ``registered_name`` keys tf-keras's .keras reader looks for."""
    cfg = spec["config"]
    spec = {"module": "keras.layers", **spec, "registered_name": None}
    for key in ("layer",):
        if isinstance(cfg.get(key), dict):
            cfg[key] = _keras3_module(cfg[key])
    return spec


def _compile_config(model):
    """The ``compile_config`` of a ``.keras`` file (loss, metrics, loss weights, optimizer) for a
    model compiled with built-in losses and a plain optimizer; None otherwise."""
    from .keras_h5 import training_config  # noqa: PLC0415

    training = training_config(model)
    if training is None:
        return None
    return {"optimizer": training["optimizer_config"], "loss": training["loss"], "metrics": training["metrics"],
            "loss_weights": training["loss_weights"], "weighted_metrics": None, "run_eagerly": None,
            "steps_per_execution": None, "jit_compile": None}


def save_model(model, path, overwrite=True):
    """Write ``model`` as a ``.keras`` file that tf-keras's ``load_model`` reads."""
    from ..saving.atomic import atomic_write  # noqa: PLC0415

    spec = model_to_keras(model, os.fspath(path))
    config = spec["config"]
    if spec["class_name"] == "Sequential":
        config["layers"] = [_keras3_module(s) for s in config["layers"]]
        top = {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
    else:
        config["layers"] = [{**_keras3_module(s), "name": s["name"], "inbound_nodes": s["inbound_nodes"]}
                            for s in config["layers"]]
        top = {"module": "tf_keras.src.engine.functional", "class_name": "Functional", "config": config,
               "registered_name": "Functional"}
    top["build_config"] = {"input_shape": model.input_shape if not isinstance(model.input_shape, list)
                           else [list(s) for s in model.input_shape]}
    top["compile_config"] = _compile_config(model)
    weights = h5safe.write_bytes_h5(lambda f: _fill_v3(f, model))
    metadata = {"keras_version": "2.21.0", "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with atomic_write(path, overwrite) as stream, zipfile.ZipFile(stream, "w") as zf:
        zf.writestr(METADATA, json.dumps(metadata))
        zf.writestr(CONFIG, json.dumps(top))
        zf.writestr(WEIGHTS, weights)


def save_weights(model, path, overwrite=True):
    """Write ``model``'s weights in the ``.weights.h5`` layout of tf-keras's ``save_weights``."""
    from ..saving.atomic import atomic_write  # noqa: PLC0415

    data = h5safe.write_bytes_h5(lambda f: _fill_v3(f, model))
    with atomic_write(path, overwrite) as stream:
        stream.write(data)


def load_weights(model, path, max_bytes=h5safe.MAX_BYTES):
    """Set ``model``'s weights from the model.weights.h5 inside a ``.keras`` archive."""
    where = os.fspath(path)
    with zipfile.ZipFile(path) as zf:
        raw = _read_member(zf, WEIGHTS, max_bytes + 2**24, where)
    source = f"{where}:{WEIGHTS}"
    with h5safe.open_h5(io.BytesIO(raw), source) as f:
        h5safe.declared_bytes(f, source, max_bytes)
        assign_v3(model, f, source)
