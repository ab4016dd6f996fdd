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
from ...backend import epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format
from ._graph import (
    Function, batch_get_value, batch_set_value, clear_session, constant, count_params, eval, eye, function,
    get_value, gradients, in_test_phase, in_train_phase, learning_phase, name_scope, ones, ones_like, placeholder,
    set_learning_phase, set_value, variable, zeros, zeros_like,
)
from ._math import *  # noqa: F401,F403
from ._math import __all__ as _math_names


def backend():
    """The backend's name, for code that asks (``K.backend() == 'tensorflow'``)."""
    return "threestep"


def image_dim_ordering():
    """Keras 1: 'th' for channels_first, 'tf' for channels_last."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(ordering):
    set_image_data_format({"th": "channels_first", "tf": "channels_last"}.get(ordering, ordering))


__all__ = list(_math_names) + [
    "Function", "backend", "batch_get_value", "batch_set_value", "clear_session", "constant", "count_params",
    "epsilon", "eval", "eye", "floatx", "function", "get_value", "gradients", "image_data_format",
    "image_dim_ordering", "in_test_phase", "in_train_phase", "learning_phase", "name_scope", "ones", "ones_like",
    "placeholder", "set_epsilon", "set_floatx", "set_image_data_format", "set_image_dim_ordering",
    "set_learning_phase", "set_value", "variable", "zeros", "zeros_like",
]
