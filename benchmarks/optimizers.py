"""The lecture's optimizers on the suite's MLP: training samples/s of threestep and PyTorch.

    python -m benchmarks.optimizers --threads 2

The suite (``python -m benchmarks``) trains with plain SGD; this trains the same MLP
(784-500-500-10 ReLU, batch 100) with SGD, momentum 0.9, Adam, RMSprop and Adagrad (each
library's defaults otherwise), one worker process per framework and optimizer, alternating
frameworks over ``--rounds``, and prints JSON: the median samples/s of each and the
threestep/PyTorch ratio. Each worker trains one warm-up epoch, then ``--repeats`` timed epochs
(best).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from .workloads import OPTIMIZERS

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where ``benchmarks`` imports from


def worker(framework, name, threads, samples, repeats, batch=100):
    """One framework and optimizer in this process: the best training samples/s over ``repeats`` epochs."""
    from threadpoolctl import threadpool_limits

    from .workloads import make_data, threestep_runners, torch_runners

    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
    x, y = make_data("mlp", samples)
    with threadpool_limits(threads):
        train = (threestep_runners if framework == "threestep" else torch_runners)("mlp", x, y, batch,
                                                                                    optimizer=name)[0]
        train()  # warm-up
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            train()
            best = max(best, samples / (time.perf_counter() - start))
    return best


def run(threads=1, rounds=3, samples=6000, repeats=2, optimizers=OPTIMIZERS):
    results = {name: {"threestep": [], "pytorch": []} for name in optimizers}
    for r in range(rounds):
        for name in optimizers:
            order = ("threestep", "pytorch") if r % 2 == 0 else ("pytorch", "threestep")
            for framework in order:
                code = (f"from benchmarks.optimizers import worker; "
                        f"print(worker({framework!r}, {name!r}, {threads}, {samples}, {repeats}))")
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     cwd=_ROOT)
                results[name][framework].append(float(out.stdout.strip().splitlines()[-1]))
    summary = {}
    for name, runs in results.items():
        ours, theirs = statistics.median(runs["threestep"]), statistics.median(runs["pytorch"])
        summary[name] = {"threestep_samples_per_s": round(ours), "pytorch_samples_per_s": round(theirs),
                         "ratio": round(ours / theirs, 3), "runs": runs}
    return {"workload": "MLP 784-500-500-10, batch 100", "threads": threads, "rounds": rounds,
            "samples": samples, "optimizers": summary}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    args = parser.parse_args(argv)
    names = [n for n in args.optimizers.split(",") if n]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        parser.error(f"unknown optimizer(s) {unknown}; choose from {', '.join(OPTIMIZERS)}")
    print(json.dumps(run(args.threads, args.rounds, args.samples, args.repeats, names), indent=1))


if __name__ == "__main__":
    main()
