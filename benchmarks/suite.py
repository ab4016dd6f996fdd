"""The benchmark suite: every workload, threestep against PyTorch (and tinygrad where it runs),
each framework in its own processes, one invocation, one table.

For each round and each workload a fresh worker process per framework measures training
samples/s (median of ``--repeats`` epochs after a warm-up epoch), inference samples/s
(likewise) and its RSS high-water mark. Frameworks take turns, and the order flips every
round, so a load spike from another process on a shared machine hits one round of one
framework, not all of one; the table shows medians over rounds, and each ratio is the median
of the per-round ratios. Every worker gets the same thread count (OMP/OpenBLAS/MKL variables
and ``torch.set_num_threads``), the same float32 data and the same batch.

Memory: each worker imports its framework and makes the data, reads its RSS (the baseline),
restarts the kernel's RSS high-water mark there (Linux ``/proc/self/clear_refs``), builds,
trains and infers. ``peak RSS`` is then the high-water mark during the workload, library
included (PyTorch's import alone is ~200 MB more than threestep's); ``workload MB`` is that
minus the baseline: what the model, its training and its inference added.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from .workloads import DESCRIPTIONS, WORKLOADS, supports

FRAMEWORKS = ("threestep", "pytorch", "tf_keras", "keras_jax", "tinygrad")
PEERS = ("pytorch", "tf_keras", "keras_jax", "tinygrad")  # what threestep is compared with
LABELS = {"pytorch": "PyTorch", "tf_keras": "tf-keras", "keras_jax": "Keras 3/JAX", "tinygrad": "tinygrad"}
METRICS = ("train_samples_per_s", "infer_samples_per_s", "infer_1000_samples_per_s", "peak_rss_mb", "workload_mb")
# The modules each peer needs (all of them), and its name in messages and tables.
MODULES = {"pytorch": (("torch",), "PyTorch"), "tinygrad": (("tinygrad",), "tinygrad"),
           "tf_keras": (("tf_keras", "tensorflow"), "tf-keras"), "keras_jax": (("keras", "jax"), "Keras 3/JAX")}
OPTIONAL = ("tf_keras", "keras_jax", "tinygrad")  # default columns only where they import


def _importable(framework):
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in MODULES.get(framework, ((),))[0])


def available_frameworks():
    """threestep and PyTorch always; tf-keras, Keras 3/JAX and tinygrad only where they import."""
    return [f for f in FRAMEWORKS if f not in OPTIONAL or _importable(f)]


def missing_frameworks(frameworks):
    """The display names of the requested peer frameworks that do not import here."""
    return [MODULES[f][1] for f in frameworks if f in MODULES and not _importable(f)]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def thread_env(threads, first_on_path=None):
    env = dict(os.environ)
    # NUM_CPU_THREADS: tinygrad's CPU device splits each kernel over that many threads (and its
    # parallel compiler, which runs only in the warm-up, defaults to as many processes).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUM_CPU_THREADS"):
        env[var] = str(threads)
    paths = ([first_on_path] if first_on_path else []) + [ROOT, env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def export_revision(rev, folder):
    """``src/threestep`` as committed at git revision ``rev``, unpacked under ``folder``; returns
    the directory to put first on PYTHONPATH (a read-only ``git archive``: the checkout is untouched)."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", rev, "src/threestep"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise ValueError(f"--baseline {rev}: git archive failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return os.path.join(folder, "src")


def run_worker(framework, workload, samples, threads, repeats, timeout=900, baseline_path=None, device="cpu",
               batch=0, optimizer="sgd"):
    """One worker process; its JSON result, or {"error": ...} if it failed. ``baseline_path``
    puts an exported older threestep first on the worker's path (framework ``threestep@REV``)."""
    cmd = [sys.executable, "-m", "benchmarks.worker", framework.split("@")[0], workload, "--samples", str(samples),
           "--threads", str(threads), "--repeats", str(repeats), "--device", device, "--batch", str(batch),
           "--optimizer", optimizer]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=thread_env(threads, baseline_path),
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def warm_numba_cache(threads, baseline_path=None):
    """Compile threestep's Numba kernels into their on-disk cache once, before any worker runs:
    in a fresh checkout the first worker would otherwise compile them itself, and the compiler's
    memory would count as that worker's peak (an MLP worker: ~300 MB instead of ~200 MB).
    Returns whether it worked (a failure is left for the workers to report)."""
    code = "from benchmarks.worker import warm_up_threestep; warm_up_threestep()"
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=thread_env(threads, baseline_path), timeout=900)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


# Ends after ``seconds``, or as soon as the suite that started it is gone (killed mid-run).
BUSY_LOOP = ("import os, time\nend = time.monotonic() + {seconds}\nparent = {parent}\n"
             "while time.monotonic() < end and os.getppid() == parent:\n    pass\n")


def start_neighbours(count, seconds):
    """``count`` CPU-bound neighbour processes (Python busy loops that end by themselves after
    ``seconds``): the contention the suite's ``--neighbours`` measures next to."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=float(seconds), parent=os.getpid())],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop_neighbours(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def contention_schedule(workloads, frameworks, rounds, neighbours):
    """(round, neighbour count, workload, framework) in run order: within each round and count
    the frameworks alternate as in ``schedule``."""
    by_round = schedule(workloads, frameworks, rounds)
    return [(r, k, w, f) for r in range(rounds) for k in neighbours for rr, w, f in by_round if rr == r]


def schedule(workloads, frameworks, rounds):
    """(round, workload, framework) in run order: frameworks alternate, flipping every round."""
    order = []
    for r in range(rounds):
        fws = list(frameworks) if r % 2 == 0 else list(reversed(frameworks))
        order += [(r, w, f) for w in workloads for f in fws]
    return order


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name():
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        return None


def blas_core():
    """The kernel family NumPy's OpenBLAS chose for this CPU (e.g. SkylakeX, Haswell), or None."""
    from threestep.utils.environment import blas_libraries

    libs = blas_libraries() or []
    return next((b["kernels"] for b in libs if b["api"] == "openblas" and b["numpy"]),
                next((b["kernels"] for b in libs if b["api"] == "openblas"), None))


def machine(threads, device="cpu"):
    """The machine and library versions the figures belong to."""
    import numpy

    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads, "python": platform.python_version(),
            "numpy": numpy.__version__, "os": platform.platform()}
    try:
        cfg = numpy.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict mode
        info["numpy_blas"] = "unknown"
    info["numpy_blas_core"] = blas_core()
    # OpenBLAS reads these once, as it loads: a forced core type (an older CPU's kernels) or cache size
    info["blas_env"] = {k: v for k, v in sorted(os.environ.items()) if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    try:
        import torch

        info["torch"] = torch.__version__
        cfg = torch.__config__.show()
        words = cfg.replace(",", " ").split()
        info["torch_blas"] = next((w.split("=")[1] for w in words if w.startswith("BLAS_INFO=")), "unknown")
    except ImportError:
        info["torch"] = None
    if device == "gpu":
        info["gpu"] = gpu_name()
        try:
            import cupy

            info["cupy"] = cupy.__version__
        except ImportError:
            info["cupy"] = None
    from importlib.metadata import PackageNotFoundError, version

    for package in ("tinygrad", "tensorflow", "tf_keras", "keras", "jax"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    try:
        import threestep

        info["threestep"] = threestep.__version__
    except ImportError:
        pass
    return info


RATIO_METRICS = ("train_samples_per_s", "infer_samples_per_s", "infer_1000_samples_per_s", "workload_mb",
                 "peak_rss_mb", "device_peak_mb")


def ratio_key(metric, peer):
    """``train_ratio_vs_pytorch``, ``infer_1000_ratio_vs_keras_jax``, ``peak_rss_mem_ratio_vs_tf_keras``..."""
    return metric.replace("_samples_per_s", "").replace("_mb", "_mem") + "_ratio_vs_" + peer


def _compared(framework, peer, frameworks):
    """Every framework is compared with PyTorch; threestep (and threestep@REV) with every peer."""
    return framework != peer and peer in frameworks and (peer == "pytorch" or framework.startswith("threestep"))


def summarize(results, workloads, frameworks):
    """Medians over rounds per (workload, framework), plus per-round ratios' medians: every
    framework against PyTorch, threestep against every peer."""
    summary = {}
    for w in workloads:
        row = {}
        for f in frameworks:
            runs = [r for r in results if r["workload"] == w and r["framework"] == f and "error" not in r]
            errors = [r["error"] for r in results if r["workload"] == w and r["framework"] == f and "error" in r]
            if not runs:
                if not errors and not supports(f, w):
                    row[f] = {"not_applicable": f"{f} has no version of the {w} workload"}
                else:
                    row[f] = {"error": errors[0] if errors else "not run"}
                continue
            row[f] = {}
            for m in METRICS:
                values = [r[m] for r in runs if m in r]
                if len(values) == len(runs):  # (results of an older worker may lack a metric)
                    row[f][m] = statistics.median(values)
                    row[f][m + "_range"] = [min(values), max(values)]  # the spread over rounds: the noise
            if all("device_peak_mb" in r for r in runs):
                row[f]["device_peak_mb"] = statistics.median(r["device_peak_mb"] for r in runs)
            row[f]["rounds"] = len(runs)
        for f in frameworks:
            for peer in PEERS:
                if not _compared(f, peer, frameworks) or "rounds" not in row[f] or "rounds" not in row.get(peer, {}):
                    continue
                for m in RATIO_METRICS:
                    pairs = [(a[m], b[m]) for a in results for b in results
                             if a.get("workload") == w == b.get("workload") and a.get("round") == b.get("round")
                             and a.get("framework") == f and b.get("framework") == peer and b.get(m, 0) > 0
                             and m in a]
                    if pairs:
                        row[f][ratio_key(m, peer)] = round(statistics.median(a / b for a, b in pairs), 3)
        summary[w] = row
    return summary


def blas_ceiling(results):
    """The MLP's GFLOP/s against the SGEMM rate its own worker measured (medians over rounds), or None."""
    runs = [r for r in results if r.get("workload") == "mlp" and r.get("framework") == "threestep"
            and "mlp_gflops" in r]
    if not runs:
        return None
    out = {k: statistics.median(r[k] for r in runs)
           for k in ("mlp_gflops", "sgemm_mlp_shapes_gflops", "sgemm_1024_gflops")}
    out["ratio"] = round(statistics.median(r["mlp_gflops"] / r["sgemm_mlp_shapes_gflops"] for r in runs), 3)
    return out


def _fmt(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def markdown(summary, frameworks, sgemm=None):
    """The table: medians over rounds, then the ratios: every framework / PyTorch and threestep /
    every other peer (throughput: > 1 is faster; memory: > 1 is more)."""
    others = [f for f in frameworks if f != "pytorch"]
    ratios = [(f, "pytorch") for f in others] + [(f, p) for f in others for p in PEERS
                                                 if p != "pytorch" and _compared(f, p, frameworks)]
    head = ["workload", "metric", "pytorch"] + others + [f"{f}/{p}" for f, p in ratios]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = (("train samples/s", "train_samples_per_s", 0),
            ("infer samples/s", "infer_samples_per_s", 0),
            ("infer samples/s, batch 1000", "infer_1000_samples_per_s", 0),
            ("peak RSS MB", "peak_rss_mb", 0),
            ("workload MB", "workload_mb", 0),
            ("GPU memory MB", "device_peak_mb", 0))
    for w, row in summary.items():
        for label, key, digits in rows:
            if not any(key in v for v in row.values()):
                continue  # GPU memory only on GPU runs
            cells = [DESCRIPTIONS.get(w, w), label]
            for f in ["pytorch"] + others:
                cells.append("n/a" if key not in row.get(f, {}) else _fmt(row[f][key], digits))
            for f, p in ratios:
                r = row.get(f, {}).get(ratio_key(key, p))
                cells.append("n/a" if r is None else f"{r:.2f}x")
            lines.append("| " + " | ".join(cells) + " |")
    if sgemm:
        lines.append("")
        lines.append(f"MLP training: threestep achieves {sgemm['mlp_gflops']:.1f} GFLOP/s; NumPy's SGEMM reaches "
                     f"{sgemm['sgemm_mlp_shapes_gflops']:.1f} GFLOP/s on the same GEMM shapes (ratio "
                     f"{sgemm['ratio']:.0%}, median of per-round ratios) and {sgemm['sgemm_1024_gflops']:.1f} "
                     "GFLOP/s on 1024x1024x1024, each measured in the threestep MLP worker right after training.")
    return "\n".join(lines)


WORKER_TIMEOUT = 900


def _measure(r, w, f, rounds, threads, repeats, quick, baseline_path, log, device, batch, optimizer="sgd",
             neighbours=0):
    busy = start_neighbours(neighbours, WORKER_TIMEOUT + 60)
    try:
        res = run_worker(f, w, WORKLOADS[w][3 if quick else 2], threads, repeats, timeout=WORKER_TIMEOUT,
                         baseline_path=baseline_path, device=device, batch=batch, optimizer=optimizer)
    finally:
        stop_neighbours(busy)
    res.update(framework=f, workload=w, round=r, neighbours=neighbours)
    where = f"round {r + 1}/{rounds}" + (f", {neighbours} neighbour{'s' if neighbours > 1 else ''}" if neighbours else "")
    if "error" in res:
        log(f"{where} {w:>10} {f:>9}: FAILED {res['error']}")
    else:
        log(f"{where} {w:>10} {f:>9}: train {res['train_samples_per_s']:9.0f}/s  "
            f"infer {res['infer_samples_per_s']:9.0f}/s  infer@1000 {res.get('infer_1000_samples_per_s', 0):9.0f}/s  "
            f"peak {res['peak_rss_mb']:6.0f} MB (workload {res['workload_mb']:5.0f} MB)")
    return res


def run_suite(workloads, frameworks, rounds, threads, repeats, quick=False, log=print, device="cpu", batch=0,
              optimizer="sgd", neighbours=(0,)):
    """Run every worker in ``schedule`` order; returns the JSON-able report (``batch`` 0: each
    workload's own batch size). ``neighbours``: run each worker next to that many CPU-bound
    processes, once per count (``(0, 1, 2)``: quiet, one and two neighbours); the report's
    ``summary`` and ``table`` are the first count's, ``contention`` holds every count's."""
    start = time.time()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    neighbours = list(neighbours)
    results = []
    with tempfile.TemporaryDirectory(prefix="threestep-baseline-") as tmp:
        paths = {}
        for i, f in enumerate(frameworks):
            if "@" in f:  # threestep@REV: that revision's threestep, for before/after in one run
                os.makedirs(os.path.join(tmp, str(i)))
                paths[f] = export_revision(f.split("@", 1)[1], os.path.join(tmp, str(i)))
        for f in frameworks:
            if f.split("@")[0] == "threestep" and device == "cpu":
                warm_numba_cache(threads, paths.get(f))
        for r, k, w, f in contention_schedule(workloads, frameworks, rounds, neighbours):
            if not supports(f, w, optimizer):  # e.g. tinygrad's RNNs: n/a in the table, no worker, no error
                continue
            results.append(_measure(r, w, f, rounds, threads, repeats, quick, paths.get(f), log, device, batch,
                                    optimizer, neighbours=k))
    contention = {}
    for k in neighbours:
        mine = [res for res in results if res.get("neighbours", 0) == k]
        summary = summarize(mine, workloads, frameworks)
        sgemm = blas_ceiling(mine)
        contention[str(k)] = {"summary": summary, "sgemm": sgemm, "table": markdown(summary, frameworks, sgemm)}
    first = contention[str(neighbours[0])]
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(start)), "machine": machine(threads, device),
              "device": device,
              "load_average_before": load_before,
              "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
              "rounds": rounds, "repeats": repeats, "quick": quick, "frameworks": list(frameworks),
              "optimizer": optimizer, "neighbours": neighbours,
              "workloads": {w: {"batch": batch or WORKLOADS[w][1], "samples": WORKLOADS[w][3 if quick else 2],
                                "description": DESCRIPTIONS[w]} for w in workloads},
              "summary": first["summary"], "sgemm": first["sgemm"], "runs": results,
              "seconds": round(time.time() - start, 1)}
    if neighbours != [0]:
        report["contention"] = contention
    report["table"] = first["table"]
    return report


def machine_line(info):
    return (f"{info['cpu']}, {info['cores']} cores ({info['threads']} threads per framework), "
            f"Python {info['python']}, NumPy {info['numpy']} ({info.get('numpy_blas')}"
            + (f", {info['numpy_blas_core']} kernels" if info.get("numpy_blas_core") else "")
            + "".join(f", {k}={v}" for k, v in (info.get("blas_env") or {}).items()) + "), "
            f"PyTorch {info.get('torch')} ({info.get('torch_blas')} BLAS), threestep {info.get('threestep')}"
            + (f", tinygrad {info['tinygrad']}" if info.get("tinygrad") else "")
            + (f", tf-keras {info['tf_keras']} (TensorFlow {info.get('tensorflow')})" if info.get("tf_keras") else "")
            + (f", Keras {info['keras']} (JAX {info.get('jax')})" if info.get("keras") and info.get("jax") else ""))
