"""The bad-input table: each case is a call that must raise a threestep error whose message
names the argument, the value received and the fix (shared by tests/test_bad_inputs.py and
the before/after count in benchmarks/bad_inputs_count.py).

A case is ``Case(id, call, error, names)``: ``call()`` makes the bad call (building what
it needs), ``error`` is the threestep exception class expected, and ``names`` the
substrings the message must contain: the argument and the value received. The fix is
checked by ``FIX``: every message must say what to do.
"""
import re
import threading  # noqa: F401  (kept for cases that build threads)
from collections import namedtuple

import numpy as np
import pandas as pd

from threestep import callbacks, layers, optimizers
from threestep.errors import (ArgumentError, ConfigError, DataError, ModelFileError, NotCompiledError,
                              SaveDirectoryMissingError, SaveTargetExistsError, SaveTargetIsDirectoryError, ShapeError)
from threestep.layers import Dense
from threestep.models import Model, Sequential, load_model
from threestep.utils import Sequence

Case = namedtuple("Case", "id call error names")

# What a message must contain to say how to fix the problem.
FIX = re.compile(r"\b(Pass|pass|Use|use|Give|give|Remove|remove|Fix|fix|Leave|Convert|convert|Call|call|Add|add|"
                 r"Reshape|reshape|Make|make|Yield|yield|Rescale|Update|Subclass|Save|save|Create|create|choose|"
                 r"Choose|must be|Valid|Accepted|Known|expects|upgrade|Upgrade|instead|Either|should)\b|\b[eE]\.g\.")

N = 24


def _xy(n=N, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype("float32"), rng.integers(0, classes, n)


def model(compiled=True, optimizer="sgd", loss="sparse_categorical_crossentropy"):
    m = Sequential([Dense(6, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    if compiled:
        m.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return m


def fit(**kwargs):
    x, y = _xy()
    args = {"x": x, "y": y, "verbose": 0, **kwargs}
    return model().fit(**args)


def evaluate(**kwargs):
    x, y = _xy()
    return model().evaluate(**{"x": x, "y": y, "verbose": 0, **kwargs})


def predict(**kwargs):
    x, _ = _xy()
    return model().predict(**{"x": x, **kwargs})


def train_on_batch(x=None, y=None, **kwargs):
    xs, ys = _xy(8)
    m = model()
    m.train_on_batch(xs, ys)
    return m.train_on_batch(xs if x is None else x, ys if y is None else y, **kwargs)


def test_on_batch(x=None, y=None):
    xs, ys = _xy(8)
    return model().test_on_batch(xs if x is None else x, ys if y is None else y)


def _batches(bad_index, bad):
    """Three (x, y) batches of 8; batch ``bad_index`` replaced by ``bad(x, y)``."""
    out = []
    for i in range(3):
        x, y = _xy(8, seed=i)
        out.append(bad(x, y) if i == bad_index else (x, y))
    return out


def fit_generator(bad, bad_index=1, **kwargs):
    return model().fit(iter(_batches(bad_index, bad)), steps_per_epoch=3, verbose=0, **kwargs)


def evaluate_generator(bad, bad_index=2):
    return model().evaluate(iter(_batches(bad_index, bad)), steps=3, verbose=0)


class _Seq(Sequence):
    def __init__(self, bad, bad_index=1):
        self.items = _batches(bad_index, bad)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def fit_sequence(bad, bad_index=1, **kwargs):
    return model().fit(_Seq(bad, bad_index), verbose=0, shuffle=False, workers=0, **kwargs)


def _endless():
    x, y = _xy(8)
    while True:
        yield x, y


def layer_in_model(layer, shape=(4,)):
    m = Sequential([layers.InputLayer(input_shape=shape), layer])
    return m


def _shared_optimizer():
    opt = optimizers.Adam()
    a, b = model(optimizer=opt), model(optimizer=opt)
    x, y = _xy()
    a.fit(x, y, verbose=0)
    return b.fit(x, y, verbose=0)


def _save(path_fn, **kwargs):
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as d:
        return model().save(path_fn(os.path.join(d, "")), **kwargs)


def _existing(directory):
    path = directory + "m.ts"
    model().save(path)
    return path


def _load(write):
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.ts")
        write(path)
        return load_model(path)


def _write(data):
    def write(path):
        with open(path, "wb") as f:
            f.write(data)
    return write


def _truncated(path):
    model().save(path)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


def _saved_then(edit):
    def write(path):
        import json  # noqa: PLC0415
        import zipfile  # noqa: PLC0415

        model().save(path)
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        config = json.loads(members["config.json"])
        edit(config)
        members["config.json"] = json.dumps(config).encode()
        with zipfile.ZipFile(path, "w") as zf:
            for n, d in members.items():
                zf.writestr(n, d)
    return write


def _first_layer(config):
    return config["model"]["config"]["layers"][0]["config"]


X, Y = _xy()
CASES = [
    # ------------------------------------------------------------------ fit: sizes and counts
    Case("fit-batch_size-negative", lambda: fit(batch_size=-5), ConfigError, ["batch_size", "-5"]),
    Case("fit-batch_size-zero", lambda: fit(batch_size=0), ConfigError, ["batch_size", "0"]),
    Case("fit-batch_size-float", lambda: fit(batch_size=2.5), ConfigError, ["batch_size", "2.5"]),
    Case("fit-batch_size-string", lambda: fit(batch_size="32"), ConfigError, ["batch_size", "'32'"]),
    Case("fit-batch_size-bool", lambda: fit(batch_size=True), ConfigError, ["batch_size", "True"]),
    Case("fit-epochs-negative", lambda: fit(epochs=-1), ConfigError, ["epochs", "-1"]),
    Case("fit-epochs-zero", lambda: fit(epochs=0), ConfigError, ["epochs", "0"]),
    Case("fit-epochs-string", lambda: fit(epochs="5"), ConfigError, ["epochs", "'5'"]),
    Case("fit-epochs-float", lambda: fit(epochs=2.5), ConfigError, ["epochs", "2.5"]),
    Case("fit-initial_epoch-negative", lambda: fit(initial_epoch=-1), ConfigError, ["initial_epoch", "-1"]),
    Case("fit-initial_epoch-after-epochs", lambda: fit(epochs=2, initial_epoch=5), ConfigError,
         ["initial_epoch=5", "epochs=2"]),
    Case("fit-steps_per_epoch-negative", lambda: fit(steps_per_epoch=-2), ConfigError, ["steps_per_epoch", "-2"]),
    Case("fit-steps_per_epoch-zero", lambda: fit(steps_per_epoch=0), ConfigError, ["steps_per_epoch", "0"]),
    Case("fit-steps_per_epoch-float", lambda: fit(steps_per_epoch=1.5), ConfigError, ["steps_per_epoch", "1.5"]),
    Case("fit-validation_steps-negative", lambda: fit(validation_data=(X, Y), validation_steps=-1), ConfigError,
         ["validation_steps", "-1"]),
    Case("fit-validation_freq-zero", lambda: fit(validation_split=0.25, validation_freq=0), ConfigError,
         ["validation_freq", "0"]),
    Case("fit-validation_freq-string", lambda: fit(validation_split=0.25, validation_freq="2"), ConfigError,
         ["validation_freq", "'2'"]),
    Case("fit-validation_freq-list-zero", lambda: fit(validation_split=0.25, validation_freq=[0, 2]), ConfigError,
         ["validation_freq", "[0, 2]"]),
    Case("fit-validation_split-negative", lambda: fit(validation_split=-0.1), ConfigError,
         ["validation_split", "-0.1"]),
    Case("fit-validation_split-one", lambda: fit(validation_split=1.0), ConfigError, ["validation_split", "1.0"]),
    Case("fit-validation_split-string", lambda: fit(validation_split="0.2"), ConfigError,
         ["validation_split", "'0.2'"]),
    Case("fit-workers-negative", lambda: fit(workers=-1), ConfigError, ["workers", "-1"]),
    Case("fit-max_queue_size-zero", lambda: fit(max_queue_size=0), ConfigError, ["max_queue_size", "0"]),
    Case("fit-misspelt-epochs", lambda: fit(epoch=3), ArgumentError, ["epoch", "epochs"]),
    Case("fit-misspelt-batch_size", lambda: fit(batchsize=8), ArgumentError, ["batchsize", "batch_size"]),
    Case("fit-misspelt-validation_split", lambda: fit(validation_spilt=0.2), ArgumentError,
         ["validation_spilt", "validation_split"]),
    # ------------------------------------------------------------------ fit: data
    Case("fit-x-none", lambda: model().fit(None, Y, verbose=0), DataError, ["x", "None"]),
    Case("fit-x-strings", lambda: model().fit(np.array([["a"] * 4] * N), Y, verbose=0), DataError, ["x", "<U1"]),
    Case("fit-x-empty", lambda: model().fit(np.zeros((0, 4)), np.zeros(0), verbose=0), DataError, ["x", "0 samples"]),
    Case("fit-x-scalar", lambda: model().fit(np.float32(3), Y, verbose=0), DataError, ["x", "scalar"]),
    Case("fit-x-nan", lambda: fit(x=np.where(np.arange(N * 4).reshape(N, 4) == 9, np.nan, X)), DataError,
         ["x", "NaN", "(2, 1)"]),
    Case("fit-x-inf", lambda: fit(x=np.where(np.arange(N * 4).reshape(N, 4) == 5, np.inf, X)), DataError,
         ["x", "infinite", "(1, 1)"]),
    Case("fit-x-float64-overflow", lambda: fit(x=X.astype("float64") * 1e300), DataError,
         ["x", "float64", "float32", "overflow"]),
    Case("fit-x-wrong-features", lambda: fit(x=np.ones((N, 5), "float32")), ShapeError, ["(None, 4)", "(24, 5)"]),
    Case("fit-x-image-to-dense", lambda: fit(x=np.ones((N, 2, 2, 1), "float32")), ShapeError,
         ["(None, 4)", "(24, 2, 2, 1)"]),
    Case("fit-y-length", lambda: fit(y=Y[:10]), DataError, ["24 samples", "10"]),
    Case("fit-y-label-out-of-range", lambda: fit(y=np.full(N, 7)), DataError, ["labels", "7", "0..2"]),
    Case("fit-y-label-negative", lambda: fit(y=np.full(N, -1)), DataError, ["labels", "-1", "0..2"]),
    Case("fit-y-one-hot-for-sparse", lambda: fit(y=np.eye(3)[Y]), DataError, ["(24, 3)", "one-hot"]),
    Case("fit-y-fractional-for-sparse", lambda: fit(y=Y + 0.5), DataError, ["whole-number", "fractional"]),
    Case("fit-y-nan", lambda: model(loss="mse").fit(X, np.full((N, 3), np.nan), verbose=0), DataError, ["y", "NaN"]),
    Case("fit-y-sparse-for-categorical", lambda: model(loss="categorical_crossentropy").fit(X, Y, verbose=0),
         DataError, ["(24,)", "to_categorical"]),
    Case("fit-y-binary-out-of-range", lambda: Sequential([Dense(1, activation="sigmoid", input_shape=(4,))]).compile(
        "sgd", "binary_crossentropy") or None, None, None),  # placeholder replaced below
    Case("fit-y-wrong-shape-mse", lambda: model(loss="mse").fit(X, np.ones((N, 5)), verbose=0), ShapeError,
         ["(24, 5)", "(None, 3)"]),
    # ------------------------------------------------------------------ fit: weights
    Case("fit-sample_weight-2d", lambda: fit(sample_weight=np.ones((N, 3))), DataError,
         ["sample_weight", "(24, 3)", "(24,)"]),
    Case("fit-sample_weight-length", lambda: fit(sample_weight=np.ones(5)), DataError,
         ["sample_weight", "(5,)", "(24,)"]),
    Case("fit-sample_weight-negative", lambda: fit(sample_weight=-np.ones(N)), DataError,
         ["sample_weight", "-1", ">= 0"]),
    Case("fit-sample_weight-nan", lambda: fit(sample_weight=np.full(N, np.nan)), DataError,
         ["sample_weight", "nan"]),
    Case("fit-sample_weight-strings", lambda: fit(sample_weight=np.array(["a"] * N)), DataError,
         ["sample_weight", "<U1"]),
    Case("fit-class_weight-negative-key", lambda: fit(class_weight={-1: 5.0, 0: 1.0, 1: 1.0, 2: 1.0}), ConfigError,
         ["class_weight", "-1", "0..2"]),
    Case("fit-class_weight-string-key", lambda: fit(class_weight={"0": 5.0}), ConfigError, ["class_weight", "'0'"]),
    Case("fit-class_weight-unknown-class", lambda: fit(class_weight={0: 1.0, 1: 1.0, 2: 1.0, 9: 2.0}), ConfigError,
         ["class_weight", "9", "0..2"]),
    Case("fit-class_weight-negative-weight", lambda: fit(class_weight={0: -1.0, 1: 1.0, 2: 1.0}), ConfigError,
         ["class_weight[0]", "-1.0"]),
    Case("fit-class_weight-nan-weight", lambda: fit(class_weight={0: float("nan"), 1: 1.0, 2: 1.0}), ConfigError,
         ["class_weight[0]", "nan"]),
    Case("fit-class_weight-list", lambda: fit(class_weight=[1.0, 2.0, 3.0]), ConfigError,
         ["class_weight", "[1.0, 2.0, 3.0]"]),
    Case("fit-class_weight-missing-class", lambda: fit(class_weight={0: 1.0}), ConfigError,
         ["class_weight", "[1, 2]"]),
    # ------------------------------------------------------------------ fit: validation data, callbacks
    Case("fit-validation_data-one-item", lambda: fit(validation_data=(X,)), ConfigError,
         ["validation_data", "(x_val, y_val)"]),
    Case("fit-validation_data-wrong-features", lambda: fit(validation_data=(np.ones((4, 5)), Y[:4])), ShapeError,
         ["validation_data", "(4, 5)", "(None, 4)"]),
    Case("fit-validation_data-labels", lambda: fit(validation_data=(X[:4], np.full(4, 9))), DataError,
         ["validation_data", "9", "0..2"]),
    Case("fit-validation_sample_weight-negative", lambda: fit(validation_data=(X[:4], Y[:4], -np.ones(4))),
         DataError, ["validation sample_weight", "-1"]),
    Case("fit-callbacks-object", lambda: fit(callbacks=[object()]), ConfigError, ["callbacks", "object"]),
    Case("fit-callbacks-string", lambda: fit(callbacks="early"), ConfigError, ["callbacks", "'early'"]),
    Case("fit-not-compiled", lambda: model(False).fit(X, Y, verbose=0), NotCompiledError, ["fit", "compile"]),
    Case("fit-shared-optimizer", _shared_optimizer, ConfigError, ["optimizer", "Adam", "already trains"]),
    # ------------------------------------------------------------------ evaluate / predict
    Case("evaluate-batch_size-negative", lambda: evaluate(batch_size=-1), ConfigError, ["batch_size", "-1"]),
    Case("evaluate-batch_size-zero", lambda: evaluate(batch_size=0), ConfigError, ["batch_size", "0"]),
    Case("evaluate-steps-zero", lambda: evaluate(steps=0), ConfigError, ["steps", "0"]),
    Case("evaluate-wrong-features", lambda: evaluate(x=np.ones((N, 5))), ShapeError, ["(None, 4)", "(24, 5)"]),
    Case("evaluate-labels", lambda: evaluate(y=np.full(N, 3)), DataError, ["labels", "3", "0..2"]),
    Case("evaluate-sample_weight-negative", lambda: evaluate(sample_weight=-np.ones(N)), DataError,
         ["sample_weight", "-1"]),
    Case("evaluate-sample_weight-2d", lambda: evaluate(sample_weight=np.ones((N, 2))), DataError,
         ["sample_weight", "(24, 2)"]),
    Case("evaluate-not-compiled", lambda: model(False).evaluate(X, Y, verbose=0), NotCompiledError,
         ["evaluate", "compile"]),
    Case("predict-batch_size-zero", lambda: predict(batch_size=0), ConfigError, ["batch_size", "0"]),
    Case("predict-batch_size-negative", lambda: predict(batch_size=-3), ConfigError, ["batch_size", "-3"]),
    Case("predict-batch_size-string", lambda: predict(batch_size="8"), ConfigError, ["batch_size", "'8'"]),
    Case("predict-steps-negative", lambda: predict(steps=-1), ConfigError, ["steps", "-1"]),
    Case("predict-wrong-features", lambda: predict(x=np.ones((3, 7))), ShapeError, ["(None, 4)", "(3, 7)"]),
    Case("predict-x-none", lambda: predict(x=None), DataError, ["x", "None"]),
    Case("predict-x-object", lambda: predict(x=np.array([object()] * 4)), DataError, ["x", "object"]),
    Case("predict-x-nan", lambda: predict(x=np.full((2, 4), np.nan)), DataError, ["x", "NaN"]),
    # ------------------------------------------------------------------ train_on_batch / test_on_batch
    Case("train_on_batch-wrong-features", lambda: train_on_batch(x=np.ones((8, 5))), ShapeError,
         ["(None, 4)", "(8, 5)"]),
    Case("train_on_batch-label-7", lambda: train_on_batch(y=np.full(8, 7)), DataError, ["labels", "7", "0..2"]),
    Case("train_on_batch-sample_weight-2d", lambda: train_on_batch(sample_weight=np.ones((8, 3))), DataError,
         ["sample_weight", "(8, 3)"]),
    Case("train_on_batch-sample_weight-negative", lambda: train_on_batch(sample_weight=-np.ones(8)), DataError,
         ["sample_weight", "-1"]),
    Case("train_on_batch-length", lambda: train_on_batch(y=np.zeros(3, int)), DataError, ["8 samples", "3"]),
    Case("train_on_batch-nan", lambda: train_on_batch(x=np.full((8, 4), np.nan)), DataError, ["x", "NaN"]),
    Case("test_on_batch-label-7", lambda: test_on_batch(y=np.full(8, 7)), DataError, ["labels", "7"]),
    Case("test_on_batch-wrong-features", lambda: test_on_batch(x=np.ones((8, 2))), ShapeError, ["(8, 2)"]),
    # ------------------------------------------------------------------ generators and Sequence
    Case("generator-batch1-features", lambda: fit_generator(lambda x, y: (np.ones((8, 5), "float32"), y)),
         ShapeError, ["batch 1", "(None, 4)", "(8, 5)"]),
    Case("generator-batch1-labels", lambda: fit_generator(lambda x, y: (x, np.full(8, 7))), DataError,
         ["batch 1", "7", "0..2"]),
    Case("generator-batch2-nan", lambda: fit_generator(lambda x, y: (np.full((8, 4), np.nan), y), 2), DataError,
         ["batch 2", "NaN"]),
    Case("generator-batch1-not-tuple", lambda: fit_generator(lambda x, y: x), DataError,
         ["tuple (x, y)", "ndarray"]),
    Case("generator-batch1-sample_weight", lambda: fit_generator(lambda x, y: (x, y, -np.ones(8))), DataError,
         ["batch 1", "sample_weight", "-1"]),
    Case("generator-batch1-length", lambda: fit_generator(lambda x, y: (x, y[:3])), DataError,
         ["batch 1", "8 samples", "3"]),
    Case("generator-no-steps", lambda: model().fit(_endless(), verbose=0), ConfigError,
         ["steps_per_epoch", "generator"]),
    Case("generator-steps-zero", lambda: model().fit(_endless(), steps_per_epoch=0, verbose=0), ConfigError,
         ["steps_per_epoch", "0"]),
    Case("generator-with-y", lambda: model().fit(_endless(), Y, steps_per_epoch=2, verbose=0), DataError,
         ["y=None", "generator"]),
    Case("generator-validation_split", lambda: model().fit(_endless(), steps_per_epoch=2, validation_split=0.2,
                                                           verbose=0), ConfigError, ["validation_split"]),
    Case("generator-class_weight-bad", lambda: fit_generator(lambda x, y: (x, y), class_weight={"a": 1.0}),
         ConfigError, ["class_weight", "'a'"]),
    Case("evaluate-generator-batch2-labels", lambda: evaluate_generator(lambda x, y: (x, np.full(8, 5))), DataError,
         ["batch 2", "5", "0..2"]),
    Case("sequence-item1-features", lambda: fit_sequence(lambda x, y: (np.ones((8, 6), "float32"), y)), ShapeError,
         ["batch 1", "(8, 6)"]),
    Case("sequence-item2-labels", lambda: fit_sequence(lambda x, y: (x, np.full(8, 4)), 2), DataError,
         ["batch 2", "4", "0..2"]),
    Case("sequence-multiprocessing-generator", lambda: model().fit(_endless(), steps_per_epoch=2,
                                                                   use_multiprocessing=True, verbose=0),
         ConfigError, ["use_multiprocessing", "Sequence"]),
    # ------------------------------------------------------------------ compile
    # compile(loss=None) is Keras's spelling for a model whose loss comes from add_loss alone; without an
    # add_loss term there is nothing to minimise, found at the first training step
    Case("compile-no-loss", lambda: model(loss=None).fit(X, Y, verbose=0), ConfigError, ["loss=None", "add_loss"]),
    Case("compile-no-loss-train_on_batch", lambda: model(loss=None).train_on_batch(X[:8]), ConfigError,
         ["loss=None", "add_loss"]),
    Case("compile-unknown-loss", lambda: model(False).compile("sgd", "msee"), ConfigError, ["loss", "'msee'"]),
    Case("compile-unknown-optimizer", lambda: model(False).compile("sgdd", "mse"), ConfigError,
         ["optimizer", "'sgdd'"]),
    Case("compile-unknown-metric", lambda: model(False).compile("sgd", "mse", metrics=["acuracy"]), ConfigError,
         ["metric", "'acuracy'"]),
    Case("compile-misspelt-metrics", lambda: model(False).compile("sgd", "mse", metric=["accuracy"]), ArgumentError,
         ["metric", "metrics"]),
    Case("compile-optimizer-number", lambda: model(False).compile(0.1, "mse"), ConfigError, ["optimizer", "0.1"]),
    Case("compile-sigmoid-sparse-one-unit", lambda: Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
         .compile("sgd", "sparse_categorical_crossentropy"), ConfigError, ["sigmoid", "binary_crossentropy"]),
    # ------------------------------------------------------------------ layer constructors
    Case("Dense-units-zero", lambda: Dense(0), ConfigError, ["units", "0"]),
    Case("Dense-units-negative", lambda: Dense(-3), ConfigError, ["units", "-3"]),
    Case("Dense-units-float", lambda: Dense(2.5), ConfigError, ["units", "2.5"]),
    Case("Dense-units-string", lambda: Dense("3"), ConfigError, ["units", "'3'"]),
    Case("Dense-activation-unknown", lambda: Dense(3, activation="relu6x"), ConfigError, ["activation", "'relu6x'"]),
    Case("Dense-activaton-typo", lambda: Dense(3, activaton="relu"), ArgumentError, ["activaton", "activation"]),
    Case("Dense-kernel_initializer-typo", lambda: Dense(3, kernel_initializer="glorot_unifrom"), ConfigError,
         ["initializer", "'glorot_unifrom'"]),
    Case("Dense-kernel_regularizer-unknown", lambda: Dense(3, kernel_regularizer="l3"), ConfigError,
         ["regularizer", "'l3'"]),
    Case("Dense-input_dim-zero", lambda: Dense(3, input_dim=0), ConfigError, ["input_dim", "0"]),
    Case("Dense-input_dim-negative", lambda: Dense(3, input_dim=-2), ConfigError, ["input_dim", "-2"]),
    Case("Dense-input_dim-float", lambda: Dense(3, input_dim=4.5), ConfigError, ["input_dim", "4.5"]),
    Case("Dense-input_shape-negative", lambda: Dense(3, input_shape=(-4,)), ConfigError, ["input_shape", "-4"]),
    Case("Dense-input_shape-zero", lambda: Dense(3, input_shape=(0,)), ConfigError, ["input_shape", "(0,)"]),
    Case("Dense-input_shape-string", lambda: Dense(3, input_shape="abc"), ConfigError, ["input_shape", "'abc'"]),
    Case("Dense-batch_input_shape-no-axes", lambda: Dense(3, batch_input_shape=(None,)), ConfigError,
         ["batch_input_shape", "(None,)"]),
    Case("Dense-batch_size-negative", lambda: Dense(3, input_shape=(4,), batch_size=-1), ConfigError,
         ["batch_size", "-1"]),
    Case("Dense-dtype-object", lambda: Dense(3, dtype="object"), ConfigError, ["dtype", "'object'"]),
    Case("Dense-dtype-U8", lambda: Dense(3, dtype="U8"), ConfigError, ["dtype", "'U8'"]),
    Case("Dense-dtype-int", lambda: Dense(3, dtype="int32"), ConfigError, ["dtype", "'int32'"]),
    Case("Dense-use_bais-typo", lambda: Dense(3, use_bais=False), ArgumentError, ["use_bais", "use_bias"]),
    Case("Conv2D-filters-zero", lambda: layers.Conv2D(0, 3), ConfigError, ["filters", "0"]),
    Case("Conv2D-kernel_size-zero", lambda: layers.Conv2D(8, 0), ConfigError, ["kernel_size", "0"]),
    Case("Conv2D-padding-typo", lambda: layers.Conv2D(8, 3, padding="sme"), ConfigError, ["padding", "'sme'"]),
    Case("Conv2D-strides-zero", lambda: layers.Conv2D(8, 3, strides=0), ConfigError, ["strides", "0"]),
    Case("Conv2D-activation-typo", lambda: layers.Conv2D(8, 3, activaton="relu"), ArgumentError,
         ["activaton", "activation"]),
    Case("Conv1D-filters-negative", lambda: layers.Conv1D(-1, 3), ConfigError, ["filters", "-1"]),
    Case("MaxPooling2D-pool_size-zero", lambda: layers.MaxPooling2D(pool_size=0), ConfigError, ["pool_size", "0"]),
    Case("MaxPooling1D-padding", lambda: layers.MaxPooling1D(padding="full"), ConfigError, ["padding", "'full'"]),
    Case("AveragePooling2D-strides-negative", lambda: layers.AveragePooling2D(strides=-1), ConfigError,
         ["strides", "-1"]),
    Case("Dropout-rate-above-one", lambda: layers.Dropout(1.5), ConfigError, ["rate", "1.5"]),
    Case("Dropout-rate-negative", lambda: layers.Dropout(-0.1), ConfigError, ["rate", "-0.1"]),
    Case("LSTM-units-zero", lambda: layers.LSTM(0), ConfigError, ["units", "0"]),
    Case("LSTM-dropout-two", lambda: layers.LSTM(4, dropout=2), ConfigError, ["dropout", "2"]),
    Case("GRU-units-string", lambda: layers.GRU("4"), ConfigError, ["units", "'4'"]),
    Case("SimpleRNN-units-negative", lambda: layers.SimpleRNN(-1), ConfigError, ["units", "-1"]),
    Case("Embedding-input_dim-zero", lambda: layers.Embedding(0, 4), ConfigError, ["input_dim", "0"]),
    Case("Embedding-output_dim-zero", lambda: layers.Embedding(10, 0), ConfigError, ["output_dim", "0"]),
    Case("Activation-unknown", lambda: layers.Activation("nope"), ConfigError, ["activation", "'nope'"]),
    Case("Reshape-negative", lambda: layers.Reshape((-2, 3)), ConfigError, ["target_shape", "-2"]),
    Case("Maxout-pieces-zero", lambda: layers.Maxout(4, 0), ConfigError, ["0"]),
    Case("RepeatVector-zero", lambda: layers.RepeatVector(0), ConfigError, ["n", "0"]),
    Case("UpSampling2D-size-zero", lambda: layers.UpSampling2D(0), ConfigError, ["size", "0"]),
    Case("ZeroPadding2D-negative", lambda: layers.ZeroPadding2D(-1), ConfigError, ["padding", "-1"]),
    Case("Cropping1D-negative", lambda: layers.Cropping1D(-1), ConfigError, ["cropping", "-1"]),
    Case("BatchNormalization-momentum", lambda: layers.BatchNormalization(momentum=1.5), ConfigError,
         ["momentum", "1.5"]),
    Case("LeakyReLU-alpha-string", lambda: layers.LeakyReLU(alpha="a"), ConfigError, ["alpha", "'a'"]),
    Case("Concatenate-axis-string", lambda: layers.Concatenate(axis="x"), ConfigError, ["axis", "'x'"]),
    Case("Sequential-duplicate-names", lambda: Sequential([Dense(3, input_shape=(4,), name="d"), Dense(3, name="d")]),
         ConfigError, ["'d'", "unique"]),
    Case("Model-duplicate-names", lambda: _functional_duplicate(), ConfigError, ["'twin'", "unique"]),
    Case("Sequential-add-class", lambda: Sequential().add(Dense), ConfigError, ["Dense", "parentheses"]),
    # ------------------------------------------------------------------ callbacks
    Case("EarlyStopping-patience-negative", lambda: callbacks.EarlyStopping(patience=-1), ConfigError,
         ["patience", "-1"]),
    Case("EarlyStopping-min_delta-string", lambda: callbacks.EarlyStopping(min_delta="a"), ConfigError,
         ["min_delta", "'a'"]),
    Case("EarlyStopping-patience-float", lambda: callbacks.EarlyStopping(patience=1.5), ConfigError,
         ["patience", "1.5"]),
    Case("ReduceLROnPlateau-patience-negative", lambda: callbacks.ReduceLROnPlateau(patience=-1), ConfigError,
         ["patience", "-1"]),
    Case("ReduceLROnPlateau-min_lr-negative", lambda: callbacks.ReduceLROnPlateau(min_lr=-1), ConfigError,
         ["min_lr", "-1"]),
    Case("ReduceLROnPlateau-cooldown-negative", lambda: callbacks.ReduceLROnPlateau(cooldown=-1), ConfigError,
         ["cooldown", "-1"]),
    Case("CSVLogger-filename-none", lambda: callbacks.CSVLogger(None), ConfigError, ["filename", "None"]),
    Case("ModelCheckpoint-filepath-none", lambda: callbacks.ModelCheckpoint(None), ConfigError,
         ["filepath", "None"]),
    Case("ModelCheckpoint-save_freq-zero", lambda: callbacks.ModelCheckpoint("m.ts", save_freq=0), ConfigError,
         ["save_freq", "0"]),
    Case("TensorBoard-histogram_freq-negative", lambda: callbacks.TensorBoard(histogram_freq=-1), ConfigError,
         ["histogram_freq", "-1"]),
    Case("LambdaCallback-not-callable", lambda: callbacks.LambdaCallback(on_epoch_end=5), ConfigError,
         ["on_epoch_end", "5"]),
    Case("ReduceLROnPlateau-factor", lambda: callbacks.ReduceLROnPlateau(factor=1.5), ConfigError, ["factor", "1.5"]),
    Case("LearningRateScheduler-not-callable", lambda: callbacks.LearningRateScheduler("step"), ConfigError,
         ["schedule", "'step'"]),
    Case("ModelCheckpoint-misspelt", lambda: callbacks.ModelCheckpoint("m.ts", save_best=True), ArgumentError,
         ["save_best", "save_best_only"]),
    Case("EarlyStopping-misspelt", lambda: callbacks.EarlyStopping(patiance=3), ArgumentError,
         ["patiance", "patience"]),
    # ------------------------------------------------------------------ save / load
    Case("save-missing-directory", lambda: _save(lambda d: d + "no/such/dir/m.ts"), SaveDirectoryMissingError,
         ["no/such/dir", "does not exist"]),
    Case("save-directory-path", lambda: _save(lambda d: d), SaveTargetIsDirectoryError, ["is a directory"]),
    Case("save-overwrite-false", lambda: _save(_existing, overwrite=False), SaveTargetExistsError,
         ["overwrite=False"]),
    Case("save_weights-missing-directory", lambda: model().save_weights("/nonexistent-threestep-dir/w.st"),
         SaveDirectoryMissingError, ["/nonexistent-threestep-dir", "does not exist"]),
    Case("load-empty-file", lambda: _load(_write(b"")), ModelFileError, ["m.ts", "empty"]),
    Case("load-text-file", lambda: _load(_write(b"hello, this is text\n")), ModelFileError, ["m.ts"]),
    Case("load-truncated", lambda: _load(_truncated), ModelFileError, ["m.ts"]),
    Case("load-layers-number", lambda: _load(_saved_then(lambda c: c["model"]["config"].update(layers=5))),
         ModelFileError, ["m.ts", "config.json"]),
    Case("load-negative-shape", lambda: _load(_saved_then(
        lambda c: _first_layer(c).update(batch_input_shape=[None, -4]))), ModelFileError,
         ["m.ts", "batch_input_shape", "-4"]),
    Case("load-dtype-object", lambda: _load(_saved_then(lambda c: _first_layer(c).update(dtype="object"))),
         ModelFileError, ["m.ts", "dtype", "'object'"]),
    Case("load-string-learning-rate", lambda: _load(_saved_then(
        lambda c: c["compile"]["optimizer"]["config"].update(learning_rate="fast"))), ModelFileError,
         ["m.ts", "learning_rate", "fast"]),
    Case("load-unknown-loss", lambda: _load(_saved_then(lambda c: c["compile"].update(loss="hinge2"))),
         ModelFileError, ["m.ts", "'hinge2'"]),
    Case("load-unknown-metric", lambda: _load(_saved_then(lambda c: c["compile"].update(metrics=["f7"]))),
         ModelFileError, ["m.ts", "'f7'"]),
    Case("load-custom_objects-list", lambda: load_model("x.ts", custom_objects=[1]), ConfigError,
         ["custom_objects", "[1]"]),
]


def _functional_duplicate():
    inp = layers.Input((4,))
    return Model(inp, Dense(2, name="twin")(Dense(3, name="twin")(inp)))


def _binary_out_of_range():
    m = Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
    m.compile("sgd", "binary_crossentropy")
    return m.fit(X, np.full(N, 2.0), verbose=0)


CASES = [c if c.id != "fit-y-binary-out-of-range" else
         Case(c.id, _binary_out_of_range, DataError, ["[0, 1]", "2"]) for c in CASES]

def _with_add_loss():
    """A model compiled with loss=None whose loss is a Model.add_loss term (Keras's VAE pattern)."""
    from threestep.keras import backend as K  # noqa: PLC0415

    inp = layers.Input((4,))
    out = Dense(4)(inp)
    m = Model(inp, out)
    m.add_loss(K.mean(K.square(inp - out)))
    m.compile("sgd")
    return m


# Valid but unusual inputs that must keep working: (id, call) returning normally.
VALID = [
    ("float16-x", lambda: fit(x=X.astype("float16"))),
    ("float64-x", lambda: fit(x=X.astype("float64"))),
    ("int-x", lambda: fit(x=(X * 10).astype("int32"))),
    ("bool-x", lambda: fit(x=X > 0)),
    ("uint8-labels", lambda: fit(y=Y.astype("uint8"))),
    ("float-labels", lambda: fit(y=Y.astype("float32"))),
    ("list-x-y", lambda: fit(x=X.tolist(), y=Y.tolist())),
    ("batch-larger-than-data", lambda: fit(batch_size=1000)),
    ("predict-batch-larger-than-data", lambda: predict(batch_size=1000)),
    ("sample_weight-n-by-1", lambda: fit(sample_weight=np.ones((N, 1)))),
    ("sample_weight-zeros-some", lambda: fit(sample_weight=np.r_[np.zeros(4), np.ones(N - 4)])),
    ("class_weight-numpy-keys", lambda: fit(class_weight={np.int64(0): 1.0, np.int64(1): 2.0, np.int64(2): 1.0})),
    ("class_weight-balanced", lambda: fit(class_weight="balanced")),
    ("validation_freq-list", lambda: fit(validation_split=0.25, validation_freq=[1, 2], epochs=2)),
    ("epochs-numpy-int", lambda: fit(epochs=np.int64(2))),
    ("batch_size-numpy-int", lambda: fit(batch_size=np.int32(8))),
    ("input_shape-int", lambda: Dense(3, input_shape=4)),
    ("compile-no-loss-with-add_loss", lambda: _with_add_loss().fit(X, verbose=0)),
    ("train_on_batch-list", lambda: train_on_batch(x=X[:8].tolist(), y=Y[:8].tolist())),
    ("pandas-frame-and-series", lambda: fit(x=pd.DataFrame(X, columns=list("abcd")), y=pd.Series(Y))),
    ("pandas-float64-frame-label-frame", lambda: fit(x=pd.DataFrame(X.astype("float64")), y=pd.Series(Y).to_frame())),
    ("pandas-predict", lambda: predict(x=pd.DataFrame(X))),
    ("pandas-evaluate-with-weights", lambda: evaluate(x=pd.DataFrame(X), y=pd.Series(Y),
                                                      sample_weight=pd.Series(np.ones(N)))),
]
