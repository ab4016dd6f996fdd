"""Datasets with Keras's ``load_data()`` layout: ``(x_train, y_train), (x_test, y_test)``.

``digits``: the 1,797 8x8 handwritten digits bundled with scikit-learn (no download).
``fashion_mnist``, ``mnist``: 28x28 images from IDX files (local copy, Debian package or
download, checksummed); ``idx``: the IDX file reader and writer.
``mnist1d``: MNIST-1D generated procedurally by the ``mnist1d`` package (optional).
"""
from . import digits, fashion_mnist, idx, mnist, mnist1d

__all__ = ["digits", "fashion_mnist", "idx", "mnist", "mnist1d"]
from . import imdb, sentiment, seq2seq, sequences, slot_filling  # noqa: E402

__all__ += ["imdb", "sentiment", "seq2seq", "sequences", "slot_filling"]
from . import boston_housing, cifar10, cifar100, reuters  # noqa: E402

__all__ += ["boston_housing", "cifar10", "cifar100", "reuters"]
