"""Recurrent layers with Keras layouts against PyTorch (weights copied), masks, wrappers,
errors, and small trainings."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import errors
from threestep.autograd import Tensor
from threestep.layers import (
    GRU, LSTM, Bidirectional, Dense, Embedding, Input, JordanRNN, Masking, RepeatVector, SimpleRNN,
    TimeDistributed,
)
from threestep.models import Model, Sequential
from helpers import to_host


@pytest.fixture
def float64():
    ts.backend.set_floatx("float64")
    yield
    ts.backend.set_floatx("float32")


def torch_lstm_from(layer, bidirectional_backward=None):
    """A torch.nn.LSTM with our Keras-layout weights ([i, f, c, o] == torch's [i, f, g, o])."""
    k, u, b = layer.get_weights()[:3]
    units = layer.units
    net = torch.nn.LSTM(k.shape[0], units, batch_first=True, bidirectional=bidirectional_backward is not None).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(k.T))
        net.weight_hh_l0.copy_(torch.tensor(u.T))
        net.bias_ih_l0.copy_(torch.tensor(b))
        net.bias_hh_l0.zero_()
        if bidirectional_backward is not None:
            k2, u2, b2 = bidirectional_backward.get_weights()[:3]
            net.weight_ih_l0_reverse.copy_(torch.tensor(k2.T))
            net.weight_hh_l0_reverse.copy_(torch.tensor(u2.T))
            net.bias_ih_l0_reverse.copy_(torch.tensor(b2))
            net.bias_hh_l0_reverse.zero_()
    return net


def test_lstm_layer_matches_torch_with_states_and_gradients(float64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 50, 4))
    layer = LSTM(5, return_sequences=True, return_state=True)
    xt = Tensor(x, requires_grad=True)
    seq, h, c = layer(xt)
    assert layer.get_weights()[2][5:10].tolist() == [1.0] * 5  # unit_forget_bias
    net = torch_lstm_from(layer)
    tx = torch.tensor(x, requires_grad=True)
    tseq, (th, tc) = net(tx)
    np.testing.assert_allclose(to_host(seq.data), tseq.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_host(h.data), th[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_host(c.data), tc[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    gy = rng.standard_normal(seq.shape)
    (seq * Tensor(gy)).sum().backward()
    (tseq * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(to_host(xt.grad), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(to_host(layer.kernel.grad), net.weight_ih_l0.grad.numpy().T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(to_host(layer.recurrent_kernel.grad), net.weight_hh_l0.grad.numpy().T,
                               rtol=1e-8, atol=1e-10)


def test_simple_rnn_go_backwards_and_initial_state(float64):
    rng = np.random.default_rng(1)
    x, h0 = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 4))
    layer = SimpleRNN(4, return_sequences=True, go_backwards=True)
    seq = layer(Tensor(x), initial_state=[Tensor(h0)])
    k, u, b = layer.get_weights()
    h, expected = h0, []
    for t in reversed(range(7)):  # Keras: processes from the end, outputs in processing order
        h = np.tanh(x[:, t] @ k + h @ u + b)
        expected.append(h)
    np.testing.assert_allclose(to_host(seq.data), np.stack(expected, 1), rtol=1e-12)


def test_gru_reset_after_matches_torch(float64):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 20, 3))
    layer = GRU(4, return_sequences=True)
    seq = layer(Tensor(x))
    k, u, b = layer.get_weights()
    net = torch.nn.GRU(3, 4, batch_first=True).double()

    def torch_order(w):  # Keras [z, r, h] -> torch [r, z, n]
        z, r, n = np.split(w, 3, axis=-1)
        return np.concatenate([r, z, n], axis=-1)

    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(torch_order(k).T))
        net.weight_hh_l0.copy_(torch.tensor(torch_order(u).T))
        b = rng.standard_normal(b.shape)
        layer.set_weights([k, u, b])
        net.bias_ih_l0.copy_(torch.tensor(torch_order(b[0])))
        net.bias_hh_l0.copy_(torch.tensor(torch_order(b[1])))
    seq = layer(Tensor(x))
    np.testing.assert_allclose(to_host(seq.data), net(torch.tensor(x))[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bidirectional_matches_torch(float64):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 3))
    layer = Bidirectional(LSTM(4, return_sequences=True))
    out = layer(Tensor(x))
    net = torch_lstm_from(layer.forward_layer, layer.backward_layer)
    np.testing.assert_allclose(to_host(out.data), net(torch.tensor(x))[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    assert layer.compute_output_shape((None, 9, 3)) == (None, 9, 8)
    assert len(layer.weights) == 6


def test_embedding_mask_matches_packed_sequences(float64):
    rng = np.random.default_rng(4)
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2]])
    emb = Embedding(10, 3, mask_zero=True)
    lstm = LSTM(4, return_sequences=True, return_state=True)
    e = emb(ids)
    assert e.mask.tolist() == (ids != 0).tolist()
    seq, h, c = lstm(e)
    net = torch_lstm_from(lstm)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(to_host(e.data)), [3, 5], batch_first=True,
                                                     enforce_sorted=False)
    tout, (th, tc) = net(packed)
    tseq, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True)
    np.testing.assert_allclose(to_host(seq.data), tseq.detach().numpy(), rtol=1e-10, atol=1e-12)  # zeros where masked
    np.testing.assert_allclose(to_host(h.data), th[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    assert seq.mask is not None


def test_masked_loss_ignores_padding():
    """Changing the labels of padded steps changes nothing: they are not in the loss."""
    ts.backend.set_seed(5)
    model = Sequential([Embedding(6, 4, mask_zero=True, input_shape=(5,)), SimpleRNN(3, return_sequences=True),
                        TimeDistributed(Dense(2, activation="softmax"))])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])
    y1 = np.array([[0, 1, 0, 0, 0], [1, 1, 0, 0, 0]])
    y2 = y1.copy()
    y2[x == 0] = 1
    a, b = model.evaluate(x, y1, verbose=0), model.evaluate(x, y2, verbose=0)
    assert a == pytest.approx(b, rel=1e-7)


def test_masking_layer():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    out = Masking()(x)
    assert out.mask.tolist() == [[True, False, True]]


def test_jordan_network_feeds_back_its_output(float64):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 3))
    layer = JordanRNN(5, output_units=2, return_sequences=True)
    ys = layer(Tensor(x))
    k, u, b, wy, by = layer.get_weights()
    y, expected = np.zeros((2, 2)), []
    for t in range(6):
        h = np.tanh(x[:, t] @ k + y @ u + b)
        z = h @ wy + by
        y = np.exp(z - z.max(-1, keepdims=True))
        y /= y.sum(-1, keepdims=True)
        expected.append(y)
    np.testing.assert_allclose(to_host(ys.data), np.stack(expected, 1), rtol=1e-10)


def test_peephole_lstm_runs_and_learns_shapes():
    layer = LSTM(3, use_peepholes=True)
    out = layer(np.zeros((2, 4, 2), "float32"))
    assert out.shape == (2, 3) and layer.peephole.shape == (3, 3)


def test_repeat_vector_and_time_distributed():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out = RepeatVector(4)(x)
    assert out.shape == (2, 4, 3) and np.array_equal(to_host(out.data[:, 2]), x)
    td = TimeDistributed(Dense(5))
    assert td(np.zeros((2, 4, 3), "float32")).shape == (2, 4, 5)
    assert td.compute_output_shape((None, 4, 3)) == (None, 4, 5)


def test_two_dimensional_input_error():
    with pytest.raises(errors.ShapeError, match=r"expects a 3-D input \(batch, time, features\).*\(None, 28\)"):
        Sequential([LSTM(4, input_shape=(28,))])


def test_initial_state_and_mask_shape_errors():
    layer = LSTM(4)
    with pytest.raises(errors.ShapeError, match="2 initial state"):
        layer(np.zeros((2, 3, 2), "float32"), initial_state=[np.zeros((2, 4), "float32")])
    with pytest.raises(errors.ShapeError, match=r"mask has shape \(2, 4\).*\(2, 3\)"):
        layer(np.zeros((2, 3, 2), "float32"), mask=np.ones((2, 4), bool))


def test_invalid_recurrent_options_say_so():
    with pytest.raises(errors.ConfigError, match="recurrent_dropout"):
        LSTM(4, recurrent_dropout=1.2)
    with pytest.raises(errors.ConfigError, match="stateful"):
        GRU(4).reset_states()


def test_backprop_through_1000_steps():
    layer = SimpleRNN(8)
    x = Tensor(np.random.default_rng(7).standard_normal((2, 1000, 3)).astype("float32"), requires_grad=True)
    layer(x).sum().backward()
    assert np.isfinite(x.grad).all() and np.isfinite(layer.recurrent_kernel.grad).all()


def test_irnn_identity_initializer():
    layer = SimpleRNN(6, activation="relu", recurrent_initializer="identity")
    layer(np.zeros((1, 2, 3), "float32"))
    np.testing.assert_array_equal(to_host(layer.recurrent_kernel.data), np.eye(6))


def test_functional_encoder_decoder_with_states():
    enc_in, dec_in = Input((5, 3)), Input((4, 2))
    _, h, c = LSTM(6, return_state=True)(enc_in)
    seq = LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    model = Model([enc_in, dec_in], TimeDistributed(Dense(2, activation="softmax"))(seq))
    out = model.predict([np.zeros((3, 5, 3)), np.zeros((3, 4, 2))])
    assert out.shape == (3, 4, 2)


def test_config_round_trip_of_recurrent_layers():
    for layer in (LSTM(4, return_sequences=True, go_backwards=True), GRU(3, reset_after=False),
                  SimpleRNN(2, activation="relu"), Bidirectional(GRU(3), merge_mode="sum"),
                  TimeDistributed(Dense(2)), Embedding(10, 3, mask_zero=True), JordanRNN(3, 2)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config


def test_lstm_learns_order_dependent_task():
    """Is the first element bigger than the last? A bag of steps cannot tell; an LSTM can."""
    ts.backend.set_seed(0)
    rng = np.random.default_rng(8)
    x = rng.random((600, 8, 1)).astype("float32")
    y = (x[:, 0, 0] > x[:, -1, 0]).astype("float32")
    model = Sequential([LSTM(16, input_shape=(8, 1)), Dense(1, activation="sigmoid")])
    from threestep.optimizers import Adam

    model.compile(loss="binary_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    model.fit(x[:500], y[:500], epochs=40, batch_size=50, verbose=0)
    assert model.evaluate(x[500:], y[500:], verbose=0)[1] > 0.85
