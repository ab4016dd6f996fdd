"""Trace every elementwise chain of ``threestep.accel.fused`` with the real ``cupy.fuse``, no GPU needed.

The fake CuPy of the test suite imitates what CuPy's fusion accepts; this asks CuPy itself.
With CuPy installed on a machine without a GPU (``pip install cupy-cuda12x cuda-pathfinder
fastrlock`` in a scratch virtual environment), device memory is replaced by host memory through
``cupy.cuda.set_allocator``, so CuPy can make arrays and trace the chain; the step after
tracing, getting the device to compile and launch the kernel, then fails with a CUDA error.
A chain passes when the error it ends with is such a CUDA error: one of CuPy's two fusion
paths traced it (CuPy tries its first fusion and, if that refuses, the newer one; a refusal by
the first is listed as a note). It fails when both refused: there threestep would run the
chain op by op after a warning. The cases,
with their dtypes, ranks and static variants, are those of ``tests/test_fused.py``.

    python -m benchmarks.trace_chains            # prints one line per case and a JSON summary
    python -m benchmarks.trace_chains --compile  # also compiles each kernel with NVRTC (sm_90 PTX)

It also lists every ``xp.<name>`` (and ``xp.<name>.<attr>``) that threestep's source uses and
this CuPy lacks: the fake CuPy answers many NumPy functions by NumPy's, so it cannot tell.

``--compile`` goes one step further (``pip install nvidia-cuda-nvrtc-cu12`` too): it takes the
ElementwiseKernel (or, for a chain ending in a sum, the ReductionKernel) that CuPy's first
fusion path made for the chain, has CuPy write its CUDA source for the case's argument types,
and compiles that with NVRTC for compute capability 9.0 (the H100/H200 of the GPU machines),
passing the architecture itself where CuPy would ask the device. A chain only the newer fusion
path took counts as not compiled. It uses CuPy internals (``Fusion._memo``, ``_kernel._ArgInfo``,
``_get_elementwise_kernel_code``, ``_reduction._ReductionKernel_get_cached_function_code``)
and says so when a CuPy version lacks them. Neither step runs a kernel or checks numbers; on a GPU,
``benchmarks/gpu_check.sh`` runs ``tests/test_fused.py``'s real-CuPy test, which does.
"""
import json
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CUDA_ERRORS = ("CUDARuntimeError", "CUDADriverError")


def _host_memory(cupy, numpy):
    """An allocator that hands CuPy host memory (kept alive here) as if it were the device's."""
    from cupy.cuda import memory

    kept = []

    def allocate(size):
        block = numpy.zeros(max(size, 1) + 256, numpy.uint8)
        kept.append(block)
        return memory.MemoryPointer(memory.UnownedMemory(block.ctypes.data, size, block, device_id=0), 0)

    cupy.cuda.set_allocator(allocate)


def trace_case(cupy, cases, call, name, compile_kernel=False):
    """``{"case", "ok", "path", "errors"}`` for one case of ``tests/test_fused.CASES`` (and
    ``"compiled"``: True or the error, with ``compile_kernel``)."""
    chain, arrays, scalars, static = cases[name]
    fn = chain.__wrapped__

    def traced(*args):
        return fn(cupy, *args, **static)

    traced.__name__ = fn.__name__
    kernel = cupy.fuse(kernel_name=f"threestep_{fn.__name__}")(traced)

    class Fused:  # what tests/test_fused._call expects: a named callable taking the chain's arguments
        __name__ = chain.__name__

        def __call__(self, *args, **_static):
            called.append(args)
            return kernel(*args)

    called = []
    device_args = [cupy.ndarray(a.shape, a.dtype) for a in arrays]  # contents unused: tracing needs types
    try:
        call(Fused(), device_args, scalars, static)
        return {"case": name, "ok": True, "path": "ran", "errors": []}
    except Exception as error:  # noqa: BLE001 -- every error is reported
        errors, exc = [], error
        while exc is not None:  # CuPy tries its first fusion, then the newer one while handling a refusal
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            exc = exc.__context__
        frames = "".join(traceback.format_tb(error.__traceback__))
        row = {"case": name, "ok": type(error).__name__ in _CUDA_ERRORS,
               "path": "new fusion" if "new_fusion" in frames else "fusion", "errors": errors}
    if compile_kernel and row["ok"]:
        row["compiled"] = _compile(cupy, kernel, called[0]) if row["path"] == "fusion" else "new fusion: not compiled here"
    return row


def _compile(cupy, kernel, args):
    """True, or why not: the CUDA source of ``kernel``'s ElementwiseKernel (or ReductionKernel,
    for a chain that ends in a sum) for ``args``, by NVRTC."""
    import numpy

    try:
        from cupy._core import _carray, _kernel, _reduction, _scalar
        from cupy._core import core as cupy_core
        from cupy.cuda import compiler

        (compiled, _), = kernel._memo.values()
        ndim = len(numpy.broadcast_shapes(*[a.shape for a in args if isinstance(a, cupy.ndarray)]))

        def info(a, rank):
            if isinstance(a, cupy.ndarray):
                return _kernel._ArgInfo(1, cupy.ndarray, a.dtype, rank, False, True)
            return _kernel._ArgInfo(3, _scalar.CScalar, numpy.dtype(type(a)), 0, True, True)

        if isinstance(compiled, _reduction.ReductionKernel):
            # A full reduction: CuPy merges the contiguous input's axes into one and gives the
            # 0-d output one axis; then the input and output indexers and the block stride, in
            # the order of ReductionKernel's own parameter list.
            infos = [info(a, 1) for a in args]
            infos += [_kernel._ArgInfo(1, cupy.ndarray, p.dtype, 1, False, True) for p in compiled.out_params]
            infos += [_kernel._ArgInfo(2, _carray.Indexer, None, 1, True, True),
                      _kernel._ArgInfo(2, _carray.Indexer, None, 1, True, True), info(numpy.int32(1), 0)]
            _, _, type_map = _reduction._decide_params_type(
                compiled.in_params, compiled.out_params, tuple(i.dtype for i in infos[:len(args)]),
                tuple(p.dtype for p in compiled.out_params))
            code = _reduction._ReductionKernel_get_cached_function_code(
                compiled.nin, compiled.nout, compiled._params, tuple(infos), type_map, compiled.name, 512,
                compiled.reduce_type, compiled.identity, compiled.map_expr, compiled.reduce_expr,
                compiled.post_map_expr, compiled.preamble, compiled.options)
            # The reduction's index type comes with the call (32-bit for arrays under 2**31 elements).
            code = "typedef int IndexT;\n" + str(code)
        else:
            infos = [info(a, ndim) for a in args]
            infos += [_kernel._ArgInfo(1, cupy.ndarray, p.dtype, ndim, False, True) for p in compiled.out_params]
            infos.append(_kernel._ArgInfo(2, _carray.Indexer, None, ndim, True, True))
            _, _, type_map = compiled._decide_params_type(tuple(i.dtype for i in infos[:len(args)]),
                                                          tuple(p.dtype for p in compiled.out_params))
            code = _kernel._get_elementwise_kernel_code(tuple(infos), type_map, compiled.params,
                                                         compiled.operation, compiled.name, compiled.preamble)
        source = "".join(f"#include <{h}>\n" for h in cupy_core._cupy_header_list) + str(code)
        options = tuple(cupy_core.assemble_cupy_compiler_options(()))
    except (AttributeError, TypeError, ValueError) as exc:
        return f"this CuPy's internals differ ({type(exc).__name__}: {exc}); compile step not available"
    compiler._get_arch_for_options_for_nvrtc = lambda arch=None: ("-arch=compute_90", "ptx")  # no device to ask
    try:
        compiler.compile_using_nvrtc(source, options=options, arch="90")
    except Exception as exc:  # noqa: BLE001 -- NVRTC's message is the result
        return f"{type(exc).__name__}: {str(exc)[:800]}"
    return True


def used_xp_names():
    """Every ``xp.name`` / ``xp.name.attr`` in threestep's source, sorted."""
    import re

    pattern = re.compile(r"\bxp\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)")
    names = set()
    for path in (ROOT / "src" / "threestep").rglob("*.py"):
        names.update(pattern.findall(path.read_text()))
    return sorted(names)


def missing_names(module, names):
    """The dotted ``names`` that ``module`` does not have."""
    missing = []
    for name in names:
        obj = module
        for part in name.split("."):
            if not hasattr(obj, part):
                missing.append(name)
                break
            obj = getattr(obj, part)
    return missing


def main(argv=None):
    import numpy

    try:
        import cupy
    except ImportError:
        sys.exit("trace_chains needs CuPy installed (no GPU needed): pip install cupy-cuda12x cuda-pathfinder fastrlock")
    if getattr(cupy, "_FAKE", False):
        sys.exit("trace_chains: this is the test suite's fake CuPy; run it where the real CuPy is installed")
    _host_memory(cupy, numpy)
    sys.path.insert(0, str(ROOT / "tests"))
    import test_fused  # noqa: PLC0415  (the cases live with their tests)

    compile_kernels = "--compile" in (sys.argv[1:] if argv is None else argv)
    rows = [trace_case(cupy, test_fused.CASES, test_fused._call, name, compile_kernels)
            for name in sorted(test_fused.CASES)]
    for row in rows:
        verdict = f"traced by cupy.{row['path'].replace(' ', '_')}, stopped at the device" if row["ok"] else "REFUSED"
        if "compiled" in row:
            verdict += "; NVRTC compiled it" if row["compiled"] is True else f"; NOT COMPILED: {row['compiled']}"
        print(f"{row['case']:28s} {verdict}")
        for e in row["errors"][1:] if row["ok"] else row["errors"]:  # notes: a refusal by the first fusion
            print("    ", e)
    names = used_xp_names()
    summary = {"cupy": cupy.__version__, "cases": len(rows), "traced": sum(r["ok"] for r in rows),
               "refused": [r["case"] for r in rows if not r["ok"]], "xp_names_used": len(names),
               "xp_names_missing": missing_names(cupy, names)}
    if compile_kernels:
        summary["compiled"] = sum(r.get("compiled") is True for r in rows)
        summary["not_compiled"] = [r["case"] for r in rows if r.get("compiled", True) is not True]
    print(json.dumps({"trace_chains": summary}))
    return 0 if not (summary["refused"] or summary["xp_names_missing"] or summary.get("not_compiled")) else 1


if __name__ == "__main__":
    sys.exit(main())
