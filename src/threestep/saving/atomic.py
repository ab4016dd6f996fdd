"""Crash-safe file writes: write a temporary file beside the target, fsync it, rename it over.

``os.replace`` is atomic on POSIX and Windows, so a reader (or a crash at any moment)
sees either the complete previous file or the complete new one, never a partial file.
"""
import contextlib
import os
import tempfile

from ..errors import SaveDirectoryMissingError, SaveTargetExistsError, SaveTargetIsDirectoryError
from . import stale_temps


def _default_mode(filepath):
    """The permissions a plain ``open(filepath, 'w')`` would give (mkstemp makes files 0600)."""
    try:
        return os.stat(filepath).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(filepath, overwrite=True):
    """A binary stream whose contents replace ``filepath`` only if the block completes.

    The stream is the temporary file (its ``name`` is that file's path, so a caller can
    read back and verify what landed on disk before the rename). Every file threestep
    writes goes through here: model files, weight files, run logs, downloaded datasets.

    Raises ``FileExistsError`` when ``overwrite=False`` and the file exists, and
    ``FileNotFoundError`` naming the directory when it does not exist.
    """
    filepath = os.fspath(filepath)
    if os.path.isdir(filepath) or filepath.endswith(("/", os.sep)):
        raise SaveTargetIsDirectoryError(f"Cannot save to {filepath!r}: it is a directory. Pass a file path, e.g. "
                                         f"{os.path.join(filepath, 'model.ts')!r}.")
    if not overwrite and os.path.exists(filepath):
        raise SaveTargetExistsError(f"{filepath} already exists and overwrite=False. Pass overwrite=True to replace "
                                    "it, or choose another path.")
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise SaveDirectoryMissingError(f"Cannot save to {filepath}: the directory {directory} does not exist. "
                                        f"Create it first (os.makedirs({directory!r}, exist_ok=True)).")
    stale_temps.remove(filepath)  # full-size leftovers of saves killed before their rename
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(filepath) + ".", suffix=".tmp")
    os.close(fd)  # reopened by path, so that ``stream.name`` is the temporary file's path
    try:
        with open(tmp, "wb") as stream:
            stale_temps.hold(stream.fileno())  # marks the file as a running save's, until closed
            os.chmod(tmp, _default_mode(filepath))
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
