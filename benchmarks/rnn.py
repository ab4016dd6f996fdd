"""Recurrent benchmark: LSTM(128), GRU(128) and SimpleRNN(128) over 28 steps of 28 features
(MNIST read row by row), last state -> Dense(10) softmax, cross-entropy, SGD, batch 128, float32.

Trains threestep and PyTorch (CPU, same thread count) on the same random data in the same
process and prints training samples/s for each cell in both frameworks and their ratios as
JSON. The PyTorch cells are torch.nn.LSTM / GRU / RNN(tanh) (batch_first), whose GRU is the
reset-after form that threestep's GRU uses by default.

    python -m benchmarks.rnn [--samples 3840] [--repeats 3] [--cells lstm,gru,simple_rnn]
"""
import argparse

import numpy as np

from .common import emit, machine, measure, torch_sgd_epoch

STEPS, FEATURES, UNITS, CLASSES = 28, 28, 128, 10
CELLS = ("lstm", "gru", "simple_rnn")


def threestep_trainer(cell, x, y, batch):
    import threestep as ts
    from threestep.layers import GRU, LSTM, Dense, SimpleRNN
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    layer = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}[cell]
    ts.backend.set_seed(0)
    model = Sequential([layer(UNITS, input_shape=(STEPS, FEATURES)), Dense(CLASSES, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.01))
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)


def torch_trainer(cell, x, y, batch):
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell](
        FEATURES, UNITS, batch_first=True)
    head = torch.nn.Linear(UNITS, CLASSES)
    params = list(rnn.parameters()) + list(head.parameters())
    return torch_sgd_epoch(lambda xb: head(rnn(xb)[0][:, -1]), params, x, y, batch)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=3840, help="samples per timed epoch (30 batches of 128)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated subset of " + ", ".join(CELLS))
    args = parser.parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = sorted(set(cells) - set(CELLS))
    if unknown:
        parser.error(f"unknown cell(s) {unknown}; choose from {CELLS}")
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, STEPS, FEATURES), dtype=np.float32)  # shaped like MNIST rows
    y = rng.integers(0, CLASSES, args.samples).astype(np.uint8)
    results = {}
    for cell in cells:
        results[cell] = {}
        for name, make in (("threestep", threestep_trainer), ("pytorch", torch_trainer)):
            seconds, times = measure(make(cell, x, y, args.batch), args.repeats)
            results[cell][name] = {"train_samples_per_s": round(args.samples / seconds),
                                   "epoch_seconds": [round(t, 4) for t in times]}
        results[cell]["ratio_threestep_over_pytorch"] = round(
            results[cell]["threestep"]["train_samples_per_s"] / results[cell]["pytorch"]["train_samples_per_s"], 3)
    emit({"benchmark": f"rnn {STEPS}x{FEATURES} -> cell({UNITS}) -> dense {CLASSES} softmax-CE, SGD",
          "batch": args.batch, "dtype": "float32", "samples": args.samples, "results": results,
          "ratios_threestep_over_pytorch": {c: results[c]["ratio_threestep_over_pytorch"] for c in cells},
          "machine": machine()})
    return results


if __name__ == "__main__":
    main()
