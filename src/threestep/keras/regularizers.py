"""keras.regularizers: ``l1``, ``l2``, ``l1_l2``, ``L1L2``, tf.keras's ``L1`` and ``L2``, and ``Regularizer``,
with get / serialize / deserialize."""
from ..layers.regularizers import L1, L1L2, L2, Regularizer, get, l1, l1_l2, l2, serialize  # noqa: F401


def deserialize(config, custom_objects=None):
    """A regularizer from ``{'class_name': ..., 'config': ...}`` or a name; custom ones via ``custom_objects``."""
    name = config if isinstance(config, str) else config.get("class_name")
    custom = (custom_objects or {}).get(name)
    if custom is not None:
        if isinstance(config, str):
            return custom
        return custom.from_config(config.get("config", {})) if hasattr(custom, "from_config") else custom
    return get(config)


__all__ = ["L1", "L1L2", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2", "serialize"]
