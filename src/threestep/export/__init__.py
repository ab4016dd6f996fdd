"""Export threestep models for deployment: ``to_onnx(model, "model.onnx")``.

Needs the ``onnx`` package: ``pip install "threestep[onnx]"``.
"""
from .onnx import supported_layers, to_onnx

__all__ = ["supported_layers", "to_onnx"]
