"""Text and sequence preprocessing: Keras's Tokenizer and pad_sequences (against examples
worked out by hand from Keras's documented semantics), the lecture's 1-of-N encoding with
an "other" dimension, and word hashing with letter trigrams."""
import math

import numpy as np
import pytest

from threestep.errors import ConfigError, DataError
from threestep.preprocessing import (Tokenizer, one_hot_encode, pad_sequences,
                                     text_to_word_sequence, tokenizer_from_json,
                                     trigram_vocabulary, word_hashing, word_trigrams)

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "the cat"]
# Counts: the 4, cat 2, then sat on mat dog ate my homework once each (first-seen order).
INDEX = {"the": 1, "cat": 2, "sat": 3, "on": 4, "mat": 5, "dog": 6, "ate": 7, "my": 8,
         "homework": 9}


# --------------------------------------------------------------------------- Tokenizer

def test_text_to_word_sequence_filters_lowercases_and_splits():
    assert text_to_word_sequence("Not bad,  GOOD!\tReally.") == ["not", "bad", "good", "really"]
    assert text_to_word_sequence("a-b c", filters="", lower=False) == ["a-b", "c"]
    assert text_to_word_sequence("x;y;z", split=";") == ["x", "y", "z"]


def test_tokenizer_ranks_words_by_count_then_first_appearance():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.word_index == INDEX
    assert tok.index_word == {i: w for w, i in INDEX.items()}
    assert list(tok.word_counts.items())[:3] == [("the", 4), ("cat", 2), ("sat", 1)]
    assert tok.word_docs["the"] == 3 and tok.word_docs["cat"] == 2
    assert tok.index_docs[1] == 3 and tok.document_count == 3
    assert tok.texts_to_sequences(["the cat ate the fish"]) == [[1, 2, 7, 1]]  # fish dropped


def test_tokenizer_num_words_keeps_indices_below_it():
    tok = Tokenizer(num_words=3)
    tok.fit_on_texts(TEXTS)
    assert tok.word_index == INDEX  # the index keeps every word
    assert tok.texts_to_sequences(["the cat ate the fish"]) == [[1, 2, 1]]
    assert tok.sequences_to_texts([[1, 2, 7, 1]]) == ["the cat the"]
    assert tok.texts_to_matrix(["the dog"]).shape == (1, 3)


def test_tokenizer_oov_token_takes_index_1_and_replaces_unknown_and_cut_words():
    tok = Tokenizer(num_words=3, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2
    assert tok.word_index["cat"] == 3 and len(tok.word_index) == 10
    # the=2 kept; cat=3 >= num_words -> oov; ate cut -> oov; fish unknown -> oov
    assert tok.texts_to_sequences(["the cat ate the fish"]) == [[2, 1, 1, 2, 1]]
    assert tok.sequences_to_texts([[2, 3, 99]]) == ["the <OOV> <OOV>"]
    full = Tokenizer(oov_token="<OOV>")
    full.fit_on_texts(TEXTS)
    assert full.texts_to_sequences(["the cat ate the fish"]) == [[2, 3, 8, 2, 1]]


def test_sequences_to_texts_drops_unknown_indices_without_oov():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.sequences_to_texts([[1, 2, 7, 99], []]) == ["the cat ate", ""]
    assert tok.sequences_to_texts(tok.texts_to_sequences(["The dog, the cat"])) == \
        ["the dog the cat"]


def test_texts_to_matrix_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    text = ["the cat the", ""]
    expected = {"binary": {1: 1, 2: 1}, "count": {1: 2, 2: 1}, "freq": {1: 2 / 3, 2: 1 / 3},
                # tfidf: (1 + log count) * log(1 + documents / (1 + documents with word))
                "tfidf": {1: (1 + math.log(2)) * math.log(1 + 3 / 4),
                          2: 1 * math.log(1 + 3 / 3)}}
    for mode, cells in expected.items():
        m = tok.texts_to_matrix(text, mode=mode)
        want = np.zeros((2, 10))
        for j, v in cells.items():
            want[0, j] = v
        assert m.dtype == np.float64
        np.testing.assert_allclose(m, want, err_msg=mode)
    with pytest.raises(ConfigError, match="mode"):
        tok.texts_to_matrix(text, mode="onehot")
    with pytest.raises(ConfigError, match="num_words"):
        Tokenizer().texts_to_matrix(["a"])


def test_tokenizer_char_level_and_token_lists():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["abca", "C"])
    assert tok.word_counts == {"a": 2, "b": 1, "c": 2}
    assert tok.word_index == {"a": 1, "b": 3, "c": 2}  # a and c tie at 2: a seen first
    words = Tokenizer()
    words.fit_on_texts([["Hello", "world"], ["hello"]])
    assert words.word_index == {"hello": 1, "world": 2}
    assert words.texts_to_sequences([["WORLD", "hello", "x"]]) == [[2, 1]]


def test_tokenizer_json_round_trip():
    tok = Tokenizer(num_words=5, oov_token="<unk>")
    tok.fit_on_texts(TEXTS)
    back = tokenizer_from_json(tok.to_json())
    assert back.word_index == tok.word_index and back.index_word == tok.index_word
    assert back.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(back.texts_to_matrix(TEXTS, "tfidf"),
                                  tok.texts_to_matrix(TEXTS, "tfidf"))
    with pytest.raises(ConfigError):
        tokenizer_from_json("{}")


def test_tokenizer_rejects_a_single_string():
    tok = Tokenizer()
    with pytest.raises(DataError, match="list"):
        tok.fit_on_texts("the cat")
    with pytest.raises(ConfigError, match="num_words"):
        Tokenizer(num_words=-1)
    with pytest.warns(DeprecationWarning, match="num_words"):
        assert Tokenizer(nb_words=7).num_words == 7  # Keras 1 spelling


# --------------------------------------------------------------------------- pad_sequences

SEQS = [[1, 2, 3, 4], [5, 6], [7]]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[1, 2, 3, 4], [0, 0, 5, 6], [0, 0, 0, 7]]),
    ({"maxlen": 3}, [[2, 3, 4], [0, 5, 6], [0, 0, 7]]),
    ({"maxlen": 3, "truncating": "post"}, [[1, 2, 3], [0, 5, 6], [0, 0, 7]]),
    ({"maxlen": 3, "padding": "post"}, [[2, 3, 4], [5, 6, 0], [7, 0, 0]]),
    ({"maxlen": 3, "padding": "post", "truncating": "post"}, [[1, 2, 3], [5, 6, 0], [7, 0, 0]]),
    ({"maxlen": 5, "value": -1}, [[-1, 1, 2, 3, 4], [-1, -1, -1, 5, 6], [-1, -1, -1, -1, 7]]),
    ({"maxlen": 1}, [[4], [6], [7]]),
])
def test_pad_sequences_like_keras(kwargs, expected):
    out = pad_sequences(SEQS, **kwargs)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_pad_sequences_dtype_empty_and_vector_sequences():
    out = pad_sequences([[1.7, 2.2], []], dtype="float32", value=0.5)
    np.testing.assert_allclose(out, [[1.7, 2.2], [0.5, 0.5]], rtol=1e-6)
    np.testing.assert_array_equal(pad_sequences([[1.7, 2.2]]), [[1, 2]])  # int32 truncates
    np.testing.assert_array_equal(pad_sequences([np.array([3, 4]), (5,)]), [[3, 4], [0, 5]])
    vec = pad_sequences([[[1, 2], [3, 4]], [[5, 6]]])
    assert vec.shape == (2, 2, 2)
    np.testing.assert_array_equal(vec[1], [[0, 0], [5, 6]])
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_pad_sequences_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences(SEQS, truncating="both")
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="<pad>")
    with pytest.raises(DataError, match=r"sequences\[1\]"):
        pad_sequences([[1], 5])
    with pytest.raises(DataError, match="shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ConfigError, match="maxlen"):
        pad_sequences(SEQS, maxlen=-2)


# --------------------------------------------------------------------------- 1-of-N

LECTURE_VOCAB = ["apple", "bag", "cat", "dog", "elephant"]


def test_one_hot_encode_with_other_dimension():
    v = one_hot_encode("cat", LECTURE_VOCAB)
    np.testing.assert_array_equal(v, [0, 0, 1, 0, 0, 0])
    assert v.dtype == np.float32
    m = one_hot_encode(["apple", "Gandalf", "dog", "Sauron"], LECTURE_VOCAB)
    assert m.shape == (4, 6)
    np.testing.assert_array_equal(m.argmax(1), [0, 5, 3, 5])  # unknown words -> "other"
    np.testing.assert_array_equal(m.sum(1), 1)
    d = one_hot_encode(["b", "a"], {"a": 1, "b": 0}, other=False)
    np.testing.assert_array_equal(d, [[1, 0], [0, 1]])


def test_one_hot_encode_without_other_rejects_unknown_words():
    with pytest.raises(DataError, match="Gandalf"):
        one_hot_encode(["cat", "Gandalf"], LECTURE_VOCAB, other=False)
    with pytest.raises(ConfigError, match="repeats"):
        one_hot_encode("a", ["a", "a"])
    with pytest.raises(ConfigError):
        one_hot_encode("a", {"a": 3})


# --------------------------------------------------------------------------- word hashing

def test_trigram_vocabulary_layout():
    vocab = trigram_vocabulary()
    assert len(vocab) == 26 ** 3 + 2 * 26 ** 2 + 26 == 18954
    assert len(set(vocab)) == len(vocab)
    assert vocab[:2] == ("aaa", "aab") and vocab[26 ** 3] == "#aa" and vocab[-1] == "#z#"
    assert all(len(t) == 3 and "##" not in t and "#" not in t[1] for t in vocab)


def test_word_hashing_apple():
    assert word_trigrams("apple") == ["#ap", "app", "ppl", "ple", "le#"]
    v = word_hashing("apple")
    vocab = trigram_vocabulary()
    assert v.shape == (18954,) and v.dtype == np.float32 and v.sum() == 5
    assert sorted(vocab[i] for i in np.flatnonzero(v)) == ["#ap", "app", "le#", "ple", "ppl"]


def test_word_hashing_counts_repeats_and_handles_short_words():
    vocab = trigram_vocabulary()
    banana = word_hashing("Banana")
    assert banana[vocab.index("ana")] == 2 and banana.sum() == 6
    assert word_trigrams("a") == ["#a#"] and word_trigrams("it") == ["#it", "it#"]
    assert word_trigrams("don't") == word_trigrams("dont")
    assert word_trigrams("2nd!") == ["#nd", "nd#"]
    assert word_hashing("123").sum() == 0
    m = word_hashing(["apple", "apply", "apple"])
    assert m.shape == (3, 18954)
    np.testing.assert_array_equal(m[0], m[2])
    assert (m[0] != m[1]).any()


def test_keras_import_paths():
    from threestep.keras.preprocessing.sequence import pad_sequences as keras_pad
    from threestep.keras.preprocessing.text import Tokenizer as KerasTokenizer

    assert keras_pad is pad_sequences and KerasTokenizer is Tokenizer
