"""Attention and AdditiveAttention against tf-keras (copied weights: outputs, gradients, masks,
configs) and float64 finite differences."""
import numpy as np
import pytest

from threestep import backend
from threestep.autograd import Tensor, gradcheck
from threestep.errors import ConfigError, ShapeError
from threestep.layers import AdditiveAttention, Attention, Dense, Embedding, Input
from threestep.models import Model

from helpers import assert_close

F32 = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras

    return tf_keras


def _data(rng, b=3, tq=4, tv=6, d=5, key=False):
    q = rng.normal(size=(b, tq, d)).astype("float32")
    v = rng.normal(size=(b, tv, d)).astype("float32")
    inputs = [q, v]
    if key:
        inputs.append(rng.normal(size=(b, tv, d)).astype("float32"))
    return inputs


def _keras_run(keras, layer, inputs, gy, gs, masks=None, **call):
    import tensorflow as tf

    xs = [tf.Variable(x) for x in inputs]
    with tf.GradientTape() as tape:
        out, scores = layer(xs, mask=masks, return_attention_scores=True, **call)
        objective = tf.reduce_sum(out * gy) + tf.reduce_sum(scores * gs)
    grads = tape.gradient(objective, xs + layer.trainable_weights)
    return out.numpy(), scores.numpy(), [g.numpy() for g in grads]


def _ours_run(layer, inputs, gy, gs, masks=None, **call):
    xs = [Tensor(x, requires_grad=True) for x in inputs]
    out, scores = layer(xs, mask=masks, return_attention_scores=True, **call)
    objective = (out * Tensor(gy)).sum() + (scores * Tensor(gs)).sum()
    objective.backward()
    return backend.to_numpy(out.data), backend.to_numpy(scores.data), [backend.to_numpy(t.grad) for t in
                                                                         xs + layer.trainable_weights]


CASES = [
    ("Attention", {}, {}),
    ("Attention", {"use_scale": True}, {}),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, {}),
    ("Attention", {}, {"use_causal_mask": True}),
    ("AdditiveAttention", {}, {}),
    ("AdditiveAttention", {"use_scale": False}, {}),
    ("AdditiveAttention", {}, {"use_causal_mask": True}),
]


@pytest.mark.parametrize("cls, kwargs, call", CASES)
@pytest.mark.parametrize("with_key, with_masks", [(False, False), (True, True)])
def test_outputs_and_gradients_equal_tf_keras(keras, rng, cls, kwargs, call, with_key, with_masks):
    ours_cls = {"Attention": Attention, "AdditiveAttention": AdditiveAttention}[cls]
    inputs = _data(rng, tq=6, key=with_key)
    masks = None
    if with_masks:
        qm = np.ones((3, 6), dtype=bool)
        qm[0, 4:] = False
        vm = np.ones((3, 6), dtype=bool)
        vm[1, 3:] = vm[2, 5:] = False
        masks = [qm, vm]
    theirs = getattr(keras.layers, cls)(**kwargs)
    theirs(inputs)
    if cls == "AdditiveAttention" and kwargs.get("use_scale", True):  # a non-trivial scale
        theirs.set_weights([rng.normal(size=(5,)).astype("float32")])
    elif theirs.weights:
        theirs.set_weights([np.float32(0.7 + 0.2 * i) for i in range(len(theirs.weights))])
    ours = ours_cls(**kwargs)
    ours.build_for([(None,) + x.shape[1:] for x in inputs])
    ours.set_weights(theirs.get_weights())
    gy = rng.normal(size=inputs[0].shape).astype("float32")
    gs = rng.normal(size=(3, 6, 6)).astype("float32")
    k_out, k_scores, k_grads = _keras_run(keras, theirs, inputs, gy, gs, masks, **call)
    o_out, o_scores, o_grads = _ours_run(ours, inputs, gy, gs, masks, **call)
    assert_close(o_out, k_out, what="output", **F32)
    assert_close(o_scores, k_scores, what="attention scores", **F32)
    assert len(o_grads) == len(k_grads)
    for i, (g, k) in enumerate(zip(o_grads, k_grads)):
        assert_close(g, k, atol=1e-4, rtol=1e-4, what=f"gradient {i}")
    if with_masks:
        assert (o_out[0, 4:] == 0).all()
        assert (o_scores[1, :, 3:] < 1e-6).all()


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_default_config_matches_tf_keras(keras, cls):
    ours_cls = {"Attention": Attention, "AdditiveAttention": AdditiveAttention}[cls]
    theirs, ours = getattr(keras.layers, cls)().get_config(), ours_cls().get_config()
    base = {"name", "trainable", "dtype"}
    assert set(theirs) - base == set(ours) - base
    for key in set(theirs) - base:
        assert ours[key] == theirs[key], key
    assert ours_cls.from_config(ours).get_config() == ours


def test_implicit_masks_from_embedding_match_tf_keras(keras, rng):
    ids_q = np.array([[3, 4, 0, 0], [5, 6, 7, 1]], dtype="int32")
    ids_v = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]], dtype="int32")
    qi, vi = keras.Input((4,), dtype="int32"), keras.Input((5,), dtype="int32")
    emb = keras.layers.Embedding(10, 4, mask_zero=True)
    their_model = keras.Model([qi, vi], keras.layers.Attention()([emb(qi), emb(vi)]))
    q2, v2 = Input((4,), dtype="int32"), Input((5,), dtype="int32")
    our_emb = Embedding(10, 4, mask_zero=True)
    our_model = Model([q2, v2], Attention()([our_emb(q2), our_emb(v2)]))
    our_emb.set_weights(emb.get_weights())
    expected = their_model.predict([ids_q, ids_v], verbose=0)
    got = our_model.predict([ids_q, ids_v])
    assert_close(got, expected, what="masked attention output", **F32)
    assert (got[0, 2:] == 0).all()


def test_dropout_only_in_training(rng):
    q, v = _data(rng)
    layer = Attention(dropout=0.5)
    a = layer([q, v], training=False).data
    assert np.array_equal(a, layer([q, v], training=False).data)
    backend.set_seed(0)
    _, w = layer([q, v], training=True, return_attention_scores=True)
    dropped = layer([q, v], training=True).data
    assert not np.allclose(dropped, a)
    assert_close(w.data.sum(-1), np.ones((3, 4)), atol=1e-5, rtol=0, what="undropped weights sum to 1")


@pytest.mark.parametrize("cls, kwargs", [(Attention, {"use_scale": True}), (AdditiveAttention, {}),
                                         (Attention, {"score_mode": "concat", "use_scale": True})])
def test_gradcheck_float64(rng, cls, kwargs):
    layer = cls(**kwargs, dtype="float64")
    q, v, k = [x.astype("float64") for x in _data(rng, b=2, tq=3, tv=4, d=3, key=True)]
    layer.build_for([(None, 3, 3), (None, 4, 3), (None, 4, 3)])
    layer.set_weights([w + 0.3 for w in layer.get_weights()])
    vm = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    names = [n for n in ("scale", "concat_score_weight") if getattr(layer, n, None) is not None]
    start = [getattr(layer, n).data for n in names]

    def f(q, v, k, *ws):
        for name, w in zip(names, ws):  # the check perturbs its own leaves: use them as the weights
            setattr(layer, name, w)
        return layer.call([q, v, k], mask=[None, vm])

    assert gradcheck(f, [q, v, k] + start)


def test_functional_model_returns_scores_and_trains(rng):
    enc_in, dec_in = Input((7, 4)), Input((3, 4))
    context, scores = AdditiveAttention()([Dense(8)(dec_in), Dense(8)(enc_in)], return_attention_scores=True)
    model = Model([enc_in, dec_in], [context, scores])
    assert model.output_shape == [(None, 3, 8), (None, 3, 7)] or [tuple(s) for s in model.output_shape] == [
        (None, 3, 8), (None, 3, 7)]
    ctx, w = model.predict([rng.normal(size=(2, 7, 4)), rng.normal(size=(2, 3, 4))])
    assert ctx.shape == (2, 3, 8) and w.shape == (2, 3, 7)
    assert_close(w.sum(-1), np.ones((2, 3)), atol=1e-5, rtol=0, what="alignment rows")


def test_bad_inputs_raise_clear_errors(rng):
    q, v = _data(rng)
    with pytest.raises(ShapeError, match=r"list \[query, value\]"):
        Attention()(q)
    with pytest.raises(ShapeError, match="same feature size"):
        Attention()([q, v, v[:, :, :3]])
    with pytest.raises(ShapeError, match="value_mask must have shape"):
        Attention()([q, v], mask=[None, np.ones((3, 2), bool)])
    with pytest.raises(ConfigError, match="score_mode"):
        Attention(score_mode="general")
    with pytest.raises(ConfigError, match="dropout"):
        AdditiveAttention(dropout=1.0)


def test_models_with_attention_save_and_load(rng, tmp_path):
    from threestep.models import load_model
    from threestep.models.seq2seq import seq2seq

    net = seq2seq(9, 11, units=8, embed_dim=4, attention="dot")
    src, dec = rng.integers(1, 9, (3, 5)), rng.integers(1, 11, (3, 4))
    for model in (net.model, net.alignment):
        model.save(tmp_path / "m.zip")
        np.testing.assert_array_equal(load_model(tmp_path / "m.zip").predict([src, dec]), model.predict([src, dec]))
