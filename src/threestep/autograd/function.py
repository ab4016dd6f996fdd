"""``Function``: one differentiable operation, forward and backward on raw arrays.

A subclass implements ``forward(*arrays) -> array | tuple`` and
``backward(*grad_outputs) -> tuple of grads (one per input, None where not needed)``.
Forward stores in ``self`` only what backward needs (sigmoid keeps y, not x).
``self.needs_input_grad[i]`` tells backward which input gradients are asked for, so
e.g. the input data of the first layer never gets a gradient computed.

``self.sink(i)``: the gradient sink of input ``i`` when backward may hand that input's
gradient to it directly (``autograd.sink``), else None. An op that uses it returns None for
that gradient.
"""
import weakref

from .. import backend
from .config import Config
from .tensor import Tensor, as_tensor


class Function:
    """One differentiable operation: ``forward`` on whole arrays and ``backward`` beside it.

    The engine's unit, as in the lecture's backpropagation: the forward pass computes the
    outputs and keeps what the backward pass needs; ``backward`` receives the gradient of the
    loss with respect to the outputs and returns one gradient per input (the chain rule,
    one node at a time). Subclass it for an op of your own; calling an instance on Tensors
    records it in the graph when an input requires a gradient.

    Example:
        >>> class Square(Function):
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, gy):
        ...         return 2 * self.x * gy
        >>> x = Tensor(np.array([3.0]), requires_grad=True)
        >>> Square()(x).sum().backward()
        >>> x.grad
        array([6.])
    """
    inputs = ()
    outputs = ()
    needs_input_grad = ()
    generation = 0
    held = None
    released = False
    sinks = None  # {input index: GradientSink} during backward, where the engine offers one
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

    def sink(self, index):
        """The gradient sink input ``index``'s gradient may go to directly, or None (``autograd.sink``)."""
        sinks = self.sinks
        return sinks.get(index) if sinks else None

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
