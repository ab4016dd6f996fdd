"""Adam and its relatives: AdamW (decoupled weight decay), Adamax (infinity norm), Nadam."""
import math

from ..accel import fused, kernels
from .base import Optimizer, check_epsilon, check_range


def _check_betas(owner, beta_1, beta_2):
    return (check_range(owner, "beta_1", beta_1, 0.0, 1.0, high_open=True),
            check_range(owner, "beta_2", beta_2, 0.0, 1.0, high_open=True))


class Adam(Optimizer):
    """Adam: momentum (first moment m) over RMSprop (second moment v), bias-corrected.

    m <- b1 * m + (1 - b1) * g;   v <- b2 * v + (1 - b2) * g^2
    lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t);   w <- w - lr_t * m / (sqrt(v) + epsilon)

    With ``amsgrad=True`` the denominator uses vhat <- max(vhat, v) instead of v.

    Args:
        learning_rate: default 0.001 (float or schedule).
        beta_1, beta_2: moment decays in [0, 1) (defaults 0.9, 0.999).
        epsilon: fuzz factor, default 1e-7.
        amsgrad: use the AMSGrad variant ("On the Convergence of Adam and Beyond").
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    Keras vs PyTorch: this is the Keras 2.3 (and Keras 3) formula, with epsilon added to
    the *uncorrected* sqrt(v). ``torch.optim.Adam`` adds eps to the *corrected* root,
    ``m_hat / (sqrt(v) / sqrt(1 - b2^t) + eps)``, so Keras's epsilon equals torch's
    ``eps * sqrt(1 - b2^t)``: the same trajectory results from ``torch.optim.Adam(lr,
    betas=(b1, b2), amsgrad)`` whose ``eps`` is set to ``epsilon / sqrt(1 - b2^t)`` before
    step t (the "epsilon hat" of the Adam paper). With equal eps values the two differ by
    about epsilon / sqrt(v) relative, invisible unless gradients are ~epsilon.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
        >>> model.compile(optimizer="adam", loss="categorical_crossentropy")  # the defaults, by name
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name="Adam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2 = _check_betas(type(self).__name__, beta_1, beta_2)
        self.epsilon = check_epsilon(type(self).__name__, epsilon)
        self.amsgrad = bool(amsgrad)
        self._slot_names = ("m", "v") + (("vhat",) if self.amsgrad else ())

    def _keep(self, lr):
        """The factor on w before the step: 1 here, 1 - lr * weight_decay in AdamW."""
        return 1.0

    def update_step(self, index, param, grad, lr):
        t = self.iterations
        lr_t = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = self.slots["m"][index], self.slots["v"][index]
        keep = self._keep(lr)
        if not self.amsgrad and kernels.adam_(param, grad, m, v, lr_t, self.beta_1, self.beta_2, self.epsilon, keep):
            return  # float32 on NumPy: the same update in one Numba pass (accel.kernels)
        b1, b2 = self.beta_1, self.beta_2  # the NumPy/CuPy path: one fused kernel on CuPy (accel.fused)
        vhat = (self.slots["vhat"][index],) if self.amsgrad else ()
        fused.adam_(param, grad, m, v, lr_t, b1, 1.0 - b1, b2, 1.0 - b2, self.epsilon, keep, *vhat,
                    amsgrad=self.amsgrad)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w <- w - lr * weight_decay * w,
    then the Adam step.

    Args:
        weight_decay: default 0.004 (Keras 3 / tf.keras 2.11+; Keras 2.3 had no AdamW, and
            TensorFlow Addons' AdamW did not multiply the decay by lr).
        other arguments: as ``Adam``.

    Keras vs PyTorch: ``torch.optim.AdamW(lr, betas, eps, weight_decay, amsgrad)`` scales w
    by ``1 - lr * weight_decay`` before its Adam step, as here and in Keras 3; the Adam
    part maps exactly as described for ``Adam`` (torch eps = epsilon / sqrt(1 - b2^t)).
    torch's default weight_decay is 0.01.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=AdamW(learning_rate=0.001, weight_decay=0.004), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="AdamW", **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         name=name, **kwargs)
        self.weight_decay = check_range("AdamW", "weight_decay", weight_decay, 0.0, float("inf"))

    def _keep(self, lr):
        return 1.0 - lr * self.weight_decay  # the decoupled decay, applied in Adam's update (one pass)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Adamax(Optimizer):
    """Adamax (Adam paper, section 7): Adam with the infinity norm in place of sqrt(v).

    m <- b1 * m + (1 - b1) * g;   u <- max(b2 * u, |g|)
    w <- w - lr / (1 - b1^t) * m / (u + epsilon)

    Args:
        learning_rate: default 0.002 (Keras 2.3 and the paper; Keras 3 uses 0.001).
        beta_1, beta_2: defaults 0.9, 0.999.
        epsilon: fuzz factor, default 1e-7.
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    Keras vs PyTorch: ``torch.optim.Adamax(lr, betas, eps)`` puts eps *inside* the max,
    ``u <- max(b2 * u, |g| + eps)``, and divides by u alone; Keras (2.3 and 3) adds epsilon
    to the denominator. No eps mapping makes them equal in general; with ``epsilon=0`` in
    both the formulas, and trajectories, are the same (while no |g| is exactly 0 at the
    first step). Otherwise they differ by about epsilon / u relative.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=Adamax(learning_rate=0.002), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    _slot_names = ("m", "u")

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Adamax", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2 = _check_betas("Adamax", beta_1, beta_2)
        self.epsilon = check_epsilon("Adamax", epsilon)

    def update_step(self, index, param, grad, lr):
        lr_t = lr / (1.0 - self.beta_1 ** self.iterations)
        fused.adamax_(param, grad, self.slots["m"][index], self.slots["u"][index], lr_t, self.beta_1,
                      1.0 - self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (Dozat 2016): Adam with Nesterov momentum and a warming momentum schedule.

    mu_t = b1 * (1 - 0.5 * 0.96^(t * schedule_decay)),  M_t = mu_1 * ... * mu_t
    m <- b1 * m + (1 - b1) * g;   v <- b2 * v + (1 - b2) * g^2
    m_bar = (1 - mu_t) * g / (1 - M_t) + mu_{t+1} * m / (1 - M_t * mu_{t+1})
    w <- w - lr * m_bar / (sqrt(v / (1 - b2^t)) + epsilon)

    Args:
        learning_rate: default 0.002 (Keras 2.3; Keras 3 uses 0.001).
        beta_1, beta_2: defaults 0.9, 0.999.
        epsilon: fuzz factor, default 1e-7.
        schedule_decay: the momentum-schedule constant, default 0.004 (Keras 2.3 name).
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer`` (Keras 2.3's
            Nadam refused ``decay``; threestep accepts it like every other optimizer).

    Keras vs PyTorch: ``torch.optim.NAdam(lr, betas, eps=epsilon,
    momentum_decay=schedule_decay)`` is the same formula, epsilon included (both add it to
    the *bias-corrected* root), so it follows the same trajectory; torch's eps default is
    1e-8. (torch keeps its mu product in float32 unless the default dtype is float64.)
    The product M_t is recomputed from ``iterations``, so it needs no saved state.

    Example:
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
        >>> model.compile(optimizer=Nadam(learning_rate=0.002), loss="categorical_crossentropy", metrics=["accuracy"])
    """

    _slot_names = ("m", "v")

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_decay=0.004,
                 name="Nadam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2 = _check_betas("Nadam", beta_1, beta_2)
        self.epsilon = check_epsilon("Nadam", epsilon)
        self.schedule_decay = check_range("Nadam", "schedule_decay", schedule_decay, 0.0, float("inf"))
        self._m_schedule = (0, 1.0)  # (t, M_t), advanced once per step

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.schedule_decay))

    def _momentum_schedule(self, t):
        """M_t, multiplied up in the same order whether or not the run was interrupted."""
        done, product = self._m_schedule
        if done > t:
            done, product = 0, 1.0
        while done < t:
            done += 1
            product *= self._mu(done)
        self._m_schedule = (done, product)
        return product

    def update_step(self, index, param, grad, lr):
        t = self.iterations
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        m_schedule = self._momentum_schedule(t)
        m_schedule_next = m_schedule * mu_next
        b1, b2 = self.beta_1, self.beta_2
        fused.nadam_(param, grad, self.slots["m"][index], self.slots["v"][index], b1, 1.0 - b1, b2, 1.0 - b2,
                     1.0 - b2 ** t, self.epsilon, lr * (1.0 - mu_t) / (1.0 - m_schedule),
                     lr * mu_next / (1.0 - m_schedule_next))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "schedule_decay": self.schedule_decay}
