"""The built-in models of ``threestep train`` and the experiments: the lecture's MLP, CNN and LSTM."""
from .sequential import Sequential

MODELS = ("mlp", "lecture-cnn", "lstm")


def build_builtin(kind, input_shape, classes, activation="relu", hidden_layers=2, units=500):
    """The lecture's models: a 500-500 ReLU MLP (``activation``, ``hidden_layers`` and
    ``units`` change it, e.g. the deep sigmoid net of the vanishing-gradient slide), the
    25/50-filter CNN, a one-layer LSTM."""
    from ..layers import LSTM, Conv1D, Conv2D, Dense, Flatten, MaxPooling1D, MaxPooling2D

    if kind == "mlp":
        layers = [Dense(units, activation=activation, input_shape=input_shape)] + \
            [Dense(units, activation=activation) for _ in range(hidden_layers - 1)]
    elif kind == "lecture-cnn":
        two_d = len(input_shape) == 3
        conv, pool = (Conv2D, MaxPooling2D) if two_d else (Conv1D, MaxPooling1D)
        padding = "same" if input_shape[0] < 16 else "valid"  # 8x8 digits are too small for valid 3x3 twice
        k = (3, 3) if two_d else 3
        layers = [conv(25, k, activation=activation, padding=padding, input_shape=input_shape), pool(2),
                  conv(50, k, activation=activation, padding=padding), pool(2), Flatten(),
                  Dense(100, activation=activation)]
    elif kind == "lstm":
        layers = [LSTM(64, input_shape=input_shape)]
    else:
        from ..errors import unknown_name

        raise unknown_name("model", kind, MODELS)
    return Sequential(layers + [Dense(classes, activation="softmax")], name=kind.replace("-", "_"))
