"""``ImageDataGenerator``: batches of images with random augmentation and normalisation,
from arrays (``flow``) or from a directory of class sub-folders (``flow_from_directory``),
as Keras's ``keras.preprocessing.image.ImageDataGenerator``.

Each batch is made when asked for: every image gets its own random transform (rotation,
shifts, shear, zoom, flips, channel and brightness shifts) and is then standardised
(``preprocessing_function``, ``rescale``, sample-wise and feature-wise centring and
scaling, ZCA whitening). The iterators are ``Sequence`` objects, so ``fit`` prefetches
their batches in threads; ``next(it)`` also works, as in Keras.

Example:
    >>> datagen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1,
    ...                              horizontal_flip=True, rescale=1 / 255)
    >>> model.fit(datagen.flow(x_train, y_train, batch_size=32), epochs=10)
"""
import math
import os
import threading
import warnings

import numpy

from .. import backend
from ..errors import ConfigError, DataError
from ..utils.sequence import Sequence
from .image import (apply_affine_transform, apply_brightness_shift, apply_channel_shift,
                    array_to_img, default_data_format, flip_axis, img_to_array, load_img)

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator"]

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


def _range_pair(value, name):
    if isinstance(value, (int, float)):
        return [1 - value, 1 + value]
    if len(value) == 2:
        return [value[0], value[1]]
    raise ConfigError(f"ImageDataGenerator: {name} must be a float or a pair [lower, upper]. "
                      f"Received: {name}={value!r}.")


class ImageDataGenerator:
    """Generates batches of augmented, normalised images (Keras 2 semantics and defaults).

    Args:
        featurewise_center / featurewise_std_normalization: subtract the data set's mean
            / divide by its standard deviation per channel (call ``fit(x)`` first).
        samplewise_center / samplewise_std_normalization: the same per image.
        zca_whitening, zca_epsilon: ZCA whitening (fit first).
        rotation_range: random rotations up to this many degrees.
        width_shift_range, height_shift_range: a fraction of the size (< 1), pixels (>= 1),
            or a list of allowed pixel shifts.
        brightness_range: ``[low, high]`` brightness factors.
        shear_range: shear angle in degrees.
        zoom_range: a float ``z`` (zoom in ``[1 - z, 1 + z]``) or ``[low, high]``.
        channel_shift_range: random shifts added to the channels.
        fill_mode, cval: how points outside the image are filled (``constant``,
            ``nearest``, ``reflect``, ``wrap``).
        horizontal_flip, vertical_flip: random flips.
        rescale: a factor applied first (e.g. ``1 / 255``).
        preprocessing_function: applied to every image before anything else.
        data_format: ``channels_last`` or ``channels_first`` (default: the global setting).
        validation_split: the fraction held out for ``subset="validation"``.
        interpolation_order: 0 (nearest) or 1 (bilinear).
        dtype: the dtype of the batches (default ``floatx()``).
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0, zoom_range=0.0,
                 channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None,
                 data_format=None, validation_split=0.0, interpolation_order=1, dtype=None):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.zoom_range = _range_pair(zoom_range, "zoom_range")
        self.channel_shift_range = channel_shift_range
        if fill_mode not in ("constant", "nearest", "reflect", "wrap"):
            raise ConfigError(f"ImageDataGenerator: fill_mode must be 'constant', 'nearest', "
                              f"'reflect' or 'wrap'. Received: fill_mode={fill_mode!r}.")
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype or backend.floatx()
        self.interpolation_order = interpolation_order
        if brightness_range is not None and len(brightness_range) != 2:
            raise ConfigError(f"ImageDataGenerator: brightness_range must be [low, high]. "
                              f"Received: {brightness_range!r}.")
        self.brightness_range = brightness_range
        self.data_format = default_data_format(data_format)
        if self.data_format == "channels_first":
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        if not 0 <= validation_split < 1:
            raise ConfigError(f"ImageDataGenerator: validation_split must be in [0, 1). "
                              f"Received: {validation_split!r}.")
        self._validation_split = validation_split
        self.mean = self.std = self.principal_components = None
        if zca_whitening and not featurewise_center:
            warnings.warn("ImageDataGenerator: zca_whitening implies featurewise_center; "
                          "setting featurewise_center=True.", UserWarning, stacklevel=2)
            self.featurewise_center = True

    # ------------------------------------------------------------------ iterators
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", subset=None):
        """An iterator over batches ``(x, y)`` (or ``(x, y, sample_weight)``, or ``x``
        alone when ``y`` is None) of augmented copies of the arrays."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest"):
        """An iterator over batches read from ``directory/<class>/<image>`` files."""
        return DirectoryIterator(directory, self, target_size=target_size,
                                 color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links,
                                 subset=subset, interpolation=interpolation, dtype=self.dtype)

    # ------------------------------------------------------------------ per image
    def standardize(self, x):
        """Applies the normalisation settings to one image or a batch (in place when the
        dtype allows, as Keras does)."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x = x * self.rescale
        if self.samplewise_center:
            x = x - numpy.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (numpy.std(x, keepdims=True) + 1e-6)
        if self.featurewise_center:
            if self.mean is None:
                warnings.warn("ImageDataGenerator specifies featurewise_center but was not fit "
                              "on any data; call .fit(x_train) first.", UserWarning, stacklevel=2)
            else:
                x = x - self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                warnings.warn("ImageDataGenerator specifies featurewise_std_normalization but "
                              "was not fit on any data; call .fit(x_train) first.", UserWarning,
                              stacklevel=2)
            else:
                x = x / (self.std + 1e-6)
        if self.zca_whitening:
            if self.principal_components is None:
                warnings.warn("ImageDataGenerator specifies zca_whitening but was not fit on "
                              "any data; call .fit(x_train) first.", UserWarning, stacklevel=2)
            else:
                flat = numpy.reshape(x, (-1, self.principal_components.shape[0]))
                x = numpy.reshape(flat @ self.principal_components, numpy.shape(x))
        return x

    def get_random_transform(self, img_shape, seed=None):
        """A dict of random transform parameters for one image of ``img_shape``."""
        rng = numpy.random.RandomState(seed) if seed is not None else backend.host_rng()
        row_axis, col_axis = self.row_axis - 1, self.col_axis - 1
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = self._shift(rng, self.height_shift_range, img_shape[row_axis])
        ty = self._shift(rng, self.width_shift_range, img_shape[col_axis])
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx = zy = 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_h = bool(rng.random() < 0.5) and bool(self.horizontal_flip)
        flip_v = bool(rng.random() < 0.5) and bool(self.vertical_flip)
        channel_shift = (rng.uniform(-self.channel_shift_range, self.channel_shift_range)
                         if self.channel_shift_range else None)
        brightness = (rng.uniform(self.brightness_range[0], self.brightness_range[1])
                      if self.brightness_range is not None else None)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_h, "flip_vertical": flip_v,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    @staticmethod
    def _shift(rng, setting, size):
        """Keras's rule: an int ``n`` or a list picks a pixel shift (``(-n, n)`` or from the
        list, random sign); a float picks uniformly in ``[-setting, setting]``; all of it
        in units of ``size`` when every value is below 1."""
        if not numpy.any(setting):
            return 0
        discrete = isinstance(setting, (list, tuple, numpy.ndarray)) or (
            isinstance(setting, (int, numpy.integer)) and not isinstance(setting, bool))
        if discrete:
            shift = rng.choice(setting) * rng.choice([-1, 1])
        else:
            shift = rng.uniform(-setting, setting)
        if numpy.max(setting) < 1:
            shift *= size
        return shift

    def apply_transform(self, x, transform_parameters):
        """One image (3-D, no batch axis) transformed by the given parameters."""
        row_axis, col_axis, channel_axis = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        p = transform_parameters
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                   p.get("shear", 0), p.get("zx", 1), p.get("zy", 1),
                                   row_axis=row_axis, col_axis=col_axis,
                                   channel_axis=channel_axis, fill_mode=self.fill_mode,
                                   cval=self.cval, order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"], channel_axis)
        if p.get("flip_horizontal", False):
            x = flip_axis(x, col_axis)
        if p.get("flip_vertical", False):
            x = flip_axis(x, row_axis)
        if p.get("brightness") is not None:
            x = apply_brightness_shift(x, p["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        """One image with a random transform applied."""
        return self.apply_transform(x, self.get_random_transform(numpy.shape(x), seed))

    @property
    def zca_whitening_matrix(self):
        """tf.keras's name of ``principal_components`` (Keras 2.3's)."""
        return self.principal_components

    # ------------------------------------------------------------------ statistics
    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the feature-wise statistics (mean, std, ZCA) of the images ``x``
        (4-D, after ``rescale``); ``augment``: of ``rounds`` randomly transformed copies."""
        x = numpy.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise DataError(f"ImageDataGenerator.fit: x must be 4-D (samples, ...). Received "
                            f"shape {x.shape}.")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: x has {x.shape[self.channel_axis]} channels "
                          f"on axis {self.channel_axis} ({self.data_format}); images usually have "
                          "1, 3 or 4.", UserWarning, stacklevel=2)
        if seed is not None:
            numpy.random.seed(seed)
        if self.rescale:  # standardize rescales before centring, so the statistics must too
            x = x * self.rescale
        if augment:
            x = numpy.concatenate([numpy.stack([self.random_transform(img) for img in x])
                                   for _ in range(rounds)])
        broadcast = [1, 1, 1]
        broadcast[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = numpy.mean(x, axis=axes).reshape(broadcast)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = numpy.std(x, axis=axes).reshape(broadcast)
            x = x / (self.std + 1e-6)
        if self.zca_whitening:
            # From the thin SVD of the data (not of its covariance): the whitening matrix
            # stays within the span of the images, and no (features x features) covariance
            # is formed; as tf.keras computes it.
            flat = x.reshape(len(x), -1)
            u, s, _ = numpy.linalg.svd(flat.T, full_matrices=False)
            self.principal_components = (u * (numpy.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T


class Iterator(Sequence):
    """Batches by index over ``n`` samples, reshuffled every epoch (Keras's Iterator)."""

    white_list_formats = IMAGE_EXTENSIONS

    def __init__(self, n, batch_size, shuffle, seed):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer. Received {batch_size!r}.")
        self.n, self.batch_size, self.shuffle, self.seed = n, int(batch_size), shuffle, seed
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self._set_index_array()

    def _set_index_array(self):
        self.index_array = numpy.arange(self.n)
        if self.shuffle:
            if self.seed is not None:
                rng = numpy.random.RandomState(self.seed + self.total_batches_seen)
            else:
                rng = backend.host_rng()
            self.index_array = rng.permutation(self.n)

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, idx):
        if idx >= len(self) or idx < -len(self):
            raise IndexError(f"batch {idx} of a {len(self)}-batch iterator")
        idx %= len(self)
        self.total_batches_seen += 1
        return self._batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)])

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        """The next batch, endlessly (reshuffling after each pass), as Keras's generators."""
        with self.lock:
            if self.batch_index == 0 and self.total_batches_seen:
                self._set_index_array()
            start = self.batch_index * self.batch_size
            indices = self.index_array[start:start + self.batch_size]
            self.batch_index = (self.batch_index + 1) % len(self)
            self.total_batches_seen += 1
        return self._batch(indices)

    next = __next__

    def _transform_all(self, images):
        generator = self.image_data_generator
        out = []
        for x in images:
            params = generator.get_random_transform(x.shape)
            x = generator.apply_transform(x.astype(self.dtype), params)
            out.append(generator.standardize(x))
        return numpy.stack(out).astype(self.dtype, copy=False)

    def _save(self, batch, indices):
        if self.save_to_dir is None:
            return
        rng = backend.host_rng()
        for i, j in enumerate(indices):
            img = array_to_img(batch[i], self.data_format, scale=True)
            name = f"{self.save_prefix}_{j}_{int(rng.integers(10_000))}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from arrays (what ``ImageDataGenerator.flow`` returns)."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, dtype=None):
        self.dtype = dtype or backend.floatx()
        self.data_format = default_data_format(data_format)
        x = numpy.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise DataError(f"ImageDataGenerator.flow: x must be 4-D (samples, rows, cols, "
                            f"channels) for {self.data_format}. Received shape {x.shape}.")
        if y is not None and len(x) != len(y):
            raise DataError(f"ImageDataGenerator.flow: x and y must have the same length; "
                            f"received {len(x)} and {len(y)}.")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise DataError(f"ImageDataGenerator.flow: x and sample_weight must have the same "
                            f"length; received {len(x)} and {len(sample_weight)}.")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ConfigError(f"ImageDataGenerator.flow: subset must be 'training' or "
                                  f"'validation'. Received: subset={subset!r}.")
            split = int(len(x) * image_data_generator._validation_split)  # noqa: SLF001
            if y is not None and split and not numpy.array_equal(
                    numpy.unique(numpy.asarray(y)[:split]), numpy.unique(numpy.asarray(y)[split:])):
                raise DataError("ImageDataGenerator.flow: the training and validation subsets "
                                "hold different classes after the split; shuffle x and y "
                                "before flow(..., subset=...).")
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x = x[part]
            y = None if y is None else numpy.asarray(y)[part]
            sample_weight = None if sample_weight is None else numpy.asarray(sample_weight)[part]
        channel_axis = 3 if self.data_format == "channels_last" else 1
        if x.shape[channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.flow: x has {x.shape[channel_axis]} channels on "
                          f"axis {channel_axis} ({self.data_format}); images usually have 1, 3 "
                          "or 4.", UserWarning, stacklevel=3)
        self.x = x
        self.y = None if y is None else numpy.asarray(y)
        self.sample_weight = None if sample_weight is None else numpy.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(len(x), batch_size, shuffle, seed)

    def _batch(self, indices):
        batch_x = self._transform_all(self.x[indices])
        self._save(batch_x, indices)
        if self.y is None:
            return batch_x
        out = (batch_x, self.y[indices])
        return out + (self.sample_weight[indices],) if self.sample_weight is not None else out


class DirectoryIterator(Iterator):
    """Batches of images read from ``directory/<class>/...`` (what
    ``ImageDataGenerator.flow_from_directory`` returns).

    Attributes: ``filenames`` (relative to ``directory``), ``classes`` (each file's class
    index), ``class_indices`` (``{class name: index}``), ``samples``, ``num_classes``.
    """

    CLASS_MODES = ("categorical", "binary", "sparse", "input", None)

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 dtype=None):
        if class_mode not in self.CLASS_MODES:
            raise ConfigError(f"flow_from_directory: class_mode must be one of "
                              f"{self.CLASS_MODES}. Received: class_mode={class_mode!r}.")
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}
        if color_mode not in channels:
            raise ConfigError(f"flow_from_directory: color_mode must be 'rgb', 'rgba' or "
                              f"'grayscale'. Received: color_mode={color_mode!r}.")
        if not os.path.isdir(directory):
            raise DataError(f"flow_from_directory: {directory!r} is not a directory. It should "
                            "hold one sub-directory of images per class.")
        self.directory = os.fspath(directory)
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.data_format = default_data_format(data_format)
        self.dtype = dtype or backend.floatx()
        self.interpolation = interpolation
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        if self.data_format == "channels_last":
            self.image_shape = self.target_size + (channels[color_mode],)
        else:
            self.image_shape = (channels[color_mode],) + self.target_size
        split = image_data_generator._validation_split  # noqa: SLF001
        if subset is not None and subset not in ("training", "validation"):
            raise ConfigError(f"flow_from_directory: subset must be 'training' or 'validation'. "
                              f"Received: subset={subset!r}.")
        if subset == "validation":
            fraction = (0, split)
        elif subset == "training":
            fraction = (split, 1)
        else:
            fraction = None
        if classes is None:
            classes = sorted(d for d in os.listdir(self.directory)
                             if os.path.isdir(os.path.join(self.directory, d)))
        self.class_indices = {name: i for i, name in enumerate(classes)}
        self.num_classes = len(classes)
        filenames, labels = [], []
        for name in classes:
            files = _image_files(os.path.join(self.directory, name), follow_links)
            if fraction is not None:
                files = files[int(fraction[0] * len(files)):int(fraction[1] * len(files))]
            filenames += [os.path.relpath(f, self.directory) for f in files]
            labels += [self.class_indices[name]] * len(files)
        self.filenames = filenames
        self.filepaths = [os.path.join(self.directory, f) for f in filenames]
        self.classes = numpy.array(labels, dtype="int32")
        self.samples = len(filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self):
        return self.classes

    def _batch(self, indices):
        images = []
        for j in indices:
            img = load_img(self.filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size, interpolation=self.interpolation)
            images.append(img_to_array(img, data_format=self.data_format, dtype=self.dtype))
        batch_x = self._transform_all(images) if images else numpy.zeros(
            (0,) + self.image_shape, dtype=self.dtype)
        self._save(batch_x, indices)
        labels = self.classes[indices]
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("sparse", "binary"):
            return batch_x, labels.astype(self.dtype)
        onehot = numpy.zeros((len(indices), self.num_classes), dtype=self.dtype)
        onehot[numpy.arange(len(indices)), labels] = 1
        return batch_x, onehot


def _image_files(directory, follow_links):
    """Image files under ``directory`` (recursively), in Keras's order."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda t: t[0]):
        for name in sorted(files):
            if name.lower().rsplit(".", 1)[-1] in IMAGE_EXTENSIONS and "." in name:
                found.append(os.path.join(root, name))
    return found
