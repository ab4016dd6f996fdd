"""Models in and out: train a small CNN on the embedded digits, then carry it to Keras files,
PyTorch and ONNX, and check that every copy predicts what threestep predicts.

    python examples/models_in_and_out.py

Needs h5py (Keras files) and onnx: pip install "threestep[keras-io,onnx]"; torch and
onnxruntime are used when installed.
"""
import os
import tempfile

import numpy as np

from threestep import backend
from threestep.datasets import digits
from threestep.export import to_onnx
from threestep.interop import to_torch
from threestep.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from threestep.models import Sequential, load_model
from threestep.utils import to_categorical


def main(epochs=3, folder=None):
    backend.set_seed(0)
    (x_train, y_train), (x_test, _) = digits.load_data()
    x_train = x_train.reshape(-1, 8, 8, 1).astype("float32") / 16
    x_test = x_test.reshape(-1, 8, 8, 1).astype("float32") / 16
    model = Sequential([Conv2D(8, 3, activation="relu", input_shape=(8, 8, 1)), BatchNormalization(),
                        MaxPooling2D(), Flatten(), Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, to_categorical(y_train, 10), epochs=epochs, batch_size=32, verbose=0)
    want = model.predict(x_test, verbose=0)
    folder = folder or tempfile.mkdtemp()
    worst = {}
    for name in ("digits.h5", "digits.keras"):  # Keras 2 files: tf-keras's load_model reads them too
        path = os.path.join(folder, name)
        model.save(path)
        worst[name] = float(np.abs(load_model(path).predict(x_test, verbose=0) - want).max())
    try:
        import torch  # noqa: PLC0415

        with torch.no_grad():
            got = to_torch(model).eval()(torch.from_numpy(x_test)).numpy()
        worst["torch nn.Sequential"] = float(np.abs(got - want).max())
    except ImportError:
        print("torch is not installed: skipping the PyTorch copy")
    path = to_onnx(model, os.path.join(folder, "digits.onnx"))
    try:
        import onnxruntime  # noqa: PLC0415

        runtime = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        worst["ONNX (onnxruntime)"] = float(np.abs(runtime.run(None, {"input": x_test})[0] - want).max())
    except ImportError:
        print("onnxruntime is not installed: the ONNX file is written but not run")
    for name, diff in worst.items():
        print(f"{name:22s} largest difference from threestep's predictions: {diff:.1e}")
    return worst


if __name__ == "__main__":
    main()
