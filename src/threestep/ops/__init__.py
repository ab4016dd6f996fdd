"""Every differentiable primitive: one ``Function`` each, plus a lowercase wrapper.

Importing this package also gives ``Tensor`` its operators (``+ - * / ** @``, indexing,
``.sum()``, ``.T`` ...), which the engine itself cannot do without importing ops.
"""
from ..autograd import Tensor
from .activations import (
    ELU, GELU, SELU, DropoutMask, GeneralizedReLU, HardSigmoid, LeakyReLU, PReLU, Softplus, Softsign, Swish,
    dropout, elu, gelu, generalized_relu, hard_sigmoid, leaky_relu, prelu, relu6, selu, silu, softplus, softsign, swish,
)
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub, add, div, matmul, mul, neg, pow, sub
from .clip import Clip, clip
from .conv import Conv, conv, conv1d, conv2d, conv_simple
from .conv_pool import conv_max_pool
from .ctc import CTCLoss, ctc_beam_search_decode, ctc_greedy_decode, ctc_loss
from .elementwise import Abs, Exp, Log, ReLU, Sigmoid, Sqrt, Tanh, abs, exp, log, relu, sigmoid, sqrt, tanh
from .maxout import ArgMaxReduce, MaxoutLinear, argmax_reduce, maxout_activation, maxout_linear, maxout_linear_simple
from .nn import (
    Linear, LogSoftmax, SigmoidCrossEntropy, Softmax, SoftmaxCrossEntropy, SquaredError, linear,
    log_softmax, mean_squared_error, sigmoid_cross_entropy, softmax, softmax_cross_entropy,
    squared_error,
)
from .normalization import (
    BatchNormInfer, BatchNormTrain, LayerNorm, batch_norm_infer, batch_norm_train, layer_norm, layer_norm_simple,
)
from .pool import (
    AvgPool, MaxPool, Pad, UpsampleNearest, avg_pool, avg_pool_simple, crop, global_avg_pool, global_max_pool,
    max_pool, max_pool_simple, pad, upsample_nearest,
)
from .recurrent import gru, jordan, lstm, simple_rnn
from .resize import ResizeBilinear, resize_bilinear
from .reduce import Max, Mean, Sum, max, mean, sum
from .select import (
    Cast, CumSum, Maximum, Minimum, Prod, Tile, Where, cast, cumsum, maximum, minimum, prod, tile, where,
)
from .shape import (
    Concatenate, GetItem, Reshape, Stack, Transpose, concatenate, flatten, getitem, reshape, stack,
    transpose,
)
from .simple import (
    linear_simple, log_softmax_simple, mean_squared_error_simple, sigmoid_cross_entropy_simple,
    softmax_cross_entropy_simple, softmax_simple,
)


def _deferring(op):
    """``tensor <op> other``, or NotImplemented when ``other`` is a symbolic tensor of the
    functional API (``K.variable(0.) + layer.output``), so that its reflected operator records
    the operation in the graph."""

    def run(a, b):
        if getattr(b, "is_symbolic", False):
            return NotImplemented
        return op(a, b)

    return run


def _install_operators():
    T = Tensor
    T.__add__ = _deferring(lambda a, b: add(a, b))
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = _deferring(lambda a, b: sub(a, b))
    T.__rsub__ = lambda a, b: sub(b, a)
    T.__mul__ = _deferring(lambda a, b: mul(a, b))
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = _deferring(lambda a, b: div(a, b))
    T.__rtruediv__ = lambda a, b: div(b, a)
    T.__neg__ = lambda a: neg(a)
    T.__abs__ = lambda a: abs(a)  # ops.abs: abs(y_pred - y_true) in a user's loss or metric
    T.__pow__ = lambda a, p: pow(a, p)
    T.__rpow__ = lambda a, b: pow(b, a)
    T.__matmul__ = lambda a, b: matmul(a, b)
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__getitem__ = lambda a, key: getitem(a, key)
    T.sum = lambda a, axis=None, keepdims=False: sum(a, axis, keepdims)
    T.mean = lambda a, axis=None, keepdims=False: mean(a, axis, keepdims)
    T.max = lambda a, axis=None, keepdims=False: max(a, axis, keepdims)
    T.reshape = lambda a, *shape: reshape(a, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    T.transpose = lambda a, *axes: transpose(a, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    T.T = property(lambda a: transpose(a))
    T.exp = lambda a: exp(a)
    T.log = lambda a: log(a)


_install_operators()

__all__ = [name for name in dir() if not name.startswith("_")]
