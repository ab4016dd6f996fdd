"""Keras 2.3 import paths under threestep.keras: every path module imports, names resolve
lazily to threestep's layers, missing names raise NotSupportedError naming the feature;
lowercase merge helpers, Sequential.predict_classes / predict_proba, bilinear UpSampling2D
(against tf-keras), plot_model / model_to_dot and get_file."""
import hashlib
import importlib
import os

import numpy as np
import pytest

from threestep.errors import ConfigError, DatasetError, NotSupportedError
from threestep.utils.vis import GraphvizUnavailableError

from keras_oracle import import_tf_keras

LAYER_PATHS = ["core", "convolutional", "convolutional_recurrent", "cudnn_recurrent", "pooling",
               "recurrent", "normalization", "embeddings", "merge", "wrappers",
               "advanced_activations", "noise", "local"]
MODULE_PATHS = ["losses", "metrics", "callbacks", "optimizers", "models", "utils", "datasets",
                "preprocessing", "preprocessing.sequence", "preprocessing.text",
                
                "preprocessing.image", "applications", "applications.vgg16", "applications.vgg19",
                "applications.resnet50", "applications.resnet", "applications.inception_v3",
                "applications.mobilenet", "wrappers", "wrappers.scikit_learn", "utils.np_utils", "utils.data_utils", "utils.vis_utils"]


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


@pytest.mark.parametrize("path", [f"layers.{p}" for p in LAYER_PATHS] + MODULE_PATHS)
def test_every_keras_path_imports_and_star_import_works(path):
    module = importlib.import_module(f"threestep.keras.{path}")
    namespace = {}
    exec(f"from threestep.keras.{path} import *", namespace)  # noqa: S102  (never stops at a missing name)
    for name in getattr(module, "__all__", []):
        assert name in namespace


@pytest.mark.parametrize("path, name, cls", [
    ("core", "Dense", "Dense"), ("core", "Activation", "Activation"), ("core", "Flatten", "Flatten"),
    ("core", "Dropout", "Dropout"), ("core", "Reshape", "Reshape"), ("core", "RepeatVector", "RepeatVector"),
    ("core", "Conv2D", "Conv2D"),  # Keras 1 code imported layers from core
    ("convolutional", "Conv2D", "Conv2D"), ("convolutional", "Convolution2D", "Convolution2D"),
    ("convolutional", "ZeroPadding2D", "ZeroPadding2D"), ("convolutional", "UpSampling2D", "UpSampling2D"),
    ("convolutional", "Cropping1D", "Cropping1D"),
    ("pooling", "MaxPooling2D", "MaxPooling2D"), ("pooling", "MaxPool2D", "MaxPooling2D"),
    ("pooling", "GlobalAvgPool2D", "GlobalAveragePooling2D"),
    ("recurrent", "LSTM", "LSTM"), ("recurrent", "SimpleRNN", "SimpleRNN"), ("recurrent", "GRU", "GRU"),
    ("normalization", "BatchNormalization", "BatchNormalization"), ("embeddings", "Embedding", "Embedding"),
    ("merge", "Concatenate", "Concatenate"), ("merge", "Minimum", "Minimum"),
    ("wrappers", "TimeDistributed", "TimeDistributed"), ("wrappers", "Bidirectional", "Bidirectional"),
    ("advanced_activations", "LeakyReLU", "LeakyReLU"), ("advanced_activations", "PReLU", "PReLU"),
])
def test_layer_paths_resolve_to_threestep_layers(path, name, cls):
    import threestep.layers  # noqa: PLC0415

    module = importlib.import_module(f"threestep.keras.layers.{path}")
    assert getattr(module, name) is getattr(threestep.layers, cls)
    assert name in dir(module) or path == "core"


def test_missing_keras_names_raise_not_supported_naming_feature_and_alternative():
    with pytest.raises(NotSupportedError, match=r"CuDNNLSTM.*Instead, use LSTM"):
        from threestep.keras.layers.cudnn_recurrent import CuDNNLSTM  # noqa: F401
    import threestep.layers  # noqa: PLC0415
    from threestep.keras import _paths  # noqa: PLC0415

    checked = 0
    for path in LAYER_PATHS:  # every Keras name a path lists that threestep lacks (yet)
        module = importlib.import_module(f"threestep.keras.layers.{path}")
        for name in module.__dir__():
            target = _paths.ALIASES.get(name, name)
            if name[0].isupper() and not hasattr(threestep.layers, name) \
                    and not hasattr(threestep.layers, target):
                with pytest.raises(NotSupportedError, match=rf"keras\.layers\.{path}\.{name}: .*Instead, use"):
                    getattr(module, name)
                checked += 1
    assert checked >= 2  # at least CuDNNGRU and CuDNNLSTM
    with pytest.raises(NotSupportedError, match=r"MaxoutDense.*Maxout"):
        from threestep.keras.layers.core import MaxoutDense  # noqa: F401
    with pytest.raises(NotSupportedError, match=r"model_from_yaml.*to_json"):
        from threestep.keras.models import model_from_yaml  # noqa: F401
    with pytest.raises(NotSupportedError, match=r"keras.layers.InputSpec"):
        from threestep.keras.layers import InputSpec  # noqa: F401
    # NotSupportedError is a NotImplementedError (never an AttributeError, which `from x
    # import y` would turn into a bare "cannot import name").
    assert issubclass(NotSupportedError, NotImplementedError)
    assert not issubclass(NotSupportedError, AttributeError)


def test_unknown_names_are_plain_import_errors():
    with pytest.raises(ImportError):
        from threestep.keras.layers.pooling import NoSuchLayer  # noqa: F401
    with pytest.raises(ImportError):
        from threestep.keras.layers import NoSuchLayer  # noqa: F401,F811


def test_layers_added_later_appear_under_their_keras_path(monkeypatch):
    import threestep.layers  # noqa: PLC0415
    from threestep.layers import Layer  # noqa: PLC0415

    class CuDNNGRU(Layer):  # a Keras name threestep.layers does not define
        def call(self, x, training=None):
            return x

    monkeypatch.setattr(threestep.layers, "CuDNNGRU", CuDNNGRU, raising=False)
    from threestep.keras.layers.cudnn_recurrent import CuDNNGRU as found  # noqa: PLC0415
    from threestep.keras.layers import CuDNNGRU as top  # noqa: PLC0415

    assert found is CuDNNGRU and top is CuDNNGRU
    assert "CuDNNGRU" in threestep.keras.layers.cudnn_recurrent.__all__


@pytest.mark.parametrize("helper, cls", [("add", "Add"), ("subtract", "Subtract"), ("multiply", "Multiply"),
                                         ("average", "Average"), ("maximum", "Maximum"),
                                         ("minimum", "Minimum"), ("concatenate", "Concatenate")])
def test_lowercase_merge_helpers_match_tf_keras(keras, helper, cls):
    from threestep.keras import layers as L  # noqa: PLC0415
    from threestep.keras.models import Model  # noqa: PLC0415

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 4)).astype("float32"), rng.normal(size=(5, 4)).astype("float32")
    ia, ib = L.Input((4,)), L.Input((4,))
    out = getattr(L, helper)([ia, ib])
    assert type(out.node.layer).__name__ == cls
    ours = Model([ia, ib], out).predict([a, b])
    ka, kb = keras.layers.Input((4,)), keras.layers.Input((4,))
    theirs = keras.Model([ka, kb], getattr(keras.layers, helper)([ka, kb])).predict([a, b], verbose=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_dot_helper_needs_the_dot_layer():
    import threestep.layers  # noqa: PLC0415
    from threestep.keras.layers import Input, dot  # noqa: PLC0415

    a, b = Input((3,)), Input((3,))
    if not hasattr(threestep.layers, "Dot"):
        with pytest.raises(NotSupportedError, match="Dot"):
            dot([a, b], axes=1)
    else:
        assert dot([a, b], axes=1).shape == (None, 1)


def test_predict_classes_and_proba_follow_keras_2(keras):
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415

    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)).astype("float32")
    multi = Sequential([Dense(4, input_dim=3, activation="softmax")])
    p = multi.predict(x)
    np.testing.assert_array_equal(multi.predict_proba(x), p)
    np.testing.assert_array_equal(multi.predict_classes(x), p.argmax(-1))
    single = Sequential([Dense(1, input_dim=3, activation="sigmoid")])
    classes = single.predict_classes(x)
    assert classes.shape == (20, 1) and classes.dtype == np.int32
    np.testing.assert_array_equal(classes, (single.predict(x) > 0.5).astype("int32"))
    assert 0 < classes.sum() < 20  # both classes occur: the threshold is really applied


@pytest.mark.parametrize("size, data_format, shape", [((2, 2), "channels_last", (2, 3, 4, 2)),
                                                      ((3, 2), "channels_last", (1, 5, 3, 3)),
                                                      ((2, 3), "channels_first", (2, 2, 4, 3))])
def test_upsampling2d_bilinear_matches_tf_keras(keras, size, data_format, shape):
    from threestep.keras.layers import UpSampling2D  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415

    x = np.random.default_rng(2).normal(size=shape).astype("float32")
    ours = Sequential([UpSampling2D(size, data_format=data_format, interpolation="bilinear",
                                    input_shape=shape[1:])])
    theirs = keras.layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear")
    np.testing.assert_allclose(ours.predict(x), theirs(x).numpy(), rtol=1e-5, atol=1e-6)
    assert ours.layers[0].get_config()["interpolation"] == "bilinear"


def test_bilinear_resize_gradient_matches_finite_differences():
    from threestep.autograd import Tensor  # noqa: PLC0415
    from threestep.backend import to_numpy  # noqa: PLC0415
    from threestep.ops import resize_bilinear  # noqa: PLC0415

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4, 2))
    w = rng.normal(size=(2, 7, 6, 2))
    t = Tensor(x.copy(), requires_grad=True)
    (resize_bilinear(t, (7, 6)) * Tensor(w)).sum().backward()
    eps, numeric = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        for sign in (1, -1):
            xs = x.copy()
            xs[i] += sign * eps
            numeric[i] += sign * (resize_bilinear(Tensor(xs), (7, 6)).numpy() * w).sum() / (2 * eps)
    np.testing.assert_allclose(to_numpy(t.grad), numeric, rtol=1e-6, atol=1e-7)


def test_upsampling_rejects_unknown_interpolation():
    from threestep.keras.layers import UpSampling1D, UpSampling2D  # noqa: PLC0415

    with pytest.raises(ConfigError, match="interpolation"):
        UpSampling2D(interpolation="bicubic")
    with pytest.raises(ConfigError, match="interpolation"):
        UpSampling1D(interpolation="bilinear")


def _small_functional():
    from threestep.keras.layers import Dense, Input, add  # noqa: PLC0415
    from threestep.keras.models import Model  # noqa: PLC0415

    inp = Input((4,), name="features")
    hidden = Dense(4, name="hidden")(inp)
    return Model(inp, add([inp, hidden], name="residual"))


def test_plot_model_draws_png_and_dot(tmp_path):
    from threestep.keras.utils import model_to_dot, plot_model  # noqa: PLC0415

    model = _small_functional()
    dot = model_to_dot(model, show_shapes=True)
    text = dot.to_string()
    for label in ("features: InputLayer", "hidden: Dense", "residual: Add", "(?, 4)"):
        assert label in text
    assert text.count("->") == 3  # input->hidden, input->residual, hidden->residual
    plot_model(model, to_file=str(tmp_path / "model.png"), show_shapes=True)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_model(model, to_file=str(tmp_path / "model.dot"))
    assert "hidden: Dense" in (tmp_path / "model.dot").read_text()


def test_plot_model_sequential_chain():
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415
    from threestep.keras.utils import model_to_dot  # noqa: PLC0415

    model = Sequential([Dense(3, input_dim=2, name="a"), Dense(1, name="b")])
    text = model_to_dot(model, show_layer_names=True, rankdir="LR").to_string()
    assert "a: Dense" in text and "b: Dense" in text and text.count("->") == 1


def test_plot_model_without_pydot_or_graphviz_says_how_to_install(monkeypatch, tmp_path):
    import sys  # noqa: PLC0415

    from threestep.keras.utils import plot_model  # noqa: PLC0415

    model = _small_functional()
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(GraphvizUnavailableError, match="pip install pydot"):
        plot_model(model, to_file=str(tmp_path / "m.png"))
    monkeypatch.delitem(sys.modules, "pydot")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program on the PATH
    with pytest.raises(GraphvizUnavailableError, match="apt-get install graphviz"):
        plot_model(model, to_file=str(tmp_path / "m.png"))


def test_get_file_downloads_checks_and_caches(tmp_path):
    from threestep.keras.utils import get_file  # noqa: PLC0415

    payload = b"threestep" * 100
    source = tmp_path / "server" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    origin = source.as_uri()
    sha = hashlib.sha256(payload).hexdigest()
    path = get_file("data.bin", origin=origin, file_hash=sha, cache_dir=str(tmp_path / "cache"))
    assert path == str(tmp_path / "cache" / "datasets" / "data.bin")
    assert open(path, "rb").read() == payload
    source.unlink()  # cached: no second download
    assert get_file("data.bin", origin=origin, file_hash=sha, cache_dir=str(tmp_path / "cache")) == path
    with pytest.raises(DatasetError, match="cannot download"):
        get_file("other.bin", origin=origin, cache_dir=str(tmp_path / "cache"))
    source.write_bytes(b"tampered")
    with pytest.raises(DatasetError, match="expected"):
        get_file("bad.bin", origin=origin, file_hash=sha, cache_dir=str(tmp_path / "cache"))
    assert not os.path.exists(tmp_path / "cache" / "datasets" / "bad.bin")


def test_get_file_extracts_tar_archives(tmp_path):
    import tarfile  # noqa: PLC0415

    from threestep.keras.utils import get_file  # noqa: PLC0415

    folder = tmp_path / "src" / "bundle"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("hello")
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="bundle")
    path = get_file("bundle", origin=archive.as_uri(), untar=True, cache_dir=str(tmp_path / "c"))
    assert open(os.path.join(path, "a.txt")).read() == "hello"


def test_text_hashing_trick_and_one_hot_match_tf_keras(keras):
    from threestep.keras.preprocessing.text import hashing_trick, one_hot  # noqa: PLC0415

    text = "The cat sat on the mat. The END!"
    for n in (5, 50):
        assert hashing_trick(text, n, "md5") == keras.preprocessing.text.hashing_trick(text, n, "md5")
        assert one_hot(text, n) == keras.preprocessing.text.one_hot(text, n)  # same process, same hash
    assert all(1 <= i < 5 for i in hashing_trick(text, 5, "md5"))


def test_missing_sequence_helpers_raise_not_supported():
    with pytest.raises(NotSupportedError, match="TimeseriesGenerator.*Sequence"):
        from threestep.keras.preprocessing.sequence import TimeseriesGenerator  # noqa: F401
    from threestep.keras.preprocessing.sequence import pad_sequences  # noqa: PLC0415

    assert pad_sequences([[1, 2], [3]]).tolist() == [[1, 2], [0, 3]]


def test_bilinear_upsampling_trains_on_the_cupy_code_path(fake_cupy):
    from threestep import backend  # noqa: PLC0415
    from threestep.keras.layers import Conv2D, UpSampling2D  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415

    rng = np.random.default_rng(4)
    x, y = rng.random((4, 3, 3, 2), dtype=np.float32), rng.random((4, 6, 6, 1), dtype=np.float32)
    model = Sequential([UpSampling2D(interpolation="bilinear", input_shape=(3, 3, 2)), Conv2D(1, 1)])
    model.compile("sgd", "mse")
    expected = model.predict(x)
    try:
        model.to("gpu")
        assert backend.backend_name() == "cupy"
        np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
        model.fit(x, y, epochs=1, verbose=0)
    finally:
        model.to("cpu")
