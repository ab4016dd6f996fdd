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
import sys

import numpy as _np

from ._core import (  # noqa: F401  (re-exported as cupy.<name>)
    _NOT_IN_CUPY, _fake_counts, _fake_reset_counts, _from_host, _make, asnumpy, fft, get_array_module,
    is_available, lib, linalg, ndarray, ufunc)
from ._cuda import cuda, get_default_memory_pool, get_default_pinned_memory_pool  # noqa: F401
from ._fusion import fuse  # noqa: F401
from ._random import random  # noqa: F401

__version__ = "13.0.0+fake"
_FAKE = True


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


# Defined in the submodules, but named ``cupy.<name>`` as before the split (``type(x).__module__``,
# reprs, and pickles of device arrays, which reference ``cupy._from_host``).
for _obj in (ndarray, ufunc, fuse, get_array_module, asnumpy, is_available, _from_host):
    _obj.__module__ = __name__

for _mod in (random, cuda, linalg, fft, lib, lib.stride_tricks):
    sys.modules[_mod.__name__] = _mod
newaxis = None
