"""CSVLogger: one row of epoch logs per epoch, written to a CSV file as training goes."""
import csv
import os
import warnings

from ..errors import ConfigError
from .base import Callback


def _cell(value):
    """A log value as a CSV cell: numbers as they are, sequences as "[a, b]" (Keras)."""
    if isinstance(value, str):
        return value
    if getattr(value, "ndim", None) == 0:  # a 0-d array
        return value.item()
    if hasattr(value, "__iter__"):
        return f"[{', '.join(map(str, value))}]"
    return value


class CSVLogger(Callback):
    """Stream every epoch's logs to a CSV file.

    The header is ``epoch`` followed by the log keys in sorted order, e.g.
    ``epoch,loss,lr,val_loss``; ``epoch`` is 0-based (as Keras writes it). Each row is
    flushed as soon as it is written, so the file can be watched during training, and
    the file is closed at the end of training. A key missing in a later epoch is written
    as ``NA``; a key that first appears after the header was written is left out (with a
    warning), since the columns are fixed by then.

    Args:
        filename: path of the CSV file.
        separator: the string that separates cells.
        append: True continues an existing file: rows are added under its header (its
            column order is kept) and no second header is written. False overwrites.

    Example:
        >>> model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[CSVLogger('training.log')])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, bytes, os.PathLike)):
            raise ConfigError(f"CSVLogger: filename must be a path (str or pathlib.Path). Received: filename={filename!r}. "
                              "Pass e.g. CSVLogger('training.csv').")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True
        self._warned = False

    def on_train_begin(self, logs=None):
        self._close()
        self.keys = None
        self.writer = None
        self.append_header = True
        self._warned = False
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, delimiter=self.sep), None)
            if header:
                self.append_header = False
                if header[0] == "epoch":
                    self.keys = header[1:]
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")  # noqa: SIM115

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        extra = sorted(set(logs) - set(self.keys))
        if extra and not self._warned:
            self._warned = True
            warnings.warn(f"CSVLogger: {extra} appeared after the header of {self.filename!r} was written "
                          f"(columns: {self.keys}); they are not logged.", RuntimeWarning, stacklevel=2)
        self.writer.writerow([epoch] + [_cell(logs[k]) if k in logs else "NA" for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def __repr__(self):
        return f"CSVLogger(filename={self.filename!r}, separator={self.sep!r}, append={self.append})"
