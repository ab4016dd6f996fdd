"""GPU kernel launches per training step on the CuPy backend, counted on a CPU.

A small-batch GPU step is bound by launches (each a few microseconds on the device plus CuPy's
Python call), not by arithmetic, so the number of kernels a step launches is the figure to
shrink before a GPU can be profiled. This runs the suite's workloads (``workloads``) on the test
suite's strict CuPy stand-in (``tests/fakecupy``: NumPy behind a device-array type that counts
every kernel it would launch; one ``cupy.fuse`` call counts one) and prints, per workload, the
kernels and host<->device copies of one training step (``fit`` over three batches minus ``fit``
over one, halved, so that ``fit``'s once-per-call input checks drop out; after a warm-up), with the elementwise chains of ``threestep.accel.fused`` fused and, for comparison, run op
by op (``THREESTEP_CUPY_FUSE=0``: the same chains unfused, which is more launches than the
in-place code the chains replaced), as JSON. Optimizer: the suite's SGD, plus Adam.

    python -m benchmarks.launches [--workloads mlp,cnn,lstm,gru] [--optimizers sgd,adam]

Estimates: a cuBLAS call counts one (it may launch more), a reduction one.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_CUPY = ROOT / "tests" / "fakecupy"


def count(name, optimizer, steps=3):
    """Kernels and copies of one training step (the median of ``steps`` after a warm-up), in this process."""
    import statistics

    import cupy

    import threestep as ts
    from threestep import layers as L
    from threestep.models import Sequential

    from .workloads import CLASSES, UNITS, WORKLOADS, make_data

    assert getattr(cupy, "_FAKE", False), "run through main(): the fake CuPy must come first on sys.path"
    ts.backend.set_backend("cupy")
    ts.backend.set_seed(0)
    shape, batch = WORKLOADS[name][0], WORKLOADS[name][1]
    x, y = make_data(name, 3 * batch)
    if name == "mlp":
        stack = [L.Dense(500, activation="relu", input_dim=784), L.Dense(500, activation="relu")]
    elif name == "cnn":
        stack = [L.Conv2D(25, 3, activation="relu", input_shape=shape), L.MaxPooling2D(2),
                 L.Conv2D(50, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(100, activation="relu")]
    else:
        stack = [{"lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN}[name](UNITS, input_shape=shape)]
    model = Sequential(stack + [L.Dense(CLASSES, activation="softmax")])
    opt = ts.optimizers.SGD(0.01) if optimizer == "sgd" else ts.optimizers.Adam()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt)
    xd, yd = ts.backend.on_device(x), ts.backend.on_device(y)  # the data already on the device
    model.fit(xd, yd, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # warm-up: slots, plans
    runs = []
    for _ in range(steps):  # fit over three batches minus fit over one: two steps, without fit's set-up
        counts = []
        for n in (batch, 3 * batch):
            cupy._fake_reset_counts()
            model.fit(xd[:n], yd[:n], batch_size=batch, epochs=1, verbose=0, shuffle=False)
            counts.append(cupy._fake_reset_counts())
        runs.append({k: (counts[1][k] - counts[0][k]) / 2 for k in counts[0]})
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {k: int(v) if v == int(v) else v for k, v in median.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp,cnn,lstm,gru,simple_rnn")
    parser.add_argument("--optimizers", default="sgd,adam")
    parser.add_argument("--worker", nargs=3, metavar=("WORKLOAD", "OPTIMIZER", "FUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # one count in this process (started by main with the fake CuPy on the path)
        print(json.dumps(count(*args.worker[:2])))
        return
    rows = []
    for name in args.workloads.split(","):
        for optimizer in args.optimizers.split(","):
            row = {"workload": name, "optimizer": optimizer}
            for fuse in ("1", "0"):
                env = dict(os.environ, THREESTEP_BACKEND="cupy", THREESTEP_CUPY_FUSE=fuse,
                           PYTHONPATH=os.pathsep.join(filter(None, [str(FAKE_CUPY), str(ROOT / "src"),
                                                                    str(ROOT), os.environ.get("PYTHONPATH")])))
                done = subprocess.run([sys.executable, "-m", "benchmarks.launches", "--worker", name, optimizer, fuse],
                                      cwd=ROOT, env=env, capture_output=True, text=True, check=True)
                counts = json.loads(done.stdout.strip().splitlines()[-1])
                row["fused" if fuse == "1" else "op_by_op"] = counts
            rows.append(row)
            print(f"{name:>10} {optimizer:>4}: kernels per step {row['fused']['kernels']:>6} fused, "
                  f"{row['op_by_op']['kernels']:>6} op by op", file=sys.stderr)
    print(json.dumps({"launches_per_training_step": rows}))


if __name__ == "__main__":
    main()
