"""Weight initializers (Keras 2 names and defaults), all drawing from threestep's seeded RNG.

Fans follow Keras: a Dense kernel (in, out) has fan_in=in, fan_out=out; a conv kernel
(*spatial, in, out) multiplies both by the receptive field size.
"""
import math

import numpy

from .. import backend
from ..custom_objects import Configurable, instantiate
from ..errors import ConfigError, unknown_name


def compute_fans(shape):
    """The (fan_in, fan_out) of a weight of ``shape``, as Keras counts them.

    A Dense kernel (in, out) has fans (in, out); a convolution kernel (*spatial, in, out)
    multiplies both by the receptive field size. The Glorot, He and LeCun initializers scale
    their spread by these, so a signal keeps its size from layer to layer.

    Args:
        shape: the weight's shape.

    Returns:
        (fan_in, fan_out), two ints.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(Configurable):
    """Base: ``init(shape, dtype=None)`` returns an array on the current device."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError


def _dtype(dtype):
    return dtype or backend.floatx()


def _rng(seed):
    if seed is None:
        return backend.rng()
    return backend._make_rng(seed)


class Zeros(Initializer):
    """All weights 0: the default for biases (a kernel of zeros would make every unit the same).

    Example:
        >>> layer = Dense(10, bias_initializer=Zeros())
        >>> Zeros()((2,))
        array([0., 0.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return backend.get_xp().zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    """All weights 1 (e.g. batch normalization's gamma, which starts as the identity).

    Example:
        >>> Ones()((2,))
        array([1., 1.], dtype=float32)
    """

    def __call__(self, shape, dtype=None):
        return backend.get_xp().ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    """Every weight set to ``value``.

    Args:
        value: the number every weight starts at (default 0).

    Example:
        >>> Constant(0.1)((2,))
        array([0.1, 0.1], dtype=float32)
        >>> layer = Dense(10, bias_initializer=Constant(0.1))  # slightly active ReLUs at the start
    """

    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return backend.get_xp().full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Weights drawn from a normal distribution N(mean, stddev^2), from threestep's seeded generator.

    A fixed spread whatever the layer's size: for deep nets the scaled Glorot or He
    initializers keep the signal's size better.

    Args:
        mean: the mean (default 0).
        stddev: the standard deviation (default 0.05).
        seed: an int for a generator of its own; None draws from ``backend.rng()``.

    Example:
        >>> RandomNormal(stddev=0.01, seed=0)((784, 10)).shape
        (784, 10)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        x = _rng(self.seed).standard_normal(shape) * self.stddev + self.mean
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Weights drawn uniformly from [minval, maxval).

    Args:
        minval: lower bound (default -0.05).
        maxval: upper bound (default 0.05).
        seed: an int for a generator of its own; None draws from ``backend.rng()``.

    Example:
        >>> w = RandomUniform(-0.1, 0.1, seed=0)((3, 4))
        >>> bool((abs(w) <= 0.1).all())
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, shape, stddev):
    """Normal values redrawn until within 2 standard deviations (as TF's truncated_normal)."""
    x = rng.standard_normal(shape)
    bad = abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = abs(x) > 2
    return x * stddev


class TruncatedNormal(Initializer):
    """Normal weights redrawn until within 2 standard deviations of the mean (no outliers).

    Args:
        mean: the mean (default 0).
        stddev: the standard deviation before truncation (default 0.05).
        seed: an int for a generator of its own; None draws from ``backend.rng()``.

    Example:
        >>> w = TruncatedNormal(stddev=0.1, seed=0)((100, 100))
        >>> bool((abs(w) <= 0.2).all())
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return (_truncated_normal(_rng(self.seed), shape, self.stddev) + self.mean).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: the parent of the Glorot, He and LeCun initializers."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if scale <= 0:
            raise ConfigError(f"VarianceScaling: scale must be positive. Received: scale={scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ConfigError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg. Received: mode={mode!r}.")
        if distribution == "normal":  # Keras 2.3 spelling for the truncated normal
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ConfigError(f"VarianceScaling: invalid distribution. Received: distribution={distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            x = rng.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            # 0.8796... is the std of a unit normal truncated to [-2, 2]
            x = _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)
        else:
            x = rng.standard_normal(shape) * math.sqrt(variance)
        return x.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling_subclass(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _variance_scaling_subclass("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling_subclass("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _variance_scaling_subclass("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _variance_scaling_subclass("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _variance_scaling_subclass("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling_subclass("LecunUniform", 1.0, "fan_in", "uniform")


class Identity(Initializer):
    """gain * I for 2-D square-or-not kernels (IRNN's recurrent kernel)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ConfigError(f"Identity initializer needs a 2-D shape. Received: shape={tuple(shape)}.")
        return (backend.get_xp().eye(*shape) * self.gain).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class Orthogonal(Initializer):
    """A random orthogonal matrix (QR of a Gaussian, sign-corrected), times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        cols = shape[-1]
        a = backend.to_numpy(_rng(self.seed).standard_normal((max(rows, cols), min(rows, cols))))
        q, r = numpy.linalg.qr(a)
        q *= numpy.sign(numpy.diag(r))
        if rows < cols:
            q = q.T
        return backend.asarray((self.gain * q[:rows, :cols]).reshape(shape).astype(_dtype(dtype)))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_REGISTRY = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "identity": Identity,
    "orthogonal": Orthogonal,
}


def get(identifier):
    """An initializer from a name, a config dict, an Initializer, or a callable(shape, dtype)."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _REGISTRY.get(_snake(name)) if isinstance(name, str) else None
        if cls is None:
            custom = instantiate(name, identifier.get("config") or {}, Initializer, "initializer")
            if custom is not None:
                return custom
            raise _unknown(name)
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):  # 'glorot_uniform', or the class name 'GlorotUniform'
        cls = _REGISTRY.get(identifier.lower()) or _REGISTRY.get(_snake(identifier))
        if cls is None:
            custom = instantiate(identifier, {}, Initializer, "initializer")
            if custom is not None:
                return custom
            raise _unknown(identifier)
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    raise ConfigError(f"Could not interpret initializer: {identifier!r}.")


def _unknown(name):
    error = unknown_name("initializer", name, _REGISTRY)
    return type(error)(f"{error} If it is your own Initializer, pass custom_objects={{{name!r}: {name}}} to "
                       "load_model (or use custom_object_scope).")


def serialize(initializer):
    """An initializer as ``{"class_name", "config"}``, the form model files store.

    Args:
        initializer: an ``Initializer`` instance.

    Returns:
        dict; ``get`` turns it back into an initializer.

    Raises:
        ConfigError: for a plain function (it has no config to store); subclass Initializer.

    Example:
        >>> serialize(Constant(0.1))
        {'class_name': 'Constant', 'config': {'value': 0.1}}
    """
    if isinstance(initializer, Initializer):
        return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
    raise ConfigError(f"Cannot serialize a custom initializer function {initializer!r}; use an Initializer subclass.")


def _snake(name):
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out.replace("he_", "he_").replace("lecun_", "lecun_")


# CamelCase lookups for dict configs (class_name "GlorotUniform" -> "glorot_uniform").
for _cls in list(set(_REGISTRY.values())):
    _REGISTRY.setdefault(_snake(_cls.__name__), _cls)

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
           "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
           "Identity", "Orthogonal", "compute_fans", "get", "serialize"]
