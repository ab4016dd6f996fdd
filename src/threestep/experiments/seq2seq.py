"""Sequence to sequence: order-aware auto-encoder codes, attention on long inputs, parsing as translation."""
import numpy

from . import common
from .base import Result, experiment
from .report import save_figure
from ..utils.plotting import subplots

#: A pair of codes counts as distinct when their cosine distance exceeds this.
DISTINCT = 1e-3
#: ... and differs from the other at all when above this (float32 rounding is about 1e-7).
NONZERO = 1e-6


def cosine_distance(a, b):
    """Row-wise cosine distance 1 - cos(a_i, b_i) of two (n, d) arrays."""
    a, b = numpy.asarray(a, dtype=numpy.float64), numpy.asarray(b, dtype=numpy.float64)
    num = (a * b).sum(axis=1)
    den = numpy.linalg.norm(a, axis=1) * numpy.linalg.norm(b, axis=1)
    return 1.0 - num / numpy.maximum(den, 1e-12)


def bag_of_words(vocab, texts):
    """Word counts (n, vocab.size) of the texts."""
    ids = vocab.encode(texts)
    out = numpy.zeros((len(texts), vocab.size))
    for row, seq in enumerate(ids):
        numpy.add.at(out[row], seq[seq > 2], 1)
    return out


def _train(model, inputs, target, epochs, seed, lr=0.01, batch_size=32):
    from ..optimizers import Adam  # noqa: PLC0415

    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=lr, clipnorm=1.0))
    return model.fit(inputs, target, batch_size=batch_size, epochs=epochs, verbose=0, seed=seed).history["loss"]


def _token_accuracy(predicted, gold):
    """Share of gold tokens reproduced at their position (a missing token counts as wrong)."""
    right = total = 0
    for p, g in zip(predicted, gold):
        p, g = p.split(), g.split()
        right += sum(a == b for a, b in zip(p, g))
        total += max(len(g), len(p))
    return right / max(total, 1)


def _nearest(codes, exclude_self=True):
    """Index of each row's nearest other row by cosine similarity."""
    x = codes / numpy.maximum(numpy.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    if exclude_self:
        numpy.fill_diagonal(sim, -numpy.inf)
    return sim.argmax(axis=1)


# --------------------------------------------------------------------------- seq2seq-autoencoder
@experiment("seq2seq-autoencoder", """Bag-of-words loses word order ("white blood cells destroyed the infection" and
"the infection destroyed white blood cells" get the same vector); an RNN encoder + decoder trained to reproduce the
sentence gives an order-aware code, and the hierarchical version (words -> sentences -> document) does the same for
documents.""")
def seq2seq_autoencoder(out_dir, quick, seed):
    from ..datasets import language  # noqa: PLC0415
    from ..models.seq2seq import hierarchical_autoencoder, sequence_autoencoder  # noqa: PLC0415

    n, n_test, units, epochs = (400, 60, 32, 3) if quick else (3000, 300, 64, 12)
    corpus = language.order_sentences(n + n_test, seed=seed)
    train, test = corpus.sentences[:n], corpus.sentences[n:]
    twins = corpus.swapped[n:]
    vocab = language.Vocabulary.from_texts(corpus.sentences, corpus.swapped)
    maxlen = max(len(s.split()) for s in corpus.sentences + corpus.swapped) + 1
    common.seed_all(seed)
    net = sequence_autoencoder(vocab.size, units=units, embed_dim=32)
    curve = _train(net.model, [vocab.encode(train, maxlen), vocab.encode(train, maxlen, go=True)],
                   vocab.encode(train, maxlen, eos=True), epochs, seed)
    decoded = vocab.decode(net.greedy_decode(vocab.encode(test, maxlen), maxlen))
    decoded_twins = vocab.decode(net.greedy_decode(vocab.encode(twins, maxlen), maxlen))
    exact = float(numpy.mean([d == t for d, t in zip(decoded + decoded_twins, test + twins)]))
    tokens = _token_accuracy(decoded + decoded_twins, test + twins)
    codes, twin_codes = net.encode(vocab.encode(test, maxlen)), net.encode(vocab.encode(twins, maxlen))
    code_gap = cosine_distance(codes, twin_codes)
    bow_gap = cosine_distance(bag_of_words(vocab, test), bag_of_words(vocab, twins))
    rng = numpy.random.default_rng(seed)
    other = rng.permutation(len(test))
    unrelated = cosine_distance(codes, codes[other])[other != numpy.arange(len(test))]
    # Nearest neighbours among held-out sentences and their twins: is the nearest one the twin (same words, other meaning)?
    pool_codes = numpy.concatenate([codes, twin_codes])
    pool_bags = numpy.concatenate([bag_of_words(vocab, test), bag_of_words(vocab, twins)])
    partner = numpy.concatenate([numpy.arange(len(test)) + len(test), numpy.arange(len(test))])
    nn_twin = {"code": float((_nearest(pool_codes) == partner).mean()),
               "bag of words": float((_nearest(pool_bags) == partner).mean())}
    both_right = numpy.array([d == t and e == w for d, t, e, w in zip(decoded, test, decoded_twins, twins)])
    same_bag = bool((bag_of_words(vocab, test) == bag_of_words(vocab, twins)).all())
    # The hierarchical variant: documents and the same sentences in another order.
    hier = _hierarchical(language, hierarchical_autoencoder, quick, seed)
    rows = [
        {"representation": "bag of words", "twin distance (mean)": float(bow_gap.mean()),
         "twin distance (min)": float(bow_gap.min()), "twin pairs > 1e-3": float((bow_gap > DISTINCT).mean()),
         "unrelated distance (mean)": float("nan"), "nearest is the twin": nn_twin["bag of words"],
         "twins both rebuilt exactly": float("nan"), "reconstruction exact": float("nan"),
         "reconstruction tokens": float("nan")},
        {"representation": f"seq2seq code (LSTM {units})", "twin distance (mean)": float(code_gap.mean()),
         "twin distance (min)": float(code_gap.min()), "twin pairs > 1e-3": float((code_gap > DISTINCT).mean()),
         "unrelated distance (mean)": float(unrelated.mean()), "nearest is the twin": nn_twin["code"],
         "twins both rebuilt exactly": float(both_right.mean()), "reconstruction exact": exact,
         "reconstruction tokens": tokens},
        {"representation": f"hierarchical document code (LSTM {units})",
         "twin distance (mean)": hier["gap"], "twin distance (min)": hier["min"],
         "twin pairs > 1e-3": hier["distinct"], "unrelated distance (mean)": hier["unrelated"],
         "nearest is the twin": float("nan"), "twins both rebuilt exactly": float("nan"),
         "reconstruction exact": hier["exact"], "reconstruction tokens": hier["tokens"]},
    ]
    # Distinct: a non-zero code distance (float32 noise is ~1e-7) for every pair, while the bags are identical,
    # and a decoder that rebuilds each sentence of most pairs in its own order from its code alone.
    distinct = bool(code_gap.min() > NONZERO) and same_bag
    held = distinct and both_right.mean() >= 0.8 and hier["min"] > NONZERO
    examples = [{"sentence": test[i], "decoded": decoded[i], "twin": twins[i], "decoded twin": decoded_twins[i],
                 "code distance": float(code_gap[i])} for i in range(min(5, len(test)))]
    return Result(
        setup=(f"{n} training and {n_test} held-out sentences from a small grammar (\"the A did (not) V the B\", "
               "and two-clause \"... and ...\" sentences); each held-out sentence has a twin with exactly the same "
               "bag of words and another meaning (subject and object swapped, or 'not' moved to the other clause). "
               f"Auto-encoder: Embedding(32, mask_zero) + LSTM({units}) encoder, its last hidden state is the code; "
               f"LSTM({units}) decoder started from the encoder's states, fed GO + the sentence (teacher forcing), "
               f"predicting the sentence + EOS; Adam lr 0.01, clipnorm 1, batch 32, {epochs} epochs. Reconstruction "
               "by greedy decoding from the code, on held-out sentences and their twins. 'nearest is the twin': among "
               "held-out sentences and twins, the nearest other one (cosine) is the sentence's own twin (same words, "
               f"other meaning). Hierarchical: {hier['setup']}"),
        data=f"generated word-order corpus ({n} / {n_test} sentences, vocabulary {vocab.size}); {hier['data']}",
        table=rows, held=held,
        because=(f"twin sentences with identical bags of words (bag-of-words distance 0): code distance mean "
                 f"{code_gap.mean():.4f}, min {code_gap.min():.1e} (unrelated pairs {unrelated.mean():.3f}); both "
                 f"sentences of a pair rebuilt exactly from their codes in {both_right.mean():.0%} of pairs; "
                 f"reordered documents: code distance min {hier['min']:.1e}, mean {hier['gap']:.3f}"),
        plots=[(_plot_autoencoder(curve, hier["curve"], code_gap, unrelated, out_dir),
                "Training loss, and cosine distances: twin pairs vs unrelated pairs")],
        tables={"Held-out examples": examples},
        numbers={"exact": exact, "tokens": tokens, "twin_distance": float(code_gap.mean()),
                 "unrelated_distance": float(unrelated.mean()), "nearest_is_twin": nn_twin, "hierarchical": {
                     k: v for k, v in hier.items() if k not in ("curve", "setup", "data")}})


def _hierarchical(language, builder, quick, seed):
    n, n_test, units, epochs, per_doc = (200, 40, 32, 3, 3) if quick else (1000, 200, 64, 8, 3)
    docs, reordered = language.documents(n + n_test, sentences_per_doc=per_doc, seed=seed)
    flat = [s for d in docs + reordered for s in d]
    vocab = language.Vocabulary.from_texts(flat)
    words = max(len(s.split()) for s in flat) + 1

    def ids(batch, **kw):
        return numpy.stack([vocab.encode(d, words, **kw) for d in batch])

    common.seed_all(seed)
    net = builder(vocab.size, per_doc, words, units=units, embed_dim=32)
    train = docs[:n]
    curve = _train(net.model, [ids(train, padding="pre"), ids(train, go=True)], ids(train, eos=True), epochs, seed)
    test, twins = docs[n:], reordered[n:]
    probs = net.model.predict([ids(test, padding="pre"), ids(test, go=True)])  # teacher-forced reconstruction
    gold = ids(test, eos=True)
    predicted = probs.argmax(axis=-1)
    real = gold > 0
    tokens = float((predicted == gold)[real].mean())
    exact = float(((predicted == gold) | ~real).all(axis=(1, 2)).mean())
    codes, twin_codes = net.encode(ids(test, padding="pre")), net.encode(ids(twins, padding="pre"))
    gap = cosine_distance(codes, twin_codes)
    other = numpy.roll(numpy.arange(len(test)), 1)
    return {"gap": float(gap.mean()), "distinct": float((gap > DISTINCT).mean()), "min": float(gap.min()),
            "unrelated": float(cosine_distance(codes, codes[other]).mean()), "exact": exact, "tokens": tokens,
            "curve": curve,
            "setup": (f"{n} training / {n_test} held-out documents of {per_doc} one-clause sentences; a word "
                      f"LSTM({units}) makes sentence vectors, a sentence LSTM({units}) the document code; the decoder "
                      "runs a sentence LSTM from the code and a word LSTM per sentence that sees its sentence vector "
                      f"(teacher forcing), {epochs} epochs. Twin: the same sentences rotated. Reconstruction scored "
                      "with teacher forcing."),
            "data": f"{n} / {n_test} generated documents"}


def _plot_autoencoder(curve, hier_curve, twin, unrelated, out_dir):
    fig, (a, b) = subplots(1, 2, figsize=(9, 3.2))
    a.plot(numpy.arange(1, len(curve) + 1), curve, label="sentence auto-encoder")
    a.plot(numpy.arange(1, len(hier_curve) + 1), hier_curve, label="hierarchical (documents)")
    a.set_xlabel("epoch")
    a.set_ylabel("training loss")
    a.legend(fontsize=7)
    bins = numpy.linspace(0, max(float(numpy.max(unrelated)), float(numpy.max(twin)), 1e-3), 30)
    b.hist(twin, bins=bins, alpha=0.6, label="order-swapped twins (bag-of-words distance 0)")
    b.hist(unrelated, bins=bins, alpha=0.6, label="unrelated sentences")
    b.set_xlabel("cosine distance between codes")
    b.legend(fontsize=7)
    return save_figure(fig, out_dir, "codes.png")


# --------------------------------------------------------------------------- attention
@experiment("attention", """Attention lets the decoder look at every encoder step instead of one fixed-length
vector: on a translation-like task its accuracy holds up as the input grows while the plain encoder-decoder's falls,
and the alignment it learns is the word correspondence (Bahdanau et al.).""")
def attention(out_dir, quick, seed):
    from ..datasets import language  # noqa: PLC0415
    from ..models.seq2seq import seq2seq  # noqa: PLC0415

    (lo, hi), n, n_test, units, epochs = ((3, 8), 500, 100, 32, 3) if quick else ((4, 20), 3000, 400, 64, 8)
    src, tgt = language.reordering(n + n_test, lo, hi, vocab=12, seed=seed)
    src_vocab, tgt_vocab = language.Vocabulary.from_texts(src), language.Vocabulary.from_texts(tgt)
    in_len, out_len = hi, hi + 1
    x, x_test = src_vocab.encode(src[:n], in_len), src_vocab.encode(src[n:], in_len)
    dec_in, dec_out = tgt_vocab.encode(tgt[:n], out_len, go=True), tgt_vocab.encode(tgt[:n], out_len, eos=True)
    lengths = numpy.array([len(s.split()) for s in src[n:]])
    edges = numpy.linspace(lo, hi + 1, 5 if not quick else 3).astype(int)
    buckets = list(zip(edges[:-1], edges[1:]))
    results, curves, nets = {}, {}, {}
    for kind, att in (("plain encoder-decoder", None), ("additive attention", "additive")):
        common.seed_all(seed)
        net = seq2seq(src_vocab.size, tgt_vocab.size, units=units, embed_dim=32, attention=att)
        curves[kind] = _train(net.model, [x, dec_in], dec_out, epochs, seed)
        decoded = tgt_vocab.decode(net.greedy_decode(x_test, out_len))
        results[kind] = numpy.array([_token_accuracy([d], [g]) for d, g in zip(decoded, tgt[n:])]), \
            numpy.array([d == g for d, g in zip(decoded, tgt[n:])])
        nets[kind] = net
    rows = []
    for a, b in buckets:
        pick = (lengths >= a) & (lengths < b)
        row = {"input length": f"{a}-{b - 1}", "test sequences": int(pick.sum())}
        for kind in results:
            row[f"{kind}: token acc."] = float(results[kind][0][pick].mean()) if pick.any() else float("nan")
            row[f"{kind}: exact"] = float(results[kind][1][pick].mean()) if pick.any() else float("nan")
        rows.append(row)
    # The learned alignment: target step i should look at source step L-1-i.
    att_net = nets["additive attention"]
    t_in = tgt_vocab.encode(tgt[n:], out_len, go=True)
    weights = numpy.asarray(att_net.alignment.predict([x_test, t_in]))
    on_diag = []
    for k, L in enumerate(lengths):
        peaks = weights[k, :L].argmax(axis=-1)
        on_diag.append(float(numpy.mean(peaks == numpy.arange(L - 1, -1, -1))))
    diag = float(numpy.mean(on_diag))
    longest = rows[-1]
    plain, attn = longest["plain encoder-decoder: token acc."], longest["additive attention: token acc."]
    held = attn - plain >= 0.1 and diag >= 0.5
    example = int(numpy.argmax(lengths))
    return Result(
        setup=(f"A reordering language: each source word s0..s11 has one target word t0..t11 and the target is "
               f"written in reverse order; input lengths uniform in {lo}..{hi}; {n} training and {n_test} test "
               f"sentences. Both models: Embedding(32, mask_zero) + LSTM({units}) encoder whose final states start an "
               f"LSTM({units}) decoder (teacher forcing); with attention, each decoder output queries the encoder "
               f"outputs through AdditiveAttention (Bahdanau scores on Dense-projected query and keys) and "
               f"Dense({units}, tanh) joins context and decoder output. Adam lr 0.01, clipnorm 1, batch 32, "
               f"{epochs} epochs; greedy decoding. 'on the anti-diagonal': share of target steps whose largest "
               "attention weight falls on the source word they translate."),
        data=f"generated reordering language ({n} / {n_test} sentences, lengths {lo}-{hi})", table=rows, held=held,
        because=(f"at input lengths {longest['input length']}: token accuracy plain {plain:.3f} vs attention "
                 f"{attn:.3f}; the attention peak is on the translated word for {diag:.0%} of target steps"),
        plots=[(_plot_attention(rows, results, curves, out_dir), "Token accuracy by input length, training loss"),
               (_plot_alignment(weights[example], src[n + example], tgt[n + example], out_dir),
                "Learned alignment (additive attention) for the longest test sentence")],
        numbers={"alignment_on_diagonal": diag})


def _plot_attention(rows, results, curves, out_dir):
    fig, (a, b) = subplots(1, 2, figsize=(9, 3.2))
    labels = [r["input length"] for r in rows]
    for kind in results:
        a.plot(labels, [r[f"{kind}: token acc."] for r in rows], marker="o", label=kind)
        b.plot(numpy.arange(1, len(curves[kind]) + 1), curves[kind], label=kind)
    a.set_xlabel("input length")
    a.set_ylabel("test token accuracy")
    a.set_ylim(0, 1.02)
    a.legend(fontsize=7)
    b.set_xlabel("epoch")
    b.set_ylabel("training loss")
    return save_figure(fig, out_dir, "accuracy_by_length.png")


def _plot_alignment(weights, source, target, out_dir):
    src, tgt = source.split(), target.split() + ["<eos>"]
    fig, ax = subplots(1, 1, figsize=(0.3 * len(src) + 2, 0.3 * len(tgt) + 1.5))
    ax.imshow(weights[:len(tgt), :len(src)], cmap="gray_r", aspect="auto")
    ax.set_xticks(range(len(src)), src, rotation=90, fontsize=7)
    ax.set_yticks(range(len(tgt)), tgt, fontsize=7)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    return save_figure(fig, out_dir, "alignment.png")


# --------------------------------------------------------------------------- parsing-as-translation
@experiment("parsing-as-translation", """Syntactic parsing can be learned as translation ("Grammar as a foreign
language"): a sequence-to-sequence model with attention reads a sentence and writes its parse tree as a bracketed
sequence, and its outputs are mostly well-formed, correct trees.""")
def parsing_as_translation(out_dir, quick, seed):
    from ..datasets import language  # noqa: PLC0415
    from ..models.seq2seq import seq2seq  # noqa: PLC0415

    n, n_test, units, epochs, max_words = (300, 40, 32, 3, 5) if quick else (1500, 200, 64, 8, None)
    sentences, trees = language.parse_trees(n + n_test, max_words=max_words, seed=seed)
    src_vocab, tgt_vocab = language.Vocabulary.from_texts(sentences), language.Vocabulary.from_texts(trees)
    in_len = max(len(s.split()) for s in sentences)
    out_len = max(len(t.split()) for t in trees) + 1
    x, x_test = src_vocab.encode(sentences[:n], in_len), src_vocab.encode(sentences[n:], in_len)
    gold = trees[n:]
    rows, curves, outputs = [], {}, {}
    for kind, att in (("seq2seq", None), ("seq2seq + attention", "additive")):
        common.seed_all(seed)
        net = seq2seq(src_vocab.size, tgt_vocab.size, units=units, embed_dim=32, attention=att)
        curves[kind] = _train(net.model, [x, tgt_vocab.encode(trees[:n], out_len, go=True)],
                              tgt_vocab.encode(trees[:n], out_len, eos=True), epochs, seed)
        predicted = tgt_vocab.decode(net.greedy_decode(x_test, out_len))
        outputs[kind] = predicted
        words_kept = numpy.mean([[w for w in p.split() if w[0] not in "()"] == s.split()
                                 for p, s in zip(predicted, sentences[n:])])
        rows.append({"model": kind, "exact match": float(numpy.mean([p == g for p, g in zip(predicted, gold)])),
                     "bracket F1": language.bracket_f1(predicted, gold),
                     "well-formed": float(numpy.mean([language.well_formed(p) for p in predicted])),
                     "words copied right": float(words_kept)})
    best = rows[-1]
    held = best["well-formed"] >= 0.9 and best["bracket F1"] >= 0.8
    examples = [{"sentence": s, "gold": g, "predicted": p} for s, g, p in
                list(zip(sentences[n:], gold, outputs["seq2seq + attention"]))[:4]]
    return Result(
        setup=(f"Sentences from a small probabilistic grammar (S -> NP VP; NP with adjectives and PPs; transitive and "
               f"intransitive VPs) and their parse trees linearised as in Vinyals et al. 2015, e.g. "
               f"`{gold[0]}` (POS tags dropped); {n} training and {n_test} held-out sentences. Embedding(32, "
               f"mask_zero) + LSTM({units}) encoder, LSTM({units}) decoder (teacher forcing), with or without "
               f"additive attention; Adam lr 0.01, clipnorm 1, batch 32, {epochs} epochs; greedy decoding. Bracket "
               "F1: labelled spans, micro-averaged. Well-formed: balanced matching brackets under one S."),
        data=f"generated parse trees ({n} / {n_test}; output vocabulary {tgt_vocab.size})", table=rows, held=held,
        because=(f"with attention: exact match {best['exact match']:.2f}, bracket F1 {best['bracket F1']:.3f}, "
                 f"well-formed {best['well-formed']:.0%} (without attention: F1 {rows[0]['bracket F1']:.3f})"),
        plots=[(_plot_curves(curves, out_dir, "parsing_loss.png"), "Training loss")],
        tables={"Held-out examples (with attention)": examples})


def _plot_curves(curves, out_dir, name):
    fig, ax = subplots(1, 1, figsize=(5, 3.2))
    for kind, curve in curves.items():
        ax.plot(numpy.arange(1, len(curve) + 1), curve, label=kind)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir, name)
