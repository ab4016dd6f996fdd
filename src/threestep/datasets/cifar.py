"""The CIFAR file format shared by ``cifar10`` and ``cifar100``: the "python version"
archives of Krizhevsky's CIFAR pages, a ``.tar.gz`` holding one pickled dict per batch with
``data`` (uint8, ``(n, 3072)``: the red, green and blue 32x32 planes of each image) and the
labels.

Where the data comes from, first found wins:

1. ``load_data(path=...)``: the archive, or a directory holding the extracted batches;
2. the archive (under its published name or Keras's cache name) in
   ``$THREESTEP_DATA/<key>/``, ``~/.threestep/datasets/<key>/`` or ``~/.keras/datasets/``,
   checked against the SHA-256 Keras publishes;
3. the extracted directory (as Keras leaves it) in those directories, checked for structure
   (no checksums exist for the extracted files);
4. a download of the archive into ``~/.threestep/datasets/<key>/`` (or
   ``$THREESTEP_DATA/<key>/``), checked, then read without extracting.

The pickles are read without running code (see ``_keras_files.safe_unpickle``).
"""
import dataclasses
import os
import tarfile

import numpy

from .. import backend
from ..errors import DatasetError
from . import _files, _keras_files


@dataclasses.dataclass(frozen=True)
class Spec:
    key: str             # e.g. "cifar10"
    title: str           # e.g. "CIFAR-10"
    archive: str         # published archive name
    dirname: str         # the directory inside the archive (and Keras's cache name)
    sha256: str
    mirrors: tuple
    train: tuple         # batch files of the training set
    test: tuple


def image_data_format():
    """The global image layout, if threestep's backend has one; else ``channels_last``."""
    getter = getattr(backend, "image_data_format", None)
    return getter() if callable(getter) else "channels_last"


def _find_local(spec, path):
    """``("archive" | "dir", location)`` of a local copy, or None."""
    if path is not None:
        path = os.path.expanduser(os.fspath(path))
        if os.path.isdir(path):
            inner = os.path.join(path, spec.dirname)
            return "dir", inner if os.path.isdir(inner) else path
        if os.path.isfile(path):
            _keras_files.check_file(path, spec.sha256)
            return "archive", path
        raise DatasetError(f"{spec.title}: path={path!r} is neither the archive "
                           f"{spec.archive} nor a directory holding its batches.")
    dirs = _keras_files.search_dirs(spec.key)
    for directory in dirs:
        for name in (spec.archive, spec.dirname + ".tar.gz"):
            file = os.path.join(directory, name)
            if os.path.isfile(file):
                _keras_files.check_file(file, spec.sha256)
                return "archive", file
    for directory in dirs:
        folder = os.path.join(directory, spec.dirname)
        if os.path.isdir(folder):
            return "dir", folder
    return None


def _read_batches(spec, kind, location, names):
    """``{name: dict}`` of the unpickled batch files ``names``."""
    out = {}
    if kind == "dir":
        for name in names:
            file = os.path.join(location, name)
            try:
                with open(file, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise DatasetError(f"{spec.title}: cannot read the batch {file}: {exc}. The "
                                   f"directory {location} should hold {', '.join(names)}.") from exc
            out[name] = _keras_files.safe_unpickle(data, file, encoding="bytes")
        return out
    try:
        with tarfile.open(location, "r:*") as archive:
            for name in names:
                try:
                    member = archive.extractfile(f"{spec.dirname}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise DatasetError(f"{spec.title}: the archive {location} lacks "
                                       f"{spec.dirname}/{name}.")
                out[name] = _keras_files.safe_unpickle(member.read(), f"{location}:{name}",
                                                       encoding="bytes")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{spec.title}: {location} is not a readable archive: {exc}") from exc
    return out


def _images_and_labels(batch, label_key, where):
    batch = {(k.decode("utf-8") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise DatasetError(f"{where} should hold 'data' and {label_key!r}; it holds "
                           f"{sorted(batch)}.")
    data = numpy.asarray(batch["data"])
    labels = numpy.asarray(batch[label_key])
    if data.dtype != numpy.uint8 or data.ndim != 2 or data.shape[1] != 3072 \
            or len(labels) != len(data):
        raise DatasetError(f"{where} should hold uint8 data (n, 3072) and n labels; it holds "
                           f"{data.dtype} {data.shape} and {len(labels)} labels.")
    return data.reshape(-1, 3, 32, 32), labels


def load(spec, label_key, label_dtype, path=None, download=True, timeout=None):
    """``(x_train, y_train), (x_test, y_test)`` as Keras: uint8 images (channels_last
    ``(n, 32, 32, 3)`` unless the image data format is channels_first), labels ``(n, 1)``."""
    found = _find_local(spec, path)
    if found is None:
        file = _keras_files.fetch(spec.key, spec.archive, spec.archive, spec.sha256,
                                  _files.mirrors_from_env(f"THREESTEP_{spec.key.upper()}_MIRROR",
                                                          spec.mirrors),
                                  f"{spec.key}.load_data", download=download, timeout=timeout,
                                  names=[spec.dirname + ".tar.gz"])
        found = ("archive", file)
    batches = _read_batches(spec, *found, spec.train + spec.test)
    splits = []
    for names in (spec.train, spec.test):
        parts = [_images_and_labels(batches[n], label_key, f"{found[1]}:{n}") for n in names]
        x = numpy.concatenate([p[0] for p in parts])
        y = numpy.concatenate([p[1] for p in parts]).astype(label_dtype).reshape(-1, 1)
        if image_data_format() == "channels_last":
            x = numpy.ascontiguousarray(x.transpose(0, 2, 3, 1))
        splits.append((x, y))
    return tuple(splits)
