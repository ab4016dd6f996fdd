"""Adagrad and Adadelta: per-coordinate rates from the history of squared gradients."""
from ..accel import fused, kernels
from .base import Optimizer, check_epsilon, check_range


class Adagrad(Optimizer):
    """Adagrad: the lecture's "divide by the root of the sum of all past squared gradients".

    a <- a + g^2;   w <- w - lr * g / (sqrt(a) + epsilon)

    Args:
        learning_rate: default 0.01 (Keras 2.3; tf.keras >= 2.4 and Keras 3 use 0.001).
        initial_accumulator_value: starting value of a. Default 0.0: Keras 2.3 started the
            accumulator at zeros (tf.keras >= 2.4 and Keras 3 start at 0.1).
        epsilon: fuzz factor, default 1e-7.
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    Keras vs PyTorch: ``torch.optim.Adagrad(lr, lr_decay=decay,
    initial_accumulator_value, eps=epsilon)`` is the same formula with epsilon at the same
    place (outside the root) and the same ``lr / (1 + decay * (t - 1))`` decay, so it
    follows the same trajectory (torch's defaults differ: eps 1e-10; accumulator 0 as here).
    Keras 3 also adds epsilon outside the root.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=Adagrad(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-7, name="Adagrad",
                 **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = check_range("Adagrad", "initial_accumulator_value",
                                                     initial_accumulator_value, 0.0, float("inf"))
        self.epsilon = check_epsilon("Adagrad", epsilon)

    def slot_initial_value(self, name):
        return self.initial_accumulator_value

    def update_step(self, index, param, grad, lr):
        a = self.slots["accumulator"][index]
        if kernels.adagrad_(param, grad, a, lr, self.epsilon):
            return  # float32 on NumPy: the same update in one Numba pass (accel.kernels)
        fused.adagrad_(param, grad, a, lr, self.epsilon)  # NumPy/CuPy: one fused kernel on CuPy (accel.fused)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: Adagrad with a running average, and step sizes in the units of w.

    a <- rho * a + (1 - rho) * g^2
    u <- g * sqrt(d + epsilon) / sqrt(a + epsilon)       (d: the *old* average of u^2)
    w <- w - lr * u;   d <- rho * d + (1 - rho) * u^2

    Args:
        learning_rate: default 1.0 (Keras 2.3, the paper's method has no rate; tf.keras
            >= 2.4 and Keras 3 use 0.001, which makes Adadelta very slow).
        rho: decay of both running averages (default 0.95).
        epsilon: fuzz factor, default 1e-7; it also sets the size of the first steps.
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    Keras vs PyTorch: ``torch.optim.Adadelta(lr, rho, eps=epsilon)`` is the same formula
    (epsilon inside both roots; lr multiplies the update but not the ``d`` average), so it
    follows the same trajectory; torch's defaults differ (rho 0.9, eps 1e-6).

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=Adadelta(learning_rate=1.0, rho=0.95), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    _slot_names = ("accumulator", "delta_accumulator")

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = check_range("Adadelta", "rho", rho, 0.0, 1.0)
        self.epsilon = check_epsilon("Adadelta", epsilon)

    def update_step(self, index, param, grad, lr):
        fused.adadelta_(param, grad, self.slots["accumulator"][index], self.slots["delta_accumulator"][index], lr,
                        self.rho, 1.0 - self.rho, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
