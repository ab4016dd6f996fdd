"""The array namespace (``xp``): NumPy by default, CuPy on request.

Everything that does array math asks this module for ``xp`` (or calls
``get_array_module(x)`` on the data at hand), so the NumPy code path and the CuPy code
path are the same lines of code. The backend is chosen once, by
``set_backend("numpy"|"cupy")`` or the environment variable ``THREESTEP_BACKEND``.

Also here: the default float dtype (float32) and the one random generator that
initialisation, shuffling and dropout masks draw from, seeded by ``set_seed``.
"""
import os
import sys

import numpy

from .errors import BackendError, ConfigError

_BACKENDS = ("numpy", "cupy")
_state = {"name": "numpy", "xp": numpy, "floatx": "float32", "rng": numpy.random.default_rng()}


def _import_cupy():
    try:
        import cupy  # noqa: PLC0415  (optional dependency)
    except ImportError as exc:
        raise BackendError(
            "The 'cupy' backend needs CuPy, which is not installed. Install the build that "
            "matches your CUDA version, e.g. `pip install cupy-cuda12x`, or use the default "
            "backend: set_backend('numpy') / THREESTEP_BACKEND=numpy."
        ) from exc
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver errors are not ImportError
        raise BackendError(f"CuPy is installed but no usable CUDA GPU was found: {exc}") from exc
    return cupy


def set_backend(name):
    """Select the array library: ``"numpy"`` (CPU) or ``"cupy"`` (NVIDIA GPU)."""
    name = str(name).lower()
    if name not in _BACKENDS:
        raise ConfigError(f"Unknown backend {name!r}. Valid backends: 'numpy', 'cupy'.")
    xp = _import_cupy() if name == "cupy" else numpy
    _state.update(name=name, xp=xp)
    seed = _state.get("seed")
    _state["rng"] = _make_rng(seed)


def backend_name():
    """The array library in use: "numpy" (CPU) or "cupy" (an NVIDIA GPU).

    Returns:
        str, as set by ``set_backend`` (or the ``THREESTEP_BACKEND`` choice at import).

    Example:
        >>> backend_name()
        'numpy'
    """
    return _state["name"]


def free_device_memory():
    """Bytes the current GPU can still hand out (the driver's free memory plus what CuPy's pool
    holds unused), or None on the NumPy backend."""
    if _state["name"] != "cupy":
        return None
    cupy = _state["xp"]
    return int(cupy.cuda.runtime.memGetInfo()[0]) + int(cupy.get_default_memory_pool().free_bytes())


def get_xp():
    """The current array namespace (``numpy`` or ``cupy``)."""
    return _state["xp"]


def get_array_module(*arrays):
    """``cupy`` if any argument is a CuPy array, else ``numpy`` (like ``cupy.get_array_module``)."""
    if _state["name"] == "cupy":
        import cupy  # noqa: PLC0415

        return cupy.get_array_module(*arrays)
    return numpy


def floatx():
    """The default float dtype name ('float32' unless changed)."""
    return _state["floatx"]


def set_floatx(dtype):
    """Set the default float dtype: 'float32' (default), 'float64' (gradient checks) or 'float16'."""
    dtype = numpy.dtype(dtype).name
    if dtype not in ("float16", "float32", "float64"):
        raise ConfigError(f"floatx must be float16, float32 or float64. Received: {dtype!r}.")
    _state["floatx"] = dtype


_FORMATS = ("channels_last", "channels_first")


def keras_dir():
    """Keras's configuration folder: $KERAS_HOME, else ~/.keras (/tmp/.keras where home is read-only)."""
    if os.environ.get("KERAS_HOME"):
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def _keras_config():
    """``image_data_format`` and ``epsilon`` from keras.json, read once (as Keras reads it at import)."""
    if "keras_config" not in _state:
        import json  # noqa: PLC0415

        config = {}
        path = os.path.join(keras_dir(), "keras.json")
        try:
            with open(path, encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                config = loaded
        except (OSError, ValueError):
            pass
        image_format = config.get("image_data_format", "channels_last")
        epsilon = config.get("epsilon", 1e-7)
        _state["keras_config"] = {
            "image_data_format": image_format if image_format in _FORMATS else "channels_last",
            "epsilon": float(epsilon) if isinstance(epsilon, (int, float)) else 1e-7,
        }
    return _state["keras_config"]


def image_data_format():
    """'channels_last' (default) or 'channels_first': the layout of every image layer whose
    ``data_format`` is None. Read from ``image_data_format`` in ``$KERAS_HOME/keras.json``
    (``~/.keras/keras.json``) when present; set with ``set_image_data_format``."""
    return _keras_config()["image_data_format"]


def set_image_data_format(data_format):
    """Set the default image layout for layers created afterwards ('channels_last' / 'channels_first')."""
    if data_format not in _FORMATS:
        raise ConfigError(f"image_data_format must be 'channels_last' or 'channels_first'. "
                          f"Received: {data_format!r}.")
    _keras_config()["image_data_format"] = data_format


def epsilon():
    """The fuzz factor of Keras backend formulas (1e-7, or ``epsilon`` in keras.json)."""
    return _keras_config()["epsilon"]


def set_epsilon(value):
    """Sets the fuzz factor ``epsilon()`` that losses and metrics add to avoid division by zero."""
    _keras_config()["epsilon"] = float(value)


def reload_keras_config():
    """Forget the values read from keras.json (and any set_* calls), so the next read re-reads the file."""
    _state.pop("keras_config", None)


def _make_rng(seed):
    if _state["name"] == "cupy":
        import cupy  # noqa: PLC0415

        return cupy.random.default_rng(seed)
    return numpy.random.default_rng(seed)


def set_seed(seed):
    """Seed every random number threestep draws (initialisation, shuffling, dropout)."""
    _state["seed"] = seed
    _state["rng"] = _make_rng(seed)
    _state["host_rng"] = numpy.random.default_rng(seed)


def rng():
    """The generator on the current device (CuPy's on GPU) for weights and dropout masks."""
    return _state["rng"]


def host_rng():
    """A NumPy generator for host-side randomness (shuffling indices of NumPy data)."""
    if "host_rng" not in _state:
        _state["host_rng"] = numpy.random.default_rng(_state.get("seed"))
    return _state["host_rng"]


def get_rng_state():
    """The generators' states, so a checkpoint can resume the same random stream.

    CuPy's device generator cannot report its state, so on the GPU only the host
    generator (shuffling) is captured and a resume is not bit-identical.
    """
    device = None if _state["name"] == "cupy" else _state["rng"].bit_generator.state
    return {"rng": device, "host_rng": host_rng().bit_generator.state}


def set_rng_state(state):
    """Restore the random generators from ``get_rng_state()``'s dict.

    Used to resume a run where it stopped: the next shuffles and dropout masks are the ones
    the interrupted run would have drawn.

    Args:
        state: the dict ``get_rng_state()`` returned.

    Example:
        >>> state = get_rng_state()
        >>> a = rng().random()
        >>> set_rng_state(state)
        >>> rng().random() == a
        True
    """
    if state.get("rng") is not None:
        _state["rng"].bit_generator.state = state["rng"]
    host_rng().bit_generator.state = state["host_rng"]


def asarray(data, dtype=None):
    """``data`` as an array on the current device (copying only when needed)."""
    return get_xp().asarray(data, dtype=dtype)


def to_numpy(array):
    """A NumPy array of ``array`` (moves data off the GPU); tests compare on the host with it."""
    if isinstance(array, numpy.ndarray):
        return array
    if hasattr(array, "get"):  # cupy.ndarray
        return array.get()
    return numpy.asarray(array)


_DEVICES = {"cpu": "numpy", "numpy": "numpy", "host": "numpy",
            "gpu": "cupy", "cuda": "cupy", "cupy": "cupy", "cuda:0": "cupy", "gpu:0": "cupy"}


def device_backend(device):
    """The backend that holds arrays on ``device``: 'cpu' -> 'numpy', 'gpu' / 'cuda' -> 'cupy'."""
    name = str(device).lower()
    if name not in _DEVICES:
        raise ConfigError(f"Unknown device {device!r}. Valid devices: 'cpu' (NumPy) and 'gpu' (CuPy; also "
                          "'cuda', 'cuda:0'). threestep uses one GPU: the current CUDA device.")
    return _DEVICES[name]


def to_device(array, device):
    """``array`` on ``device`` ('cpu' or 'gpu'); the GPU needs the 'cupy' backend to be importable."""
    if device_backend(device) == "numpy":
        return to_numpy(array)
    cupy = sys.modules.get("cupy") or _import_cupy()
    return array if type(array).__module__.startswith("cupy") else cupy.asarray(array)


def on_device(data):
    """``data`` as an array of the current backend: NumPy arrays move to the GPU under CuPy.
    A NumPy subclass (a memory-mapped batch, np.matrix) becomes a plain ndarray view, so that
    it takes the same code paths as in-memory data (the fused kernels serve plain arrays only:
    memory-mapped labels once took the NumPy softmax-CE and trained a last ulp differently)."""
    gpu = on_gpu(data)
    if _state["name"] == "cupy":
        return data if gpu else _state["xp"].asarray(data)
    return data if type(data) is numpy.ndarray or gpu else numpy.asarray(data)


def is_array(obj):
    """Whether ``obj`` is an array of a backend (a NumPy or a CuPy ndarray), not a Tensor or a list.

    Example:
        >>> is_array(np.zeros(3)), is_array([0.0])
        (True, False)
    """
    return isinstance(obj, numpy.ndarray) or type(obj).__module__.startswith("cupy")


def on_gpu(array):
    """Whether ``array`` is a CuPy (device) array."""
    return type(array).__module__.startswith("cupy")


def _tune_malloc():
    """Keep freed array memory in the process instead of returning it to the OS at once.

    glibc gives every block over 128 KiB its own mmap and unmaps it on free, so each
    mini-batch's temporaries (im2col patches, gradients) are fresh pages that the kernel
    must fault in and zero again: on the lecture CNN a large share of a training step (RESULTS.md).
    Raising the mmap and trim thresholds lets malloc reuse those blocks. The price is that
    the process keeps its peak heap. Set THREESTEP_MALLOC_TUNING=0 to leave malloc alone.
    """
    if os.environ.get("THREESTEP_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_trim_threshold, 1 << 30) and libc.mallopt(m_mmap_threshold, 1 << 25))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False


MALLOC_TUNED = _tune_malloc()

if os.environ.get("THREESTEP_BACKEND"):
    set_backend(os.environ["THREESTEP_BACKEND"])

__all__ = ["set_backend", "backend_name", "free_device_memory", "get_xp", "get_array_module", "floatx",
           "set_floatx", "set_seed", "rng", "host_rng", "get_rng_state", "set_rng_state", "asarray", "to_numpy",
           "device_backend", "to_device", "on_device", "is_array", "on_gpu"]
