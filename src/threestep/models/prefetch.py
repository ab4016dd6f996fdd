"""Background prefetch: the next mini-batches are prepared while the current one trains.

Reading a batch from disk or building it in Python is step 0 of every gradient step; a
thread (``workers=1``, Keras's default) overlaps it with the step itself. NumPy and file
reads release the GIL, so a thread is enough for memory-mapped arrays and most
``Sequence`` objects; ``use_multiprocessing=True`` runs a ``Sequence`` in worker processes
for pure-Python batch code.

Two shapes of producer:

* ``OrderedPrefetch`` — batches addressed by index (arrays, memory maps, ``Sequence``):
  ``workers`` threads (or processes) compute up to ``max_queue_size`` batches ahead and
  they are delivered in order.
* ``StreamPrefetch`` — a Python generator, which only one thread may advance: it is pulled
  into a bounded queue.

Both never hang: an exception in the producer reaches the consumer with its original
type and traceback (and a note saying which batch), and ``close()`` stops the workers when
``fit`` ends early (``EarlyStopping``, ``KeyboardInterrupt``, an error).
"""
import concurrent.futures
import queue
import threading

_POLL_S = 0.1  # how often a blocked producer checks whether it should stop
_WORKER_FN = None  # in a worker process: the batch function, sent once (not once per batch)


def _init_worker(fn):
    global _WORKER_FN  # noqa: PLW0603
    _WORKER_FN = fn


def _call_worker(task):
    return _WORKER_FN(task)


def _noted(exc, where):
    """The producer's own exception, annotated with where it was raised (keeps its traceback)."""
    note = f"(raised in threestep's prefetch worker while preparing {where})"
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)
    return exc


class OrderedPrefetch:
    """Compute ``fn(task)`` for each task in ``tasks`` ahead of time; yield results in order.

    Args:
        fn: builds one batch from a task (an index array or a batch number).
        tasks: the tasks of this pass (e.g. one epoch), in the order to deliver them.
        workers: threads (or processes) working at once; ``0`` runs ``fn`` in the caller.
        max_queue_size: at most this many batches are prepared ahead of the consumer.
        use_multiprocessing: use processes instead of threads (``fn`` must be picklable).
    """

    def __init__(self, fn, tasks, workers=1, max_queue_size=10, use_multiprocessing=False):
        self.fn, self.tasks = fn, list(tasks)
        self.workers, self.ahead = int(workers), max(1, int(max_queue_size))
        self.use_multiprocessing = use_multiprocessing
        self._pool = None

    def __iter__(self):
        if self.workers <= 0:
            for task in self.tasks:
                yield self.fn(task)
            return
        if self.use_multiprocessing:
            self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, initializer=_init_worker,
                                                                initargs=(self.fn,))
            fn = _call_worker
        else:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="threestep-prefetch")
            fn = self.fn
        pending = []
        try:
            nxt = 0
            for i in range(len(self.tasks)):
                while nxt < len(self.tasks) and len(pending) < self.ahead:
                    pending.append(self._pool.submit(fn, self.tasks[nxt]))
                    nxt += 1
                future = pending.pop(0)
                try:
                    result = future.result()
                except BaseException as exc:
                    raise _noted(exc, f"batch {i}") from exc.__cause__
                yield result
        finally:
            for future in pending:
                future.cancel()
            self.close()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StreamPrefetch:
    """Pull a generator in one background thread into a queue of ``max_queue_size`` items.

    ``next()`` returns the next item or raises ``StopIteration`` when the generator is
    exhausted; the generator's own exception is re-raised in the caller. ``workers=0``
    pulls in the caller's thread. The thread lives until ``close()`` (across epochs, as
    Keras keeps a generator running between epochs).
    """

    _DONE = object()

    def __init__(self, iterator, workers=1, max_queue_size=10):
        self.iterator = iterator
        self.threaded = int(workers) > 0
        self.count = 0
        if self.threaded:
            self._queue = queue.Queue(max(1, int(max_queue_size)))
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._produce, name="threestep-prefetch", daemon=True)
            self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self):
        try:
            for item in self.iterator:
                if not self._put(("ok", item)):
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, never swallowed)
            self._put(("error", exc))
            return
        self._put(("done", None))

    def __iter__(self):
        return self

    def __next__(self):
        if not self.threaded:
            try:
                item = next(self.iterator)
            except StopIteration:
                raise
            except BaseException as exc:
                raise _noted(exc, f"item {self.count}") from exc.__cause__
            self.count += 1
            return item
        while True:
            try:
                kind, item = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise StopIteration from None
        if kind == "done":
            self._queue.put((kind, item))  # later calls see the end too
            raise StopIteration
        if kind == "error":
            self._queue.put((kind, item))
            raise _noted(item, f"item {self.count}") from item.__cause__
        self.count += 1
        return item

    def close(self):
        """Stop the producer thread (it finishes the item it is building, then exits)."""
        if not self.threaded:
            return
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
