"""CNN benchmark: the lecture's network, threestep vs PyTorch CPU in one run.

Conv 25 3x3 ReLU -> MaxPool 2 -> Conv 50 3x3 ReLU -> MaxPool 2 -> Flatten -> Dense 100 ReLU
-> Dense 10 softmax; batch 100, float32, 28x28x1 inputs. Prints training and inference
samples/s and peak memory (tracemalloc for NumPy allocations; PyTorch's CPU allocator is
not traced by tracemalloc, so its figure is the process's RSS growth) as JSON. The two
libraries take turns for ``--rounds`` rounds (each a median of ``--repeats`` epochs after a
warm-up); samples/s are medians over rounds and each ratio is the median of the per-round
ratios, so a load spike from another process on a shared machine hits one round, not one
library.

    python -m benchmarks.cnn [--samples 2000] [--repeats 3] [--rounds 3]
"""
import argparse
import resource
import statistics

import numpy as np

from .common import emit, machine, measure, torch_sgd_epoch


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def threestep_model():
    import threestep as ts
    from threestep.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    ts.backend.set_seed(0)
    model = Sequential([
        Conv2D(25, 3, activation="relu", input_shape=(28, 28, 1)), MaxPooling2D(2),
        Conv2D(50, 3, activation="relu"), MaxPooling2D(2), Flatten(),
        Dense(100, activation="relu"), Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.01))
    return model


def torch_model():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 25, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(25, 50, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(1250, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))


def threestep_runners(x, y, batch):
    model = threestep_model()
    train = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
    infer = lambda: model.predict(x, batch_size=batch)  # noqa: E731
    return model, train, infer


def threestep_peak_mb(model, x, y, batch):
    import tracemalloc

    tracemalloc.start()
    model.fit(x[: batch * 3], y[: batch * 3], batch_size=batch, epochs=1, verbose=0)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def torch_runners(x, y, batch):
    import torch

    net = torch_model()
    x = x.transpose(0, 3, 1, 2).copy()  # NCHW, converted once like a data loader would
    train = torch_sgd_epoch(net, list(net.parameters()), x, y, batch)
    xt = torch.from_numpy(x)

    def infer():
        with torch.no_grad():
            for start in range(0, len(xt), batch):
                net(xt[start:start + batch])

    return train, infer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate threestep and PyTorch this many times; ratios are per-round medians")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.uint8)
    model, *ours = threestep_runners(x, y, args.batch)
    theirs = torch_runners(x, y, args.batch)
    for run in ours:
        run()  # threestep's own peak first, so that the RSS growth below is PyTorch's
    before = _rss_mb()
    # On a shared machine the load drifts: timing each library in turn, round after round, and
    # taking each round's ratio compares the two under the same conditions.
    seconds = {name: [[], []] for name in ("threestep", "pytorch")}
    for _ in range(args.rounds):
        for name, runners in (("threestep", ours), ("pytorch", theirs)):
            for kind, run in enumerate(runners):
                seconds[name][kind].append(measure(run, args.repeats)[0])
    torch_rss = _rss_mb() - before
    results = {}
    for name, peak in (("threestep", threestep_peak_mb(model, x, y, args.batch)), ("pytorch", torch_rss)):
        t_train, t_infer = (statistics.median(v) for v in seconds[name])
        results[name] = {"train_samples_per_s": round(args.samples / t_train),
                         "infer_samples_per_s": round(args.samples / t_infer), "peak_memory_mb": round(peak, 1)}
    for kind, key in enumerate(("train", "infer")):
        ratios = [b / a for a, b in zip(seconds["threestep"][kind], seconds["pytorch"][kind])]
        results[f"{key}_ratio_threestep_over_pytorch"] = round(statistics.median(ratios), 3)
        results[f"{key}_ratio_per_round"] = [round(r, 3) for r in ratios]
    emit({"benchmark": "lecture CNN (conv25-pool-conv50-pool-dense100-dense10)", "batch": args.batch,
          "dtype": "float32", "samples": args.samples, "rounds": args.rounds, "results": results,
          "machine": machine()})


if __name__ == "__main__":
    main()
