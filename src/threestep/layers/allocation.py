"""A budget on the weights layers may allocate, used while a model file is being loaded.

``load_model`` knows, from the safetensors header, how many weight elements the file
holds before it builds the architecture that ``config.json`` describes. Inside
``weight_budget(elements, source)`` every ``Layer.add_weight`` claims its elements first,
so a small file whose configuration asks for ``Dense(30000)`` on 30,000 inputs is refused
before 3.6 GB are initialised, not after. Outside a budget nothing is limited.
"""
import contextlib
import contextvars
import math

from ..errors import ModelFileError

_BUDGET = contextvars.ContextVar("threestep_weight_budget", default=None)


class _Budget:
    def __init__(self, elements, source, held):
        self.left, self.total, self.source = int(elements), int(elements), source
        self.held = int(elements if held is None else held)


@contextlib.contextmanager
def weight_budget(elements, source, held=None):
    """Layers built inside may allocate at most ``elements`` weight elements in all
    (``held``: what the file holds, for the message)."""
    token = _BUDGET.set(_Budget(elements, source, held))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def claim(layer, name, shape):
    """Count a weight of ``shape`` against the current budget, or raise before allocating it."""
    budget = _BUDGET.get()
    if budget is None:
        return
    size = math.prod(int(s) for s in shape)
    if size > budget.left:
        raise ModelFileError(
            f"{budget.source}: the architecture asks layer {layer.name!r} for weight {name!r} of shape "
            f"{tuple(int(s) for s in shape)} ({size} elements), far more than the file's weights hold ({budget.held} "
            f"elements in all; at most {budget.total} may be built, {budget.left} left). The configuration and the "
            "weights disagree; refused before allocating.")
    budget.left -= size
