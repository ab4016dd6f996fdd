"""``evaluate`` / ``predict``: the forward pass over batches under ``no_grad`` (no graph kept)."""
from .. import backend
from ..autograd import no_grad, using_config
from ..accel.threads import one_blas_thread
from . import feed, row_blocks, validate
from ..callbacks.base import reads_batch_logs
from ..callbacks.progress import ProgbarLogger
from .data import n_samples


class EvaluateMixin:
    """``Model.evaluate``, ``predict``, ``test_on_batch``, ``predict_on_batch``, ``evaluate_report``."""

    def _evaluate_arrays(self, x, y, sw, batch_size, fused, callback_list=None):
        """Loss and metrics over arrays (or a generator/Sequence ``feed.SourceFeed`` as x): each
        batch's forward pass and loss side by side with others where ``_side_by_side`` allows,
        the sums, metrics and callbacks in batch order."""
        metric_list = self._make_metrics()
        sums = {"total": 0.0, "count": 0.0}
        dist = self._distributed
        per_batch = callback_list is not None and callback_list.reads_batch_logs("on_test_batch_end")

        def begin(step, item):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)

        def compute(item):
            return self._loss_and_output(*item, False, fused)

        def done(step, item, result):
            loss, out = result
            if not per_batch and backend.on_gpu(loss.data):  # summed on the device, read once
                sums["total"] = sums["total"] + loss.data.astype("float64") * len(out)
            else:
                sums["total"] += float(loss.data) * len(out)
            sums["count"] += len(out)
            preds = self._predictions_for_metrics(out.data, fused, metric_list)
            for m in metric_list:
                m.update_state(out.targets, preds, out.step_weights)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, {"loss": sums["total"] / sums["count"],
                                                       **{m.name: m.result() for m in metric_list}}
                                                if per_batch else {})

        hooks = ("on_test_batch_begin", "on_test_batch_end")
        side = 1 if dist is not None or row_blocks.batch_penalties(self) else \
            self._side_by_side(x, batch_size, callback_list, hooks, whole=True)
        with no_grad(), using_config("training", False), \
                feed.batches_in_order(x, y, sw, batch_size, strategy=dist) as batches:
            if side > 1:
                with one_blas_thread():
                    row_blocks.run_side_by_side(batches, side, compute, begin, done)
            else:
                for step, item in enumerate(batches):
                    begin(step, item)
                    if len(item[1]):  # (empty: a shard of a distributed run with no rows here)
                        done(step, item, compute(item))
        total, count = float(sums["total"]), sums["count"]
        if dist is not None:
            total, count = dist.reduce_evaluation(total, count, metric_list)
        return {"loss": total / max(count, 1e-12), **{m.name: m.result() for m in metric_list}}

    def _side_by_side(self, x, batch_size, callback_list, hooks, whole=False):
        """How many batches of ``x`` to run at once (``row_blocks.side_by_side``; 1: in turn): never
        for a generator or Sequence, nor where a callback of the user's has one of ``hooks`` (its
        batch hooks come one batch after the other, as in Keras). ``whole``: never where a batch
        would have to be cut into blocks."""
        if isinstance(x, feed.SourceFeed):
            return 1
        if callback_list is not None and any(not isinstance(cb, ProgbarLogger) and reads_batch_logs(cb, hook)
                                             for cb in callback_list for hook in hooks):
            return 1
        rows = max(1, min(batch_size or 32, n_samples(x)))
        return row_blocks.side_by_side(self, rows, feed.steps_of(x, rows), whole)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, max_queue_size=10, workers=1, use_multiprocessing=False):
        """The loss (and metrics) on (x, y), computed without a graph and in test mode.

        ``x`` may also be a memory-mapped array, a generator of ``(x, y)`` batches (with
        ``steps``) or a ``Sequence``, read batch by batch as in ``fit``.

        Returns ``[loss, metric1, ...]``, or the loss alone when there are no metrics
        (``return_dict=True`` gives a dict).
        """
        self._require_compiled("evaluate")
        batch_size = validate.batch_size(batch_size, "evaluate")
        steps = validate.steps(steps, "steps", "evaluate")
        options = feed.prefetch_options(workers, max_queue_size, use_multiprocessing, "evaluate")
        x, y, sw = feed.eval_inputs(self, x, y, sample_weight, batch_size, steps, options, "evaluate")
        cbs = self._callback_list(callbacks, verbose, {"steps": feed.steps_of(x, batch_size), "verbose": verbose},
                                  mode="test")
        cbs.on_test_begin()
        try:
            values = self._evaluate_arrays(x, y, sw, batch_size, self._fused(), cbs)
        finally:
            if isinstance(x, feed.SourceFeed):
                x.close()
        cbs.on_test_end(values)
        if return_dict:
            return values
        out = list(values.values())
        return out if len(out) > 1 else out[0]

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, max_queue_size=10, workers=1,
                use_multiprocessing=False, return_device_array=False):
        """The network's outputs for x (probabilities for a softmax output), as a NumPy array
        (a CuPy array on the GPU with ``return_device_array=True``, saving the copy to the host).

        ``x`` may be a memory-mapped array, a generator of batches (``x`` or ``(x, ...)``,
        with ``steps``) or a ``Sequence``.
        """
        batch_size = validate.batch_size(batch_size, "predict")
        steps = validate.steps(steps, "steps", "predict")
        options = feed.prefetch_options(workers, max_queue_size, use_multiprocessing, "predict")
        x, _, _ = feed.eval_inputs(self, x, None, None, batch_size, steps, options, "predict", need_y=False)
        cbs = self._callback_list(callbacks, verbose, {"steps": feed.steps_of(x, batch_size or 32),
                                                       "verbose": verbose}, mode="predict")
        cbs.on_predict_begin()
        # Whole batches side by side, one per thread, where the model allows (models.row_blocks)
        # and no callback of the user's watches each batch; else each batch in row blocks over
        # several threads, or in one thread with the BLAS threads (their count picked by the
        # governor) where that is faster.
        side = self._side_by_side(x, batch_size, cbs, ("on_predict_batch_begin", "on_predict_batch_end"))
        if side > 1:
            with no_grad(), using_config("training", False), one_blas_thread(), \
                    feed.batches_in_order(x, None, None, batch_size, options, caller="predict") as batches:
                outs = row_blocks.forward_batches(self, batches, side, cbs)
        else:
            outs = self._predict_batches(x, batch_size, options, cbs)
        if isinstance(x, feed.SourceFeed):
            x.close()
        # Concatenated where the outputs are, then (on a GPU) one copy to the host.
        host = (lambda a: a) if return_device_array else backend.to_numpy  # noqa: E731
        xp = backend.get_array_module(*(outs[0] if outs and isinstance(outs[0], list) else outs))
        if outs and isinstance(outs[0], list):  # a model with several outputs
            result = [host(xp.concatenate(parts, axis=0)) for parts in zip(*outs)]
        else:
            result = host(xp.concatenate(outs, axis=0))
        cbs.on_predict_end()
        return result

    def _predict_batches(self, x, batch_size, options, cbs):
        """The outputs of every batch in turn, each in row blocks or on the governor's BLAS threads."""
        outs = []
        planned = batch_size or 32
        if not isinstance(x, feed.SourceFeed):
            planned = max(1, min(planned, n_samples(x)))
        blocks, workers = row_blocks.plan(self, planned)
        with no_grad(), using_config("training", False), \
                (one_blas_thread() if workers > 1 else self._thread_governor("predict")) as governor, \
                feed.batches_in_order(x, None, None, batch_size, options, caller="predict") as batches:
            for step, (xb, _, _) in enumerate(batches):
                rows = n_samples(xb)
                logs = {"batch": step, "size": rows}
                cbs.on_predict_batch_begin(step, logs)
                if rows != planned:  # the last, shorter batch (or a generator's own sizes)
                    blocks, planned = row_blocks.plan(self, rows)[0], rows
                outs.append(row_blocks.forward(self, xb, blocks, workers))  # arrays, where they are
                governor.tick(rows)
                cbs.on_predict_batch_end(step, {**logs, "outputs": outs[-1]})
        return outs

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=n_samples(x))

    def test_on_batch(self, x, y, sample_weight=None):
        return self.evaluate(x, y, batch_size=n_samples(x), verbose=0, sample_weight=sample_weight)

    def evaluate_report(self, x, y, path=None, class_names=None, batch_size=None, verbose=1, digits=2):
        """Per-class precision / recall / F1 (printed like scikit-learn's report, returned as a
        dict) and, with ``path``, a confusion-matrix PNG. See ``threestep.models.report``."""
        from .report import evaluate_report  # noqa: PLC0415

        return evaluate_report(self, x, y, path, class_names, batch_size, verbose, digits)

    # ------------------------------------------------------------------ files
