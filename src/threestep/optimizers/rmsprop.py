"""RMSprop: divide the gradient by a running average of its recent magnitude."""
from ..accel import fused, kernels
from .base import Optimizer, check_epsilon, check_range


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), with optional momentum and centering.

    a <- rho * a + (1 - rho) * g^2;   w <- w - lr * g / (sqrt(a) + epsilon)

    ``centered=True`` also keeps mg <- rho * mg + (1 - rho) * g and divides by
    ``sqrt(a - mg^2) + epsilon`` (an estimate of the gradient's standard deviation).
    ``momentum > 0`` accumulates the step: m <- momentum * m + lr * g / denom; w <- w - m.

    Args:
        learning_rate: Keras 2 default 0.001 (float or schedule).
        rho: decay of the running average of g^2 (default 0.9).
        momentum: 0 (default, Keras 2.3 RMSprop) or in (0, 1] (Keras 3 / torch extension).
        epsilon: fuzz factor, default 1e-7 (Keras's ``K.epsilon()``).
        centered: normalise by the centred second moment.
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    Keras vs PyTorch: with ``momentum=0, centered=False`` this is Keras 2.3's RMSprop
    exactly (epsilon *outside* the square root). ``torch.optim.RMSprop(lr, alpha=rho,
    eps=epsilon, momentum, centered)`` places epsilon the same way in every mode
    (``sqrt(a) + eps``; centered ``sqrt(a - mg^2) + eps``), so it follows the same
    trajectory; only torch's default eps (1e-8) and alpha (0.99) differ. Keras 3 puts
    epsilon *inside* the root (``g / sqrt(a + eps)``); threestep keeps Keras 2.3 / torch.
    With momentum torch keeps ``b = momentum * b + g / denom`` and steps ``lr * b``;
    Keras and threestep fold lr into m (``m = lr * b``): identical for a constant rate.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=RMSprop(learning_rate=0.001, rho=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="RMSprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = check_range("RMSprop", "rho", rho, 0.0, 1.0)
        self.momentum = check_range("RMSprop", "momentum", momentum, 0.0, 1.0)
        self.epsilon = check_epsilon("RMSprop", epsilon)
        self.centered = bool(centered)
        self._slot_names = ("velocity",) + (("momentum",) if self.momentum else ()) + (
            ("average_gradient",) if self.centered else ())

    def update_step(self, index, param, grad, lr):
        a = self.slots["velocity"][index]
        if not self.centered and not self.momentum and kernels.rmsprop_(param, grad, a, lr, self.rho, self.epsilon):
            return  # float32 on NumPy: the same update in one Numba pass (accel.kernels)
        state = (self.slots["average_gradient"][index],) if self.centered else ()
        if self.momentum:
            state += (self.slots["momentum"][index], self.momentum)
        fused.rmsprop_(param, grad, a, lr, self.rho, 1.0 - self.rho, self.epsilon, *state,  # one kernel on CuPy
                       momentum=bool(self.momentum), centered=self.centered)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
