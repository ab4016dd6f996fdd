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

``cupy.fuse`` is strict too: the fused function gets proxies that allow only what real CuPy's
fusion proxies (``cupy/_core/_fusion_interface.py``) allow, and a call counts as one kernel.

Fake-only API (real CuPy has neither; guard with ``getattr(cupy, "_FAKE", False)``):

* ``cupy._fake_counts``: ``{"kernels": n, "h2d": n, "d2h": n}``, an estimate of the kernel
  launches and host<->device copies the same calls would make on a GPU (a launch costs
  ~5-10 us, so it tells how much fusing or batching would save): one kernel per ufunc call,
  operator, computing ``cupy`` function or ndarray method, random draw, fill
  (``zeros``/``ones``/``arange``...), ``__setitem__``, gathering ``__getitem__`` (advanced
  indexing), device copy and ``cupy.fuse`` call; none for views and metadata (basic slicing,
  ``reshape``/``ravel`` without a copy, ``transpose``, ``.T``, ``broadcast_to``, ``split``,
  ``empty``...); one ``h2d`` per host object moved to the device (``asarray(host)``, ``.set``,
  host index arrays), one ``d2h`` per ``.get()``/``asnumpy``/``.item()``/``.tolist()``/
  ``float(x)``/``int(x)``/``bool(x)``/printing;
* ``cupy._fake_reset_counts()``: zeroes the counts and returns the previous ones (a copy).
"""
import functools
import numbers
import operator
import sys
import types

import numpy as _np

__version__ = "13.0.0+fake"
_FAKE = True

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")


_fake_counts = {"kernels": 0, "h2d": 0, "d2h": 0}


def _fake_reset_counts():
    """Zero ``_fake_counts`` (in place: readers may hold the dict) and return the previous counts."""
    previous = dict(_fake_counts)
    for key in _fake_counts:
        _fake_counts[key] = 0
    return previous


def _count(kind="kernels", n=1):
    _fake_counts[kind] += n


def _host_transfers(x):
    """How many host objects (NumPy arrays with ndim > 0, lists) an index or value moves to the device."""
    if isinstance(x, _np.ndarray):
        return int(x.ndim > 0)
    if isinstance(x, list):
        return 1
    if isinstance(x, tuple):
        return sum(_host_transfers(v) for v in x)
    return 0


def _device_sources(x, acc):
    """The NumPy arrays behind the device arrays in ``x`` (nested lists, tuples, dicts)."""
    if isinstance(x, ndarray):
        acc.append(x._a)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _device_sources(v, acc)
    elif isinstance(x, dict):
        for v in x.values():
            _device_sources(v, acc)
    return acc


def _array_leaves(x, acc):
    if isinstance(x, _np.ndarray):
        acc.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _array_leaves(v, acc)
    return acc


def _is_view(result, sources):
    """Whether every array in a NumPy ``result`` is a view of one of ``sources``: metadata, no kernel."""
    arrays = _array_leaves(result, [])
    if not arrays or not sources:
        return False
    return all(r.size == 0 or any(_np.may_share_memory(r, s) for s in sources) for r in arrays)


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
    if _FUSING["on"] or any(isinstance(x, _VariableProxy) for x in inputs) or \
            isinstance(kwargs.get("out"), _VariableProxy):
        if method != "__call__" or uf.signature is not None:  # CuPy's matmul is a gufunc: not fusable
            raise TypeError(f"{uf.__name__}{'' if method == '__call__' else '.' + method} is not supported "
                            "in cupy.fuse")
        return _fused_ufunc(uf, inputs, kwargs)
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
        _count()
        _count("h2d", _host_transfers(idx))
        return None
    result = getattr(uf, method)(*_unwrap(inputs), **_unwrap(kwargs))
    _count()
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
            _count("d2h")
            return out
        result = _np.array(self._a, order=order, copy=True)
        _count("d2h")
        return result

    def set(self, arr, stream=None):
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, not {type(arr)}")
        if arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("Shape or dtype mismatch")
        self._a[...] = arr
        _count("h2d")

    def item(self, *args):
        return _d2h(self._a.item(*args))

    def tolist(self):
        return _d2h(self._a.tolist())

    def tobytes(self, order="C"):
        return _d2h(self._a.tobytes(order))

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
        result = self._a[_unwrap(key)]
        if isinstance(result, _np.ndarray) and not _is_view(result, [self._a]):
            _count()  # advanced indexing: a gather kernel (basic slicing and integers give views)
        _count("h2d", _host_transfers(key))
        return _wrap(result)

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)
        _count()
        _count("h2d", _host_transfers(key) + _host_transfers(value))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(row) for row in self._a)

    # -- Python scalars (these synchronise on a GPU; NumPy's rules for which shapes work) -------
    def __bool__(self):
        return _d2h(bool(self._a))

    def __float__(self):
        return _d2h(float(self._a))

    def __int__(self):
        return _d2h(int(self._a))

    def __complex__(self):
        return _d2h(complex(self._a))

    def __index__(self):
        return _d2h(operator.index(self._a))

    # -- printing, copying, pickling -----------------------------------------------------------
    def __repr__(self):
        return _d2h(repr(self._a))

    def __str__(self):
        return _d2h(str(self._a))

    def __format__(self, spec):
        return _d2h(format(self._a, spec))  # CuPy: format(self.get(), spec)

    def __copy__(self):
        _count()
        return _wrap_np(self._a.copy())

    def __deepcopy__(self, memo):
        _count()
        return _wrap_np(self._a.copy())

    def __reduce__(self):
        _count("d2h")
        return (_from_host, (self._a.copy(),))

    # -- operators -----------------------------------------------------------------------------
    def __neg__(self):
        return _unary(self, operator.neg)

    def __pos__(self):
        return _unary(self, operator.pos)

    def __abs__(self):
        return _unary(self, abs)

    def __invert__(self):
        return _unary(self, operator.invert)

    def __divmod__(self, other):
        return _apply_ufunc(_np.divmod, "__call__", (self, other), {})


def _d2h(value):
    """A value read back to the host (it synchronises on a GPU): one ``d2h``."""
    _count("d2h")
    return value


def _unary(x, op):
    """``-x``, ``+x``, ``abs(x)``, ``~x``: one kernel (refused on a concrete array inside ``cupy.fuse``)."""
    if _FUSING["on"]:
        raise TypeError(_CONCRETE)
    result = _wrap(op(x._a))
    _count()
    return result


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
        if _FUSING["on"] and name in _FUSION_REDUCTIONS:
            raise TypeError(_CONCRETE)  # CuPy's reductions are fusion-aware: a captured array is refused
        result = getattr(self._a, name)(*_unwrap(args), **_unwrap(kwargs))
        if out is not None or not _is_view(result, [self._a]):
            _count()  # reshape/ravel/transpose/view/squeeze/astype(copy=False)... that give views are free
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
    _count("h2d")
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
# Functions that launch no kernel (shape/dtype queries, ``empty``); the rest count one unless
# their result is a view of their device arguments (``reshape``, ``transpose``, ``split``...).
_NO_KERNEL = (_SHAPE_ONLY - {"zeros_like", "ones_like", "full_like"}) | {
    "empty", "may_share_memory", "shares_memory", "broadcast_shapes", "iscomplexobj", "isrealobj"}
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
        if _has_proxy(a) or _has_proxy(args) or _has_proxy(kwargs) or (_FUSING["on"] and name == "copy"):
            if name != "copy":
                raise TypeError(f"cupy.{name} is not supported in cupy.fuse")
            return _fused_copy(a, *args, **kwargs)
        if isinstance(a, ndarray) and name in ("asarray", "asanyarray") and not args and \
                kwargs.get("dtype") in (None, a.dtype):
            return a
        kwargs.pop("blocking", None)
        result = np_fn(_unwrap(a), *_unwrap(args), **_unwrap(kwargs))
        if isinstance(a, (_np.ndarray, list, tuple, numbers.Number, _np.generic)) or name == "frombuffer":
            result = _np.array(result, copy=True)  # a host -> device copy: never aliases host memory
        sources = _device_sources(a, [])
        if isinstance(a, ndarray):
            if not _is_view(result, sources):
                _count()  # a device copy
        elif sources:
            _count()  # a list of device arrays: stacked on the device
        else:
            _count("h2d")
        return _wrap(result)

    fn.__name__ = name
    return fn


def _generic_fn(name, np_fn, check=True, fusable=False):
    def fn(*args, **kwargs):
        if (fusable and _FUSING["on"]) or _has_proxy(args) or _has_proxy(kwargs):
            if not fusable:
                raise TypeError(f"cupy.{name} is not supported in cupy.fuse")
            return _FUSABLE[name](*args, **kwargs)
        if check:
            _check_host(args)
            _check_host(kwargs)
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"out must be cupy.ndarray, not {type(out)}")
        result = np_fn(*_unwrap(args), **_unwrap(kwargs))
        if name not in _NO_KERNEL and (out is not None or not _is_view(result, _device_sources((args, kwargs), []))):
            _count()
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
        return _generic_fn(name, attr, check=name not in _SHAPE_ONLY,
                           fusable=np_namespace is _np and name in _FUSABLE_NAMES)
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
    return sys.modules[__name__] if any(isinstance(a, (ndarray, _VariableProxy)) for a in args) else _np


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


# ---------------------------------------------------------------------------------------
# cupy.fuse: the fused function runs once per call on proxies that allow only what CuPy's
# fusion proxies allow (cupy/_core/_fusion_interface.py, _fusion_trace.pyx); one kernel a call
# ---------------------------------------------------------------------------------------
_FUSING = {"on": False}  # True while a fused function runs on proxies (CuPy: ``is_new_fusing``)
_CONCRETE = "Concrete ndarray is not supported in fusion."
_SCALAR_TYPES = (int, float, bool, complex, _np.generic)  # CuPy's ``_accepted_types``
_FUSION_REDUCTIONS = {"sum", "prod", "max", "min", "all", "any"}
_FUSABLE_NAMES = {"where", "clip", "copy", "sum", "prod", "max", "amax", "min", "amin", "all", "any"}


def _has_proxy(x):
    if isinstance(x, _VariableProxy):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_proxy(v) for v in x)
    if isinstance(x, dict):
        return any(_has_proxy(v) for v in x.values())
    return False


def _fusion_value(x):
    """The NumPy value behind a fused operand; concrete arrays and other types are refused, as on CuPy."""
    if isinstance(x, _VariableProxy):
        if not _FUSING["on"]:
            raise TypeError("a cupy.fuse argument was used outside its fused function")
        return x._v
    if isinstance(x, _SCALAR_TYPES):
        return x
    if isinstance(x, (ndarray, _np.ndarray)):
        raise TypeError(_CONCRETE)
    raise TypeError(f"{type(x)} type is not supported")


def _fusion_out(x):
    _fusion_value(x)
    if not isinstance(x, _ArrayProxy):
        raise TypeError("Return arrays must be of ArrayType")
    return x._as_array()


def _fused_ufunc(uf, args, kwargs):
    """``cupy.<ufunc>`` inside ``cupy.fuse`` (CuPy's ``TraceImpl.call_ufunc``): only ``dtype`` and ``out``."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    if "out" in kwargs and len(args) > uf.nin:
        raise ValueError("cannot specify 'out' as both a positional and keyword argument")
    ins = [_fusion_value(x) for x in args[:uf.nin]]
    outs = [x for x in tuple(args[uf.nin:]) + (kwargs.pop("out", None),) if x is not None]
    out_arrays = [_fusion_out(x) for x in outs]
    if kwargs:
        raise TypeError(f"Wrong arguments {kwargs}")
    if len(ins) != uf.nin or len(outs) > uf.nout:
        raise ValueError("Invalid number of arguments")
    np_kwargs = {} if dtype is None else {"dtype": dtype}
    if outs:
        np_kwargs["out"] = tuple(out_arrays) + (None,) * (uf.nout - len(outs))
    result = uf(*ins, **np_kwargs)
    results = result if uf.nout > 1 else (result,)
    proxies = [outs[i] if i < len(outs) else _ArrayProxy(r) for i, r in enumerate(results)]
    return proxies[0] if uf.nout == 1 else tuple(proxies)


def _fused_reduce(np_name, a, axis=None, dtype=None, out=None, keepdims=False):
    """A reduction inside ``cupy.fuse`` (CuPy's ``call_reduction``): arrays only, no ``keepdims``."""
    value = _fusion_value(a)
    if not isinstance(a, _ArrayProxy):
        raise NotImplementedError("Reduction for scalar arguments is not supported.")
    if keepdims:
        raise NotImplementedError("keepdims is not supported.")
    kwargs = {"axis": axis} if dtype is None else {"axis": axis, "dtype": dtype}
    if out is not None:
        getattr(_np, np_name)(value, out=_fusion_out(out), **kwargs)
        return out
    return _ArrayProxy(getattr(_np, np_name)(value, **kwargs))


def _fused_where(condition, x=None, y=None):
    if x is None and y is None:
        raise NotImplementedError("cupy.where with one argument is not supported in cupy.fuse")
    if x is None or y is None:
        raise ValueError("Must provide both 'x' and 'y' or neither.")
    return _ArrayProxy(_np.where(_fusion_value(condition), _fusion_value(x), _fusion_value(y)))


def _fused_clip(a, a_min, a_max, out=None):
    values = [_fusion_value(v) for v in (a, a_min, a_max)]
    if out is not None:
        _np.clip(*values, out=_fusion_out(out))
        return out
    return _ArrayProxy(_np.clip(*values))


def _fused_copy(a, order="K"):
    if order != "K":
        raise NotImplementedError("cupy.copy with order other than 'K' is not supported in cupy.fuse")
    return _ArrayProxy(_np.array(_fusion_value(a), copy=True))


def _reduction_fn(np_name, with_dtype=True):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False):
        return _fused_reduce(np_name, a, axis=axis, dtype=dtype if with_dtype else None, out=out, keepdims=keepdims)

    return fn


_FUSABLE = {"where": _fused_where, "clip": _fused_clip, "copy": _fused_copy,
            **{n: _reduction_fn(n) for n in ("sum", "prod", "max", "min", "all", "any")},
            "amax": _reduction_fn("max"), "amin": _reduction_fn("min")}


def _proxy_binop(op):
    def fwd(self, other):
        return _ArrayProxy(op(_fusion_value(self), _fusion_value(other)))

    def rev(self, other):
        return _ArrayProxy(op(_fusion_value(other), _fusion_value(self)))

    return fwd, rev


class _VariableProxy:
    """What a fused function gets for an argument (CuPy's ``_VariableProxy``): operators and a
    few methods; no shape, no Python scalars, no NumPy functions. The NumPy value behind it
    (``_v``) is what the same code on NumPy would hold, so the numbers and dtypes are NumPy's."""

    __slots__ = ("_v",)
    __array_ufunc__ = None  # np.tanh(proxy) -> TypeError; use cupy.tanh
    __hash__ = None

    def __init__(self, value):
        self._v = value

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} is not supported in cupy.fuse (use cupy.{func.__name__})")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a cupy.fuse argument cannot be converted to a NumPy array")

    def __neg__(self):
        return _ArrayProxy(operator.neg(_fusion_value(self)))

    def __invert__(self):
        value = _fusion_value(self)
        return _ArrayProxy(_np.invert(value) if isinstance(value, bool) else operator.invert(value))

    def copy(self):
        return _fused_copy(self)

    def astype(self, dtype, order=None, casting=None, subok=None, copy=True):
        dtype = _np.dtype(dtype)
        for name, value in (("order", order), ("casting", casting), ("subok", subok)):
            if value is not None:
                raise TypeError(f"{name} is not supported yet")
        if not copy and self.dtype == dtype:
            return self
        value = _fusion_value(self)
        if isinstance(value, _np.ndarray):
            return _ArrayProxy(value.astype(dtype))
        return _ArrayProxy(_np.asarray(value).astype(dtype)[()])

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return _fused_reduce("sum", self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return _fused_reduce("prod", self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return _fused_reduce("max", self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return _fused_reduce("min", self, axis=axis, out=out, keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False):
        return _fused_reduce("all", self, axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return _fused_reduce("any", self, axis=axis, out=out, keepdims=keepdims)

    @property
    def dtype(self):
        value = _fusion_value(self)
        return value.dtype if isinstance(value, (_np.ndarray, _np.generic)) else _np.dtype(type(value))

    @property
    def ndim(self):
        value = _fusion_value(self)
        return value.ndim if isinstance(value, _np.ndarray) else 0

    @property
    def shape(self):
        raise NotImplementedError("`shape` is not supported, currently.")

    def __bool__(self):
        raise TypeError("Cannot convert to Python scalar in cupy.fuse")

    __int__ = __float__ = __complex__ = __index__ = __bool__

    def __iter__(self):  # CuPy's proxy has no length: iterating would index forever
        raise TypeError("iteration over a cupy.fuse argument is not supported")


# CuPy's proxies have these (no ``__rpow__``, ``__matmul__``, ``__abs__``, ``__pos__`` or ``__divmod__``)
for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("lshift", operator.lshift), ("rshift", operator.rshift), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor)]:
    _f, _r = _proxy_binop(_op)
    setattr(_VariableProxy, f"__{_name}__", _f)
    setattr(_VariableProxy, f"__r{_name}__", _r)
_VariableProxy.__pow__ = _proxy_binop(operator.pow)[0]
for _name, _op in [("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt), ("le", operator.le),
                   ("gt", operator.gt), ("ge", operator.ge)]:
    setattr(_VariableProxy, f"__{_name}__", _proxy_binop(_op)[0])


class _ScalarProxy(_VariableProxy):
    """A scalar argument of a fused function: no indexing, no in-place operators, no reductions."""

    __slots__ = ()

    def __repr__(self):
        return f"_ScalarProxy(dtype={_np.asarray(self._v).dtype})"


class _ArrayProxy(_VariableProxy):
    """An array in a fused function (an array argument or any result): in-place operators write
    through (into the caller's array for an argument); ``[...] =``/``[:] =``; basic indexing only."""

    __slots__ = ()

    def __repr__(self):
        value = _np.asarray(self._v)
        return f"_ArrayProxy([...], dtype='{value.dtype.char}', ndim={value.ndim})"

    def _as_array(self):
        if not isinstance(self._v, _np.ndarray):
            self._v = _np.asarray(self._v)  # a scalar result written into: a 0-d array, as on CuPy
        return self._v

    def __setitem__(self, key, value):
        if not (key is Ellipsis or (isinstance(key, slice) and key == slice(None))):
            raise ValueError("The fusion supports `[...]` or `[:]`.")
        value = _fusion_value(value)
        _fusion_value(self)
        _np.copyto(self._as_array(), value, casting="same_kind")

    def __getitem__(self, key):
        _fusion_value(self)
        key = key if isinstance(key, tuple) else (key,)
        for k in key:
            if not (isinstance(k, (int, slice)) or k is None or k is Ellipsis):
                raise IndexError("Indices must be integers, slices, ellipsis, None or "
                                 "integer or boolean arrays.")
            if isinstance(k, slice) and not (k.start is None and k.stop is None and k.step in (1, -1, None)):
                raise NotImplementedError("Only full range ``x[::]`` or reverse ``x[::-1]`` is "
                                          "supported for basic slicing in CuPy fusion.")
        if self.ndim - sum(isinstance(k, (int, slice)) for k in key) < 0:
            raise IndexError("Too many indices for array.")
        if Ellipsis not in key:
            key = key + (Ellipsis,)  # a view even when every axis is taken (CuPy: a 0-d view)
        return _ArrayProxy(self._as_array()[key])


def _proxy_inplace(op):
    def inplace(self, other):
        value, other = _fusion_value(self), _fusion_value(other)
        if isinstance(value, _np.ndarray):
            op(value, other)  # writes through: NumPy's same_kind casting, as CuPy's check
        else:
            self._v = op(value, other)
        return self

    return inplace


for _name, _op in [("add", operator.iadd), ("sub", operator.isub), ("mul", operator.imul),
                   ("truediv", operator.itruediv), ("floordiv", operator.ifloordiv), ("mod", operator.imod),
                   ("pow", operator.ipow), ("lshift", operator.ilshift), ("rshift", operator.irshift),
                   ("and", operator.iand), ("or", operator.ior), ("xor", operator.ixor)]:
    setattr(_ArrayProxy, f"__i{_name}__", _proxy_inplace(_op))

_FUSION_ARG_TYPES = (ndarray, _np.ndarray, _np.generic, int, float, complex, bool, type(None))


class _Fusion:
    """A fused function (CuPy's ``Fusion``): with a device array among the arguments, runs the
    function once on proxies and counts one kernel; else calls it on the arguments as given."""

    def __init__(self, func, name=None):
        self.func = func
        self.name = name or func.__name__
        functools.update_wrapper(self, func)

    def __repr__(self):
        return f"<Fusion name={self.name}>"

    def clear_cache(self):
        pass

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(f"{self.name}() got keyword arguments {sorted(kwargs)}: a fused function takes "
                            "positional arguments only")
        if _FUSING["on"] or not any(isinstance(a, ndarray) for a in args):
            return self.func(*args)  # a fused function called inside another, or host arguments only
        if not all(isinstance(a, _FUSION_ARG_TYPES) for a in args):
            raise TypeError("Invalid argument type for '{}': ({})".format(
                self.name, ", ".join(repr(type(a)) for a in args)))
        for a in args:
            if isinstance(a, _np.ndarray):
                raise TypeError(f"Unsupported input type {type(a)}.")
        proxies, by_id = [], {}
        for a in args:
            if isinstance(a, ndarray):
                proxies.append(by_id.setdefault(id(a), _ArrayProxy(a._a)))
            else:
                proxies.append(None if a is None else _ScalarProxy(a))
        # a fused kernel runs whole or not at all: undo the writes of a function that raised
        saved = [(a._a, a._a.copy()) for a in args if isinstance(a, ndarray) and a._a.flags.writeable]
        _FUSING["on"] = True
        try:
            output = self.func(*proxies)
            result = self._outputs(output)
        except BaseException:
            for array, copy in saved:
                array[...] = copy
            raise
        finally:
            _FUSING["on"] = False
        _count()
        return result

    @staticmethod
    def _outputs(output):
        if output is None:
            return None
        if isinstance(output, _ArrayProxy):
            return _wrap_np(output._as_array())
        if isinstance(output, tuple):
            if all(isinstance(x, _ArrayProxy) for x in output):
                return tuple(_wrap_np(x._as_array()) for x in output)
            raise ValueError("The all elements of return value of fused function must be of _ArrayProxy type.")
        raise ValueError("The return value of fused functions must be `None`, ndarray or a tuple of ndarays.")


def fuse(*args, **kwargs):
    """``cupy.fuse``, ``cupy.fuse()`` and ``cupy.fuse(kernel_name=...)``: see ``_Fusion``."""
    def wrapper(f, kernel_name=None):
        return _Fusion(f, kernel_name)

    if len(args) == 1 and not kwargs and callable(args[0]):
        return wrapper(args[0])
    return lambda f: wrapper(f, *args, **kwargs)


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

    def _draw(self, method, *args, astype=None, **kwargs):
        _check_host(args)
        _check_host(kwargs)
        result = _np.asarray(getattr(self._g, method)(*_unwrap(args), **_unwrap(kwargs)))
        if astype is not None:
            result = result.astype(astype, copy=False)
        _count()
        return _wrap_np(result)

    def random(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            self._g.random(size, dtype=dtype, out=out._a)
            _count()
            return out
        return self._draw("random", size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return self._draw("uniform", low, high, size, astype=dtype)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return self._draw("integers", int(low), None if high is None else int(high), size, dtype=dtype,
                          endpoint=endpoint)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        if out is not None:
            self._g.standard_normal(size, dtype=dtype, out=out._a)
            _count()
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
