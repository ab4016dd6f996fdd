"""ONNX export checked by running the files in onnxruntime (float32: 1e-5, recurrent 1e-4),
with two batch sizes through the same file (the batch axis is dynamic)."""
import numpy as np
import onnx
import onnxruntime
import pytest

import threestep as ts
from threestep import layers as L
from threestep.cli import main as cli_main
from threestep.errors import ConfigError
from threestep.export import to_onnx
from threestep.models import Model, Sequential


def _rng():
    return np.random.default_rng(0)


def _randomize(model):
    rng = _rng()
    for layer in model.layers:
        for w in layer.weights:
            values = rng.normal(scale=0.4, size=w.shape)
            values = np.abs(values) + 0.5 if "variance" in w.name else values
            w.data = ts.backend.asarray(values, dtype=w.dtype)  # on the device the weights live on


def _run(path, xs):
    runtime = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: (x.astype(np.int64) if "int64" in i.type else x.astype(np.float32))
             for i, x in zip(runtime.get_inputs(), xs)}
    return runtime.run(None, feeds)[0]


def _check(model, make_x, tmp_path, tol):
    ts.backend.set_seed(0)
    _randomize(model)
    path = to_onnx(model, tmp_path / "m.onnx")
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (3, 5):
        xs = make_x(batch)
        xs = xs if isinstance(xs, list) else [xs]
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        np.testing.assert_allclose(_run(path, xs), want, atol=tol, rtol=tol)


def _floats(*shape):
    return lambda n: _rng().normal(size=(n,) + shape).astype("float32")


def _ids(steps, vocab, pad=True):
    def make(n):
        ids = _rng().integers(1, vocab, size=(n, steps))
        if pad:
            ids[0, steps // 2:] = 0  # trailing padding
            ids[-1, 1:] = 0
        return ids.astype("float32")
    return make


FEEDFORWARD = {
    "mlp_dropout": (lambda: Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.Dropout(0.3),
                                        L.Dense(4, activation="softmax")]), _floats(8)),
    "cnn_bn_leaky": (lambda: Sequential([L.Conv2D(4, 3, padding="same", strides=2, input_shape=(17, 16, 2)),
                                         L.BatchNormalization(), L.LeakyReLU(0.1), L.MaxPooling2D(padding="same"),
                                         L.Conv2D(3, 2, dilation_rate=2), L.AveragePooling2D(),
                                         L.Flatten(), L.Dense(3)]), _floats(17, 16, 2)),
    "conv1d_dilated_global": (lambda: Sequential([L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="elu",
                                                           input_shape=(12, 3)), L.Conv1D(3, 2, padding="same"),
                                                  L.GlobalAveragePooling1D(), L.Dense(2)]), _floats(12, 3)),
    "global_max_2d": (lambda: Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2), activation="selu"),
                                          L.GlobalMaxPooling2D(), L.Activation("softplus")]), _floats(6, 6, 2)),
    "prelu_maxout": (lambda: Sequential([L.Dense(6, input_shape=(5,)), L.PReLU(), L.Maxout(4, pieces=3),
                                         L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2), L.ELU(0.7),
                                         L.ThresholdedReLU(0.1), L.Dense(3), L.Softmax()]), _floats(5)),
    "prelu_shared_conv": (lambda: Sequential([L.Conv2D(3, 2, input_shape=(5, 5, 2)), L.PReLU(shared_axes=[1, 2]),
                                              L.Reshape((-1, 3)), L.GlobalAveragePooling1D(),
                                              L.Activation("hard_sigmoid")]), _floats(5, 5, 2)),
    "padding_cropping_upsampling": (lambda: Sequential([L.ZeroPadding2D(((1, 2), (0, 1)), input_shape=(5, 4, 2)),
                                                        L.Cropping2D(((0, 1), (1, 0))), L.UpSampling2D((2, 3)),
                                                        L.Conv2D(2, 2), L.Reshape((-1, 2)),
                                                        L.ZeroPadding1D(2), L.Cropping1D((1, 0)),
                                                        L.UpSampling1D(2), L.Flatten()]), _floats(5, 4, 2)),
    "activations": (lambda: Sequential([L.Dense(4, activation="tanh", input_shape=(3,)),
                                        L.Dense(4, activation="sigmoid"), L.Dense(4, activation="swish"),
                                        L.Dense(4, activation="softsign"), L.Dense(4, activation="relu6"),
                                        L.Dense(4, activation="exponential"), L.RepeatVector(2),
                                        L.Reshape((8,))]), _floats(3)),
}

RECURRENT = {
    "embedding_mask_lstm": (lambda: Sequential([L.Embedding(12, 6, mask_zero=True, input_shape=(7,)), L.LSTM(5),
                                                L.Dense(2)]), _ids(7, 12)),
    "gru_reset_after": (lambda: Sequential([L.GRU(5, return_sequences=True, input_shape=(6, 3)), L.GRU(4)]),
                        _floats(6, 3)),
    "gru_reset_before": (lambda: Sequential([L.GRU(5, return_sequences=True, reset_after=False, input_shape=(6, 3)),
                                             L.GRU(4, reset_after=False, go_backwards=True)]), _floats(6, 3)),
    "bilstm_timedistributed": (lambda: Sequential([L.Bidirectional(L.LSTM(4, return_sequences=True),
                                                                   input_shape=(6, 3)),
                                                   L.TimeDistributed(L.Dense(2)),
                                                   L.Bidirectional(L.GRU(3), merge_mode="ave")]), _floats(6, 3)),
    "bidirectional_sum_mul": (lambda: Sequential([L.Bidirectional(L.SimpleRNN(4, return_sequences=True),
                                                                  merge_mode="sum", input_shape=(5, 2)),
                                                  L.Bidirectional(L.LSTM(3), merge_mode="mul")]), _floats(5, 2)),
    "simple_rnn": (lambda: Sequential([L.SimpleRNN(5, return_sequences=True, input_shape=(6, 3)),
                                       L.SimpleRNN(3, activation="relu")]), _floats(6, 3)),
    "embedding_mask_bigru_sequences": (lambda: Sequential([L.Embedding(9, 4, mask_zero=True, input_shape=(6,)),
                                                           L.Bidirectional(L.GRU(3, return_sequences=True)),
                                                           L.LSTM(2)]), _ids(6, 9)),
}


@pytest.mark.parametrize("name", sorted(FEEDFORWARD))
def test_feedforward_models_match_onnxruntime(name, tmp_path):
    build, make_x = FEEDFORWARD[name]
    _check(build(), make_x, tmp_path, 1e-5)


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_models_match_onnxruntime(name, tmp_path):
    build, make_x = RECURRENT[name]
    _check(build(), make_x, tmp_path, 1e-4)


def test_functional_two_inputs_with_every_merge(tmp_path):
    a, b = L.Input((4,)), L.Input((5,))
    ha, hb = L.Dense(6, activation="relu")(a), L.Dense(6, activation="tanh")(b)
    merged = L.Concatenate()([L.Add()([ha, hb]), L.Multiply()([ha, hb]), L.Subtract()([ha, hb]),
                              L.Average()([ha, hb]), L.Maximum()([ha, hb, L.Dense(6)(a)])])
    model = Model([a, b], L.Dense(2, activation="softmax")(merged))
    _check(model, lambda n: [_floats(4)(n), _floats(5)(n) + 1], tmp_path, 1e-5)


def test_unsupported_layer_and_opset_errors(tmp_path):
    model = Sequential([L.Dense(3, input_shape=(4,)), L.Masking()])
    with pytest.raises(ConfigError, match="Masking"):
        to_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="opset"):
        to_onnx(Sequential([L.Dense(3, input_shape=(4,))]), tmp_path / "m.onnx", opset=7)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(opset, tmp_path):
    model = Sequential([L.Conv1D(3, 2, input_shape=(6, 2)), L.GlobalAveragePooling1D(), L.Dense(2)])
    _randomize(model)
    path = to_onnx(model, tmp_path / "m.onnx", opset=opset)
    x = _floats(6, 2)(3)
    np.testing.assert_allclose(_run(path, [x]), model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


def test_cli_export(tmp_path, capsys):
    model = Sequential([L.Dense(3, activation="relu", input_shape=(4,)), L.Dense(2)])
    _randomize(model)
    model.save(str(tmp_path / "m.zip"))
    assert cli_main(["export", str(tmp_path / "m.zip"), str(tmp_path / "m.onnx")]) == 0
    assert "Wrote" in capsys.readouterr().out
    x = _floats(4)(3)
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", [x]), model.predict(x, verbose=0), atol=1e-5)
    assert cli_main(["export", str(tmp_path / "missing.zip"), str(tmp_path / "x.onnx")]) == 1
    assert "missing.zip" in capsys.readouterr().err
