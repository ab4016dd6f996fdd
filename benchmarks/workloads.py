"""The suite's workloads, each defined once for every framework: data shape, batch, and the
same network in threestep, PyTorch, tf-keras and Keras 3 on JAX (one Keras model code for
both) and, where it runs, tinygrad.

* ``mlp``: 784-500-500-10 ReLU, softmax cross-entropy, SGD, batch 100 (the lecture's MLP).
* ``cnn``: the lecture CNN, conv25 3x3 - pool 2 - conv50 3x3 - pool 2 - dense100 - dense10,
  batch 100, 28x28x1 inputs.
* ``mlp_lecture``, ``cnn_lecture``: the same networks in the lecture's spelling: ``Dense(500)``
  then ``Activation("relu")``, ``Activation("softmax")`` as the output, ``categorical_crossentropy``
  on one-hot labels (made once, before timing). threestep's graph pass should train them as
  fast as the fused spelling; PyTorch runs its one network for both.
* ``lstm``, ``gru``, ``simple_rnn``: 28 steps of 28 features (MNIST read row by row) -> cell(128)
  -> last state -> dense 10 softmax, batch 128. PyTorch's GRU is the reset-after form that
  threestep's GRU uses by default.

Every framework trains with plain SGD (lr 0.01; ``--optimizer`` picks another) on float32 data,
shuffling each epoch, and infers in batches collecting the outputs as one host array, as
``model.predict`` does (``infer(size)``: in batches of ``size`` instead of the training batch).
"""
import numpy as np

from .common import torch_sgd_epoch

WORKLOADS = {
    #  name: (input shape per sample, batch, samples per timed epoch, quick samples)
    "mlp": ((784,), 100, 6000, 200),
    "cnn": ((28, 28, 1), 100, 2000, 200),
    "mlp_lecture": ((784,), 100, 6000, 200),
    "cnn_lecture": ((28, 28, 1), 100, 2000, 200),
    "lstm": ((28, 28), 128, 3840, 256),
    "gru": ((28, 28), 128, 3840, 256),
    "simple_rnn": ((28, 28), 128, 3840, 256),
}
CLASSES, UNITS = 10, 128
DESCRIPTIONS = {
    "mlp": "MLP 784-500-500-10",
    "cnn": "lecture CNN",
    "mlp_lecture": "MLP, lecture spelling",
    "cnn_lecture": "lecture CNN, lecture spelling",
    "lstm": "LSTM(128), 28x28",
    "gru": "GRU(128), 28x28",
    "simple_rnn": "SimpleRNN(128), 28x28",
}


def mlp_flops_per_sample():
    """Multiply-adds x 2 of one training sample: forward, plus dW of every layer and dx of all
    layers but the first (whose input needs no gradient) in backward."""
    shapes = [(784, 500), (500, 500), (500, 10)]
    forward = sum(2 * a * b for a, b in shapes)
    backward = sum(2 * a * b for a, b in shapes) + sum(2 * a * b for a, b in shapes[1:])
    return forward + backward


def make_data(name, samples, seed=0):
    shape = WORKLOADS[name][0]
    rng = np.random.default_rng(seed)
    x = rng.random((samples,) + shape, dtype=np.float32)
    y = rng.integers(0, CLASSES, samples).astype(np.uint8)
    return x, y


# ---------------------------------------------------------------- threestep
# The optimizers ``benchmarks.optimizers`` compares (the suite trains with "sgd"): each library's
# own, with its defaults but for SGD's rate of 0.01.
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad")


def _threestep_optimizer(name):
    from threestep import optimizers as O

    return {"sgd": lambda: O.SGD(0.01), "momentum": lambda: O.SGD(0.01, momentum=0.9), "adam": O.Adam,
            "rmsprop": O.RMSprop, "adagrad": O.Adagrad}[name]()


def _torch_optimizer(name):
    import torch

    o = torch.optim
    return {"sgd": lambda p: o.SGD(p, 0.01), "momentum": lambda p: o.SGD(p, 0.01, momentum=0.9), "adam": o.Adam,
            "rmsprop": o.RMSprop, "adagrad": o.Adagrad}[name]


def threestep_runners(name, x, y, batch, device="cpu", optimizer="sgd"):
    """(train one epoch, infer all samples) for threestep through the Keras-style API; on
    ``device="gpu"`` the model moves to CuPy, ``fit`` copies the NumPy data to the device once per
    call (one epoch here) and ``predict`` copies its inputs in once and its outputs out once."""
    import threestep as ts
    from threestep import layers as L
    from threestep.models import Sequential

    ts.backend.set_seed(0)
    relu = {"activation": "relu"}
    if name.endswith("_lecture"):  # Dense(500) then Activation("relu"): the pass must fuse them
        relu = {}
    def act():
        return [] if relu else [L.Activation("relu")]
    if name.startswith("mlp"):
        stack = [L.Dense(500, input_dim=784, **relu), *act(), L.Dense(500, **relu), *act()]
    elif name.startswith("cnn"):
        stack = [L.Conv2D(25, 3, input_shape=(28, 28, 1), **relu), *act(), L.MaxPooling2D(2),
                 L.Conv2D(50, 3, **relu), *act(), L.MaxPooling2D(2), L.Flatten(),
                 L.Dense(100, **relu), *act()]
    else:
        cell = {"lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN}[name]
        stack = [cell(UNITS, input_shape=x.shape[1:])]
    if name.endswith("_lecture"):
        model = Sequential(stack + [L.Dense(CLASSES), L.Activation("softmax")])
        model.compile(loss="categorical_crossentropy", optimizer=_threestep_optimizer(optimizer))
        y = np.eye(CLASSES, dtype=np.float32)[y]
    else:
        model = Sequential(stack + [L.Dense(CLASSES, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=_threestep_optimizer(optimizer))
    if device != "cpu":
        model.build((None,) + x.shape[1:])
        model.to(device)
    sync = _cupy_sync if device == "gpu" else (lambda: None)

    def train():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        sync()

    def infer(size=batch):
        return model.predict(x, batch_size=size)

    return train, infer


def _cupy_sync():
    import cupy

    cupy.cuda.Device().synchronize()


# ---------------------------------------------------------------- PyTorch
class _LastStep:
    """A torch RNN module followed by a linear head on the last step's output."""

    def __init__(self, rnn, head):
        self.rnn, self.head = rnn, head
        self.params = list(rnn.parameters()) + list(head.parameters())

    def __call__(self, xb):
        out, _ = self.rnn(xb)
        return self.head(out[:, -1])


def torch_runners(name, x, y, batch, device="cpu", optimizer="sgd"):
    """On ``device="gpu"`` the network lives on CUDA, each training epoch copies the data there
    once, as threestep's ``fit`` does, and waits for queued kernels before it returns; inference
    copies the inputs once and the outputs back once, as ``predict`` does."""
    import torch

    nn = torch.nn
    torch.manual_seed(0)
    name = name.replace("_lecture", "")  # one network in PyTorch, whatever the spelling
    if name == "mlp":
        net = nn.Sequential(nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, 10))
        params = list(net.parameters())
    elif name == "cnn":
        net = nn.Sequential(nn.Conv2d(1, 25, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(25, 50, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1250, 100), nn.ReLU(), nn.Linear(100, 10))
        params = list(net.parameters())
        x = x.transpose(0, 3, 1, 2).copy()  # NCHW, converted once like a data loader would
    else:
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "simple_rnn": nn.RNN}[name](x.shape[2], UNITS, batch_first=True)
        net = _LastStep(rnn, nn.Linear(UNITS, CLASSES))
        params = net.params
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    for module in ([net] if name in ("mlp", "cnn") else [net.rnn, net.head]):
        module.to(dev)
    train = torch_sgd_epoch(net, params, x, y, batch, device=dev, make_optimizer=_torch_optimizer(optimizer))
    xt = torch.from_numpy(x)

    def infer(size=batch):
        xs = xt.to(dev)  # once, as threestep's predict does on a GPU (a no-op on the CPU)
        with torch.no_grad():
            outs = [torch.softmax(net(xs[s:s + size]), dim=1) for s in range(0, len(xt), size)]
        return torch.cat(outs).cpu().numpy()

    return train, infer


# ---------------------------------------------------------------- tinygrad (where it runs)
TINYGRAD_WORKLOADS = ("mlp", "cnn")  # tinygrad has no whole-sequence RNN layer to compare with


def supports(framework, workload, optimizer="sgd"):
    """Whether ``framework`` has a version of ``workload`` (the suite shows n/a, not an error, where not)."""
    return framework.split("@")[0] != "tinygrad" or (workload in TINYGRAD_WORKLOADS and optimizer == "sgd")


def tinygrad_runners(name, x, y, batch, device="cpu"):
    """MLP and CNN only. ``device="cpu"`` forces tinygrad's CPU device (kernels compiled by
    clang; ``NUM_CPU_THREADS``, set by the suite, sizes its thread pool); ``"gpu"`` takes
    tinygrad's default accelerator. The train step and inference are TinyJit-compiled, one
    JIT per batch shape (a short last batch gets its own), so after the warm-up epoch an epoch
    replays compiled kernels; the warm-up pays the compilation, as ``measure`` excludes it.
    Same semantics as the other runners: SGD lr 0.01 on mean softmax cross-entropy of the
    logits, every sample once per epoch in a fresh random order, float32 batches copied from
    host memory, inference outputs collected as one host array."""
    from tinygrad import Context, Device, Tensor, TinyJit, nn
    from tinygrad.helpers import DEV
    from tinygrad.nn.optim import SGD

    if name not in TINYGRAD_WORKLOADS:
        raise NotImplementedError(f"no tinygrad version of the {name} workload")
    if device == "cpu":
        DEV.value = "CPU"
    elif Device.DEFAULT == "CPU":
        raise RuntimeError("tinygrad found no GPU device")
    dev = Device[Device.DEFAULT]
    Tensor.manual_seed(0)
    if name == "mlp":
        layers = [nn.Linear(784, 500), nn.Linear(500, 500), nn.Linear(500, 10)]

        def net(xb):
            return layers[2](layers[1](layers[0](xb).relu()).relu())
    else:
        layers = [nn.Conv2d(1, 25, 3), nn.Conv2d(25, 50, 3), nn.Linear(1250, 100), nn.Linear(100, 10)]
        x = x.transpose(0, 3, 1, 2).copy()  # NCHW, converted once like a data loader would

        def net(xb):
            h = layers[0](xb).relu().max_pool2d(2)
            h = layers[1](h).relu().max_pool2d(2).flatten(1)
            return layers[3](layers[2](h).relu())
    params = nn.state.get_parameters(layers)
    Tensor.realize(*params)
    opt = SGD(params, lr=0.01)
    y = y.astype(np.int32)
    rng = np.random.default_rng(0)

    def step(xb, yb):
        with Context(TRAINING=1):
            opt.zero_grad()
            loss = net(xb).sparse_categorical_crossentropy(yb)
            loss.backward()
            return loss.realize(*opt.schedule_step())

    def predict(xb):
        return net(xb).softmax().realize()

    jits = {}  # one TinyJit per (function, batch shape)

    def jitted(fn, n):
        if (fn, n) not in jits:
            jits[(fn, n)] = TinyJit(fn)
        return jits[(fn, n)]

    def train():
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            jitted(step, len(idx))(Tensor(x[idx]), Tensor(y[idx]))
        dev.synchronize()  # the CPU device runs kernels on its own thread: wait for the queue

    def infer(size=batch):
        # copy each batch out now: the JIT reuses its output buffer
        return np.concatenate([jitted(predict, len(x[s:s + size]))(Tensor(x[s:s + size])).numpy()
                               for s in range(0, len(x), size)])

    return train, infer


# ---------------------------------------------------------------- Keras peers
# tf-keras (Keras 2 on TensorFlow) and Keras 3 on JAX run the very same model code: the module
# passed in is ``tf_keras`` or ``keras`` (imported by the worker with TF_USE_LEGACY_KERAS=1 or
# KERAS_BACKEND=jax in its environment, and the thread limits already set).
def keras_model(keras, name, input_shape, optimizer="sgd"):
    """The workload's network in Keras, compiled; what a Keras user would write for it."""
    L = keras.layers
    lecture = name.endswith("_lecture")
    relu = {} if lecture else {"activation": "relu"}

    def act():
        return [L.Activation("relu")] if lecture else []
    if name.startswith("mlp"):
        stack = [L.Dense(500, **relu), *act(), L.Dense(500, **relu), *act()]
    elif name.startswith("cnn"):
        stack = [L.Conv2D(25, 3, **relu), *act(), L.MaxPooling2D(2), L.Conv2D(50, 3, **relu), *act(),
                 L.MaxPooling2D(2), L.Flatten(), L.Dense(100, **relu), *act()]
    else:
        stack = [{"lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN}[name](UNITS)]
    head = [L.Dense(CLASSES), L.Activation("softmax")] if lecture else [L.Dense(CLASSES, activation="softmax")]
    model = keras.Sequential([keras.Input(shape=input_shape), *stack, *head])
    O = keras.optimizers
    opt = {"sgd": lambda: O.SGD(0.01), "momentum": lambda: O.SGD(0.01, momentum=0.9), "adam": O.Adam,
           "rmsprop": O.RMSprop, "adagrad": O.Adagrad}[optimizer]()
    model.compile(loss="categorical_crossentropy" if lecture else "sparse_categorical_crossentropy", optimizer=opt)
    return model


def keras_runners(keras, name, x, y, batch, device="cpu", optimizer="sgd"):
    """``fit`` one shuffled epoch and ``predict`` in batches, as with threestep; CPU only."""
    if device != "cpu":
        raise NotImplementedError("the Keras peers run on the CPU only in this suite")
    keras.utils.set_random_seed(0)
    model = keras_model(keras, name, x.shape[1:], optimizer)
    if name.endswith("_lecture"):
        y = np.eye(CLASSES, dtype=np.float32)[y]

    def train():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)

    def infer(size=batch):
        return model.predict(x, batch_size=size, verbose=0)

    return train, infer


def tf_keras_runners(name, x, y, batch, device="cpu", optimizer="sgd"):
    import tf_keras

    return keras_runners(tf_keras, name, x, y, batch, device, optimizer)


def keras_jax_runners(name, x, y, batch, device="cpu", optimizer="sgd"):
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()}, not JAX: set KERAS_BACKEND=jax")
    return keras_runners(keras, name, x, y, batch, device, optimizer)


RUNNERS = {"threestep": threestep_runners, "pytorch": torch_runners, "tinygrad": tinygrad_runners,
           "tf_keras": tf_keras_runners, "keras_jax": keras_jax_runners}
