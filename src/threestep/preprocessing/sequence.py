"""Sequence preprocessing: ``pad_sequences``, as Keras's ``keras.preprocessing.sequence``.

Example:

    >>> from threestep.preprocessing.sequence import pad_sequences
    >>> pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    array([[2, 3],
           [4, 5],
           [0, 6]], dtype=int32)
"""
import numpy

from ..errors import ConfigError, DataError

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or truncates) a list of sequences to one length, exactly like Keras.

    Args:
        sequences: a list of sequences (lists, tuples or arrays); each element is a scalar
            or, for sequences of vectors, an array of one shared shape.
        maxlen: the length of the result; default: the longest sequence.
        dtype: the result's dtype (default ``"int32"``; use ``object`` for strings).
        padding: ``"pre"`` (default) puts the padding before each sequence, ``"post"``
            after it.
        truncating: ``"pre"`` (default) drops the start of sequences longer than
            ``maxlen``, ``"post"`` their end.
        value: the padding value (default 0).

    Returns:
        An array of shape ``(len(sequences), maxlen) + element_shape``. Empty sequences
        become rows of ``value``.

    Raises:
        ConfigError: unknown ``padding`` / ``truncating``, a negative ``maxlen``, or a
            string ``value`` with a non-string ``dtype``.
        DataError: an element of ``sequences`` is not a sequence, or the sequences'
            elements differ in shape.

    Example:

        >>> pad_sequences([[1, 2, 3], [4]], padding="post", value=-1)
        array([[ 1,  2,  3],
               [ 4, -1, -1]], dtype=int32)
    """
    if padding not in ("pre", "post"):
        raise ConfigError(f"pad_sequences: padding must be 'pre' or 'post'. "
                          f"Received: padding={padding!r}.")
    if truncating not in ("pre", "post"):
        raise ConfigError(f"pad_sequences: truncating must be 'pre' or 'post'. "
                          f"Received: truncating={truncating!r}.")
    if not hasattr(sequences, "__len__"):
        raise DataError(f"pad_sequences: sequences must be a list of sequences. "
                        f"Received: {type(sequences).__name__}.")
    lengths, sample_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise DataError(f"pad_sequences: sequences must be a list of sequences, but "
                            f"sequences[{i}] is {seq!r}.") from None
        if sample_shape is None and len(seq):
            # The element shape comes from the first non-empty sequence (as in Keras).
            sample_shape = numpy.asarray(seq).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, numpy.integer)) or maxlen < 0:
        raise ConfigError(f"pad_sequences: maxlen must be a non-negative integer or None. "
                          f"Received: maxlen={maxlen!r}.")
    dtype = numpy.dtype(dtype)
    if isinstance(value, str) and dtype != object and dtype.kind not in "US":
        raise ConfigError(f"pad_sequences: dtype {dtype} cannot hold the string "
                          f"value={value!r}; use dtype=object for variable-length strings.")
    out = numpy.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not lengths[i]:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = numpy.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise DataError(f"pad_sequences: the elements of sequence {i} have shape "
                            f"{kept.shape[1:]}, expected {sample_shape} (the shape of the "
                            "first non-empty sequence's elements).")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
