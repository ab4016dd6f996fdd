"""Models with several outputs: one loss per output (a list, or a dict by output name),
``loss_weights``, targets given as a list or a dict by output name, and per-output metrics.

    model = Model(x, [digit, parity])           # output layers named "digit" and "parity"
    model.compile("adam", loss={"digit": "sparse_categorical_crossentropy", "parity": "mse"},
                  loss_weights={"digit": 1.0, "parity": 0.2}, metrics={"digit": "accuracy"})
    model.fit(x, {"digit": d, "parity": p})

The training loss is ``sum_i weight_i * mean(loss_i)`` (as Keras). History and
``metrics_names`` carry ``<output>_loss`` for each output and ``<output>_<metric>`` for
each metric, as Keras 2 names them.

The training loop moves one target array per batch: the targets of all outputs are packed
side by side into one float array (``pack``) and split again per output in the loss
(``unpack``); integer labels survive the round trip exactly (below 2**24).
"""
import numpy

from .. import backend, losses as losses_mod, metrics as metrics_mod
from ..autograd import Tensor, no_grad
from ..errors import ConfigError, DataError, ShapeError


def output_names(model):
    return [t.node.layer.name if t.node is not None else t.name for t in model._graph.outputs]


def per_output(model, value, what, default=None):
    """A list with one entry per output from a single value, a list, or a dict by output name."""
    names = output_names(model)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(f"compile: {what} names unknown output(s) {unknown}; the outputs are {names}.")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ConfigError(f"compile: {what} has {len(value)} entries but the model has {len(names)} outputs "
                              f"{names}. Give one per output, or a dict by output name.")
        return list(value)
    return [value] * len(names)


class MultiOutputLoss:
    """``per_sample(outputs, packed_targets)``: the weighted sum over outputs of each output's
    per-sample loss (averaged over any non-batch axes), so its batch mean is Keras's total."""

    name = "loss"
    fuses_with = None
    from_logits = False

    def __init__(self, model, loss, loss_weights):
        self.names = output_names(model)
        self.losses = [losses_mod.get(spec) if spec is not None else None for spec in per_output(model, loss, "loss")]
        weights = per_output(model, loss_weights, "loss_weights", 1.0) if loss_weights is not None else None
        self.weights = [1.0 if w is None else float(w) for w in weights] if weights else [1.0] * len(self.names)
        self.shapes = [tuple(t.shape) for t in model._graph.outputs]

    def target_shape(self, i):
        loss = self.losses[i]
        shape = self.shapes[i][1:]
        if getattr(loss, "name", "") == "sparse_categorical_crossentropy":
            return tuple(shape[:-1])
        return tuple(shape)

    def per_sample(self, outputs, packed):
        total = None
        for i, (loss, weight) in enumerate(zip(self.losses, self.weights)):
            if loss is None:
                continue
            term = _per_sample_mean(loss.per_sample(outputs[i], unpack(packed, self, i)))
            term = term * weight if weight != 1.0 else term
            total = term if total is None else total + term
        return total

    def output_loss_metrics(self):
        """One metric per output reporting that output's (unweighted) loss: ``<output>_loss``."""
        found = []
        for i, loss in enumerate(self.losses):
            if loss is None:
                continue

            def fn(y_true, y_pred, loss=loss, i=i):
                with no_grad():
                    return _per_sample_mean(loss.per_sample(Tensor(y_pred), y_true)).data

            found.append(OutputMetric(metrics_mod.Metric(fn, f"{self.names[i]}_loss"), self, i))
        return found


def _per_sample_mean(t):
    return t if t.ndim <= 1 else t.reshape(len(t), -1).mean(axis=-1)


def pack(model, y, caller):
    """The targets of every output (a list, or a dict by output name) as one float array."""
    loss = model.loss
    names = loss.names
    if isinstance(y, dict):
        missing = [n for n, l in zip(names, loss.losses) if l is not None and n not in y]
        if missing:
            raise DataError(f"{caller}: no targets for output(s) {missing}; y has keys {sorted(y)}.")
        y = [y.get(n) for n in names]
    if not isinstance(y, (list, tuple)) or len(y) != len(names):
        raise DataError(f"{caller}: the model has {len(names)} outputs {names}: pass y as a list of {len(names)} "
                        "arrays or a dict by output name.")
    n = None
    columns = []
    for i, (name, target) in enumerate(zip(names, y)):
        want = loss.target_shape(i)
        if target is None:
            target = numpy.zeros((n or 0,) + tuple(1 if s is None else s for s in want), "float32")
        target = numpy.asarray(backend.to_numpy(target) if backend.is_array(target) else target)
        if n is None:
            n = len(target)
        elif len(target) != n:
            raise DataError(f"{caller}: output {name!r} has {len(target)} target samples but the first output has {n}.")
        got = tuple(target.shape[1:])
        if got == () and want == (1,):
            target = target.reshape(-1, 1)
            got = (1,)
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            raise ShapeError(f"{caller}: the targets of output {name!r} have shape {tuple(target.shape)} but the "
                             f"output (with its loss) needs {(None,) + want}.")
        columns.append(target.reshape(n, -1).astype(backend.floatx()))
    loss.packed_shapes = [tuple(c.shape[1:]) for c in columns]
    loss.target_shapes = [tuple(t.shape[1:]) if hasattr(t, "shape") else () for t in
                          [numpy.asarray(c) for c in y]]
    return numpy.concatenate(columns, axis=1)


def unpack(packed, loss, i):
    """Output ``i``'s targets from a packed batch, in their own shape (labels as integers)."""
    widths = [s[0] for s in loss.packed_shapes]
    start = sum(widths[:i])
    part = packed[:, start:start + widths[i]]
    part = part.reshape((len(packed),) + loss.target_shapes[i])
    if getattr(loss.losses[i], "name", "") == "sparse_categorical_crossentropy":
        part = part.astype("int64")
    return part


class OutputMetric:
    """A metric of one output of a multi-output model: unpacks that output's targets."""

    argmax_invariant = False

    def __init__(self, metric, loss, index):
        self.metric, self.loss, self.index = metric, loss, index
        self.name = metric.name

    def reset_state(self):
        self.metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.metric.update_state(unpack(y_true, self.loss, self.index), y_pred[self.index], sample_weight)

    def result(self):
        return self.metric.result()


def make_metrics(model, specs):
    """``<output>_loss`` for each output, then each requested metric per output."""
    loss = model.loss
    found = loss.output_loss_metrics()
    if isinstance(specs, dict):
        per = [specs.get(n) or [] for n in loss.names]
    else:
        per = [specs] * len(loss.names)
    for i, specs_i in enumerate(per):
        specs_i = [specs_i] if isinstance(specs_i, str) or callable(specs_i) else list(specs_i)
        for spec in specs_i:
            units = loss.shapes[i][-1]
            metric = metrics_mod.get(spec, getattr(loss.losses[i], "name", None), units)
            metric.name = f"{loss.names[i]}_{metric.name}"
            found.append(OutputMetric(metric, loss, i))
    return found


class ScaledLoss:
    """A single output's loss times its ``loss_weights`` factor."""

    fuses_with = None
    from_logits = False

    def __init__(self, loss, weight):
        self.inner, self.weight = loss, weight
        self.name = loss.name

    def per_sample(self, y_pred, y_true):
        return self.inner.per_sample(y_pred, y_true) * self.weight

    def __call__(self, y_true, y_pred):
        return self.inner(y_true, y_pred) * self.weight


class Outputs:
    """The outputs of one batch of a multi-output model, as the training loop reads them."""

    def __init__(self, outs, targets, weights):
        self.outs, self.targets, self.step_weights = outs, targets, weights
        self.data = [o.data for o in outs]

    def __len__(self):
        return len(self.outs[0])


def loss_and_outputs(model, out, yb, wb):
    """The total loss of one batch of a multi-output model, and its ``Outputs``."""
    yb = backend.on_device(yb)
    wb = None if wb is None else backend.on_device(wb)
    per_sample = model.loss.per_sample(out, yb)
    weights = None
    if wb is not None:
        weights = wb.reshape(-1) if wb.ndim > 1 and wb.shape[1] == 1 else wb
        if weights.ndim > 1:
            raise DataError("fit: a model with several outputs takes one sample weight per sample (shape (samples,)).")
        loss = (per_sample * weights).sum() / per_sample.dtype.type(per_sample.size)
    else:
        loss = per_sample.mean()
    return model._plus_penalty(loss), Outputs(out, yb, weights)
