"""Gradient sinks: the one hook the engine offers to whoever consumes a leaf's gradient.

A leaf tensor may carry a ``sink``. While sinks are attached (``attach_sinks``), backward
hands such a leaf's gradient to ``sink.take(g)`` once per pass -- the whole gradient, summed
over every use of the leaf -- and leaves ``.grad`` alone. The engine knows nothing of what a
sink does with it (an optimizer updates the weight at once, or writes the gradient into a
flat buffer of its own).

An op that produces a leaf's gradient in a known form may hand that form over instead of the
array, so that a sink can compute the gradient straight into its own storage:
``take_matmul(a, b)`` for a gradient ``a.T @ b`` (a weight's GEMM in ``Linear`` and ``Conv``)
and ``take_rowsum(g)`` for ``g.sum(axis=0)`` (a bias). The engine offers an op this only
(``Function.sink(i)``) where the leaf is an input of that op alone in the graph, so the op's
contribution is the whole gradient and no other op reads the leaf after it; the defaults
compute the array and call ``take``.
"""
import contextlib


class GradientSink:
    """Where backward delivers one leaf's gradient instead of ``.grad``.

    Subclasses implement ``take(g)``; ``g`` may come in another shape of the same size (a
    convolution's kernel as a matrix), so ``take`` reshapes it where it needs the leaf's shape.

    Example:
        >>> class Collect(GradientSink):
        ...     def take(self, g):
        ...         self.got = g
        >>> w = Tensor(np.ones(3), requires_grad=True)
        >>> with attach_sinks({w: Collect()}) as sinks:
        ...     (w * w).sum().backward()
        >>> sinks[w].got   # 2 * w; w.grad stays None
    """

    def take(self, g):
        raise NotImplementedError

    def take_matmul(self, a, b):
        """The gradient is ``a.T @ b`` (both 2-D)."""
        self.take(a.T @ b)

    def take_rowsum(self, g):
        """The gradient is ``g.sum(axis=0)`` (``g`` 2-D)."""
        self.take(g.sum(axis=0))


class _Attached:
    count = 0  # leaves with a sink attached right now: backward looks for sinks only when > 0


@contextlib.contextmanager
def attach_sinks(sinks):
    """Attach ``{leaf: sink}`` for the backward passes run inside the block; yields ``sinks``.

    Sinks are detached on leaving, so a later backward outside the block (a user's own
    loop over the same weights) fills ``.grad`` as usual."""
    leaves = list(sinks)
    for leaf in leaves:
        leaf.sink = sinks[leaf]
    _Attached.count += len(leaves)
    try:
        yield sinks
    finally:
        _Attached.count -= len(leaves)
        for leaf in leaves:
            leaf.sink = None


def sinks_attached():
    return _Attached.count > 0
