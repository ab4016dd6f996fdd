"""Graph recording and train/test switches: a tiny config object plus context managers.

The switches are per thread and per ``contextvars`` context, not global: ``predict``
in one thread (which turns graph recording off) never changes what a ``fit`` in another
thread records. ``Config.enable_grad`` / ``Config.training`` read the current context's
value; a new thread starts from the defaults (recording on, training mode).
"""
import contextlib
import contextvars

_SWITCHES = {
    "enable_grad": contextvars.ContextVar("threestep_enable_grad", default=True),  # record the graph for backward
    "training": contextvars.ContextVar("threestep_training", default=True),  # dropout etc. as in training
}


class _Config:
    """``Config.enable_grad`` and ``Config.training``: this context's switches (read and set)."""

    __slots__ = ()

    def __getattr__(self, name):
        var = _SWITCHES.get(name)
        if var is None:
            raise AttributeError(f"Config has no switch {name!r}; switches: {sorted(_SWITCHES)}.")
        return var.get()

    def __setattr__(self, name, value):
        var = _SWITCHES.get(name)
        if var is None:
            raise AttributeError(f"Config has no switch {name!r}; switches: {sorted(_SWITCHES)}.")
        var.set(value)


Config = _Config()


@contextlib.contextmanager
def using_config(name, value):
    """Set switch ``name`` to ``value`` in this thread/context for the ``with`` block."""
    var = _SWITCHES.get(name)
    if var is None:
        raise AttributeError(f"Config has no switch {name!r}; switches: {sorted(_SWITCHES)}.")
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def no_grad():
    """Context manager: run the forward pass without recording a graph (predict, evaluate)."""
    return using_config("enable_grad", False)


def enable_grad():
    """Context manager: record the graph again inside a ``no_grad()`` block.

    For the rare step that needs gradients while the rest of the code runs without them
    (e.g. the gradient of an input during evaluation).

    Example:
        >>> x = Tensor(np.array([2.0]), requires_grad=True)
        >>> with no_grad():
        ...     with enable_grad():
        ...         y = x * x
        >>> y.requires_grad
        True
    """
    return using_config("enable_grad", True)


def test_mode():
    """Context manager: layers behave as at test time (dropout off, batch-norm running stats)."""
    return using_config("training", False)


def is_grad_enabled():
    """Whether operations record a graph for backward right now (False inside ``no_grad()``).

    Returns:
        bool, for this thread or context.

    Example:
        >>> with no_grad():
        ...     is_grad_enabled()
        False
    """
    return _SWITCHES["enable_grad"].get()
