"""Merge layers for the functional API: combine several tensors into one."""
from .. import ops
from ..errors import ConfigError, ShapeError
from .base import Layer


class _Merge(Layer):
    """Elementwise merge of two or more tensors of the same shape."""

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} needs a list of at least 2 inputs; "
                             f"received shape {input_shape}.")
        first = input_shape[0][1:]
        for shape in input_shape[1:]:
            if tuple(shape[1:]) != tuple(first):
                raise ShapeError(f"{type(self).__name__} layer {self.name!r}: all inputs must have the same shape; "
                                 f"received {[tuple(s) for s in input_shape]}.")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def call(self, inputs, training=None):
        out = inputs[0]
        for x in inputs[1:]:
            out = self.combine(out, x)
        return self.finish(out, len(inputs))

    def finish(self, out, n):
        return out


class Add(_Merge):
    """Sum of the inputs, elementwise: the residual connection ``x + f(x)`` of a deep network.

    All inputs have the same shape; the output has it too.

    Example:
        >>> x = Input((16,))
        >>> y = Add()([x, Dense(16, activation="relu")(x)])  # a residual block
        >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).shape
        (2, 3)
    """

    def combine(self, a, b):
        return a + b


class Subtract(_Merge):
    """The difference ``inputs[0] - inputs[1]`` of exactly two inputs of the same shape.

    Example:
        >>> a, b = Input((8,)), Input((8,))
        >>> diff = Subtract()([a, b])  # e.g. how far apart two embeddings are
        >>> Subtract()([np.ones((1, 2)), np.ones((1, 2))]).numpy()
        array([[0., 0.]])
    """

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if len(input_shape) != 2:
            raise ShapeError(f"Subtract layer {self.name!r} takes exactly 2 inputs; received {len(input_shape)}.")

    def combine(self, a, b):
        return a - b


class Multiply(_Merge):
    """Product of the inputs, elementwise: a gate that lets one branch scale another.

    Example:
        >>> x = Input((8,))
        >>> gated = Multiply()([x, Dense(8, activation="sigmoid")(x)])
        >>> Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)]).numpy()
        array([[6., 6.]])
    """

    def combine(self, a, b):
        return a * b


class Average(_Merge):
    """Mean of the inputs, elementwise: e.g. averaging the outputs of an ensemble of branches.

    Example:
        >>> Average()([np.ones((1, 2)), np.zeros((1, 2))]).numpy()
        array([[0.5, 0.5]])
    """

    def combine(self, a, b):
        return a + b

    def finish(self, out, n):
        return out * (1.0 / n)


class Maximum(_Merge):
    """Largest of the inputs, elementwise (Maxout across whole branches; the gradient flows to the winner).

    Example:
        >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy()
        array([[3., 5.]])
    """

    def combine(self, a, b):
        return ops.max(ops.stack([a, b], axis=0), axis=0)


class Minimum(_Merge):
    """Smallest of the inputs, elementwise (e.g. a pessimistic blend of branches; the gradient flows to the smaller).

    Example:
        >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy()
        array([[1., 2.]])
    """

    def combine(self, a, b):
        return -ops.max(ops.stack([-a, -b], axis=0), axis=0)


class Concatenate(Layer):
    """Join the inputs along ``axis`` (default: the last, the features).

    The inputs must agree on every other axis; the output's ``axis`` is the sum of theirs.

    Args:
        axis: the axis to join along, -1 (the features) by default.

    Example:
        >>> a, b = Input((4,)), Input((6,))
        >>> Concatenate()([a, b]).shape
        (None, 10)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ConfigError(f"Concatenate: axis must be an integer (e.g. -1, the features). Received: axis={axis!r}.")
        self.axis = int(axis)

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ShapeError(f"Concatenate layer {self.name!r} needs a list of at least 2 inputs; "
                             f"received shape {input_shape}.")
        rank = len(input_shape[0])
        axis = self.axis % rank
        for shape in input_shape:
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, input_shape[0]))
                                         if i not in (0, axis) and a is not None and b is not None):
                raise ShapeError(f"Concatenate layer {self.name!r}: inputs must match except along axis {self.axis}; "
                                 f"received {[tuple(s) for s in input_shape]}.")

    def compute_output_shape(self, input_shape):
        axis = self.axis % len(input_shape[0])
        sizes = [s[axis] for s in input_shape]
        out = list(input_shape[0])
        out[axis] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(out)

    def call(self, inputs, training=None):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Dot product of two samples' tensors along ``axes`` (Keras's ``batch_dot``).

    For inputs (batch, n) and (batch, n) with axes=1 the output is (batch, 1); for
    (batch, n, d) and (batch, m, d) with axes=2 it is (batch, n, m) (attention scores).
    The output has x1's remaining axes followed by x2's.

    Args:
        axes: an int (the same axis of both) or a pair, counted with the batch axis as 0.
        normalize: l2-normalise both along their dot axes first, giving cosine similarities.

    Example:
        >>> scores = Dot(axes=(2, 2))([queries, keys])  # (None, 10, 64), (None, 12, 64) -> (None, 10, 12)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = [axes, axes] if isinstance(axes, int) else list(axes)
        if len(pair) != 2 or not all(isinstance(a, int) for a in pair):
            raise ConfigError(f"Dot layer {self.name!r}: axes must be an int or a pair of ints. Received: axes={axes!r}.")
        self.axes = axes if isinstance(axes, int) else pair
        self.normalize = bool(normalize)

    def _pair(self, shapes):
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return [a % len(s) for a, s in zip(pair, shapes)]

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ShapeError(f"Dot layer {self.name!r} takes a list of exactly 2 inputs; received {input_shape}.")
        a1, a2 = self._pair(input_shape)
        if 0 in (a1, a2):
            raise ShapeError(f"Dot layer {self.name!r}: axes {self.axes} include the batch axis 0.")
        n1, n2 = input_shape[0][a1], input_shape[1][a2]
        if n1 is not None and n2 is not None and n1 != n2:
            raise ShapeError(f"Dot layer {self.name!r}: dimension {a1} of the first input ({n1}) must equal dimension "
                             f"{a2} of the second ({n2}); received shapes {[tuple(s) for s in input_shape]}.")

    def compute_output_shape(self, input_shape):
        (s1, s2), (a1, a2) = input_shape, self._pair(input_shape)
        out = (s1[0],) + tuple(d for i, d in enumerate(s1) if i not in (0, a1)) \
            + tuple(d for i, d in enumerate(s2) if i not in (0, a2))
        return out if len(out) > 1 else out + (1,)

    def call(self, inputs, training=None):
        x1, x2 = inputs
        a1, a2 = self._pair([x1.shape, x2.shape])
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1), _l2_normalize(x2, a2)
        rest1 = [i for i in range(1, x1.ndim) if i != a1]
        rest2 = [i for i in range(1, x2.ndim) if i != a2]
        n, k = x1.shape[0], x1.shape[a1]
        m1 = ops.reshape(ops.transpose(x1, [0] + rest1 + [a1]), (n, -1, k))
        m2 = ops.reshape(ops.transpose(x2, [0, a2] + rest2), (n, k, -1))
        out = ops.matmul(m1, m2)
        shape = (n,) + tuple(x1.shape[i] for i in rest1) + tuple(x2.shape[i] for i in rest2)
        return ops.reshape(out, shape if len(shape) > 1 else (n, 1))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    """x / sqrt(max(sum(x^2), 1e-12)) along ``axis`` (tf.math.l2_normalize)."""
    import math  # noqa: PLC0415

    return x / ops.sqrt(ops.clip(ops.sum(x * x, axis=axis, keepdims=True), 1e-12, math.inf))


def concatenate(inputs, axis=-1, **kwargs):
    """Functional shortcut: ``concatenate([a, b])`` = ``Concatenate()([a, b])``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    """Functional shortcut: ``add([a, b])`` = ``Add()([a, b])``, the elementwise sum.

    Args:
        inputs: a list of at least two tensors of the same shape.
        **kwargs: passed to the layer (e.g. ``name``).

    Returns:
        Their sum, the output of a new ``Add`` layer.

    Example:
        >>> x = Input((16,))
        >>> y = add([x, Dense(16)(x)])
    """
    return Add(**kwargs)(inputs)
