"""Names of user-defined objects (layers, regularizers, initializers, constraints, losses,
metrics, activations, optimizers, schedules) for rebuilding saved models.

As in Keras: ``load_model(path, custom_objects={"MyReg": MyReg})`` makes the names
known while the file is read, ``with custom_object_scope({...}):`` does the same for a
block of code, and ``get_custom_objects()`` is a process-wide dictionary. Every
deserializer (``regularizers.get(dict)``, ``initializers.get``, ...) asks ``lookup``
after its built-in names. The scope is per thread/context (``contextvars``).

Example:
    >>> with custom_object_scope({"MyReg": MyReg}):
    ...     model = load_model("model.ts")
"""
import contextlib
import contextvars

_GLOBAL = {}
_SCOPES = contextvars.ContextVar("threestep_custom_objects", default=())


class Configurable:
    """The ``get_config`` / ``from_config`` pair (and a repr naming the config) of the objects
    saved by name and config: initializers, regularizers, constraints. A subclass with
    arguments returns them from ``get_config``; ``from_config`` passes them back."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def get_custom_objects():
    """The process-wide ``{name: object}`` dictionary (add to it to register objects)."""
    return _GLOBAL


@contextlib.contextmanager
def custom_object_scope(*mappings):
    """Make the names in ``mappings`` (dicts of ``{name: class or function}``) known in the block."""
    merged = {}
    for mapping in mappings:
        if mapping:
            merged.update(mapping)
    token = _SCOPES.set(_SCOPES.get() + (merged,))
    try:
        yield merged
    finally:
        _SCOPES.reset(token)


def lookup(name):
    """The object registered as ``name`` (innermost scope first, then the global dict), or None."""
    if not isinstance(name, str):
        return None
    for mapping in reversed(_SCOPES.get()):
        if name in mapping:
            return mapping[name]
    return _GLOBAL.get(name)


def known_names():
    names = set(_GLOBAL)
    for mapping in _SCOPES.get():
        names.update(mapping)
    return names


def instantiate(name, config, base, kind):
    """An instance of the custom class ``name`` (a subclass of ``base``) from its ``config``,
    or None when no custom object of that name is known."""
    from .errors import ConfigError  # noqa: PLC0415

    obj = lookup(name)
    if obj is None:
        return None
    if isinstance(obj, type):
        if base is not None and not issubclass(obj, base):
            raise ConfigError(f"custom_objects[{name!r}] is {obj.__name__}, which is not a {base.__name__} "
                              f"subclass, but the file uses it as a {kind}.")
        config = config or {}
        return obj.from_config(config) if hasattr(obj, "from_config") else obj(**config)
    return obj  # a function or an instance
