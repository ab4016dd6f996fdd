"""Data-parallel benchmark: training samples/s with 1 vs 2 MPI ranks, and a cost model for more.

    python benchmarks/distributed.py                  # mlp, cnn, lstm; prints JSON
    python benchmarks/distributed.py --workloads mlp --samples 6000

For each workload (the models of ``benchmarks/mlp.py``, ``cnn.py`` and ``rnn.py``) it runs
``mpirun -n R python benchmarks/distributed.py --worker ...`` for R = 1 and 2 with the same
global batch (R ranks x batch/R each), one BLAS thread per rank, and reports the median
epoch time over ``--repeats`` epochs after a warm-up epoch. A 1-rank run with the machine's
default BLAS threads is the fair single-process baseline.

The cost model: per step every rank sends and receives ``2 (R-1)/R * V`` bytes in a ring
allreduce of the ``V = 4 * parameters`` byte gradient buffer, against the compute of one
step (measured here, and counted in FLOPs). ``--bandwidths`` lists the link speeds to model.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (global batch, parameters, forward FLOPs per sample) -- FLOPs counted as 2 per multiply-add
WORKLOADS = {
    "mlp": (100, 784 * 500 + 500 + 500 * 500 + 500 + 500 * 10 + 10, 2 * (784 * 500 + 500 * 500 + 500 * 10)),
    "cnn": (100, (9 * 25 + 25) + (9 * 25 * 50 + 50) + (1250 * 100 + 100) + (100 * 10 + 10),
            2 * (26 * 26 * 25 * 9 + 11 * 11 * 50 * 25 * 9 + 1250 * 100 + 100 * 10)),
    "lstm": (128, 4 * (28 * 128 + 128 * 128 + 128) + 128 * 10 + 10, 2 * (28 * 4 * 128 * (28 + 128) + 128 * 10)),
}


def build(workload):
    from threestep import backend  # noqa: PLC0415
    from threestep.layers import LSTM, Conv2D, Dense, Flatten, MaxPooling2D  # noqa: PLC0415
    from threestep.models import Sequential  # noqa: PLC0415

    backend.set_seed(0)
    if workload == "mlp":
        layers, shape = [Dense(500, activation="relu", input_dim=784), Dense(500, activation="relu")], (784,)
    elif workload == "cnn":
        layers = [Conv2D(25, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
                  Conv2D(50, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dense(100, activation="relu")]
        shape = (28, 28, 1)
    else:
        layers, shape = [LSTM(128, input_shape=(28, 28))], (28, 28)
    model = Sequential(layers + [Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model, shape


def worker(args):
    """One rank: train ``repeats`` epochs on synthetic data; rank 0 prints one JSON line."""
    import numpy  # noqa: PLC0415

    from threestep.distributed import MPIStrategy  # noqa: PLC0415

    strategy = MPIStrategy()
    model, shape = build(args.workload)
    rng = numpy.random.default_rng(0)
    x = rng.random((args.samples,) + shape, dtype=numpy.float32)
    y = rng.integers(0, 10, args.samples)
    per_rank = WORKLOADS[args.workload][0] // strategy.world
    times = []
    for i in range(args.repeats + 1):
        strategy.comm.Barrier()
        start = time.perf_counter()
        model.fit(x, y, batch_size=per_rank, epochs=1, verbose=0, distributed=strategy)
        strategy.comm.Barrier()
        if i:  # the first epoch is a warm-up
            times.append(time.perf_counter() - start)
    if strategy.is_root:
        seconds = statistics.median(times)
        steps = -(-args.samples // (per_rank * strategy.world))
        print("RESULT " + json.dumps({"ranks": strategy.world, "batch_per_rank": per_rank,
                                      "epoch_s": round(seconds, 4), "step_ms": round(1000 * seconds / steps, 3),
                                      "samples_per_s": round(args.samples / seconds, 1)}))


def launch(workload, ranks, samples, repeats, blas_threads):
    exe = shutil.which("mpirun")
    if exe is None:
        raise SystemExit("mpirun not found: apt-get install -y openmpi-bin libopenmpi-dev; pip install mpi4py")
    cmd = [exe, "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ)
    if blas_threads:
        env.update(OMP_NUM_THREADS=str(blas_threads), OPENBLAS_NUM_THREADS=str(blas_threads),
                   MKL_NUM_THREADS=str(blas_threads))
    cmd += [sys.executable, os.path.abspath(__file__), "--worker", "--workload", workload,
            "--samples", str(samples), "--repeats", str(repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["blas_threads"] = blas_threads or "default"
            return result
    raise RuntimeError(f"mpirun failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")


def cost_model(workload, step_s, bandwidths, latency_s=5e-6, ranks=(2, 8, 64), fast_flops=10e12):
    """Allreduce time per step (ring, bandwidth + latency terms) against the compute of one step.

    ``comm_over_compute`` uses the step time measured here (one CPU rank, batch per rank =
    the global batch); ``comm_over_compute_fast`` a device sustaining ``fast_flops`` (a GPU),
    where the same allreduce weighs far more.
    """
    batch, params, fwd_flops = WORKLOADS[workload]
    volume = 4 * params
    fast_s = 3 * fwd_flops * batch / fast_flops
    rows = []
    for gbps in bandwidths:
        for r in ranks:
            comm_s = 2 * (r - 1) / r * volume / (gbps * 1e9 / 8) + 2 * (r - 1) * latency_s
            rows.append({"link_Gbit_s": gbps, "ranks": r, "allreduce_ms": round(1000 * comm_s, 3),
                         "comm_over_compute": round(comm_s / step_s, 3) if step_s else None,
                         "comm_over_compute_fast": round(comm_s / fast_s, 2)})
    return {"parameters": params, "allreduce_MB_per_step": round(volume / 1e6, 3),
            "train_GFLOP_per_step": round(3 * fwd_flops * batch / 1e9, 3),
            "FLOP_per_gradient_byte": round(3 * fwd_flops * batch / volume, 1),
            "measured_step_ms_1rank": round(1000 * step_s, 3),
            f"step_ms_at_{fast_flops / 1e12:g}_TFLOP_s": round(1000 * fast_s, 3), "ring_allreduce": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["mlp", "cnn", "lstm"], choices=sorted(WORKLOADS))
    parser.add_argument("--samples", type=int, default=2000, help="samples per timed epoch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bandwidths", type=float, nargs="+", default=[10.0, 100.0], help="Gbit/s links to model")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="mlp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    from common import emit, machine  # noqa: PLC0415

    results = {}
    for workload in args.workloads:
        runs = [launch(workload, 1, args.samples, args.repeats, None),
                launch(workload, 1, args.samples, args.repeats, 1),
                launch(workload, 2, args.samples, args.repeats, 1)]
        base = runs[0]["samples_per_s"]
        for run in runs:
            run["speedup_vs_1rank_default_threads"] = round(run["samples_per_s"] / base, 3)
        best_step_s = min(r["step_ms"] for r in runs if r["ranks"] == 1) / 1000
        results[workload] = {"runs": runs, "cost_model": cost_model(workload, best_step_s, args.bandwidths)}
    emit({"benchmark": "data-parallel fit over MPI (same global batch)", "samples": args.samples,
          "machine": machine(), "results": results})


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
