"""``Maxout``: a learnable activation function (Goodfellow et al. 2013; the lecture's Maxout)."""
import numpy

from ..errors import ConfigError, NotBuiltError, ShapeError
from ..ops import maxout as maxout_ops
from . import activations
from .base import Layer, check_positive_int
from .weight_options import add_option_weight, get_regularizer, weight_options, weight_options_config


class Maxout(Layer):
    """A Dense layer to ``units * pieces`` linear pieces, then the max over each unit's pieces.

    Unit j outputs max_p (x @ W_p[:, j] + b_p[j]): the lecture's "group" of ``pieces``
    neurons whose largest value is the output. Maxout learns its own activation: with
    pieces=k each unit is any convex piecewise-linear function of its input with up to k
    pieces. ReLU is the special case pieces=2 with one piece all zeros:
    max(0, z) = relu(z) (see ``from_relu_dense``); |z| is max(z, -z).

    Only the winning piece of each unit gets a gradient for a given sample (the lecture's
    "thinner linear network" per example); over many samples every piece is trained.

    Weight layout (Keras-friendly, like Dense): ``kernel`` has shape
    ``(input_dim, pieces * units)`` and ``bias`` ``(pieces * units,)``, **piece-major**:
    ``kernel[:, p*units:(p+1)*units]`` and ``bias[p*units:(p+1)*units]`` are piece p, a
    complete Dense(units) of its own. Fans for initialisation are those of
    Dense(pieces*units).

    Args:
        units: number of output units.
        pieces: linear pieces per unit (>= 1, default 2).
        **kwargs: ``use_bias``, the initializers, regularizers and constraints, as ``Dense``.

    Input shape: ``(batch, ..., input_dim)``. Output shape: ``(batch, ..., units)``.

    Example:
        >>> model = Sequential([Maxout(64, pieces=3, input_dim=20), Dense(10, activation='softmax')])
        >>> exact_relu = Maxout.from_relu_dense(Dense(64, activation='relu', input_dim=20))
    """

    def __init__(self, units, pieces=2, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("Maxout", "units", units)
        self.pieces = check_positive_int("Maxout", "pieces", pieces)
        self.use_bias = bool(use_bias)
        weight_options(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        weight_options(self, "bias", bias_initializer, bias_regularizer, bias_constraint)
        self.activity_regularizer = get_regularizer(activity_regularizer)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ShapeError(f"Maxout layer {self.name!r} needs inputs (batch, ..., features) with a known last "
                             f"axis; received shape {tuple(input_shape)}.")
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ShapeError(f"Maxout layer {self.name!r} expects {self.kernel.shape[0]} input features (last "
                             f"axis) but received shape {tuple(input_shape)}.")

    def build(self, input_shape):
        width = self.units * self.pieces
        self.kernel = add_option_weight(self, "kernel", "kernel", (input_shape[-1], width))
        self.bias = add_option_weight(self, "bias", "bias", (width,)) if self.use_bias else None

    def call(self, x, training=None):
        y = maxout_ops.maxout_linear(x, self.kernel, self.bias, self.pieces)
        self.record_activity(y)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    @classmethod
    def from_relu_dense(cls, dense, **kwargs):
        """A built ``Maxout(units, pieces=2)`` computing exactly what a ReLU ``Dense`` computes.

        Piece 0 is all zeros, piece 1 is the Dense's kernel and bias, so each unit outputs
        max(0, z) = relu(z), bit for bit. The zero piece comes first so that a tie at
        z = 0 sends the gradient to the constant piece: the subgradient 0 that relu uses.
        ``kwargs`` go to the Maxout constructor (e.g. ``name=``); the Dense's declared input
        shape and dtype are copied, so the Maxout can replace it as the first layer of a Sequential.

        Equivalent by hand: ``m.set_weights([np.concatenate([0 * W, W], 1),
        np.concatenate([0 * b, b])])`` on a built ``Maxout(units, pieces=2)``.
        """
        if activations.name_of(getattr(dense, "activation", None)) != "relu":
            raise ConfigError(f"Maxout.from_relu_dense needs a Dense layer with activation='relu'. Received: "
                              f"{dense!r}.")
        if not dense.built:
            raise NotBuiltError(f"Maxout.from_relu_dense: Dense layer {dense.name!r} is not built yet, so it has "
                                "no weights to copy. Build it first (give it input_dim= or call it on data).")
        if dense.batch_input_shape is not None and not {"input_shape", "input_dim", "batch_input_shape"} & set(kwargs):
            kwargs["batch_input_shape"] = dense.batch_input_shape  # it can start a Sequential as the Dense did
        kwargs.setdefault("dtype", dense.dtype)
        layer = cls(dense.units, pieces=2, use_bias=dense.use_bias, **kwargs)
        layer.build_for(dense.input_shape or (None, dense.kernel.shape[0]))
        weights = [numpy.concatenate([numpy.zeros_like(w), w], axis=-1) for w in dense.get_weights()]
        layer.set_weights(weights)
        return layer

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces, "use_bias": self.use_bias,
                **weight_options_config(self, ("kernel", "bias"))}

    def __repr__(self):
        return f"Maxout({self.units}, pieces={self.pieces}, name={self.name!r})"

