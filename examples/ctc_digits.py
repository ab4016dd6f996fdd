"""Reading digit strings with CTC: a conv + bidirectional-LSTM net, no segmentation given.

Each input is a string of 3-6 handwritten digits (the 8x8 images of
``threestep.datasets.digits``) rendered side by side into one 8 x 48 image, padded with
blank columns on the right. The target is only the digit sequence, e.g. [4, 0, 7]: nobody
says which columns belong to which digit, so the lecture's Connectionist Temporal
Classification does the bookkeeping. The network emits, for each of 24 column pairs, a
distribution over the 10 digits plus a blank; the CTC loss sums the probability of every
alignment that reads the target (blanks dropped, repeats merged), and greedy decoding
reads the most probable class per step the same way.

Network (the image read left to right, one time step per column):
  (48 columns, 8 rows, 1) -> Conv2D 32 3x3 -> MaxPool (1, 2) -> Conv2D 64 3x3
  -> MaxPool (2, 2) -> Reshape (24 steps, 2 * 64) -> Dropout 0.25
  -> Bidirectional(LSTM(64, return_sequences=True)) -> TimeDistributed(Dense(11)) logits

Training is a short custom loop, because the CTC loss needs each sample's label length,
which a Keras-style ``loss(y_true, y_pred)`` cannot take: per batch,

    logits = model(x, training=True)                       # a Tensor with a graph
    loss = threestep.ops.ctc_loss(logits, labels, label_lengths=lengths, blank=10,
                                  reduction="mean")
    for p in params: p.grad = None
    loss.backward()
    optimizer.apply_gradients(params)

Fresh strings are drawn from the 1,437 training images every epoch, each digit shifted by
up to one pixel (the test strings use the 360 test images, unshifted). Prints the sequence
accuracy on 1,000 test strings (every digit right, nothing extra; target >= 0.90, the
default run gets ~0.96 in about a minute and a half).

    python examples/ctc_digits.py [--epochs 6] [--train 20000] [--test 1000]
"""
import argparse
import time

import numpy as np

import threestep as ts
from threestep import ops
from threestep.datasets import digits
from threestep.layers import (
    LSTM, Bidirectional, Conv2D, Dense, Dropout, Input, MaxPooling2D, Reshape, TimeDistributed,
)
from threestep.models import Sequential
from threestep.optimizers import Adam
from threestep.optimizers.schedules import CosineDecay

MIN_LEN, MAX_LEN = 3, 6
WIDTH = 8 * MAX_LEN  # 48 columns
BLANK = 10  # classes 0..9 are the digits themselves


def render_strings(images, labels, n, rng, jitter=False):
    """``n`` random strings of MIN_LEN..MAX_LEN digits, side by side.

    Returns ``(x, targets, lengths)``: float32 images ``(n, 8, 48)`` in [0, 1] (unused
    positions blank), int64 ``(n, MAX_LEN)`` digit labels (0 past each length) and the
    lengths. With ``jitter`` each digit is shifted by up to one pixel in each direction.
    """
    lengths = rng.integers(MIN_LEN, MAX_LEN + 1, n)
    pick = rng.integers(0, len(images), (n, MAX_LEN))
    glyphs = images[pick].astype(np.float32) / 16  # (n, MAX_LEN, 8, 8), values 0..16 -> [0, 1]
    if jitter:
        padded = np.pad(glyphs, ((0, 0), (0, 0), (1, 1), (1, 1)))
        dy, dx = rng.integers(0, 3, (2, n, MAX_LEN, 1, 1))
        r = np.arange(8)
        glyphs = padded[np.arange(n)[:, None, None, None], np.arange(MAX_LEN)[None, :, None, None],
                        dy + r[:, None], dx + r[None, :]]
    used = np.arange(MAX_LEN)[None, :] < lengths[:, None]
    glyphs *= used[:, :, None, None]
    x = glyphs.transpose(0, 2, 1, 3).reshape(n, 8, WIDTH)  # digits side by side
    return x, np.where(used, labels[pick], 0).astype(np.int64), lengths


def as_columns(x):
    """Images (n, 8, 48) -> (n, 48, 8, 1): the width becomes the time axis of the recurrent layer."""
    return np.ascontiguousarray(x.transpose(0, 2, 1)[..., None])


def reader(units=64, dropout=0.25):
    return Sequential([
        Input((WIDTH, 8, 1)),
        Conv2D(32, 3, padding="same", activation="relu"), MaxPooling2D((1, 2)),  # (48, 4, 32)
        Conv2D(64, 3, padding="same", activation="relu"), MaxPooling2D((2, 2)),  # (24, 2, 64)
        Reshape((WIDTH // 2, 2 * 64)),                                          # 24 steps
        Dropout(dropout),
        Bidirectional(LSTM(units, return_sequences=True)),
        TimeDistributed(Dense(BLANK + 1)),                                      # logits; CTC's softmax inside
    ])


def read(model, x, beam_width=0):
    """Digit lists read from images (n, 8, 48): greedy (best path) or prefix beam search."""
    logits = model.predict(as_columns(x), batch_size=500)
    if beam_width:  # takes logits too (it applies a log-softmax)
        return [best[0][0] for best in ops.ctc_beam_search_decode(logits, beam_width=beam_width, blank=BLANK)]
    return ops.ctc_greedy_decode(logits, blank=BLANK)


def sequence_accuracy(decoded, targets, lengths):
    return float(np.mean([list(d) == t[:k].tolist() for d, t, k in zip(decoded, targets, lengths)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=20000, help="training strings drawn per epoch")
    parser.add_argument("--test", type=int, default=1000, help="test strings")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's rate, cosine-decayed to 2%% of it")
    parser.add_argument("--beam", type=int, default=0, help="also decode by prefix beam search of this width")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    rng = np.random.default_rng(args.seed)
    x_te, t_te, k_te = render_strings(x_test, y_test, args.test, np.random.default_rng(args.seed + 1000))

    ts.backend.set_seed(args.seed)
    model = reader()
    steps = -(-args.train // args.batch)
    optimizer = Adam(CosineDecay(args.lr, args.epochs * steps, alpha=0.02), global_clipnorm=5.0)
    params = model.trainable_weights
    start = time.perf_counter()
    for epoch in range(args.epochs):
        x, targets, lengths = render_strings(x_train, y_train, args.train, rng, jitter=True)
        x = as_columns(x)
        order = rng.permutation(args.train)
        total = 0.0
        for s in range(steps):
            idx = order[s * args.batch:(s + 1) * args.batch]
            logits = model(x[idx], training=True)  # (batch, 24, 11)
            loss = ops.ctc_loss(logits, targets[idx], label_lengths=lengths[idx], blank=BLANK, reduction="mean")
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.apply_gradients(params)
            total += float(loss.data) * len(idx)
        print(f"epoch {epoch + 1}/{args.epochs}: CTC loss {total / args.train:.4f} "
              f"({time.perf_counter() - start:.1f} s)")
    seconds = time.perf_counter() - start

    decoded = read(model, x_te)
    accuracy = sequence_accuracy(decoded, t_te, k_te)
    print(f"sequence accuracy on {args.test} test strings of {MIN_LEN}-{MAX_LEN} digits: {accuracy:.4f} "
          f"(greedy CTC decoding; {args.epochs} epochs, {seconds:.1f} s)")
    if args.beam:
        beam = sequence_accuracy(read(model, x_te, args.beam), t_te, k_te)
        print(f"sequence accuracy with prefix beam search (width {args.beam}): {beam:.4f}")
    for d, t, k in list(zip(decoded, t_te, k_te))[:5]:
        truth, got = "".join(map(str, t[:k])), "".join(map(str, d))
        print(f"  {truth:>6} read as {got:<7} {'ok' if got == truth else 'wrong'}")
    return accuracy


if __name__ == "__main__":
    main()
