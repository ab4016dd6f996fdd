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
import warnings

from .. import backend
from ..accel import threads
from ..autograd import attach_sinks
from ..errors import ConfigError
from . import step


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
        self._rows_seen = None  # accel.threads.parallel_runs() at the last step
        self._threaded_blas = False  # whether updates may use BLAS's threads (_check_blas_threads)
        self._plan = None  # how minimize steps this parameter list (optimizers.step)
        self._step_lr = None  # the learning rate of the step under way (the arrival plan's sinks)

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

    # ----------------------------------------------------------------- one step
    def minimize(self, loss, params, keep_gradients=True, hook=None, retain_grad=False):
        """One step of gradient descent: backward from ``loss``, then the update of ``params``.

        This is the step ``Model.train_step`` (so ``fit``, ``train_on_batch`` and the
        distributed strategy) takes. How each update meets its gradient -- from ``.grad``
        after backward, in backward as the gradient arrives (folded into the weight's GEMM
        where the update allows), or packed into one kernel on the GPU -- the optimizer
        decides once per parameter list (``optimizers.step``).

        Args:
            loss: the scalar loss Tensor; None where this process has no batch (a distributed
                rank with an empty shard): then ``hook`` supplies the gradients.
            params: the weights to update (Tensors), always in the same order: the slots follow it.
            keep_gradients: leave every gradient in ``.grad``. False lets the update run the
                moment backward delivers a gradient (on the CPU; faster), and ``.grad`` stays None.
            hook: ``hook(grads, value) -> (grads, value)``, called after backward and before the
                update with the gradients (a list aligned with ``params``; None where a parameter
                got none) and the loss value; the update uses what it returns (the distributed
                strategy's all-reduce).
            retain_grad: keep the gradients of intermediate tensors too (``debug_numerics``).

        Returns:
            The loss value (float). Where it is not finite, no weight changes.

        Example:
            >>> loss = ops.mean(ops.softmax_cross_entropy(model(x), labels))
            >>> optimizer.minimize(loss, model.trainable_weights)
        """
        params = list(params)
        self._prepare(params)
        plan = self._plan
        key = (bool(keep_gradients), hook is not None)
        if plan is None or not plan.serves(params, key, self.slots):
            plan = self._plan = step.make_plan(self, params, *key)
        for p in params:
            p.grad = None
        self._check_blas_threads()
        if plan.kind == "arrival":  # the weights change during backward: read the loss first
            value = float(loss.data)
            if not math.isfinite(value):
                return value
            self._step_lr = self.current_lr()
            self.iterations += 1
            with attach_sinks(plan.attach(self)):
                loss.backward(retain_grad=retain_grad)
            return value
        value = 0.0
        if loss is not None:
            with attach_sinks(plan.attach(self)):
                loss.backward(retain_grad=retain_grad)
            value = float(loss.data)  # on the GPU, read while the device runs the backward pass
        if plan.kind == "packed":
            for p, sink in plan.sinks.items():
                p.grad = sink.view if sink.arrived else None
        grads = [p.grad for p in params]
        if hook is not None:
            grads, value = hook(grads, value)
            for p, g in zip(params, grads):
                if plan.kind == "packed" and g is not None and g is not plan.sinks[p].view:
                    plan.sinks[p].take(g)
                p.grad = g
        if not math.isfinite(value):
            for p in params:  # skip the update: the weights keep their last finite values
                p.grad = None
            return value
        lr = self.current_lr()
        self.iterations += 1
        if plan.kind == "packed":
            if step.packed_update(self, plan, lr):
                plan.kind = "grad"  # most gradients were copies: a kernel per parameter either way
        else:
            self._apply([(i, p, g) for i, (p, g) in enumerate(zip(params, grads)) if g is not None], lr)
        return value

    @property
    def _packing(self):
        """The flat buffers of a packed plan (``optimizers.packing``), or None."""
        return self._plan.packing if self._plan is not None else None

    def fold_matmul(self, index, param, a, b, lr):
        """Apply the update of ``param`` (an array) for the gradient ``a.T @ b`` inside that GEMM, if
        this optimizer's update has the GEMM's form; True when done. None here: only SGD's do
        (``SGD.fold_matmul``)."""
        return False

    def apply_gradients(self, params):
        """One update of every parameter in ``params`` that has a gradient (``param.grad``): the
        step of a custom training loop after ``loss.backward()``."""
        params = [p for p in params if p.grad is not None]
        self._prepare(params)
        lr = self.current_lr()
        self.iterations += 1
        self._check_blas_threads()
        self._apply([(i, p, p.grad) for i, p in enumerate(params)], lr)

    def _prepare(self, params):
        if self._built_for is None:
            self.build(params)
        elif self._built_for != len(params):
            raise ConfigError(
                f"{self.name}: built for {self._built_for} parameters but asked to update {len(params)}. "
                "An optimizer belongs to one model; create a new optimizer for a new model."
            )
        if self._check_shapes:
            self._verify_slot_shapes(params)

    def _check_blas_threads(self):
        # A threaded BLAS call leaves OpenBLAS's workers spinning, which slows a recurrent layer's
        # row-parallel loops in the next step (accel.threads): updates use BLAS's threads
        # (accel.blas) only after a step that ran no such loop.
        runs = threads.parallel_runs()
        self._threaded_blas = self._rows_seen == runs
        self._rows_seen = runs

    def _apply(self, todo, lr):
        """``update_step`` for each ``(index, param, grad)`` of ``todo`` (clipped together), then
        the parameters' constraints."""
        grads = self._clip([g for _, _, g in todo])
        for (index, p, _), g in zip(todo, grads):
            self.update_step(index, p.data, g, lr)
        for _, p, _ in todo:
            self._constrain(p)

    def _update_one(self, index, param, grad):
        """The update of one parameter whose gradient backward just delivered (the arrival plan:
        no ``global_clipnorm`` there, so clipping needs this gradient alone)."""
        if self.clipvalue is not None or self.clipnorm is not None:
            grad = self._clip([grad])[0]
        self.update_step(index, param.data, grad, self._step_lr)
        self._constrain(param)

    @staticmethod
    def _constrain(param):
        if getattr(param, "constraint", None) is not None:
            param.data[...] = param.constraint(param.data)

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
