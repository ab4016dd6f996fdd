"""The backprop engine: Tensor, Function, iterative backward, no_grad, gradcheck."""
from .config import Config, enable_grad, is_grad_enabled, no_grad, test_mode, using_config
from .function import Function
from .gradcheck import gradcheck
from .sink import GradientSink, attach_sinks
from .tensor import Tensor, as_tensor, sum_to

__all__ = [
    "Config", "Function", "GradientSink", "Tensor", "as_tensor", "attach_sinks", "enable_grad", "gradcheck",
    "is_grad_enabled", "no_grad", "sum_to", "test_mode", "using_config",
]
