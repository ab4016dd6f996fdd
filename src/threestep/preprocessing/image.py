"""Images for Keras's ``keras.preprocessing.image``: reading and writing files
(``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``, through Pillow, imported
only here) and the geometric transforms behind ``ImageDataGenerator``.

``apply_affine_transform`` follows Keras's convention exactly: rotation, shift, shear and
zoom matrices are composed in that order about the image centre, and each output pixel
samples the input at the transformed position, bilinearly (``order=1``) or from the
nearest pixel (``order=0``); positions outside the image are filled per ``fill_mode``:
``"constant"`` (``cval``), ``"nearest"`` (the edge pixel), ``"reflect"`` (mirrored about
the edge, ``dcba|abcd|dcba``) or ``"wrap"`` (the opposite edge, first and last pixel
overlapping, as SciPy's ``wrap`` which Keras uses).

Example:
    >>> img = load_img("cat.jpg", target_size=(224, 224))
    >>> x = img_to_array(img)            # (224, 224, 3) float32
    >>> save_img("flipped.png", flip_axis(x, 1))
"""
import os

import numpy

from .. import backend
from ..errors import ConfigError, NotSupportedError, ThreestepError

__all__ = ["PillowUnavailableError", "default_data_format", "load_img", "img_to_array", "array_to_img",
           "save_img", "flip_axis", "transform_matrix_offset_center", "affine_sample",
           "apply_affine_transform", "apply_channel_shift", "apply_brightness_shift"]


class PillowUnavailableError(ThreestepError, ImportError):
    """Pillow is not installed."""


FILL_MODES = ("constant", "nearest", "reflect", "wrap")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def _pil():
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError as exc:
        raise PillowUnavailableError("Reading and writing images needs Pillow: "
                                     "`pip install Pillow` (or threestep[image]).") from exc
    return Image


def default_data_format(data_format):
    """Resolves an image ``data_format`` argument, so every function accepts ``None`` as Keras does.

    Args:
        data_format: ``"channels_last"``, ``"channels_first"`` or ``None`` (the backend's
            ``image_data_format()``, else ``"channels_last"``).

    Returns:
        The data format as a string.

    Raises:
        ConfigError: for any other value.
    """
    if data_format is None:
        getter = getattr(backend, "image_data_format", None)
        data_format = getter() if callable(getter) else "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ConfigError(f"data_format must be 'channels_last' or 'channels_first'. "
                          f"Received: data_format={data_format!r}.")
    return data_format


# --------------------------------------------------------------------------- files

def load_img(path, grayscale=False, color_mode="rgb", target_size=None,
             interpolation="nearest"):
    """Loads an image file as a PIL image.

    Args:
        path: the file.
        grayscale: Keras 1 spelling of ``color_mode="grayscale"``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: ``(height, width)`` to resize to, or None.
        interpolation: the resampling filter for the resize (``"nearest"``,
            ``"bilinear"``, ``"bicubic"``, ``"lanczos"``, ``"box"``, ``"hamming"``).
    """
    if grayscale:
        color_mode = "grayscale"
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ConfigError(f"load_img: color_mode must be one of {sorted(modes)}. Received: "
                          f"color_mode={color_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"load_img: interpolation must be one of {INTERPOLATIONS}. "
                          f"Received: interpolation={interpolation!r}.")
    image_module = _pil()
    try:
        with open(path, "rb") as f:
            img = image_module.open(f)
            img.load()
    except OSError as exc:
        raise ConfigError(f"load_img: cannot read the image {os.fspath(path)!r}: {exc}") from exc
    if img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            resample = getattr(image_module.Resampling, interpolation.upper())
            img = img.resize(size, resample)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3-D array: ``(height, width, channels)`` (channels_last) or
    ``(channels, height, width)``; dtype ``floatx()`` unless given."""
    data_format = default_data_format(data_format)
    x = numpy.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ConfigError(f"img_to_array: unsupported image shape {x.shape}.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array as a PIL image (1 channel: ``L``, 3: ``RGB``, 4: ``RGBA``).

    ``scale``: stretch the values to 0..255 first (min to 0, max to 255), as Keras does.
    """
    image_module = _pil()
    data_format = default_data_format(data_format)
    x = numpy.asarray(x, dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ConfigError(f"array_to_img: expected a 3-D image array; received shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - numpy.min(x)
        peak = numpy.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ConfigError(f"array_to_img: an image needs 1, 3 or 4 channels; received {channels}.")
    pixels = x.astype("uint8")
    if channels == 1:
        return image_module.fromarray(pixels[:, :, 0], "L")
    return image_module.fromarray(pixels, "RGB" if channels == 3 else "RGBA")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves an image array to a file (format from ``file_format`` or the extension)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format or os.path.splitext(os.fspath(path))[1][1:]).lower() \
            in ("jpg", "jpeg"):
        img = img.convert("RGB")  # JPEG has no alpha channel
    img.save(path, format=file_format, **kwargs)


# --------------------------------------------------------------------------- transforms

def flip_axis(x, axis):
    """``x`` reversed along ``axis``."""
    return numpy.ascontiguousarray(numpy.flip(numpy.asarray(x), axis))


def transform_matrix_offset_center(matrix, rows, cols):
    """``matrix`` (3x3, homogeneous) applied about the image centre instead of the corner."""
    o_r, o_c = rows / 2 - 0.5, cols / 2 - 0.5
    offset = numpy.array([[1, 0, o_r], [0, 1, o_c], [0, 0, 1]])
    reset = numpy.array([[1, 0, -o_r], [0, 1, -o_c], [0, 0, 1]])
    return offset @ matrix @ reset


def _fill_index(coord, size, fill_mode):
    """Continuous source coordinates mapped into ``[0, size - 1]`` per the fill mode
    (``constant`` is handled by the caller's mask)."""
    if fill_mode == "reflect":  # half-sample symmetric: mirror about -0.5 and size - 0.5
        period = 2 * size
        t = numpy.mod(coord + 0.5, period)
        t = numpy.where(t >= size, period - t, t)
        coord = t - 0.5
    elif fill_mode == "wrap" and size > 1:  # SciPy's "wrap": period size - 1, edges overlap
        period = size - 1
        coord = numpy.where(coord < 0, period - numpy.mod(-coord, period),
                            numpy.where(coord > period, numpy.mod(coord, period), coord))
    return numpy.clip(coord, 0, size - 1)


def affine_sample(channels, matrix, offset, order=1, fill_mode="nearest", cval=0.0):
    """``out[c, i, j] = channels[c, matrix @ (i, j) + offset]``, interpolated."""
    if fill_mode not in FILL_MODES:
        raise ConfigError(f"fill_mode must be one of {FILL_MODES}. Received: "
                          f"fill_mode={fill_mode!r}.")
    if order not in (0, 1):
        raise NotSupportedError(f"interpolation_order={order}: threestep samples images with "
                                "order 0 (nearest) or 1 (bilinear, Keras's default). Use 0 or 1.")
    _, rows, cols = channels.shape
    ii, jj = numpy.meshgrid(numpy.arange(rows, dtype="float64"),
                            numpy.arange(cols, dtype="float64"), indexing="ij")
    src_r = matrix[0, 0] * ii + matrix[0, 1] * jj + offset[0]
    src_c = matrix[1, 0] * ii + matrix[1, 1] * jj + offset[1]
    outside = None
    if fill_mode == "constant":
        eps = 1e-9
        outside = (src_r < -eps) | (src_r > rows - 1 + eps) | (src_c < -eps) | (src_c > cols - 1 + eps)
    r = _fill_index(src_r, rows, fill_mode)
    c = _fill_index(src_c, cols, fill_mode)
    if order == 0:
        r = numpy.clip(numpy.floor(r + 0.5), 0, rows - 1).astype(int)
        c = numpy.clip(numpy.floor(c + 0.5), 0, cols - 1).astype(int)
        out = channels[:, r, c].astype("float64")
    else:
        r0, c0 = numpy.floor(r).astype(int), numpy.floor(c).astype(int)
        r1, c1 = numpy.minimum(r0 + 1, rows - 1), numpy.minimum(c0 + 1, cols - 1)
        fr, fc = r - r0, c - c0
        out = (channels[:, r0, c0] * ((1 - fr) * (1 - fc)) + channels[:, r0, c1] * ((1 - fr) * fc)
               + channels[:, r1, c0] * (fr * (1 - fc)) + channels[:, r1, c1] * (fr * fc))
    if outside is not None:
        out = numpy.where(outside, cval, out)
    return out.astype(channels.dtype, copy=False)


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=0,
                           col_axis=1, channel_axis=2, fill_mode="nearest", cval=0.0, order=1):
    """One image (3-D) rotated by ``theta`` degrees, shifted by ``tx`` rows and ``ty``
    columns, sheared by ``shear`` degrees and zoomed by ``zx``, ``zy``; Keras's convention
    (see the module docstring)."""
    x = numpy.asarray(x)
    if x.ndim != 3 or sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2] \
            or channel_axis not in (0, 2):
        raise ConfigError(f"apply_affine_transform: x must be one 3-D image with the channels "
                          f"first or last. Received shape {x.shape}, axes (row {row_axis}, col "
                          f"{col_axis}, channel {channel_axis}).")
    matrix = None

    def then(m):
        return m if matrix is None else matrix @ m

    if theta != 0:
        t = numpy.deg2rad(theta)
        matrix = then(numpy.array([[numpy.cos(t), -numpy.sin(t), 0],
                                   [numpy.sin(t), numpy.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        matrix = then(numpy.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype="float64"))
    if shear != 0:
        s = numpy.deg2rad(shear)
        matrix = then(numpy.array([[1, -numpy.sin(s), 0], [0, numpy.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        matrix = then(numpy.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], dtype="float64"))
    if matrix is None:
        return x
    matrix = transform_matrix_offset_center(matrix, x.shape[row_axis], x.shape[col_axis])
    channels = numpy.moveaxis(x, channel_axis, 0)
    if col_axis > row_axis:
        # The matrices are written for (x, y) = (column, row) order; arrays index
        # (row, column): swap both the rows and the columns of the matrix (Keras does too).
        matrix = matrix[[1, 0, 2]][:, [1, 0, 2]]
    out = affine_sample(channels, matrix[:2, :2], matrix[:2, 2], order, fill_mode, cval)
    return numpy.moveaxis(out, 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Adds ``intensity`` to every channel, clipped to the image's original range."""
    x = numpy.moveaxis(numpy.asarray(x), channel_axis, 0)
    low, high = numpy.min(x), numpy.max(x)
    x = numpy.clip(x + intensity, low, high)
    return numpy.moveaxis(x, 0, channel_axis)


def apply_brightness_shift(x, brightness, scale=True):
    """Scales brightness by ``brightness`` (1 = unchanged), through Pillow as Keras does."""
    from PIL import ImageEnhance  # noqa: PLC0415

    x_min, x_max = numpy.min(x), numpy.max(x)
    local_scale = (x_min < 0) or (x_max > 255)
    img = array_to_img(x, scale=local_scale or scale)
    out = img_to_array(ImageEnhance.Brightness(img).enhance(brightness))
    if not scale and local_scale:
        out = out / 255 * (x_max - x_min) + x_min
    return out
