"""``Sequence``: a dataset that hands out whole mini-batches by index (Keras 2 ``keras.utils.Sequence``).

Use it when the data does not fit in memory: ``__getitem__(i)`` reads batch ``i`` from
disk (or builds it) only when ``fit`` asks for it, and ``fit`` may prepare the next
batches in background threads (``workers=``) while the current one trains, because a
batch is addressed by its index and every index is read exactly once per epoch.
"""


class Sequence:
    """Base class for a batch-indexed dataset; override ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns batch ``i`` as ``(x, y)`` or ``(x, y, sample_weight)`` (or
    ``x`` alone for ``predict``). ``__len__`` is the number of batches per epoch.
    ``on_epoch_end`` runs after every epoch (reshuffle files, change augmentation).
    With ``fit(..., shuffle=True)`` the batch *order* is shuffled each epoch.

    Example:
        >>> class Batches(Sequence):
        ...     def __init__(self, x, y, batch_size):
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, i):
        ...         s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        ...         return self.x[s], self.y[s]
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning batch index.")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() returning the number of batches.")

    def on_epoch_end(self):
        """Called by ``fit`` after every epoch; does nothing by default."""

    def __iter__(self):
        """Every batch once, in order (so a Sequence also works where an iterable is expected)."""
        for i in range(len(self)):
            yield self[i]
