"""Imports every experiment module so that each registers itself; ``ORDER`` is the issue's order."""
from . import audio, seq2seq, structure  # noqa: F401
from . import cnn, depth, generalization, maxout, mnist1d_table, optimization, recurrent, why_deep  # noqa: F401

ORDER = ("deep-vs-fat", "sigmoid-depth", "optimizers", "dropout", "regularization", "early-stopping", "maxout",
         "data-efficiency", "parity", "rnn-error-surface", "lstm-vs-rnn", "what-cnn-learns", "mnist1d-table",
         "fashion-baselines", "seq2seq-autoencoder", "audio-word2vec", "attention", "parsing-as-translation",
         "structure-search")
