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


class ThreestepHint(UserWarning):
    """Advice that is not an error (shown once per call site by Python's warning filter)."""


def warn(message, category=None):
    """Issue a warning attributed to the user's line: the first frame outside threestep.

    A fixed ``stacklevel`` points into whichever threestep function happens to sit between
    the user and the check (``fitting.py``, ``sys:1``), where Python's default filters hide
    DeprecationWarnings and the user cannot see which of their lines caused it.
    """
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2  # stacklevel 2 is warn()'s caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category or ThreestepHint, stacklevel=level)


class ArgumentError(ThreestepError, TypeError):
    """A keyword argument that the function or layer does not take (misspelt or from another API)."""


def unknown_arguments(caller, unknown, accepted):
    """An ArgumentError for keyword arguments ``unknown`` (names) that ``caller`` does not take,
    with a "did you mean" per name. ``accepted`` is a collection of names or a function
    whose signature lists them."""
    import difflib  # noqa: PLC0415

    if callable(accepted):
        import inspect  # noqa: PLC0415

        accepted = [p.name for p in inspect.signature(accepted).parameters.values()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]
    accepted = sorted(set(accepted))
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, accepted, n=1, cutoff=0.7)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return ArgumentError(f"{caller}: unexpected keyword argument(s) {', '.join(parts)}. Received: "
                         f"{', '.join(f'{k}=...' for k in sorted(unknown))}. Accepted: {', '.join(accepted)}.")


class SavePathError(ThreestepError, OSError):
    """A model or weights file cannot be written at the given path (subclasses name why)."""


class SaveTargetExistsError(SavePathError, FileExistsError):
    """The file exists and ``overwrite=False``."""


class SaveDirectoryMissingError(SavePathError, FileNotFoundError):
    """The directory to save into does not exist."""


class SaveTargetIsDirectoryError(SavePathError, IsADirectoryError):
    """The path names a directory, not a file."""


class NotSupportedError(ThreestepError, NotImplementedError):
    """A Keras feature (a layer, a module member, an argument) that threestep does not have;
    the message names the feature and what to use instead."""


__all__ = ["ThreestepError", "BackendError", "ShapeError", "DataError", "ConfigError", "ArgumentError",
           "NotCompiledError", "NotBuiltError", "GradientError", "NumericsError", "ModelFileError", "DatasetError",
           "SavePathError", "SaveTargetExistsError", "SaveDirectoryMissingError", "SaveTargetIsDirectoryError",
           "NotSupportedError", "ThreestepHint", "warn", "unknown_name", "unknown_arguments"]
