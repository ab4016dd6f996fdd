"""``Model``: compile / fit / evaluate / predict — the lecture's three steps as four calls.

``fit`` is one flat loop of callback hooks: train-begin, then per epoch: epoch-begin,
per batch: batch-begin / step / batch-end (stop when ``model.stop_training``), validation
with the ``val_`` prefix, epoch-end; then train-end. It returns the ``History``.
"""
import math
import warnings

from .. import backend, losses, metrics as metrics_mod, optimizers
from ..autograd import Tensor, no_grad, using_config
from ..callbacks import Callback, CallbackList, History
from ..errors import ConfigError, NotBuiltError, NotCompiledError
from . import checks
from .data import n_samples, take, to_tensors


def _pop_legacy_epochs(epochs, kwargs, caller):
    if "nb_epoch" in kwargs:
        warnings.warn(f"{caller}: 'nb_epoch' is Keras 1 spelling; use 'epochs'.", DeprecationWarning, stacklevel=3)
        epochs = kwargs.pop("nb_epoch")
    if kwargs:
        raise TypeError(f"{caller}() got unexpected keyword argument(s): {sorted(kwargs)}.")
    return epochs


class Model:
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
        yb = backend.on_device(yb)  # labels live on the host until their batch is used
        wb = None if wb is None else backend.on_device(wb)
        if fused:
            per_sample = self.loss.per_sample_from_logits(out, yb)
        else:
            per_sample = self.loss.per_sample(out, yb)
        weights = self._step_weights(out, per_sample, wb)
        if weights is None:
            loss = per_sample.mean()
        else:
            loss = (per_sample * weights).sum() / per_sample.dtype.type(max(float(weights.sum()), 1e-12)) \
                if getattr(out, "mask", None) is not None else \
                (per_sample * weights).sum() / per_sample.dtype.type(per_sample.size)
        penalty = self._penalty()  # after forward: activity penalties belong to this batch
        out.step_weights = weights
        return (loss if penalty is None else loss + penalty), out

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
        """One gradient-descent step on one batch; returns the loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x = checks.prepare_inputs(x, "train_on_batch")
        y = checks.prepare_targets(y, n_samples(x), "train_on_batch")
        self._ensure_built(x)
        metric_list = self._make_metrics()
        logs = self._train_step(x, y, None if sample_weight is None else backend.asarray(sample_weight, x.dtype),
                                self._fused(), metric_list)
        values = [logs["loss"]] + [m.result() for m in metric_list]
        return values if metric_list else values[0]

    def _train_step(self, xb, yb, wb, fused, metric_list, debug=None):
        if debug is not None:
            debug.start()
        loss, out = self._loss_and_output(xb, yb, wb, True, fused)
        value = float(loss.data)
        if not math.isfinite(value):
            # Skip the update: the weights keep their last finite values.
            if debug is not None:
                debug.check_forward(loss_finite=False)
            return {"loss": value}
        params = self.trainable_weights
        for p in params:
            p.grad = None
        loss.backward(retain_grad=debug is not None)
        if debug is not None:
            debug.check_backward()
        self.optimizer.apply_gradients(params)
        preds = self._predictions_for_metrics(out.data, fused, metric_list)
        for m in metric_list:
            m.update_state(backend.on_device(yb), preds, out.step_weights)
        return {"loss": value}

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_freq=1, seed=None, debug_numerics=False, **kwargs):
        """Step 3: pick the best function by mini-batch gradient descent.

        Each epoch shuffles the training data (``shuffle=True``), splits it into batches
        of ``batch_size`` (default 32), and takes one gradient step per batch. Returns a
        ``History`` whose ``.history`` maps 'loss', metric names and their 'val_' versions
        to per-epoch lists, plus 'lr', the learning rate at the start of each epoch.

        A non-finite loss stops training with a message naming the epoch and batch (the
        weights keep their last finite values). ``debug_numerics=True`` additionally names
        the first layer whose forward or backward pass produced the non-finite value.
        """
        epochs = _pop_legacy_epochs(epochs, kwargs, "fit")
        self._require_compiled("fit")
        if seed is not None:
            backend.set_seed(seed)
        x = checks.prepare_inputs(x, "fit")
        y = checks.prepare_targets(y, n_samples(x), "fit")
        self._ensure_built(x)
        checks.check_input_shape(self, x, "fit")
        checks.check_targets(self, y, self.loss, "fit")
        batch_size = int(batch_size or 32)
        sw = None if sample_weight is None else checks.prepare_targets(sample_weight, n_samples(x), "fit (sample_weight)")
        if class_weight is not None:
            from .weights import class_weights_to_sample_weights  # noqa: PLC0415

            cw = class_weights_to_sample_weights(class_weight, y, self.output_shape[-1])
            sw = cw if sw is None else sw * cw
        if validation_data is None and validation_split:
            from .data import split_validation  # noqa: PLC0415

            (x, y, sw), validation_data = split_validation(x, y, sw, validation_split)
        val = self._prepare_validation(validation_data)

        n = n_samples(x)
        steps = steps_per_epoch or -(-n // batch_size)
        self.history = History()
        self.history.prefill(getattr(self, "_training_state", None), initial_epoch)
        callback_list = self._callback_list(callbacks, verbose, {
            "batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": n,
            "verbose": verbose, "do_validation": val is not None,
            "metrics": ["loss"] + list(self._metric_names(val is not None)),
        })
        fused = self._fused()
        metric_list = self._make_metrics()
        self.stop_training = False
        debug = None
        if debug_numerics:
            from .numerics import NumericsDebugger  # noqa: PLC0415

            debug = NumericsDebugger(self)
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for m in metric_list:
                m.reset_state()
            callback_list.on_epoch_begin(epoch)
            lr = self.optimizer.current_lr()
            order = backend.host_rng().permutation(n) if shuffle else None
            loss_sum = seen = 0.0
            logs = {}
            for step in range(steps):
                start = (step * batch_size) % n
                idx = order[start:start + batch_size] if order is not None else slice(start, start + batch_size)
                xb, yb = take(x, idx), y[idx]
                wb = None if sw is None else sw[idx]
                callback_list.on_train_batch_begin(step, {"batch": step, "size": len(xb)})
                if debug is not None:
                    debug.where = (epoch, step)
                step_logs = self._train_step(xb, yb, wb, fused, metric_list, debug)
                if not math.isfinite(step_logs["loss"]):
                    self._stop_on_nonfinite(epoch, step, step_logs["loss"])
                seen += len(xb)
                loss_sum += step_logs["loss"] * len(xb)
                logs = {"loss": loss_sum / seen, **{m.name: m.result() for m in metric_list}}
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            epoch_logs["lr"] = lr
            if val is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                val_values = self._evaluate_arrays(*val, batch_size, fused)
                epoch_logs.update({"val_" + k: v for k, v in val_values.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end()
        return self.history

    def _stop_on_nonfinite(self, epoch, step, value):
        self.stop_training = True
        message = (
            f"Epoch {epoch + 1}, batch {step + 1}: the loss is {value}; training stopped and the weights "
            "keep their last finite values. Common causes: a learning rate too high, unnormalised "
            "inputs, or log(0) in a custom loss. fit(..., debug_numerics=True) names the first layer "
            "that produced the non-finite value.")
        print(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _metric_names(self, with_val):
        names = [m.name for m in self._make_metrics()]
        return names + (["val_loss"] + ["val_" + n for n in names] if with_val else [])

    def _callback_list(self, callbacks, verbose, params, mode="train"):
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        for cb in callbacks or []:
            if not isinstance(cb, Callback):
                raise ConfigError(f"callbacks must be Callback objects; received {cb!r}.")
        items = []
        if verbose:
            from ..callbacks.progress import ProgbarLogger  # noqa: PLC0415

            items.append(ProgbarLogger(mode=mode) if mode != "train" else ProgbarLogger())
        items += list(callbacks or [])
        if mode == "train":
            items.append(self.history)
        return CallbackList(items, model=self, params=params)

    def _prepare_validation(self, validation_data):
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ConfigError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight).")
        xv = checks.prepare_inputs(validation_data[0], "fit (validation_data)")
        yv = checks.prepare_targets(validation_data[1], n_samples(xv), "fit (validation_data)")
        checks.check_input_shape(self, xv, "fit (validation_data)")
        checks.check_targets(self, yv, self.loss, "fit (validation_data)")
        wv = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            wv = checks.prepare_targets(validation_data[2], n_samples(xv), "fit (validation sample_weight)")
        return xv, yv, wv

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, x, y, sw, batch_size, fused, callback_list=None):
        metric_list = self._make_metrics()
        total = count = 0.0
        with no_grad(), using_config("training", False):
            for step, start in enumerate(range(0, n_samples(x), batch_size)):
                if callback_list is not None:
                    callback_list.on_test_batch_begin(step)
                sl = slice(start, start + batch_size)
                wb = None if sw is None else sw[sl]
                loss, out = self._loss_and_output(take(x, sl), y[sl], wb, False, fused)
                total += float(loss.data) * len(out)
                count += len(out)
                preds = self._predictions_for_metrics(out.data, fused, metric_list)
                for m in metric_list:
                    m.update_state(backend.on_device(y[sl]), preds, out.step_weights)
                if callback_list is not None:
                    callback_list.on_test_batch_end(step, {"loss": total / count,
                                                           **{m.name: m.result() for m in metric_list}})
        return {"loss": total / count, **{m.name: m.result() for m in metric_list}}

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics) on (x, y), computed without a graph and in test mode.

        Returns ``[loss, metric1, ...]``, or the loss alone when there are no metrics
        (``return_dict=True`` gives a dict).
        """
        self._require_compiled("evaluate")
        x = checks.prepare_inputs(x, "evaluate")
        y = checks.prepare_targets(y, n_samples(x), "evaluate")
        self._ensure_built(x)
        checks.check_input_shape(self, x, "evaluate")
        checks.check_targets(self, y, self.loss, "evaluate")
        batch_size = int(batch_size or 32)
        sw = None if sample_weight is None else checks.prepare_targets(sample_weight, n_samples(x), "evaluate")
        cbs = self._callback_list(callbacks, verbose, {"steps": -(-n_samples(x) // batch_size), "verbose": verbose},
                                  mode="test")
        cbs.on_test_begin()
        values = self._evaluate_arrays(x, y, sw, batch_size, self._fused(), cbs)
        cbs.on_test_end(values)
        if return_dict:
            return values
        out = list(values.values())
        return out if len(out) > 1 else out[0]

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """The network's outputs for x (probabilities for a softmax output), as a NumPy array."""
        x = checks.prepare_inputs(x, "predict")
        if not self.built and not self.layers:
            self._require_built("predict")
        self._ensure_built(x)
        checks.check_input_shape(self, x, "predict")
        batch_size = int(batch_size or 32)
        outs = []
        with no_grad(), using_config("training", False):
            for start in range(0, n_samples(x), batch_size):
                out = self.forward(to_tensors(take(x, slice(start, start + batch_size))), training=False)
                outs.append([backend.to_numpy(o.data) for o in out] if isinstance(out, list)
                            else backend.to_numpy(out.data))
        import numpy  # noqa: PLC0415  (results are returned to the user as NumPy)

        if outs and isinstance(outs[0], list):  # a model with several outputs
            return [numpy.concatenate(parts, axis=0) for parts in zip(*outs)]
        return numpy.concatenate(outs, axis=0)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=n_samples(x))

    def test_on_batch(self, x, y, sample_weight=None):
        return self.evaluate(x, y, batch_size=n_samples(x), verbose=0, sample_weight=sample_weight)

    # ------------------------------------------------------------------ files
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
