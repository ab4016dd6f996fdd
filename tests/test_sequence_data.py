"""Sequence datasets: the adding problem and images as sequences, slot filling,
sequence-to-sequence toy tasks, the order-dependent sentiment corpus, and the IMDB loader
(downloads from a local HTTP server only; checksums; Keras's index semantics; no pickles
without allow_pickle=True)."""
import collections
import datetime
import functools
import hashlib
import http.server
import json
import os
import threading

import numpy as np
import pytest

from threestep.datasets import _files, imdb, sentiment, seq2seq, sequences, slot_filling
from threestep.errors import ConfigError, DataError, DatasetError


# --------------------------------------------------------------------------- adding problem

@pytest.mark.parametrize("T", [2, 3, 10, 101])
def test_adding_problem_markers_and_targets(T):
    x, y = sequences.adding_problem(500, T, seed=3)
    assert x.shape == (500, T, 2) and y.shape == (500,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = T // 2
    np.testing.assert_array_equal(markers[:, :half].sum(1), 1)  # one in the first half
    np.testing.assert_array_equal(markers[:, half:].sum(1), 1)  # one in the second half
    np.testing.assert_allclose(y, (values * markers).sum(1), rtol=1e-6)


def test_adding_problem_is_deterministic_and_markers_spread_over_each_half():
    a = sequences.adding_problem(2000, 20, seed=0)
    b = sequences.adding_problem(2000, 20, seed=0)
    c = sequences.adding_problem(2000, 20, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    positions = np.nonzero(a[0][..., 1])[1]
    assert set(positions) == set(range(20))


def test_adding_problem_baseline_is_one_sixth():
    _, y = sequences.adding_problem(40000, 50, seed=0)
    assert sequences.ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(1 / 6, abs=0.005)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kwargs", [{"n": 3, "T": 1}, {"n": -1, "T": 5}, {"n": 3, "T": 2.5}])
def test_adding_problem_bad_arguments(kwargs):
    with pytest.raises(ConfigError, match="Received"):
        sequences.adding_problem(**kwargs)


def test_parity():
    x, y = sequences.parity(100, 7, seed=0)
    assert x.shape == (100, 7, 1) and y.shape == (100,)
    np.testing.assert_array_equal(y, x[..., 0].sum(1) % 2)


# --------------------------------------------------------------------------- images as sequences

def test_row_sequential_rows_are_time_steps(rng):
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    x = sequences.row_sequential(images)
    assert x.shape == (5, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x, images / 255, rtol=1e-6)
    np.testing.assert_array_equal(sequences.row_sequential(images.reshape(5, 784)), x)
    np.testing.assert_array_equal(sequences.row_sequential(images[..., None]), x)
    np.testing.assert_array_equal(sequences.row_sequential(x), x)  # floats in [0, 1] kept


def test_row_sequential_permuted_uses_one_fixed_permutation(rng):
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    p1 = sequences.row_sequential(images, permuted=True, seed=5)
    p2 = sequences.row_sequential(images[2:], permuted=True, seed=5)  # e.g. a test set
    np.testing.assert_array_equal(p1[2:], p2)
    assert not np.array_equal(p1, sequences.row_sequential(images))
    np.testing.assert_array_equal(np.sort(p1.reshape(4, -1), 1),
                                  np.sort(images.reshape(4, -1) / np.float32(255), 1))
    perm = np.random.default_rng(5).permutation(784)
    flat = images.reshape(4, -1) / np.float32(255)
    np.testing.assert_array_equal(p1.reshape(4, -1), flat[:, perm])
    pix = sequences.pixel_sequential(images, permuted=True, seed=5)
    assert pix.shape == (4, 784, 1)
    np.testing.assert_array_equal(pix[..., 0], p1.reshape(4, -1))


def test_row_sequential_scale_and_bad_inputs():
    digits = np.full((2, 8, 8), 16, dtype=np.uint8)
    np.testing.assert_array_equal(sequences.row_sequential(digits, scale=16), 1.0)
    with pytest.raises(DataError, match="scale"):
        sequences.row_sequential(np.full((1, 4, 4), 3.0))
    with pytest.raises(DataError, match="shape"):
        sequences.row_sequential(np.zeros((3, 10)))


# --------------------------------------------------------------------------- slot filling

@pytest.fixture(scope="module")
def slots():
    return slot_filling.load_data(n_train=600, n_test=200, seed=0)


def test_slot_filling_shapes_padding_and_determinism(slots):
    vocab, tags = slots["vocab"], slots["tags"]
    assert vocab["<pad>"] == 0 and vocab["<other>"] == 1 and tags[0] == "<pad>"
    for split, n in (("train", 600), ("test", 200)):
        x, y, lengths = slots[f"x_{split}"], slots[f"y_{split}"], slots[f"len_{split}"]
        assert x.shape == y.shape == (n, slot_filling.MAX_LEN)
        assert x.dtype == y.dtype == np.int32
        assert lengths.min() >= 5 and lengths.max() <= 12
        steps = np.arange(x.shape[1])
        real = steps[None, :] < lengths[:, None]
        assert (x[real] > 0).all() and (x[~real] == 0).all()
        assert (y[real] > 0).all() and (y[~real] == 0).all()
    again = slot_filling.load_data(n_train=600, n_test=200, seed=0)
    np.testing.assert_array_equal(again["x_train"], slots["x_train"])
    assert not np.array_equal(slot_filling.load_data(600, 200, seed=1)["x_train"], slots["x_train"])


def test_same_city_is_destination_after_arrive_and_departure_after_leave(slots):
    roles = collections.defaultdict(set)   # (cue, city) -> tags
    tags_of_word = collections.defaultdict(set)
    for x, y in zip(slots["x_train"], slots["y_train"]):
        pairs = slot_filling.decode(x, tag_ids=y)
        for (prev, _), (word, tag) in zip(pairs, pairs[1:]):
            roles[prev, word].add(tag)
        for word, tag in pairs:
            tags_of_word[word].add(tag)
    both = [c for c in slot_filling.CITIES if " " not in c
            and roles["arrive", c] == {"B-dest"} and roles["leave", c] == {"B-depart"}]
    assert "taipei" in both and len(both) >= 4
    for city in slot_filling.CITIES:          # the word alone never decides its tag
        first = city.split()[0]
        assert {"B-dest", "B-depart"} <= tags_of_word[first], city
    assert {"B-time"} <= tags_of_word["november"] or {"B-time"} <= tags_of_word["monday"]


def test_slot_filling_unseen_cities_are_other_and_only_in_test(slots):
    other = slots["vocab"]["<other>"]
    assert "osaka" not in slots["vocab"]
    assert not (slots["x_train"] == other).any()
    assert not any("osaka" in s or "kaohsiung" in s for s in slots["sentences_train"])
    unseen = [i for i, s in enumerate(slots["sentences_test"]) if "osaka" in s.split()]
    assert unseen and all((slots["x_test"][i] == other).any() for i in unseen)
    assert not set(slots["sentences_test"]) & set(slots["sentences_train"])


def test_slot_filling_encode_decode_round_trip(slots):
    words = [slot_filling.decode(x) for x in slots["x_train"][:50]]
    assert [" ".join(w) for w in words] == slots["sentences_train"][:50]
    ids = slot_filling.encode(["Arrive Taipei on November 2nd", "leave Gotham at 8 am"])
    assert slot_filling.decode(ids) == [["arrive", "taipei", "on", "november", "2nd"],
                                        ["leave", "<other>", "at", "8", "am"]]
    rng = np.random.default_rng(0)
    for _ in range(100):
        w, t = slot_filling.make_sentence(rng)
        assert len(w) == len(t) and 5 <= len(w) <= 12
        assert all(tag in slot_filling.TAGS for tag in t)
        for prev, tag in zip(t, t[1:]):   # I-x only continues B-x or I-x
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], (w, t)


# --------------------------------------------------------------------------- seq2seq

def test_addition_problems_are_distinct_and_correct():
    q, a = seq2seq.addition(3000, digits=3, seed=0)
    assert len(q) == len(a) == 3000
    pairs = [tuple(sorted(map(int, s.split("+")))) for s in q]
    assert len(set(pairs)) == 3000          # no "12+5" next to "5+12"
    assert all(int(x) + int(y) == int(ans) for (x, y), ans in
               zip((s.split("+") for s in q), a))
    assert max(len(s) for s in q) <= 7 and max(len(s) for s in a) <= 4
    assert seq2seq.addition(3000, 3, seed=0) == (q, a)
    full, _ = seq2seq.addition(55, digits=1, seed=0)
    assert len({tuple(sorted(s.split("+"))) for s in full}) == 55
    with pytest.raises(ConfigError, match="55"):
        seq2seq.addition(56, digits=1)


def test_train_test_split_has_no_question_on_both_sides():
    q, a = seq2seq.addition(1000, digits=2, seed=1)
    (q_tr, a_tr), (q_te, a_te) = seq2seq.train_test_split(q, a, test_size=0.2, seed=0)
    assert len(q_te) == 200 and len(q_tr) == 800
    assert not set(q_tr) & set(q_te)
    assert dict(zip(q_tr + q_te, a_tr + a_te)) == dict(zip(q, a))
    with pytest.raises(DataError, match="repeat"):
        seq2seq.train_test_split(["1+1", "1+1"], ["2", "2"])


def test_char_table_round_trip_and_special_symbols():
    table = seq2seq.CharTable(seq2seq.ADDITION_CHARS)
    assert (seq2seq.PAD, seq2seq.GO, seq2seq.EOS) == (0, 1, 2) and table.size == 14
    q, _ = seq2seq.addition(200, seed=2)
    ids = table.encode(q)
    assert ids.dtype == np.int32 and ids.shape == (200, max(map(len, q)))
    assert table.decode(ids) == q
    assert table.decode(table.encode(q, reverse=True), reverse=True) == q
    assert table.decode(table.one_hot(ids)) == q
    pre = table.encode(["1+2", "10+20"], padding="pre")
    np.testing.assert_array_equal(pre[0, :2], 0)
    assert table.decode(pre) == ["1+2", "10+20"]
    assert table.decode([4, 3, 4, 2, 5, 5]) == "0+0"            # stops at EOS
    assert table.decode([4, 2, 5], stop_at_eos=False) == "01"   # EOS itself is no char
    with pytest.raises(DataError, match="'x'"):
        table.encode(["1x2"])
    with pytest.raises(DataError, match="maxlen"):
        table.encode(["123"], maxlen=2)


def test_teacher_forcing_arrays_go_answer_eos():
    q, a = seq2seq.addition(300, seed=3)
    table = seq2seq.CharTable.from_strings(q, a)
    enc, dec_in, dec_out = seq2seq.teacher_forcing(q, a, table)
    t_out = max(map(len, a)) + 1
    assert enc.shape == (300, max(map(len, q))) and dec_in.shape == dec_out.shape == (300, t_out)
    assert (dec_in[:, 0] == seq2seq.GO).all()
    for i, ans in enumerate(a):
        n = len(ans)
        assert dec_out[i, n] == seq2seq.EOS and (dec_out[i, n + 1:] == seq2seq.PAD).all()
        np.testing.assert_array_equal(dec_in[i, 1:n + 1], dec_out[i, :n])  # shifted by one
        assert (dec_out[i] == seq2seq.EOS).sum() == 1 and not (dec_in[i] == seq2seq.EOS).any()
    assert table.decode(dec_out) == a and table.decode(dec_in) == a
    assert table.decode(enc) == q


def test_greedy_decode_feeds_back_its_own_outputs_and_stops_at_eos():
    q, a = seq2seq.addition(50, seed=4)
    table = seq2seq.CharTable(seq2seq.ADDITION_CHARS)
    enc, dec_in, dec_out = seq2seq.teacher_forcing(q, a, table)
    calls = []

    def oracle(e, d):
        # A perfect causal "model": checks it is fed GO + its own previous outputs.
        t = len(calls)
        calls.append(t)
        np.testing.assert_array_equal(d[:, :t + 1], dec_in[:, :t + 1])
        assert (d[:, t + 1:] == seq2seq.PAD).all()
        return table.one_hot(dec_out)

    out = seq2seq.greedy_decode(oracle, enc, max_len=dec_in.shape[1])
    assert table.decode(out) == a
    assert len(calls) == max(map(len, a)) + 1   # stopped once every row wrote EOS
    with pytest.raises(DataError, match="shaped"):
        seq2seq.greedy_decode(lambda e, d: np.zeros((len(e), 3)), enc, 5)


def test_dates_are_human_formats_of_the_iso_answer():
    q, a = seq2seq.dates(2000, seed=0)
    assert len(set(q)) == 2000 and seq2seq.dates(2000, seed=0) == (q, a)
    parsers = ["%d %B %Y", "%B %d, %Y", "%d/%m/%y", "%A, %B %d, %Y", "%d.%m.%Y",
               "%a %d %b %y", "%B %d %Y"]
    parsed = 0
    for human, iso in zip(q, a):
        day = datetime.date.fromisoformat(iso)
        assert seq2seq.FIRST_DATE <= day <= seq2seq.LAST_DATE
        for fmt in parsers:
            try:
                got = datetime.datetime.strptime(human.title(), fmt).date()
            except ValueError:
                continue
            if "%y" in fmt and got.year > 2049:   # two-digit years 50..99 are 19xx
                got = got.replace(year=got.year - 100)
            assert got == day, (human, iso)
            parsed += 1
            break
        else:
            assert any(w in human for w in ("st ", "nd ", "rd ", "th ")), human
    assert parsed > 1200
    assert "Monday, May 3, 2021" == seq2seq.DATE_FORMATS[3](datetime.date(2021, 5, 3))
    assert "03/05/21" == seq2seq.DATE_FORMATS[2](datetime.date(2021, 5, 3))


# --------------------------------------------------------------------------- sentiment

@pytest.fixture(scope="module")
def reviews():
    return sentiment.load_data(n_train=2000, n_test=500, seed=0)


def test_sentiment_shapes_labels_and_determinism(reviews):
    assert reviews["x_train"].shape == (2000, 12) and reviews["x_test"].shape == (500, 12)
    assert reviews["x_train"].dtype == np.int32 and reviews["y_train"].dtype == np.int64
    assert set(np.unique(reviews["y_train"])) == {0, 1}
    assert abs(reviews["y_train"].mean() - 0.5) < 0.05
    assert (reviews["x_train"][:, -1] > 0).all()     # padded before the words
    assert not set(reviews["texts_test"]) & set(reviews["texts_train"])
    again = sentiment.load_data(n_train=2000, n_test=500, seed=0)
    np.testing.assert_array_equal(again["x_test"], reviews["x_test"])
    np.testing.assert_array_equal(again["pairs"], reviews["pairs"])


def test_sentiment_pairs_have_the_same_words_and_opposite_labels(reviews):
    pairs, texts, y = reviews["pairs"], reviews["texts_test"], reviews["y_test"]
    assert pairs.shape == (150, 2)
    assert len(set(pairs.ravel())) == 300
    bow = sentiment.bag_of_words(reviews["x_test"])
    kinds = collections.Counter()
    for i, j in pairs:
        assert sorted(texts[i].split()) == sorted(texts[j].split())
        assert texts[i] != texts[j]
        np.testing.assert_array_equal(bow[i], bow[j])
        assert (y[i], y[j]) == (1, 0)
        kinds[reviews["kinds_test"][i]] += 1
    assert set(kinds) == {"negation_pair", "contrast_pair", "agent_pair"}
    for i, j in pairs:   # the lecture's "white cells destroyed the infection" and its reverse
        if reviews["kinds_test"][i] == "agent_pair":
            hero = next(a for a in sentiment.GOOD_AGENTS if a in texts[i])
            enemy = next(a for a in sentiment.BAD_AGENTS if a in texts[i])
            assert texts[i].index(hero) < texts[i].index(enemy)
            assert texts[j].index(enemy) < texts[j].index(hero)


def test_bag_of_words_model_is_at_chance_on_pairs_but_not_on_single_reviews(reviews):
    def features(x):
        # A function of the bag of words only: counts, counts times the count of "not"
        # (so "not good" can differ from "good"), and a bias.
        bag = sentiment.bag_of_words(x)
        nots = bag[:, [sentiment.VOCAB["not"]]]
        return np.hstack([bag, bag * nots, np.ones((len(x), 1), np.float32)])

    a = features(reviews["x_train"]).astype(np.float64)
    # Ridge regression onto +-1 labels (normal equations: fast and deterministic).
    w = np.linalg.solve(a.T @ a + 1e-3 * np.eye(a.shape[1]), a.T @ (2.0 * reviews["y_train"] - 1))
    pred = (features(reviews["x_test"]) @ w > 0).astype(int)
    correct = pred == reviews["y_test"]
    pairs = reviews["pairs"]
    assert correct[pairs.ravel()].mean() == 0.5     # one of each twin, whatever the weights
    single = np.array([k in ("simple", "negated") for k in reviews["kinds_test"]])
    assert correct[single].mean() > 0.9


def test_sentiment_labels_follow_the_rules():
    rng = np.random.default_rng(0)
    pos, neg = set(sentiment.POSITIVE), set(sentiment.NEGATIVE)
    for _ in range(200):
        text, label = sentiment.make_single(rng, negated=bool(rng.integers(2)))
        words = text.split()
        polarity = words[-1] in pos
        assert label == int(polarity != ("not" in words))
        assert words[-1] in pos | neg
    for _ in range(100):
        (good, one), (bad, zero) = sentiment.make_pair(rng, "contrast_pair")
        assert (one, zero) == (1, 0)
        assert good.split()[-1] in pos and bad.split()[-1] in neg
    (text, _), (twin, _) = sentiment.make_pair(rng, "agent_pair")
    assert sorted(text.split()) == sorted(twin.split())


# --------------------------------------------------------------------------- IMDB

TRAIN = [[1, 2, 3], [4, 5], [6], [2, 2, 2, 2], [7]]
TEST = [[7, 1], [3, 3, 3], [5]]


def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def write_npz(path, train=TRAIN, test=TEST):
    np.savez(path, x_train=_object_array([list(x) for x in train]),
             y_train=np.arange(len(train), dtype=np.int64) % 2,
             x_test=_object_array([list(x) for x in test]),
             y_test=np.arange(len(test), dtype=np.int64) % 2 + 10)
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 (port 0) serving ``root``; yields (root, url)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def world(tmp_path, monkeypatch, server):
    """Fresh HOME, no $THREESTEP_DATA, mirrors = the local server serving a small imdb.npz."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("THREESTEP_DATA", raising=False)
    monkeypatch.delenv(imdb.MIRROR_ENV, raising=False)
    monkeypatch.setattr(_files, "DOWNLOAD_TIMEOUT", 5.0)
    root, url = server
    monkeypatch.setattr(imdb, "SHA256", write_npz(root / "imdb.npz"))
    monkeypatch.setattr(imdb, "MIRRORS", [url])
    return root, home / ".threestep" / "datasets" / "imdb"


def keras_reference(seed=113):
    """The shuffled raw splits, as Keras's RandomState(seed) shuffles train then test."""
    rng = np.random.RandomState(seed)
    out = []
    for xs in (TRAIN, TEST):
        order = np.arange(len(xs))
        rng.shuffle(order)
        out.append([xs[i] for i in order])
    return out


def test_imdb_downloads_verifies_caches_and_reuses(world):
    root, cache = world
    (x_train, y_train), (x_test, y_test) = imdb.load_data(allow_pickle=True, index_from=0,
                                                          start_char=None, num_words=100)
    assert (cache / "imdb.npz").is_file() and os.listdir(cache) == ["imdb.npz"]
    train, test = keras_reference()
    assert x_train.dtype == object and x_train.shape == (5,) and list(x_train) == train
    assert list(x_test) == test and y_test.dtype == np.int64 and set(y_test) <= {10, 11}
    (root / "imdb.npz").unlink()                       # the server no longer has it
    again = imdb.load_data(allow_pickle=True, index_from=0, start_char=None, num_words=100)
    assert list(again[0][0]) == train


def test_imdb_keras_index_semantics(world):
    train, test = keras_reference()
    (x_train, y_train), (x_test, _) = imdb.load_data(allow_pickle=True)
    # defaults: start_char 1, words shifted by 3, num_words None -> the largest index (10)
    # is itself mapped to oov_char 2 (Keras's own behaviour)
    def shift(x):
        return [1] + [w + 3 if w + 3 < 10 else 2 for w in x]
    assert list(x_train) == [shift(x) for x in train]
    assert list(x_test) == [shift(x) for x in test]
    (x_train, _), _ = imdb.load_data(allow_pickle=True, num_words=6)
    assert list(x_train) == [[1] + [w + 3 if w + 3 < 6 else 2 for w in x] for x in train]
    (x_train, _), _ = imdb.load_data(allow_pickle=True, num_words=8, skip_top=5, oov_char=None)
    assert list(x_train) == [[w + 3 for w in x if 5 <= w + 3 < 8] for x in train]
    (x_train, _), _ = imdb.load_data(allow_pickle=True, skip_top=2, num_words=100)
    assert all(x[0] == 2 for x in x_train)             # start_char 1 < skip_top -> oov
    (x_train, y_train), (x_test, _) = imdb.load_data(allow_pickle=True, maxlen=3, num_words=100,
                                                     index_from=5, start_char=9)
    assert list(x_train) == [[9] + [w + 5 for w in x] for x in train if len(x) + 1 < 3]
    assert len(y_train) == len(x_train) == 2 and list(x_test) == [[9, 10]]
    with pytest.raises(DatasetError, match="maxlen"):
        imdb.load_data(allow_pickle=True, maxlen=2)
    other = imdb.load_data(allow_pickle=True, seed=1, num_words=100)[0][0]
    assert sorted(map(tuple, other)) == sorted(map(tuple, imdb.load_data(
        allow_pickle=True, num_words=100)[0][0]))


def test_imdb_refuses_pickles_without_allow_pickle(world):
    _, cache = world
    with pytest.raises(DatasetError, match="allow_pickle=True") as info:
        imdb.load_data()
    assert "arbitrary code" in str(info.value) and "SHA-256" in str(info.value)
    assert (cache / "imdb.npz").is_file()   # verified and cached; a retry does not download


EXECUTED = []


def _record(*args):
    EXECUTED.append(args)
    return []


class _Payload:
    def __reduce__(self):
        return _record, ("code ran",)


def test_a_malicious_pickle_never_runs_without_allow_pickle(world, tmp_path, monkeypatch):
    evil = tmp_path / "evil" / "imdb.npz"
    evil.parent.mkdir()
    np.savez(evil, x_train=_object_array([_Payload()]), y_train=np.zeros(1),
             x_test=_object_array([[1]]), y_test=np.zeros(1))
    monkeypatch.setattr(imdb, "SHA256", None)          # nothing vouches for this file
    with pytest.raises(DatasetError, match="NOT checked"):
        imdb.load_data(path=str(evil))
    assert EXECUTED == []


def test_imdb_checksum_failure_leaves_nothing_and_never_unpickles(world, monkeypatch):
    _, cache = world
    monkeypatch.setattr(imdb, "SHA256", "0" * 64)

    def no_load(*args, **kwargs):
        raise AssertionError("np.load called on an unverified file")

    monkeypatch.setattr(np, "load", no_load)
    with pytest.raises(DatasetError, match="Checksum mismatch") as info:
        imdb.load_data(allow_pickle=True)
    assert "0" * 64 in str(info.value)
    assert not cache.exists() or os.listdir(cache) == []


def test_imdb_local_file_with_wrong_checksum_raises(world, monkeypatch):
    _, cache = world
    cache.mkdir(parents=True)
    write_npz(cache / "imdb.npz", train=[[9, 9]])
    with pytest.raises(DatasetError, match=str(cache / "imdb.npz")):
        imdb.load_data(allow_pickle=True)


def test_imdb_explicit_path_keras_cache_and_no_download(world, tmp_path):
    root, cache = world
    target = tmp_path / "elsewhere" / "my_imdb.npz"
    imdb.load_data(path=str(target), allow_pickle=True)
    assert target.is_file() and not cache.exists()
    keras_dir = tmp_path / "home" / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    (keras_dir / "imdb.npz").write_bytes((root / "imdb.npz").read_bytes())
    (root / "imdb.npz").unlink()
    imdb.load_data(allow_pickle=True)                 # found in Keras's cache
    assert not cache.exists()
    with pytest.raises(DatasetError, match="download=False"):
        imdb.load_data(path="other.npz", download=False)
    with pytest.raises(DatasetError, match="404"):
        imdb.load_data(path="other.npz")


def test_imdb_word_index_and_decoding(world, monkeypatch):
    root, cache = world
    (root / "imdb_word_index.json").write_text(json.dumps({"the": 1, "film": 2, "fun": 3}))
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5",
                        hashlib.md5((root / "imdb_word_index.json").read_bytes()).hexdigest())
    index = imdb.get_word_index()
    assert index == {"the": 1, "film": 2, "fun": 3}
    assert (cache / "imdb_word_index.json").is_file()
    assert imdb.decode_review([1, 4, 5, 2, 6, 0, 99], index) == \
        "<start> the film <unk> fun <pad> ?"
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", "f" * 32)
    with pytest.raises(DatasetError, match="Checksum"):
        imdb.get_word_index()


def test_imdb_is_exported_on_the_keras_path():
    from threestep.keras.datasets import imdb as keras_imdb

    # Keras's path takes Keras's load_data arguments (no allow_pickle: the file is pinned by
    # its SHA-256) and shares the word index; see tests/test_keras_datasets.py.
    assert keras_imdb.get_word_index is imdb.get_word_index
    assert imdb.SHA256 == "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
    with pytest.raises(TypeError, match="unrecognized"):
        imdb.load_data(nb_word=3)
