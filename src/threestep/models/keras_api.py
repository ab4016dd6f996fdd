"""Keras 2 model methods beyond compile/fit/evaluate/predict: the generator methods,
``to_json`` / ``model_from_json``, ``clone_model``, ``metrics_names``, ``add_loss`` (a VAE's
KL term, with ``compile(loss=None)`` and ``fit(x, None)``), and the symbolic ``input`` /
``output`` of a model, so ``Model(model.input, model.get_layer("fc").output)`` extracts features.
"""
import json

import numpy

from .. import backend
from ..autograd import Tensor
from ..errors import ConfigError, NotBuiltError
from ..layers.base import Layer


class NoTargetLoss:
    """The loss of a model compiled with ``loss=None``: zero; its training loss is what
    ``add_loss`` added (a VAE's reconstruction and KL terms)."""

    name = "loss"
    fuses_with = None
    no_targets = True
    from_logits = False

    def per_sample(self, y_pred, y_true):
        xp = backend.get_array_module(y_pred.data)
        return Tensor(xp.zeros((len(y_pred.data),), dtype=y_pred.dtype))

    def __call__(self, y_true, y_pred):
        return self.per_sample(y_pred, y_true).mean()


class KerasMethodsMixin:
    """Keras 2 methods shared by ``Model`` and ``Sequential``."""

    # ------------------------------------------------------------------ symbolic ends
    @property
    def input(self):
        """The model's symbolic input (a list for several inputs)."""
        inputs = self._symbolic_ends()[0]
        return inputs if len(inputs) > 1 else inputs[0]

    @property
    def output(self):
        outputs = self._symbolic_ends()[1]
        return outputs if len(outputs) > 1 else outputs[0]

    def _symbolic_ends(self):
        if self._graph is not None:
            return self._graph.inputs, self._graph.outputs
        raise NotBuiltError(f"Model {self.name!r} has no symbolic input yet.")

    # ------------------------------------------------------------------ add_loss
    def add_loss(self, losses, inputs=None):
        """Add terms to the training loss: symbolic tensors computed from this model's graph
        (``model.add_loss(K.mean(kl))``), constant Tensors, or zero-argument callables."""
        losses = losses if isinstance(losses, (list, tuple)) else [losses]
        from ..layers.symbolic import SymbolicTensor  # noqa: PLC0415

        symbolic = [t for t in losses if isinstance(t, SymbolicTensor)]
        if symbolic:
            if self._graph is None:
                raise ConfigError("add_loss with a symbolic tensor needs a functional Model(inputs, outputs); "
                                  "for a Sequential model add the term in a custom layer's call with self.add_loss.")
            self._graph.add_extra(symbolic)
        self._added_losses = list(getattr(self, "_added_losses", [])) + [t for t in losses
                                                                          if not isinstance(t, SymbolicTensor)]

    @property
    def losses(self):
        """The extra loss terms of the latest forward pass (layers' add_loss / activity penalties, add_loss)."""
        found = [t for layer in self.layers for t in layer.call_losses()]
        if self._graph is not None:
            found += list(self._graph.extra_values)
        return found + [t() if callable(t) else t for t in getattr(self, "_added_losses", [])]

    def _dummy_targets(self, x, y, caller="fit"):
        """Targets as the training loop takes them: a model compiled with loss=None trains on
        add_loss terms alone (``fit(x)``); a model with several outputs gets its targets (a
        list, or a dict by output name) packed into one array (``models.multi_output``)."""
        if y is None and getattr(self.loss, "no_targets", False) and x is not None and (
                hasattr(x, "shape") or isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape")):
            n = len(x[0]) if isinstance(x, (list, tuple)) else len(x)
            return numpy.zeros((n, 1), dtype=backend.floatx())
        if y is not None and hasattr(self.loss, "output_loss_metrics"):
            from .multi_output import pack  # noqa: PLC0415

            return pack(self, y, caller)
        return y

    def _single_weights(self, sample_weight, caller):
        if isinstance(sample_weight, (dict, list, tuple)) and hasattr(self.loss, "output_loss_metrics"):
            arrays = list(sample_weight.values()) if isinstance(sample_weight, dict) else list(sample_weight)
            if any(not numpy.array_equal(numpy.asarray(a), numpy.asarray(arrays[0])) for a in arrays[1:]):
                raise ConfigError(f"{caller}: different sample weights per output are not supported; pass one "
                                  "array of weights for all outputs.")
            return arrays[0] if arrays else None
        return sample_weight

    def _inputs_by_name(self, x, caller):
        """Inputs given as a dict by Input name -> a list in the model's input order."""
        if not isinstance(x, dict):
            return x
        if self._graph is None:
            raise ConfigError(f"{caller}: a dict of inputs needs a functional model with named Inputs.")
        names = [t.name for t in self._graph.inputs]
        missing = [n for n in names if n not in x]
        if missing:
            raise ConfigError(f"{caller}: no data for input(s) {missing}; the model's inputs are {names}, the dict "
                              f"has {sorted(x)}.")
        arrays = [x[n] for n in names]
        return arrays if len(arrays) > 1 else arrays[0]

    def predict(self, x, *args, **kwargs):
        return super().predict(self._inputs_by_name(x, "predict"), *args, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        x = self._inputs_by_name(x, "fit")
        val = kwargs.get("validation_data")
        if isinstance(val, (list, tuple)) and len(val) in (2, 3) and val[1] is not None:
            kwargs["validation_data"] = (val[0], self._dummy_targets(val[0], val[1], "fit (validation_data)")) + \
                tuple(val[2:])
        if "sample_weight" in kwargs:
            kwargs["sample_weight"] = self._single_weights(kwargs["sample_weight"], "fit")
        if kwargs.get("class_weight") is not None and hasattr(self.loss, "output_loss_metrics"):
            raise ConfigError("fit: class_weight is not supported for a model with several outputs; turn it into "
                              "sample_weight= (one weight per sample) instead.")
        return super().fit(x, self._dummy_targets(x, y), *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x = self._inputs_by_name(x, "evaluate")
        if "sample_weight" in kwargs:
            kwargs["sample_weight"] = self._single_weights(kwargs["sample_weight"], "evaluate")
        return super().evaluate(x, self._dummy_targets(x, y, "evaluate"), *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        return super().test_on_batch(x, self._dummy_targets(x, y, "test_on_batch"), *args, **kwargs)

    # ------------------------------------------------------------------ names
    @property
    def metrics_names(self):
        """``['loss', metric names...]``: the order of ``evaluate``'s and ``*_on_batch``'s results."""
        if not self.compiled:
            return []
        return ["loss"] + [m.name for m in self._make_metrics()]

    # ------------------------------------------------------------------ generators (Keras 2 names)
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """``fit`` on a generator or ``Sequence`` yielding ``(x, y)`` or ``(x, y, sample_weight)`` batches."""
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """``evaluate`` on a generator or ``Sequence`` of ``(x, y)`` batches."""
        return self.evaluate(generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                             workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """``predict`` on a generator or ``Sequence`` of input batches."""
        return self.predict(generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                            workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose)

    # ------------------------------------------------------------------ JSON
    def to_json(self, **kwargs):
        """The architecture as JSON text (no weights); ``model_from_json`` rebuilds it."""
        from .. import __version__  # noqa: PLC0415

        return json.dumps({"class_name": type(self).__name__, "config": self.get_config(),
                           "keras_version": "2.3.1", "backend": "threestep", "threestep_version": __version__},
                          default=_json_default, **kwargs)


def _json_default(obj):
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, numpy.ndarray):
        return obj.tolist()
    raise TypeError(f"{obj!r} is not JSON data")


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) from ``model.to_json()``; custom layers and Lambda
    functions are found in ``custom_objects``."""
    from .sequential import Sequential  # noqa: PLC0415
    from .training import Model  # noqa: PLC0415

    spec = json.loads(json_string)
    classes = {"Sequential": Sequential, "Model": Model, "Functional": Model}
    cls = (custom_objects or {}).get(spec.get("class_name")) or classes.get(spec.get("class_name"))
    if cls is None:
        raise ConfigError(f"model_from_json: unknown model class {spec.get('class_name')!r}; pass it in custom_objects.")
    return cls.from_config(spec["config"], custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model of the same architecture with newly initialised weights (as Keras):
    ``clone.set_weights(model.get_weights())`` copies the weights too."""
    if input_tensors is not None or clone_function is not None:
        raise ConfigError("clone_model: input_tensors= and clone_function= are not supported; call clone_model(model) "
                          "and then use the clone as a layer graph (Model(new_input, clone(new_input)) is not "
                          "supported either; rebuild the graph with the same layer configs).")
    from ..layers.lambda_layer import Lambda  # noqa: PLC0415

    custom = {}
    for layer in model.layers:
        if isinstance(layer, Lambda):
            custom[getattr(layer.function, "__name__", "")] = layer.function
        custom.setdefault(type(layer).__name__, type(layer))
    config = model.get_config()
    return type(model).from_config(config, custom_objects=custom)



class ModelLayer(Layer):
    """A whole model called as one layer of another model (its weights are the model's).

    Example:
        >>> encoder = Model(image, code)
        >>> autoencoder = Model(image2, decoder_layer(encoder(image2)))
    """

    def __init__(self, model, **kwargs):
        super().__init__(name=kwargs.get("name") or model.name)
        self.model = model
        self.built = True
        shape = model.input_shape if model.built else None
        if shape is not None and not isinstance(shape, list):
            self.batch_input_shape = tuple(shape)  # it can start a Sequential model

    @property
    def weights(self):
        return self.model.weights

    @property
    def trainable_weights(self):
        return self.model.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self):
        return self.model.non_trainable_weights if self.trainable else self.model.weights

    def get_weights(self):
        return self.model.get_weights()

    def set_weights(self, weights):
        self.model.set_weights(weights)

    def count_params(self):
        return self.model.count_params()

    def call_losses(self):
        return self.model.losses

    def compute_output_shape(self, input_shape):
        out = self.model.output_shape
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return [(batch,) + tuple(s[1:]) for s in out] if isinstance(out, list) else (batch,) + tuple(out[1:])

    def call(self, x, training=None):
        return self.model.forward(x, training=bool(training))

    def get_config(self):
        return {"name": self.name, "model": {"class_name": type(self.model).__name__,
                                             "config": self.model.get_config()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return model_layer(model_from_json(json.dumps(config["model"]), custom_objects))


def model_layer(model):
    """``model`` as a layer of another model (one per model): ``y = encoder(x)`` on symbolic
    tensors, ``Sequential.add(model)``. The weights stay shared."""
    layer = getattr(model, "_as_layer", None)
    if layer is None:
        layer = model._as_layer = ModelLayer(model)
    return layer


def _keep_docs():
    """The wrappers above show the documentation of the methods they forward to."""
    from .fitting import FitMixin  # noqa: PLC0415
    from .inference import EvaluateMixin  # noqa: PLC0415

    KerasMethodsMixin.fit.__doc__ = FitMixin.fit.__doc__
    KerasMethodsMixin.evaluate.__doc__ = EvaluateMixin.evaluate.__doc__
    KerasMethodsMixin.predict.__doc__ = EvaluateMixin.predict.__doc__
    KerasMethodsMixin.test_on_batch.__doc__ = EvaluateMixin.test_on_batch.__doc__


_keep_docs()
