"""``model.to("gpu")`` / ``model.to("cpu")``: move a model's weights and its optimizer's state.

threestep has one array backend per process (``threestep.backend``): NumPy on the CPU, CuPy
on the GPU, so that the same op code runs on both. Moving a model therefore switches the
backend too (every op of the next forward pass must meet arrays of its own library) and
moves, in place, every weight (trainable or not, e.g. batch-norm statistics) and every
optimizer slot (momentum, Adam's moments). Gradients are dropped: the next backward pass
makes new ones on the new device. Data need not move: ``fit``/``evaluate``/``predict`` take
NumPy arrays and move each batch themselves, and ``predict`` returns NumPy arrays.
"""
from .. import backend


def move_model(model, device):
    """Move ``model`` (weights and optimizer slots) to ``device``; returns the model."""
    target = backend.device_backend(device)  # ConfigError for an unknown device name
    if backend.backend_name() != target:
        backend.set_backend(target)  # BackendError with the install hint when CuPy is missing
    for w in model.weights:
        w.data = backend.to_device(w.data, device)
        w.grad = None
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "slots", None):
        optimizer.slots = {name: [backend.to_device(a, device) for a in arrays]
                           for name, arrays in optimizer.slots.items()}
    return model


def model_device(model):
    """'gpu' if the model's weights are CuPy arrays, else 'cpu' (an unbuilt model: the backend's)."""
    weights = model.weights
    if weights:
        return "gpu" if type(weights[0].data).__module__.startswith("cupy") else "cpu"
    return "gpu" if backend.backend_name() == "cupy" else "cpu"
