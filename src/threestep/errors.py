"""The exceptions a user of threestep meets.

Every message names the layer or argument, what was expected, what was received, and
what to do about it. They subclass the built-in exception a Python user would catch
(``ValueError``, ``TypeError``, ``RuntimeError``), so ``except ValueError`` keeps working.
"""


class ThreestepError(Exception):
    """Base class of every threestep error."""


class BackendError(ThreestepError, RuntimeError):
    """An array backend cannot be used (e.g. CuPy requested but not installed)."""


class ShapeError(ThreestepError, ValueError):
    """An array or layer received a shape it cannot work with."""


class DataError(ThreestepError, ValueError):
    """Training or evaluation data is unusable (lengths differ, NaN, empty, bad labels)."""


class ConfigError(ThreestepError, ValueError):
    """An unknown name (loss, optimizer, activation, ...) or an invalid argument value."""


class NotCompiledError(ThreestepError, RuntimeError):
    """``fit``/``evaluate`` called before ``compile``."""


class NotBuiltError(ThreestepError, RuntimeError):
    """A model or layer was used before it knows its input shape."""


class GradientError(ThreestepError, AssertionError):
    """``gradcheck`` found an analytic gradient that disagrees with finite differences."""


class ModelFileError(ThreestepError, ValueError):
    """A model file is truncated, corrupt, foreign, or from a newer format version."""


class DatasetError(ThreestepError, ValueError):
    """A dataset file is missing, truncated, or fails its checksum."""


def unknown_name(kind, name, valid):
    """A ConfigError for an unknown name, listing the valid ones."""
    listing = ", ".join(sorted(repr(v) for v in valid))
    return ConfigError(f"Unknown {kind}: {name!r}. Valid {kind} names are: {listing}.")


class NumericsError(ThreestepError, FloatingPointError):
    """A forward or backward pass produced NaN or infinity (raised by ``fit(debug_numerics=True)``)."""


class NotSupportedError(ThreestepError, NotImplementedError):
    """A Keras feature (a layer, a module member, an argument) that threestep does not have;
    the message names the feature and what to use instead."""
