"""Batch sources for ``fit`` / ``evaluate`` / ``predict``: arrays, memory maps, generators, ``Sequence``.

Gradient descent only ever needs one mini-batch at a time, so the data need not fit in
memory. Each source hands the training loop ``(x, y, sample_weight)`` batches:

* ``ArrayFeed`` — NumPy arrays (or lists of them for several inputs). In-memory arrays
  are indexed exactly as before. ``numpy.memmap`` arrays (``np.load(path,
  mmap_mode="r")``) are never copied whole: each batch reads its rows (in sorted order,
  for locality on disk, then put back in the shuffled order so results are identical to
  in-memory training), is cast to the default float dtype and checked for NaN/inf, in a
  background thread (``workers``). On the GPU (the CuPy backend), ``fit`` moves in-memory
  training data, then validation data, of up to ``DEVICE_DATA_BYTES`` together to the device
  once: each batch is then a gather on the device through that epoch's shuffled order (itself
  one copy per epoch), instead of a host gather and a host-to-device copy per step, which
  waits for the device.
* ``SourceFeed`` — a Python generator or iterable of batches, or a Keras-style
  ``Sequence``. Each item is ``(x, y)`` or ``(x, y, sample_weight)`` (``predict`` also
  takes ``x`` alone); it is validated like array data.

Every feed can be sharded by a distributed strategy (``threestep.distributed``): each
rank then reads only its own part of every epoch.
"""
import functools
import os
import warnings

import numpy

from .. import backend
from ..errors import ConfigError, DataError
from . import checks, validate
from .data import n_samples, take
from .prefetch import OrderedPrefetch, StreamPrefetch


# In-memory training and validation data up to this size (x, y and sample weights together),
# and up to a quarter of the GPU's free memory, moves to the GPU once per fit;
# THREESTEP_DEVICE_DATA_MB overrides both (0: copy every batch instead).
DEVICE_DATA_BYTES = 1 << 30


def _device_budget():
    value = os.environ.get("THREESTEP_DEVICE_DATA_MB")
    if value is None:  # leave most of the device to the network's activations and gradients
        return min(DEVICE_DATA_BYTES, backend.free_device_memory() // 4)
    try:
        return int(float(value) * (1 << 20))
    except ValueError:
        raise ConfigError(f"THREESTEP_DEVICE_DATA_MB must be a number of megabytes. Received: {value!r}.") from None


def _flat(arrays):
    """The arrays of (x, y, sw), where x may be a list and y, sw None."""
    return [a for item in arrays if item is not None for a in (item if isinstance(item, list) else [item])]


def device_copies(groups):
    """Each group of arrays ((x, y, sw): host arrays, lists of them, or None) with its host arrays
    copied to the GPU when the CuPy backend is on, in order, while the copies so far fit the
    budget together (arrays already on the device stay there and cost nothing); a group that
    does not fit, or that holds a memory map (or is a generator's feed), is returned as it is."""
    if backend.backend_name() != "cupy":
        return list(groups)
    left, out = _device_budget(), []
    for group in groups:
        flat = _flat(group or ())
        host = [a for a in flat if not backend.on_gpu(a)]
        size = sum(a.nbytes for a in host if type(a) is numpy.ndarray)
        if not host or not all(type(a) is numpy.ndarray for a in host) or size > left:
            out.append(group)
            continue
        left -= size
        out.append(tuple(None if item is None else [backend.on_device(a) for a in item] if isinstance(item, list)
                         else backend.on_device(item) for item in group))
    return out


# ---------------------------------------------------------------------- what kind of data
def is_memmap(a):
    return isinstance(a, numpy.memmap) or (isinstance(a, list) and any(isinstance(b, numpy.memmap) for b in a))


def is_batch_source(x):
    """A generator, iterator, iterable of batches or ``Sequence`` (not an array or list of arrays)."""
    if isinstance(x, list) and x and all(isinstance(item, tuple) for item in x):
        return True  # a list of (x, y) batches; a list of arrays is a model's several inputs
    if x is None or backend.is_array(x) or isinstance(x, (list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return False
    return is_sequence(x) or hasattr(x, "__next__") or hasattr(x, "__iter__")


def is_sequence(x):
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")


def prefetch_options(workers=1, max_queue_size=10, use_multiprocessing=False, caller="fit"):
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"{caller}: workers must be an integer >= 0 (0 = prepare batches in the main thread). "
                          f"Received: workers={workers!r}.")
    if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int) or max_queue_size < 1:
        raise ConfigError(f"{caller}: max_queue_size must be an integer >= 1. Received: "
                          f"max_queue_size={max_queue_size!r}.")
    return {"workers": workers, "max_queue_size": max_queue_size, "use_multiprocessing": bool(use_multiprocessing)}


# ---------------------------------------------------------------------- per-batch preparation
def _host_rows(a, index):
    """Rows ``index`` of an array; a memory map is read in sorted order and returned in ``index`` order."""
    if not isinstance(a, numpy.memmap):
        return a[index]
    if isinstance(index, slice):
        return numpy.array(a[index])
    index = numpy.asarray(index)
    order = numpy.argsort(index, kind="stable")
    rows = numpy.asarray(a[index[order]])
    out = numpy.empty_like(rows)
    out[order] = rows
    return out


def _cast(a, role, caller, where, rows=None):
    """A batch read from disk, cast and checked as ``checks.prepare_inputs`` does whole arrays;
    errors name the dataset row (``rows``: the batch's row numbers), not the index in the batch."""
    if a.dtype != backend.floatx() and (a.dtype.kind == "f" or role == "x"):
        checks.check_cast(a, f"{role} of {where}", caller)
        a = a.astype(backend.floatx())
    checks.check_finite(a, f"{role} of {where}", caller, rows)
    return a


def lazy_batch(x, y, sw, index, caller="fit", where="a batch"):
    """One batch of possibly memory-mapped arrays, read, cast and checked (runs in a worker)."""
    xb = [_cast(_host_rows(a, index), "x", caller, where, index) for a in x] if isinstance(x, list) else \
        _cast(_host_rows(x, index), "x", caller, where, index)
    yb = None if y is None else _cast(_host_rows(y, index), "y", caller, where, index)
    wb = None if sw is None else _cast(_host_rows(sw, index), "sample_weight", caller, where, index)
    return xb, yb, wb


class _Plain:
    """Batches built in the caller's thread (in-memory arrays: the original, fastest path)."""

    def __init__(self, fn, tasks):
        self.fn, self.tasks = fn, tasks

    def __iter__(self):
        return (self.fn(t) for t in self.tasks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class ArrayFeed:
    """Arrays (in memory or memory-mapped) cut into batches of ``batch_size``."""

    def __init__(self, x, y, sw, batch_size, steps=None, options=None, caller="fit"):
        self.x, self.y, self.sw = x, y, sw
        self.n, self.batch_size = n_samples(x), int(batch_size)
        self.steps = int(steps) if steps else -(-self.n // self.batch_size)
        self.user_steps = steps
        self.lazy = is_memmap(x) or isinstance(y, numpy.memmap) or isinstance(sw, numpy.memmap)
        self.options = options or prefetch_options()
        self.caller = caller
        self.strategy = None
        self.exhausted = False
        # every array on the GPU: batches are gathers there, through a device copy of the order
        self.device = all(backend.on_gpu(a) for a in _flat((x, y, sw)))

    def _batch(self, index):
        if self.lazy:
            return lazy_batch(self.x, self.y, self.sw, index, self.caller)
        return (take(self.x, index), None if self.y is None else self.y[index],
                None if self.sw is None else self.sw[index])

    def _run(self, tasks):
        if not self.lazy or self.options["workers"] == 0:
            return _Plain(self._batch, tasks)
        return OrderedPrefetch(self._batch, tasks, self.options["workers"], self.options["max_queue_size"])

    def epoch(self, shuffle, epoch=0):
        """This epoch's batches, in training order (shuffled when ``shuffle``)."""
        if self.strategy is not None:
            return self._run(self.strategy.batch_indices(self.n, self.batch_size, shuffle, epoch))
        order = backend.host_rng().permutation(self.n) if shuffle else None
        if order is not None and self.device:
            order = backend.on_device(order)  # one copy per epoch; each batch a device view of it
        tasks = []
        for step in range(self.steps):
            start = (step * self.batch_size) % self.n
            tasks.append(order[start:start + self.batch_size] if order is not None
                         else slice(start, start + self.batch_size))
        return self._run(tasks)

    def in_order(self, strategy=None):
        """Every sample once, in order (evaluate / predict); with a strategy, this rank's share."""
        if strategy is not None:
            return self._run(strategy.eval_indices(self.n, self.batch_size))
        return self._run([slice(s, s + self.batch_size) for s in range(0, self.n, self.batch_size)])

    def end_epoch(self):
        return None

    def close(self):
        return None


# ---------------------------------------------------------------------- generators and Sequence
def _sequence_item(seq, index):
    return seq[int(index)]


def unpack(item, caller, need_y=True):
    """``(x, y)`` / ``(x, y, sample_weight)`` (or ``x`` alone for predict) from one yielded item."""
    if isinstance(item, tuple) and len(item) in (1, 2, 3):
        parts = list(item) + [None] * (3 - len(item))
    elif not need_y:
        parts = [item, None, None]
    else:
        raise DataError(f"{caller}: each batch from the generator/Sequence must be a tuple (x, y) or "
                        f"(x, y, sample_weight); received {type(item).__name__}"
                        f"{' of length ' + str(len(item)) if isinstance(item, tuple) else ''}.")
    if need_y and parts[1] is None:
        raise DataError(f"{caller}: the generator/Sequence yielded a batch without targets; yield (x, y).")
    return parts


class SourceFeed:
    """A generator, iterable of batches, or ``Sequence``, with its number of steps per pass."""

    def __init__(self, source, steps, options, caller="fit", steps_arg="steps_per_epoch", need_y=True):
        self.source, self.options, self.caller, self.need_y = source, options, caller, need_y
        self.sequence = is_sequence(source)
        if self.sequence and options["use_multiprocessing"] is False and options["workers"] < 0:
            raise ConfigError(f"{caller}: workers must be >= 0.")
        length = _length(source)
        if steps is None:
            if length is None:
                raise ConfigError(
                    f"{caller}: {steps_arg} is required when x is a generator or iterator without a length "
                    f"(it may be endless). Pass {steps_arg}=<batches per epoch>, or use a "
                    "threestep.utils.Sequence, which knows its length.")
            steps = length
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ConfigError(f"{caller}: {steps_arg} must be a positive integer. Received: {steps_arg}={steps!r}.")
        if options["use_multiprocessing"] and not self.sequence:
            raise ConfigError(f"{caller}: use_multiprocessing=True needs a threestep.utils.Sequence (a generator "
                              "cannot be shared between processes). Use workers>=1 threads, or a Sequence.")
        self.steps = int(steps)
        self.n = None
        self.batch_size = None
        self.weight_fn = None  # class_weight -> sample weights, per batch
        self.check = None  # check(xb, yb, caller): the model's input/target checks, for batches after the first
        self.strategy = None
        self.exhausted = False
        self._stream = None
        self._pending = []

    # the first batch builds the model and is checked like array data
    def peek(self):
        if self.sequence:
            item = self.source[0]
        else:
            stream = self._get_stream()
            try:
                item = next(stream)
            except StopIteration:
                raise DataError(f"{self.caller}: the generator yielded no batches.") from None
            self._pending.append(item)
        return self.prepare(item, "batch 0", first=True)

    def prepare(self, item, where, first=False):
        xb, yb, wb = unpack(item, self.caller, self.need_y)
        xb = checks.prepare_inputs(_host(xb), f"{self.caller} ({where})")
        n = n_samples(xb)
        yb = None if yb is None else checks.prepare_targets(_host(yb), n, f"{self.caller} ({where})")
        wb = validate.sample_weight(_host(wb), n, f"{self.caller} ({where})")
        if self.check is not None and not first:  # every batch, not only the first, fits the model
            self.check(xb, yb, f"{self.caller} ({where})")
        if self.weight_fn is not None and yb is not None:
            cw = self.weight_fn(yb)
            wb = cw if wb is None else wb * cw
        return xb, yb, wb

    def _get_stream(self):
        if self._stream is None:
            iterator = self.source if hasattr(self.source, "__next__") else iter(self.source)
            self._stream = StreamPrefetch(iterator, self.options["workers"], self.options["max_queue_size"])
        return self._stream

    def epoch(self, shuffle=False, epoch=0):
        """This pass's batches: ``steps`` of them (a Sequence's order is shuffled when ``shuffle``)."""
        if self.sequence:
            order = backend.host_rng().permutation(len(self.source)) if shuffle else numpy.arange(len(self.source))
            tasks = [int(i) for i in order[:self.steps]]
            fn = functools.partial(_sequence_item, self.source)
            run = OrderedPrefetch(fn, tasks, self.options["workers"], self.options["max_queue_size"],
                                  self.options["use_multiprocessing"])
            return _Prepared(self, run)
        return _Prepared(self, self._stream_pass())

    def in_order(self, strategy=None):
        return self.epoch(shuffle=False)

    def _stream_pass(self):
        stream = self._get_stream()
        count = 0
        while count < self.steps:
            if self._pending:
                item = self._pending.pop(0)
            else:
                try:
                    item = next(stream)
                except StopIteration:
                    if hasattr(self.source, "__next__") or count == 0:
                        self.exhausted = True
                        warnings.warn(
                            f"{self.caller}: your input ran out of data after {count} of {self.steps} batches; "
                            "training stops. Make the generator endless (loop over the data), or pass "
                            "steps_per_epoch / validation_steps no larger than the number of batches it yields.",
                            RuntimeWarning, stacklevel=2)
                        return
                    stream.close()  # a re-iterable (list, DataLoader-like): start a fresh pass
                    self._stream = None
                    stream = self._get_stream()
                    continue
            count += 1
            yield item
        if not hasattr(self.source, "__next__") and _length(self.source) == self.steps:
            stream.close()  # one full pass of a re-iterable: next epoch iterates it again
            self._stream = None

    def end_epoch(self):
        if self.sequence:
            self.source.on_epoch_end()

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class _Prepared:
    """Validates and casts each raw batch of a SourceFeed pass; closes its workers on exit."""

    def __init__(self, feed, raw):
        self.feed, self.raw = feed, raw

    def __iter__(self):
        for i, item in enumerate(self.raw):
            yield self.feed.prepare(item, f"batch {i}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        close = getattr(self.raw, "close", None)
        if close is not None:
            close()


def _length(source):
    try:
        return len(source)
    except TypeError:
        return None


def _host(a):
    if isinstance(a, (list, tuple)) and a and all(hasattr(b, "shape") for b in a):
        return list(a)
    return a


# ---------------------------------------------------------------------- fit / evaluate / predict entry
def fit_inputs(model, x, y, sample_weight, class_weight, validation_split, validation_data, batch_size,
               steps_per_epoch, validation_steps, options):
    """Validate the training data; returns ``(x, y, sw, val, feed)`` for ``fit``.

    For arrays ``x, y, sw`` are the prepared arrays and ``val`` a tuple of arrays; for a
    generator or ``Sequence``, ``x`` is its ``SourceFeed`` and ``y``/``sw`` are ``None``.
    """
    if is_batch_source(x):
        if y is not None or sample_weight is not None:
            raise DataError("fit: when x is a generator or Sequence, it yields the targets: pass y=None and "
                            "sample_weight=None (yield (x, y, sample_weight) instead).")
        if validation_split:
            raise ConfigError("fit: validation_split needs arrays; with a generator or Sequence pass "
                              "validation_data= (another generator or Sequence, or arrays).")
        feed = SourceFeed(x, steps_per_epoch, options, "fit")
        xb, yb, _ = feed.peek()
        _check(model, xb, yb, "fit")
        feed.check = functools.partial(_check, model)
        if class_weight is not None:
            feed.weight_fn = _class_weight_fn(model, validate.class_weight(class_weight, _units(model)))
        val = _validation(model, validation_data, validation_steps, options, batch_size)
        return feed, None, None, val, feed
    x = checks.prepare_inputs(x, "fit", lazy=True)
    y = checks.prepare_targets(y, n_samples(x), "fit", lazy=True)
    _check(model, x, y, "fit")
    sw = validate.sample_weight(sample_weight, n_samples(x), "fit", temporal=_temporal(model))
    class_weight = validate.class_weight(class_weight, _units(model))
    if class_weight is not None:
        cw = _class_weight_fn(model, class_weight)(y)
        sw = cw if sw is None else sw * cw
    if validation_data is None and validation_split:
        from .data import split_validation  # noqa: PLC0415

        (x, y, sw), validation_data = split_validation(x, y, sw, validation_split)
    val = _validation(model, validation_data, validation_steps, options, batch_size)
    (x, y, sw), val = device_copies([(x, y, sw), val])  # on the GPU: the training data first, then validation
    return x, y, sw, val, ArrayFeed(x, y, sw, batch_size, steps_per_epoch, options, "fit")


def _check(model, x, y, caller):
    model._ensure_built(x)
    checks.check_input_shape(model, x, caller)
    if y is not None:
        checks.check_targets(model, y, model.loss, caller)


def _units(model):
    shape = model.output_shape
    return shape[-1] if isinstance(shape, tuple) and shape else None


def _class_weight_fn(model, class_weight):
    from .weights import class_weights_to_sample_weights  # noqa: PLC0415

    return lambda yb: class_weights_to_sample_weights(class_weight, yb, model.output_shape[-1])


def _validation(model, validation_data, validation_steps, options, batch_size):
    if is_batch_source(validation_data):
        feed = SourceFeed(validation_data, validation_steps, options, "fit (validation_data)", "validation_steps")
        xb, yb, _ = feed.peek()
        _check(model, xb, yb, "fit (validation_data)")
        feed.check = functools.partial(_check, model)
        return feed, None, None
    if isinstance(validation_data, (tuple, list)) and any(is_memmap(a) for a in validation_data):
        parts = list(validation_data) + [None] * (3 - len(validation_data))
        xv = checks.prepare_inputs(parts[0], "fit (validation_data)", lazy=True)
        yv = checks.prepare_targets(parts[1], n_samples(xv), "fit (validation_data)", lazy=True)
        _check(model, xv, yv, "fit (validation_data)")
        wv = validate.sample_weight(parts[2], n_samples(xv), "fit (validation_data)", "validation sample_weight",
                                    temporal=_temporal(model))
        return xv, yv, wv
    return model._prepare_validation(validation_data)


def _temporal(model):
    """Whether the model was compiled with sample_weight_mode='temporal' (weights per time step)."""
    return getattr(model, "sample_weight_mode", None) == "temporal"


def eval_inputs(model, x, y, sample_weight, batch_size, steps, options, caller, need_y=True):
    """``(x, y, sw)`` for evaluate/predict: prepared arrays, or ``(SourceFeed, None, None)``."""
    if is_batch_source(x):
        if y is not None or sample_weight is not None:
            raise DataError(f"{caller}: when x is a generator or Sequence, it yields the targets: pass y=None.")
        feed = SourceFeed(x, steps, options, caller, "steps", need_y=need_y)
        xb, yb, _ = feed.peek()
        _check(model, xb, yb if need_y else None, caller)
        feed.check = functools.partial(_check, model) if need_y else \
            (lambda xb, yb, where: _check(model, xb, None, where))
        return feed, None, None
    x = checks.prepare_inputs(x, caller, lazy=True)
    if not need_y:
        if not model.built and not model.layers:
            model._require_built(caller)
        _check(model, x, None, caller)
        return device_copies([(x, None, None)])[0]
    y = checks.prepare_targets(y, n_samples(x), caller, lazy=True)
    _check(model, x, y, caller)
    sw = validate.sample_weight(sample_weight, n_samples(x), caller, temporal=_temporal(model))
    return device_copies([(x, y, sw)])[0]  # on the GPU: one copy instead of one per batch


def batches_in_order(x, y, sw, batch_size, options=None, strategy=None, caller="evaluate"):
    """The batches of one evaluation / prediction pass (a context manager that iterates)."""
    if isinstance(x, SourceFeed):
        return x.in_order(strategy)
    return ArrayFeed(x, y, sw, batch_size, None, options, caller).in_order(strategy)


def steps_of(x, batch_size):
    return x.steps if isinstance(x, SourceFeed) else -(-n_samples(x) // batch_size)
