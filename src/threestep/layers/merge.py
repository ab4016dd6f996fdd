"""Merge layers for the functional API: combine several tensors into one."""
from .. import ops
from ..errors import ShapeError
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
    """Sum of the inputs (e.g. a residual connection: Add()([x, f(x)]))."""

    def combine(self, a, b):
        return a + b


class Subtract(_Merge):
    """inputs[0] - inputs[1]."""

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if len(input_shape) != 2:
            raise ShapeError(f"Subtract layer {self.name!r} takes exactly 2 inputs; received {len(input_shape)}.")

    def combine(self, a, b):
        return a - b


class Multiply(_Merge):
    def combine(self, a, b):
        return a * b


class Average(_Merge):
    def combine(self, a, b):
        return a + b

    def finish(self, out, n):
        return out * (1.0 / n)


class Maximum(_Merge):
    def combine(self, a, b):
        return ops.max(ops.stack([a, b], axis=0), axis=0)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def combine(self, a, b):
        return -ops.max(ops.stack([-a, -b], axis=0), axis=0)


class Concatenate(Layer):
    """Join the inputs along ``axis`` (default: the last, the features)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
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


def concatenate(inputs, axis=-1, **kwargs):
    """Functional shortcut: ``concatenate([a, b])`` = ``Concatenate()([a, b])``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)
