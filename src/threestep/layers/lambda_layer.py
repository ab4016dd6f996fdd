"""``Lambda``: a Python function as a layer; ``TensorOp``: a backend function on symbolic tensors.

    from threestep.keras import backend as K
    x = Input((None, 8))
    pooled = Lambda(lambda t: K.max(t, axis=1))(x)          # (None, 8)
    scaled = Lambda(scale, arguments={"factor": 0.5})(x)    # scale(t, factor=0.5)

Shapes: ``output_shape`` may be a tuple (one sample, as in Keras), a function of the input
shape, or omitted: then the function is run once on zeros of two batch sizes (and two
lengths for unknown axes), and the axes that change stay unknown (``None``).

A Lambda holding a ``def``-named function is saved by that name; loading it needs the
function in ``custom_objects`` (nothing is ever unpickled). An anonymous ``lambda`` cannot
be saved: the error says to give it a name.
"""
import inspect

import numpy



from .. import backend
from ..autograd import Tensor, no_grad
from ..custom_objects import lookup
from ..errors import ConfigError
from .base import Layer
from .symbolic import SymbolicTensor, flatten, is_symbolic, symbolic_call

_PROBE = (2, 3)  # sizes substituted for unknown axes when a shape is inferred by running the function


def _zeros(shape, size, dtype):
    return Tensor(backend.get_xp().zeros(tuple(size if s is None else s for s in shape), dtype=dtype))


def _infer_shape(run, input_shape, dtype, fix="Pass output_shape= (one sample's shape) to the Lambda layer."):
    """The output shape of ``run(inputs)`` found by running it on zeros of two sizes."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    outs = []
    with no_grad(), numpy.errstate(all="ignore"):  # zeros may divide by zero: only the shapes matter here
        for size in _PROBE:
            zeros = [_zeros(s, size, dtype) for s in shapes]
            try:
                out = run(zeros if isinstance(input_shape, list) else zeros[0])
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001  (the user's function failed on placeholder zeros)
                raise ConfigError(
                    f"Could not infer the output shape by running the function on zeros of shape {shapes} "
                    f"({type(exc).__name__}: {exc}). {fix}") from exc
            outs.append([tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else tuple(out.shape))

    def merge(a, b):
        if len(a) != len(b):  # the rank depends on the size: give up on static sizes
            return (None,) * len(a)
        return tuple(x if x == y else None for x, y in zip(a, b))

    if isinstance(outs[0], list):
        return [merge(a, b) for a, b in zip(*outs)]
    return merge(*outs)


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer (no weights).

    Args:
        function: a function of a Tensor (or a list of Tensors), written with
            ``threestep.keras.backend`` functions or Tensor operators.
        output_shape: one sample's output shape (tuple), or ``fn(input_shape) -> shape``
            (batch axis included); inferred when omitted.
        mask: a mask for the output, or ``fn(inputs, mask) -> mask``.
        arguments: extra keyword arguments for ``function``.

    Example:
        >>> model.add(Lambda(lambda x: x ** 2))
        >>> Lambda(lambda pair: K.abs(pair[0] - pair[1]))([a, b])
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ConfigError(f"Lambda layer {self.name!r}: function must be callable; received {function!r}.")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})

    def _run(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if mask is not None and _accepts(self.function, "mask"):
            kwargs["mask"] = mask
        if training is not None and _accepts(self.function, "training"):
            kwargs["training"] = training
        out = self.function(inputs, **kwargs)
        if isinstance(out, SymbolicTensor):
            raise ConfigError(f"Lambda layer {self.name!r}: the function returned a symbolic tensor; it must compute "
                              "on the Tensors it receives (use backend functions, not other layers' outputs).")
        if not isinstance(out, (Tensor, list, tuple)):
            out = Tensor(backend.asarray(out))
        return out

    def call(self, inputs, mask=None, training=None):
        out = self._run(inputs, mask, training)
        if self.mask is not None and isinstance(out, Tensor):
            out.mask = self.mask(inputs, mask) if callable(self.mask) else getattr(self.mask, "data", self.mask)
        return out

    def compute_output_shape(self, input_shape):
        spec = self._output_shape
        if spec is None:
            return _infer_shape(self._run, input_shape, self.dtype)
        if callable(spec):
            return spec(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        if isinstance(spec, list) and spec and isinstance(spec[0], (tuple, list)):
            return [(batch,) + tuple(s) for s in spec]
        return (batch,) + tuple(spec)

    def get_config(self):
        name = getattr(self.function, "__name__", None)
        if name is None or name == "<lambda>":
            raise ConfigError(
                f"Lambda layer {self.name!r} holds an anonymous function (lambda), which cannot be saved: threestep "
                "never stores code. Define it with `def my_fn(x): ...`, use Lambda(my_fn), and load with "
                "custom_objects={'my_fn': my_fn}.")
        shape = self._output_shape
        if callable(shape):
            shape_name = getattr(shape, "__name__", "<lambda>")
            if shape_name == "<lambda>":
                raise ConfigError(f"Lambda layer {self.name!r}: its output_shape is an anonymous function and cannot "
                                  "be saved. Give a tuple, or a def-named function.")
            shape = {"function": shape_name}
        elif shape is not None:
            shape = [list(s) for s in shape] if shape and isinstance(shape[0], (tuple, list)) else list(shape)
        return {**super().get_config(), "function": name, "module": getattr(self.function, "__module__", None),
                "output_shape": shape, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("module", None)
        config["function"] = _lookup(config["function"], custom_objects, config.get("name"))
        shape = config.get("output_shape")
        if isinstance(shape, dict):
            config["output_shape"] = _lookup(shape["function"], custom_objects, config.get("name"))
        return cls(**config)

    def __repr__(self):
        return f"Lambda({getattr(self.function, '__name__', self.function)!r}, name={self.name!r})"


def _lookup(name, custom_objects, layer):
    found = (custom_objects or {}).get(name)
    if found is None:  # then custom_object_scope and get_custom_objects(), as every other deserializer
        found = lookup(name)
    if found is None:
        raise ConfigError(
            f"Lambda layer {layer!r} calls the function {name!r}, which the file names but does not contain (saved "
            f"models never hold code). Pass it when loading: load_model(path, custom_objects={{{name!r}: {name}}}).")
    return found


class TensorOp(Layer):
    """A backend function applied to symbolic tensors (``K.mean(layer.output)``), recorded as a
    graph node so ``K.function`` / ``K.gradients`` / ``Model`` can run it on data later."""

    def __init__(self, fn, args, kwargs, **layer_kwargs):
        super().__init__(**layer_kwargs)
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def _substitute(self, values):
        it = iter(values)

        def sub(obj):
            if isinstance(obj, SymbolicTensor):
                return next(it)
            if isinstance(obj, list):
                return [sub(o) for o in obj]
            if isinstance(obj, tuple):
                return tuple(sub(o) for o in obj)
            return obj

        args = sub(self.args)
        kwargs = {k: sub(v) for k, v in self.kwargs.items()}
        return args, kwargs

    def call(self, inputs):
        args, kwargs = self._substitute(inputs)
        return self.fn(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        return _infer_shape(self.call, input_shape, self.dtype)

    def get_config(self):
        raise ConfigError(f"The graph uses the backend function {getattr(self.fn, '__name__', self.fn)!r} directly on "
                          "layer outputs; such a model cannot be saved. Wrap the computation in a Lambda layer with a "
                          "def-named function (Lambda(my_fn)) to save it.")


def symbolic_op(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, recorded as a graph node when an argument is symbolic."""
    if not is_symbolic((args, list(kwargs.values()))):
        return fn(*args, **kwargs)
    tensors = [t for t in flatten((args, list(kwargs.values()))) if isinstance(t, SymbolicTensor)]
    name = getattr(fn, "__name__", "op").strip("_")
    layer = TensorOp(fn, args, kwargs, name=_op_name(name))
    return symbolic_call(layer, tensors, {})


def _op_name(name):
    from .base import unique_name  # noqa: PLC0415

    return unique_name(f"tf_op_{name}")


__all__ = ["Lambda", "TensorOp", "symbolic_op"]
