"""Bad inputs: every public entry point raises a clear threestep.errors exception."""
import warnings

import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.layers import Activation, Dense, Flatten
from threestep.models import Sequential
from threestep.models.checks import ThreestepHint
from threestep.optimizers import SGD


def mlp(out=3, activation="softmax", loss="categorical_crossentropy", input_dim=4):
    model = Sequential([Dense(8, activation="relu", input_dim=input_dim), Dense(out, activation=activation)])
    model.compile(loss=loss, optimizer=SGD(0.1), metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((20, 4)).astype("float32")
Y1H = np.eye(3)[np.arange(20) % 3]


def test_x_and_y_lengths_differ():
    with pytest.raises(errors.DataError, match="same number of samples.*20.*19"):
        mlp().fit(X, Y1H[:19], verbose=0)


def test_feature_size_mismatch_names_the_layer():
    model = mlp()
    with pytest.raises(errors.ShapeError, match=r"layer 'dense_\d+' \(Dense\) expects input of shape \(None, 4\).*\(20, 5\)"):
        model.fit(np.zeros((20, 5)), Y1H, verbose=0)


def test_images_into_dense_suggests_flatten():
    model = Sequential([Dense(8, input_dim=16), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(errors.ShapeError, match="Flatten"):
        model.fit(np.zeros((20, 4, 4)), Y1H, verbose=0)


def test_integer_labels_with_categorical_crossentropy():
    with pytest.raises(errors.DataError, match="sparse_categorical_crossentropy.*to_categorical"):
        mlp().fit(X, np.arange(20) % 3, verbose=0)


@pytest.mark.parametrize("where", ["x", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_data(where, bad):
    x, y = X.copy(), Y1H.copy()
    (x if where == "x" else y)[3, 1] = bad
    with pytest.raises(errors.DataError, match=rf"{where} contains 1 NaN or infinite value.*\(3, 1\)"):
        mlp().fit(x, y, verbose=0)


def test_empty_data():
    with pytest.raises(errors.DataError, match="empty"):
        mlp().fit(np.zeros((0, 4)), np.zeros((0, 3)), verbose=0)


@pytest.mark.parametrize("kind,kwargs,valid", [
    ("loss", {"loss": "msee"}, "'mse'"),
    ("optimizer", {"loss": "mse", "optimizer": "sgdd"}, "'sgd'"),
    ("metric", {"loss": "mse", "optimizer": "sgd", "metrics": ["acuracy"]}, "'accuracy'"),
])
def test_unknown_names_list_the_valid_ones(kind, kwargs, valid):
    model = Sequential([Dense(3, input_dim=4)])
    with pytest.raises(errors.ConfigError, match=f"Unknown {kind}.*Valid {kind} names are:.*{valid}"):
        model.compile(**kwargs)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(errors.ConfigError, match="Unknown activation: 'rellu'.*'relu'"):
        Dense(3, activation="rellu")
    with pytest.raises(errors.ConfigError, match="Unknown activation"):
        Activation("sigmod")


def test_fit_before_compile():
    model = Sequential([Dense(3, input_dim=4)])
    with pytest.raises(errors.NotCompiledError, match="compile"):
        model.fit(X, Y1H, verbose=0)
    with pytest.raises(errors.NotCompiledError):
        model.evaluate(X, Y1H, verbose=0)


def test_summary_and_count_before_the_input_shape_is_known():
    model = Sequential([Dense(3), Dense(2)])
    with pytest.raises(errors.NotBuiltError, match="input_shape"):
        model.summary()
    with pytest.raises(errors.NotBuiltError):
        model.count_params()


def test_predict_on_a_model_with_no_layers():
    with pytest.raises(errors.NotBuiltError):
        Sequential().predict(X)


def test_wrong_size_is_reported_at_add_time():
    model = Sequential([Dense(500, input_dim=784)])
    with pytest.raises(errors.ShapeError, match="declares input shape \\(300,\\).*outputs \\(500,\\)"):
        model.add(Dense(10, input_dim=300))


def test_add_a_class_instead_of_a_layer():
    with pytest.raises(errors.ConfigError, match="parentheses"):
        Sequential().add(Dense)


def test_summary_works_before_fit_when_shape_known(capsys):
    model = Sequential([Dense(500, input_dim=784), Activation("sigmoid"), Dense(10)])
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 500)" in out and "392500" in out and "Total params: 397,510" in out


def test_softmax_with_binary_crossentropy():
    with pytest.raises(errors.ConfigError, match="softmax over 1 unit"):
        mlp(out=1, loss="binary_crossentropy")
    with pytest.warns(ThreestepHint, match="categorical_crossentropy"):
        mlp(out=3, loss="binary_crossentropy")


def test_sigmoid_with_categorical_crossentropy():
    with pytest.warns(ThreestepHint, match="softmax"):
        mlp(out=3, activation="sigmoid", loss="categorical_crossentropy")
    with pytest.raises(errors.ConfigError, match="binary_crossentropy"):
        mlp(out=1, activation="sigmoid", loss="categorical_crossentropy")


def test_preflight_also_runs_when_the_shape_arrives_with_fit():
    model = Sequential([Dense(8), Dense(3, activation="sigmoid")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.warns(ThreestepHint, match="sigmoid output"):
        model.fit(X, Y1H, verbose=0)


def test_labels_outside_the_output_units():
    with pytest.raises(errors.DataError, match=r"labels must be in 0..2.*found labels from 0 to 9"):
        mlp(loss="sparse_categorical_crossentropy").fit(X, np.arange(20) % 10, verbose=0)


def test_binary_crossentropy_targets_outside_zero_one():
    with pytest.raises(errors.DataError, match=r"\[0, 1\]"):
        mlp(out=1, activation="sigmoid", loss="binary_crossentropy").fit(X, np.arange(20) % 3, verbose=0)


def test_label_shape_mismatch_mentions_output():
    with pytest.raises(errors.ShapeError, match=r"labels y have shape \(20, 5\).*\(None, 3\)"):
        mlp().fit(X, np.eye(5)[np.arange(20) % 5], verbose=0)


def test_mse_on_softmax_is_allowed_with_a_one_time_hint():
    from threestep.models import checks

    checks._HINTED.discard("mse")
    model = mlp(loss="mse")
    with pytest.warns(ThreestepHint, match="cross-entropy"):
        model.fit(X, Y1H, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ThreestepHint)
        model.fit(X, Y1H, verbose=0)  # only once per process


def test_non_numeric_data():
    with pytest.raises(errors.DataError, match="numeric"):
        mlp().fit(np.array([["a"] * 4] * 20), Y1H, verbose=0)


def test_unexpected_fit_keyword():
    with pytest.raises(TypeError, match="epocs"):
        mlp().fit(X, Y1H, epocs=3)


def test_set_weights_wrong_shape_names_layer():
    model = mlp()
    w = model.get_weights()
    w[0] = np.zeros((5, 8))
    with pytest.raises(errors.ShapeError, match=r"dense_\d+/kernel.*\(4, 8\).*\(5, 8\)"):
        model.set_weights(w)


def test_flatten_then_dense_builds():
    model = Sequential([Flatten(input_shape=(4, 4)), Dense(3)])
    assert model.output_shape == (None, 3)


def test_nonfinite_loss_stops_training_with_epoch_and_batch(capsys):
    model = Sequential([Dense(16, activation="relu", input_dim=4), Dense(1)])
    model.compile(loss="mse", optimizer=SGD(1e8))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match=r"Epoch 1, batch \d+: the loss is (nan|inf)"):
        history = model.fit(X, np.full(20, 1e3), batch_size=4, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 1  # stopped in the first epoch
    assert all(np.isfinite(w).all() for w in model.get_weights())  # last finite weights kept


def test_debug_numerics_names_the_layer_of_a_backward_overflow():
    from threestep import ops

    # sqrt is finite at 0 but its derivative is not: the forward pass is fine, backward is not
    # (abs'(0) * inf = nan; a ReLU would pass 0 there, as PyTorch's does).
    model = Sequential([Dense(4, activation=lambda t: ops.sqrt(ops.abs(t)), input_dim=4, name="rooty"), Dense(1)])
    model.compile(loss="mse", optimizer=SGD(0.01))
    model.layers[0].set_weights([np.zeros((4, 4)), np.zeros(4)])
    with np.errstate(all="ignore"), pytest.raises(errors.NumericsError, match="backward.*'rooty'"):
        model.fit(X, np.ones(20), verbose=0, debug_numerics=True)
