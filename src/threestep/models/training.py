"""``Model``: compile / fit / evaluate / predict — the lecture's three steps as four calls.

This module holds the model's structure, weights, compile and one training step; ``fit``
lives in ``models.fitting`` and ``evaluate`` / ``predict`` in ``models.inference``.
"""
import math

from .. import backend, losses, metrics as metrics_mod, optimizers
from ..autograd import Tensor, no_grad
from ..errors import ConfigError, NotBuiltError, NotCompiledError
from . import checks
from .data import n_samples, to_tensors
from .fitting import FitMixin
from .inference import EvaluateMixin


class Model(FitMixin, EvaluateMixin):
    """A network with training, evaluation, prediction and weights.

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors (see
    ``threestep.models.functional``); ``Sequential`` is the subclass for a stack of layers.
    Subclasses provide ``layers``, ``build(input_shape)``, ``input_shape``,
    ``output_shape`` and ``forward(x, training, logits=False)``.

    Example:
        >>> x = Input((784,))
        >>> y = Dense(10, activation="softmax")(Dense(500, activation="relu")(x))
        >>> model = Model(x, y)
    """

    _distributed = None  # a distributed strategy, set by fit(distributed=...) while it trains
    _numerics = None  # a NumericsDebugger, set by fit(debug_numerics=True) while it trains

    def __init__(self, inputs=None, outputs=None, name=None):
        self.name = name
        self._graph = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ConfigError("Model(inputs, outputs) needs both: the Input tensors and the output tensors.")
            from ..layers.base import unique_name  # noqa: PLC0415
            from .functional import GraphNetwork  # noqa: PLC0415

            self._graph = GraphNetwork(inputs, outputs)
            self.name = name or unique_name("model")
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_specs = []

    # ------------------------------------------------------------------ functional graph
    @property
    def layers(self):
        if self._graph is None:
            raise ConfigError("This Model has no layers: build it as Model(inputs, outputs) or use Sequential.")
        return self._graph.layers

    @property
    def built(self):
        return self._graph is not None

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._graph.inputs]
        return shapes if len(shapes) > 1 else shapes[0]

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._graph.outputs]
        return shapes if len(shapes) > 1 else shapes[0]

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    def build(self, input_shape=None):
        """A functional model is built when it is created."""

    def forward(self, x, training=False, logits=False):
        return self._graph.run(x, training, logits)

    def _output_layer(self):
        """The layer that produces the (single) output, for loss fusion and checks."""
        if self._graph is None:
            return self.layers[-1] if self.layers else None
        if len(self._graph.outputs) != 1 or self._graph.outputs[0].node is None:
            return None
        return self._graph.outputs[0].node.layer

    def summary(self, line_length=65, print_fn=None):
        """Print layers, output shapes and parameter counts (Keras's table)."""
        from .summary import print_summary  # noqa: PLC0415

        self._require_built("summary")
        print_summary(self, line_length, print_fn)

    def get_config(self):
        return self._graph.get_config(self.name)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .functional import GraphNetwork  # noqa: PLC0415

        inputs, outputs = GraphNetwork.from_config(config, custom_objects)
        return cls(inputs, outputs if len(outputs) > 1 else outputs[0], name=config.get("name"))

    # ------------------------------------------------------------------ weights
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        """All weights as NumPy arrays, layer by layer in Keras order."""
        return [a for layer in self.layers for a in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            from ..errors import ShapeError  # noqa: PLC0415

            raise ShapeError(f"Model {self.name!r} has {expected} weight arrays; set_weights received {len(weights)}.")
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def to(self, device):
        """Move the weights and optimizer state to ``device`` ("cpu" or "gpu"); see ``models.device``."""
        from .device import move_model  # noqa: PLC0415

        return move_model(self, device)

    @property
    def device(self):
        """'gpu' when the weights are CuPy arrays, else 'cpu'."""
        from .device import model_device  # noqa: PLC0415

        return model_device(self)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"No layer named {name!r}. Layers: {[layer.name for layer in self.layers]}.")

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        """Step 2 and the configuration of step 3: the loss, the optimizer, the metrics.

        Args:
            optimizer: name ('sgd', 'adam', ...) or an Optimizer object.
            loss: name ('mse', 'categorical_crossentropy', ...), a Loss, or fn(y_true, y_pred).
            metrics: list of names ('accuracy') or functions, reported but not optimised.
        """
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s): {sorted(kwargs)}.")
        if loss is None:
            raise ConfigError("compile: loss= is required, e.g. loss='categorical_crossentropy' or loss='mse'.")
        self.loss = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        if metrics is not None and (isinstance(metrics, str) or not hasattr(metrics, "__iter__")):
            metrics = [metrics]
        self._metric_specs = list(metrics or [])
        for spec in self._metric_specs:  # fail now on unknown names, not mid-fit
            metrics_mod.get(spec)
        self.compiled = True
        if self.built:
            checks.check_loss_activation(self, self.loss)

    def _require_compiled(self, caller):
        if not self.compiled:
            raise NotCompiledError(
                f"{caller}: the model must be compiled first: model.compile(loss=..., optimizer=..., "
                "metrics=['accuracy']).")

    def _require_built(self, caller):
        if not self.built:
            raise NotBuiltError(
                f"{caller}: model {self.name!r} does not know its input shape yet. Give the first layer "
                "input_shape= (or input_dim=), add an Input layer, or call fit/build first.")

    def _make_metrics(self):
        units = self.output_shape[-1] if self.output_shape is not None else None
        return [metrics_mod.get(spec, self.loss.name, units) for spec in self._metric_specs]

    def _ensure_built(self, x):
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]) if not isinstance(x, list) else [(None,) + a.shape[1:] for a in x])
            if self.compiled:
                checks.check_loss_activation(self, self.loss)

    # ------------------------------------------------------------------ one step
    def _thread_governor(self, loop):
        """The BLAS thread governor of this model's ``loop`` ("train" or "predict"), kept across
        calls so that each epoch's fit goes on with the thread count found fastest; on a GPU
        (no host GEMMs to time) one that does nothing."""
        from ..accel.threads import Governor  # noqa: PLC0415

        governors = self.__dict__.setdefault("_governors", {})
        if loop not in governors:
            governors[loop] = Governor()
        if self.built and self.device != "cpu":
            return Governor(limit=1)
        return governors[loop]

    def _fused(self):
        """Whether the loss can take the last layer's logits (softmax/sigmoid + cross-entropy)."""
        last = self._output_layer()
        return (self.loss.fuses_with is not None and not getattr(self.loss, "from_logits", False)
                and getattr(last, "output_activation", None) == self.loss.fuses_with
                and hasattr(last, "call_logits"))

    def _penalty(self):
        """The weight-regularization terms (L1/L2) to add to the loss."""
        total = None
        for layer in self.layers:
            for w in layer.weights:
                reg = getattr(w, "regularizer", None)
                if reg is not None:
                    total = reg(w) if total is None else total + reg(w)
            for extra in getattr(layer, "losses", ()):
                total = extra if total is None else total + extra
        return total

    def _loss_and_output(self, xb, yb, wb, training, fused):
        """The total loss of one batch (data term plus penalties) and the network's output.

        A sequence output that carries a mask (Embedding(mask_zero=True), Masking) is
        averaged over its real steps only, as Keras does.
        """
        out = self.forward(to_tensors(xb), training=training, logits=fused)
        yb = out.targets = backend.on_device(yb)  # labels live on the host until their batch is used
        wb = None if wb is None else backend.on_device(wb)
        weights = None
        if fused and wb is None and getattr(out, "mask", None) is None:  # the plain mean, in one node
            loss = self.loss.mean_from_logits(out, yb)
        else:
            per_sample = self.loss.per_sample_from_logits(out, yb) if fused else self.loss.per_sample(out, yb)
            weights = self._step_weights(out, per_sample, wb)
            loss = per_sample.mean() if weights is None else self._weighted_mean(out, per_sample, weights)
        penalty = self._penalty()  # after forward: activity penalties belong to this batch
        out.step_weights = weights
        return (loss if penalty is None else loss + penalty), out

    @staticmethod
    def _weighted_mean(out, per_sample, weights):
        """Weighted losses over the real (unmasked) weight, or over the batch without a mask."""
        total = (per_sample * weights).sum()
        if getattr(out, "mask", None) is not None:  # the real weight stays where it is (no device read)
            xp = backend.get_array_module(weights)
            return total / xp.maximum(weights.sum(), per_sample.dtype.type(1e-12)).astype(per_sample.dtype)
        return total / per_sample.dtype.type(per_sample.size)

    @staticmethod
    def _step_weights(out, per_sample, wb):
        """Sample weights (batch,) times the output's mask (batch, time), as one array."""
        mask = getattr(out, "mask", None)
        if mask is not None and per_sample.ndim >= 2 and tuple(per_sample.shape[:2]) == tuple(mask.shape):
            weights = mask.astype(per_sample.dtype)
            if wb is not None:
                weights = weights * wb.reshape((-1,) + (1,) * (weights.ndim - 1))
            return weights
        if wb is None:
            return None
        return wb.reshape((-1,) + (1,) * (per_sample.ndim - 1)) if per_sample.ndim > 1 else wb

    def _predictions_for_metrics(self, out, fused, metric_list):
        """Probabilities for metrics; logits suffice for argmax-based ones."""
        if not fused or all(m.argmax_invariant for m in metric_list):
            return out
        from .. import ops  # noqa: PLC0415

        with no_grad():
            act = ops.softmax if self.loss.fuses_with == "softmax" else ops.sigmoid
            return act(Tensor(out)).data

    def train_on_batch(self, x, y, sample_weight=None):
        """One gradient-descent step on one batch; returns the loss (and metrics). Every
        weight's gradient stays readable in ``.grad`` afterwards."""
        self._require_compiled("train_on_batch")
        x = checks.prepare_inputs(x, "train_on_batch")
        y = checks.prepare_targets(y, n_samples(x), "train_on_batch")
        self._ensure_built(x)
        metric_list = self._make_metrics()
        logs = self.train_step(x, y, None if sample_weight is None else backend.asarray(sample_weight, x.dtype),
                               metrics=metric_list)
        values = [logs["loss"]] + [m.result() for m in metric_list]
        return values if metric_list else values[0]

    def train_step(self, x, y, sample_weight=None, metrics=(), keep_gradients=True):
        """One step of gradient descent on one batch: forward, loss, then ``optimizer.minimize``
        (backward and the update). ``fit`` runs it for every batch, ``train_on_batch`` for its
        one, and a data-parallel ``fit`` the same, with the strategy's all-reduce as the
        optimizer's hook.

        Args:
            x, y, sample_weight: one batch (NumPy or device arrays), as ``fit`` feeds them.
            metrics: metric objects to update with this batch's predictions.
            keep_gradients: leave each weight's gradient in ``.grad``. ``fit`` passes False
                (unless a callback reads gradients), so the optimizer may update each weight as
                its gradient arrives, inside the weight's GEMM where it can.

        Returns:
            ``{"loss": value}``; with a distributed strategy also ``"size"``, the samples of
            all ranks. Where the loss is not finite the weights are left as they were.

        Example:
            >>> logs = model.train_step(x[:32], y[:32])
        """
        if not self.compiled:
            self._require_compiled("train_step")
        dist, debug = self._distributed, self._numerics
        fused = self._fused()
        if debug is not None:
            debug.start()
        loss = out = None
        if dist is None or len(y):  # a rank whose shard has no batch still joins the all-reduce
            loss, out = self._loss_and_output(x, y, sample_weight, True, fused)
        hook = None
        if dist is not None:
            hook = dist.gradient_hook(len(y), self.optimizer)
        elif debug is not None:
            hook = debug.gradient_hook
        value = self.optimizer.minimize(loss, self.trainable_weights, hook=hook, retain_grad=debug is not None,
                                        keep_gradients=keep_gradients or debug is not None)
        logs = {"loss": value}
        if dist is not None:
            logs["size"] = dist.last_size
        if out is not None and math.isfinite(value):
            preds = self._predictions_for_metrics(out.data, fused, metrics)
            for m in metrics:
                m.update_state(out.targets, preds, out.step_weights)
        return logs

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Save architecture, weights, compile settings and optimizer state to one file.

        The file is a zip of ``config.json`` and safetensors weights; see ``threestep.saving``.
        """
        from ..saving import save_model  # noqa: PLC0415

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Save only the weights (a safetensors file)."""
        from ..saving import save_weights  # noqa: PLC0415

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or from a full model file)."""
        from ..saving import load_weights  # noqa: PLC0415

        load_weights(self, filepath)

    def compile_config(self):
        """The compile settings as JSON-able data (for saving)."""
        if not self.compiled:
            return None
        from .. import losses as losses_mod  # noqa: PLC0415

        loss = self.loss.name if type(self.loss) in losses_mod.BUILTIN else None
        return {
            "loss": loss,
            "loss_config": {"from_logits": getattr(self.loss, "from_logits", False)},
            "optimizer": optimizers.serialize(self.optimizer),
            "metrics": [m if isinstance(m, str) else getattr(m, "__name__", None) for m in self._metric_specs],
        }

    def __call__(self, x, training=None):
        """Run the forward pass on a Tensor (records a graph, for custom training loops)."""
        if isinstance(x, (list, tuple)):
            x = [t if isinstance(t, Tensor) else Tensor(backend.asarray(t)) for t in x]
            shapes = [(None,) + tuple(t.shape[1:]) for t in x]
        else:
            if not isinstance(x, Tensor):
                x = Tensor(backend.asarray(x))
            shapes = (None,) + tuple(x.shape[1:])
        if not self.built:
            self.build(shapes)
        return self.forward(x, training=bool(training))
