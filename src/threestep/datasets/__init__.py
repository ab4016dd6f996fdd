"""Datasets with Keras's ``load_data()`` layout: ``(x_train, y_train), (x_test, y_test)``.

``digits``: the 1,797 8x8 handwritten digits bundled with scikit-learn (no download).
"""
from . import digits

__all__ = ["digits"]
