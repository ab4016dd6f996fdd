"""The AlphaGo policy network's shape, and why it has no pooling.

The lecture: a Go board is an image, so a CNN fits — a pattern (a stone in atari) is much
smaller than the board (property 1) and means the same anywhere (property 2) — but max
pooling (property 3) does not fit: subsampling a board changes the game, so AlphaGo's
policy network has none. Its shape: a 19x19x48 input, zero padding to 23x23, a 5x5
convolution, then 3x3 convolutions with ReLU, a 1x1 convolution and a softmax over the 361
points.

Here it learns one local rule from generated positions: "capture the opponent stone that
is in atari" (the target move is its last liberty). It trains on boards whose pattern lies
in the LEFT half of the board only and is tested on boards whose pattern lies in the RIGHT
half: the convolution's shared weights recognise the pattern where it never saw it. A
fully connected network (one hidden layer of 256) is trained the same way for contrast:
each of its weights belongs to one board point, so what it learns on the left half says
nothing about the right half.

    python examples/go_policy_net.py [--train 3000] [--epochs 6]
"""
import argparse
import time

import numpy as np
from scipy import ndimage

import threestep as ts
from threestep.layers import Activation, Conv2D, Dense, Flatten, ZeroPadding2D
from threestep.models import Sequential
from threestep.optimizers import Adam

SIZE, PLANES = 19, 48
NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def features(board):
    """AlphaGo-style input planes (48, as in the paper; the unused ones stay zero):
    0 own stones, 1 opponent stones, 2 empty points, 3 all ones, 4-7 liberties of the
    group on each point (1, 2, 3, >=4)."""
    planes = np.zeros((SIZE, SIZE, PLANES), np.float32)
    planes[..., 0] = board == 1
    planes[..., 1] = board == -1
    planes[..., 2] = board == 0
    planes[..., 3] = 1
    libs = liberties(board)
    for k in range(4):
        planes[..., 4 + k] = (libs == k + 1) if k < 3 else (libs >= 4)
    return planes


def liberties(board):
    """Liberties of the group each stone belongs to (0 on empty points)."""
    out = np.zeros(board.shape, np.int32)
    empty = np.pad(board == 0, 1)
    for colour in (1, -1):
        groups, n = ndimage.label(board == colour)
        for g in range(1, n + 1):
            mask = np.pad(groups == g, 1)
            grown = np.zeros_like(mask)
            for dy, dx in NEIGHBOURS:
                grown |= np.roll(np.roll(mask, dy, 0), dx, 1)
            out[groups == g] = int((grown & empty & ~mask).sum())
    return out


def atari_targets(board):
    """The liberty points of opponent groups that have exactly one liberty."""
    libs = liberties(board)
    points = set()
    for y, x in zip(*np.nonzero((board == -1) & (libs == 1))):
        for dy, dx in NEIGHBOURS:
            v, u = y + dy, x + dx
            if 0 <= v < SIZE and 0 <= u < SIZE and board[v, u] == 0:
                points.add((v, u))
    return points


def make_position(rng, columns):
    """A random board with exactly one capturable opponent stone, planted in ``columns``."""
    while True:
        board = np.zeros((SIZE, SIZE), np.int8)
        stones = rng.random((SIZE, SIZE))
        board[stones < 0.06] = 1
        board[stones > 0.94] = -1
        y, x = rng.integers(1, SIZE - 1), rng.integers(columns[0] + 1, columns[1] - 1)
        board[y - 1:y + 2, x - 1:x + 2] = 0
        board[y, x] = -1
        gap = NEIGHBOURS[rng.integers(4)]
        for dy, dx in NEIGHBOURS:
            if (dy, dx) != gap:
                board[y + dy, x + dx] = 1
        targets = atari_targets(board)
        if targets == {(y + gap[0], x + gap[1])}:
            return features(board), (y + gap[0]) * SIZE + (x + gap[1])


def dataset(n, columns, rng):
    xs, ys = zip(*(make_position(rng, columns) for _ in range(n)))
    return np.stack(xs), np.array(ys)


def policy_network(filters=32):
    """AlphaGo's policy net, narrower (AlphaGo used 192 filters and 13 layers): no pooling."""
    return Sequential([
        ZeroPadding2D(2, input_shape=(SIZE, SIZE, PLANES)),   # 19x19 -> 23x23
        Conv2D(filters, 5, activation="relu"),                 # -> 19x19
        Conv2D(filters, 3, padding="same", activation="relu"),
        Conv2D(filters, 3, padding="same", activation="relu"),
        Conv2D(1, 1),                                          # one score per point
        Flatten(),                                             # 361
        Activation("softmax"),                                 # a distribution over moves
    ])


def dense_network(hidden=256):
    return Sequential([Flatten(input_shape=(SIZE, SIZE, PLANES)), Dense(hidden, activation="relu"),
                       Dense(SIZE * SIZE, activation="softmax")])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=int, default=3000, help="training positions")
    parser.add_argument("--test", type=int, default=500, help="test positions")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ts.backend.set_seed(args.seed)
    start = time.perf_counter()
    x_train, y_train = dataset(args.train, (0, 10), rng)      # pattern only in columns 0..9
    x_left, y_left = dataset(args.test, (0, 10), rng)
    x_right, y_right = dataset(args.test, (9, SIZE), rng)     # columns 10..18: never seen
    print(f"generated {args.train + 2 * args.test} positions in {time.perf_counter() - start:.1f} s")

    results = {}
    conv = policy_network()
    for name, model in (("CNN (no pooling)", conv), ("fully connected", dense_network())):
        model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(2e-3), metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=50, epochs=args.epochs, verbose=0)
        left = model.evaluate(x_left, y_left, verbose=0)[1]
        right = model.evaluate(x_right, y_right, verbose=0)[1]
        results[name] = (left, right)
        print(f"{name:17s} {model.count_params():7d} params: capture found on seen half {left:.3f}, "
              f"on the unseen half {right:.3f} ({time.perf_counter() - start:.0f} s)")
    return results


if __name__ == "__main__":
    main()
