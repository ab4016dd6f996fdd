"""``layer_test``: one call that checks a layer class the way every layer must behave.

In the spirit of Keras's ``run_layer_test``: given a layer class, its constructor
arguments and an input shape, it checks

1. build and call: the output shape equals ``compute_output_shape`` (the batch filled in);
2. the number of trainable and non-trainable weights;
3. ``get_config`` is JSON data and ``from_config(get_config())`` gives the same config and,
   with the same weights, the same output;
4. a model holding the layer survives ``model.save`` / ``load_model`` (same predictions);
5. one training step (SGD on a mean-squared error) changes every trainable weight;
6. in float64, backward agrees with central finite differences for the input(s) and
   every trainable weight (along random directions, with a random upstream gradient).

Each check raises with the layer, the step and the values involved.
"""
import json
from dataclasses import dataclass, field

import numpy as np

from threestep import backend
from threestep.autograd import Tensor, no_grad
from threestep.layers import Input
from threestep.models import Model, load_model
from threestep.optimizers import SGD


@dataclass
class LayerCase:
    """One row of the layer table.

    Args:
        make_kwargs: a function returning the constructor's keyword arguments (a function,
            so wrapped layers are made afresh, in the float dtype in force).
        input_shape: the batch input shape, or a list of them for a layer of several inputs.
        trainable: expected number of trainable weights. non_trainable: of the others.
        int_inputs: inputs are integer indices below this bound (Embedding), not floats.
        train_changes: weights a training step must change (default: all trainable ones).
        gradcheck_training: run the float64 gradient check in training mode (BatchNorm's
            batch statistics); the default is inference mode, which is deterministic.
    """

    make_kwargs: callable
    input_shape: object
    trainable: int = 0
    non_trainable: int = 0
    int_inputs: int = 0
    train_changes: object = None
    gradcheck_training: bool = False
    positive_inputs: bool = False
    extra: dict = field(default_factory=dict)


def _shapes(case):
    return case.input_shape if isinstance(case.input_shape, list) else [case.input_shape]


def make_inputs(case, rng, dtype):
    arrays = []
    for shape in _shapes(case):
        if case.int_inputs:
            arrays.append(rng.integers(1, case.int_inputs, size=shape).astype("int64"))
        else:
            a = rng.standard_normal(shape)
            arrays.append((np.abs(a) + 0.1 if case.positive_inputs else a).astype(dtype))
    return arrays


def _call(layer, arrays, training=False):
    xs = [Tensor(backend.asarray(a)) for a in arrays]
    return layer(xs if len(xs) > 1 else xs[0], training=training)


def _with_batch(shape, batch):
    return tuple(batch if d is None else d for d in shape)


def _unbatched(shape):
    return (None,) + tuple(shape[1:])


def check_build_and_shapes(cls, case, rng):
    layer = cls(**case.make_kwargs())
    arrays = make_inputs(case, rng, backend.floatx())
    out = _call(layer, arrays)
    shapes = [_unbatched(s) for s in _shapes(case)]
    expected = layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
    batch = _shapes(case)[0][0]
    assert tuple(out.shape) == _with_batch(tuple(expected), batch), (
        f"{cls.__name__}: output shape {tuple(out.shape)} but compute_output_shape says {tuple(expected)} "
        f"(batch {batch})")
    assert len(layer.trainable_weights) == case.trainable, (
        f"{cls.__name__}: {len(layer.trainable_weights)} trainable weights "
        f"({[w.name for w in layer.trainable_weights]}), expected {case.trainable}")
    assert len(layer.non_trainable_weights) == case.non_trainable, (
        f"{cls.__name__}: {len(layer.non_trainable_weights)} non-trainable weights "
        f"({[w.name for w in layer.non_trainable_weights]}), expected {case.non_trainable}")
    return layer, arrays, out


def check_config_round_trip(cls, layer, arrays, out):
    config = layer.get_config()
    json.dumps(config)  # plain data only
    clone = cls.from_config(config)
    assert clone.get_config() == config, (
        f"{cls.__name__}: from_config(get_config()).get_config() differs:\n{clone.get_config()}\nvs\n{config}")
    if layer.weights:
        _call(clone, arrays)  # build, then copy the weights
        clone.set_weights(layer.get_weights())
    again = _call(clone, arrays)
    np.testing.assert_allclose(backend.to_numpy(again.data), backend.to_numpy(out.data), rtol=1e-6, atol=1e-6,
                               err_msg=f"{cls.__name__}: the clone from its config computes another output")


def _model(cls, case):
    layer = cls(**case.make_kwargs())
    inputs = [Input(shape=tuple(s[1:]), dtype="int64" if case.int_inputs else None) for s in _shapes(case)]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    return Model(inputs if len(inputs) > 1 else inputs[0], out), layer


def check_save_load(cls, case, rng, tmp_path):
    model, _ = _model(cls, case)
    arrays = make_inputs(case, rng, backend.floatx())
    x = arrays if len(arrays) > 1 else arrays[0]
    before = model.predict(x, verbose=0)
    path = tmp_path / f"{cls.__name__}.ts"
    model.save(path)
    loaded = load_model(path)
    after = loaded.predict(x, verbose=0)
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6,
                               err_msg=f"{cls.__name__}: predictions differ after save / load_model")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]


def check_training_step(cls, case, rng):
    model, layer = _model(cls, case)
    if not layer.trainable_weights:
        return
    model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    arrays = make_inputs(case, rng, backend.floatx())
    x = arrays if len(arrays) > 1 else arrays[0]
    target = rng.standard_normal(model.predict(x, verbose=0).shape).astype(backend.floatx())
    before = [backend.to_numpy(w.data).copy() for w in layer.trainable_weights]
    model.train_on_batch(x, target)
    names = case.train_changes if case.train_changes is not None else [w.name for w in layer.trainable_weights]
    for w, old in zip(layer.trainable_weights, before):
        if w.name in names:
            assert not np.array_equal(backend.to_numpy(w.data), old), (
                f"{cls.__name__}: one SGD step left trainable weight {w.name!r} unchanged")


def _objective(layer, xs, gy, training):
    with no_grad():
        out = layer(xs if len(xs) > 1 else xs[0], training=training)
        return float((out.data * gy).sum())


def check_gradients(cls, case, rng, n_directions=3, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Backward against central finite differences, float64, for inputs and trainable weights."""
    previous = backend.floatx()
    backend.set_floatx("float64")
    try:
        layer = cls(**case.make_kwargs())
        arrays = make_inputs(case, rng, "float64")
        xs = [Tensor(backend.asarray(a), requires_grad=not case.int_inputs) for a in arrays]
        out = layer(xs if len(xs) > 1 else xs[0], training=case.gradcheck_training)
        assert out.dtype == np.float64, f"{cls.__name__}: a float64 layer computed {out.dtype}"
        gy = backend.asarray(rng.standard_normal(out.shape))
        out.backward(gy)
        leaves = ([] if case.int_inputs else [(f"input {i}", x) for i, x in enumerate(xs)])
        leaves += [(w.name, w) for w in layer.trainable_weights]
        for what, leaf in leaves:
            assert leaf.grad is not None, f"{cls.__name__}: backward gave no gradient for {what}"
            analytic = backend.to_numpy(leaf.grad).astype(np.float64)
            original = leaf.data.copy()
            for _ in range(n_directions):
                d = rng.standard_normal(leaf.shape)
                leaf.data = original + eps * backend.asarray(d)
                plus = _objective(layer, xs, gy, case.gradcheck_training)
                leaf.data = original - eps * backend.asarray(d)
                minus = _objective(layer, xs, gy, case.gradcheck_training)
                leaf.data = original
                numeric = (plus - minus) / (2 * eps)
                projected = float((analytic * d).sum())
                assert abs(projected - numeric) <= atol + rtol * abs(numeric), (
                    f"{cls.__name__}: gradient of {what} (shape {tuple(leaf.shape)}) along a random direction: "
                    f"backward gives {projected:.10g}, finite differences {numeric:.10g}")
    finally:
        backend.set_floatx(previous)


def layer_test(cls, case, tmp_path, seed=0):
    """Run every check of this module on ``cls`` with the table row ``case``."""
    rng = np.random.default_rng(seed)
    layer, arrays, out = check_build_and_shapes(cls, case, rng)
    check_config_round_trip(cls, layer, arrays, out)
    check_save_load(cls, case, rng, tmp_path)
    check_training_step(cls, case, rng)
    check_gradients(cls, case, rng)
