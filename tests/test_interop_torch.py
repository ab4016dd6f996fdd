"""threestep <-> PyTorch state dicts and modules, equal to 1e-6 in float64."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import layers as L
from threestep.errors import ConfigError
from threestep.interop import load_state_dict, state_dict, to_torch
from threestep.models import Sequential

TOL = 1e-6


@pytest.fixture(autouse=True)
def float64():
    ts.backend.set_floatx("float64")
    ts.backend.set_seed(0)
    yield
    ts.backend.set_floatx("float32")


def _rng():
    return np.random.default_rng(0)


def _close(a, b, what=""):
    """Compare on the host: threestep arrays may live on the GPU, torch's here are CPU tensors' arrays."""
    np.testing.assert_allclose(ts.backend.to_numpy(a), ts.backend.to_numpy(b), atol=TOL, rtol=TOL, err_msg=what)


def _torch_out(net, x):
    with torch.no_grad():
        return net.eval()(torch.from_numpy(x)).numpy()


def _randomize(model):
    """Random weights (BatchNormalization stats too), so no convention hides behind zeros or ones."""
    rng = _rng()
    for layer in model.layers:
        for w in layer.weights:
            values = rng.normal(scale=0.5, size=w.shape)
            values = np.abs(values) + 0.5 if "variance" in w.name else values
            w.data = ts.backend.asarray(values, dtype=w.dtype)  # on the device the weights live on


CASES = {
    "mlp": (lambda: Sequential([L.Dense(7, activation="relu", input_shape=(5,)), L.Dropout(0.4),
                                L.Dense(3, activation="softmax")]), (4, 5)),
    "cnn": (lambda: Sequential([L.Conv2D(4, 3, input_shape=(9, 8, 2)), L.BatchNormalization(), L.LeakyReLU(0.1),
                                L.MaxPooling2D(), L.Conv2D(3, (2, 3), strides=(1, 2), activation="relu"),
                                L.Flatten(), L.Dense(2)]), (3, 9, 8, 2)),
    "conv1d": (lambda: Sequential([L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="tanh",
                                            input_shape=(12, 3)), L.Conv1D(3, 3, padding="same"),
                                   L.AveragePooling1D(), L.GlobalMaxPooling1D(), L.Dense(2)]), (3, 12, 3)),
    "rnn": (lambda: Sequential([L.SimpleRNN(5, return_sequences=True, input_shape=(6, 3)),
                                L.SimpleRNN(4, activation="relu")]), (3, 6, 3)),
    "lstm": (lambda: Sequential([L.LSTM(5, return_sequences=True, input_shape=(6, 3)), L.LSTM(4)]), (3, 6, 3)),
    "gru": (lambda: Sequential([L.GRU(5, return_sequences=True, input_shape=(6, 3)), L.GRU(4)]), (3, 6, 3)),
    "bidirectional": (lambda: Sequential([L.Bidirectional(L.LSTM(4, return_sequences=True), input_shape=(6, 3)),
                                          L.Bidirectional(L.GRU(3))]), (3, 6, 3)),
    "padding_upsampling": (lambda: Sequential([L.ZeroPadding2D(((1, 2), (0, 1)), input_shape=(4, 3, 2)),
                                               L.UpSampling2D((2, 3)), L.Conv2D(2, 2), L.ReLU(max_value=0.5),
                                               L.Reshape((-1, 2)), L.ZeroPadding1D((2, 1)), L.UpSampling1D(2),
                                               L.ThresholdedReLU(0.1), L.SimpleRNN(3, return_sequences=True),
                                               L.TimeDistributed(L.Dense(2, activation="sigmoid"))]), (2, 4, 3, 2)),
    "prelu": (lambda: Sequential([L.Conv2D(3, 2, input_shape=(5, 5, 2)), L.PReLU(shared_axes=[1, 2]),
                                  L.GlobalAveragePooling2D()]), (2, 5, 5, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_whole_sequential_to_nn_sequential(name):
    build, shape = CASES[name]
    model = build()
    _randomize(model)
    x = _rng().normal(size=shape)
    _close(_torch_out(to_torch(model), x), model.predict(x, verbose=0), name)


def test_embedding_model_to_torch():
    model = Sequential([L.Embedding(10, 4, input_shape=(5,)), L.GRU(3), L.Dense(2)])
    _randomize(model)
    ids = _rng().integers(0, 10, size=(3, 5))
    with torch.no_grad():
        got = to_torch(model).eval()(torch.from_numpy(ids)).numpy()
    _close(got, model.predict(ids.astype("float64"), verbose=0))


@pytest.mark.parametrize("layer, module, shape", [
    (lambda: L.Dense(4), lambda: torch.nn.Linear(3, 4), (2, 3)),
    (lambda: L.Conv1D(4, 3, strides=2), lambda: torch.nn.Conv1d(3, 4, 3, stride=2), (2, 9, 3)),
    (lambda: L.Conv2D(4, (3, 2)), lambda: torch.nn.Conv2d(3, 4, (3, 2)), (2, 6, 5, 3)),
    (lambda: L.SimpleRNN(4, return_sequences=True), lambda: torch.nn.RNN(3, 4, batch_first=True), (2, 5, 3)),
    (lambda: L.LSTM(4, return_sequences=True), lambda: torch.nn.LSTM(3, 4, batch_first=True), (2, 5, 3)),
    (lambda: L.GRU(4, return_sequences=True), lambda: torch.nn.GRU(3, 4, batch_first=True), (2, 5, 3)),
    (lambda: L.Bidirectional(L.LSTM(4, return_sequences=True)),
     lambda: torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True), (2, 5, 3)),
])
def test_torch_state_dict_into_threestep_and_back(layer, module, shape):
    layer, module = layer(), module().double()
    x = _rng().normal(size=shape)
    layer(x)  # build
    with torch.no_grad():  # random torch weights, both biases non-zero
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    load_state_dict(layer, module.state_dict())
    tx = torch.from_numpy(x)
    with torch.no_grad():
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)):
            tx = tx.permute(0, tx.ndim - 1, *range(1, tx.ndim - 1))
            want = module(tx).permute(0, *range(2, tx.ndim), 1).numpy()
        elif isinstance(module, torch.nn.Linear):
            want = module(tx).numpy()
        else:
            want = module(tx)[0].numpy()
    _close(layer(x).data, want)
    back = state_dict(layer)  # threestep -> torch: a fresh module computes the same
    fresh = module
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    fresh.load_state_dict(back)
    with torch.no_grad():
        again = fresh(tx)
    again = again[0] if isinstance(again, tuple) else again
    if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)):
        again = again.permute(0, *range(2, tx.ndim), 1)
    _close(again.numpy(), want)


def test_recurrent_biases_are_summed_coming_back_and_split_going_out():
    layer = L.LSTM(3)
    layer(np.zeros((1, 2, 2)))
    module = torch.nn.LSTM(2, 3, batch_first=True).double()
    load_state_dict(layer, module.state_dict())
    sd = module.state_dict()
    _close(layer.bias.data, (sd["bias_ih_l0"] + sd["bias_hh_l0"]).numpy())
    out = state_dict(layer)
    _close(out["bias_ih_l0"].numpy(), layer.bias.data)
    assert not out["bias_hh_l0"].any()


def test_gru_gate_order_and_reset_placement():
    layer = L.GRU(2, reset_after=True)
    layer(np.zeros((1, 2, 3)))
    _randomize(_Holder(layer))
    sd = state_dict(layer)
    kernel = layer.kernel.data  # Keras blocks [z, r, h] -> torch [r, z, n]
    _close(sd["weight_ih_l0"].numpy()[:2], kernel[:, 2:4].T)
    _close(sd["weight_ih_l0"].numpy()[2:4], kernel[:, 0:2].T)
    _close(sd["bias_hh_l0"].numpy()[4:], layer.bias.data[1, 4:])
    before = L.GRU(2, reset_after=False)
    before(np.zeros((1, 2, 3)))
    with pytest.raises(ConfigError, match="reset_after"):
        state_dict(before)
    with pytest.raises(ConfigError, match="reset_after"):
        to_torch(Sequential([L.GRU(2, reset_after=False, input_shape=(4, 3))]))


class _Holder:
    def __init__(self, layer):
        self.layers = [layer]


def test_batch_norm_momentum_and_epsilon_conventions():
    layer = L.BatchNormalization(momentum=0.9, epsilon=1e-2)
    x = _rng().normal(size=(8, 3)) * 2 + 1
    layer(x)
    _randomize(_Holder(layer))
    module = to_torch(layer)[0]
    assert abs(module.momentum - 0.1) < 1e-12 and module.eps == 1e-2
    layer(x, training=True)  # one training step each: the moving statistics move the same way
    module.train()(torch.from_numpy(x))
    _close(layer.moving_mean.data, module.running_mean.numpy())
    _close(layer.moving_variance.data, module.running_var.numpy())
    fresh = L.BatchNormalization(momentum=0.9, epsilon=1e-2)
    fresh(x)
    load_state_dict(fresh, module.state_dict())
    _close(fresh(x, training=False).data, module.eval()(torch.from_numpy(x)).detach().numpy())


def test_embedding_round_trip():
    layer = L.Embedding(7, 3)
    layer(np.zeros((1, 2)))
    module = torch.nn.Embedding(7, 3).double()
    load_state_dict(layer, module.state_dict())
    _close(layer.embeddings.data, module.weight.detach().numpy())
    _close(state_dict(layer)["weight"].numpy(), module.weight.detach().numpy())


def test_a_state_dict_of_backend_arrays_loads():
    """Values that are arrays of the backend (CuPy arrays on a GPU) come to the host explicitly."""
    dense = L.Dense(3)
    dense(np.zeros((1, 4)))
    rng = _rng()
    weight, bias = rng.normal(size=(3, 4)), rng.normal(size=3)
    load_state_dict(dense, {"weight": ts.backend.asarray(weight), "bias": ts.backend.asarray(bias)})
    _close(dense.kernel.data, weight.T)
    _close(dense.bias.data, bias)


def test_errors_name_the_layer():
    model = Sequential([L.Dense(3, input_shape=(4,)), L.Maxout(2, pieces=2)])
    with pytest.raises(ConfigError, match="Maxout"):
        to_torch(model)
    dense = L.Dense(3)
    dense(np.zeros((1, 4)))
    with pytest.raises(ConfigError, match="shape"):
        load_state_dict(dense, {"weight": torch.zeros(3, 5), "bias": torch.zeros(3)})
    with pytest.raises(ConfigError, match="no 'weight'"):
        load_state_dict(dense, {"bias": torch.zeros(3)})


def test_models_in_and_out_example(tmp_path, capsys):
    import runpy  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    ts.backend.set_floatx("float32")
    example = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "models_in_and_out.py"))
    worst = example["main"](epochs=1, folder=str(tmp_path))
    assert set(worst) == {"digits.h5", "digits.keras", "torch nn.Sequential", "ONNX (onnxruntime)"}
    assert max(worst.values()) < 1e-5
    assert "largest difference" in capsys.readouterr().out
