"""Learning-rate schedules: a learning rate that is a function of the optimizer step.

Pass one as ``learning_rate`` to any optimizer; it is called with ``optimizer.iterations``
(0 for the first update) and returns a Python float. Semantics and argument names follow
Keras 3 (``keras.optimizers.schedules``), whose formulas are those of tf.keras 2.x.

Example:
    >>> from threestep.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    >>> opt = SGD(learning_rate=lr)
    >>> round(lr(1000), 4)
    0.096
"""
import bisect
import math

from ..errors import ConfigError, unknown_name


def _positive(owner, name, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{owner}: argument `{name}` must be > 0. Received: {name}={value!r}.")
    return value


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase`` the
    exponent is floored, so the rate drops every ``decay_steps`` steps.

    ``torch.optim.lr_scheduler.ExponentialLR(gamma)`` is the case ``decay_steps=1,
    decay_rate=gamma`` (stepped once per optimizer step).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary.

    Example: ``PiecewiseConstantDecay([1000, 2000], [0.1, 0.01, 0.001])``.
    ``torch.optim.lr_scheduler.MultiStepLR`` switches one step earlier (at ``step == b``).
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), [float(v) for v in values]
        if len(boundaries) != len(values) - 1:
            raise ConfigError(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of "
                f"values. Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ConfigError(f"PiecewiseConstantDecay: boundaries must be strictly increasing. "
                              f"Received: boundaries={boundaries}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio with
    ``staircase``). With ``decay_steps=1`` it is Keras 2's ``decay=`` argument."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("InverseTimeDecay", "decay_steps", decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, with step capped at
    ``decay_steps``; with ``cycle`` the horizon grows to the first multiple of
    ``decay_steps`` that is >= step instead.

    ``torch.optim.lr_scheduler.PolynomialLR(total_iters=decay_steps, power)`` is the case
    ``end_learning_rate=0, cycle=False``.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1.0 - p) ** self.power + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (SGDR without restarts), optionally after a linear warm-up (Keras 3).

    Without warm-up (``warmup_target=None``): over ``decay_steps`` steps the rate goes from
    ``initial_learning_rate`` to ``alpha * initial_learning_rate``,
    ``lr(s) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decay_steps) / decay_steps)) + alpha)``.

    With ``warmup_target``: for ``warmup_steps`` steps the rate rises linearly from
    ``initial_learning_rate`` to ``warmup_target``, then decays by the cosine above from
    ``warmup_target`` to ``alpha * warmup_target`` over the next ``decay_steps`` steps.

    ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=decay_steps, eta_min=alpha * lr)``
    gives the same rates for steps 0..decay_steps; torch's ``LinearLR`` followed by it (via
    ``SequentialLR``) reproduces the warm-up.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive("CosineDecay", "decay_steps", decay_steps)
        self.alpha = float(alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        if warmup_steps < 0:
            raise ConfigError(f"CosineDecay: argument `warmup_steps` must be >= 0. Received: warmup_steps={warmup_steps}.")
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_from):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay,
                                            PolynomialDecay, CosineDecay)}


def serialize(schedule):
    """``{"class_name": ..., "config": ...}`` of a schedule (JSON-safe); a subclass of your own
    loads back with ``load_model(custom_objects={"MySchedule": MySchedule})``."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ConfigError(f"Cannot serialize the learning-rate schedule {schedule!r}: only the built-in "
                          f"schedules ({', '.join(sorted(_SCHEDULES))}) and your own LearningRateSchedule subclasses "
                          "can be saved. Subclass it, or use a LearningRateScheduler callback for a plain function.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule ``serialize`` described."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"A serialized schedule is a dict with 'class_name' and 'config'. Received: {config!r}.")
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        from ..custom_objects import lookup  # noqa: PLC0415

        custom = lookup(config["class_name"])
        if isinstance(custom, type) and issubclass(custom, LearningRateSchedule):
            cls = custom
    if cls is None:
        error = unknown_name("learning-rate schedule", config["class_name"], _SCHEDULES)
        raise type(error)(f"{error} For your own schedule class, pass custom_objects="
                          f"{{{config['class_name']!r}: {config['class_name']}}} to load_model.")
    return cls.from_config(config.get("config", {}))


__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "InverseTimeDecay",
           "PolynomialDecay", "CosineDecay", "serialize", "deserialize"]
