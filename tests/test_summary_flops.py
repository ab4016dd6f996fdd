"""model.summary(): FLOPs per layer (2 per multiply-add) and memory estimates, by hand."""
from threestep.layers import (
    LSTM, Activation, BatchNormalization, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPooling2D, SimpleRNN,
)
from threestep.models import Sequential
from threestep.models.summary import layer_flops, layer_memory, model_flops


def test_dense_flops_by_hand():
    model = Sequential([Dense(500, input_dim=784), Dense(10, activation="relu")])
    assert layer_flops(model.layers[0]) == 2 * 784 * 500  # linear: no activation cost
    assert layer_flops(model.layers[1]) == 2 * 500 * 10 + 10  # + one FLOP per ReLU output
    assert model_flops(model) == 2 * 784 * 500 + 2 * 500 * 10 + 10


def test_conv2d_flops_by_hand():
    model = Sequential([Conv2D(25, (3, 3), input_shape=(28, 28, 1)),
                        Conv2D(50, (3, 3), strides=2, padding="same", activation="relu")])
    assert layer_flops(model.layers[0]) == 2 * (3 * 3 * 1) * 25 * (26 * 26)
    assert layer_flops(model.layers[1]) == 2 * (3 * 3 * 25) * 50 * (13 * 13) + 50 * 13 * 13
    first = Sequential([Conv2D(4, 2, input_shape=(3, 5, 5), data_format="channels_first")])
    assert layer_flops(first.layers[0]) == 2 * (2 * 2 * 3) * 4 * (4 * 4)


def test_cheap_layers_and_recurrent_layers():
    model = Sequential([Conv2D(2, 3, input_shape=(6, 6, 1)), BatchNormalization(), Activation("tanh"),
                        MaxPooling2D(2), GlobalAveragePooling2D()])
    elements = 4 * 4 * 2  # the conv's output
    assert [layer_flops(layer) for layer in model.layers[1:]] == [2 * elements, elements, (2 * 2 * 2) * 4, 2 * 2 * 2]
    rnn = Sequential([SimpleRNN(4, input_shape=(7, 3)), Dense(2)])
    assert layer_flops(rnn.layers[0]) == 7 * (2 * (3 * 4 + 4 * 4) + 4)
    lstm = Sequential([LSTM(4, input_shape=(7, 3))])
    assert layer_flops(lstm.layers[0]) == 7 * (2 * (3 * 16 + 4 * 16) + 16)
    free = Sequential([LSTM(4, input_shape=(None, 3))])
    assert layer_flops(free.layers[0]) is None


def test_memory_estimates():
    model = Sequential([Conv2D(25, 3, input_shape=(28, 28, 1)), Flatten(), Dense(10)])
    assert layer_memory(model.layers[0]) == ((3 * 3 * 25 + 25) * 4, 26 * 26 * 25 * 4)
    assert layer_memory(model.layers[1]) == (0, 26 * 26 * 25 * 4)


def test_summary_prints_flops_column_and_footer(capsys):
    model = Sequential([Dense(500, input_dim=784, activation="sigmoid"), Dense(10, activation="softmax")])
    model.summary()
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("Layer (type)"))
    assert header.split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "FLOPs"]
    dense_row = next(line for line in lines if line.startswith(model.layers[0].name))
    assert dense_row.split()[-2:] == ["392500", f"{2 * 784 * 500 + 500:,}"]
    total = 2 * 784 * 500 + 500 + 2 * 500 * 10 + 10
    assert f"FLOPs per sample (forward): {total:,} (794.51 KFLOPs)" in out
    assert "Total params: 397,510" in out
    assert f"Parameter memory: {397510 * 4 / 1024 ** 2:.2f} MiB" in out
    assert f"Activation memory per sample (layer outputs): {(500 + 10) * 4 / 1024:.2f} KiB" in out
    widths = {len(line) for line in lines if set(line) <= {"_", "="} and line}
    assert len(widths) == 1  # every rule has the table's width
    assert len(header) <= widths.pop()
