"""The optimizer base: step 3 of the lecture, "pick the best function" by gradient descent.

Optimizers update raw arrays in place (no graph). Per-parameter state ("slots" such as
momentum) is created lazily by ``build(var_list)`` as lists aligned with the parameter
list, never keyed by ``id()``, so it saves and loads in order (``get_state`` /
``set_state``).

Common arguments (Keras 2): ``learning_rate`` (alias ``lr=``, deprecated), ``decay``
(lr / (1 + decay * iterations), ``iterations`` counted before the step, as Keras 2.3 and
``torch.optim.Adagrad(lr_decay=)`` do), ``clipnorm`` (clip each gradient's own L2 norm),
``clipvalue`` (clip elementwise) and ``global_clipnorm`` (clip the norm over all
gradients together). ``learning_rate`` may also be a schedule: a callable of the step
(see ``threestep.optimizers.schedules``), evaluated at ``iterations`` before the step.

NOTE on ``clipnorm``: Keras 2.3 scaled *all* gradients by their joint norm when that
exceeded ``clipnorm``; tf.keras >= 2.4 and Keras 3 clip each gradient by its own norm and
added ``global_clipnorm`` for the joint one. threestep follows the later split: write
``global_clipnorm=`` to get the Keras 2.3 ``clipnorm`` behaviour. Clipping order:
``clipvalue``, then ``clipnorm``, then ``global_clipnorm`` (as tf.keras 2.x).
"""
import math
import numbers
import warnings

from .. import backend
from ..errors import ConfigError
from ..ops import _threads
from .packing import Packing, packable


EPSILON = 1e-7  # Keras's K.epsilon(), the default fuzz factor of every optimizer


def check_epsilon(owner, epsilon):
    """The fuzz factor: ``None`` means Keras's default 1e-7; must be >= 0."""
    return check_range(owner, "epsilon", EPSILON if epsilon is None else epsilon, 0.0, math.inf)


def check_range(owner, name, value, low, high, high_open=False):
    """``float(value)`` if ``low <= value <= high`` (``< high`` when ``high_open``), else ConfigError."""
    value = float(value)
    ok = low <= value and (value < high if high_open else value <= high)
    if not ok or not math.isfinite(value):
        upper = f"{high})" if high_open else f"{high}]"
        raise ConfigError(f"{owner}: {name} must be in [{low}, {upper}. Received: {name}={value}.")
    return value


class Optimizer:
    """Base class: holds the learning rate, ``iterations``, the slots and the clipping.

    Subclasses declare ``_slot_names`` and write ``update_step(index, param, grad, lr)``,
    which updates ``param`` in place using ``self.slots[name][index]``; ``self.iterations``
    is already the 1-based number of the step being taken when it runs.
    """

    _slot_names = ()

    def __init__(self, learning_rate=0.01, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn(f"{type(self).__name__}: 'lr' is deprecated; use 'learning_rate'.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        self.decay = check_range(type(self).__name__, "decay", kwargs.pop("decay", 0.0), 0.0, math.inf)
        self.clipnorm = kwargs.pop("clipnorm", None)
        self.clipvalue = kwargs.pop("clipvalue", None)
        self.global_clipnorm = kwargs.pop("global_clipnorm", None)
        if kwargs:
            raise TypeError(f"Unexpected keyword argument passed to optimizer: {sorted(kwargs)[0]}")
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            value = getattr(self, key)
            if value is not None and not (float(value) >= 0 and math.isfinite(float(value))):
                raise ConfigError(f"{type(self).__name__}: {key} must be a number >= 0 or None. "
                                  f"Received: {key}={value}.")
            setattr(self, key, float(value) if value else None)  # 0 means off, as in Keras 2.3
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ConfigError(f"{type(self).__name__}: use clipnorm or global_clipnorm, not both.")
        if not callable(learning_rate):
            if not isinstance(learning_rate, numbers.Real) or isinstance(learning_rate, bool):
                raise ConfigError(f"{type(self).__name__}: learning_rate must be a number >= 0 or a schedule. "
                                  f"Received: learning_rate={learning_rate!r}. Pass e.g. learning_rate=0.01.")
            learning_rate = float(learning_rate)
            if not math.isfinite(learning_rate) or learning_rate < 0:
                raise ConfigError(f"{type(self).__name__}: learning_rate must be a non-negative number. "
                                  f"Received: learning_rate={learning_rate}.")
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__
        self.iterations = 0
        self.slots = {}
        self._built_for = None
        self._check_shapes = False
        self._rows_seen = None  # ops._threads.parallel_runs() after the last update
        self._threaded_blas = False  # whether updates may use BLAS's threads (see apply_gradients)
        self._packing = None  # on the GPU: parameters, gradients and slots in flat buffers (packing.py)
        self._buffers_offered = False  # whether a training loop asked for gradient buffers

    @property
    def lr(self):
        """Keras 2 spelling of ``learning_rate`` (read and write)."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    # ----------------------------------------------------------------- state
    def slot_initial_value(self, name):
        """The value a new slot array starts at (0; Adagrad's accumulator overrides it)."""
        return 0.0

    def build(self, var_list):
        """Create the slot arrays (like each parameter) for ``var_list``."""
        self.slots = {}
        for name in self._slot_names:
            value = self.slot_initial_value(name)
            arrays = []
            for v in var_list:
                xp = backend.get_array_module(v.data)
                arrays.append(xp.full_like(v.data, value) if value else xp.zeros_like(v.data))
            self.slots[name] = arrays
        self._built_for = len(var_list)

    def get_state(self):
        """The step count and every slot array (copied to NumPy), for saving.

        Returns ``{"iterations": int, "slots": {slot_name: [array per parameter]}}``; the
        slot lists follow the parameter order of ``apply_gradients``.
        """
        slots = {name: [backend.to_numpy(a).copy() for a in arrays] for name, arrays in self.slots.items()}
        return {"iterations": int(self.iterations), "slots": slots}

    def set_state(self, state):
        """Restore what ``get_state`` returned; the next step continues exactly where it left off."""
        slots = dict(state.get("slots") or {})
        if slots or (self._slot_names and state.get("iterations")):  # empty + step 0 = not built yet
            if set(slots) != set(self._slot_names):
                raise ConfigError(f"{self.name}: the saved state has slots {sorted(slots)} but this optimizer "
                                  f"uses {sorted(self._slot_names)}. Was it saved by another optimizer or "
                                  "with other settings (momentum, amsgrad, centered)?")
            counts = {len(arrays) for arrays in slots.values()}
            if len(counts) != 1:
                raise ConfigError(f"{self.name}: the saved slots hold different numbers of arrays: "
                                  f"{ {k: len(v) for k, v in slots.items()} }.")
        iterations = int(state.get("iterations", 0))
        if iterations < 0:
            raise ConfigError(f"{self.name}: iterations must be >= 0. Received: iterations={iterations}.")
        xp = backend.get_xp()
        self.slots = {name: [xp.array(a, copy=True) for a in slots[name]] for name in self._slot_names if slots}
        self._built_for = len(next(iter(self.slots.values()))) if self.slots else None
        self._check_shapes = bool(self.slots)
        self.iterations = iterations

    def current_lr(self):
        """The learning rate for the next step (schedule and ``decay`` applied)."""
        lr = self.learning_rate(self.iterations) if callable(self.learning_rate) else self.learning_rate
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        return float(lr)

    # ----------------------------------------------------------------- update
    def _clip(self, grads):
        if self.clipvalue is not None:
            grads = [backend.get_array_module(g).clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            scales = [self._clip_scale([g], self.clipnorm) for g in grads]
            grads = [g if scale is None else g * scale for g, scale in zip(grads, scales)]
        if self.global_clipnorm is not None and grads:
            scale = self._clip_scale(grads, self.global_clipnorm)
            grads = grads if scale is None else [g * scale for g in grads]
        return grads

    @staticmethod
    def _clip_scale(group, limit):
        """limit / norm when the L2 norm of all of ``group`` exceeds ``limit``, else None. On the GPU
        the scale min(1, limit / norm) stays on the device: reading the norm would make the host
        wait for backward at every step."""
        first = group[0]
        if backend.on_gpu(first):
            xp = backend.get_array_module(first)
            return xp.minimum(1.0, limit / xp.sqrt(sum((h * h).sum() for h in group))).astype(first.dtype)
        norm = math.sqrt(sum(float((h * h).sum()) for h in group))
        return limit / norm if norm > limit else None

    def _verify_slot_shapes(self, params):
        for name, arrays in self.slots.items():
            for i, (a, p) in enumerate(zip(arrays, params)):
                if tuple(a.shape) != tuple(p.data.shape):
                    raise ConfigError(f"{self.name}: restored slot {name!r} {i} has shape {tuple(a.shape)} but "
                                      f"parameter {i} ({getattr(p, 'name', None)!r}) has shape "
                                      f"{tuple(p.data.shape)}.")
        self._check_shapes = False

    def backward_updates(self, params):
        """``{param: (target, alpha, beta)}`` for the parameters whose step starts with
        ``target = beta * target + alpha * grad`` (the parameter itself, or a slot), so that the
        backward pass may do that where the gradient is made (``Tensor.backward(update=...)``);
        ``apply_gradients(params, folded)`` then finishes those steps (``finish_folded``). None
        here: only SGD's steps have that form (``SGD.backward_updates``)."""
        return None

    def finish_folded(self, index, param, lr):
        """The rest of the step of a parameter whose ``backward_updates`` the backward pass did."""

    def gradient_buffers(self, params):
        """``{param: (gradient view, 1, 0)}`` when this optimizer updates ``params`` packed (on the
        GPU, from its second step on; ``packing``), so that the backward pass writes their
        gradients into its flat buffer (``Function.gradient_target``) and ``apply_gradients(params,
        written=...)`` updates them all in one kernel; else None."""
        self._buffers_offered = True  # a training loop that can write gradients there: packing pays
        packing = self._packing
        if packing is None or self.clipnorm is not None or not packing.intact(params, self.slots):
            return None
        return {p: (g, 1.0, 0.0) for p, g in zip(params, packing.grads)}

    def apply_gradients(self, params, folded=(), written=()):
        """One update of every parameter that has a gradient (``param.grad``); the parameters in
        ``folded`` were already updated by the backward pass (``backward_updates``) and count
        as updated; those in ``written`` have their gradient in the packed gradient buffer
        (``gradient_buffers``)."""
        done = {id(p) for p in folded or written}
        if done:
            params = [p for p in params if p.grad is not None or id(p) in done]
        else:
            params = [p for p in params if p.grad is not None]
        if self._built_for is None:
            self.build(params)
        elif self._built_for != len(params):
            raise ConfigError(
                f"{self.name}: built for {self._built_for} parameters but asked to update {len(params)}. "
                "An optimizer belongs to one model; create a new optimizer for a new model."
            )
        if self._check_shapes:
            self._verify_slot_shapes(params)
        todo = [(i, p) for i, p in enumerate(params) if p.grad is not None] if folded else list(enumerate(params))
        in_buffer = self._packing.grad_of if written else {}
        grads = [in_buffer[id(p)] if id(p) in in_buffer and p.grad is None else p.grad for _, p in todo]
        lr = self.current_lr()
        self.iterations += 1
        # A threaded BLAS call leaves OpenBLAS's workers spinning for ~0.1 s, which slows a
        # recurrent layer's row-parallel loops in the next step 2x (ops._threads): updates use
        # BLAS's threads (ops._blas) only after a step that ran no such loop.
        runs = _threads.parallel_runs()
        self._threaded_blas = self._rows_seen == runs
        self._rows_seen = runs
        if folded or not self._packed_step(params, grads, lr, checked=bool(written)):
            grads = self._clip(grads)
            for (index, p), g in zip(todo, grads):
                self.update_step(index, p.data, g, lr)
        for p in params:
            if getattr(p, "constraint", None) is not None:
                p.data[...] = p.constraint(p.data)
        if folded:
            for index, p in enumerate(params):
                if p.grad is None:
                    self.finish_folded(index, p.data, lr)

    def _packed_step(self, params, grads, lr, checked=False):
        """The whole step as one ``update_step`` on flat buffers (``packing``; GPU only), where that
        launches fewer kernels than a step per parameter; False (nothing done) where not.

        The first eligible step after fit asked for ``gradient_buffers`` packs (copying the
        parameters and slots once). A gradient that backward did not write into the buffer (a
        recurrent layer's, a weight the loss also regularises) is copied in, a kernel each.
        ``clipvalue`` and ``global_clipnorm`` apply to the flat gradient (the same values; the
        global norm summed in another order); ``clipnorm`` needs each gradient's own norm, so it
        steps parameter by parameter. ``update_step`` sees the flat arrays as parameter 0, its
        slots as ``self.slots[name][0]``. ``checked``: this step's backward wrote into the
        buffers that ``gradient_buffers`` had just found intact (nothing rebinds in between)."""
        if self.clipnorm is not None or not packable(params):
            self._packing = None  # e.g. the model moved to the CPU: let the device buffers go
            return False
        packing = self._packing
        if packing is None or not (checked or packing.intact(params, self.slots)):
            if not self._buffers_offered:
                return False  # called outside fit: nothing would write into the gradient buffer
            packing = self._packing = Packing(params, self.slots)  # slot lists now hold views too
        copies = [(view, g) for view, g in zip(packing.grads, grads) if g is not view]
        if len(copies) + 1 >= len(params):
            return False  # a kernel per parameter either way: step them one by one (on the views)
        for view, g in copies:
            view[...] = g
        grad = self._clip([packing.grad])[0]
        slots = self.slots
        self.slots = {name: [flat] for name, flat in packing.slot_flats.items()}
        try:
            self.update_step(0, packing.flat, grad, lr)
        finally:
            self.slots = slots
        return True

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
