"""Datasets with Keras's ``load_data()`` layout: ``(x_train, y_train), (x_test, y_test)``.

``digits``: the 1,797 8x8 handwritten digits bundled with scikit-learn (no download).
``fashion_mnist``, ``mnist``: 28x28 images from IDX files (local copy, Debian package or
download, checksummed); ``idx``: the IDX file reader and writer.
"""
from . import digits
from . import fashion_mnist, idx, mnist

__all__ = ["digits"]
__all__ += ["fashion_mnist", "mnist", "idx"]
