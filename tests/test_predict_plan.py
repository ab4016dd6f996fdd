"""``predict``'s planned forward pass (``models.predict_plan``): the same outputs, bit for bit, as
the pass through Tensors and ``Layer.invoke``, for every layer it runs on arrays and every
case where it must step aside (masks, a user's subclass, layers added later, new weights)."""
import numpy as np
import pytest

from threestep import backend, layers as L
from threestep.autograd import Tensor, no_grad, using_config
from threestep.models import Sequential

RNG = np.random.default_rng(0)


def unplanned(model, x):
    """The forward pass ``predict`` ran before it had a plan."""
    with no_grad(), using_config("training", False):
        return backend.to_numpy(model.forward(Tensor(x), training=False).data)


def built(layers, shape):
    model = Sequential(layers)
    model.build((None,) + shape)
    for layer in model.layers:  # nonzero biases and moving statistics: every term shows
        layer.set_weights([RNG.standard_normal(w.shape).astype(w.dtype) * 0.5 for w in layer.get_weights()])
    return model


def moving_variance_positive(model):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            weights = layer.get_weights()
            weights[-1] = np.abs(weights[-1]) + 0.1
            layer.set_weights(weights)


CASES = {
    "dense relu / softmax": ([L.Dense(7, activation="relu"), L.Dense(3, activation="softmax")], (5,)),
    "dense sigmoid / tanh / linear": ([L.Dense(6, activation="sigmoid"), L.Dense(6, activation="tanh"),
                                       L.Dense(2)], (5,)),
    "dense without bias": ([L.Dense(4, use_bias=False, activation="relu"), L.Dense(3, use_bias=False)], (5,)),
    "lecture spelling": ([L.Dense(7), L.Activation("relu"), L.Dense(3), L.Activation("softmax")], (5,)),
    "activation layers": ([L.Activation("relu"), L.Dense(4), L.Activation("sigmoid"), L.Activation("linear"),
                           L.Activation("tanh"), L.Dense(2, activation="elu")], (5,)),
    "dropout and flatten": ([L.Flatten(), L.Dropout(0.5), L.Dense(4, activation="relu"), L.Dropout(0.3),
                             L.Dense(2, activation="softmax")], (3, 4)),
    "dense over steps": ([L.Dense(4, activation="relu"), L.Dense(2, activation="softmax")], (6, 5)),
    "lecture CNN": ([L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(5, 3), L.Activation("relu"),
                     L.MaxPooling2D(2), L.Flatten(), L.Dense(6, activation="relu"), L.Dense(3, activation="softmax")],
                    (14, 14, 1)),
    "batch norm and LSTM": ([L.BatchNormalization(), L.LSTM(5), L.Dense(3, activation="softmax")], (6, 4)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_predict_equals_the_unplanned_pass_bit_for_bit(name):
    layers, shape = CASES[name]
    model = built(layers, shape)
    moving_variance_positive(model)
    x = RNG.standard_normal((9,) + shape).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, batch_size=9), unplanned(model, x))


def test_predict_leaves_its_input_as_it_was():
    model = built([L.Activation("relu"), L.Dense(3, activation="relu"), L.Activation("softmax")], (4,))
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    before = x.copy()
    model.predict(x)
    np.testing.assert_array_equal(x, before)


def test_new_weights_and_new_layers_between_predicts_are_used():
    model = built([L.Dense(4, activation="relu"), L.Dense(3)], (5,))
    x = RNG.standard_normal((6, 5)).astype(np.float32)
    first = model.predict(x)
    kernel, bias = model.layers[1].get_weights()
    model.layers[1].set_weights([kernel * 2, bias * 2])
    np.testing.assert_array_equal(model.predict(x), first * 2)
    model.add(L.Activation("softmax"))
    out = model.predict(x)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out, unplanned(model, x))
    model.pop()
    np.testing.assert_array_equal(model.predict(x), first * 2)


def test_a_subclass_of_dense_runs_its_own_call():
    class Doubled(L.Dense):
        def call(self, x, training=None):
            return super().call(x) * 2.0

    model = built([Doubled(3)], (4,))
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(model.predict(x), (x @ kernel + bias) * 2, rtol=1e-5, atol=1e-6)


def test_a_mask_from_a_layer_leaves_the_plan_and_reaches_the_lstm():
    model = Sequential([L.Embedding(10, 4, mask_zero=True), L.LSTM(3), L.Dense(2, activation="softmax")])
    model.build((None, None))
    tokens = np.array([[3, 4, 0, 0, 0], [3, 4, 5, 6, 7]], dtype=np.float32)
    padded_out = model.predict(tokens)
    # the masked steps are skipped: the first row ends as the two-token sequence does
    np.testing.assert_allclose(padded_out[0], model.predict(tokens[:1, :2])[0], rtol=1e-5)
    np.testing.assert_array_equal(model.predict(tokens), unplanned(model, tokens))


def test_a_masking_layer_before_dense_over_steps():
    model = built([L.Masking(0.0), L.Dense(3, activation="relu"), L.GlobalAveragePooling1D()], (None, 2))
    x = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    x[0, 2:] = 0.0
    out = model.predict(x)
    np.testing.assert_allclose(out[0], model.predict(x[:1, :2])[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.predict(x), unplanned(model, x))


def test_float64_models_predict_in_float64():
    backend.set_floatx("float64")
    try:
        model = built([L.Dense(4, activation="relu"), L.Dense(2, activation="softmax")], (3,))
        x = RNG.standard_normal((4, 3))
        out = model.predict(x)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, unplanned(model, x))
    finally:
        backend.set_floatx("float32")


def test_a_subclass_with_its_own_call_is_not_merged_with_the_relu_after_it():
    """``Dense`` then ``Activation("relu")`` run as one fused node, but not for a subclass whose
    ``call`` is its own: that code must run, in predict and in training."""
    class Shifted(L.Dense):
        def call(self, x, training=None):
            return super().call(x) - 1.0

    model = built([Shifted(3), L.Activation("relu")], (4,))
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    kernel, bias = model.layers[0].get_weights()
    expected = np.maximum(x @ kernel + bias - 1.0, 0)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    with using_config("training", True):
        out = model.forward(Tensor(x), training=True).numpy()
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-5, atol=1e-6)


def test_a_model_built_by_its_first_batch_is_planned_from_the_next(monkeypatch):
    from threestep.models import predict_plan

    model = Sequential([L.Dense(4, activation="relu"), L.Dense(2)])  # no input shape: built at the first batch
    x = RNG.standard_normal((6, 3)).astype(np.float32)
    planned = []
    real = predict_plan._make

    def counting(m):
        plan = real(m)
        planned.append(plan is not None)
        return plan
    monkeypatch.setattr(predict_plan, "_make", counting)
    out = model.predict(x, batch_size=2)
    assert planned[-1] is True and any(planned)  # the later batches ran planned
    np.testing.assert_array_equal(out, unplanned(model, x))
