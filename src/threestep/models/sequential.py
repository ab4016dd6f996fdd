"""``Sequential``: a network as a stack of layers, the lecture's fully connected chain.

Shapes are inferred as layers are added: once the first layer knows its input shape,
every ``add`` builds the new layer on the previous layer's output shape, so a mismatch is
reported at ``add`` time, naming both layers.
"""
from ..autograd import Tensor
from ..errors import ConfigError, ShapeError
from ..layers.base import Layer, carry_mask, unique_name
from ..layers.core import InputLayer
from ..layers.symbolic import SymbolicTensor
from .fusion import pooled_steps, sequential_steps
from .training import Model


class Sequential(Model):
    """A linear stack of layers.

    Example:
        >>> model = Sequential()
        >>> model.add(Dense(500, input_dim=784, activation="sigmoid"))
        >>> model.add(Dense(10, activation="softmax"))
        >>> model.compile(loss="categorical_crossentropy", optimizer=SGD(0.1), metrics=["accuracy"])
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name or unique_name("sequential"))
        self._layers = []
        self._batch_input_shape = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return self._layers

    def _output_layer(self):
        return self._layers[-1] if self._layers else None

    @property
    def built(self):
        return self._batch_input_shape is not None and all(layer.built for layer in self.layers)

    @property
    def input_shape(self):
        return self._batch_input_shape

    def _symbolic_ends(self):
        """A symbolic graph of the stack (built once, again after add/pop), so that
        ``model.input`` and ``layer.output`` exist as in Keras."""
        if getattr(self, "_symbolic", None) is None:
            if self._batch_input_shape is None or not self.built:
                self._require_built("input/output")
            from ..layers.symbolic import Input  # noqa: PLC0415

            for layer, entry in getattr(self, "_symbolic_entries", []):
                if entry in layer._inbound:
                    layer._inbound.remove(entry)
            x = first = Input(batch_shape=self._batch_input_shape)
            entries = []
            for layer in self.layers:
                x = layer(x)
                entries.append((layer, layer._inbound[-1]))
            self._symbolic_entries = entries
            self._symbolic = ([first], [x])
        return self._symbolic

    @property
    def output_shape(self):
        if not self.built:
            return None
        return self.layers[-1].output_shape if self.layers else self._batch_input_shape

    def add(self, layer):
        """Append a layer; builds it at once when the input shape is already known."""
        if isinstance(layer, Model):  # a whole model as one layer, its weights shared
            from .keras_api import model_layer  # noqa: PLC0415

            layer = model_layer(layer)
        if isinstance(layer, SymbolicTensor) and layer.node is None:  # Input((784,)), Keras 3 style
            layer = InputLayer(batch_input_shape=layer.shape, name=layer.name)
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise ConfigError(f"Sequential.add received the class {layer.__name__}, not a layer. "
                              f"Did you forget the parentheses, e.g. {layer.__name__}(...)?")
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential.add expects a Layer (e.g. Dense(10)); received {layer!r}.")
        if any(existing is layer for existing in self.layers):
            raise ConfigError(f"Layer {layer.name!r} is already in model {self.name!r}; create a new layer.")
        if any(existing.name == layer.name for existing in self.layers):
            raise ConfigError(
                f"All layers added to a Sequential model should have unique names. Name {layer.name!r} is already "
                f"the name of a layer in model {self.name!r}. Update the `name` argument to pass a unique name.")
        declared = layer.batch_input_shape
        if isinstance(layer, InputLayer):
            if self.layers or self._batch_input_shape is not None:
                raise ConfigError("An InputLayer/Input must be the first layer of a Sequential model.")
            self._batch_input_shape = declared
            return
        if not self.layers and self._batch_input_shape is None and declared is not None:
            self._batch_input_shape = declared
        elif self.layers and declared is not None and self.built:
            prev = self.layers[-1]
            if tuple(declared[1:]) != tuple(prev.output_shape[1:]):
                raise ShapeError(
                    f"Layer {layer.name!r} declares input shape {declared[1:]} but the previous layer "
                    f"{prev.name!r} outputs {prev.output_shape[1:]}. Remove input_dim/input_shape from "
                    "layers after the first, or fix the sizes.")
        _check_layout(self.layers, layer)
        self.layers.append(layer)
        self._symbolic = None
        if self._batch_input_shape is not None:
            prev_shape = self.layers[-2].output_shape if len(self.layers) > 1 else self._batch_input_shape
            if prev_shape is not None:
                self._build_layer(layer, prev_shape)

    def pop(self):
        if not self.layers:
            raise ConfigError("Sequential.pop: the model has no layers.")
        self._symbolic = None
        return self.layers.pop()

    def _build_layer(self, layer, input_shape):
        try:
            layer.build_for(input_shape)
        except ShapeError as exc:
            index = self.layers.index(layer)
            prev = f" (output of {self.layers[index - 1].name!r})" if index else ""
            raise ShapeError(f"{exc} Input shape{prev}: {tuple(input_shape)}.") from None

    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is not None:
            if self._batch_input_shape is not None and tuple(input_shape[1:]) != tuple(self._batch_input_shape[1:]):
                raise ShapeError(f"Model {self.name!r} was declared for inputs {self._batch_input_shape} but "
                                 f"build received {tuple(input_shape)}.")
            self._batch_input_shape = (None,) + tuple(input_shape[1:])
        if self._batch_input_shape is None:
            self._require_built("build")
        shape = self._batch_input_shape
        for layer in self.layers:
            self._build_layer(layer, shape)
            shape = layer.output_shape

    def forward(self, x, training=False, logits=False):
        """The forward pass; with ``logits=True`` the last layer stops before its activation.
        A layer followed by ``Activation("relu")`` runs as one fused node (``models.fusion``)."""
        if not isinstance(x, Tensor):
            x = Tensor(x)
        trace = getattr(self, "_trace", None)  # set by fit(debug_numerics=True): every layer's output
        steps = self._fused_steps() if trace is None else [(layer, None) for layer in self.layers]
        # a convolution and the max pooling after it as one op (ops.conv_pool; one graph node in training)
        pooled = self._fused_steps(pooled=True) if trace is None else {}
        last = len(steps) - 1
        skip = False
        for i, (layer, then) in enumerate(steps):
            if skip:
                skip = False
                continue
            out = None
            if i in pooled and layer.built:  # None where the fused pass does not serve
                out = layer.call_pooled(x, steps[i + 1][0], pooled[i])
            skip = out is not None
            if out is None and then is not None:  # the layer and the Activation("relu") after it, as one node
                out = layer.call_relu(x, training=training)
            elif out is None:
                out = layer.invoke(x, training=training, logits=logits and i == last)
            x = carry_mask(x, out)
            if trace is not None:
                trace.append((layer, x))
        return x

    def _fused_steps(self, pooled=False):
        """``models.fusion.sequential_steps`` of the current layers (made again when they change);
        with ``pooled``, their ``pooled_steps``."""
        key = tuple(map(id, self.layers))
        cached = self.__dict__.get("_steps_cache")
        if cached is None or cached[0] != key:
            steps = sequential_steps(self.layers)
            cached = self._steps_cache = (key, steps, pooled_steps(steps))
        return cached[2] if pooled else cached[1]

    def get_config(self):
        from ..layers import serialize_layer  # noqa: PLC0415

        config = {"name": self.name, "layers": [serialize_layer(layer) for layer in self.layers]}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..layers import deserialize_layer  # noqa: PLC0415

        model = cls(name=config.get("name"))
        if config.get("batch_input_shape") is not None:
            model._batch_input_shape = tuple(config["batch_input_shape"])
        for spec in config["layers"]:
            model.add(deserialize_layer(spec, custom_objects))
        return model

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's name for ``predict`` on a classifier: the output probabilities."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class indices, as Keras 2: the arg-max of a several-unit output, or ``p > 0.5``
        (an ``(n, 1)`` int32 array) for a single sigmoid unit.

        Example:
            >>> model.predict_classes(x_test)[:3]
            array([7, 2, 1])
        """
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def __repr__(self):
        return f"<Sequential name={self.name!r} layers={[layer.name for layer in self.layers]}>"


def _check_layout(layers, layer):
    """Warn when an image layer's layout differs from the previous image layer's: a
    channels_first first layer followed by default (channels_last) layers builds a network of
    the wrong size without any error (pooling over channels, convolving over columns)."""
    fmt = getattr(layer, "data_format", None)
    if fmt is None or getattr(layer, "rank", 2) == 1:
        return
    for prev in reversed(layers):
        prev_fmt = getattr(prev, "data_format", None)
        if prev_fmt is not None and getattr(prev, "rank", 2) != 1:
            if prev_fmt != fmt:
                import warnings  # noqa: PLC0415

                from ..layers.base import user_stacklevel  # noqa: PLC0415
                from .checks import ThreestepHint  # noqa: PLC0415

                warnings.warn(
                    f"Layer {layer.name!r} uses data_format={fmt!r} but the previous image layer {prev.name!r} uses "
                    f"{prev_fmt!r}; the two read the axes differently. Set the layout once for every layer: "
                    f"threestep.keras.backend.set_image_data_format({prev_fmt!r}) (or image_data_format in "
                    "~/.keras/keras.json) before building the model.", ThreestepHint, stacklevel=user_stacklevel())
            return
