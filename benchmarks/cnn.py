"""CNN benchmark: the lecture's network, threestep vs PyTorch CPU in one run.

Conv 25 3x3 ReLU -> MaxPool 2 -> Conv 50 3x3 ReLU -> MaxPool 2 -> Flatten -> Dense 100 ReLU
-> Dense 10 softmax; batch 100, float32, 28x28x1 inputs. Prints training and inference
samples/s and peak memory (tracemalloc for NumPy allocations; PyTorch's CPU allocator is
not traced by tracemalloc, so its figure is the process's RSS growth) as JSON.

    python -m benchmarks.cnn [--samples 2000] [--repeats 3]
"""
import argparse
import resource

import numpy as np

from .common import emit, machine, measure


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


def run_threestep(x, y, batch, repeats):
    import tracemalloc

    model = threestep_model()
    train = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
    infer = lambda: model.predict(x, batch_size=batch)  # noqa: E731
    t_train, _ = measure(train, repeats)
    t_infer, _ = measure(infer, repeats)
    tracemalloc.start()
    model.fit(x[: batch * 3], y[: batch * 3], batch_size=batch, epochs=1, verbose=0)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return t_train, t_infer, peak


def run_torch(x, y, batch, repeats):
    import torch

    net = torch_model()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y.astype(np.int64))

    def train():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss_fn(net(xt[idx]), yt[idx]).backward()
            opt.step()

    def infer():
        with torch.no_grad():
            for start in range(0, len(xt), batch):
                net(xt[start:start + batch])

    before = _rss_mb()
    t_train, _ = measure(train, repeats)
    t_infer, _ = measure(infer, repeats)
    return t_train, t_infer, _rss_mb() - before


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.uint8)
    results = {}
    for name, run in (("threestep", run_threestep), ("pytorch", run_torch)):
        t_train, t_infer, peak = run(x, y, args.batch, args.repeats)
        results[name] = {"train_samples_per_s": round(args.samples / t_train),
                         "infer_samples_per_s": round(args.samples / t_infer), "peak_memory_mb": round(peak, 1)}
    results["train_ratio_threestep_over_pytorch"] = round(
        results["threestep"]["train_samples_per_s"] / results["pytorch"]["train_samples_per_s"], 3)
    results["infer_ratio_threestep_over_pytorch"] = round(
        results["threestep"]["infer_samples_per_s"] / results["pytorch"]["infer_samples_per_s"], 3)
    emit({"benchmark": "lecture CNN (conv25-pool-conv50-pool-dense100-dense10)", "batch": args.batch,
          "dtype": "float32", "samples": args.samples, "results": results, "machine": machine()})


if __name__ == "__main__":
    main()
