"""keras.applications: the architectures against tf-keras's own (weights=None): parameter
counts, layer output shapes, and the forward pass with copied weights; the ImageNet weight
files' lookup and offline errors; preprocess_input; the clear errors."""
import json
import sys
import types
import urllib.error

import numpy as np
import pytest

import threestep.layers
from threestep.errors import ConfigError, DatasetError, NotSupportedError
from threestep.keras import applications as apps
from threestep.keras.applications import _common

from keras_oracle import import_tf_keras


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache and no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    return tmp_path / "keras_home"


def count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def test_vgg_parameter_counts_and_shapes_match_tf_keras(keras):
    for name, kwargs in (("VGG16", {"include_top": True, "input_shape": (32, 32, 3), "classes": 10}),
                         ("VGG19", {"include_top": False, "pooling": "max", "input_shape": (48, 40, 3)})):
        if True:
            ours = getattr(apps, name)(weights=None, **kwargs)
            theirs = getattr(keras.applications, name)(weights=None, **kwargs)
            assert ours.count_params() == theirs.count_params(), (name, kwargs)
            assert tuple(ours.output_shape) == tuple(theirs.output_shape)
            assert [layer.name for layer in ours.layers if layer.count_params()] == \
                   [layer.name for layer in theirs.layers if layer.count_params()]


def test_vgg16_top_is_keras_famous_138_million(keras):
    """VGG16 with the ImageNet top: 138,357,544 parameters (the convolutions counted on a
    built model, the 224x224 top computed from its layer sizes, both as tf-keras builds)."""
    convs = apps.VGG16(weights=None, include_top=False).count_params()
    top = 7 * 7 * 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert convs + top == 138_357_544
    assert keras.applications.VGG16(weights=None, include_top=False).count_params() == convs


def copy_weights(ours, theirs):
    copied = 0
    for layer in theirs.layers:
        if layer.get_weights():
            ours.get_layer(layer.name).set_weights(layer.get_weights())
            copied += 1
    return copied


@pytest.mark.slow
def test_resnet50_matches_tf_keras_counts_shapes_and_outputs(keras):
    # With the top (global average pooling), the count does not depend on the input size.
    small = {"input_shape": (32, 32, 3)}
    ours, theirs = apps.ResNet50(weights=None, **small), keras.applications.ResNet50(weights=None, **small)
    assert ours.count_params() == theirs.count_params() == 25_636_712
    for name in ("conv1_relu", "pool1_pool", "conv2_block3_out", "conv3_block4_out", "conv5_block3_out"):
        assert tuple(ours.get_layer(name).output_shape) == tuple(theirs.get_layer(name).output_shape)
    rng = np.random.default_rng(0)
    for layer in theirs.layers:  # non-trivial batch-norm statistics, so inference differs from training
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n), rng.normal(0, 0.1, n),
                               rng.uniform(0.5, 1.5, n)])
    assert copy_weights(ours, theirs) == 107  # 53 convolutions, 53 batch norms, the classifier
    x = rng.uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_inception_v3_matches_tf_keras_shapes_and_trainable_parameters(keras):
    ours, theirs = apps.InceptionV3(weights=None), keras.applications.InceptionV3(weights=None)
    assert tuple(ours.output_shape) == (None, 1000)
    for i in range(11):
        name = f"mixed{i}"
        assert tuple(ours.get_layer(name).output_shape) == tuple(theirs.get_layer(name).output_shape), name
    # Parameters agree exactly: BatchNormalization(scale=False) has no gamma in either.
    assert count(ours.trainable_weights) == count(theirs.trainable_weights) == 23_817_352
    assert ours.count_params() == theirs.count_params() == 23_851_784
    notop = apps.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    assert tuple(notop.output_shape) == tuple(
        keras.applications.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3)).output_shape)


def test_mobilenet_matches_tf_keras_or_names_the_missing_layer(keras):
    if not hasattr(threestep.layers, "DepthwiseConv2D"):
        with pytest.raises(NotSupportedError, match="MobileNet needs the layer DepthwiseConv2D"):
            apps.MobileNet(weights=None)
        return
    for kwargs in ({}, {"alpha": 0.5, "include_top": False, "input_shape": (64, 64, 3), "pooling": "avg"}):
        ours, theirs = apps.MobileNet(weights=None, **kwargs), keras.applications.MobileNet(weights=None, **kwargs)
        assert ours.count_params() == theirs.count_params()
        assert tuple(ours.output_shape) == tuple(theirs.output_shape)
    assert apps.MobileNet(weights=None).count_params() == 4_253_864


def test_transfer_learning_with_input_tensor_and_model_surgery():
    from threestep.keras.layers import Dense, Input  # noqa: PLC0415
    from threestep.keras.models import Model  # noqa: PLC0415

    inp = Input((32, 32, 3))
    base = apps.VGG16(weights=None, include_top=False, input_tensor=inp, pooling="avg")
    assert base.inputs[0] is inp
    head = Dense(2, activation="softmax")(base.outputs[0])
    model = Model(inp, head)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).uniform(size=(2, 32, 32, 3)).astype("float32")
    assert model.predict(x).shape == (2, 2)
    np.testing.assert_allclose(Model(inp, base.outputs[0]).predict(x), base.predict(x), rtol=1e-6)


def test_imagenet_weights_offline_say_where_to_put_the_file(offline):
    with pytest.raises(DatasetError) as info:
        apps.VGG16(include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(offline / "models") in message
    assert "storage.googleapis.com/tensorflow/keras-applications/vgg16/" in message
    assert "weights='<path" in message


def test_imagenet_weights_are_read_by_the_keras_h5_reader(offline, monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("threestep.interop.keras_h5")
    fake.load_weights_h5 = lambda model, path: calls.append((model.name, path))
    monkeypatch.setitem(sys.modules, "threestep.interop.keras_h5", fake)
    cached = offline / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    monkeypatch.setattr("threestep.keras.applications._resnet.HASHES", (None, None))
    apps.ResNet50(include_top=False, input_shape=(32, 32, 3))
    assert calls == [("resnet50", str(cached))]
    own = tmp_path / "mine.h5"
    own.write_bytes(b"x")
    apps.VGG19(weights=str(own), include_top=False)
    assert calls[-1] == ("vgg19", str(own))
    fake2 = types.ModuleType("threestep.interop.keras_h5")  # the reader's other spelling
    fake2.load_weights = lambda model, path: calls.append(("load_weights", path))
    monkeypatch.setitem(sys.modules, "threestep.interop.keras_h5", fake2)
    apps.VGG19(weights=str(own), include_top=False)
    assert calls[-1] == ("load_weights", str(own))
    monkeypatch.setitem(sys.modules, "threestep.interop.keras_h5", None)
    with pytest.raises(NotSupportedError, match="keras_h5"):
        apps.VGG19(weights=str(own), include_top=False)


def test_cached_weights_with_a_wrong_hash_are_not_used(offline, monkeypatch):
    monkeypatch.setitem(sys.modules, "threestep.interop.keras_h5",
                        types.SimpleNamespace(load_weights_h5=lambda *a: pytest.fail("loaded a bad file")))
    cached = offline / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    with pytest.raises(DatasetError, match="cannot download"):
        apps.VGG16(include_top=False, input_shape=(32, 32, 3))


@pytest.mark.parametrize("module, mode", [("vgg16", "caffe"), ("resnet50", "caffe"),
                                          ("inception_v3", "tf"), ("mobilenet", "tf")])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_input_matches_tf_keras(keras, module, mode, data_format):
    import importlib  # noqa: PLC0415

    x = np.random.default_rng(2).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    ours = importlib.import_module(f"threestep.keras.applications.{module}").preprocess_input(
        x.copy(), data_format=data_format)
    theirs = getattr(keras.applications, module).preprocess_input(x.copy(), data_format=data_format)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
    ints = _common.preprocess_input(np.full((1, 2, 2, 3), 255, dtype=np.uint8), mode="torch")
    np.testing.assert_allclose(ints[0, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-5)


def test_decode_predictions_reads_the_class_index(offline, monkeypatch):
    import hashlib  # noqa: PLC0415

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = offline / "models" / "imagenet_class_index.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(index))
    monkeypatch.setattr(_common, "CLASS_INDEX_MD5", hashlib.md5(path.read_bytes()).hexdigest())
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 7, 5]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    from threestep.keras.applications.vgg16 import decode_predictions  # noqa: PLC0415

    top = decode_predictions(preds, top=3)
    assert [t[1] for t in top[0]] == ["class_3", "class_7", "class_5"]
    assert top[1][0][:2] == ("n00000999", "class_999") and top[1][0][2] == 1.0
    with pytest.raises(ConfigError, match="1000"):
        decode_predictions(np.zeros((2, 10)))


def test_clear_argument_errors():
    with pytest.raises(ConfigError, match="1000 classes"):
        apps.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ConfigError, match="pooling"):
        apps.ResNet50(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ConfigError, match="at least 32x32"):
        apps.VGG16(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ConfigError, match="must be \\(224, 224, 3\\)"):
        apps.ResNet50(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ConfigError, match="at least 75x75"):
        apps.InceptionV3(weights=None, include_top=False, input_shape=(64, 64, 3))
    with pytest.raises(ConfigError, match="no such file"):
        apps.VGG16(weights="/no/such/file.h5")
    with pytest.raises(NotSupportedError, match="Xception"):
        from threestep.keras.applications import Xception  # noqa: F401
