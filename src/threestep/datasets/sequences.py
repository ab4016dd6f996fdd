"""Synthetic sequence tasks for recurrent networks: the adding problem, parity, and images
read one row (or one pixel) per time step.

* :func:`adding_problem` (Hochreiter & Schmidhuber, 1997; in the form of Le, Jaitly &
  Hinton, 2015, "A simple way to initialize recurrent networks of rectified linear
  units"): remember two marked numbers across ``T`` steps and output their sum.
* :func:`parity`: the parity of a bit string, read one bit per step.
* :func:`row_sequential`: each 28x28 image as 28 time steps of 28 features; with
  ``permuted=True`` the pixels are first shuffled by one fixed permutation.
* :func:`pixel_sequential`: each image as 784 steps of one pixel (Le et al.'s "pixel MNIST";
  ``permuted=True`` gives their permuted MNIST).

Every generator draws from its own ``numpy.random.default_rng(seed)``: the same arguments
give the same arrays on every machine, independent of threestep's global seed.

Example:

    >>> from threestep.datasets import sequences
    >>> x, y = sequences.adding_problem(1000, T=100, seed=0)
    >>> x.shape, y.shape
    ((1000, 100, 2), (1000,))
    >>> float(((y - 1.0) ** 2).mean())  # the baseline: always answering 1
    0.16...
"""
import numpy

from ..errors import ConfigError, DataError

#: MSE of always predicting 1, the expected sum: Var(U1 + U2) = 2 * 1/12 = 1/6. A network
#: that has not learned to find the markers stays at this value.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_int(name, value, minimum, where):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < minimum:
        raise ConfigError(f"{where}: {name} must be an integer >= {minimum}. "
                          f"Received: {name}={value!r}.")
    return int(value)


def adding_problem(n, T, seed=0):
    """The adding problem: ``n`` sequences of length ``T``, target the sum of two marked values.

    Each step carries two features: a value drawn from U[0, 1] and a marker. Exactly two
    markers are 1, the first at a uniformly random step of the first half ``[0, T//2)``
    and the second in the second half ``[T//2, T)`` (Le et al. 2015); the target is the
    sum of the two marked values, in [0, 2]. The network must carry the first value
    across at least ``T//2 - 1`` steps of distractors.

    Baseline: always predicting 1 (the mean of the target) scores the target's variance,
    MSE = Var(U1 + U2) = 1/6 ~ 0.167 (``ADDING_BASELINE_MSE``); Le et al. count a model as
    solving the task when its test MSE is well below it.

    Args:
        n: number of sequences.
        T: sequence length, at least 2.
        seed: seed of the private generator.

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, T, 2)`` (``x[..., 0]`` values, ``x[..., 1]``
        markers), ``y`` float32 ``(n,)``.
    """
    n = _check_int("n", n, 0, "adding_problem")
    T = _check_int("T", T, 2, "adding_problem")
    rng = numpy.random.default_rng(seed)
    values = rng.random((n, T), dtype=numpy.float32)
    half = T // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, T, n)
    markers = numpy.zeros((n, T), dtype=numpy.float32)
    rows = numpy.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return numpy.stack([values, markers], axis=-1), y.astype(numpy.float32)


def parity(n, T, seed=0):
    """Bit strings read one bit per step; the target is 1 when the number of ones is odd.

    Returns:
        ``(x, y)``: ``x`` float32 ``(n, T, 1)`` of 0/1, ``y`` int64 ``(n,)`` of 0/1.
    """
    n = _check_int("n", n, 0, "parity")
    T = _check_int("T", T, 1, "parity")
    bits = numpy.random.default_rng(seed).integers(0, 2, (n, T))
    return bits[..., None].astype(numpy.float32), (bits.sum(axis=1) % 2).astype(numpy.int64)


def _images_to_unit(images, scale, where):
    """``images`` as float32 ``(n, H, W)`` in [0, 1]; (n, 784) is read as 28x28."""
    x = numpy.asarray(images)
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(len(x), 28, 28)
    if x.ndim == 4 and x.shape[-1] == 1:  # (n, H, W, 1) channels-last
        x = x[..., 0]
    if x.ndim != 3:
        raise DataError(f"{where}: images must be shaped (n, H, W), (n, H, W, 1) or "
                        f"(n, 784). Received: shape {x.shape}.")
    if x.dtype.kind not in "uif" or x.dtype == bool:
        raise DataError(f"{where}: images must be numbers. Received: dtype {x.dtype}.")
    if scale is None:
        scale = 255.0 if x.dtype.kind in "ui" else 1.0
    x = x.astype(numpy.float32) / numpy.float32(scale)
    if x.size and (not numpy.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise DataError(f"{where}: after dividing by scale={scale}, the pixels span "
                        f"[{x.min()}, {x.max()}], not [0, 1]. Integer images are divided "
                        "by 255 and float images by 1 unless you pass scale= (e.g. "
                        "scale=16 for the 0..16 digits).")
    return x


def _permutation(size, seed):
    return numpy.random.default_rng(seed).permutation(size)


def row_sequential(images, permuted=False, seed=0, scale=None):
    """Images as sequences of rows: a 28x28 image becomes 28 time steps of 28 features.

    Args:
        images: ``(n, H, W)`` (e.g. ``mnist.load_data()``'s uint8 images), ``(n, H, W, 1)``
            or ``(n, 784)`` (read as 28x28).
        permuted: first shuffle the H*W pixels of every image by one fixed permutation
            (drawn from ``seed``), then cut them into rows: the row structure is gone, so
            the network must integrate over the whole sequence. Use the same ``seed`` for
            the training and the test images.
        seed: seed of the permutation (used only with ``permuted=True``).
        scale: divide pixels by this; default 255 for integer images and 1 for floats.

    Returns:
        float32 ``(n, H, W)`` in [0, 1]: step t is row t.

    Example:

        >>> from threestep.datasets import mnist
        >>> (x_train, y_train), _ = mnist.load_data()
        >>> row_sequential(x_train).shape        # feed to SimpleRNN(input_shape=(28, 28))
        (60000, 28, 28)
    """
    x = _images_to_unit(images, scale, "row_sequential")
    if permuted:
        n, h, w = x.shape
        x = x.reshape(n, h * w)[:, _permutation(h * w, seed)].reshape(n, h, w)
    return numpy.ascontiguousarray(x)


def pixel_sequential(images, permuted=False, seed=0, scale=None):
    """Images as sequences of pixels: ``(n, H*W, 1)`` float32 in [0, 1] (784 steps for
    MNIST), in raster order or, with ``permuted=True``, in one fixed random order drawn
    from ``seed`` (Le et al. 2015's pixel MNIST and permuted MNIST)."""
    x = _images_to_unit(images, scale, "pixel_sequential")
    x = x.reshape(len(x), -1)
    if permuted:
        x = x[:, _permutation(x.shape[1], seed)]
    return numpy.ascontiguousarray(x[..., None])
