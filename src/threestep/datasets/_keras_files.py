"""Single-file datasets in Keras's formats (``.npz`` archives, the CIFAR pickles): finding,
downloading and checking the file, and reading it without running code from it.

Where a file is looked for (``fetch``): ``path`` itself when it has a directory part;
otherwise ``$THREESTEP_DATA/<key>/``, ``~/.threestep/datasets/<key>/`` and Keras's own
cache ``~/.keras/datasets/``, in that order (files Keras already downloaded are reused).
Every local file is checked against the checksum Keras publishes for it. A file found
nowhere is downloaded from the dataset's mirrors into the first of those directories,
streamed to a temporary file, checked, then renamed into place. Offline, the error names
the file, the directories searched and the URL to fetch it from.

Reading (``load_npz``, ``safe_unpickle``): Keras stores lists of word indices as pickled
object arrays and CIFAR as pickled dicts. Unpickling normally runs whatever code a file
names; the unpickler here resolves only NumPy's array-rebuilding functions, so the only
objects a file can create are arrays, dtypes and plain Python containers and numbers. Any
other class or function in a file raises :class:`~threestep.errors.DatasetError`.
"""
import hashlib
import http.client
import io
import os
import pickle
import sys
import urllib.request
import zipfile

import numpy

from ..errors import ConfigError, DatasetError
from . import _files

KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MAX_BYTES = 256 << 20  # no file of these datasets is larger (CIFAR-100 is ~169 MB)
_CHUNK = 1 << 20


def keras_cache():
    return os.path.join(os.path.expanduser("~"), ".keras", "datasets")


def search_dirs(key):
    source = _files.Source(key=key, title=key, files={}, system_dirs=(keras_cache(),))
    return [d for _, d in _files.search_dirs(source)]


def digest_file(file, algorithm):
    h = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with open(file, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise DatasetError(f"Cannot read the dataset file {file}: {exc}.") from exc
    return h.hexdigest()


def check_file(file, expected, algorithm="sha256"):
    """Raises DatasetError unless ``file``'s digest is ``expected`` (None: no check)."""
    if expected is None:
        return
    check_digest(digest_file(file, algorithm), expected, algorithm, file)


def check_digest(actual, expected, algorithm, where):
    """Raises DatasetError unless the ``algorithm`` digest ``actual`` of ``where`` is ``expected``."""
    if expected is not None and actual != expected:
        raise DatasetError(f"Checksum mismatch for {where}: its {algorithm.upper()} is {actual}, "
                           f"expected {expected}. The file is truncated, corrupt or not the "
                           "published one; delete it (it will be downloaded again) or replace "
                           "it with a good copy.")


def fetch(key, path, remote, expected, mirrors, where, algorithm="sha256", download=True,
          timeout=None, names=None):
    """The checked local file for ``path`` (searched as in the module docstring, or downloaded).

    ``names``: other file names the same file may have in a cache (e.g. Keras saves the
    CIFAR-10 archive as ``cifar-10-batches-py.tar.gz``).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"{where}: path must be a file name or path. Received: path={path!r}.")
    if not isinstance(download, bool):
        raise ConfigError(f"{where}: download must be True or False. Received: "
                          f"download={download!r}.")
    path = os.path.expanduser(os.fspath(path))
    if os.path.dirname(path):
        dirs, candidates = [os.path.dirname(os.path.abspath(path))], [os.path.basename(path)]
    else:
        dirs, candidates = search_dirs(key), [path, *(names or ())]
    for directory in dirs:
        for name in candidates:
            file = os.path.join(directory, name)
            if os.path.isfile(file):
                check_file(file, expected, algorithm)
                return file
    target = os.path.join(dirs[0], candidates[0])
    failure = "downloading is off (download=False)"
    if download and mirrors:
        try:
            return download_file(remote, target, expected, algorithm, mirrors, timeout)
        except DatasetError as exc:
            failure = "downloading failed:\n  " + str(exc).replace("\n", "\n  ")
    elif download:
        failure = "no download mirror is configured"
    url = mirrors[0].rstrip("/") + "/" + remote if mirrors else remote
    raise DatasetError(f"{where}: {candidates[0]} was not found in {', '.join(dirs)}, and "
                       f"{failure}.\nTo get it, call {where} with network access, or download "
                       f"{url} yourself and save it as {target}.")


def download_file(remote, target, expected, algorithm, mirrors, timeout=None, max_bytes=MAX_BYTES):
    """Downloads ``remote`` from the first good mirror to ``target`` (atomically, verified); at
    most ``max_bytes``, more than any file of the dataset can be."""
    timeout = _files.DOWNLOAD_TIMEOUT if timeout is None else timeout
    reasons = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + remote
        try:
            print(f"Downloading {url}", file=sys.stderr)
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                os.makedirs(os.path.dirname(target), exist_ok=True)  # once a server answers
                with _files.atomic_write(target) as out:
                    h, received = hashlib.new(algorithm, usedforsecurity=False), 0
                    while chunk := response.read(_CHUNK):
                        received += len(chunk)
                        if received > max_bytes:
                            raise DatasetError(f"the server sent more than {max_bytes:,} bytes, "
                                               f"far more than {remote} can be")
                        h.update(chunk)
                        out.write(chunk)
                    # Raising inside atomic_write removes the temporary file.
                    check_digest(h.hexdigest(), expected, algorithm, url)
            return target
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # OSError: URLError, HTTPError, timeouts; ValueError: bad URL or DatasetError.
            reasons.append(f"{url}: {exc}")
    raise DatasetError("\n".join(reasons) or "no download mirror is configured")


# --------------------------------------------------------------------------- reading

def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # noqa: PLC0415  (NumPy 2)
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core.multiarray import _reconstruct  # noqa: PLC0415
    return _reconstruct


def _numpy_scalar():
    try:
        from numpy._core.multiarray import scalar  # noqa: PLC0415
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core.multiarray import scalar  # noqa: PLC0415
    return scalar


def _latin1_bytes():
    """What protocol-2 pickles written by Python 3 call to rebuild ``bytes``."""
    def encode(text, encoding="utf-8"):
        if encoding != "latin1" or not isinstance(text, str):
            raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r} is not a bytes literal")
        return text.encode("latin1")
    return encode


_ALLOWED = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "ndarray"): lambda: numpy.ndarray,
    ("numpy", "dtype"): lambda: numpy.dtype,
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"the file names {module}.{name}, which a data file "
                                         "never needs; refusing to load it")
        return factory()


def safe_unpickle(data, where, encoding="ASCII"):
    """Unpickles ``data`` allowing only arrays, dtypes and plain Python values."""
    try:
        return _ArraysOnly(io.BytesIO(data), encoding=encoding).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        raise DatasetError(f"{where} is not a readable data pickle: {exc}") from exc


def load_npz(file, keys):
    """``{key: array}`` for ``keys`` of an ``.npz`` file; object arrays through
    :func:`safe_unpickle` (never running code)."""
    out = {}
    try:
        with zipfile.ZipFile(file) as archive:
            members = set(archive.namelist())
            for key in keys:
                if key + ".npy" not in members:
                    raise DatasetError(f"{file} lacks the array {key!r}; it should hold "
                                       f"{list(keys)}.")
                with archive.open(key + ".npy") as f:
                    out[key] = _read_npy(io.BytesIO(f.read()), f"{file}:{key}")
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{file} is not a readable .npz file: {exc}") from exc
    return out


def _read_npy(f, where):
    fmt = numpy.lib.format
    try:
        version = fmt.read_magic(f)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = reader(f, max_header_size=1 << 20)
    except ValueError as exc:
        raise DatasetError(f"{where} is not a .npy array: {exc}") from exc
    if dtype.hasobject:
        array = safe_unpickle(f.read(), where, encoding="latin1")
        if not isinstance(array, numpy.ndarray):
            raise DatasetError(f"{where} should hold an array; it holds {type(array).__name__}.")
        return array
    data = f.read()
    count = int(numpy.prod(shape)) if shape else 1
    if len(data) != count * dtype.itemsize:
        raise DatasetError(f"{where} is truncated: shape {shape} of {dtype} needs "
                           f"{count * dtype.itemsize:,} bytes, found {len(data):,}.")
    array = numpy.frombuffer(data, dtype=dtype, count=count)
    order = "F" if fortran else "C"
    return array.reshape(shape, order=order).copy()
