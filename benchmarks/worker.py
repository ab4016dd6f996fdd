"""One measurement in its own process: one framework, one workload (or the SGEMM ceiling).

The suite starts this module once per (framework, workload, round) with the thread-count
variables already in its environment, so the BLAS and OpenMP pools of every framework are
sized the same before they load, and each process's RSS high-water mark belongs to one
workload of one framework. Prints one JSON object on its last line of stdout.

    python -m benchmarks.worker FRAMEWORK WORKLOAD --samples N --threads T [--repeats R] [--device gpu]
"""
import argparse
import importlib
import importlib.util
import json
import os
import resource
import sys

from .common import measure


def peak_rss_mb():
    """The process's RSS high-water mark (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb():
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return peak_rss_mb()


def reset_peak_rss():
    """Restart the high-water mark from the current RSS (Linux: ``echo 5 > /proc/self/clear_refs``),
    so that the peak belongs to the workload, not to transient allocations while importing."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _fastest(fn, repeats, threads):
    """``measure(fn)`` with NumPy's BLAS at ``threads`` threads and at 1, the faster: threestep's
    fit picks between those counts by timing (``accel.threads.Governor``), so the ceiling it is
    compared with may pick too (on a quiet machine all threads win; next to busy processes one
    thread can)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return measure(fn, repeats)
    best = None
    for n in sorted({threads, 1}, reverse=True):
        with threadpool_limits(n, user_api="blas"):
            t = measure(fn, repeats)
        best = t if best is None or t[0] < best[0] else best
    return best


def sgemm(threads, repeats):
    """The BLAS ceiling: float32 GEMM GFLOP/s of NumPy's BLAS, for a 1024^3 product and for the
    very GEMMs of one MLP training step (batch 100), which bound what the MLP can reach (each at
    ``threads`` threads or at 1, whichever is faster now)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((1024, 1024), dtype=np.float32), rng.random((1024, 1024), dtype=np.float32)
    out = np.empty((1024, 1024), np.float32)
    square, _ = _fastest(lambda: np.matmul(a, b, out=out), max(repeats, 3), threads)
    n, dims = 100, [(784, 500), (500, 500), (500, 10)]
    xs = [rng.random((n, i), dtype=np.float32) for i, _ in dims]
    ws = [rng.random(d, dtype=np.float32) for d in dims]
    gs = [rng.random((n, o), dtype=np.float32) for _, o in dims]
    flops = sum(2 * n * i * o for i, o in dims) * 2 + sum(2 * n * i * o for i, o in dims[1:])

    def step():
        for k, (x, w, g) in enumerate(zip(xs, ws, gs)):
            x @ w  # forward
            x.T @ g  # dW
            if k:
                g @ w.T  # dx (not for the first layer)

    def many():
        for _ in range(10):
            step()

    shaped, _ = _fastest(many, max(repeats, 3), threads)
    return {"sgemm_1024_gflops": round(2 * 1024**3 / square / 1e9, 1),
            "sgemm_mlp_shapes_gflops": round(10 * flops / shaped / 1e9, 1), "threads": threads}


def device_peak_mb(framework):
    """GPU memory held at the end (both allocators keep freed blocks, so this is their high-water)."""
    if framework == "pytorch":
        import torch

        return torch.cuda.max_memory_reserved() / 2**20
    import cupy

    return cupy.get_default_memory_pool().total_bytes() / 2**20


INFER_BATCH = 1000  # the second inference batch size every worker measures


def pin_cpus(threads):
    """Confine this process (and every thread it starts from now on) to ``threads`` of its CPUs
    when that is fewer than it may use, so that "1 thread" means one core for every framework:
    thread-count settings alone leave helper threads free to use the others (measured: Keras 3's
    JAX ran its "one-thread" predict at batch 1000 on both cores, 150k samples/s against 88k
    pinned; tf-keras's input pipeline used the second core too). Returns the CPUs pinned to, or
    None where nothing changed."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if 0 < threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])
        return cpus[:threads]
    return None


def keras_environment(framework, threads):
    """Set the variables the Keras peers read at import: tf-keras through TF_USE_LEGACY_KERAS,
    Keras 3 on JAX through KERAS_BACKEND, and XLA's CPU threads (one thread: no Eigen thread
    pool, one intra-op thread; XLA has no flag for a pool size, ``pin_cpus`` bounds the rest)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if framework == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if framework == "keras_jax":
        os.environ["KERAS_BACKEND"] = "jax"
        os.environ["JAX_PLATFORMS"] = "cpu"
        if threads == 1:
            flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()


def warm_up_threestep():
    """Compile (or load from Numba's cache) the threestep kernels of whichever revision imports:
    ``threestep.ops.kernels`` before the accel room existed (``--baseline`` may run one)."""
    for where in ("threestep.accel.kernels", "threestep.ops.kernels"):
        if importlib.util.find_spec(where.rsplit(".", 1)[0]) and importlib.util.find_spec(where):
            importlib.import_module(where).warm_up()
            return


def import_framework(framework, threads):
    """Import the framework with its thread pools sized to ``threads`` and the process pinned to
    that many CPUs (``pin_cpus``); returns the module."""
    pin_cpus(threads)
    keras_environment(framework, threads)
    lib = importlib.import_module({"threestep": "threestep", "pytorch": "torch", "tinygrad": "tinygrad",
                                   "tf_keras": "tf_keras", "keras_jax": "keras"}[framework])
    if framework == "pytorch":
        lib.set_num_threads(threads)
    if framework == "tf_keras":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return lib


def run(framework, workload, samples, threads, repeats, device="cpu", batch=0, optimizer="sgd"):
    from .workloads import RUNNERS, WORKLOADS, make_data, mlp_flops_per_sample

    # Import the framework before the baseline RSS is read, so that "workload MB" counts the same
    # things for every framework: the model, its training and inference, not the library itself.
    lib = import_framework(framework, threads)
    if framework == "threestep":
        warm_up_threestep()  # compiled Numba code is library too
    x, y = make_data(workload, samples)
    batch = batch or WORKLOADS[workload][1]
    base = current_rss_mb()  # interpreter + framework + data, before any model exists
    reset_peak_rss()
    options = {} if optimizer == "sgd" else {"optimizer": optimizer}  # tinygrad's runners train with SGD only
    train, infer = RUNNERS[framework](workload, x, y, batch, device, **options)
    t_train, train_times = measure(train, repeats)
    t_infer, infer_times = measure(infer, repeats)
    t_infer_big, infer_big_times = measure(lambda: infer(INFER_BATCH), repeats)
    peak = peak_rss_mb()
    extra = {"device": device}
    if device == "gpu" and framework != "tinygrad":
        extra["device_peak_mb"] = round(device_peak_mb(framework), 1)
    if framework == "tinygrad":  # the device and kernel compiler it ran on, e.g. "CPU (ClangRenderer)"
        extra["tinygrad_device"] = f"{lib.Device.DEFAULT} ({type(lib.Device[lib.Device.DEFAULT].renderer).__name__})"
    if framework == "threestep":
        extra["threestep_path"] = os.path.dirname(lib.__file__)  # which checkout was measured
    if workload == "mlp" and framework == "threestep":
        # The BLAS ceiling measured in this process right after training, under the same load.
        extra.update(sgemm(threads, repeats))
        extra["mlp_gflops"] = round(samples / t_train * mlp_flops_per_sample() / 1e9, 2)
    return {**extra, "framework": framework, "workload": workload, "samples": samples, "batch": batch,
            "optimizer": optimizer,
            "threads": threads, "train_samples_per_s": samples / t_train, "infer_samples_per_s": samples / t_infer,
            "infer_1000_samples_per_s": samples / t_infer_big,
            "train_seconds": train_times, "infer_seconds": infer_times, "infer_1000_seconds": infer_big_times,
            "peak_rss_mb": round(peak, 1), "workload_mb": round(peak - base, 1), "baseline_rss_mb": round(base, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("framework", choices=("threestep", "pytorch", "tinygrad", "tf_keras", "keras_jax", "numpy"))
    parser.add_argument("workload")
    parser.add_argument("--samples", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--batch", type=int, default=0, help="0: the workload's own batch size")
    parser.add_argument("--optimizer", default="sgd", help="sgd (default), momentum, adam, rmsprop or adagrad")
    args = parser.parse_args(argv)
    if args.workload == "sgemm":
        result = sgemm(args.threads, args.repeats)
    else:
        result = run(args.framework, args.workload, args.samples, args.threads, args.repeats, args.device,
                     args.batch, args.optimizer)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
