"""The lecture's CNN on Fashion-MNIST: Conv 25 3x3 -> MaxPool -> Conv 50 3x3 -> MaxPool ->
Flatten -> Dense 100 -> Dense 10 softmax, Adam 1e-3, batch 100.

Needs the Fashion-MNIST IDX files (Debian: `apt-get install dataset-fashion-mnist`, or see
threestep.datasets.fashion_mnist). Prints test accuracy and seconds per epoch.

    python examples/fashion_mnist_cnn.py [--epochs 5] [--pytorch]
"""
import argparse
import time

import numpy as np

import threestep as ts
from threestep.datasets import fashion_mnist
from threestep.layers import Conv2D, Dense, Flatten, MaxPooling2D
from threestep.models import Sequential
from threestep.optimizers import Adam


def lecture_cnn():
    return Sequential([
        Conv2D(25, (3, 3), activation="relu", input_shape=(28, 28, 1)),  # 25 x 26 x 26
        MaxPooling2D((2, 2)),                                             # 25 x 13 x 13
        Conv2D(50, (3, 3), activation="relu"),                            # 50 x 11 x 11
        MaxPooling2D((2, 2)),                                             # 50 x 5 x 5
        Flatten(),                                                        # 1250
        Dense(100, activation="relu"),
        Dense(10, activation="softmax"),
    ])


def run_pytorch(x_train, y_train, x_test, y_test, epochs, batch):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 25, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(25, 50, 3),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(1250, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt = torch.from_numpy(x_train.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y_train.astype(np.int64))
    xv = torch.from_numpy(x_test.transpose(0, 3, 1, 2).copy())
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            acc = (net(xv).argmax(1).numpy() == y_test).mean()
        print(f"pytorch   epoch {epoch + 1}: test accuracy {acc:.4f}, {seconds:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pytorch", action="store_true", help="also train the same net with PyTorch")
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    x_train = x_train[..., None].astype("float32") / 255
    x_test = x_test[..., None].astype("float32") / 255

    ts.backend.set_seed(args.seed)
    model = lecture_cnn()
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(1e-3), metrics=["accuracy"])
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epoch + 1, initial_epoch=epoch, verbose=2)
        seconds = time.perf_counter() - start
        _, acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        print(f"threestep epoch {epoch + 1}: test accuracy {acc:.4f}, {seconds:.1f} s")
    if args.pytorch:
        run_pytorch(x_train, y_train, x_test, y_test, args.epochs, args.batch_size)
    return acc


if __name__ == "__main__":
    main()
