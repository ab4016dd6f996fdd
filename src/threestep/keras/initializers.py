"""keras.initializers: the Keras 2 initializer classes and functions, with get / serialize / deserialize."""
from ..errors import unknown_name
from ..layers.initializers import (  # noqa: F401
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, Initializer, LecunNormal, LecunUniform,
    Ones, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, Zeros, _REGISTRY, get, serialize,
)

# Keras 2 lowercase spellings (``glorot_uniform(seed=1)``) and short aliases.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
normal, uniform = RandomNormal, RandomUniform
variance_scaling, orthogonal, identity = VarianceScaling, Orthogonal, Identity
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform


def deserialize(config, custom_objects=None):
    """An initializer from ``{'class_name': ..., 'config': ...}`` or a name; custom classes via ``custom_objects``."""
    name = config if isinstance(config, str) else config.get("class_name")
    custom = (custom_objects or {}).get(name)
    if custom is not None:
        if isinstance(config, str):
            return custom() if isinstance(custom, type) else custom
        return custom.from_config(config.get("config", {})) if hasattr(custom, "from_config") else custom
    if name not in _REGISTRY and not isinstance(config, dict):
        raise unknown_name("initializer", name, _REGISTRY)
    return get(config)


__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "Initializer",
           "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal",
           "VarianceScaling", "Zeros", "constant", "deserialize", "get", "glorot_normal", "glorot_uniform",
           "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform", "normal", "ones", "orthogonal",
           "random_normal", "random_uniform", "serialize", "truncated_normal", "uniform", "variance_scaling", "zeros"]
