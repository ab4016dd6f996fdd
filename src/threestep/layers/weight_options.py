"""The initializer / regularizer / constraint of each weight a layer creates, set up in one place.

A layer with weights ``kernel`` and ``bias`` takes ``kernel_initializer``,
``kernel_regularizer``, ``kernel_constraint`` (and the same for ``bias``);
``weight_options(self, "kernel", init, reg, constraint)`` resolves and stores all three,
and ``weight_options_config(self, ("kernel", "bias"))`` writes them back for ``get_config``.
"""
from . import initializers


def get_regularizer(identifier):
    from . import regularizers  # noqa: PLC0415  (regularizers import ops, loaded after the layers' helpers)

    return regularizers.get(identifier)


def get_constraint(identifier):
    from . import constraints  # noqa: PLC0415

    return constraints.get(identifier)


def weight_options(layer, prefix, initializer, regularizer=None, constraint=None):
    """Resolve names and configs and store ``<prefix>_initializer`` / ``_regularizer`` / ``_constraint``."""
    setattr(layer, f"{prefix}_initializer", initializers.get(initializer))
    setattr(layer, f"{prefix}_regularizer", get_regularizer(regularizer))
    setattr(layer, f"{prefix}_constraint", get_constraint(constraint))


def weight_options_config(layer, prefixes, activity=True):
    """The serialized options of the weights ``prefixes`` (and the activity regularizer)."""
    from . import constraints, regularizers  # noqa: PLC0415

    config = {}
    for prefix in prefixes:
        config[f"{prefix}_initializer"] = initializers.serialize(getattr(layer, f"{prefix}_initializer"))
        config[f"{prefix}_regularizer"] = regularizers.serialize(getattr(layer, f"{prefix}_regularizer"))
        config[f"{prefix}_constraint"] = constraints.serialize(getattr(layer, f"{prefix}_constraint"))
    if activity:
        config["activity_regularizer"] = regularizers.serialize(getattr(layer, "activity_regularizer", None))
    return config


def add_option_weight(layer, prefix, name, shape):
    """``layer.add_weight`` with the options stored under ``prefix``."""
    return layer.add_weight(name, shape, getattr(layer, f"{prefix}_initializer"),
                            getattr(layer, f"{prefix}_regularizer"),
                            constraint=getattr(layer, f"{prefix}_constraint"))
