"""Every public layer class through ``layer_test`` (tests/layer_harness.py).

The table names each layer class exported by ``threestep.layers`` with small constructor
arguments and an input shape; a new public layer fails ``test_every_public_layer_is_in_the_table``
until it joins the table.
"""
import numpy as np
import pytest

import threestep.layers as L
from threestep.keras.backend import tanh
from threestep.utils import get_custom_objects
from layer_harness import LayerCase, layer_test

B = 3  # batch


def harness_scaled_tanh(x):
    """The Lambda row's function, registered by name so from_config and load_model find it."""
    return 2.0 * tanh(x)


get_custom_objects()["harness_scaled_tanh"] = harness_scaled_tanh

CASES = {
    L.Dense: LayerCase(lambda: {"units": 4, "activation": "tanh"}, (B, 5), trainable=2),
    L.Activation: LayerCase(lambda: {"activation": "sigmoid"}, (B, 5)),
    L.Flatten: LayerCase(lambda: {}, (B, 2, 3)),
    L.Reshape: LayerCase(lambda: {"target_shape": (3, 2)}, (B, 6)),
    L.RepeatVector: LayerCase(lambda: {"n": 3}, (B, 4)),
    L.Dropout: LayerCase(lambda: {"rate": 0.5}, (B, 5)),
    L.Masking: LayerCase(lambda: {"mask_value": 0.0}, (B, 4, 3)),
    L.Embedding: LayerCase(lambda: {"input_dim": 7, "output_dim": 3}, (B, 4), trainable=1, int_inputs=7),
    L.ELU: LayerCase(lambda: {"alpha": 0.7}, (B, 5)),
    L.LeakyReLU: LayerCase(lambda: {"alpha": 0.2}, (B, 5)),
    L.PReLU: LayerCase(lambda: {"alpha_initializer": "ones"}, (B, 5), trainable=1),
    L.ReLU: LayerCase(lambda: {"max_value": 6.0, "negative_slope": 0.1}, (B, 5)),
    L.Softmax: LayerCase(lambda: {}, (B, 5)),
    L.ThresholdedReLU: LayerCase(lambda: {"theta": 0.5}, (B, 5)),
    L.Maxout: LayerCase(lambda: {"units": 3, "pieces": 2}, (B, 4), trainable=2),
    L.BatchNormalization: LayerCase(lambda: {}, (B, 4), trainable=2, non_trainable=2, gradcheck_training=True),
    L.Conv1D: LayerCase(lambda: {"filters": 2, "kernel_size": 2, "activation": "relu"}, (B, 5, 3), trainable=2),
    L.Conv2D: LayerCase(lambda: {"filters": 2, "kernel_size": 2, "padding": "same"}, (B, 4, 4, 2), trainable=2),
    L.Convolution1D: LayerCase(lambda: {"filters": 2, "kernel_size": 3}, (B, 5, 2), trainable=2),
    L.Convolution2D: LayerCase(lambda: {"filters": 2, "kernel_size": 2, "strides": 2}, (B, 4, 4, 1), trainable=2),
    L.MaxPooling1D: LayerCase(lambda: {"pool_size": 2}, (B, 4, 2)),
    L.MaxPooling2D: LayerCase(lambda: {"pool_size": 2}, (B, 4, 4, 2)),
    L.AveragePooling1D: LayerCase(lambda: {"pool_size": 2}, (B, 4, 2)),
    L.AveragePooling2D: LayerCase(lambda: {"pool_size": 2, "padding": "same"}, (B, 3, 3, 2)),
    L.GlobalMaxPooling1D: LayerCase(lambda: {}, (B, 4, 2)),
    L.GlobalMaxPooling2D: LayerCase(lambda: {}, (B, 3, 3, 2)),
    L.GlobalAveragePooling1D: LayerCase(lambda: {}, (B, 4, 2)),
    L.GlobalAveragePooling2D: LayerCase(lambda: {"keepdims": True}, (B, 3, 3, 2)),
    L.Cropping1D: LayerCase(lambda: {"cropping": 1}, (B, 5, 2)),
    L.Cropping2D: LayerCase(lambda: {"cropping": ((1, 0), (0, 1))}, (B, 4, 4, 2)),
    L.ZeroPadding1D: LayerCase(lambda: {"padding": 1}, (B, 3, 2)),
    L.ZeroPadding2D: LayerCase(lambda: {"padding": (1, 2)}, (B, 3, 3, 1)),
    L.UpSampling1D: LayerCase(lambda: {"size": 2}, (B, 3, 2)),
    L.UpSampling2D: LayerCase(lambda: {"size": (2, 1)}, (B, 2, 3, 1)),
    L.SimpleRNN: LayerCase(lambda: {"units": 3, "return_sequences": True}, (B, 4, 2), trainable=3),
    L.LSTM: LayerCase(lambda: {"units": 3}, (B, 4, 2), trainable=3),
    L.RNN: LayerCase(lambda: {"cell": [L.LSTMCell(3), L.GRUCell(2)], "return_sequences": True}, (B, 4, 2),
                     trainable=6),
    L.GRU: LayerCase(lambda: {"units": 3, "return_sequences": True}, (B, 4, 2), trainable=3),
    L.JordanRNN: LayerCase(lambda: {"units": 3, "output_units": 2}, (B, 4, 2), trainable=5),
    L.Bidirectional: LayerCase(lambda: {"layer": L.SimpleRNN(2)}, (B, 4, 3), trainable=6),
    L.TimeDistributed: LayerCase(lambda: {"layer": L.Dense(2)}, (B, 4, 3), trainable=2),
    L.Add: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Subtract: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Multiply: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Average: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Maximum: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Concatenate: LayerCase(lambda: {"axis": -1}, [(B, 4), (B, 2)]),
    L.Minimum: LayerCase(lambda: {}, [(B, 4), (B, 4)]),
    L.Dot: LayerCase(lambda: {"axes": -1, "normalize": True}, [(B, 4), (B, 4)]),
    L.Permute: LayerCase(lambda: {"dims": (2, 1)}, (B, 3, 4)),
    L.LayerNormalization: LayerCase(lambda: {}, (B, 3, 4), trainable=2),
    L.ActivityRegularization: LayerCase(lambda: {"l1": 0.01, "l2": 0.01}, (B, 4)),
    L.Lambda: LayerCase(lambda: {"function": harness_scaled_tanh}, (B, 4)),
    L.Attention: LayerCase(lambda: {"use_scale": True}, [(B, 2, 4), (B, 3, 4)], trainable=1),
    L.AdditiveAttention: LayerCase(lambda: {}, [(B, 2, 4), (B, 3, 4)], trainable=1),
    # noise layers: identity at inference (the gradient check's mode), and no weights to train
    L.GaussianNoise: LayerCase(lambda: {"stddev": 0.5}, (B, 4)),
    L.GaussianDropout: LayerCase(lambda: {"rate": 0.3}, (B, 4)),
    L.AlphaDropout: LayerCase(lambda: {"rate": 0.3}, (B, 4)),
    L.SpatialDropout1D: LayerCase(lambda: {"rate": 0.5}, (B, 4, 3)),
    L.SpatialDropout2D: LayerCase(lambda: {"rate": 0.5}, (B, 3, 3, 2)),
    L.SpatialDropout3D: LayerCase(lambda: {"rate": 0.5}, (B, 2, 2, 2, 2)),
    L.Conv3D: LayerCase(lambda: {"filters": 2, "kernel_size": 2}, (B, 3, 3, 3, 2), trainable=2),
    L.Conv1DTranspose: LayerCase(lambda: {"filters": 2, "kernel_size": 3, "strides": 2}, (B, 3, 2), trainable=2),
    L.Conv2DTranspose: LayerCase(lambda: {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
                                 (B, 3, 3, 2), trainable=2),
    L.Conv3DTranspose: LayerCase(lambda: {"filters": 2, "kernel_size": 2}, (B, 2, 2, 2, 1), trainable=2),
    L.DepthwiseConv2D: LayerCase(lambda: {"kernel_size": 2, "depth_multiplier": 2}, (B, 4, 4, 2), trainable=2),
    L.SeparableConv1D: LayerCase(lambda: {"filters": 3, "kernel_size": 2}, (B, 5, 2), trainable=3),
    L.SeparableConv2D: LayerCase(lambda: {"filters": 3, "kernel_size": 2, "padding": "same"}, (B, 4, 4, 2),
                                 trainable=3),
    L.LocallyConnected1D: LayerCase(lambda: {"filters": 2, "kernel_size": 2}, (B, 5, 3), trainable=2),
    L.LocallyConnected2D: LayerCase(lambda: {"filters": 2, "kernel_size": 2}, (B, 4, 4, 2), trainable=2),
    L.ConvLSTM2D: LayerCase(lambda: {"filters": 2, "kernel_size": 2, "return_sequences": True},
                            (B, 3, 4, 4, 1), trainable=3),
    L.MaxPooling3D: LayerCase(lambda: {"pool_size": 2}, (B, 4, 4, 4, 2)),
    L.AveragePooling3D: LayerCase(lambda: {"pool_size": 2, "padding": "same"}, (B, 3, 3, 3, 2)),
    L.GlobalMaxPooling3D: LayerCase(lambda: {}, (B, 3, 3, 3, 2)),
    L.GlobalAveragePooling3D: LayerCase(lambda: {}, (B, 3, 3, 3, 2)),
}

# Exported classes that are not run through layer_test, and why.
NOT_IN_HARNESS = {
    L.Layer: "the abstract base class (its call raises NotImplementedError; tested below)",
    L.SimpleRNNCell: "one time step with states, not a layer on sequences: covered by the RNN(cell) row",
    L.LSTMCell: "one time step with states, not a layer on sequences: covered by the RNN(cell) row",
    L.GRUCell: "one time step with states, not a layer on sequences: covered by the RNN(cell) row",
    L.StackedRNNCells: "cells stacked into one cell, not a layer on sequences: covered by the RNN(cell) row",
    L.InputLayer: "a placeholder for a model's input, never called on data (tested below)",
}


def public_layer_classes():
    classes = {}
    for name in L.__all__:
        obj = getattr(L, name)
        if isinstance(obj, type) and issubclass(obj, L.Layer):
            classes.setdefault(obj, name)
    return classes


def test_every_public_layer_is_in_the_table():
    missing = [name for cls, name in public_layer_classes().items() if cls not in CASES and cls not in NOT_IN_HARNESS]
    assert not missing, (f"public layers without a row in tests/test_layer_harness.py CASES: {missing}. Add one "
                         "(constructor arguments, input shape, weight counts).")
    stale = [cls.__name__ for cls in CASES if cls not in public_layer_classes()]
    assert not stale, f"table rows for classes threestep.layers no longer exports: {stale}"


@pytest.mark.parametrize("cls", list(CASES), ids=lambda cls: cls.__name__)
def test_layer(cls, tmp_path):
    layer_test(cls, CASES[cls], tmp_path)


def test_base_layer_and_input_layer():
    with pytest.raises(NotImplementedError, match="Layer.call"):
        L.Layer()(np.zeros((2, 3), "float32"))
    from threestep.models import Sequential

    model = Sequential([L.InputLayer(input_shape=(3,)), L.Dense(2)])
    assert model.predict(np.zeros((4, 3), "float32"), verbose=0).shape == (4, 2)
    config = L.InputLayer(input_shape=(3,), name="in").get_config()
    assert L.InputLayer.from_config(config).get_config() == config


def test_harness_catches_a_wrong_compute_output_shape(tmp_path):
    """The harness must fail for a layer whose declared output shape is wrong."""

    class WrongShape(L.Layer):
        def call(self, x, training=None):
            return x

        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    with pytest.raises(AssertionError, match="compute_output_shape"):
        layer_test(WrongShape, LayerCase(lambda: {}, (B, 4)), tmp_path)


def test_harness_catches_a_wrong_backward(tmp_path):
    """... and for a layer whose backward is wrong (here: the gradient of x*x given as x)."""
    from threestep.autograd import Function

    class BadSquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0].data

    class Square(L.Layer):
        def call(self, x, training=None):
            return BadSquare()(x)

    from layer_harness import check_gradients

    with pytest.raises(AssertionError, match="finite differences"):
        check_gradients(Square, LayerCase(lambda: {}, (B, 4)), np.random.default_rng(0))
