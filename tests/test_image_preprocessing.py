"""keras.preprocessing.image: ImageDataGenerator (transforms, standardisation, flow,
flow_from_directory) and the image file helpers, compared with tf-keras's own on the same
parameters and files."""
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from threestep.errors import ConfigError, DataError
from threestep.keras.preprocessing import image as ours
from threestep.preprocessing.image import PillowUnavailableError

from keras_oracle import import_tf_keras


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


@pytest.fixture(scope="module")
def kimage(keras):
    from tf_keras.src.preprocessing import image as kimage  # noqa: PLC0415

    return kimage


def rand_images(n=4, h=7, w=9, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(n, h, w, c)).astype("float32")


TRANSFORMS = [
    {"flip_horizontal": True}, {"flip_vertical": True}, {"tx": 2}, {"ty": -3}, {"tx": -1, "ty": 4},
    {"flip_horizontal": True, "flip_vertical": True, "tx": 1},
    {"theta": 90}, {"theta": 17}, {"shear": 12}, {"zx": 0.8, "zy": 1.25},
    {"theta": 8, "tx": 1.5, "ty": -0.5, "shear": 4, "zx": 1.1, "zy": 0.9},
    {"channel_shift_intensity": 20.0}, {"brightness": 1.3},
]


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_apply_transform_matches_tf_keras(kimage, fill_mode, data_format):
    x = rand_images(1)[0]
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1).copy()
    kwargs = {"fill_mode": fill_mode, "cval": 3.0, "data_format": data_format}
    gen, kgen = ours.ImageDataGenerator(**kwargs), kimage.ImageDataGenerator(**kwargs)
    for params in TRANSFORMS:
        if "brightness" in params and data_format == "channels_first":
            continue  # Keras's brightness shift goes through PIL in channels_last only
        expected = kgen.apply_transform(x.copy(), dict(params))
        got = gen.apply_transform(x.copy(), dict(params))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3, err_msg=str(params))


@pytest.mark.parametrize("order", [0, 1])
def test_interpolation_order_matches_tf_keras(kimage, order):
    x = rand_images(1, 8, 8)[0]
    params = {"theta": 33, "zx": 0.7, "zy": 1.2}
    expected = kimage.ImageDataGenerator(interpolation_order=order).apply_transform(x, params)
    got = ours.ImageDataGenerator(interpolation_order=order).apply_transform(x, params)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


def test_standardize_and_fit_match_tf_keras(kimage):
    x = rand_images(12, 5, 6, 3, seed=1)
    settings = [
        {"rescale": 1 / 255},
        {"samplewise_center": True, "samplewise_std_normalization": True},
        {"featurewise_center": True, "featurewise_std_normalization": True, "rescale": 0.5},
        {"zca_whitening": True, "featurewise_center": True},
        {"featurewise_center": True, "data_format": "channels_first"},
    ]
    for kwargs in settings:
        data = x.transpose(0, 3, 1, 2).copy() if kwargs.get("data_format") == "channels_first" else x
        gen, kgen = ours.ImageDataGenerator(**kwargs), kimage.ImageDataGenerator(**kwargs)
        gen.fit(data)
        kgen.fit(data)
        for attr in ("mean", "std", "zca_whitening_matrix"):
            if getattr(kgen, attr, None) is not None:
                np.testing.assert_allclose(getattr(gen, attr), getattr(kgen, attr), rtol=1e-4,
                                           atol=1e-4, err_msg=f"{kwargs} {attr}")
        sample = data[3].copy()
        np.testing.assert_allclose(gen.standardize(sample.copy()), kgen.standardize(sample.copy()),
                                   rtol=1e-4, atol=1e-3, err_msg=str(kwargs))


def test_random_transform_ranges_and_seeds():
    gen = ours.ImageDataGenerator(rotation_range=30, width_shift_range=0.2, height_shift_range=3,
                                  shear_range=10, zoom_range=0.1, horizontal_flip=True)
    draws = [gen.get_random_transform((10, 20, 3), seed=s) for s in range(200)]
    assert all(abs(d["theta"]) <= 30 and abs(d["ty"]) <= 0.2 * 20 and abs(d["shear"]) <= 10 for d in draws)
    assert {d["tx"] for d in draws} <= {-2, -1, 0, 1, 2}  # int: pixels from (-3, 3)
    assert all(0.9 <= d["zx"] <= 1.1 and 0.9 <= d["zy"] <= 1.1 for d in draws)
    assert 50 < sum(d["flip_horizontal"] for d in draws) < 150
    assert not any(d["flip_vertical"] for d in draws)
    assert gen.get_random_transform((10, 20, 3), seed=7) == gen.get_random_transform((10, 20, 3), seed=7)
    listed = ours.ImageDataGenerator(width_shift_range=[4, 8])
    assert {abs(listed.get_random_transform((5, 5, 1), seed=s)["ty"]) for s in range(40)} == {4, 8}


def test_flow_batches_labels_weights_and_order():
    x = rand_images(10)
    y = np.arange(10)
    gen = ours.ImageDataGenerator(rescale=0.5)
    it = gen.flow(x, y, batch_size=4, shuffle=False)
    assert len(it) == 3
    bx, by = it[0]
    np.testing.assert_allclose(bx, x[:4] * 0.5)
    np.testing.assert_array_equal(by, y[:4])
    assert it[2][0].shape == (2, 7, 9, 3) and bx.dtype == np.float32
    bx, by, bw = gen.flow(x, y, batch_size=5, shuffle=False, sample_weight=np.arange(10.0))[1]
    np.testing.assert_array_equal(bw, np.arange(5.0, 10.0))
    assert gen.flow(x, batch_size=3, shuffle=False)[0].shape == (3, 7, 9, 3)  # no y: x alone
    shuffled = gen.flow(x, y, batch_size=4, shuffle=True, seed=3)
    seen = np.concatenate([shuffled[i][1] for i in range(len(shuffled))])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for i in range(len(shuffled)):  # images stay with their labels
        bx, by = shuffled[i]
        np.testing.assert_allclose(bx, x[by] * 0.5)
    endless = gen.flow(x, y, batch_size=4, shuffle=False)
    sizes = [len(next(endless)[0]) for _ in range(7)]
    assert sizes == [4, 4, 2, 4, 4, 2, 4]


def test_flow_validation_split_subsets():
    x = rand_images(10)
    y = np.array([0, 1] * 5)
    gen = ours.ImageDataGenerator(validation_split=0.2)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert val.n == 2 and train.n == 8
    np.testing.assert_array_equal(val[0][0], x[:2])
    np.testing.assert_array_equal(train[0][1], y[2:])
    with pytest.raises(DataError, match="different classes"):
        gen.flow(x, np.array([0, 0] + [1] * 8), subset="training")
    with pytest.raises(ConfigError, match="subset"):
        gen.flow(x, y, subset="test")


def test_flow_errors_and_warnings():
    gen = ours.ImageDataGenerator()
    with pytest.raises(DataError, match="4-D"):
        gen.flow(np.zeros((3, 4, 4)))
    with pytest.raises(DataError, match="same length"):
        gen.flow(np.zeros((3, 4, 4, 1)), np.zeros(2))
    with pytest.raises(ConfigError, match="fill_mode"):
        ours.ImageDataGenerator(fill_mode="mirror")
    with pytest.warns(UserWarning, match="fit"):
        ours.ImageDataGenerator(featurewise_center=True).standardize(np.zeros((2, 2, 1)))


def test_model_trains_on_augmented_flow():
    from threestep.keras.layers import Dense, Flatten  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415
    from threestep.keras.optimizers import Adam  # noqa: PLC0415

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = np.zeros((64, 6, 6, 1), "float32")
    x[y == 1, :, :3] = 1.0  # class 1: the left half is bright (a horizontal flip moves it)
    x[y == 0, :3, :] = 1.0  # class 0: the top half is bright
    gen = ours.ImageDataGenerator(vertical_flip=False, width_shift_range=1, fill_mode="nearest")
    model = Sequential([Flatten(input_shape=(6, 6, 1)), Dense(2, activation="softmax")])
    # lr=0.01: with Adam's default 0.001, 15 epochs from an unseeded start leave some runs at chance
    model.compile(Adam(learning_rate=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(gen.flow(x, y, batch_size=16, seed=0), epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def write_image_tree(root, classes, per_class, size=(6, 5), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
            pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
            img = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)
            img.save(folder / f"img_{i:02d}.{'png' if i % 2 else 'bmp'}")
        (folder / "notes.txt").write_text("not an image")


@pytest.mark.parametrize("kwargs", [
    {"class_mode": "categorical"},
    {"class_mode": "binary", "color_mode": "grayscale", "target_size": (4, 3)},
    {"class_mode": "sparse", "target_size": (10, 8), "interpolation": "bilinear"},
    {"class_mode": "input", "color_mode": "rgba"},
    {"class_mode": None},
])
def test_flow_from_directory_matches_tf_keras(kimage, tmp_path, kwargs):
    classes = ["cats", "dogs"] if kwargs["class_mode"] == "binary" else ["ants", "bees", "cats"]
    write_image_tree(tmp_path / "data", classes, 5)
    common = {"target_size": (5, 6), "batch_size": 4, "shuffle": False, **kwargs}
    gen = ours.ImageDataGenerator(rescale=1 / 255, validation_split=0.4)
    kgen = kimage.ImageDataGenerator(rescale=1 / 255, validation_split=0.4)
    for subset in (None, "training", "validation"):
        it = gen.flow_from_directory(str(tmp_path / "data"), subset=subset, **common)
        kit = kgen.flow_from_directory(str(tmp_path / "data"), subset=subset, **common)
        assert it.filenames == kit.filenames and it.class_indices == kit.class_indices
        np.testing.assert_array_equal(it.classes, kit.classes)
        assert it.samples == kit.samples and len(it) == len(kit) and it.image_shape == kit.image_shape
        for i in range(len(kit)):
            mine, theirs = it[i], kit[i]
            mine = mine if isinstance(mine, tuple) else (mine,)
            theirs = theirs if isinstance(theirs, tuple) else (theirs,)
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs):
                assert a.shape == b.shape and a.dtype == b.dtype
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_flow_from_directory_errors(tmp_path):
    gen = ours.ImageDataGenerator()
    with pytest.raises(DataError, match="not a directory"):
        gen.flow_from_directory(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="class_mode"):
        gen.flow_from_directory(str(tmp_path), class_mode="onehot")


def test_image_file_helpers_match_tf_keras(keras, tmp_path):
    kimg = keras.preprocessing.image
    pixels = np.random.default_rng(4).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(pixels).save(path)
    for kwargs in ({}, {"color_mode": "grayscale"}, {"target_size": (3, 4)},
                   {"target_size": (12, 5), "interpolation": "bicubic"}, {"color_mode": "rgba"}):
        a = ours.img_to_array(ours.load_img(str(path), **kwargs))
        b = kimg.img_to_array(kimg.load_img(str(path), **kwargs))
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    x = ours.img_to_array(ours.load_img(str(path)), data_format="channels_first")
    assert x.shape == (3, 6, 8)
    np.testing.assert_array_equal(x, kimg.img_to_array(kimg.load_img(str(path)), data_format="channels_first"))
    floats = np.random.default_rng(5).normal(size=(4, 5, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(ours.array_to_img(floats)), np.asarray(kimg.array_to_img(floats)))
    np.testing.assert_array_equal(np.asarray(ours.array_to_img(pixels.astype("float32"), scale=False)), pixels)
    assert ours.array_to_img(floats[:, :, :1]).mode == "L"
    ours.save_img(str(tmp_path / "b.png"), pixels.astype("float32"), scale=False)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "b.png")), pixels)
    ours.save_img(str(tmp_path / "c.jpg"), np.concatenate([pixels, pixels[:, :, :1]], axis=2))
    assert Image.open(tmp_path / "c.jpg").mode == "RGB"
    with pytest.raises(ConfigError, match="color_mode"):
        ours.load_img(str(path), color_mode="cmyk")
    with pytest.raises(ConfigError, match="cannot read"):
        ours.load_img(str(tmp_path / "nothing.png"))


def test_without_pillow_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(PillowUnavailableError, match="pip install Pillow"):
        ours.load_img(str(tmp_path / "a.png"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen = ours.ImageDataGenerator(horizontal_flip=True)  # arrays need no Pillow
        assert gen.flow(rand_images(2), batch_size=2)[0].shape == (2, 7, 9, 3)
