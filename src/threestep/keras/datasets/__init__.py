"""keras.datasets: mnist, fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing
(each with Keras's ``load_data()``), plus threestep's own datasets."""
from ...datasets import *  # noqa: F401,F403
del imdb  # noqa: F821  (threestep's; Keras's below takes Keras's imdb.load_data arguments)
from . import imdb  # noqa: F401,E402
