"""The MLP's FLOP rate against the same GEMMs alone, alternating in one process.

``python -m benchmarks`` measures the MLP's GFLOP/s and NumPy's SGEMM rate on the same shapes
in one worker, one after the other; on a loaded machine the two land in different moments.
This probe alternates them: one training epoch of the suite's MLP (784-500-500-10, batch 100,
plain SGD), then the GEMMs of the same number of steps alone (forward, dW of every layer, dx of
all but the first; constant weights, hot cache), ``--pairs`` times; it prints the median
ratio (GEMMs-alone time / training time = achieved FLOP rate / SGEMM rate) as JSON.

    python -m benchmarks.flop_probe --threads 2 --pairs 10
"""
import argparse
import json
import statistics
import time


def probe(threads, pairs=10, samples=6000):
    import numpy as np
    from threadpoolctl import threadpool_limits

    import threestep as ts
    from threestep import layers as L
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    from .workloads import make_data

    with threadpool_limits(threads):
        ts.backend.set_seed(0)
        x, y = make_data("mlp", samples)
        model = Sequential([L.Dense(500, activation="relu", input_dim=784), L.Dense(500, activation="relu"),
                            L.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.01))
        model.fit(x, y, batch_size=100, epochs=1, verbose=0)  # warm-up: kernels loaded, memory touched
        rng = np.random.default_rng(0)
        dims = [(784, 500), (500, 500), (500, 10)]
        xs = [rng.random((100, i), dtype=np.float32) for i, _ in dims]
        ws = [rng.random(d, dtype=np.float32) for d in dims]
        gs = [rng.random((100, o), dtype=np.float32) for _, o in dims]
        steps = -(-samples // 100)

        def gemms():
            for _ in range(steps):
                for k, (a, w, g) in enumerate(zip(xs, ws, gs)):
                    a @ w
                    a.T @ g
                    if k:
                        g @ w.T
        ratios = []
        for _ in range(pairs):
            start = time.perf_counter()
            model.fit(x, y, batch_size=100, epochs=1, verbose=0)
            train = time.perf_counter() - start
            start = time.perf_counter()
            gemms()
            ratios.append((time.perf_counter() - start) / train)
    return {"threads": threads, "pairs": pairs, "samples": samples, "ratio": round(statistics.median(ratios), 3),
            "ratios": [round(r, 3) for r in ratios], "threestep_path": ts.__file__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=6000)
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.threads, args.pairs, args.samples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
