"""``Model``: compile / fit / evaluate / predict — the lecture's three steps as four calls.

This module holds the model's structure, weights, compile and one training step; ``fit``
lives in ``models.fitting`` and ``evaluate`` / ``predict`` in ``models.inference``.
"""
import json
import math

from .. import backend, losses, metrics as metrics_mod, optimizers
from ..autograd import Tensor, no_grad
from ..errors import ConfigError, NotBuiltError, NotCompiledError, NotSupportedError
from . import checks, subclassed, train_plan, validate
from .data import n_samples, to_tensors
from .fitting import FitMixin
from .inference import EvaluateMixin
from .compile_options import WeightedSpec, flat_specs, single_value, weighted_spec
from .keras_api import KerasMethodsMixin, NoTargetLoss


class Model(KerasMethodsMixin, FitMixin, EvaluateMixin):
    """A network with training, evaluation, prediction and weights.

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors (see
    ``threestep.models.functional``); ``Sequential`` is the subclass for a stack of layers; a
    user's subclass with its layers as attributes and a ``call(self, x)`` method is a model too
    (``threestep.models.subclassed``).
    Subclasses provide ``layers``, ``build(input_shape)``, ``input_shape``,
    ``output_shape`` and ``forward(x, training, logits=False)``.

    Example:
        >>> x = Input((784,))
        >>> y = Dense(10, activation="softmax")(Dense(500, activation="relu")(x))
        >>> model = Model(x, y)
    """

    _distributed = None  # a distributed strategy, set by fit(distributed=...) while it trains
    _numerics = None  # a NumericsDebugger, set by fit(debug_numerics=True) while it trains

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__ and "__setattr__" not in cls.__dict__:  # a subclassed model (models.subclassed)
            cls.__setattr__ = subclassed.track_setattr

    def _subclassed(self):
        """Whether this is a model written as a subclass with ``call`` (``models.subclassed``)."""
        return self.__dict__.get("_graph") is None and callable(getattr(type(self), "call", None))

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
        elif callable(getattr(type(self), "call", None)):
            from ..layers.base import _snake_case, unique_name  # noqa: PLC0415

            self.name = name or unique_name(_snake_case(type(self).__name__))
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_specs = []

    # ------------------------------------------------------------------ functional graph
    @property
    def layers(self):
        if self._subclassed():
            return subclassed.layers_of(self)
        if self._graph is None:
            raise ConfigError("This Model has no layers: build it as Model(inputs, outputs), use Sequential, or "
                              "subclass Model with the layers as attributes and a call(self, x) method.")
        return self._graph.layers

    @property
    def built(self):
        if self._subclassed():
            return subclassed.shapes(self)[0] is not None
        return self._graph is not None

    @property
    def input_shape(self):
        if self._subclassed():
            return subclassed.shapes(self)[0]
        shapes = [t.shape for t in self._graph.inputs]
        return shapes if len(shapes) > 1 else shapes[0]

    @property
    def output_shape(self):
        if self._subclassed():
            return subclassed.shapes(self)[1]
        shapes = [t.shape for t in self._graph.outputs]
        return shapes if len(shapes) > 1 else shapes[0]

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    def build(self, input_shape=None):
        """A functional model is built when it is created; a subclassed one runs ``call`` once on
        zeros of ``input_shape`` (batch axis included) to build its layers."""
        if self._subclassed() and input_shape is not None:
            subclassed.build(self, input_shape)

    def forward(self, x, training=False, logits=False):
        if self._subclassed():  # call as written: its logits are not separable (logits stays False)
            return subclassed.forward(self, x, training)
        return self._graph.run(x, training, logits)

    def __call__(self, x, training=None):
        """A subclassed model called on data, as in tf.keras: ``model(x)`` returns its output."""
        if not self._subclassed():
            raise NotSupportedError(f"Model {self.name!r}: call a Sequential or functional model through "
                                    "predict(x) or as a layer of another model.")
        x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x))
        self._ensure_built(x.data)
        return self.forward(x, training=bool(training))

    def _output_layer(self):
        """The layer that produces the (single) output, for loss fusion and checks."""
        if self._subclassed():
            return None
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
        if self._subclassed():
            raise subclassed.no_config(self)
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

    def reset_states(self):
        """Forget the states that stateful recurrent layers carry from batch to batch (Keras's
        ``model.reset_states()``, e.g. between independent sequences or at each epoch's start)."""
        for layer in self.layers:
            inner = [getattr(layer, a, None) for a in ("layer", "forward_layer", "backward_layer")]  # wrappers
            for each in [layer] + [w for w in inner if w is not None]:
                if getattr(each, "stateful", False) and hasattr(each, "reset_states"):
                    each.reset_states()

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"No layer named {name!r}. Layers: {[layer.name for layer in self.layers]}.")

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None, **kwargs):
        """Step 2 and the configuration of step 3: the loss, the optimizer, the metrics.

        Args:
            optimizer: name ('sgd', 'adam', ...) or an Optimizer object.
            loss: name ('mse', 'categorical_crossentropy', ...), a Loss, or fn(y_true, y_pred);
                for several outputs a list, or a dict by output name (see ``models.multi_output``);
                None when the loss comes from ``add_loss`` alone.
            metrics: list of names ('accuracy') or functions, reported but not optimised (a dict by
                output name for several outputs).
            loss_weights: one factor per output (list or dict): the loss is their weighted sum.
            sample_weight_mode: None (one weight per sample) or 'temporal' (one per time step,
                ``sample_weight`` shaped (samples, steps)).
            weighted_metrics: metrics that use the sample weights (named ``weighted_<name>``
                where ``metrics`` has the same name).
        """
        if kwargs:
            from ..errors import unknown_arguments  # noqa: PLC0415

            raise unknown_arguments("compile", kwargs, Model.compile)
        if target_tensors is not None:
            raise ConfigError("compile: target_tensors= is not supported; pass the targets to fit(x, y).")
        if sample_weight_mode not in (None, "temporal"):
            raise ConfigError(f"compile: sample_weight_mode must be None or 'temporal'. Received: {sample_weight_mode!r}.")
        self.sample_weight_mode = sample_weight_mode
        multi = self._graph is not None and len(self._graph.outputs) > 1
        if multi and loss is not None:
            from .multi_output import MultiOutputLoss  # noqa: PLC0415

            self.loss = MultiOutputLoss(self, loss, loss_weights)
        else:
            if isinstance(loss, dict) or isinstance(loss, (list, tuple)):
                loss = single_value(self, loss, "loss")
            # loss=None: the model's loss is what add_loss adds (a VAE); fit then takes y=None
            self.loss = NoTargetLoss() if loss is None else losses.get(loss)
            if getattr(self.loss, "reduction", None) == "none":
                raise ConfigError(f"compile: the loss {self.loss.name!r} has reduction='none', one value per sample, "
                                  "which fit cannot minimise (tf.keras reports their mean but steps on their sum). "
                                  "Use reduction='sum_over_batch_size' (the mean) or 'sum'.")
            weight = single_value(self, loss_weights, "loss_weights") if loss_weights is not None else None
            if weight is not None and float(weight) != 1.0:
                from .multi_output import ScaledLoss  # noqa: PLC0415

                self.loss = ScaledLoss(self.loss, float(weight))
        self.optimizer = optimizers.get(optimizer)
        if not multi and isinstance(metrics, dict):
            metrics = single_value(self, metrics, "metrics")
        if metrics is not None and not isinstance(metrics, dict) and (
                isinstance(metrics, str) or not hasattr(metrics, "__iter__")):
            metrics = [metrics]
        if weighted_metrics:
            if isinstance(metrics, dict):
                raise ConfigError("compile: weighted_metrics with metrics given per output is not supported; give "
                                  "metrics as a list.")
            plain = {m if isinstance(m, str) else getattr(m, "__name__", "") for m in metrics or []}
            metrics = list(metrics or []) + [weighted_spec(m, plain) for m in (
                [weighted_metrics] if isinstance(weighted_metrics, str) else weighted_metrics)]
        self._metric_specs = metrics if isinstance(metrics, dict) else list(metrics or [])
        names = [metrics_mod.get(spec).name for spec in flat_specs(self._metric_specs)]  # unknown names fail now
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates and not isinstance(self._metric_specs, dict):
            raise ConfigError(f"compile: two metrics are named {duplicates[0]!r}, and fit's logs need one key each. "
                              f"Give one a name of its own, e.g. AUC(name='auc_2'). Received: metrics={names}.")
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
        if getattr(self.loss, "packed_shapes", None) is not None or hasattr(self.loss, "output_loss_metrics"):
            from .multi_output import make_metrics  # noqa: PLC0415

            return make_metrics(self, self._metric_specs)
        units = self.output_shape[-1] if self.output_shape is not None else None
        found = []
        for spec in self._metric_specs:
            if isinstance(spec, WeightedSpec):  # every metric here uses the sample weights
                metric = metrics_mod.get(spec.spec, self.loss.name, units)
                if spec.rename:
                    metric.name = "weighted_" + metric.name
            else:
                metric = metrics_mod.get(spec, self.loss.name, units)
            found.append(metric)
        return found

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
        """The weight-regularization terms (L1/L2) and every ``add_loss`` term to add to the loss."""
        total = None
        for layer in self.layers:
            for w in layer.weights:
                reg = getattr(w, "regularizer", None)
                if reg is not None:
                    total = reg(w) if total is None else total + reg(w)
        for extra in self.losses:
            if extra.ndim:  # a per-sample term: Keras averages it
                extra = extra.mean()
            total = extra if total is None else total + extra
        return total

    def _loss_and_output(self, xb, yb, wb, training, fused):
        """The total loss of one batch (data term plus penalties) and the network's output.

        A sequence output that carries a mask (Embedding(mask_zero=True), Masking) is
        averaged over its real steps only, as Keras does.
        """
        return self._loss_of_output(self.forward(to_tensors(xb), training=training, logits=fused), yb, wb, fused)

    def _loss_of_output(self, out, yb, wb, fused):
        """``_loss_and_output`` from the network's output Tensor (or list of them) ``out``."""
        if isinstance(out, list):  # several outputs
            from .multi_output import loss_and_outputs  # noqa: PLC0415

            return loss_and_outputs(self, out, yb, wb)
        yb = out.targets = backend.on_device(yb)  # labels live on the host until their batch is used
        wb = None if wb is None else backend.on_device(wb)
        weights = None
        if fused and wb is None and getattr(out, "mask", None) is None:  # the plain mean, in one node
            loss = self.loss.mean_from_logits(out, yb)
        else:
            per_sample = self.loss.per_sample_from_logits(out, yb) if fused else self.loss.per_sample(out, yb)
            weights = self._step_weights(out, per_sample, wb)
            if getattr(self.loss, "reduction", None) == "sum":  # Keras's Reduction.SUM: the batch's total
                loss = (per_sample if weights is None else per_sample * weights).sum()
            else:
                loss = per_sample.mean() if weights is None else self._weighted_mean(out, per_sample, weights)
        out.step_weights = weights
        return self._plus_penalty(loss), out  # after forward: activity penalties belong to this batch

    def _plus_penalty(self, loss):
        """``loss`` plus the batch's penalties (``_penalty``). A model compiled with loss=None has
        only those to minimise: with none (no add_loss term, no weight regularizer) its training
        would change nothing, so that is an error naming both ways out."""
        penalty = self._penalty()
        if penalty is None and getattr(self.loss, "no_targets", False):
            raise ConfigError(f"Model {self.name!r} was compiled with loss=None but has no add_loss terms, so "
                              "there is nothing to minimise. Pass a loss to compile (e.g. compile(optimizer, "
                              "loss='mse')), or add the loss with model.add_loss(...) or self.add_loss(...) in a "
                              "layer's call.")
        return loss if penalty is None else loss + penalty

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
        if wb.ndim > 1:  # sample_weight_mode="temporal": one weight per (sample, step)
            return wb.reshape(tuple(wb.shape) + (1,) * (per_sample.ndim - wb.ndim))
        return wb.reshape((-1,) + (1,) * (per_sample.ndim - 1)) if per_sample.ndim > 1 else wb

    def _predictions_for_metrics(self, out, fused, metric_list):
        """Probabilities for metrics; logits suffice for argmax-based ones."""
        if not fused or all(m.argmax_invariant for m in metric_list):
            return out
        from .. import ops  # noqa: PLC0415

        with no_grad():
            act = ops.softmax if self.loss.fuses_with == "softmax" else ops.sigmoid
            return act(Tensor(out)).data

    def train_on_batch(self, x, y=None, sample_weight=None):
        """One gradient-descent step on one batch; returns the loss (and metrics). Every
        weight's gradient stays readable in ``.grad`` afterwards."""
        self._require_compiled("train_on_batch")
        y = self._dummy_targets(x, y, "train_on_batch")
        sample_weight = self._single_weights(sample_weight, "train_on_batch")
        x = checks.prepare_inputs(x, "train_on_batch")
        y = checks.prepare_targets(y, n_samples(x), "train_on_batch")
        sample_weight = validate.sample_weight(sample_weight, n_samples(x), "train_on_batch",
                                                temporal=getattr(self, "sample_weight_mode", None) == "temporal")
        self._ensure_built(x)
        checks.check_input_shape(self, x, "train_on_batch")  # as fit checks its data: name the layer and shapes
        checks.check_targets(self, y, self.loss, "train_on_batch")
        validate.shared_optimizer(self, "train_on_batch")
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
            # A Sequential model's step runs planned where it can (models.train_plan): the same bits
            planned = None if dist is not None or debug is not None else train_plan.planned(self)
            done = None if planned is None else planned(x, y, sample_weight, fused)
            loss, out = done if done is not None else self._loss_and_output(x, y, sample_weight, True, fused)
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

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None, training_state=None):
        """Save architecture, weights, compile settings and optimizer state to one file.

        The file is a zip of ``config.json`` and safetensors weights, written atomically
        (see ``threestep.models.persist`` and ``threestep.saving``). ``training_state``
        (JSON data) lets ``fit`` resume exactly; ``ModelCheckpoint`` fills it in.
        ``save_format='h5'`` or a ``.h5`` name writes a Keras 2 HDF5 model, ``'keras'`` or a
        ``.keras`` name a ``.keras`` archive (both read by tf-keras; see ``threestep.interop``).

        Example:
            >>> model.save("digits_mlp.ts")     # threestep's own file
            >>> model.save("digits_mlp.h5")     # a Keras 2 HDF5 file
        """
        from .. import interop  # noqa: PLC0415  (a format dispatch, see the architecture page)
        from .persist import save_model  # noqa: PLC0415

        if self._subclassed():  # no config to write (tf.keras refuses an .h5 of one too)
            raise subclassed.no_config(self)

        fmt = interop.save_format(filepath, save_format)
        if fmt != "threestep":
            return interop.save_model(self, filepath, fmt, overwrite=overwrite)
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   training_state=training_state)

    def save_weights(self, filepath, overwrite=True):
        """Save only the weights: safetensors, or Keras HDF5 for a ``.h5`` name."""
        from .. import interop  # noqa: PLC0415
        from .persist import save_weights  # noqa: PLC0415

        if interop.save_format(filepath) == "h5":
            return interop.save_weights(self, filepath, overwrite=overwrite)
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Load weights saved by ``save_weights`` (or from a full model file, or a Keras
        ``.h5`` / ``.keras`` file: by layer order, or by layer name with ``by_name=True``)."""
        from .. import interop  # noqa: PLC0415
        from .persist import load_weights  # noqa: PLC0415

        if interop.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch):
            return
        if by_name or skip_mismatch:
            from ..errors import ConfigError  # noqa: PLC0415

            raise ConfigError("load_weights: by_name/skip_mismatch apply to Keras HDF5 files only; threestep's own "
                              "weight files are matched by position.")
        load_weights(self, filepath)

    def compile_config(self):
        """The compile settings as JSON-able data (for saving)."""
        if not self.compiled:
            return None
        from .. import losses as losses_mod  # noqa: PLC0415

        def name(spec):
            spec = spec.spec if isinstance(spec, WeightedSpec) else spec
            if isinstance(spec, str):
                return spec
            if not hasattr(spec, "fresh"):
                return getattr(spec, "__name__", None)
            kind = type(spec).__name__
            try:  # a metric object with arguments (MeanIoU(num_classes=3)) keeps them where they rebuild it
                config = spec.get_config()
                type(spec)(**config)
                json.dumps(config)
            except Exception:  # noqa: BLE001  (no config, or not one its constructor takes: by name)
                return kind
            return {"class_name": kind, "config": config}

        def loss_name(loss):
            if loss is None:
                return None
            return loss.name if type(loss) in losses_mod.BUILTIN else getattr(loss, "name", None)

        loss = self.loss.name if type(self.loss) in losses_mod.BUILTIN else None
        config = {
            "loss": loss,
            "loss_config": {"from_logits": getattr(self.loss, "from_logits", False),
                            **(self.loss.get_config() if isinstance(self.loss, losses_mod.KerasLoss) else {})},
            "optimizer": optimizers.serialize(self.optimizer),
            "metrics": ({k: [name(m) for m in ([v] if isinstance(v, str) or callable(v) else v or [])]
                         for k, v in self._metric_specs.items()} if isinstance(self._metric_specs, dict)
                        else [name(m) for m in self._metric_specs]),
        }
        if getattr(self.loss, "no_targets", False):
            config["no_targets"] = True
        if hasattr(self.loss, "output_loss_metrics"):  # several outputs: one loss and weight per output name
            config["output_losses"] = {n: loss_name(lo) for n, lo in zip(self.loss.names, self.loss.losses)}
            config["loss_weights"] = dict(zip(self.loss.names, self.loss.weights))
        return config

    def __call__(self, x, training=None):
        """Run the forward pass on a Tensor (records a graph, for custom training loops); on
        symbolic tensors the model is called like a layer (its weights shared), as in Keras."""
        from ..layers.symbolic import is_symbolic  # noqa: PLC0415

        if is_symbolic(x):
            from .keras_api import model_layer  # noqa: PLC0415

            return model_layer(self)(x)
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


