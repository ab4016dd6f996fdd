"""Bilinear resizing of images, the op behind ``UpSampling2D(interpolation="bilinear")``.

Each output pixel samples the input at ``(o + 0.5) / scale - 0.5`` along every spatial axis
("half-pixel centres", the convention of TensorFlow 2's ``tf.image.resize``), blending the
two nearest input pixels linearly; positions before the first pixel use the first pixel,
positions after the last pixel the last. Along one axis this is a matrix ``A`` (output x
input), so the forward pass is ``A_h @ x @ A_w^T`` per image and channel and the backward
pass multiplies by the transposes.
"""
import numpy

from .. import backend
from ..autograd import Function
from .im2col import from_channels_last, to_channels_last


def interpolation_matrix(in_size, out_size, xp, dtype):
    """The ``(out_size, in_size)`` matrix of linear interpolation weights (half-pixel),
    built on the host (it is small) and moved to ``xp``'s device."""
    scale = in_size / out_size
    position = (numpy.arange(out_size, dtype="float64") + 0.5) * scale - 0.5
    floor = numpy.floor(position)
    frac = position - floor
    lower = numpy.clip(floor, 0, in_size - 1).astype("int64")
    upper = numpy.clip(floor + 1, 0, in_size - 1).astype("int64")
    matrix = numpy.zeros((out_size, in_size), dtype="float64")
    rows = numpy.arange(out_size)
    numpy.add.at(matrix, (rows, lower), 1.0 - frac)
    numpy.add.at(matrix, (rows, upper), frac)
    return xp.asarray(matrix.astype(dtype))


class ResizeBilinear(Function):
    """Bilinear resize of channels_last images ``(N, H, W, C)`` to ``(N, out_h, out_w, C)``."""

    def __init__(self, out_size):
        self.out_size = tuple(int(s) for s in out_size)

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.a_h = interpolation_matrix(x.shape[1], self.out_size[0], xp, x.dtype)
        self.a_w = interpolation_matrix(x.shape[2], self.out_size[1], xp, x.dtype)
        rows = xp.einsum("oh,nhwc->nowc", self.a_h, x)
        return xp.einsum("pw,nowc->nopc", self.a_w, rows)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        rows = xp.einsum("pw,nopc->nowc", self.a_w, gy)
        return xp.einsum("oh,nowc->nhwc", self.a_h, rows)


def resize_bilinear(x, out_size, data_format="channels_last"):
    """``x`` (4-D, ``data_format``) resized bilinearly to the spatial size ``out_size``."""
    x = to_channels_last(x, data_format, "resize_bilinear")
    return from_channels_last(ResizeBilinear(out_size)(x), data_format)
