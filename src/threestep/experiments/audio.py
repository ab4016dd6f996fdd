"""Audio Word2Vec: fixed-length codes of spoken words from a sequence auto-encoder, for query by example."""
import numpy

from . import common
from .base import Result, experiment
from .report import save_figure
from ..utils.plotting import subplots

_DTW = None


def _dtw_kernel():
    global _DTW
    if _DTW is None:
        import numba  # noqa: PLC0415

        @numba.njit(cache=False)
        def kernel(cost):
            n, m = cost.shape
            acc = numpy.full((n + 1, m + 1), numpy.inf)
            acc[0, 0] = 0.0
            for i in range(1, n + 1):
                for j in range(1, m + 1):
                    acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
            return acc[n, m] / (n + m)

        _DTW = kernel
    return _DTW


def dtw_distance(a, b):
    """Dynamic time warping distance of two feature sequences ``(Ta, d)``, ``(Tb, d)``:
    the cheapest monotonic alignment's summed Euclidean frame distances over ``Ta + Tb``."""
    a, b = numpy.asarray(a, dtype=numpy.float64), numpy.asarray(b, dtype=numpy.float64)
    cost = numpy.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return float(_dtw_kernel()(cost))


def mean_average_precision(distances, labels):
    """Query by example: each item queries all others, ranked by ``distances`` (n, n);
    relevant = same label. Returns the mean over queries of the average precision."""
    labels = numpy.asarray(labels)
    n = len(labels)
    aps = []
    for q in range(n):
        others = numpy.delete(numpy.arange(n), q)
        order = others[numpy.argsort(distances[q, others], kind="stable")]
        relevant = labels[order] == labels[q]
        if not relevant.any():
            continue
        hits = numpy.cumsum(relevant)
        aps.append(float((hits[relevant] / (numpy.flatnonzero(relevant) + 1)).mean()))
    return float(numpy.mean(aps))


def _cosine_matrix(codes):
    x = codes / numpy.maximum(numpy.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    return 1.0 - x @ x.T


@experiment("audio-word2vec", """A sequence-to-sequence auto-encoder turns variable-length audio segments of words
into fixed-length vectors (Audio Word2Vec) so that similar-sounding words (dog/dogs, never/ever) are close and
spoken-term search works by comparing vectors, without speech recognition.""")
def audio_word2vec(out_dir, quick, seed):
    import time  # noqa: PLC0415

    from ..datasets import speech  # noqa: PLC0415
    from ..models.seq2seq import feature_autoencoder  # noqa: PLC0415
    from ..optimizers import Adam  # noqa: PLC0415
    from ..preprocessing.audio import mfcc  # noqa: PLC0415

    engine = "synthetic" if quick or not speech.espeak_available() else "espeak"
    note = "" if quick or engine == "espeak" else f" ({speech.INSTALL_HINT})"
    words = speech.WORDS[:4] + speech.UNRELATED[:2] if quick else speech.WORDS
    per_word, units, epochs = (5, 32, 4) if quick else (16, 64, 30)
    waves, labels, sr = speech.spoken_words(words, per_word=per_word, engine=engine, snr_db=20.0, seed=seed)
    feats = [mfcc(w, sr, engine="numpy" if quick else "auto") for w in waves]  # quick: no librosa start-up
    stacked = numpy.concatenate(feats)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    feats = [(f - mean) / std for f in feats]
    steps = max(len(f) for f in feats)
    x = numpy.zeros((len(feats), steps, feats[0].shape[1]), dtype=numpy.float32)
    for i, f in enumerate(feats):
        x[i, :len(f)] = f  # zeros after the end: Masking skips them in the encoder
    common.seed_all(seed)
    net = feature_autoencoder(x.shape[2], steps, units=units)
    net.model.compile(loss="mse", optimizer=Adam(learning_rate=0.005, clipnorm=1.0))
    curve = net.model.fit(x, x, batch_size=16, epochs=epochs, verbose=0, seed=seed).history["loss"]
    codes = net.encode(x)
    start = time.perf_counter()
    code_dist = _cosine_matrix(codes)
    code_seconds = time.perf_counter() - start
    start = time.perf_counter()
    n = len(feats)
    dtw = numpy.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dtw[i, j] = dtw[j, i] = dtw_distance(feats[i], feats[j])
    dtw_seconds = time.perf_counter() - start
    rng = numpy.random.default_rng(seed)
    random_map = float(numpy.mean([mean_average_precision(rng.random((n, n)), labels) for _ in range(5)]))
    maps = {"seq2seq code (cosine)": mean_average_precision(code_dist, labels),
            "DTW on MFCC": mean_average_precision(dtw, labels), "random ranking": random_map}
    labels_arr = numpy.asarray(labels)
    near, unrelated = _pair_distances(code_dist, labels_arr, words, speech)
    near_dtw, unrelated_dtw = _pair_distances(dtw, labels_arr, words, speech)
    rows = [{"method": k, "MAP": v,
             "near-pair distance": {"seq2seq code (cosine)": near, "DTW on MFCC": near_dtw}.get(k, float("nan")),
             "unrelated distance": {"seq2seq code (cosine)": unrelated,
                                    "DTW on MFCC": unrelated_dtw}.get(k, float("nan")),
             "search time (s, all queries)": {"seq2seq code (cosine)": code_seconds,
                                              "DTW on MFCC": dtw_seconds}.get(k, 0.0)}
            for k, v in maps.items()]
    code_map = maps["seq2seq code (cosine)"]
    held = code_map >= 2 * random_map and near < unrelated
    voices = "espeak-ng voices " + ", ".join(speech.ESPEAK_VOICES) + " with variants" if engine == "espeak" else \
        "the synthetic stand-in (letters as tone chords)"
    return Result(
        setup=(f"{len(words)} words ({', '.join('/'.join(p) for p in speech.NEAR_PAIRS if p[0] in words)} as near "
               f"pairs, the rest unrelated), {per_word} utterances each by {voices}, random speed and pitch, white "
               f"noise at 20 dB SNR; 13 MFCCs per 16 ms hop (librosa when installed, else the NumPy recipe), "
               f"normalised. Auto-encoder: Masking + LSTM({units}) encoder (last hidden state = the code), "
               f"LSTM({units}) decoder fed the code at every step, Dense(13) per step; MSE, Adam lr 0.005, "
               f"clipnorm 1, batch 16, {epochs} epochs. Query by example: every utterance queries all others, "
               "relevant = same word; mean average precision (MAP). Baselines: DTW on the MFCC sequences (Euclidean "
               "frames, length-normalised) and a random ranking. Near-pair distance: mean distance between "
               "utterances of the two words of a near pair; unrelated: between utterances of different words not "
               f"in the same pair.{note}"),
        data=(f"{'espeak-ng' if engine == 'espeak' else 'synthetic stand-in'} speech, {len(waves)} utterances of "
              f"{len(words)} words"),
        table=rows, held=held,
        because=(f"MAP {code_map:.3f} from code vectors vs {maps['DTW on MFCC']:.3f} for DTW and {random_map:.3f} "
                 f"random; code distance near pairs {near:.3f} vs unrelated {unrelated:.3f}"),
        plots=[(_plot_projection(codes, labels, out_dir), "2-D projection (PCA) of the codes, one colour per word"),
               (_plot_curve(curve, out_dir), "Auto-encoder training loss")],
        numbers={"engine": engine, "map": maps, "near": near, "unrelated": unrelated})


def _pair_distances(dist, labels, words, speech):
    partner = {}
    for a, b in speech.NEAR_PAIRS:
        partner[a], partner[b] = b, a
    near, unrelated = [], []
    for i, wi in enumerate(labels):
        for j, wj in enumerate(labels):
            if j <= i or wi == wj:
                continue
            (near if partner.get(wi) == wj else unrelated).append(dist[i, j])
    return float(numpy.mean(near)) if near else float("nan"), float(numpy.mean(unrelated))


def _plot_projection(codes, labels, out_dir):
    centred = codes - codes.mean(axis=0)
    _, _, vt = numpy.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    fig, ax = subplots(1, 1, figsize=(6.5, 5))
    for k, word in enumerate(dict.fromkeys(labels)):
        pick = numpy.array([lab == word for lab in labels])
        ax.scatter(xy[pick, 0], xy[pick, 1], s=12, color=f"C{k % 10}", marker="os^"[k // 10 % 3], label=word)
        ax.annotate(word, xy[pick].mean(axis=0), fontsize=8, weight="bold")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, out_dir, "codes_pca.png")


def _plot_curve(curve, out_dir):
    fig, ax = subplots(1, 1, figsize=(5, 3.2))
    ax.plot(numpy.arange(1, len(curve) + 1), curve)
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction MSE")
    return save_figure(fig, out_dir, "training_loss.png")
