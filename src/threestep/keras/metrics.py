"""keras.metrics"""
from ..metrics import *  # noqa: F401,F403

from ._paths import path_module  # noqa: E402

# Keras 2.3's names in this module (and tf-keras 2.x's metric classes); one threestep lacks raises
# NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "hinge", "squared_hinge",
    "categorical_hinge", "logcosh", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy", "kullback_leibler_divergence",
    "poisson", "cosine_proximity", "mse", "mae", "mape", "msle",
    "kld", "cosine", "Metric", "Mean", "Sum", "Accuracy",
    "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC",
    "Precision", "Recall", "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
    "MeanIoU", "get", "serialize", "deserialize", "R2Score", "F1Score", "FBetaScore", "IoU", "BinaryIoU",
    "OneHotIoU", "OneHotMeanIoU", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "MAE", "MSE",
    # tf-keras 2.x names threestep lacks: NotSupportedError with the way round, not AttributeError
    "MeanRelativeError", "MeanTensor", "binary_focal_crossentropy", "categorical_focal_crossentropy",
], source=("threestep.metrics", "threestep.losses"), hint="a custom metric function metric(y_true, y_pred); dir(threestep.metrics) lists the metrics threestep has")
