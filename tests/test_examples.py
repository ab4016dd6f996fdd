"""The examples run from the command line and print their metric (small settings here;
the full runs' figures are in the README)."""
import numpy as np

from helpers import load_example

load = load_example


def test_go_policy_net_finds_captures_on_the_unseen_half(capsys):
    go = load("go_policy_net")
    results = go.main(["--train", "400", "--test", "60", "--epochs", "3"])
    left, right = results["CNN (no pooling)"]
    assert right >= 0.8, results  # the pattern detector works where it never saw the pattern
    out = capsys.readouterr().out
    assert "unseen half" in out


def test_go_positions_have_exactly_one_capture():
    go = load("go_policy_net")
    rng = np.random.default_rng(1)
    for _ in range(5):
        planes, target = go.make_position(rng, (0, 10))
        board = planes[..., 0] - planes[..., 1]
        assert go.atari_targets(board.astype(np.int8)) == {divmod(int(target), go.SIZE)}
    model = go.policy_network(8)
    assert [layer.output_shape[1:] for layer in model.layers[:2]] == [(23, 23, 48), (19, 19, 8)]
    assert model.output_shape == (None, 361)


def test_mnist1d_data_and_cnn(capsys):
    from threestep.datasets import mnist1d

    (x_train, y_train), (x_test, y_test) = mnist1d.load_data()
    assert x_train.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert tuple(y_train[:10]) == mnist1d.FIRST_TRAIN_LABELS
    example = load("mnist1d_cnn")
    accuracy = example.main(["--epochs", "3"])
    assert accuracy > 0.4  # 3 epochs; the full 150 reach ~0.94 (README)
    assert "test accuracy" in capsys.readouterr().out


def test_attention_translation_example(capsys):
    scores = load("attention_translation").main(["--train", "300", "--test", "40", "--epochs", "2", "--units", "16",
                                                 "--max-len", "8"])
    assert set(scores) == {"plain", "attention"}
    out = capsys.readouterr().out
    assert "alignment for" in out and "token accuracy" in out


def test_structure_search_example(capsys):
    accuracy = load("structure_search").main(["--trials", "3", "--epochs", "2", "--population", "2",
                                              "--storage", "memory"])
    assert 0 <= accuracy <= 1
    assert "best structure:" in capsys.readouterr().out
