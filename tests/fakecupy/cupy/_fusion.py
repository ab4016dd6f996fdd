"""``cupy.fuse`` for the fake CuPy: the strict fusion proxies (``_VariableProxy``,
``_ScalarProxy``, ``_ArrayProxy``), ``_Fusion`` and ``fuse``, and the fused ufunc/reduction helpers
that ``_core`` calls while a fused function runs.
"""
import functools
import operator

import numpy as _np

from ._core import _count, _wrap_np, ndarray

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
