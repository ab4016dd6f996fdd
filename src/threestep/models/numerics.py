"""``fit(debug_numerics=True)``: find the first layer whose forward or backward pass
produced NaN or infinity, and name it."""
import math

from .. import backend
from ..errors import NumericsError


def _finite(array):
    return array is None or bool(backend.get_array_module(array).isfinite(array).all())


class NumericsDebugger:
    """Records every layer's output during a step (``model._trace``) and checks it."""

    def __init__(self, model):
        self.model = model
        self.where = (0, 0)
        self.trace = []

    def start(self):
        self.trace = []
        self.model._trace = self.trace

    def _raise(self, layer, what):
        epoch, step = self.where
        self.model._trace = None
        raise NumericsError(
            f"Epoch {epoch + 1}, batch {step + 1}: the {what} of layer {layer.name!r} "
            f"({type(layer).__name__}) contains NaN or infinity while its input was finite. Check that "
            "layer's weights and activation (e.g. exp/log overflow), the learning rate, and the input scale.")

    def check_forward(self, loss_finite=True):
        self.model._trace = None
        for layer, out in self.trace:
            if not _finite(out.data):
                self._raise(layer, "forward pass (output)")
        if not loss_finite:
            epoch, step = self.where
            name = getattr(self.model.loss, "name", "loss")
            raise NumericsError(
                f"Epoch {epoch + 1}, batch {step + 1}: every layer's output is finite but the loss "
                f"({name}) is not: the outputs or targets are so large that the loss overflows. "
                "Lower the learning rate or rescale the targets.")

    def gradient_hook(self, grads, value):
        """``Optimizer.minimize``'s hook: check the step after backward, before the update."""
        if not math.isfinite(value):
            self.check_forward(loss_finite=False)
        else:
            self.check_backward()
        return grads, value

    def check_backward(self):
        self.check_forward()
        # Backward runs from the last layer to the first: the culprit is the first layer (in
        # that order) whose incoming gradient is finite but whose outgoing gradients are not.
        for i in range(len(self.trace) - 1, -1, -1):
            layer, out = self.trace[i]
            if not _finite(out.grad):
                continue
            grads = [w.grad for w in layer.trainable_weights]
            if i > 0:
                grads.append(self.trace[i - 1][1].grad)
            if not all(_finite(g) for g in grads):
                self._raise(layer, "backward pass (gradient)")
        for _, out in self.trace:
            out.grad = None
