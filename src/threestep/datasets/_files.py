"""Finding, downloading and verifying the files of a dataset (used by ``mnist`` and
``fashion_mnist``).

Each file is looked for, in order, in

1. the directory passed as ``load_data(path=...)``;
2. ``$THREESTEP_DATA/<dataset>/`` (when the variable is set);
3. ``~/.threestep/datasets/<dataset>/``;
4. the dataset's system directories (e.g. ``/usr/share/datasets/fashion-mnist/`` from the
   Debian package ``dataset-fashion-mnist``);

under its plain name or with ``.gz``. A file found nowhere is downloaded from the
dataset's mirrors into ``path=`` if given, else ``$THREESTEP_DATA/<dataset>/`` if set,
else ``~/.threestep/datasets/<dataset>/`` (created when a server answers): streamed to a
temporary file beside its final name, verified, then renamed into place, so the cache never
holds a partial or unverified file.

Every file, whatever its source, is checked on its *decompressed* contents: size, then MD5
where one is on record. (Re-compressing a ``.gz`` changes its checksum but not its
contents: the Debian package's Fashion-MNIST archives differ from upstream's byte for
byte, yet hold the same IDX data.) A file that fails raises ``DatasetError`` naming it and
the expected and actual values; a local file is never silently skipped.
"""
import dataclasses
import gzip
import hashlib
import http.client
import io
import os
import sys
import urllib.request
import zlib

from ..errors import ConfigError, DatasetError
from ..saving.atomic import atomic_write  # the package's one atomic writer

DATA_ENV = "THREESTEP_DATA"
DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a download is abandoned
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What one file of a dataset must be once decompressed.

    Attributes:
        size: its length in bytes.
        md5: the MD5 of its decompressed bytes, or None where none is on record (then only
            the size and the IDX structure are checked, and a download is checked by
            ``archive_md5``).
        archive_md5: the MD5 of the mirrors' ``.gz`` archive, or None.
    """

    size: int
    md5: str | None = None
    archive_md5: str | None = None


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a dataset's files live and how to tell the user to get them."""

    key: str                      # subdirectory name, e.g. "fashion-mnist"
    title: str                    # e.g. "Fashion-MNIST"
    files: dict                   # file name (without .gz) -> FileInfo
    system_dirs: tuple = ()
    mirrors: tuple = ()
    mirror_env: str = ""
    package: str | None = None    # Debian/Ubuntu package that installs the files...
    package_dir: str = ""         # ...into this directory
    homepage: str = ""


def mirrors_from_env(env_name, default):
    """The mirror list: ``$env_name`` (URLs separated by commas or spaces) or ``default``."""
    value = os.environ.get(env_name, "").replace(",", " ").split()
    return tuple(value) if value else tuple(default)


def search_dirs(source, path=None):
    """``[(label, directory)]`` in the order files are looked for."""
    dirs = []
    if path is not None:
        dirs.append(("path=", os.path.abspath(os.fspath(path))))
    env = os.environ.get(DATA_ENV)
    if env:
        dirs.append((f"${DATA_ENV}", os.path.join(os.path.abspath(env), source.key)))
    dirs.append(("user cache", home_dir(source)))
    dirs.extend(("system", os.fspath(d)) for d in source.system_dirs)
    return dirs


def home_dir(source):
    return os.path.join(os.path.expanduser("~"), ".threestep", "datasets", source.key)


def find_file(dirs, name):
    """The first ``dir/name`` or ``dir/name.gz`` that exists, or None."""
    for directory in dirs:
        for candidate in (name, name + ".gz"):
            full = os.path.join(directory, candidate)
            if os.path.isfile(full):
                return full
    return None


def md5_hex(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def decompress(raw, name, limit=None):
    """``raw`` itself, or its gzip-decompressed contents if it starts with the gzip magic.

    ``limit`` caps the decompressed size (more raises), so a damaged or hostile archive
    cannot fill memory. A damaged stream fails gzip's own CRC and raises ``DatasetError``.
    """
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"The gzip file {name} is truncated or corrupt: {exc}. "
                           "Replace it with a good copy.") from exc
    if limit is not None and len(data) > limit:
        raise DatasetError(f"The gzip file {name} decompresses to more than the expected "
                           f"{limit:,} bytes: it is not the expected file. Replace it with "
                           "a good copy.")
    return data


def verify(data, info, where, archive=None):
    """Checks decompressed ``data`` against ``info``; ``archive``: the downloaded bytes."""
    actual_md5 = md5_hex(data) if info.md5 else None
    if len(data) != info.size or actual_md5 != info.md5:
        expected = f"{info.size:,} bytes" + (f" with MD5 {info.md5}" if info.md5 else "")
        actual = f"{len(data):,} bytes" + (f" with MD5 {actual_md5}" if info.md5 else "")
        raise DatasetError(f"Checksum mismatch for {where}: its decompressed contents should "
                           f"be {expected}, found {actual}. The file is truncated, corrupt "
                           "or from another dataset; replace it with a good copy.")
    if archive is not None and info.md5 is None and info.archive_md5:
        actual_md5 = md5_hex(archive)
        if actual_md5 != info.archive_md5:
            raise DatasetError(f"Checksum mismatch for {where}: the MD5 of the archive is "
                               f"{actual_md5}, expected {info.archive_md5}.")


def read_local(path, info):
    """The verified, decompressed contents of a local file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DatasetError(f"Cannot read the dataset file {path}: {exc}.") from exc
    data = decompress(raw, path, limit=info.size)
    verify(data, info, path)
    return data


def download(name, info, mirrors, cache_dir, parse, timeout=None):
    """Downloads ``name.gz`` from the first mirror that serves a good copy.

    The file is streamed into ``cache_dir``, verified (checksums, then ``parse(name, data,
    where)`` for structure), and only then renamed to ``cache_dir/name.gz``. Returns
    ``parse``'s result. Raises ``DatasetError`` listing every mirror's failure.
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    reasons = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name + ".gz"
        try:
            return _download_one(url, name, info, cache_dir, parse, timeout)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # OSError covers URLError, HTTPError and timeouts; ValueError a malformed URL
            # and DatasetError (a failed check).
            reasons.append(f"{url}: {exc}")
    raise DatasetError("\n".join(reasons) or "no download mirror is configured")


def _download_one(url, name, info, cache_dir, parse, timeout):
    print(f"Downloading {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        os.makedirs(cache_dir, exist_ok=True)  # only once a server answers
        with atomic_write(os.path.join(cache_dir, name + ".gz")) as out:
            return _receive(response, out, url, name, info, parse)


def _receive(response, out, url, name, info, parse):
    """Streams ``response`` into ``out``, then verifies what landed on disk."""
    limit = info.size + info.size // 100 + 65536  # gzip never grows data by more than this
    received = 0
    while chunk := response.read(_CHUNK):
        received += len(chunk)
        if received > limit:
            raise DatasetError(f"the server sent more than {limit:,} bytes, far more than "
                               f"{name} can be")
        out.write(chunk)
    out.flush()
    with open(out.name, "rb") as f:
        archive = f.read()
    data = decompress(archive, url, limit=info.size)
    verify(data, info, url, archive=archive)
    return parse(name, data, url)


def fetch(source, parse, path=None, download_missing=True, timeout=None):
    """Finds (or downloads) and verifies every file of ``source``.

    Args:
        source: the dataset's :class:`Source`.
        parse: ``parse(name, data, where)`` turns verified decompressed bytes into the
            value returned for that file, raising ``DatasetError`` if they are unusable.
        path: an extra directory searched first, and the download target.
        download_missing: download files found nowhere.

    Returns:
        ``{name: parse(...)}`` for every file of ``source``.
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"{source.title}: path must be a directory (str or "
                              f"os.PathLike) or None. Received: path={path!r}.")
        if os.path.exists(path) and not os.path.isdir(path):
            raise ConfigError(f"{source.title}: path must be a directory holding the IDX "
                              f"files, not a file. Received: path={os.fspath(path)!r}.")
    if not isinstance(download_missing, bool):
        raise ConfigError(f"{source.title}: download must be True or False. Received: "
                          f"download={download_missing!r}.")
    dirs = search_dirs(source, path)
    results, missing = {}, []
    for name, info in source.files.items():
        found = find_file([d for _, d in dirs], name)
        if found is None:
            missing.append(name)
        else:
            results[name] = parse(name, read_local(found, info), found)
    if not missing:
        return results
    failure = None
    if download_missing and source.mirrors:
        cache_dir = dirs[0][1]  # path=, else $THREESTEP_DATA/<key>, else the home dir
        try:
            for name in list(missing):
                results[name] = download(name, source.files[name], source.mirrors,
                                         cache_dir, parse, timeout)
                missing.remove(name)
        except DatasetError as exc:
            failure = str(exc)
    if missing:
        raise DatasetError(not_found_message(source, dirs, missing, download_missing,
                                             failure))
    return results


def not_found_message(source, dirs, missing, download_missing, failure):
    """How the data was looked for, why it failed, and exactly how to get it."""
    lines = [f"{source.title} is not available: {', '.join(missing)} "
             f"{'was' if len(missing) == 1 else 'were'} not found. Looked for each file "
             "(as NAME or NAME.gz) in:"]
    lines += [f"  {directory}  ({label})" for label, directory in dirs]
    if not os.environ.get(DATA_ENV):
        lines.append(f"  (${DATA_ENV} is not set)")
    if not download_missing:
        lines.append("Downloading is off (download=False).")
    elif not source.mirrors:
        lines.append("No download mirror is configured"
                     + (f" (set ${source.mirror_env})." if source.mirror_env else "."))
    elif failure:
        lines.append("Downloading failed:")
        lines += ["  " + line for line in failure.splitlines()]
    files = ", ".join(n + ".gz" for n in source.files)
    lines.append("To get the data, either:")
    if source.package:
        lines.append(f"  * install the Debian/Ubuntu package: `sudo apt-get install "
                     f"{source.package}` (it puts the files in {source.package_dir}/), or")
    lines.append(f"  * put the four IDX files {files} (gzipped or not) in "
                 f"{home_dir(source)}/ (or in ${DATA_ENV}/{source.key}/, or in a directory "
                 f"you pass as load_data(path=...))"
                 + (f"; they are published at {source.homepage}" if source.homepage else "")
                 + ", or")
    lines.append("  * call load_data() with network access"
                 + (" and download=True" if not download_missing else "")
                 + (f" (mirrors: {', '.join(source.mirrors)}; set ${source.mirror_env} to "
                    "use another)" if source.mirror_env else "") + ".")
    return "\n".join(lines)
