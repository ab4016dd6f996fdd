"""keras.losses"""
from ..losses import *  # noqa: F401,F403

from ._paths import path_module  # noqa: E402

# Keras 2.3's names in this module; one threestep lacks raises NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "squared_hinge", "hinge",
    "categorical_hinge", "logcosh", "huber_loss", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "kullback_leibler_divergence", "poisson", "cosine_proximity", "mse", "mae", "mape",
    "msle", "kld", "cosine", "Loss", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge",
    "SquaredHinge", "CategoricalHinge", "Poisson", "LogCosh", "KLDivergence", "Huber",
    "CosineSimilarity", "get", "serialize", "deserialize", "MAE", "MSE",
    # tf-keras 2.x names threestep lacks: NotSupportedError with the way round, not AttributeError
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "Reduction",
], source="threestep.losses", hint="a custom loss function loss(y_true, y_pred) built from threestep.keras.backend; dir(threestep.losses) lists the losses threestep has")
