"""CIFAR-10: 60,000 colour 32x32 images in 10 classes (Keras's ``keras.datasets.cifar10``).

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: uint8 images
``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)`` (``(n, 3, 32, 32)`` when the image data
format is channels_first) and uint8 labels ``(n, 1)``, in the order of the batch files.
Where the data comes from and how it is checked: :mod:`threestep.datasets.cifar`.

Example:

    >>> from threestep.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    >>> cifar10.CLASS_NAMES[int(y_train[0, 0])]
    'frog'
"""
from .cifar import Spec, load

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck")
SPEC = Spec(key="cifar10", title="CIFAR-10", archive="cifar-10-python.tar.gz",
            dirname="cifar-10-batches-py",
            sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            mirrors=("https://www.cs.toronto.edu/~kriz/",),
            train=tuple(f"data_batch_{i}" for i in range(1, 6)), test=("test_batch",))


def load_data(path=None, download=True, timeout=None):
    """Loads CIFAR-10; ``path``: the archive or the directory of extracted batches."""
    return load(SPEC, "labels", "uint8", path=path, download=download, timeout=timeout)
