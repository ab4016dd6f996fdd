"""What threestep runs on here: versions, the BLAS and its kernels, threads, Numba, the GPU.

threestep's speed on the CPU is NumPy's BLAS (every dense, convolution and recurrent GEMM) plus
its own Numba kernels, so a slow run usually has a cause this report shows: OpenBLAS held to an
older CPU's kernels by ``OPENBLAS_CORETYPE`` (on a CPU with AVX-512, ``Haswell`` halves the SGEMM
rate), a thread limit, or Numba missing. ``threestep info`` prints it (``--json`` for a bug
report); ``hints(report)`` says what to change.

    >>> from threestep.utils import environment
    >>> info = environment.report()          # a dict of plain values
    >>> for line in environment.hints(info):
    ...     print(line)
"""
import importlib.util
import os
import platform
import sys

# Environment variables that change how fast (or on what) threestep runs; reported when set.
ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
            "OPENBLAS_VERBOSE", "NUMBA_DISABLE_JIT", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")
_SKYLAKEX_OR_NEWER = ("skylakex", "cooperlake", "sapphirerapids")  # OpenBLAS's AVX-512 kernel families


def cpu():
    """(model name, set of flags) of the first CPU in /proc/cpuinfo; (platform's name, empty set)
    where there is no such file (macOS, Windows)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return model, flags


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def blas_libraries():
    """The BLAS libraries loaded in this process as threadpoolctl reads them, None without it:
    [{"api", "library", "version", "kernels", "threads", "numpy": whether NumPy's own}]."""
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    from threadpoolctl import threadpool_info  # noqa: PLC0415

    out = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        path = lib.get("filepath") or ""
        out.append({"api": lib.get("internal_api"), "library": os.path.basename(path), "version": lib.get("version"),
                    "kernels": lib.get("architecture"), "threads": lib.get("num_threads"),
                    "numpy": "numpy" in path})
    return out


def _version(module):
    if importlib.util.find_spec(module) is None:
        return None
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version(module)
    except Exception:  # installed without metadata
        return "installed"


def report():
    """A dict describing this process's threestep, Python, CPU, BLAS, threads, Numba and GPU.

    Reads only what is loaded or cheap to ask: it imports NumPy and threadpoolctl (when
    installed), not Numba or CuPy (their versions come from the package metadata)."""
    import numpy  # noqa: PLC0415

    from .. import __version__, backend  # noqa: PLC0415

    model, flags = cpu()
    simd = [f for f in ("avx512f", "avx2", "fma", "neon", "asimd") if f in flags]
    return {
        "threestep": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": model,
        "cpu_simd": simd,
        "cores_available": _cores(),
        "numpy": numpy.__version__,
        "blas": blas_libraries(),
        "numba": _version("numba"),
        "backend": backend.backend_name(),
        "cupy": _version("cupy") or _version("cupy-cuda12x"),
        "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ}
        | {k: v for k, v in sorted(os.environ.items()) if k.startswith("THREESTEP_")},
    }


def hints(info):
    """What to change, as sentences, for what ``report`` found: an OpenBLAS held to kernels older
    than the CPU, Numba missing, no way to read the BLAS's threads. Empty when nothing stands out."""
    out = []
    forced = info["env"].get("OPENBLAS_CORETYPE")
    numpy_blas = [b for b in info["blas"] or () if b["numpy"]] or info["blas"] or []
    for b in numpy_blas:
        kernels = (b.get("kernels") or "").lower()
        if (b.get("api") == "openblas" and forced and "avx512f" in info["cpu_simd"]
                and kernels and kernels not in _SKYLAKEX_OR_NEWER):
            out.append(f"OPENBLAS_CORETYPE={forced} keeps NumPy's OpenBLAS on its {b['kernels']} kernels, but this "
                       "CPU has AVX-512: every GEMM threestep runs (dense, convolution, recurrent) runs at about half "
                       "OpenBLAS's speed here. Unset it (`env -u OPENBLAS_CORETYPE ...`) unless identical results "
                       "across different CPUs matter more.")
    if info["numba"] is None:
        out.append("Numba is not installed: threestep's fused CPU kernels (optimizer updates, recurrent time "
                   "loops, activations) fall back to NumPy, several times slower. `pip install numba`.")
    if info["blas"] is None:
        out.append("threadpoolctl is not installed: threestep cannot read or set the BLAS's threads, so `predict`'s "
                   "row blocks and the thread governor stay off. `pip install threadpoolctl`.")
    return out


def lines(info):
    """``report``'s dict as the lines ``threestep info`` prints."""
    out = [f"threestep {info['threestep']} on Python {info['python']} ({info['platform']})",
           f"CPU: {info['cpu']}; SIMD: {', '.join(info['cpu_simd']) or 'unknown'}; "
           f"{info['cores_available']} core(s) available to this process",
           f"NumPy {info['numpy']}; array backend: {info['backend']}"]
    if info["blas"] is None:
        out.append("BLAS: unknown (threadpoolctl not installed)")
    for b in info["blas"] or ():
        out.append(f"BLAS: {b['api']} {b['version'] or ''} ({b['library']}{', NumPy' if b['numpy'] else ''}): "
                   f"{b['kernels'] or 'unknown'} kernels, {b['threads']} thread(s)")
    out.append(f"Numba: {info['numba'] or 'not installed'}; CuPy: {info['cupy'] or 'not installed'}")
    env = info["env"]
    out.append("Environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env else "no variable that "
                                  "changes threestep's speed is set"))
    return out


def main(json_output=False, file=None):
    """Print the report (``json_output``: as JSON) and its hints; returns the report."""
    import json  # noqa: PLC0415

    file = file or sys.stdout
    info = report()
    if json_output:
        print(json.dumps({**info, "hints": hints(info)}, indent=2), file=file)
        return info
    for line in lines(info):
        print(line, file=file)
    for line in hints(info):
        print("Hint: " + line, file=file)
    return info
