"""Saving and loading whole models (``save_model`` / ``load_model``) and their weights.

Loading reads JSON and raw bytes only (``json.loads`` and ``numpy.frombuffer``): nothing
in a file is unpickled, imported or executed. Writes are atomic (see ``atomic.py``); the
file layout is described in ``archive.py``.
"""
import json
import os
import warnings
import zipfile

from .. import backend
from ..errors import ConfigError, ModelFileError, ShapeError
from . import safetensors
from .atomic import atomic_write
from .archive import (CONFIG, FORMAT, FORMAT_VERSION, OPTIMIZER, WEIGHTS, WEIGHTS_FORMAT, open_archive,
                      read_config, read_member, read_tensors, set_weights, version_string)
from .sniff import describe_foreign_file, looks_like_pickle


# ---------------------------------------------------------------------- saving
def _weight_tensors(model):
    return {f"{i:04d}:{w.name}": backend.to_numpy(w.data) for i, w in enumerate(model.weights)}


def _weights_metadata():
    return {"format": WEIGHTS_FORMAT, "format_version": str(FORMAT_VERSION), "threestep_version": version_string()}


def _optimizer_tensors(optimizer):
    """(tensors, metadata) of the optimizer's state, or None when it has none yet."""
    state = optimizer.get_state()
    slots = state.get("slots") or {}
    if not state.get("iterations") and not any(slots.values()):
        return None
    tensors = {f"{slot}/{i:04d}": backend.to_numpy(a) for slot, arrays in slots.items() for i, a in enumerate(arrays)}
    return tensors, {"iterations": str(int(state.get("iterations", 0)))}


def _json_default(obj):
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{obj!r} (of type {type(obj).__name__}) is not JSON data")


def to_json(data, what):
    """``data`` as JSON text; ConfigError naming ``what`` when it holds something JSON cannot."""
    try:
        return json.dumps(data, default=_json_default, indent=1)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"save_model: {what} cannot be written as JSON: {exc}. It must hold plain data "
                          "(numbers, strings, lists, dicts).") from None


def _config_bytes(model, training_state):
    compile_config = model.compile_config()
    if compile_config is not None and compile_config.get("loss") is None:
        # a user's loss function: keep its name so load_model(custom_objects=...) can find it
        compile_config["custom_loss"] = getattr(model.loss, "name", None)
    to_json(training_state, "training_state")
    to_json(compile_config, "the compile settings")
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "threestep_version": version_string(),
        "model": {"class_name": type(model).__name__, "config": model.get_config()},
        "compile": compile_config,
        "training_state": training_state,
    }
    return to_json(payload, f"the configuration of model {model.name!r} (get_config() of its layers)").encode()


def _write_member(zf, name, tensors, metadata=None):
    big = sum(getattr(a, "nbytes", 0) for a in tensors.values()) > 2**31 - 2**20
    with zf.open(name, "w", force_zip64=big) as member:
        safetensors.write(member, tensors, metadata)


def save_model(model, filepath, overwrite=True, include_optimizer=True, training_state=None):
    """Save architecture, weights, compile settings, optimizer state (and a training state).

    Args:
        model: a ``Sequential`` model.
        filepath: where to write the single-file model (any extension; '.zip' or '.ts' suit).
        overwrite: when False and the file exists, raise ``FileExistsError``.
        include_optimizer: also save the optimizer's slots and step count.
        training_state: JSON data that lets ``fit`` resume exactly: ``{"epoch", "rng",
            "history", "history_epochs"}`` (``ModelCheckpoint`` fills it in).

    A crash mid-save leaves the previous file at ``filepath`` intact.
    """
    config = _config_bytes(model, training_state)
    weights = _weight_tensors(model)
    optimizer = None
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        optimizer = _optimizer_tensors(model.optimizer)
    with atomic_write(filepath, overwrite) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(CONFIG, config)
        _write_member(zf, WEIGHTS, weights, _weights_metadata())
        if optimizer is not None:
            _write_member(zf, OPTIMIZER, *optimizer)


def save_weights(model, filepath, overwrite=True):
    """Save only the weights, as one safetensors file (readable by any safetensors library)."""
    weights = _weight_tensors(model)
    with atomic_write(filepath, overwrite) as stream:
        safetensors.write(stream, weights, _weights_metadata())


def _register_custom_activations(model_config, custom_objects):
    """Activation names found in custom_objects become loadable activations (as in Keras)."""
    from ..layers import activations  # noqa: PLC0415

    for spec in model_config.get("layers", []):
        name = spec.get("config", {}).get("activation") if isinstance(spec, dict) else None
        fn = custom_objects.get(name) if isinstance(name, str) else None
        if fn is not None and callable(fn) and not isinstance(fn, type) and name not in activations.available():
            activations.register_activation(name, fn)


def _build_model(spec, custom_objects, filepath):
    from ..models.sequential import Sequential  # noqa: PLC0415  (models import saving lazily too)
    from ..models.training import Model  # noqa: PLC0415

    classes = {"Sequential": Sequential, "Model": Model}
    cls = classes.get(spec.get("class_name"))
    if cls is None:
        raise ModelFileError(f"{filepath}: unknown model class {spec.get('class_name')!r}; this threestep "
                             f"loads {sorted(classes)}.")
    _register_custom_activations(spec["config"], custom_objects)
    try:
        return cls.from_config(spec["config"], custom_objects)
    except (ConfigError, ShapeError, TypeError, KeyError) as exc:
        raise ModelFileError(
            f"{filepath}: cannot rebuild the model from {CONFIG}: {exc} If it uses custom layers or "
            "activations, define/import or register them before loading, or pass custom_objects={'Name': obj}."
        ) from exc


def _compile(model, compile_config, custom_objects, filepath):
    """Compile from the saved settings; False (with a warning) if the loss cannot be restored."""
    from .. import losses, optimizers  # noqa: PLC0415

    loss_name = compile_config.get("loss")
    if compile_config.get("no_targets") or compile_config.get("output_losses"):
        loss = None  # loss=None (add_loss alone), or one loss per output
        if compile_config.get("output_losses"):
            loss = {}
            for output, name in compile_config["output_losses"].items():
                if name is not None and name not in losses._ALIASES and name not in custom_objects:
                    warnings.warn(f"{filepath}: output {output!r} was compiled with a custom loss {name!r}, which "
                                  f"cannot be restored without custom_objects={{{name!r}: fn}}; the model is returned "
                                  "uncompiled. Compile it yourself.", RuntimeWarning, stacklevel=3)
                    return False
                loss[output] = custom_objects.get(name, name)
    elif loss_name is None:
        custom = compile_config.get("custom_loss")
        if custom not in custom_objects:
            warnings.warn(f"{filepath}: the model was compiled with a custom loss {custom!r}, which cannot be "
                          f"restored without custom_objects={{{custom!r}: fn}}; the model is returned "
                          "uncompiled. Compile it yourself.", RuntimeWarning, stacklevel=3)
            return False
        loss = custom_objects[custom]
    else:
        loss = losses.get(loss_name)
        if (compile_config.get("loss_config") or {}).get("from_logits"):
            loss = type(loss)(from_logits=True)
    opt_spec = compile_config.get("optimizer")
    try:
        cls = custom_objects.get(opt_spec.get("class_name"))
        optimizer = cls.from_config(opt_spec.get("config", {})) if cls else optimizers.get(opt_spec)
    except (ConfigError, TypeError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"{filepath}: cannot rebuild the optimizer {opt_spec!r}: {exc}") from exc
    saved = compile_config.get("metrics") or []
    if isinstance(saved, dict):
        metrics = {k: [custom_objects.get(m, m) for m in v if m is not None] for k, v in saved.items()}
    else:
        metrics = [custom_objects.get(m, m) for m in saved if m is not None]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=compile_config.get("loss_weights"))
    return True


def _restore_optimizer(model, raw, filepath):
    source = f"{filepath}:{OPTIMIZER}"
    tensors, metadata = read_tensors(raw, OPTIMIZER, filepath)
    iterations = metadata.get("iterations", "")
    if not iterations.isdigit():
        raise ModelFileError(f"{source}: the metadata 'iterations' must be a non-negative integer; "
                             f"found {iterations!r}.")
    params = model.trainable_weights
    slots = {}
    for name, array in tensors.items():
        slot, _, index = name.rpartition("/")
        if not slot or not index.isdigit():
            raise ModelFileError(f"{source}: tensor {name!r} is not named 'slot/NNNN'.")
        slots.setdefault(slot, {})[int(index)] = array
    state = {"iterations": int(iterations), "slots": {}}
    for slot, by_index in slots.items():
        if sorted(by_index) != list(range(len(params))):
            raise ModelFileError(f"{source}: slot {slot!r} has {len(by_index)} arrays but the model has "
                                 f"{len(params)} trainable weights.")
        for i, p in enumerate(params):
            if tuple(by_index[i].shape) != tuple(p.shape):
                raise ModelFileError(f"{source}: slot {slot!r} array {i} has shape {tuple(by_index[i].shape)}, "
                                     f"but weight {p.name!r} has shape {tuple(p.shape)}.")
        state["slots"][slot] = [by_index[i] for i in range(len(params))]
    try:
        model.optimizer.set_state(state)
    except ConfigError as exc:
        raise ModelFileError(f"{source}: {exc}") from None


# ---------------------------------------------------------------------- loading
def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002  (Keras's name)
    """Rebuild a model saved with ``model.save``: architecture, weights, compile settings,
    optimizer state, and the training state a checkpoint recorded.

    Args:
        filepath: the model file.
        custom_objects: ``{name: class or function}`` for custom layers, activations,
            losses, metrics and optimizers (layers and activations registered in this
            process are found without it).
        compile: recompile with the saved loss, optimizer (and its state) and metrics.

    A checkpoint's training state is put on ``model._training_state`` and the random
    generators are restored, so ``model.fit(..., initial_epoch=epoch)`` continues the
    same random stream. Raises ``ModelFileError`` for anything that is not an intact
    threestep model file of a supported version.
    """
    custom_objects = dict(custom_objects or {})
    with open_archive(filepath) as zf:
        config = read_config(zf, filepath)
        weights_raw = read_member(zf, WEIGHTS, filepath)
        optimizer_raw = read_member(zf, OPTIMIZER, filepath)
    if weights_raw is None:
        raise ModelFileError(f"{filepath}: the model file has no {WEIGHTS} (truncated or not written by threestep).")
    model = _build_model(config["model"], custom_objects, filepath)
    set_weights(model, read_tensors(weights_raw, WEIGHTS, filepath)[0], f"{filepath}:{WEIGHTS}", strict_names=True)
    if compile and config.get("compile"):
        if _compile(model, config["compile"], custom_objects, filepath) and optimizer_raw is not None:
            _restore_optimizer(model, optimizer_raw, filepath)
    state = config.get("training_state")
    if state is not None and not isinstance(state, dict):
        raise ModelFileError(f"{filepath}: training_state in {CONFIG} must be an object or null.")
    model._training_state = state
    if state and state.get("rng") is not None:
        try:
            backend.set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{filepath}: the saved random-generator state is invalid ({exc!r}).") from None
    return model


def load_weights(model, filepath):
    """Set ``model``'s weights from a ``save_weights`` file or a full model file.

    Weights are matched by position (Keras 2 semantics) and checked for count and shape.
    """
    filepath = os.fspath(filepath)
    with open(filepath, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        with open_archive(filepath) as zf:
            read_config(zf, filepath)
            raw = read_member(zf, WEIGHTS, filepath)
        if raw is None:
            raise ModelFileError(f"{filepath}: the model file has no {WEIGHTS}.")
        source = f"{filepath}:{WEIGHTS}"
    else:
        with open(filepath, "rb") as f:
            raw = f.read()
        if looks_like_pickle(raw[:2]) or not raw:
            raise ModelFileError(describe_foreign_file(filepath))
        source = filepath
    tensors, metadata = safetensors.load_with_metadata(raw, source)
    file_version = metadata.get("format_version", "1")
    if (metadata.get("format", WEIGHTS_FORMAT) == WEIGHTS_FORMAT and file_version.isdigit()
            and int(file_version) > FORMAT_VERSION):
        raise ModelFileError(f"{filepath} was written by a newer threestep (weights format_version {file_version}); "
                             "upgrade threestep to load it.")
    set_weights(model, tensors, source, strict_names=False)
