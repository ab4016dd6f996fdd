"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
uint32 dimension sizes, then the data, big-endian, in C order. The type byte is one of
``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E``
float64. Files may be gzip-compressed (recognised by their first two bytes, not their name).

``read_idx`` trusts nothing: a wrong magic number, an unknown type, a zero dimension, a
truncated file, extra bytes after the data or a damaged gzip stream each raise
:class:`~threestep.errors.DatasetError` naming the file and what is wrong, never a partial
array.

Example:

    >>> import numpy as np
    >>> from threestep.datasets.idx import read_idx, write_idx
    >>> write_idx("/tmp/labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    >>> read_idx("/tmp/labels-idx1-ubyte.gz")
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=uint8)
"""
import gzip
import math
import os
import struct

import numpy

from ..errors import ConfigError, DatasetError
from ._files import atomic_write, decompress

# IDX type byte -> big-endian NumPy dtype.
TYPES = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_TYPE_CODES = {dtype.newbyteorder("="): code for code, dtype in TYPES.items()}
_MAX_DIM = 2**32 - 1


def read_idx(source, name=None):
    """Reads an IDX file (gzip-compressed or not) into a NumPy array.

    Args:
        source: a path (``str`` or ``os.PathLike``) or the file's contents as bytes.
        name: what to call the source in error messages (default: the path, or
            ``"<bytes>"``).

    Returns:
        A writable array in native byte order with the file's dtype and shape.

    Raises:
        DatasetError: the file cannot be read, is not an IDX file, or is truncated or
            corrupt. The message names the file and the problem.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "<bytes>"
        raw = bytes(source)
    else:
        name = name or os.fspath(source)
        try:
            with open(source, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise DatasetError(f"Cannot read the IDX file {name}: {exc}.") from exc
    return parse_idx(decompress(raw, name), name)


def parse_header(data, name):
    """``(dtype, shape, header_size)`` of IDX bytes, after checking magic and dimensions."""
    if len(data) < 4:
        raise DatasetError(f"{name} is not an IDX file: it holds only {len(data)} bytes, "
                           "fewer than the 4-byte magic number.")
    zero1, zero2, code, ndim = data[0], data[1], data[2], data[3]
    if zero1 or zero2:
        raise DatasetError(f"{name} is not an IDX file: its magic number starts with "
                           f"0x{zero1:02X} 0x{zero2:02X} instead of 0x00 0x00.")
    if code not in TYPES:
        valid = ", ".join(f"0x{c:02X}" for c in TYPES)
        raise DatasetError(f"{name} has the unknown IDX data type 0x{code:02X} (valid: "
                           f"{valid}).")
    if ndim == 0:
        raise DatasetError(f"{name} declares 0 dimensions; an IDX array needs at least 1.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetError(f"{name} is truncated: its header declares {ndim} dimensions "
                           f"({header_size} header bytes) but the file holds {len(data)} "
                           "bytes.")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    if 0 in shape:
        raise DatasetError(f"{name} declares a zero dimension: shape {shape}. Every IDX "
                           "dimension must be positive.")
    return TYPES[code], shape, header_size


def parse_idx(data, name="<bytes>"):
    """The array held by uncompressed IDX bytes; see :func:`read_idx`."""
    dtype, shape, header_size = parse_header(data, name)
    expected = header_size + math.prod(shape) * dtype.itemsize
    if len(data) < expected:
        raise DatasetError(f"{name} is truncated: shape {shape} of {dtype.newbyteorder('=')} "
                           f"needs {expected:,} bytes, the file holds {len(data):,}.")
    if len(data) > expected:
        raise DatasetError(f"{name} has {len(data) - expected:,} extra bytes after the "
                           f"data: shape {shape} of {dtype.newbyteorder('=')} needs "
                           f"{expected:,} bytes, the file holds {len(data):,}.")
    array = numpy.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies: the result is writable and in native byte order.
    return array.astype(dtype.newbyteorder("="))


def to_idx_bytes(array):
    """The IDX encoding (uncompressed) of ``array``; see :func:`write_idx`."""
    array = numpy.asarray(array)
    code = _TYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        valid = ", ".join(str(d) for d in _TYPE_CODES)
        raise ConfigError(f"write_idx: IDX cannot store dtype {array.dtype}; use one of "
                          f"{valid}. Received: dtype={array.dtype}.")
    if not 1 <= array.ndim <= 255:
        raise ConfigError(f"write_idx: IDX stores arrays with 1 to 255 dimensions. "
                          f"Received: shape={array.shape}.")
    if not all(0 < d <= _MAX_DIM for d in array.shape):
        raise ConfigError(f"write_idx: every dimension must be between 1 and {_MAX_DIM}. "
                          f"Received: shape={array.shape}.")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + numpy.ascontiguousarray(array, dtype=TYPES[code]).tobytes()


def write_idx(path, array, compress=None):
    """Writes ``array`` as an IDX file, atomically (a crash never leaves a partial file).

    Args:
        path: the file to write.
        array: an array of dtype uint8, int8, int16, int32, float32 or float64 with 1 to
            255 dimensions, none of them zero.
        compress: gzip the file; default: when ``path`` ends with ``.gz``.

    Raises:
        ConfigError: the dtype or shape cannot be stored in IDX.
    """
    data = to_idx_bytes(array)
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)  # mtime=0: the same array gives the same bytes
    with atomic_write(path) as f:
        f.write(data)
