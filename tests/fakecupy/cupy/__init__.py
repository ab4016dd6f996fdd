"""A strict CuPy stand-in, for tests only: runs threestep's CuPy code path on a CPU.

``THREESTEP_FAKE_CUPY=1`` makes tests/conftest.py put this directory first on ``sys.path``,
so ``import cupy`` finds this package. Its arrays (``cupy.ndarray``) hold a NumPy array but
are *not* NumPy arrays, and they refuse what real CuPy arrays refuse:

* implicit conversion to NumPy: ``np.asarray(x)``, ``np.array(x)``, ``np.testing.*(x)``,
  ``pandas``/``matplotlib`` on ``x`` raise ``TypeError: Implicit conversion to a NumPy array
  is not allowed...``; use ``x.get()`` / ``cupy.asnumpy(x)`` / ``threestep.backend.to_numpy``;
* mixing with host arrays: a ufunc or a ``cupy`` function that gets a NumPy array with
  ``ndim > 0`` (``x + host``, ``cupy.exp(host)``, ``cupy.concatenate([x, host])``) raises
  ``TypeError`` (NumPy scalars, 0-d arrays and Python numbers are fine, as on CuPy);
* reductions and integer indexing give 0-d device arrays, not NumPy scalars;
* ``cupy.random.Generator`` has only the methods CuPy's has (no ``normal``,
  ``permutation``, ``shuffle`` or ``choice``).

NumPy functions called on these arrays dispatch (``__array_function__`` /
``__array_ufunc__``) to the same-named ``cupy`` function and return device arrays, as real
CuPy does. The numbers come from NumPy, so results equal the NumPy backend's; what this
checks is that the device path never leaks host arrays in or device arrays out, not that
CUDA kernels are right (a GPU run does that).
"""
import numbers
import operator
import sys
import types

import numpy as _np

__version__ = "13.0.0+fake"
_FAKE = True

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")


def _unsupported(obj):
    return TypeError(f"Unsupported type {type(obj)}")


def _wrap_np(a):
    obj = ndarray.__new__(ndarray)
    obj._a = a
    return obj


def _wrap(x):
    """NumPy results -> device arrays (NumPy scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(x, _np.ndarray):
        return _wrap_np(x)
    if isinstance(x, _np.generic):
        return _wrap_np(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _unwrap(x):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _check_host(x):
    """Raise like CuPy when a host (NumPy) array with ndim > 0 reaches device code."""
    if isinstance(x, _np.ndarray) and x.ndim > 0:
        raise _unsupported(x)
    if isinstance(x, (list, tuple)):
        for v in x:
            _check_host(v)
    elif isinstance(x, dict):
        for v in x.values():
            _check_host(v)


def _check_ufunc_operand(x):
    if isinstance(x, ndarray) or x is None:
        return
    if isinstance(x, _np.ndarray):
        if x.ndim > 0:
            raise _unsupported(x)
        return
    if isinstance(x, (numbers.Number, _np.generic)):
        return
    raise _unsupported(x)


def _apply_ufunc(uf, method, inputs, kwargs):
    for i, x in enumerate(inputs):
        if not (method == "at" and i == 1):  # ufunc.at's indices index like x[...]: host arrays allowed
            _check_ufunc_operand(x)
    out = kwargs.get("out")
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:
            if o is not None and not isinstance(o, ndarray):
                raise TypeError(f"Output arrays must be cupy.ndarray, not {type(o)}")
        kwargs = dict(kwargs, out=tuple(_unwrap(o) for o in outs))
    _check_host(kwargs.get("where"))
    if method == "at":
        a, idx, *rest = inputs
        if not isinstance(a, ndarray):
            raise _unsupported(a)
        getattr(uf, "at")(a._a, _unwrap(idx), *_unwrap(rest))
        return None
    result = getattr(uf, method)(*_unwrap(inputs), **_unwrap(kwargs))
    if out is not None:
        return out if isinstance(out, tuple) and len(out) > 1 else (out[0] if isinstance(out, tuple) else out)
    return _wrap(result)


# ---------------------------------------------------------------------------------------
# cupy.ndarray
# ---------------------------------------------------------------------------------------
def _binop(uf):
    def fwd(self, other):
        if not isinstance(other, (ndarray, _np.ndarray, numbers.Number, _np.generic)):
            return NotImplemented
        return _apply_ufunc(uf, "__call__", (self, other), {})

    def rev(self, other):
        if not isinstance(other, (ndarray, _np.ndarray, numbers.Number, _np.generic)):
            return NotImplemented
        return _apply_ufunc(uf, "__call__", (other, self), {})

    def inplace(self, other):
        if not isinstance(other, (ndarray, _np.ndarray, numbers.Number, _np.generic)):
            return NotImplemented
        _apply_ufunc(uf, "__call__", (self, other), {"out": (self,)})
        return self

    return fwd, rev, inplace


_FORWARDED_METHODS = (
    "all any argmax argmin argpartition argsort astype clip compress conj conjugate copy cumprod "
    "cumsum diagonal dot fill flatten max mean min nonzero partition prod put ravel repeat "
    "reshape round searchsorted sort squeeze std sum swapaxes take trace transpose var view"
).split()


class ndarray:
    """Device array stand-in: wraps a private NumPy array, refuses implicit host conversion."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = _np.empty(shape, dtype=dtype, order=order)

    # -- the refusals that make this strict ------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        if uf.__name__ not in _UFUNC_NAMES:
            return NotImplemented
        return _apply_ufunc(uf, method, inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        target = _lookup_for(func)
        if target is None:
            return NotImplemented
        return target(*args, **kwargs)

    # -- host transfers ----------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            out[...] = self._a
            return out
        return _np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, not {type(arr)}")
        if arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("Shape or dtype mismatch")
        self._a[...] = arr

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def tobytes(self, order="C"):
        return self._a.tobytes(order)

    # -- attributes --------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))  # CuPy's: no ``writeable``
    T = property(lambda self: _wrap_np(self._a.T))
    mT = property(lambda self: _wrap_np(_np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: _wrap_np(self._a.real))
    imag = property(lambda self: _wrap_np(self._a.imag))
    base = property(lambda self: None if self._a.base is None else _wrap_np(self._a.base))
    device = property(lambda self: cuda.Device(0))

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(row) for row in self._a)

    # -- Python scalars (these synchronise on a GPU; NumPy's rules for which shapes work) -------
    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __index__(self):
        return operator.index(self._a)

    # -- printing, copying, pickling -----------------------------------------------------------
    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)  # CuPy: format(self.get(), spec)

    def __copy__(self):
        return _wrap_np(self._a.copy())

    def __deepcopy__(self, memo):
        return _wrap_np(self._a.copy())

    def __reduce__(self):
        return (_from_host, (self._a.copy(),))

    # -- operators -----------------------------------------------------------------------------
    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)

    def __divmod__(self, other):
        return _apply_ufunc(_np.divmod, "__call__", (self, other), {})


for _name, _uf in [("add", _np.add), ("sub", _np.subtract), ("mul", _np.multiply),
                   ("truediv", _np.true_divide), ("floordiv", _np.floor_divide), ("mod", _np.remainder),
                   ("pow", _np.power), ("matmul", _np.matmul), ("and", _np.bitwise_and),
                   ("or", _np.bitwise_or), ("xor", _np.bitwise_xor), ("lshift", _np.left_shift),
                   ("rshift", _np.right_shift)]:
    _f, _r, _i = _binop(_uf)
    setattr(ndarray, f"__{_name}__", _f)
    setattr(ndarray, f"__r{_name}__", _r)
    setattr(ndarray, f"__i{_name}__", _i)
for _name, _uf in [("eq", _np.equal), ("ne", _np.not_equal), ("lt", _np.less), ("le", _np.less_equal),
                   ("gt", _np.greater), ("ge", _np.greater_equal)]:
    setattr(ndarray, f"__{_name}__", _binop(_uf)[0])


def _method(name):
    def method(self, *args, **kwargs):
        _check_host(args)
        _check_host(kwargs)
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"out must be cupy.ndarray, not {type(out)}")
        result = getattr(self._a, name)(*_unwrap(args), **_unwrap(kwargs))
        return out if out is not None else _wrap(result)

    method.__name__ = name
    return method


for _name in _FORWARDED_METHODS:
    setattr(ndarray, _name, _method(_name))


class _Flags:
    """``cupy.ndarray.flags``: c_contiguous, f_contiguous and owndata only (no ``writeable``: a
    broadcast view on a GPU is writable, and writing through it corrupts the shared elements)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous, self.f_contiguous = a.flags.c_contiguous, a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[key])


def _from_host(a):
    return _wrap_np(a)


# ---------------------------------------------------------------------------------------
# ufuncs and functions
# ---------------------------------------------------------------------------------------
class ufunc:
    """A CuPy-style ufunc: device arrays and scalars in, device arrays out; host arrays refused."""

    def __init__(self, np_ufunc):
        self._uf = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __call__(self, *inputs, **kwargs):
        return _apply_ufunc(self._uf, "__call__", inputs, kwargs)

    def reduce(self, *args, **kwargs):
        return _apply_ufunc(self._uf, "reduce", args[:1], dict(kwargs, **dict(zip(("axis", "dtype"), args[1:]))))

    def accumulate(self, *args, **kwargs):
        return _apply_ufunc(self._uf, "accumulate", args[:1], dict(kwargs, **dict(zip(("axis", "dtype"), args[1:]))))

    def outer(self, a, b, **kwargs):
        return _apply_ufunc(self._uf, "outer", (a, b), kwargs)

    def at(self, a, indices, b=None):
        _check_host(b)
        return _apply_ufunc(self._uf, "at", (a, indices) if b is None else (a, indices, b), {})

    def __repr__(self):
        return f"<ufunc '{self.__name__}'>"


_UFUNC_NAMES = {n for n in dir(_np) if isinstance(getattr(_np, n, None), _np.ufunc)}

# Creation routines that take host data (lists, NumPy arrays) and copy it to the device.
_FROM_HOST = {"array", "asarray", "asanyarray", "ascontiguousarray", "copy", "frombuffer", "fromfile"}
# Routines that only read shape/dtype of their array argument (CuPy accepts NumPy arrays there).
_SHAPE_ONLY = {"zeros_like", "ones_like", "empty_like", "full_like", "shape", "ndim", "size",
               "result_type", "can_cast", "min_scalar_type", "iinfo", "finfo", "dtype", "promote_types",
               "issubdtype", "isscalar"}
# Functions CuPy returns a device array from where NumPy returns a Python bool.
_BOOL_TO_ARRAY = {"allclose", "array_equal", "array_equiv"}
# NumPy names that CuPy does not provide (AttributeError here, as on a GPU).
_NOT_IN_CUPY = {"errstate", "seterr", "geterr", "seterrcall", "geterrcall", "set_printoptions",
                "get_printoptions", "printoptions", "memmap", "recarray", "record", "char", "ma", "rec",
                "ctypeslib", "nditer", "nested_iters", "ndenumerate", "ndindex", "frompyfunc",
                "object_", "str_", "bytes_", "void", "datetime64", "timedelta64", "busday_count",
                "busday_offset", "is_busday", "datetime_as_string", "einsum_path", "genfromtxt",
                "loadtxt", "savetxt", "fromregex", "fromstring", "fromiter", "lexsort",
                "histogram_bin_edges", "ndarray", "matrix", "testing", "typing", "f2py", "distutils",
                "exceptions", "dtypes", "version", "show_config", "info", "emath", "strings", "rec"}


def _from_host_fn(name):
    np_fn = getattr(_np, name)

    def fn(a, *args, **kwargs):
        if isinstance(a, ndarray) and name in ("asarray", "asanyarray") and not args and \
                kwargs.get("dtype") in (None, a.dtype):
            return a
        kwargs.pop("blocking", None)
        result = np_fn(_unwrap(a), *_unwrap(args), **_unwrap(kwargs))
        if isinstance(a, (_np.ndarray, list, tuple, numbers.Number, _np.generic)) or name == "frombuffer":
            result = _np.array(result, copy=True)  # a host -> device copy: never aliases host memory
        return _wrap(result)

    fn.__name__ = name
    return fn


def _generic_fn(name, np_fn, check=True):
    def fn(*args, **kwargs):
        if check:
            _check_host(args)
            _check_host(kwargs)
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"out must be cupy.ndarray, not {type(out)}")
        result = np_fn(*_unwrap(args), **_unwrap(kwargs))
        if out is not None:
            return out
        if name in _BOOL_TO_ARRAY:
            return _wrap_np(_np.asarray(result))
        return _wrap(result)

    fn.__name__ = name
    return fn


def _make(name, np_namespace):
    attr = getattr(np_namespace, name)
    if isinstance(attr, _np.ufunc):
        return ufunc(attr)
    if isinstance(attr, type) or isinstance(attr, (numbers.Number, str)) or attr is None:
        return attr  # dtypes (cupy.float32 is numpy.float32), constants
    if isinstance(attr, types.ModuleType):
        raise AttributeError(name)
    if callable(attr):
        if np_namespace is _np and name in _FROM_HOST:
            return _from_host_fn(name)
        return _generic_fn(name, attr, check=name not in _SHAPE_ONLY)
    return attr


class _Namespace(types.ModuleType):
    """A sub-namespace (``cupy.linalg``, ``cupy.fft``, ``cupy.lib.stride_tricks``) of NumPy's, wrapped."""

    def __init__(self, name, np_namespace):
        super().__init__(name)
        self._np_namespace = np_namespace

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = _make(name, self._np_namespace)
        except AttributeError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None
        setattr(self, name, value)
        return value


linalg = _Namespace("cupy.linalg", _np.linalg)
fft = _Namespace("cupy.fft", _np.fft)
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = _Namespace("cupy.lib.stride_tricks", _np.lib.stride_tricks)


_CACHE = {}  # not globals(): cupy.abs, cupy.sum, ... must not shadow builtins inside this module


def __getattr__(name):
    if name in _CACHE:
        return _CACHE[name]
    if name.startswith("__") or name in _NOT_IN_CUPY:
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    try:
        value = _make(name, _np)
    except AttributeError:
        raise AttributeError(f"module 'cupy' has no attribute {name!r}") from None
    _CACHE[name] = value
    return value


def _lookup_for(np_func):
    """The ``cupy`` function that a NumPy function dispatches to (None: CuPy lacks it)."""
    module = getattr(np_func, "__module__", "") or ""
    name = np_func.__name__
    if "linalg" in module:
        space = linalg
    elif "fft" in module:
        space = fft
    elif "stride_tricks" in module:
        space = lib.stride_tricks
    else:
        space = sys.modules[__name__]
    try:
        return getattr(space, name)
    except AttributeError:
        return None


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def fuse(*args, **kwargs):
    """``cupy.fuse``: here the undecorated function (it still must take and give device arrays)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


def is_available():
    return True


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

    def _draw(self, method, *args, **kwargs):
        _check_host(args)
        _check_host(kwargs)
        return _wrap_np(_np.asarray(getattr(self._g, method)(*_unwrap(args), **_unwrap(kwargs))))

    def random(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            self._g.random(size, dtype=dtype, out=out._a)
            return out
        return self._draw("random", size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return self._draw("uniform", low, high, size).astype(dtype, copy=False)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return self._draw("integers", int(low), None if high is None else int(high), size, dtype=dtype,
                          endpoint=endpoint)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            self._g.standard_normal(size, dtype=dtype, out=out._a)
            return out
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
        return self._draw("beta", a, b, size).astype(dtype, copy=False)

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
        return _wrap_np(_np.asarray(getattr(_legacy, name)(*_unwrap(args), **_unwrap(kwargs))))

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


random.shuffle = _shuffle

# ---------------------------------------------------------------------------------------
# cupy.cuda: one device, synchronize and memory pools as no-ops
# ---------------------------------------------------------------------------------------
cuda = types.ModuleType("cupy.cuda")


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        pass

    def use(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    compute_capability = "90"
    mem_info = (80 << 30, 80 << 30)


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        pass

    def get_limit(self):
        return 0

    def n_free_blocks(self):
        return 0


_pool, _pinned_pool = _MemoryPool(), _MemoryPool()
cuda.Device = _Device
cuda.MemoryPool = _MemoryPool
cuda.is_available = lambda: True
cuda.get_device_id = lambda: 0
cuda.runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1, deviceSynchronize=lambda: None, runtimeGetVersion=lambda: 12040,
    driverGetVersion=lambda: 12040, is_hip=False,
    getDeviceProperties=lambda i: {"name": b"Fake CuPy device (NumPy on the CPU)", "totalGlobalMem": 80 << 30},
    memGetInfo=lambda: (80 << 30, 80 << 30))
cuda.Stream = types.SimpleNamespace(null=types.SimpleNamespace(synchronize=lambda: None))
cuda.get_current_stream = lambda: cuda.Stream.null
get_default_memory_pool = lambda: _pool  # noqa: E731
get_default_pinned_memory_pool = lambda: _pinned_pool  # noqa: E731

for _mod in (random, cuda, linalg, fft, lib, lib.stride_tricks):
    sys.modules[_mod.__name__] = _mod
newaxis = None
