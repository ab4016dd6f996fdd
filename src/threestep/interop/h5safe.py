"""Reading HDF5 files that may be corrupt or hostile, with bounded memory.

Only hard links are followed (no external or soft links), datasets stored in other files
or as virtual datasets are refused, and every dataset's declared size is checked against
the expected shape and a total cap before a single element is read: a dataset declaring
``(2**40,)`` floats with no storage (HDF5 would return the fill value) costs nothing.
"""
import contextlib
import json
import os

import numpy

from ..errors import ModelFileError
from ._deps import require

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_BYTES = 2**32  # default cap on the weights one file may make us read (4 GiB)
MAX_OBJECTS = 200_000  # groups + datasets visited while sizing a file
MAX_EXPANSION = 1000  # a dataset over 1 MiB may declare at most this many times the bytes it stores


def is_hdf5(head):
    return head[:8] == HDF5_SIGNATURE


@contextlib.contextmanager
def open_h5(source, where):
    """An h5py File opened read-only; any h5py/OS error becomes a ModelFileError."""
    h5py = require("h5py")
    try:
        f = h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{where}: not a readable HDF5 file ({exc}).") from None
    try:
        yield f
    except (OSError, RuntimeError, KeyError) as exc:
        raise ModelFileError(f"{where}: the HDF5 file is damaged ({type(exc).__name__}: {exc}).") from None
    finally:
        f.close()


def child(group, name, where, kind="group"):
    """``group[name]`` if it is a hard link to a group (or dataset); else None."""
    h5py = require("h5py")
    try:
        link = group.get(name, getlink=True)
    except (KeyError, ValueError, OSError):
        return None
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise ModelFileError(f"{where}: {group.name}/{name} is a {type(link).__name__}; threestep follows only "
                             "links inside the file.")
    obj = group[name]
    want = h5py.Group if kind == "group" else h5py.Dataset
    return obj if isinstance(obj, want) else None


def text_attr(obj, name, where):
    """A string attribute (bytes or str), or None."""
    if name not in obj.attrs:
        return None
    value = obj.attrs[name]
    if isinstance(value, numpy.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise ModelFileError(f"{where}: attribute {name!r} is not text.")
    return value


def json_attr(obj, name, where):
    text = text_attr(obj, name, where)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{where}: attribute {name!r} is not valid JSON ({str(exc)[:100]}).") from None


def name_list_attr(obj, name, where):
    """A list-of-names attribute, joining Keras's chunked form (``name0``, ``name1``, ...)."""
    if name in obj.attrs:
        parts = [obj.attrs[name]]
    else:
        parts, i = [], 0
        while f"{name}{i}" in obj.attrs:
            parts.append(obj.attrs[f"{name}{i}"])
            i += 1
        if not parts:
            return None
    names = []
    for part in parts:
        for item in numpy.atleast_1d(part).tolist():
            names.append(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item))
    return names


def declared_bytes(group, where, max_bytes=MAX_BYTES):
    """Total bytes the datasets under ``group`` declare (nothing is read); ModelFileError above the cap."""
    h5py = require("h5py")
    total, count, stack = 0, 0, [group]
    while stack:
        g = stack.pop()
        for name in list(g.keys()):
            count += 1
            if count > MAX_OBJECTS:
                raise ModelFileError(f"{where}: more than {MAX_OBJECTS} objects; not a model weights file.")
            obj = _hard(g, name, where, h5py)
            if isinstance(obj, h5py.Group):
                stack.append(obj)
            elif isinstance(obj, h5py.Dataset):
                nbytes = _nbytes(obj)
                total += nbytes
                if total > max_bytes:
                    raise ModelFileError(
                        f"{where}: its datasets declare more than {max_bytes:,} bytes of weights (at {obj.name}, "
                        f"shape {obj.shape}); refusing to read it. If the model really is that large, load it with "
                        "threestep.interop.load_model(path, max_bytes=...).")
                if nbytes > 2**20 and obj.id.get_storage_size() * MAX_EXPANSION < nbytes:
                    raise ModelFileError(f"{where}: {obj.name} declares {nbytes:,} bytes (shape {obj.shape}) but "
                                         f"stores {obj.id.get_storage_size():,}; the file is corrupt or hostile.")
    return total


def _hard(group, name, where, h5py):
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ModelFileError(f"{where}: {group.name}/{name} is a {type(link).__name__}; threestep follows only "
                             "links inside the file.")
    return group[name]


def _nbytes(dset):
    shape = dset.shape or ()
    size = 1
    for d in shape:
        size *= int(d)
    return size * dset.dtype.itemsize


def read_array(dset, shape, where):
    """The data of ``dset`` after checking kind, storage and that its shape is ``shape``."""
    h5py = require("h5py")
    if not isinstance(dset, h5py.Dataset):
        raise ModelFileError(f"{where}: {getattr(dset, 'name', dset)} is not a dataset.")
    if tuple(dset.shape or ()) != tuple(shape):
        raise ModelFileError(f"{where}: {dset.name} has shape {tuple(dset.shape or ())}, expected {tuple(shape)}.")
    if dset.dtype.kind not in "fiu":
        raise ModelFileError(f"{where}: {dset.name} holds {dset.dtype}, not numbers.")
    if dset.external or dset.is_virtual:
        raise ModelFileError(f"{where}: {dset.name} keeps its data outside the file; refusing to read it.")
    try:
        return numpy.asarray(dset[()])
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{where}: cannot read {dset.name} ({exc}).") from None


def write_bytes_h5(fill):
    """Build an HDF5 file in memory with ``fill(h5py.File)`` and return its bytes."""
    import io  # noqa: PLC0415

    h5py = require("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        fill(f)
    return buffer.getvalue()


def file_head(path):
    with open(os.fspath(path), "rb") as f:
        return f.read(8)
