"""Attention in translation: an encoder-decoder learns a reordering language, with and without
Bahdanau (additive) attention, and the alignment it learns is printed as a small matrix.

The source language has words s0..s11; the target language translates each word (s3 -> t3)
and writes the sentence backwards. A plain encoder-decoder must squeeze the whole source into
one vector; with attention, each decoder step looks at every encoder step, and the weights
it puts on them (the alignment) are the word correspondence: here the anti-diagonal.

    python examples/attention_translation.py [--train 3000] [--epochs 8] [--max-len 16] [--units 64]

Prints the test token accuracy of both models by input length, then one alignment matrix.
"""
import argparse

import numpy as np

import threestep as ts
from threestep.datasets import language
from threestep.models.seq2seq import seq2seq
from threestep.optimizers import Adam


def token_accuracy(predicted, gold):
    right = sum(sum(a == b for a, b in zip(p.split(), g.split())) for p, g in zip(predicted, gold))
    return right / sum(max(len(p.split()), len(g.split())) for p, g in zip(predicted, gold))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--min-len", type=int, default=4)
    parser.add_argument("--max-len", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    src, tgt = language.reordering(args.train + args.test, args.min_len, args.max_len, seed=args.seed)
    src_vocab, tgt_vocab = language.Vocabulary.from_texts(src), language.Vocabulary.from_texts(tgt)
    n, out_len = args.train, args.max_len + 1
    x, x_test = src_vocab.encode(src[:n], args.max_len), src_vocab.encode(src[n:], args.max_len)
    dec_in = tgt_vocab.encode(tgt[:n], out_len, go=True)     # GO + target (teacher forcing)
    dec_out = tgt_vocab.encode(tgt[:n], out_len, eos=True)   # target + EOS
    lengths = np.array([len(s.split()) for s in src[n:]])
    middle = (args.min_len + args.max_len) // 2
    scores = {}
    for name, attention in (("plain", None), ("attention", "additive")):
        ts.backend.set_seed(args.seed)
        net = seq2seq(src_vocab.size, tgt_vocab.size, units=args.units, attention=attention)
        net.model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01, clipnorm=1.0))
        net.model.fit([x, dec_in], dec_out, batch_size=32, epochs=args.epochs, verbose=0, seed=args.seed)
        decoded = tgt_vocab.decode(net.greedy_decode(x_test, out_len))
        gold = tgt[n:]
        short = [i for i in range(len(gold)) if lengths[i] <= middle]
        long = [i for i in range(len(gold)) if lengths[i] > middle]
        scores[name] = (token_accuracy([decoded[i] for i in short], [gold[i] for i in short]),
                        token_accuracy([decoded[i] for i in long], [gold[i] for i in long]))
        print(f"{name:>9}: token accuracy {scores[name][0]:.3f} on inputs of <= {middle} words, "
              f"{scores[name][1]:.3f} on longer ones")
        if attention:
            k = int(np.argmin(np.abs(lengths - 6)))
            weights = net.alignment.predict([x_test[k:k + 1], tgt_vocab.encode([gold[k]], out_len, go=True)])[0]
            words, out_words = src[n + k].split(), gold[k].split()
            print(f"alignment for {src[n + k]!r} -> {gold[k]!r} (rows: target words, columns: source words)")
            print("      " + " ".join(f"{w:>4}" for w in words))
            for i, w in enumerate(out_words):
                print(f"{w:>5} " + " ".join(f"{v:4.2f}" for v in weights[i, :len(words)]))
    return scores


if __name__ == "__main__":
    main()
