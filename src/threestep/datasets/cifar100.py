"""CIFAR-100: 60,000 colour 32x32 images in 100 fine classes grouped into 20 coarse ones
(Keras's ``keras.datasets.cifar100``).

``load_data(label_mode="fine")`` returns ``(x_train, y_train), (x_test, y_test)``: uint8
images ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)`` and int64 labels ``(n, 1)``, 0..99
(``label_mode="coarse"``: 0..19). Where the data comes from and how it is checked:
:mod:`threestep.datasets.cifar`.

Example:

    >>> from threestep.datasets import cifar100
    >>> (x_train, y_train), _ = cifar100.load_data(label_mode="coarse")
    >>> int(y_train.max()) + 1
    20
"""
from ..errors import ConfigError
from .cifar import Spec, load

SPEC = Spec(key="cifar100", title="CIFAR-100", archive="cifar-100-python.tar.gz",
            dirname="cifar-100-python",
            sha256="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
            mirrors=("https://www.cs.toronto.edu/~kriz/",), train=("train",), test=("test",))


def load_data(label_mode="fine", path=None, download=True, timeout=None):
    """Loads CIFAR-100 with ``label_mode`` ``"fine"`` (100 classes) or ``"coarse"`` (20)."""
    if label_mode not in ("fine", "coarse"):
        raise ConfigError(f"cifar100.load_data: label_mode must be 'fine' or 'coarse'. "
                          f"Received: label_mode={label_mode!r}.")
    return load(SPEC, f"{label_mode}_labels", "int64", path=path, download=download,
                timeout=timeout)
