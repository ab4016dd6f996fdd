"""Variables, the learning phase, and ``K.function`` / ``K.gradients`` over functional graphs.

    grads = K.gradients(loss, model.input)[0]        # symbolic: nothing runs yet
    step = K.function([model.input], [loss, grads])  # a callable on NumPy arrays
    loss_value, grad_value = step([image])

``K.function`` runs the recorded nodes (layer calls and backend functions on symbolic
tensors) on the arrays given for its inputs; a ``K.gradients`` node backpropagates through
that same run with threestep's engine. ``K.learning_phase()`` may be one of the inputs
(0 = test, 1 = training), as in Keras 2.
"""
import numpy

from ... import backend
from ...autograd import Config, Tensor, no_grad, using_config
from ...errors import ConfigError
from ...layers.base import Layer
from ...layers.symbolic import Input, SymbolicTensor, symbolic_call, topological_nodes
from ._math import to_tensor

# ---------------------------------------------------------------- variables


def variable(value, dtype=None, name=None, constraint=None):
    """A trainable Tensor holding ``value`` (gradients flow to it)."""
    data = backend.asarray(value, dtype=dtype or backend.floatx())
    t = Tensor(data, requires_grad=True, name=name)
    t.trainable = True
    t.constraint = constraint
    return t


def constant(value, dtype=None, shape=None, name=None):
    """A Tensor holding ``value`` (broadcast to ``shape`` when given) in ``dtype`` (default floatx)."""
    data = backend.asarray(value, dtype=dtype or backend.floatx())
    if shape is not None:
        data = backend.get_xp().broadcast_to(data, tuple(shape)).copy()
    return Tensor(data, name=name)


def zeros(shape, dtype=None, name=None):
    """A variable of zeros of ``shape``."""
    return variable(numpy.zeros(tuple(shape)), dtype, name)


def ones(shape, dtype=None, name=None):
    """A variable of ones of ``shape``."""
    return variable(numpy.ones(tuple(shape)), dtype, name)


def eye(size, dtype=None, name=None):
    """A variable holding the ``size`` x ``size`` identity matrix."""
    return variable(numpy.eye(size), dtype, name)


def zeros_like(x, dtype=None, name=None):
    """A tensor of zeros with the shape (and, unless ``dtype`` is given, the dtype) of ``x``."""
    x = to_tensor(x)
    return Tensor(backend.get_array_module(x.data).zeros_like(x.data, dtype=dtype))


def ones_like(x, dtype=None, name=None):
    """A tensor of ones with the shape (and, unless ``dtype`` is given, the dtype) of ``x``."""
    x = to_tensor(x)
    return Tensor(backend.get_array_module(x.data).ones_like(x.data, dtype=dtype))


def get_value(x):
    """The value as a NumPy array."""
    if isinstance(x, SymbolicTensor):
        raise ConfigError("get_value: a symbolic tensor has no value yet; evaluate it with K.function([inputs], [x]).")
    return backend.to_numpy(to_tensor(x).data).copy()


def eval(x):  # noqa: A001  (Keras's name)
    """The value of ``x`` as a NumPy array (as ``get_value``)."""
    return get_value(x)


def batch_get_value(tensors):
    """The values of several tensors as a list of NumPy arrays."""
    return [get_value(t) for t in tensors]


def set_value(x, value):
    """Overwrite a variable's value in place (same shape)."""
    value = numpy.asarray(value)
    if tuple(value.shape) != tuple(x.shape):
        raise ConfigError(f"set_value: the variable has shape {tuple(x.shape)}; received a value of shape "
                          f"{tuple(value.shape)}.")
    x.data = backend.asarray(value, dtype=x.dtype)


def batch_set_value(tuples):
    """Sets several variables at once from ``(variable, value)`` pairs."""
    for x, value in tuples:
        set_value(x, value)


def count_params(x):
    """The number of entries in ``x``."""
    return int(numpy.prod(x.shape))


def placeholder(shape=None, ndim=None, dtype=None, name=None):
    """A symbolic input (``shape`` with the batch axis, None where unknown)."""
    if shape is None:
        if ndim is None:
            raise ConfigError("placeholder needs shape= or ndim=.")
        shape = (None,) * ndim
    return Input(batch_shape=tuple(shape), dtype=dtype, name=name)


# ---------------------------------------------------------------- learning phase
class _LearningPhase(SymbolicTensor):
    """The symbolic learning-phase flag: feed 0 (test) or 1 (training) to ``K.function``."""

    def __init__(self):
        super().__init__((), "bool", name="keras_learning_phase")

    def __bool__(self):  # ``if K.learning_phase():`` inside a layer reads the current phase
        return bool(Config.training)


_PHASE = {"symbol": _LearningPhase(), "fixed": None}


def learning_phase():
    """The learning phase: a fixed 0/1 set by ``set_learning_phase``, else the symbolic flag
    (an input of ``K.function``). Inside a layer's call it reads the current phase."""
    if _PHASE["fixed"] is not None:
        return _PHASE["fixed"]
    if _PHASE.get("running"):
        return int(Config.training)
    return _PHASE["symbol"]


def set_learning_phase(value):
    """Fixes the learning phase: 1 (training) or 0 (test), as Keras's global switch.

    Raises:
        ConfigError: for any other value.
    """
    if value not in (0, 1):
        raise ConfigError(f"set_learning_phase: value must be 0 (test) or 1 (training). Received: {value!r}.")
    _PHASE["fixed"] = value
    Config.training = bool(value)


def _phase_value(training):
    if training is None or isinstance(training, SymbolicTensor):
        return Config.training if _PHASE["fixed"] is None else bool(_PHASE["fixed"])
    return bool(getattr(training, "data", training))


def in_train_phase(x, alt, training=None):
    """``x`` in training, ``alt`` at test time (callables are called only for the branch taken).

    ``training`` defaults to the current phase: the one ``fit`` / ``predict`` run in, which a
    layer's ``call(x, training=None)`` passes on."""
    chosen = x if _phase_value(training) else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    """``x`` at test time, ``alt`` in training (the mirror of ``in_train_phase``)."""
    return in_train_phase(alt, x, training)


# ---------------------------------------------------------------- gradients and function
class _Gradients(Layer):
    """The graph node of ``K.gradients(loss, variables)``: its outputs are d(sum loss)/d(variable)."""

    def __init__(self, loss, variables, **kwargs):
        super().__init__(**kwargs)
        self.loss_tensor, self.variables = loss, variables

    def compute_output_shape(self, input_shape):
        return [tuple(v.shape) for v in self.variables]

    def get_config(self):
        raise ConfigError("A K.gradients node cannot be saved in a model.")


def gradients(loss, variables):
    """Symbolic gradients of ``loss`` (summed over its entries, as tf.gradients) with respect
    to each of ``variables`` (symbolic tensors of the same graph, or weight Tensors)."""
    single = not isinstance(variables, (list, tuple))
    variables = [variables] if single else list(variables)
    if not isinstance(loss, SymbolicTensor):
        raise ConfigError("gradients: loss must be a symbolic tensor computed from model inputs (e.g. "
                          "K.mean(model.output)). For Tensors computed eagerly call loss.backward() instead.")
    symbolic = [loss] + [v for v in variables if isinstance(v, SymbolicTensor)]
    node_layer = _Gradients(loss, variables, name=None)
    outs = symbolic_call(node_layer, symbolic, {})
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def _run_graph(inputs, outputs, values, training):
    """Evaluate ``outputs`` (symbolic) given ``values`` {uid: Tensor} for ``inputs``."""
    def value(structure):
        if isinstance(structure, (list, tuple)):
            return [value(s) for s in structure]
        if isinstance(structure, SymbolicTensor):
            if structure.uid not in values:
                raise ConfigError(f"K.function: the outputs depend on {structure!r}, which is not among the "
                                  "function's inputs. Pass it in K.function([inputs, ...], outputs).")
            return values[structure.uid]
        return structure

    for node in topological_nodes(outputs, values):
        if isinstance(node.layer, _Gradients):
            out = _backprop(node.layer, values, value)
        else:
            out = node.layer.invoke(value(node.inputs), training=training,
                                    **{k: value(v) for k, v in node.kwargs.items()})
        for t, v in zip(node.outputs, out if isinstance(out, (list, tuple)) else [out]):
            values[t.uid] = v if isinstance(v, Tensor) else Tensor(backend.asarray(v))
    return [values[t.uid] for t in outputs]


def _backprop(layer, values, value):
    loss = value(layer.loss_tensor)
    targets = [value(v) if isinstance(v, SymbolicTensor) else v for v in layer.variables]
    saved = [t.grad for t in targets]
    for t in targets:
        t.grad = None
    if loss.creator is not None:
        loss.backward(retain_graph=True, retain_grad=True)
    grads = []
    for t, old in zip(targets, saved):
        g = t.grad
        xp = backend.get_array_module(t.data)
        grads.append(Tensor(xp.zeros_like(t.data) if g is None else g.copy()))
        t.grad = old
    return grads


class Function:
    """A callable from input arrays to output arrays, built by ``K.function(inputs, outputs)``."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        if updates:
            raise ConfigError("K.function: updates= is not supported; apply updates with K.set_value after the call, "
                              "or train with model.fit / an optimizer.")
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, SymbolicTensor):
                raise ConfigError(f"K.function: inputs and outputs must be symbolic tensors (model.input, "
                                  f"layer.output, K.placeholder ...); received {t!r}.")
        self.needs_grad = _needs_grad(self.outputs)

    def __call__(self, inputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(inputs) != len(self.inputs):
            raise ConfigError(f"K.function expects {len(self.inputs)} input value(s); received {len(inputs)}.")
        training = False
        values = {}
        for sym, val in zip(self.inputs, inputs):
            if isinstance(sym, _LearningPhase):
                training = bool(numpy.asarray(val))
                values[sym.uid] = Tensor(numpy.asarray(training))
                continue
            data = val.data if isinstance(val, Tensor) else numpy.asarray(val)
            if data.dtype.kind == "f" and data.dtype != backend.floatx() and not isinstance(val, Tensor):
                data = data.astype(backend.floatx())
            values[sym.uid] = Tensor(backend.asarray(data), requires_grad=self.needs_grad)
        _PHASE["running"] = True
        try:
            with using_config("training", training):
                if self.needs_grad:
                    outs = _run_graph(self.inputs, self.outputs, values, training)
                else:
                    with no_grad():
                        outs = _run_graph(self.inputs, self.outputs, values, training)
        finally:
            _PHASE["running"] = False
        arrays = [backend.to_numpy(o.data) for o in outs]
        return arrays[0] if self.single else arrays


def _needs_grad(outputs):
    return any(isinstance(n.layer, _Gradients) for n in topological_nodes(outputs))


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """``K.function(inputs, outputs)``: evaluate symbolic ``outputs`` for input arrays."""
    return Function(inputs, outputs, updates=updates, name=name)


def clear_session():
    """Reset layer-name counters (dense_1 ...) and the learning phase, as Keras does."""
    from ...layers.base import reset_names  # noqa: PLC0415

    reset_names()
    _PHASE["fixed"] = None
    Config.training = True


def name_scope(name):
    """A context manager accepted for Keras code; threestep names layers without scopes."""
    import contextlib  # noqa: PLC0415

    return contextlib.nullcontext(name)
