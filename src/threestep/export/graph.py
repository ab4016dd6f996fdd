"""A small ONNX graph builder over the ``onnx`` package's helper API (no hand-written protobuf)."""
import numpy

from ..errors import ConfigError
from ..interop._deps import require


class GraphBuilder:
    """Collects nodes and initializers; every ``add`` returns the name of its (first) output."""

    def __init__(self, opset, dtype):
        self.onnx = require("onnx")
        if not 13 <= opset <= 21:
            raise ConfigError(f"to_onnx: opset must be between 13 and 21. Received: opset={opset}.")
        self.opset = opset
        self.dtype = numpy.dtype(dtype)
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, array, hint="const", dtype=None):
        """An initializer holding ``array`` (floats in the graph's dtype unless ``dtype``)."""
        array = numpy.asarray(array)
        array = array.astype(dtype or (self.dtype if array.dtype.kind == "f" else array.dtype))
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(numpy.ascontiguousarray(array), name))
        return name

    def ints(self, values, hint="shape"):
        return self.const(numpy.asarray(values, dtype=numpy.int64), hint)

    def add(self, op, inputs, hint=None, outputs=1, **attrs):
        names = [self.name(hint or op.lower()) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    # ------------------------------------------------------------------ helpers that differ by opset
    def reduce(self, op, x, axes, keepdims=False):
        if self.opset >= 18 or op == "ReduceSum":
            return self.add(op, [x, self.ints(list(axes), "axes")], keepdims=int(keepdims))
        return self.add(op, [x], axes=list(axes), keepdims=int(keepdims))

    def transpose(self, x, perm):
        return self.add("Transpose", [x], perm=list(perm))

    def reshape(self, x, shape):
        return self.add("Reshape", [x, self.ints(shape)])

    def matmul_bias(self, x, kernel, bias=None):
        y = self.add("MatMul", [x, self.const(kernel, "kernel")])
        return y if bias is None else self.add("Add", [y, self.const(bias, "bias")])

    def value_info(self, name, elem_type, shape):
        dims = ["batch" if i == 0 else (f"dim{i}" if d is None else int(d)) for i, d in enumerate(shape)]
        return self.onnx.helper.make_tensor_value_info(name, elem_type, dims)

    def model(self, inputs, outputs, graph_name, doc):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="threestep", doc_string=doc)
        model.ir_version = min(model.ir_version, 9)  # readable by onnxruntime releases of the last two years
        self.onnx.checker.check_model(model)
        return model
