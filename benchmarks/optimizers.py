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

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where ``benchmarks`` imports from


def _threestep(name, x, y, batch):
    import threestep as ts
    from threestep import layers as L
    from threestep import optimizers as O
    from threestep.models import Sequential

    ts.backend.set_seed(0)
    model = Sequential([L.Dense(500, activation="relu", input_dim=784), L.Dense(500, activation="relu"),
                        L.Dense(10, activation="softmax")])
    opt = {"sgd": lambda: O.SGD(0.01), "momentum": lambda: O.SGD(0.01, momentum=0.9), "adam": O.Adam,
           "rmsprop": O.RMSprop, "adagrad": O.Adagrad}[name]()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt)
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


def _pytorch(name, x, y, batch):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 500), torch.nn.ReLU(), torch.nn.Linear(500, 500), torch.nn.ReLU(),
                              torch.nn.Linear(500, 10))
    params = net.parameters()
    opt = {"sgd": lambda: torch.optim.SGD(params, 0.01), "momentum": lambda: torch.optim.SGD(params, 0.01, momentum=0.9),
           "adam": lambda: torch.optim.Adam(params), "rmsprop": lambda: torch.optim.RMSprop(params),
           "adagrad": lambda: torch.optim.Adagrad(params)}[name]()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype("int64"))

    def epoch():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return epoch


def worker(framework, name, threads, samples, repeats, batch=100):
    """One framework and optimizer in this process: the best training samples/s over ``repeats`` epochs."""
    from threadpoolctl import threadpool_limits

    from .workloads import make_data

    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
    x, y = make_data("mlp", samples)
    with threadpool_limits(threads):
        train = (_threestep if framework == "threestep" else _pytorch)(name, x, y, batch)
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
