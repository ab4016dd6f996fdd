"""The model file's layout and the validated reading of its parts.

A model file is a zip (``ZIP_STORED``) of:

- ``config.json``: ``{"format": "threestep-model", "format_version": 1, "threestep_version",
  "model": {"class_name", "config"}, "compile", "training_state"}``
- ``weights.safetensors``: every weight, named ``f"{index:04d}:{tensor.name}"`` in
  ``model.weights`` order
- ``optimizer.safetensors`` (when saved and non-empty): slot arrays named
  ``f"{slot}/{index:04d}"``, the step count in its metadata as ``iterations``

Everything read here is checked before use; anything wrong raises ``ModelFileError``
naming the file and the part. Only ``json.loads`` and ``numpy.frombuffer`` touch the bytes.
"""
import json
import os
import zipfile
import zlib

from ..errors import ConfigError, ModelFileError
from . import limits, safetensors
from .atomic import atomic_write
from .sniff import describe_foreign_file, looks_like_pickle

FORMAT = "threestep-model"
FORMAT_VERSION = 1
WEIGHTS_FORMAT = "threestep-weights"
CONFIG, WEIGHTS, OPTIMIZER = "config.json", "weights.safetensors", "optimizer.safetensors"


def version_string():
    from .. import __version__  # noqa: PLC0415

    return __version__


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


# ---------------------------------------------------------------------- writing
def weights_metadata():
    return {"format": WEIGHTS_FORMAT, "format_version": str(FORMAT_VERSION), "threestep_version": version_string()}


def _write_member(zf, name, tensors, metadata=None):
    big = sum(getattr(a, "nbytes", 0) for a in tensors.values()) > 2**31 - 2**20
    with zf.open(name, "w", force_zip64=big) as member:
        safetensors.write(member, tensors, metadata)


def write_model_file(filepath, config, weights, optimizer=None, overwrite=True):
    """Write one model file atomically.

    Args:
        config: the ``config.json`` payload without its format fields (``model``,
            ``compile``, ``training_state``), which are added here.
        weights: ``{name: array}`` of every weight, in order.
        optimizer: ``(tensors, metadata)`` of the optimizer state, or None.
    """
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "threestep_version": version_string(), **config}
    model_name = (config.get("model") or {}).get("config", {}).get("name")
    text = to_json(payload, f"the configuration of model {model_name!r} (get_config() of its layers)").encode()
    with atomic_write(filepath, overwrite) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(CONFIG, text)
        _write_member(zf, WEIGHTS, weights, weights_metadata())
        if optimizer is not None:
            _write_member(zf, OPTIMIZER, *optimizer)


def write_weights_file(filepath, weights, overwrite=True):
    """Write ``{name: array}`` as one safetensors file, atomically."""
    with atomic_write(filepath, overwrite) as stream:
        safetensors.write(stream, weights, weights_metadata())


# ---------------------------------------------------------------------- reading
def open_archive(filepath):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No model file at {filepath!r}.")
    if os.path.isdir(filepath):
        raise ModelFileError(f"{filepath} is a directory; a threestep model is a single file written by "
                             "model.save(path).")
    try:
        return zipfile.ZipFile(filepath)
    except zipfile.BadZipFile:
        raise ModelFileError(describe_foreign_file(filepath)) from None
    except (EOFError, OSError, ValueError, NotImplementedError, OverflowError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ModelFileError(f"{filepath}: the zip directory of the model file is corrupt ({exc}).") from None


def read_member(zf, name, filepath):
    """The bytes of archive member ``name`` (None if absent); CRC-checked by zipfile.

    Nothing is read before the member's declared size passes ``limits.check_member``, so a
    size claim or a compression bomb is refused before any large allocation."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    limits.check_member(info, archive_size(zf), filepath, is_config=name == CONFIG)
    try:
        with zf.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, OSError, ValueError,
            RuntimeError) as exc:
        raise ModelFileError(f"{filepath}: {name} inside the model file is truncated or corrupt ({exc}).") from None
    if len(data) != info.file_size:
        raise ModelFileError(f"{filepath}: {name} inside the model file holds {len(data)} bytes but its zip entry "
                             f"declares {info.file_size} (corrupt or tampered file).")
    return data


def archive_size(zf):
    """The size in bytes of the open archive's file."""
    fp = zf.fp
    try:
        return os.fstat(fp.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        position = fp.tell()
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        fp.seek(position)
        return size


def read_tensors(raw, name, filepath):
    if looks_like_pickle(raw[:2]):
        raise ModelFileError(f"{filepath}: {name} is a Python pickle, not safetensors; threestep never loads "
                             "pickles.")
    return safetensors.load_with_metadata(raw, f"{filepath}:{name}")


def read_config(zf, filepath):
    raw = read_member(zf, CONFIG, filepath)
    if raw is None:
        names = zf.namelist()
        hint = (" (it looks like a PyTorch/pickle checkpoint; threestep never loads pickles)"
                if any(n.endswith(".pkl") for n in names) else "")
        raise ModelFileError(f"{filepath} is a zip archive but not a threestep model file: it has no {CONFIG}"
                             f"{hint}. Members: {names[:10]}.")
    config = limits.parse_json(raw, f"{filepath}: {CONFIG}")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(f"{filepath} is not a threestep model file: {CONFIG} declares format {found!r}, "
                             f"expected {FORMAT!r}.")
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{filepath}: {CONFIG} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{filepath} was written by a newer threestep ({config.get('threestep_version', '?')}, model file "
            f"format_version {version}); this threestep {version_string()} reads format_version up to "
            f"{FORMAT_VERSION}. Upgrade threestep to load it.")
    spec = config.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ModelFileError(f"{filepath}: {CONFIG} has no valid 'model' entry (class_name and config).")
    return config



def ordered(tensors, source):
    """The (name, array) pairs sorted by their 'NNNN:' index prefix, which must run 0..n-1."""
    items = []
    for name, array in tensors.items():
        prefix, sep, _ = name.partition(":")
        if not sep or not prefix.isdigit():
            raise ModelFileError(f"{source}: tensor {name!r} is not named like threestep weights "
                                 "('0000:layer/weight'); was this file written by threestep?")
        items.append((int(prefix), name, array))
    items.sort(key=lambda item: item[0])
    if [i for i, _, _ in items] != list(range(len(items))):
        raise ModelFileError(f"{source}: the weight indices {[i for i, _, _ in items]} do not run 0..{len(items) - 1}.")
    return [(name, array) for _, name, array in items]

