"""keras.backend: the functions Keras 2 user code calls as ``K.*``, on threestep's engine.

    from threestep.keras import backend as K

    def rmse(y_true, y_pred):                    # a loss and a metric alike
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))

    model.add(Lambda(lambda x: K.l2_normalize(x, axis=-1)))

Every function takes Tensors (or arrays, numbers) and returns a Tensor that gradients flow
through; on symbolic tensors (``model.input``, ``layer.output``) it records a graph node
for ``K.function`` / ``K.gradients``. Settings: ``epsilon``, ``floatx`` and
``image_data_format``, read from ``$KERAS_HOME/keras.json`` (``~/.keras/keras.json``).
"""
from ...errors import ConfigError
from ...backend import epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format
from ._graph import (
    Function, batch_get_value, batch_set_value, clear_session, constant, count_params, eval, eye, function,
    get_value, gradients, in_test_phase, in_train_phase, learning_phase, name_scope, ones, ones_like, placeholder,
    set_learning_phase, set_value, variable, zeros, zeros_like,
)
from ._math import *  # noqa: F401,F403
from ._math import __all__ as _math_names
from ._nn import *  # noqa: F401,F403
from ._nn import __all__ as _nn_names


def backend():
    """The backend's name, for code that asks (``K.backend() == 'tensorflow'``)."""
    return "threestep"


def image_dim_ordering():
    """Keras 1: 'th' for channels_first, 'tf' for channels_last."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(ordering):
    """Keras 1's setter: ``'th'`` sets channels_first, ``'tf'`` channels_last."""
    set_image_data_format({"th": "channels_first", "tf": "channels_last"}.get(ordering, ordering))


__all__ = list(_math_names) + list(_nn_names) + [
    "Function", "backend", "batch_get_value", "batch_set_value", "clear_session", "constant", "count_params",
    "epsilon", "eval", "eye", "floatx", "function", "get_value", "gradients", "image_data_format",
    "image_dim_ordering", "in_test_phase", "in_train_phase", "learning_phase", "name_scope", "ones", "ones_like",
    "placeholder", "set_epsilon", "set_floatx", "set_image_data_format", "set_image_dim_ordering",
    "set_learning_phase", "set_value", "variable", "zeros", "zeros_like",
]


_NOT_PROVIDED = {
    "conv1d": "a Conv1D layer", "conv2d": "a Conv2D layer", "conv2d_transpose": "a Conv2DTranspose layer",
    "pool2d": "a MaxPooling2D / AveragePooling2D layer", "rnn": "an RNN / LSTM / GRU layer",
    "ctc_batch_cost": "threestep.ops.ctc_loss", "update": "K.set_value after the step",
    "update_add": "K.set_value(x, K.get_value(x) + increment)", "update_sub": "K.set_value",
    "moving_average_update": "BatchNormalization", "bias_add": "x + bias", "resize_images": "UpSampling2D",
    "spatial_2d_padding": "ZeroPadding2D", "temporal_padding": "ZeroPadding1D", "one_hot": "threestep.keras.utils.to_categorical",
    "get_session": "nothing: threestep runs eagerly, without a TensorFlow graph runtime",
    "set_session": "nothing: threestep runs eagerly, without a TensorFlow graph runtime",
    "foldl": "a Python loop", "foldr": "a Python loop", "map_fn": "a Python loop over the batch",
    "local_conv1d": "a LocallyConnected1D layer", "local_conv2d": "a LocallyConnected2D layer",
}


class UnsupportedBackendFunction(ConfigError, AttributeError):
    """A Keras backend function threestep does not provide (an AttributeError too, so
    ``hasattr(K, name)`` stays False)."""


def __getattr__(name):
    """A backend function threestep does not provide raises an error naming the alternative
    (not a bare AttributeError)."""
    if name.startswith("__"):
        raise AttributeError(name)
    alternative = _NOT_PROVIDED.get(name)
    hint = f" Use {alternative} instead." if alternative else ""
    raise UnsupportedBackendFunction(f"threestep.keras.backend has no function {name!r} (it provides the Keras 2 backend functions "
                      f"user code calls in losses, metrics and Lambda layers; see its __all__).{hint}")
