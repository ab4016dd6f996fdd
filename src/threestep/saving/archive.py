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

from ..errors import ModelFileError
from . import limits, safetensors
from .sniff import describe_foreign_file, looks_like_pickle

FORMAT = "threestep-model"
FORMAT_VERSION = 1
WEIGHTS_FORMAT = "threestep-weights"
CONFIG, WEIGHTS, OPTIMIZER = "config.json", "weights.safetensors", "optimizer.safetensors"


def version_string():
    from .. import __version__  # noqa: PLC0415

    return __version__


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


def set_weights(model, tensors, source, strict_names):
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

