"""MNIST-1D with a small Conv1D net: the paper's ConvBase, the lecture's CNN in one dimension.

The dataset (4,000 training and 1,000 test signals of 40 points) is generated offline by
the mnist1d package (never downloaded). The network is the authors' reference CNN:
Conv1D 25 k5 s2 -> Conv1D 25 k3 s2 -> Conv1D 25 k3 s2 (padding 1, ReLU) -> Flatten (125)
-> Dense 10, trained with Adam(1e-2), batch 100, as in their notebook (6,000 steps).
Published test accuracy: ~94% (README) / 92.3% (notebook run); an MLP gets ~68%.

    pip install mnist1d && python examples/mnist1d_cnn.py [--epochs 150] [--mlp]
"""
import argparse
import time

import threestep as ts
from threestep.datasets import mnist1d
from threestep.layers import Conv1D, Dense, Flatten, Reshape, ZeroPadding1D
from threestep.models import Sequential
from threestep.optimizers import Adam


def conv_base():
    return Sequential([
        Reshape((40, 1), input_shape=(40,)),
        ZeroPadding1D(1), Conv1D(25, 5, strides=2, activation="relu"),  # 40 -> 19
        ZeroPadding1D(1), Conv1D(25, 3, strides=2, activation="relu"),  # 19 -> 10
        ZeroPadding1D(1), Conv1D(25, 3, strides=2, activation="relu"),  # 10 -> 5
        Flatten(),                                                      # 125
        Dense(10, activation="softmax"),
    ])


def mlp_base():
    return Sequential([Dense(100, activation="relu", input_dim=40), Dense(100, activation="relu"),
                       Dense(10, activation="softmax")])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=150, help="150 epochs = the paper's 6,000 steps")
    parser.add_argument("--mlp", action="store_true", help="train the MLP baseline instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = mnist1d.load_data()
    print("first training labels:", " ".join(map(str, y_train[:10])),
          "(published: " + " ".join(map(str, mnist1d.FIRST_TRAIN_LABELS)) + ")")
    ts.backend.set_seed(args.seed)
    model = mlp_base() if args.mlp else conv_base()
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(1e-2), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=100, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    train_acc = model.evaluate(x_train, y_train, verbose=0)[1]
    test_acc = model.evaluate(x_test, y_test, verbose=0)[1]
    name = "MLP" if args.mlp else "CNN"
    print(f"{name}: train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
          f"({args.epochs} epochs, {seconds:.1f} s)")
    return test_acc


if __name__ == "__main__":
    main()
