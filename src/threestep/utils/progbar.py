"""A Keras-style progress bar for training loops.

Two ways of drawing, chosen when a line is drawn:

* **live** (``verbose=1`` on a terminal, or in a Jupyter kernel writing to ``sys.stdout``):
  one line rewritten in place with ``'\\r'``, at most once every ``interval`` seconds::

      50/100 [==============>...............] - ETA: 1s - loss: 0.1234 - accuracy: 0.9500

  ending with ``100/100 [==============================] - 2s 20ms/step - loss: ...``.
* **one line** (``verbose=2``, or ``verbose=1`` writing to a file or a pipe): nothing until
  the bar is finalized, then exactly one line and no ``'\\r'`` or ``'\\b'`` anywhere, so
  logs stay clean::

      100/100 - 2s - 20ms/step - loss: 0.1234 - accuracy: 0.9500
"""
import math
import os
import sys
import time

import numpy

from .. import backend

# The clock: perf_counter is monotonic and fine-grained. A module attribute so tests can
# replace it with a fake clock.
_now = time.perf_counter


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, or ``None`` if unknown (then the count is
            shown without a bar).
        width: the bar's width in characters.
        verbose: 0 silent, 1 live bar (one clean line when not on a terminal), 2 one line
            when finished.
        interval: minimum seconds between two redraws of the live bar; the final update
            always draws.
        stateful_metrics: names whose values are shown as given. Every other value is
            averaged over the steps seen so far, each update weighted by the number of steps
            it advanced (as Keras does).
        unit_name: what a step is called in the time-per-step text (``20ms/step``).
        file: the stream to write to; ``None`` means ``sys.stdout``, looked up at every
            write (so redirection and pytest's ``capsys`` work).

    Example:

        >>> bar = Progbar(100, verbose=2)
        >>> for step in range(100):
        ...     bar.update(step + 1, [("loss", 0.5)])  # doctest: +SKIP
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", file=None):
        self.target = None if target is None else int(target)
        self.width = int(width)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.interval = float(interval)
        self.stateful_metrics = set(stateful_metrics or ())
        self.unit_name = unit_name
        self.file = file
        self._values = {}  # name -> [weighted sum, total weight], or [value, None] if stateful
        self._seen_so_far = 0
        self._start = _now()
        self._last_draw = -math.inf
        self._first_update = None  # (step, time) of the first update, for the ETA
        self._line_width = 0  # length of the live line on screen, to blank out leftovers

    def update(self, current, values=None, finalize=None):
        """Moves the bar to step ``current`` and records ``values``, a list of (name, value).

        ``finalize`` (default: ``current >= target``) draws the final line.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values.items() if isinstance(values, dict) else values or ())
        self._seen_so_far = current
        if not self.verbose:
            return
        now = _now()
        if self._first_update is None and current > 0:
            self._first_update = (current, now)
        if not finalize and (self.verbose != 1 or now - self._last_draw < self.interval):
            return
        stream = self.file if self.file is not None else sys.stdout
        if self.verbose == 1 and self._is_live(stream):
            self._draw_live(stream, current, now, finalize)
        elif finalize:
            elapsed = now - self._start
            _write(stream, f"{self._count(current)} - {elapsed:.0f}s - "
                           f"{_format_per_unit(self._per_unit(current, now), self.unit_name)}"
                           f"{self._values_text()}\n")
        self._last_draw = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # ------------------------------------------------------------------ internals
    def _record(self, current, values):
        weight = max(current - self._seen_so_far, 1)
        for name, value in values:
            if name in self.stateful_metrics:
                self._values[name] = [value, None]
                continue
            entry = self._values.get(name)
            if entry is None or entry[1] is None:
                entry = self._values[name] = [0.0, 0]
            entry[0] += _to_float(value) * weight
            entry[1] += weight

    def _is_live(self, stream):
        if _isatty(stream):
            return True
        # Jupyter/Colab: stdout is not a TTY, but the notebook front end honours '\r'. A file
        # the user opened inside a notebook still gets clean lines.
        return "ipykernel" in sys.modules and (self.file is None or stream in (sys.stdout, sys.stderr))

    def _draw_live(self, stream, current, now, finalize):
        line = self._count(current) + self._bar(current)
        if self.target is not None and current < self.target and not finalize:
            line += f" - ETA: {_format_eta(self._eta(current, now))}"
        else:
            line += (f" - {now - self._start:.0f}s "
                     f"{_format_per_unit(self._per_unit(current, now), self.unit_name)}")
        line += self._values_text()
        if not finalize:
            # A line wider than the terminal wraps, and '\r' then only rewinds its last row.
            columns = _columns(stream)
            if columns:
                line = line[:columns - 1]
        pad = " " * max(self._line_width - len(line), 0)
        self._line_width = 0 if finalize else len(line)
        _write(stream, "\r" + line + pad + ("\n" if finalize else ""))

    def _count(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        return f"{current:{len(str(self.target))}d}/{self.target}"

    def _bar(self, current):
        if self.target is None:
            return ""
        done = min(current / self.target, 1.0) if self.target else 1.0
        filled = int(self.width * done)
        arrow = "" if filled == 0 else "=" * (filled - 1) + (">" if current < self.target else "=")
        return " [" + arrow + "." * (self.width - filled) + "]"

    def _per_unit(self, current, now):
        return (now - self._start) / current if current else 0.0

    def _eta(self, current, now):
        # The first step often pays one-off costs (building, caches); time the rest without it.
        if self._first_update is not None and current > self._first_update[0]:
            first_step, first_time = self._first_update
            per_unit = (now - first_time) / (current - first_step)
        else:
            per_unit = self._per_unit(current, now)
        return per_unit * (self.target - current)

    def _values_text(self):
        parts = []
        for name, (total, weight) in self._values.items():
            value = total if weight is None else total / max(weight, 1)
            parts.append(f" - {name}: {format_value(value)}")
        return "".join(parts)

    def __repr__(self):
        return (f"<Progbar {self._seen_so_far}/{'?' if self.target is None else self.target} "
                f"verbose={self.verbose}>")


def format_value(value):
    """Formats a metric like Keras: ``%.4f``, or ``%.4e`` below 1e-3; strings as given."""
    if isinstance(value, str):
        return value
    value = _to_float(value)
    # NaN fails the comparison and prints as 'nan'; inf prints as 'inf'.
    return f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.4e}"


def _to_float(value):
    try:
        return float(value)
    except TypeError:  # an array of several values: shown as its mean, as Keras does
        return float(numpy.mean(backend.to_numpy(value)))


def _format_per_unit(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


def _isatty(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def _columns(stream):
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _write(stream, text):
    stream.write(text)
    stream.flush()
