"""``Function``: one differentiable operation, forward and backward on raw arrays.

A subclass implements ``forward(*arrays) -> array | tuple`` and
``backward(*grad_outputs) -> tuple of grads (one per input, None where not needed)``.
Forward stores in ``self`` only what backward needs (sigmoid keeps y, not x).
``self.needs_input_grad[i]`` tells backward which input gradients are asked for, so
e.g. the input data of the first layer never gets a gradient computed.

``self.fold_update`` (set by ``Tensor.backward(update=...)`` just for the call):
``{i: (target, alpha, beta)}`` for inputs whose owner asked for ``target = beta * target +
alpha * gradient`` in place; an op that can fold that into its own backward does so, removes
``i`` and returns None for that gradient. An op that ignores it returns the gradient as usual
(the leaf then gets ``.grad``). ``(target, 1, 0)`` asks for the gradient itself, written into
``target`` (a packed optimizer's gradient buffer on the GPU: ``gradient_target``).
"""
import weakref

from .. import backend
from .config import Config
from .tensor import Tensor, as_tensor


class Function:
    inputs = ()
    outputs = ()
    needs_input_grad = ()
    generation = 0
    held = None
    released = False
    fold_update = None
    zero_grads = frozenset()  # outputs whose gradient backward got as zeros because nothing used them

    def __call__(self, *inputs):
        if not all([isinstance(x, Tensor) for x in inputs]):
            like = next((x for x in inputs if isinstance(x, Tensor)), None)
            inputs = [as_tensor(x, like) for x in inputs]
        # Under no_grad() backward never runs here, so forward need not keep anything for it.
        needs = self.needs_input_grad = tuple([x.requires_grad for x in inputs] if Config.enable_grad
                                              else [False] * len(inputs))
        record = True in needs
        ys = self.forward(*[x.data for x in inputs])
        if not isinstance(ys, tuple):  # one output: the common case, without the lists
            out = Tensor(ys, requires_grad=record)
            if record:
                self.generation = max([x.generation for x in inputs])
                out.set_creator(self)
                self.inputs = inputs
                self.outputs = (weakref.ref(out),)
            return out
        outputs = [Tensor(y, requires_grad=record) for y in ys]
        if record:
            self.generation = max([x.generation for x in inputs])
            for out in outputs:
                out.set_creator(self)
            self.inputs = inputs
            self.outputs = [weakref.ref(out) for out in outputs]
            if len(outputs) > 1:  # an unused output may be gone by backward; its zero grad needs these
                self.output_specs = [(out.shape, out.dtype) for out in outputs]
        return tuple(outputs)

    def gradient_target(self, index, shape):
        """The device array backward should write input ``index``'s gradient into, or None.

        Set where the input's owner asked for its gradient in a buffer of its own
        (``fold_update[index] == (target, 1, 0)``: an optimizer's packed gradient views,
        ``optimizers.packing``), on the GPU, with ``shape``. Taking it removes the request, so
        the engine counts the input as served and gives it no ``.grad``."""
        fold = self.fold_update
        if not fold or index not in fold:
            return None
        target, alpha, beta = fold[index]
        if (alpha != 1.0 or beta != 0.0 or tuple(target.shape) != tuple(shape) or not backend.on_gpu(target)
                or not target.flags.c_contiguous):
            return None
        del fold[index]
        return target

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def run_backward(self, gys):
        """Call ``backward``; missing output grads (unused outputs) become zeros, and their
        indices ``self.zero_grads``, so that backward can skip them without reading them (a
        read of a device array waits for the GPU)."""
        if len(gys) > 1 and any(g is None for g in gys):
            self.zero_grads = frozenset(i for i, g in enumerate(gys) if g is None)
            xp = backend.get_array_module(next(g for g in gys if g is not None))
            gys = [g if g is not None else xp.zeros(shape, dtype) for g, (shape, dtype) in zip(gys, self.output_specs)]
        gxs = self.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        return gxs

    def release(self):
        """Free inputs and saved values once backward no longer needs them."""
        saved = self.__dict__
        outputs, generation, needs = self.outputs, self.generation, self.needs_input_grad
        saved.clear()
        self.outputs, self.generation, self.needs_input_grad = outputs, generation, needs
        self.released = True  # a second backward through here raises instead of silently skipping

    def __repr__(self):
        return f"<{type(self).__name__} gen={self.generation}>"
