"""``cupy.random`` for the fake CuPy: CuPy's ``Generator`` API and the legacy module-level functions."""
import types

import numpy as _np

from ._core import _check_host, _count, _unwrap, _wrap_np, ndarray

# ---------------------------------------------------------------------------------------
# cupy.random: CuPy's Generator API (a subset of NumPy's), numbers from NumPy's PCG64
# ---------------------------------------------------------------------------------------
class _BitGenerator:
    """CuPy's bit generators cannot report or take NumPy's ``state`` dict: assigning it fails."""

    __slots__ = ("_np_bitgen",)

    def __init__(self, np_bitgen):
        self._np_bitgen = np_bitgen

    def state(self):  # a device pointer on CuPy; a method, not NumPy's property
        return id(self)


class Generator:
    def __init__(self, bit_generator):
        self.bit_generator = bit_generator
        self._g = _np.random.Generator(bit_generator._np_bitgen)

    def _draw(self, method, *args, astype=None, **kwargs):
        _check_host(args)
        _check_host(kwargs)
        result = _np.asarray(getattr(self._g, method)(*_unwrap(args), **_unwrap(kwargs)))
        if astype is not None:
            result = result.astype(astype, copy=False)
        _count()
        return _wrap_np(result)

    def _into(self, method, size, dtype, out):
        """A draw written into the device array ``out`` (one kernel)."""
        getattr(self._g, method)(size, dtype=dtype, out=out._a)
        _count()
        return out

    def random(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            return self._into("random", size, dtype, out)
        return self._draw("random", size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return self._draw("uniform", low, high, size, astype=dtype)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return self._draw("integers", int(low), None if high is None else int(high), size, dtype=dtype,
                          endpoint=endpoint)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            return self._into("standard_normal", size, dtype, out)
        return self._draw("standard_normal", size, dtype=dtype)

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        return self._draw("standard_exponential", size, dtype=dtype)

    def exponential(self, scale=1.0, size=None):
        return self.standard_exponential(size) * scale

    def gamma(self, shape, scale=1.0, size=None):
        return self._draw("gamma", shape, scale, size)

    def standard_gamma(self, shape, size=None, dtype=_np.float64, out=None):
        return self._draw("standard_gamma", shape, size, dtype=dtype)

    def beta(self, a, b, size=None, dtype=_np.float64):
        return self._draw("beta", a, b, size, astype=dtype)

    def binomial(self, n, p, size=None):
        return self._draw("binomial", n, p, size)

    def poisson(self, lam=1.0, size=None):
        return self._draw("poisson", lam, size)


def _default_rng(seed=None):
    if isinstance(seed, Generator):
        return seed
    return Generator(_BitGenerator(_np.random.PCG64(seed)))


random = types.ModuleType("cupy.random")
random.Generator = Generator
random.default_rng = _default_rng
_legacy = _np.random.RandomState()


def _legacy_fn(name):
    def fn(*args, **kwargs):
        _check_host(args)
        result = _wrap_np(_np.asarray(getattr(_legacy, name)(*_unwrap(args), **_unwrap(kwargs))))
        _count()
        return result

    fn.__name__ = name
    return fn


for _name in ("rand", "randn", "random", "random_sample", "uniform", "normal", "standard_normal",
              "randint", "permutation", "choice", "binomial"):
    setattr(random, _name, _legacy_fn(_name))
random.seed = lambda seed=None: _legacy.seed(seed)


def _shuffle(a):
    if not isinstance(a, ndarray):
        raise TypeError("The array must be cupy.ndarray")
    _legacy.shuffle(a._a)
    _count()


random.shuffle = _shuffle
