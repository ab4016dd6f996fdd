"""The core of the fake CuPy: kernel/transfer counting (``_fake_counts``), wrapping NumPy arrays
as device arrays, ``cupy.ndarray``, ``cupy.ufunc``, the factories that wrap NumPy's functions as
``cupy`` functions (``_make``, ``_from_host_fn``, ``_generic_fn``), the ``cupy.linalg``/``cupy.fft``/
``cupy.lib`` namespaces, ``get_array_module`` and ``asnumpy``.

The package is looked up as ``sys.modules[__package__]`` (``cupy``), never this module: the
NumPy-named functions live on the package (its ``__getattr__``). The fusion hooks come from
``_fusion``, imported at the bottom (it imports ``ndarray`` and friends from here).
"""
import numbers
import operator
import sys
import types

import numpy as _np

from ._cuda import cuda

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
        space = sys.modules[__package__]
    try:
        return getattr(space, name)
    except AttributeError:
        return None


def get_array_module(*args):
    return sys.modules[__package__] if any(isinstance(a, (ndarray, _VariableProxy)) for a in args) else _np


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def is_available():
    return True


# The fusion side (``cupy.fuse``) defines these; imported last because ``_fusion`` imports
# ``ndarray``, ``_wrap_np`` and ``_count`` from this module (used only at call time here).
from ._fusion import (  # noqa: E402
    _CONCRETE, _FUSABLE, _FUSABLE_NAMES, _FUSING, _FUSION_REDUCTIONS, _VariableProxy, _fused_copy, _fused_ufunc,
    _has_proxy)
