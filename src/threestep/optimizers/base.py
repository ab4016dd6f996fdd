"""The optimizer base: step 3 of the lecture, "pick the best function" by gradient descent.

Optimizers update raw arrays in place (no graph). Per-parameter state ("slots" such as
momentum) is created lazily by ``build(var_list)`` as lists aligned with the parameter
list, never keyed by ``id()``, so it saves and loads in order.

Common arguments (Keras 2): ``learning_rate`` (alias ``lr=``, deprecated), ``decay``
(lr / (1 + decay * iterations)), ``clipnorm`` (clip each gradient's L2 norm),
``clipvalue`` (clip elementwise) and ``global_clipnorm`` (clip the norm over all
gradients together). ``learning_rate`` may also be a schedule: a callable of the step.
"""
import math
import warnings

from .. import backend
from ..errors import ConfigError


class Optimizer:
    _slot_names = ()

    def __init__(self, learning_rate=0.01, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn(f"{type(self).__name__}: 'lr' is deprecated; use 'learning_rate'.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        self.decay = float(kwargs.pop("decay", 0.0))
        self.clipnorm = kwargs.pop("clipnorm", None)
        self.clipvalue = kwargs.pop("clipvalue", None)
        self.global_clipnorm = kwargs.pop("global_clipnorm", None)
        if kwargs:
            raise TypeError(f"Unexpected keyword argument passed to optimizer: {sorted(kwargs)[0]}")
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ConfigError(f"{type(self).__name__}: use clipnorm or global_clipnorm, not both.")
        if not callable(learning_rate):
            learning_rate = float(learning_rate)
            if not math.isfinite(learning_rate) or learning_rate < 0:
                raise ConfigError(f"{type(self).__name__}: learning_rate must be a non-negative number. "
                                  f"Received: learning_rate={learning_rate}.")
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__
        self.iterations = 0
        self.slots = {}
        self._built_for = None

    # ----------------------------------------------------------------- state
    def build(self, var_list):
        """Create the slot arrays (zeros like each parameter) for ``var_list``."""
        xp = backend.get_xp()
        self.slots = {name: [xp.zeros_like(v.data) for v in var_list] for name in self._slot_names}
        self._built_for = len(var_list)

    def current_lr(self):
        """The learning rate for the next step (schedule and ``decay`` applied)."""
        lr = self.learning_rate(self.iterations) if callable(self.learning_rate) else self.learning_rate
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return float(lr)

    # ----------------------------------------------------------------- update
    def _clip(self, grads):
        if self.clipvalue is not None:
            xp = backend.get_xp()
            grads = [xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = math.sqrt(float((g * g).sum()))
                out.append(g * (self.clipnorm / norm) if norm > self.clipnorm else g)
            grads = out
        if self.global_clipnorm is not None:
            norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
            if norm > self.global_clipnorm:
                grads = [g * (self.global_clipnorm / norm) for g in grads]
        return grads

    def apply_gradients(self, params):
        """One update of every parameter that has a gradient (``param.grad``)."""
        params = [p for p in params if p.grad is not None]
        if self._built_for is None:
            self.build(params)
        elif self._built_for != len(params):
            raise ConfigError(
                f"{self.name}: built for {self._built_for} parameters but asked to update {len(params)}. "
                "An optimizer belongs to one model; create a new optimizer for a new model."
            )
        grads = self._clip([p.grad for p in params])
        lr = self.current_lr()
        self.iterations += 1
        for index, (p, g) in enumerate(zip(params, grads)):
            self.update_step(index, p.data, g, lr)
            if getattr(p, "constraint", None) is not None:
                p.data[...] = p.constraint(p.data)

    def update_step(self, index, param, grad, lr):
        """Update ``param`` (an array) in place from ``grad``; slots are ``self.slots[name][index]``."""
        raise NotImplementedError

    # ----------------------------------------------------------------- config
    def get_config(self):
        config = {"name": self.name, "learning_rate": self.learning_rate}
        if callable(self.learning_rate):
            from . import schedules  # noqa: PLC0415

            config["learning_rate"] = schedules.serialize(self.learning_rate)
        for key in ("decay", "clipnorm", "clipvalue", "global_clipnorm"):
            value = getattr(self, key)
            if value:
                config[key] = value
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from . import schedules  # noqa: PLC0415

            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"
