"""Generated languages (word order, reordering, parse trees), the encoder-decoder builders,
spoken words and MFCCs, DTW and retrieval scores used by the seq2seq experiments."""
import numpy as np
import pytest

from threestep.datasets import language, speech
from threestep.errors import ConfigError, DatasetError
from threestep.experiments.audio import dtw_distance, mean_average_precision
from threestep.experiments.seq2seq import bag_of_words, cosine_distance
from threestep.models.seq2seq import feature_autoencoder, hierarchical_autoencoder, seq2seq, sequence_autoencoder
from threestep.preprocessing.audio import mfcc


# ---------------------------------------------------------------------------- languages
def test_order_twins_have_the_same_bag_of_words_and_another_meaning():
    corpus = language.order_sentences(200, seed=3)
    assert len(set(corpus.sentences)) == 200
    vocab = language.Vocabulary.from_texts(corpus.sentences, corpus.swapped)
    bags, twin_bags = bag_of_words(vocab, corpus.sentences), bag_of_words(vocab, corpus.swapped)
    assert (bags == twin_bags).all()
    np.testing.assert_allclose(cosine_distance(bags, twin_bags), 0, atol=1e-12)
    for s, t, m, mt in zip(corpus.sentences, corpus.swapped, corpus.meanings, corpus.swapped_meanings):
        assert s != t and m != mt
        if len(m) == 1:
            assert mt[0] == (m[0][2], m[0][1], m[0][0], m[0][3])  # subject and object swapped
        else:
            assert [c[3] for c in m] == [not c[3] for c in mt] and sum(c[3] for c in m) == 1  # "not" moved
    assert any(len(m) == 2 for m in corpus.meanings) and any(len(m) == 1 for m in corpus.meanings)


def test_documents_reordered_keep_their_sentences():
    docs, reordered = language.documents(20, sentences_per_doc=3, seed=1)
    for d, r in zip(docs, reordered):
        assert sorted(d) == sorted(r) and d != r and len(d) == 3


def test_vocabulary_round_trip_and_errors():
    vocab = language.Vocabulary.from_texts(["the dog did see the cat"])
    ids = vocab.encode(["the cat did see the dog"], maxlen=8, go=True, eos=True)
    assert ids.shape == (1, 8) and ids[0, 0] == language.GO and ids[0, 7] == language.EOS
    assert vocab.decode(ids) == ["the cat did see the dog"]
    assert vocab.encode(["the dog"], maxlen=4, padding="pre").tolist()[0][:2] == [0, 0]
    with pytest.raises(Exception, match="'horse'"):
        vocab.encode(["the horse"])


def test_reordering_targets_are_the_reversed_translation():
    src, tgt = language.reordering(50, 3, 9, vocab=5, seed=0)
    for s, t in zip(src, tgt):
        assert 3 <= len(s.split()) <= 9
        assert t.split() == ["t" + w[1:] for w in reversed(s.split())]
    with pytest.raises(ConfigError, match="min_len"):
        language.reordering(5, 6, 2)


def test_parse_trees_are_well_formed_and_hold_the_sentence():
    sentences, trees = language.parse_trees(100, seed=2)
    for s, t in zip(sentences, trees):
        assert language.well_formed(t)
        assert [w for w in t.split() if w[0] not in "()"] == s.split()
    assert language.bracket_f1(trees, trees) == 1.0
    short, _ = language.parse_trees(20, max_words=5, seed=0)
    assert max(len(s.split()) for s in short) <= 5


def test_bracket_scores_on_hand_made_trees():
    gold = "(S (NP the dog )NP (VP chased (NP a cat )NP )VP )S"
    assert language.brackets(gold) == {("S", 0, 5), ("NP", 0, 2), ("VP", 2, 5), ("NP", 3, 5)}
    flat = "(S (NP the dog )NP (VP chased a cat )VP )S"  # misses one NP of four: P = 1, R = 3/4
    assert language.bracket_f1([flat], [gold]) == pytest.approx(2 * 0.75 / 1.75)
    for bad in ("(S (NP the dog )VP )S", "(NP the dog )NP", "(S (NP the dog )S", "(S the )S (S dog )S", ""):
        assert not language.well_formed(bad), bad


# ---------------------------------------------------------------------------- builders
@pytest.mark.parametrize("attention", [None, "additive", "dot"])
def test_seq2seq_builder_shapes_and_decoding(attention, rng):
    net = seq2seq(9, 11, units=8, embed_dim=4, attention=attention)
    src = rng.integers(3, 9, (5, 6)).astype("int32")
    src[0, 4:] = 0
    dec = rng.integers(3, 11, (5, 4)).astype("int32")
    assert net.model.predict([src, dec]).shape == (5, 4, 11)
    assert net.encode(src).shape == (5, 8)
    assert (net.alignment is None) == (attention is None)
    if attention:
        weights = net.alignment.predict([src, dec])
        assert weights.shape == (5, 4, 6)
        np.testing.assert_allclose(weights.sum(-1), 1, atol=1e-5)
        assert weights[0, :, 4:].max() < 1e-6  # padded source steps get no attention
    out = net.greedy_decode(src, 4)
    assert out.shape == (5, 4) and out.dtype == np.int32
    with pytest.raises(ConfigError, match="attention"):
        seq2seq(5, 5, attention="general")


def test_autoencoders_learn_to_copy_short_sequences(rng):
    from threestep import backend

    backend.set_seed(0)
    net = sequence_autoencoder(6, units=24, embed_dim=8)
    ids = rng.integers(3, 6, (300, 3)).astype("int32")
    go = np.concatenate([np.full((300, 1), 1, "int32"), ids], axis=1)
    target = np.concatenate([ids, np.full((300, 1), 2, "int32")], axis=1)
    from threestep.optimizers import Adam

    net.model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.02))
    net.model.fit([ids, go], target, epochs=8, verbose=0, batch_size=16, seed=0)
    copied = net.greedy_decode(ids[:50], 4)
    assert (copied == target[:50]).all(axis=1).mean() > 0.9  # rebuilt from the code alone
    h = hierarchical_autoencoder(7, 2, 4, units=8, embed_dim=4)
    doc = rng.integers(3, 7, (3, 2, 4)).astype("int32")
    assert h.model.predict([doc, doc]).shape == (3, 2, 4, 7) and h.encode(doc).shape == (3, 8)
    f = feature_autoencoder(5, 7, units=6)
    x = rng.normal(size=(4, 7, 5)).astype("float32")
    x[0, 5:] = 0
    assert f.model.predict(x).shape == (4, 7, 5) and f.encode(x).shape == (4, 6)


# ---------------------------------------------------------------------------- speech
@pytest.mark.slow  # importing librosa takes seconds
def test_numpy_mfcc_equals_librosa(rng):
    t = np.arange(12000) / 16000
    signal = np.sin(2 * np.pi * 300 * t) * np.linspace(0, 1, t.size) + 0.1 * rng.normal(size=t.size)
    ours = mfcc(signal, 16000, engine="numpy")
    theirs = mfcc(signal, 16000, engine="librosa")
    assert ours.shape == theirs.shape == (1 + 12000 // 256, 13)
    np.testing.assert_allclose(ours, theirs, atol=1e-3 * np.abs(theirs).max())
    with pytest.raises(Exception, match="1-D"):
        mfcc(np.zeros((2, 3)), 16000)


def test_synthetic_spoken_words_share_sound_between_near_pairs():
    waves, labels, sr = speech.spoken_words(["dog", "dogs", "river"], per_word=3, engine="synthetic", seed=0)
    assert labels == ["dog"] * 3 + ["dogs"] * 3 + ["river"] * 3 and sr == 16000
    feats = [mfcc(w, sr, engine="numpy") for w in waves]
    near = np.mean([dtw_distance(feats[i], feats[j]) for i in range(3) for j in range(3, 6)])
    far = np.mean([dtw_distance(feats[i], feats[j]) for i in range(3) for j in range(6, 9)])
    assert near < far


def test_missing_espeak_says_how_to_install(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    assert not speech.espeak_available()
    with pytest.raises(DatasetError, match="apt-get install espeak-ng"):
        speech.spoken_words(["dog"], per_word=1, engine="espeak")
    with pytest.raises(ConfigError, match="engine"):
        speech.spoken_words(["dog"], engine="festival")


def test_dtw_matches_a_plain_dynamic_programme(rng):
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    cost = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    acc = np.full((6, 8), np.inf)
    acc[0, 0] = 0
    for i in range(1, 6):
        for j in range(1, 8):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    assert dtw_distance(a, b) == pytest.approx(acc[5, 7] / 12)
    assert dtw_distance(a, a) == 0
    assert dtw_distance(a, np.repeat(a, 2, axis=0)) == 0  # warping absorbs a slowed-down copy


def test_mean_average_precision_on_known_rankings():
    labels = ["a", "a", "b", "b"]
    perfect = np.array([[0, 1, 5, 5], [1, 0, 5, 5], [5, 5, 0, 1], [5, 5, 1, 0]], float)
    assert mean_average_precision(perfect, labels) == 1.0
    worst = np.array([[0, 9, 1, 1], [9, 0, 1, 1], [1, 1, 0, 9], [1, 1, 9, 0]], float)
    assert mean_average_precision(worst, labels) == pytest.approx(1 / 3)
