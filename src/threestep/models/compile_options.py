"""Helpers of ``Model.compile`` for Keras 2's per-output and weighted arguments."""
from ..errors import ConfigError


def single_value(model, value, what):
    """The one entry of a per-output ``value`` (list or dict by output name) for a single-output model."""
    if isinstance(value, dict):
        names = [model._output_layer().name] if model._output_layer() is not None else []
        if len(value) != 1 or (names and next(iter(value)) not in names):
            raise ConfigError(f"compile: {what} is a dict {sorted(value)} but the model has one output "
                              f"{names}; use its name as the key, or pass the value alone.")
        return next(iter(value.values()))
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ConfigError(f"compile: {what} has {len(value)} entries but the model has one output.")
        return value[0]
    return value


class WeightedSpec:
    """An entry of ``weighted_metrics``: ``spec``, named weighted_<name> when ``metrics`` has it too."""

    def __init__(self, spec, rename):
        self.spec, self.rename = spec, rename


def weighted_spec(spec, plain):
    name = spec if isinstance(spec, str) else getattr(spec, "__name__", "")
    return WeightedSpec(spec, name in plain)


def flat_specs(specs):
    if isinstance(specs, dict):
        for value in specs.values():
            yield from ([value] if isinstance(value, str) or callable(value) else value or [])
    else:
        yield from (s.spec if isinstance(s, WeightedSpec) else s for s in specs)
