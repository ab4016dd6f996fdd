"""``GradientMonitor``: per-layer gradient and activation statistics while training.

The lecture's picture of vanishing gradients: in a deep sigmoid network the layers near
the input get tiny gradients (each sigmoid's derivative is at most 1/4, and saturated
units pass almost nothing back), so they learn slowly while the layers near the output
have already converged; a ReLU network does not show this. Every ``every`` training
batches the monitor measures, per layer:

- ``grad_norm/<layer>``: L2 norm of the gradient of the layer's trainable weights;
- ``weight_norm/<layer>``: L2 norm of those weights after the step;
- ``update_ratio/<layer>``: norm of the step the optimizer took / weight norm
  (a healthy value is around 1e-3; 1e-6 learns nothing, 1e-1 jumps around);
- ``dead_relu/<layer>``: % of ReLU units whose output is 0 for every sample of the batch;
- ``saturated/<layer>``: % of sigmoid (< 0.01 or > 0.99) or tanh (|y| > 0.99) outputs.

Each epoch's averages over the sampled batches become History columns (added to the epoch
``logs``, so callbacks after the monitor, the History included, see them); every sampled
batch is kept in ``records``. The training hot path is untouched on other batches: the
activations are read by wrapping the layers' ``call`` only for the sampled batch.
"""
import math

from ..errors import ConfigError
from .base import Callback

STATS = ("grad_norm", "weight_norm", "update_ratio", "dead_relu", "saturated")
_RELU = {"relu", "relu6"}
_SIGMOID = {"sigmoid", "hard_sigmoid"}
_TANH = {"tanh"}


def _activation_name(layer):
    """'relu', 'sigmoid', 'tanh', ... for a layer that applies one, else None."""
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "relu" if type(layer).__name__ == "ReLU" else None
    from ..layers import activations  # noqa: PLC0415

    return activations.name_of(fn)


def _norm(arrays):
    return math.sqrt(sum(float((a * a).sum()) for a in arrays))


def activation_stats(name, y):
    """(``dead_relu`` %, ``saturated`` %) of one layer's output array ``y`` (batch first).

    A ReLU unit (one element of a sample's output) is dead when it is 0 for every sample
    of the batch; a sigmoid/tanh output is saturated when it sits on the flat part of the
    curve, where its derivative is below about 0.01.
    """
    if name in _RELU:
        return float((y <= 0).all(axis=0).mean()) * 100.0, None
    if name in _SIGMOID:
        return None, float(((y < 0.01) | (y > 0.99)).mean()) * 100.0
    if name in _TANH:
        return None, float((abs(y) > 0.99).mean()) * 100.0
    return None, None


class GradientMonitor(Callback):
    """Measure per-layer gradient norms, update ratios and dead/saturated units.

    Args:
        every: measure on every ``every``-th training batch of each epoch (batch 0 always).
        layers: names of the layers to watch (default: every layer with trainable weights
            or a relu/sigmoid/tanh activation).
        plot_path: if given, ``plot`` writes the curves there at the end of training.

    Attributes:
        records: one dict per sampled batch: ``{'epoch', 'batch', 'grad_norm/dense_1', ...}``.
        epochs: one dict per epoch: the averaged columns also written into the epoch logs.

    Example:
        >>> monitor = GradientMonitor(every=10)
        >>> history = model.fit(x, y, epochs=5, callbacks=[monitor])
        >>> history.history["grad_norm/dense_1"]   # one value per epoch
        >>> monitor.plot("gradients.png")
    """

    needs_gradients = True  # reads .grad after each monitored batch
    reads_batch_logs = False  # the loss only, which fit always passes

    def __init__(self, every=10, layers=None, plot_path=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"GradientMonitor: every must be a positive number of batches. Received: every={every!r}.")
        self.every = every
        self.layer_names = None if layers is None else list(layers)
        self.plot_path = plot_path
        self.records = []
        self.epochs = []
        self._layers = []
        self._sums = {}
        self._counts = {}
        self._epoch = 0
        self._before = None
        self._patched = []
        self._activity = {}

    # ------------------------------------------------------------------ setup
    def _watched(self):
        layers = list(self.model.layers)
        if self.layer_names is not None:
            names = [layer.name for layer in layers]
            unknown = [n for n in self.layer_names if n not in names]
            if unknown:
                raise ConfigError(f"GradientMonitor: no layer named {unknown}. Layers: {names}.")
            return [layer for layer in layers if layer.name in self.layer_names]
        return [layer for layer in layers
                if layer.trainable_weights or _activation_name(layer) in _RELU | _SIGMOID | _TANH]

    def on_train_begin(self, logs=None):
        self.records = []
        self.epochs = []
        self._layers = self._watched()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._sums, self._counts = {}, {}

    # ------------------------------------------------------------------ a sampled batch
    def _sampled(self, batch):
        return batch % self.every == 0

    def on_train_batch_begin(self, batch, logs=None):
        if not self._sampled(batch):
            return
        self._before = {layer.name: [w.data.copy() for w in layer.trainable_weights] for layer in self._layers}
        self._activity = {}
        for layer in self._layers:
            name = _activation_name(layer)
            if name in _RELU | _SIGMOID | _TANH:
                self._wrap(layer, name)

    def _wrap(self, layer, act):
        original = layer.call
        had_own = "call" in layer.__dict__
        activity = self._activity

        def call(x, training=None, **kwargs):
            out = original(x, training=training, **kwargs)
            data = getattr(out, "data", None)
            if data is not None:
                activity[layer.name] = activation_stats(act, data)
            return out

        layer.call = call
        self._patched.append((layer, original if had_own else None))

    def _unwrap(self):
        for layer, original in self._patched:
            if original is None:
                layer.__dict__.pop("call", None)
            else:
                layer.call = original
        self._patched = []

    def on_train_batch_end(self, batch, logs=None):
        if not self._patched and self._before is None:
            return
        self._unwrap()
        before, self._before = self._before, None
        loss = (logs or {}).get("loss")
        if before is None or (loss is not None and not math.isfinite(loss)):
            return  # a skipped (non-finite) step has no fresh gradients
        record = {"epoch": self._epoch, "batch": batch}
        for layer in self._layers:
            weights = layer.trainable_weights
            if weights:
                grads = [w.grad for w in weights if w.grad is not None]
                after = [w.data for w in weights]
                w_norm = _norm(after)
                step = _norm([a - b for a, b in zip(after, before[layer.name])])
                if grads:
                    record[f"grad_norm/{layer.name}"] = _norm(grads)
                record[f"weight_norm/{layer.name}"] = w_norm
                record[f"update_ratio/{layer.name}"] = step / w_norm if w_norm > 0 else float("nan")
            dead, saturated = self._activity.get(layer.name, (None, None))
            if dead is not None:
                record[f"dead_relu/{layer.name}"] = dead
            if saturated is not None:
                record[f"saturated/{layer.name}"] = saturated
        self.records.append(record)
        for key, value in record.items():
            if "/" in key:
                self._sums[key] = self._sums.get(key, 0.0) + value
                self._counts[key] = self._counts.get(key, 0) + 1

    def on_epoch_end(self, epoch, logs=None):
        self._unwrap()  # in case training stopped mid-batch
        averages = {key: self._sums[key] / self._counts[key] for key in self._sums}
        self.epochs.append({"epoch": epoch, **averages})
        if logs is not None:
            logs.update(averages)

    def on_train_end(self, logs=None):
        self._unwrap()
        if self.plot_path and self.epochs:
            self.plot(self.plot_path)

    # ------------------------------------------------------------------ results
    def layer_stats(self, stat="grad_norm"):
        """``{layer name: [per-epoch value, ...]}`` for one of ``STATS``."""
        if stat not in STATS:
            raise ConfigError(f"GradientMonitor.layer_stats: stat must be one of {STATS}. Received: stat={stat!r}.")
        out = {}
        for row in self.epochs:
            for key, value in row.items():
                if key.startswith(stat + "/"):
                    out.setdefault(key.split("/", 1)[1], []).append(value)
        return out

    def plot(self, path, stat="grad_norm"):
        """Plot one statistic per layer over epochs (log scale for norms and ratios)."""
        keys = list(dict.fromkeys(key for row in self.epochs for key in row if "/" in key))  # layer order
        columns = {key: [row.get(key, float("nan")) for row in self.epochs] for key in keys}
        return plot_layer_stats(stats_from_history(columns, [row["epoch"] for row in self.epochs]), path, stat)


def stats_from_history(history, epochs=None):
    """Split History columns ``'grad_norm/dense_1'`` into ``{stat: {layer: (epochs, values)}}``."""
    out = {}
    for key, values in history.items():
        if "/" not in key:
            continue
        stat, layer = key.split("/", 1)
        xs = list(epochs) if epochs is not None else list(range(len(values)))
        xs = [e + 1 for e in xs]  # epochs are numbered from 1 in plots, 0 being the baseline
        out.setdefault(stat, {})[layer] = (xs[-len(values):], list(values))
    return out


def plot_layer_stats(stats, path, stat="grad_norm"):
    """Write one statistic (``grad_norm``, ``update_ratio``, ...) per layer over epochs."""
    from ..utils.plotting import plot_lines  # noqa: PLC0415

    if stat not in stats:
        raise ConfigError(f"No {stat!r} statistics to plot. Available: {sorted(stats)}.")
    log = stat in ("grad_norm", "weight_norm", "update_ratio")
    labels = {"grad_norm": "gradient norm", "weight_norm": "weight norm", "update_ratio": "|update| / |weight|",
              "dead_relu": "% dead ReLU units", "saturated": "% saturated outputs"}
    return plot_lines(stats[stat], path, "epoch", labels.get(stat, stat), title=f"{labels.get(stat, stat)} per layer",
                      logy=log)
