"""Every kind of custom object survives save/load with custom_objects, and without it the
load fails with an error naming the object and custom_objects (issue: a custom Regularizer
came back as L1L2(0, 0) even with custom_objects)."""
import json
import warnings
import zipfile

import numpy as np
import pytest

from threestep import backend, ops, regularizers
from threestep.errors import ModelFileError
from threestep.layers import Dense, Layer, constraints, initializers
from threestep.models import Sequential, load_model
from threestep.optimizers import SGD, schedules
from threestep.utils import custom_object_scope


class CubeReg(regularizers.Regularizer):
    def __init__(self, strength=0.01):
        self.strength = strength

    def __call__(self, w):
        return ops.sum(w * w * w) * self.strength

    def get_config(self):
        return {"strength": self.strength}


class HalfOnes(initializers.Initializer):
    def __init__(self, value=0.5):
        self.value = value

    def __call__(self, shape, dtype=None):
        return backend.get_xp().full(shape, self.value, dtype=dtype or backend.floatx())

    def get_config(self):
        return {"value": self.value}


class ClipTo(constraints.Constraint):
    def __init__(self, limit=0.2):
        self.limit = limit

    def __call__(self, w):
        return backend.get_array_module(w).clip(w, -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


class CustomObjectsScale(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x, training=None):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class StepHalving(schedules.LearningRateSchedule):
    def __init__(self, initial=0.1):
        self.initial = initial

    def __call__(self, step):
        return self.initial / (1 + step)

    def get_config(self):
        return {"initial": self.initial}


class MySGD(SGD):
    pass


def my_loss(y_true, y_pred):
    return ops.mean((y_pred - y_true) * (y_pred - y_true), axis=-1)


def my_metric(y_true, y_pred):  # receives Tensors, as a loss does (abs() and .mean work on them)
    return abs(y_pred - y_true).mean(axis=-1)


def cube_act(x):
    return x * x * x


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 4)).astype("float32"), rng.standard_normal((16, 3)).astype("float32")


def _trained(**parts):
    backend.set_seed(0)
    model = Sequential([Dense(5, input_shape=(4,), kernel_regularizer=parts.get("regularizer"),
                              kernel_initializer=parts.get("initializer", "glorot_uniform"),
                              kernel_constraint=parts.get("constraint"), activation=parts.get("activation")),
                        parts.get("layer") or CustomObjectsScale(1.0), Dense(3)])
    model.compile(optimizer=parts["optimizer"]() if "optimizer" in parts else SGD(0.01), loss=parts.get("loss", "mse"),
                  metrics=parts.get("metrics", []))
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model


KINDS = {
    "regularizer": ({"regularizer": CubeReg(0.02)}, "CubeReg", CubeReg,
                    lambda m: (type(m.layers[0].kernel_regularizer), m.layers[0].kernel_regularizer.strength),
                    (CubeReg, 0.02)),
    "initializer": ({"initializer": HalfOnes(0.25)}, "HalfOnes", HalfOnes,
                    lambda m: (type(m.layers[0].kernel_initializer), m.layers[0].kernel_initializer.value),
                    (HalfOnes, 0.25)),
    "constraint": ({"constraint": ClipTo(0.05)}, "ClipTo", ClipTo,
                   lambda m: (type(m.layers[0].kernel_constraint), m.layers[0].kernel_constraint.limit),
                   (ClipTo, 0.05)),
    "activation": ({"activation": cube_act}, "cube_act", cube_act,
                   lambda m: m.layers[0].activation, cube_act),
    "loss": ({"loss": my_loss}, "my_loss", my_loss, lambda m: m.loss.name, "my_loss"),
    "metric": ({"metrics": [my_metric]}, "my_metric", my_metric,
               lambda m: [s.__name__ if callable(s) else s for s in m._metric_specs], ["my_metric"]),
    "optimizer": ({"optimizer": lambda: MySGD(0.02)}, "MySGD", MySGD, lambda m: (type(m.optimizer), m.optimizer.learning_rate),
                  (MySGD, 0.02)),
    "schedule": ({"optimizer": lambda: SGD(StepHalving(0.3))}, "StepHalving", StepHalving,
                 lambda m: (type(m.optimizer.learning_rate), m.optimizer.learning_rate.initial), (StepHalving, 0.3)),
    "layer": ({"layer": CustomObjectsScale(3.0)}, "CustomObjectsScale", CustomObjectsScale,
              lambda m: (type(m.layers[1]), m.layers[1].factor), (CustomObjectsScale, 3.0)),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_custom_object_round_trips_with_custom_objects(tmp_path, kind):
    parts, name, obj, read, want = KINDS[kind]
    model = _trained(**parts)
    path = tmp_path / "m.ts"
    model.save(path)
    loaded = load_model(path, custom_objects={name: obj})
    assert read(loaded) == want
    x, y = _data()
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-5)
    # and inside a custom_object_scope, without the argument
    with custom_object_scope({name: obj}):
        assert read(load_model(path)) == want


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"layer", "loss"}))
def test_custom_object_missing_gives_a_clear_model_file_error(tmp_path, kind):
    parts, name, _, _, _ = KINDS[kind]
    path = tmp_path / "m.ts"
    _trained(**parts).save(path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message and name in message and "custom_objects" in message


def test_custom_loss_missing_returns_an_uncompiled_model_with_a_warning(tmp_path):
    path = tmp_path / "m.ts"
    _trained(loss=my_loss).save(path)
    with pytest.warns(RuntimeWarning, match="my_loss.*custom_objects"):
        loaded = load_model(path)
    assert not loaded.compiled


def test_unknown_layer_class_names_custom_objects(tmp_path):
    path = tmp_path / "m.ts"
    _trained().save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"][1]["class_name"] = "NotDefinedAnywhere"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(ModelFileError, match="NotDefinedAnywhere.*custom_objects"):
        load_model(path)


def test_regularizer_dict_never_becomes_a_silent_l1l2():
    with pytest.raises(Exception, match="CubeReg.*custom_objects"):
        regularizers.get({"class_name": "CubeReg", "config": {"strength": 1.0}})
    with custom_object_scope({"CubeReg": CubeReg}):
        reg = regularizers.get({"class_name": "CubeReg", "config": {"strength": 1.0}})
    assert type(reg) is CubeReg and reg.strength == 1.0
    assert regularizers.get({"class_name": "L1L2", "config": {"l1": 0.5}}).l1 == 0.5


def test_builtin_constraints_apply_and_round_trip(tmp_path):
    x, y = _data()
    model = _trained(constraint=constraints.MaxNorm(0.1))
    norms = np.sqrt((model.layers[0].get_weights()[0] ** 2).sum(axis=0))
    assert norms.max() <= 0.1 + 1e-6
    model.save(tmp_path / "c.ts")
    loaded = load_model(tmp_path / "c.ts")
    assert type(loaded.layers[0].kernel_constraint) is constraints.MaxNorm
    assert loaded.layers[0].kernel_constraint.max_value == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded.fit(x, y * 100, epochs=2, verbose=0)
    assert np.sqrt((loaded.layers[0].get_weights()[0] ** 2).sum(axis=0)).max() <= 0.1 + 1e-6
