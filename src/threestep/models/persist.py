"""A model to and from its file: ``save_model`` / ``load_model``, ``save_weights`` / ``load_weights``.

``Model.save``, ``Model.save_weights`` and ``Model.load_weights`` call these. The file
layout and its validated reading live in ``threestep.saving`` (which knows nothing of
models); this module turns a model into that file's parts and back. Loading reads JSON
and raw bytes only: nothing in a file is unpickled, imported or executed.
"""
import os
import warnings

from .. import backend
from ..custom_objects import custom_object_scope
from ..errors import ConfigError, ModelFileError, ThreestepError
from ..layers.allocation import weight_budget
from ..saving import safetensors
from ..saving.archive import (CONFIG, FORMAT_VERSION, OPTIMIZER, WEIGHTS, WEIGHTS_FORMAT, open_archive, ordered,
                              read_config, read_member, read_tensors, to_json, write_model_file, write_weights_file)
from ..saving.sniff import describe_foreign_file, looks_like_pickle


BUDGET_SLACK_ELEMENTS = 1 << 20  # weight elements a config may ask for beyond twice what the file holds


# ---------------------------------------------------------------------- saving
def _weight_tensors(model):
    return {f"{i:04d}:{w.name}": backend.to_numpy(w.data) for i, w in enumerate(model.weights)}


def _optimizer_tensors(optimizer):
    """(tensors, metadata) of the optimizer's state, or None when it has none yet."""
    state = optimizer.get_state()
    slots = state.get("slots") or {}
    if not state.get("iterations") and not any(slots.values()):
        return None
    tensors = {f"{slot}/{i:04d}": backend.to_numpy(a) for slot, arrays in slots.items() for i, a in enumerate(arrays)}
    return tensors, {"iterations": str(int(state.get("iterations", 0)))}


def _file_config(model, training_state):
    compile_config = model.compile_config()
    if compile_config is not None and compile_config.get("loss") is None:
        # a user's loss function: keep its name so load_model(custom_objects=...) can find it
        compile_config["custom_loss"] = getattr(model.loss, "name", None)
    to_json(training_state, "training_state")
    to_json(compile_config, "the compile settings")
    return {"model": {"class_name": type(model).__name__, "config": model.get_config()},
            "compile": compile_config, "training_state": training_state}


def save_model(model, filepath, overwrite=True, include_optimizer=True, training_state=None):
    """Save architecture, weights, compile settings, optimizer state (and a training state).

    Args:
        model: a ``Sequential`` or functional ``Model``.
        filepath: where to write the single-file model (any extension; '.zip' or '.ts' suit).
        overwrite: when False and the file exists, raise ``FileExistsError``.
        include_optimizer: also save the optimizer's slots and step count.
        training_state: JSON data that lets ``fit`` resume exactly: ``{"epoch", "rng",
            "history", "history_epochs"}`` (``ModelCheckpoint`` fills it in).

    A crash mid-save leaves the previous file at ``filepath`` intact (the file layout is
    ``threestep.saving.archive``; the writes go through ``threestep.saving.atomic``).

    Example:
        >>> save_model(model, "mlp.ts")      # the same as model.save("mlp.ts")
    """
    config = _file_config(model, training_state)
    weights = _weight_tensors(model)
    optimizer = None
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        optimizer = _optimizer_tensors(model.optimizer)
    write_model_file(filepath, config, weights, optimizer, overwrite)


def save_weights(model, filepath, overwrite=True):
    """Save only the weights, as one safetensors file (readable by any safetensors library)."""
    write_weights_file(filepath, _weight_tensors(model), overwrite)


def _build_model(spec, custom_objects, filepath):
    from .sequential import Sequential  # noqa: PLC0415  (sequential imports training, which imports this module)
    from .training import Model  # noqa: PLC0415

    classes = {"Sequential": Sequential, "Model": Model}
    name = spec.get("class_name")
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(f"{filepath}: unknown model class {spec.get('class_name')!r}; this threestep "
                             f"loads {sorted(classes)}.")
    try:
        model = cls.from_config(spec["config"], custom_objects)
        model.weights  # noqa: B018  (a config without layers fails here, not at the first predict)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001  (anything the file's data makes fail is a file error)
        detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ThreestepError) else str(exc)
        raise ModelFileError(
            f"{filepath}: cannot rebuild the model from {CONFIG}: {detail[:2000]} If it uses custom layers, "
            "regularizers, initializers, constraints or activations, define/import or register them before loading, "
            "or pass custom_objects={'Name': obj}."
        ) from exc
    return model


def _compile(model, compile_config, custom_objects, filepath):
    """Compile from the saved settings; False (with a warning) if the loss cannot be restored.
    Anything else in the settings that cannot be restored is a ModelFileError naming the file."""
    if not isinstance(compile_config, dict):
        raise ModelFileError(f"{filepath}: 'compile' in {CONFIG} must be an object or null; found "
                             f"{type(compile_config).__name__}.")
    try:
        return _compile_settings(model, compile_config, custom_objects, filepath)
    except (ModelFileError, Warning):
        raise
    except Exception as exc:  # noqa: BLE001  (anything the file's data makes fail is a file error)
        detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ThreestepError) else str(exc)
        raise ModelFileError(f"{filepath}: cannot restore the compile settings (loss, optimizer, metrics) from "
                             f"{CONFIG}: {detail[:2000]} For your own loss, metric or optimizer pass "
                             "custom_objects={'name': obj} to load_model, or load with compile=False.") from exc


def _compile_settings(model, compile_config, custom_objects, filepath):
    from .. import losses, optimizers  # noqa: PLC0415
    from ..custom_objects import lookup  # noqa: PLC0415

    loss_name = compile_config.get("loss")
    if compile_config.get("no_targets") or compile_config.get("output_losses"):
        loss = None  # loss=None (add_loss alone), or one loss per output
        if compile_config.get("output_losses"):
            output_losses = compile_config["output_losses"]
            if not isinstance(output_losses, dict):
                raise ModelFileError(f"{filepath}: 'output_losses' in {CONFIG} must be an object.")
            loss = {}
            for output, name in output_losses.items():
                found = None if name is None or name in losses._ALIASES else lookup(name)
                if name is not None and name not in losses._ALIASES and found is None:
                    warnings.warn(f"{filepath}: output {output!r} was compiled with a custom loss {name!r}, which "
                                  f"cannot be restored without custom_objects={{{name!r}: fn}}; the model is returned "
                                  "uncompiled. Compile it yourself.", RuntimeWarning, stacklevel=4)
                    return False
                loss[output] = found if found is not None else name
    elif loss_name is None:
        custom = compile_config.get("custom_loss")
        loss = lookup(custom)
        if loss is None:
            warnings.warn(f"{filepath}: the model was compiled with a custom loss {custom!r}, which cannot be "
                          f"restored without custom_objects={{{custom!r}: fn}}; the model is returned "
                          "uncompiled. Compile it yourself.", RuntimeWarning, stacklevel=4)
            return False
    else:
        loss = losses.get(loss_name)
        loss_config = compile_config.get("loss_config") or {}
        if loss_config.get("from_logits"):
            loss = type(loss)(from_logits=True)
        elif isinstance(loss, losses.KerasLoss):  # Huber's delta, a loss's reduction and name
            loss = type(loss).from_config({k: v for k, v in loss_config.items() if k != "from_logits"})
    opt_spec = compile_config.get("optimizer")
    try:
        optimizer = optimizers.get(opt_spec)  # built-in names, then custom_objects (the scope)
    except (ConfigError, TypeError, KeyError, AttributeError, ValueError) as exc:
        name = opt_spec.get("class_name") if isinstance(opt_spec, dict) else opt_spec
        raise ModelFileError(f"{filepath}: cannot rebuild the optimizer {name!r}: {exc} For your own optimizer "
                             f"or schedule class pass custom_objects={{'ClassName': cls}} to load_model, or load "
                             "with compile=False.") from exc
    metrics = compile_config.get("metrics") or []
    if not isinstance(metrics, (list, dict)):
        raise ModelFileError(f"{filepath}: 'metrics' in {CONFIG} must be a list (or an object by output name); "
                             f"found {type(metrics).__name__}.")

    def resolve(names):  # custom metric names resolved now: the model keeps the functions, not scoped names
        if not isinstance(names, list):
            raise ModelFileError(f"{filepath}: a metrics entry in {CONFIG} must be a list; found {names!r}.")
        return [lookup(m) if isinstance(m, str) and lookup(m) is not None else m for m in names if m is not None]

    metrics = {k: resolve(v) for k, v in metrics.items()} if isinstance(metrics, dict) else resolve(metrics)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=compile_config.get("loss_weights"))
    return True


def _restore_optimizer(model, raw, filepath):
    source = f"{filepath}:{OPTIMIZER}"
    tensors, metadata = read_tensors(raw, OPTIMIZER, filepath)
    iterations = metadata.get("iterations", "")
    if not (iterations.isascii() and iterations.isdigit()) or len(iterations) > 18:
        raise ModelFileError(f"{source}: the metadata 'iterations' must be a non-negative integer below 10**18; "
                             f"found {iterations[:40]!r}{'...' if len(iterations) > 40 else ''}.")
    params = model.trainable_weights
    slots = {}
    for name, array in tensors.items():
        slot, _, index = name.rpartition("/")
        if not slot or not (index.isascii() and index.isdigit()) or len(index) > 9:
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
    except (ConfigError, TypeError, ValueError, KeyError) as exc:
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
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise ConfigError(f"load_model: custom_objects must be a dict {{name: class or function}}. Received: "
                          f"custom_objects={custom_objects!r}.")
    try:
        return _load_model(filepath, dict(custom_objects or {}), compile)
    except (ThreestepError, FileNotFoundError, PermissionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001  (a safety net: whatever the file's data breaks is a file error)
        raise ModelFileError(f"{filepath}: the model file is corrupt or not a threestep model file "
                             f"({type(exc).__name__}: {str(exc)[:300]}). Save the model again with "
                             "model.save(path).") from exc


def _load_model(filepath, custom_objects, compile):  # noqa: A002
    with open_archive(filepath) as zf:
        config = read_config(zf, filepath)
        weights_raw = read_member(zf, WEIGHTS, filepath)
        optimizer_raw = read_member(zf, OPTIMIZER, filepath)
    if weights_raw is None:
        raise ModelFileError(f"{filepath}: the model file has no {WEIGHTS} (truncated or not written by threestep).")
    state = config.get("training_state")
    if state is not None and not isinstance(state, dict):
        raise ModelFileError(f"{filepath}: training_state in {CONFIG} must be an object or null.")
    tensors = read_tensors(weights_raw, WEIGHTS, filepath)[0]  # validated: they tile the member exactly
    del weights_raw
    held = sum(int(a.size) for a in tensors.values())
    # Slack so a small mismatch gets set_weights' precise per-weight message; a config asking for
    # far more than the file holds is refused before its weights are allocated.
    budget = 2 * held + BUDGET_SLACK_ELEMENTS
    with custom_object_scope(custom_objects), weight_budget(budget, f"{filepath}:{CONFIG}", held):
        model = _build_model(config["model"], custom_objects, filepath)
        _set_weights(model, tensors, f"{filepath}:{WEIGHTS}", strict_names=True)
        del tensors
        if compile and config.get("compile"):
            if _compile(model, config["compile"], custom_objects, filepath) and optimizer_raw is not None:
                _restore_optimizer(model, optimizer_raw, filepath)
    model._training_state = state
    if state and state.get("rng") is not None:
        try:
            backend.set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
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
    _set_weights(model, tensors, source, strict_names=False)


def _set_weights(model, tensors, source, strict_names):
    expected = model.weights
    if len(tensors) != len(expected):
        hint = "" if expected or getattr(model, "built", True) else (
            " The model is not built yet: give its first layer input_shape= before loading weights.")
        raise ModelFileError(f"{source} holds {len(tensors)} weight arrays but model {model.name!r} has "
                             f"{len(expected)}.{hint}")
    values = []
    for i, ((name, array), w) in enumerate(zip(ordered(tensors, source), expected)):
        want = f"{i:04d}:{w.name}"
        if strict_names and name != want:
            raise ModelFileError(f"{source} holds weight {name!r} where the architecture expects {want!r}.")
        if tuple(array.shape) != tuple(w.shape):
            raise ModelFileError(f"{source}: weight {name!r} has shape {tuple(array.shape)} but {w.name!r} of model "
                                 f"{model.name!r} has shape {tuple(w.shape)}.")
        values.append(array)
    model.set_weights(values)

