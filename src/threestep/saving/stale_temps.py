"""Leftover temporary files of interrupted saves, removed at the next save of the same path.

``atomic_write`` writes ``.<name>.<random>.tmp`` beside the target and renames it over.
A process killed mid-save (``kill -9``, power loss) leaves that file behind, full size.
While a save runs, its temporary file holds an exclusive ``flock``; the kernel drops the
lock when the process dies. So a temporary file of that exact pattern whose lock can be
taken belongs to no running save and is removed. Where ``flock`` does not exist
(Windows), only files untouched for ``STALE_AFTER_S`` seconds are removed.
"""
import contextlib
import os
import re
import time

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

STALE_AFTER_S = 3600


def pattern(filepath):
    """The names ``tempfile.mkstemp(prefix='.'+name+'.', suffix='.tmp')`` gives for ``filepath``."""
    return re.compile(r"\." + re.escape(os.path.basename(filepath)) + r"\.[A-Za-z0-9_]{8}\.tmp\Z")


def hold(fd):
    """Mark the open temporary file ``fd`` as in use by this save (until it is closed)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _abandoned(path):
    if fcntl is None:
        try:
            return time.time() - os.stat(path).st_mtime > STALE_AFTER_S
        except OSError:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a running save holds it
    else:
        return True
    finally:
        os.close(fd)


def remove(filepath):
    """Remove abandoned temporary files of earlier saves of ``filepath``; returns their names."""
    directory = os.path.dirname(os.path.abspath(filepath))
    match = pattern(filepath).match
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if match(entry.name) and entry.is_file(follow_symlinks=False) and _abandoned(entry.path):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed
