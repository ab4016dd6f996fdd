"""Encoder-decoder builders: a sequence-to-sequence model (optionally with attention), a
sequence auto-encoder over word ids, a hierarchical (words -> sentences -> document)
auto-encoder, and a feature-sequence auto-encoder (Audio Word2Vec).

Every builder returns a :class:`Seq2Seq`: the training model (teacher forcing), the
encoder that maps an input to its fixed-length code (the encoder's last hidden state),
and, with attention, a model that returns the alignment matrices. Id inputs use
``PAD = 0``, ``GO = 1``, ``EOS = 2`` (``threestep.datasets.language.Vocabulary``,
``threestep.datasets.seq2seq.CharTable``); padding is masked (``Embedding(mask_zero=True)``).

Example:
    >>> from threestep.models.seq2seq import seq2seq
    >>> net = seq2seq(in_vocab=20, out_vocab=20, units=64, attention="additive")
    >>> net.model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    >>> # net.model.fit([source_ids, decoder_input_ids], decoder_target_ids, epochs=10)
    >>> # ids = net.greedy_decode(source_ids, max_len=25); weights = net.alignment.predict(...)
"""
from dataclasses import dataclass

import numpy

from ..errors import ConfigError


@dataclass
class Seq2Seq:
    """The models of one encoder-decoder, sharing their layers.

    Attributes:
        model: ``[source, decoder_input] -> per-step probabilities`` (train with teacher forcing).
        encoder: ``source -> code`` (batch, units): the encoder's last hidden state.
        alignment: ``[source, decoder_input] -> (batch, T_out, T_in)`` attention weights, or None.
    """

    model: object
    encoder: object
    alignment: object = None

    def greedy_decode(self, source, max_len, batch_size=256):
        """Ids ``(n, max_len)`` written by feeding back the most probable symbol until ``EOS``."""
        from ..datasets.seq2seq import greedy_decode  # noqa: PLC0415

        return greedy_decode(lambda e, d: self.model.predict([e, d], batch_size=batch_size), source, max_len)

    def encode(self, source, batch_size=256):
        """The codes ``(n, units)`` of ``source`` as a NumPy array."""
        return numpy.asarray(self.encoder.predict(source, batch_size=batch_size))


def _recurrent(cell, units, **kwargs):
    from ..layers import GRU, LSTM  # noqa: PLC0415

    if cell not in ("lstm", "gru"):
        raise ConfigError(f"seq2seq: cell must be 'lstm' or 'gru'. Received: cell={cell!r}.")
    return (LSTM if cell == "lstm" else GRU)(units, **kwargs)


def seq2seq(in_vocab, out_vocab, units=64, embed_dim=32, cell="lstm", attention=None):
    """An encoder-decoder over ids; ``attention`` None, ``"additive"`` (Bahdanau) or ``"dot"`` (Luong).

    The encoder (Embedding + LSTM/GRU) reads the source; its final state starts the decoder,
    which reads ``GO`` + the target (teacher forcing) and predicts target + ``EOS``. With
    attention, each decoder output queries all encoder outputs; the context is joined to
    the decoder output before the softmax (Luong et al. 2015's arrangement, which keeps
    greedy decoding a plain feed-back loop).
    """
    from ..layers import AdditiveAttention, Attention, Concatenate, Dense, Embedding, Input  # noqa: PLC0415
    from . import Model  # noqa: PLC0415

    if attention not in (None, "additive", "dot"):
        raise ConfigError(f"seq2seq: attention must be None, 'additive' or 'dot'. Received: attention={attention!r}.")
    source = Input((None,), dtype="int32", name="source")
    target_in = Input((None,), dtype="int32", name="decoder_input")
    enc = _recurrent(cell, units, return_sequences=attention is not None, return_state=True, name="encoder")
    enc_out = enc(Embedding(in_vocab, embed_dim, mask_zero=True, name="source_embedding")(source))
    sequence, states = enc_out[0], list(enc_out[1:])
    dec = _recurrent(cell, units, return_sequences=True, name="decoder")
    dec_seq = dec(Embedding(out_vocab, embed_dim, mask_zero=True, name="target_embedding")(target_in),
                  initial_state=states)
    alignment = None
    if attention is not None:
        if attention == "additive":
            layer = AdditiveAttention(name="attention")
            context, weights = layer([Dense(units, use_bias=False, name="query_proj")(dec_seq), sequence,
                                      Dense(units, use_bias=False, name="key_proj")(sequence)],
                                     return_attention_scores=True)
        else:
            context, weights = Attention(name="attention")([dec_seq, sequence], return_attention_scores=True)
        dec_seq = Dense(units, activation="tanh", name="attentional")(Concatenate()([dec_seq, context]))
        alignment = Model([source, target_in], weights)
    probs = Dense(out_vocab, activation="softmax", name="probs")(dec_seq)
    return Seq2Seq(Model([source, target_in], probs), Model(source, states[0]), alignment)


def sequence_autoencoder(vocab, units=64, embed_dim=32, cell="lstm"):
    """A seq2seq auto-encoder over word ids: the code of a sentence is the encoder's last
    hidden state, and the decoder must rebuild the sentence from it (Li et al. 2015).

    Train with ``model.fit([ids, go_ids], ids_eos)``: the source and the target are the same
    sentence (``Vocabulary.encode(texts)``, ``encode(texts, go=True)``, ``encode(texts, eos=True)``).
    """
    return seq2seq(vocab, vocab, units=units, embed_dim=embed_dim, cell=cell)


def hierarchical_autoencoder(vocab, sentences, words, units=64, embed_dim=32):
    """Words -> sentence vectors -> a document vector, and back (Li et al. 2015's hierarchy).

    Inputs: the document's ids ``(batch, sentences, words)`` (each sentence padded at the
    front) and the decoder's ids ``(batch, sentences, words)`` (``GO`` + each sentence).
    A word LSTM (shared by all sentences) makes each sentence vector; a sentence LSTM
    reads them into the document code. The decoder runs a sentence LSTM from the code, then
    a word LSTM per sentence that sees that sentence's vector at every step.
    """
    from ..layers import LSTM, Concatenate, Dense, Embedding, Input, RepeatVector, Reshape  # noqa: PLC0415
    from ..layers import TimeDistributed  # noqa: PLC0415
    from . import Model  # noqa: PLC0415

    doc = Input((sentences, words), dtype="int32", name="document")
    dec_in = Input((sentences, words), dtype="int32", name="decoder_input")
    embed = Embedding(vocab, embed_dim, name="word_embedding")
    sent_vecs = TimeDistributed(LSTM(units, name="word_encoder"))(embed(doc))  # (b, S, units)
    code = LSTM(units, name="sentence_encoder")(sent_vecs)
    plan = LSTM(units, return_sequences=True, name="sentence_decoder")(RepeatVector(sentences)(code))
    per_word = TimeDistributed(RepeatVector(words))(plan)  # (b, S, W, units)
    joined = Concatenate()([embed(dec_in), per_word])
    out = TimeDistributed(LSTM(units, return_sequences=True, name="word_decoder"))(joined)
    probs = Dense(vocab, activation="softmax", name="probs")(out)
    return Seq2Seq(Model([doc, dec_in], probs), Model(doc, code))


def feature_autoencoder(features, steps, units=64, cell="lstm"):
    """A sequence auto-encoder over feature vectors (Audio Word2Vec, Chung et al. 2016).

    The encoder reads ``(batch, steps, features)`` sequences zero-padded at the end
    (``Masking`` skips the padding); its last hidden state is the fixed-length code. The
    decoder gets the code at every step and must rebuild the sequence (MSE, padding
    included, so the code also carries the length).
    """
    from ..layers import Dense, Input, Masking, RepeatVector, TimeDistributed  # noqa: PLC0415
    from . import Model  # noqa: PLC0415

    x = Input((steps, features), name="frames")
    code = _recurrent(cell, units, name="encoder")(Masking(0.0)(x))
    seq = _recurrent(cell, units, return_sequences=True, name="decoder")(RepeatVector(steps)(code))
    out = TimeDistributed(Dense(features), name="frames_out")(seq)
    return Seq2Seq(Model(x, out), Model(x, code))
