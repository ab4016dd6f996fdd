"""MLP benchmark: 784-500-500-10 ReLU, softmax cross-entropy, SGD, batch 100, float32.

Trains threestep and PyTorch (CPU, same thread count) on the same random data in the same
process and prints training samples/s for both and their ratio as JSON.

    python -m benchmarks.mlp [--samples 6000] [--repeats 3]
"""
import argparse

import numpy as np

from .common import emit, machine, measure, torch_sgd_epoch


def threestep_trainer(x, y, batch):
    import threestep as ts
    from threestep.layers import Dense
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    ts.backend.set_seed(0)
    model = Sequential([Dense(500, activation="relu", input_dim=784), Dense(500, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.01))
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)


def torch_trainer(x, y, batch):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 500), torch.nn.ReLU(), torch.nn.Linear(500, 500),
                              torch.nn.ReLU(), torch.nn.Linear(500, 10))
    return torch_sgd_epoch(net, list(net.parameters()), x, y, batch)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.uint8)
    results = {}
    for name, make in (("threestep", threestep_trainer), ("pytorch", torch_trainer)):
        seconds, times = measure(make(x, y, args.batch), args.repeats)
        results[name] = {"train_samples_per_s": round(args.samples / seconds), "epoch_seconds": times}
    results["ratio_threestep_over_pytorch"] = round(
        results["threestep"]["train_samples_per_s"] / results["pytorch"]["train_samples_per_s"], 3)
    emit({"benchmark": "mlp 784-500-500-10 relu, softmax-CE, SGD", "batch": args.batch,
          "dtype": "float32", "samples": args.samples, "results": results, "machine": machine()})


if __name__ == "__main__":
    main()
