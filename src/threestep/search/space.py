"""What a structure search may choose, and how one choice becomes a model."""
from dataclasses import dataclass, field

from ..errors import ConfigError

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


@dataclass
class SearchSpace:
    """The choices of a structure search over fully connected ``Sequential`` networks.

    Args:
        depth: (min, max) hidden layers.
        widths: candidate widths of each hidden layer.
        activations: candidate activations (one per network).
        dropout: (min, max) dropout rate after each hidden layer (0 keeps no Dropout).
        optimizers: among ``"sgd"``, ``"momentum"`` (SGD with momentum 0.9), ``"rmsprop"``, ``"adam"``.
        learning_rate: (min, max), searched on a log scale.

    Example:
        >>> space = SearchSpace(depth=(1, 3), widths=(32, 64, 128), optimizers=("adam",))
    """

    depth: tuple = (1, 4)
    widths: tuple = (16, 32, 64, 128, 256, 512)
    activations: tuple = ("relu", "tanh", "sigmoid", "elu")
    dropout: tuple = (0.0, 0.5)
    optimizers: tuple = OPTIMIZERS
    learning_rate: tuple = (1e-4, 1e-1)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        lo, hi = self.depth
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise ConfigError(f"SearchSpace: depth must be (min, max) integers with 0 <= min <= max. "
                              f"Received: depth={self.depth!r}.")
        if not self.widths or any(not isinstance(w, int) or w < 1 for w in self.widths):
            raise ConfigError(f"SearchSpace: widths must be positive integers. Received: widths={self.widths!r}.")
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad or not self.optimizers:
            raise ConfigError(f"SearchSpace: optimizers must be among {OPTIMIZERS}. Received: {self.optimizers!r}.")
        if not 0 <= self.dropout[0] <= self.dropout[1] < 1:
            raise ConfigError(f"SearchSpace: dropout must be (min, max) in [0, 1). Received: {self.dropout!r}.")
        if not 0 < self.learning_rate[0] <= self.learning_rate[1]:
            raise ConfigError(f"SearchSpace: learning_rate must be (min, max) > 0. Received: {self.learning_rate!r}.")

    def suggest(self, trial):
        """Draw one structure from an Optuna ``trial``: a dict of plain values."""
        depth = trial.suggest_int("depth", *self.depth)
        # Every trial names all max-depth widths, so NSGA-II's crossover sees a fixed-length genome.
        widths = [trial.suggest_categorical(f"width_{i}", list(self.widths)) for i in range(self.depth[1])]
        params = {"depth": depth, "widths": widths[:depth],
                  "activation": trial.suggest_categorical("activation", list(self.activations)),
                  "dropout": trial.suggest_float("dropout", *self.dropout) if self.dropout[1] > 0 else 0.0,
                  "optimizer": trial.suggest_categorical("optimizer", list(self.optimizers)),
                  "learning_rate": trial.suggest_float("learning_rate", *self.learning_rate, log=True)}
        return params


def build_model(params, input_shape, classes):
    """The ``Sequential`` classifier of one structure (``params`` from :meth:`SearchSpace.suggest`)."""
    from ..layers import Dense, Dropout, Flatten, InputLayer  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    layers = [InputLayer(input_shape=tuple(input_shape))]
    if len(input_shape) > 1:
        layers.append(Flatten())
    for width in params["widths"]:
        layers.append(Dense(int(width), activation=params["activation"]))
        if params.get("dropout", 0.0) > 0:
            layers.append(Dropout(round(float(params["dropout"]), 4)))
    layers.append(Dense(int(classes), activation="softmax"))
    return Sequential(layers)


def make_optimizer(params):
    """The optimizer of one structure."""
    from .. import optimizers  # noqa: PLC0415

    lr = float(params["learning_rate"])
    name = params["optimizer"]
    if name == "momentum":
        return optimizers.SGD(learning_rate=lr, momentum=0.9)
    return {"sgd": optimizers.SGD, "rmsprop": optimizers.RMSprop, "adam": optimizers.Adam}[name](learning_rate=lr)


def model_cost(params, input_dim, classes, kind="params"):
    """Parameters, or multiply-add FLOPs of one forward pass (2 per weight), of a structure."""
    widths = [int(input_dim)] + [int(w) for w in params["widths"]] + [int(classes)]
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    if kind == "params":
        return weights + sum(widths[1:])
    if kind == "flops":
        return 2 * weights
    raise ConfigError(f"model_cost: kind must be 'params' or 'flops'. Received: kind={kind!r}.")
