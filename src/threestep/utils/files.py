"""``get_file``: a file from the Keras cache, or downloaded into it and checked (Keras 2's
``keras.utils.get_file``).

The cache is ``cache_dir/cache_subdir`` (default ``~/.keras/datasets``, Keras's own, so
files Keras already fetched are reused). A cached file with a hash given is checked; a
mismatch downloads it again when a server answers, else raises. Downloads stream to a
temporary file beside the target, are checked, then renamed into place, so the cache never
holds a partial file. Archives are extracted with path checks (no member may land outside
the cache directory).
"""
import contextlib
import hashlib
import os
import secrets
import sys
import tarfile
import urllib.request
import zipfile

from ..errors import DatasetError

_CHUNK = 1 << 20


def hash_file(path, algorithm="sha256"):
    """The hex digest of a file (``algorithm``: ``"sha256"`` or ``"md5"``)."""
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _algorithm(file_hash, hash_algorithm):
    if hash_algorithm in ("sha256", "md5"):
        return hash_algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def validate_file(path, file_hash, algorithm="auto"):
    """Whether the file's hash equals ``file_hash`` (``algorithm`` auto: by its length)."""
    return hash_file(path, _algorithm(file_hash, algorithm)) == file_hash


def get_file(fname, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, timeout=30.0):
    """The local path of ``fname``, downloading it from ``origin`` if it is not cached.

    Args:
        fname: the file's name in the cache (or an absolute path, used as is).
        origin: the URL to download from when the file is missing.
        untar: the file is a tar archive to extract; the extracted directory's path
            (``fname`` without archive suffix) is returned.
        md5_hash, file_hash: the expected hash (SHA-256 or MD5, told apart by length).
        cache_subdir: the subdirectory of ``cache_dir`` (default ``datasets``).
        extract: extract a tar or zip archive beside the file (the file's path is returned).
        cache_dir: the cache root (default ``$KERAS_HOME`` or ``~/.keras``).

    Raises:
        DatasetError: no cached file and the download failed (the message says where to put
            the file), or the file fails its hash.

    Example:
        >>> path = get_file("boston_housing.npz",
        ...                 origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz")
    """
    file_hash = file_hash or md5_hash
    if cache_dir is None:
        cache_dir = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    directory = os.path.join(os.path.expanduser(cache_dir), cache_subdir)
    if untar:
        target_dir = os.path.join(directory, fname)
        fpath = target_dir + ".tar.gz"
    else:
        fpath = os.path.join(directory, fname)
    algorithm = _algorithm(file_hash, hash_algorithm) if file_hash else None
    if untar and os.path.isdir(target_dir) and not os.path.exists(fpath):
        return target_dir  # extracted earlier, archive removed by the user
    need = not os.path.exists(fpath)
    if not need and file_hash and hash_file(fpath, algorithm) != file_hash:
        if origin is None:
            raise DatasetError(f"get_file: {fpath} fails its {algorithm.upper()} check "
                               f"(expected {file_hash}); replace it with a good copy.")
        need = True
    if need:
        if origin is None:
            raise DatasetError(f"get_file: {fpath} does not exist and no origin URL was given.")
        _download(origin, fpath, file_hash, algorithm, timeout)
    if untar:
        if not os.path.isdir(target_dir):
            extract_archive(fpath, directory, "tar")
        return target_dir
    if extract:
        extract_archive(fpath, directory, archive_format)
    return fpath


def _download(origin, fpath, file_hash, algorithm, timeout):
    directory = os.path.dirname(fpath)
    tmp = os.path.join(directory, f".{os.path.basename(fpath)}.{secrets.token_hex(4)}.part")
    try:
        print(f"Downloading data from {origin}", file=sys.stderr)
        with urllib.request.urlopen(origin, timeout=timeout) as response:  # noqa: S310
            os.makedirs(directory, exist_ok=True)
            h = hashlib.new(algorithm, usedforsecurity=False) if file_hash else None
            with open(tmp, "xb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    if h is not None:
                        h.update(chunk)
                out.flush()
                os.fsync(out.fileno())
        if h is not None and h.hexdigest() != file_hash:
            raise DatasetError(f"get_file: the file downloaded from {origin} has "
                               f"{algorithm.upper()} {h.hexdigest()}, expected {file_hash}.")
        os.replace(tmp, fpath)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"get_file: cannot download {origin}: {exc}. Offline, put the "
                           f"file at {fpath} yourself.") from exc


def extract_archive(path, directory, archive_format="auto"):
    """Extracts a tar or zip archive into ``directory``, refusing members that would land
    outside it. Returns True if it was an archive."""
    formats = ("tar", "zip") if archive_format == "auto" else (
        (archive_format,) if isinstance(archive_format, str) else tuple(archive_format))
    root = os.path.realpath(directory)
    if "tar" in formats and tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            archive.extractall(directory, filter="data")  # "data": no absolute or ../ paths
        return True
    if "zip" in formats and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not os.path.realpath(os.path.join(root, member)).startswith(root + os.sep):
                    raise DatasetError(f"{path}: the archive member {member!r} would be "
                                       "written outside the cache directory; not extracted.")
            archive.extractall(directory)
        return True
    return False
