"""Sequence to sequence: an encoder-decoder LSTM learns to add ("535+61" -> "596").

The lecture's seq2seq model reads the whole question, then writes the answer one character
at a time, each character fed back as the next input, until it writes EOS.

* Training (teacher forcing, functional API): the encoder LSTM reads the question (reversed,
  Sutskever et al. 2014's trick) and hands its final states [h, c] to the decoder LSTM as
  ``initial_state``; the decoder reads GO + the true answer and must output answer + EOS.

      q = Input((7, V));  _, h, c = LSTM(128, return_state=True)(q)
      a = Input((5, V));  s, _, _ = decoder_lstm(a, initial_state=[h, c])
      model = Model([q, a], TimeDistributed(Dense(V, "softmax"))(s))

* Test (greedy decoding): there is no true answer to feed. Two inference models share the
  trained layers (Keras's "lstm_seq2seq" recipe): ``encoder = Model(q, [h, c])`` and a
  one-step ``decoder = Model([char, h_in, c_in], [probs, h_out, c_out])``; starting from GO
  and the encoder's states, each step feeds back the most probable character and the new
  states, until every answer has written EOS.

Data: threestep.datasets.seq2seq.addition: distinct problems with operands of 1-3 digits
(50,000 for training, 2,000 held out; no problem, nor its mirror a+b / b+a, in both sets).
Prints the exact-match accuracy of the decoded answers on the held-out problems (target
>= 0.95; the default run gets 0.99-1.0 in about a minute).

    python examples/seq2seq_addition.py [--epochs 8] [--train 50000] [--test 2000] [--units 128]
"""
import argparse
import time

import numpy as np

import threestep as ts
from threestep.datasets import seq2seq
from threestep.layers import LSTM, Dense, Input, TimeDistributed
from threestep.models import Model
from threestep.optimizers import Adam
from threestep.optimizers.schedules import CosineDecay

DIGITS = 3
IN_LEN, OUT_LEN = 2 * DIGITS + 1, DIGITS + 2  # "999+999"; GO/EOS + "1998"


def build_models(vocab, units):
    """The training model and the two inference models, all sharing the same layers."""
    encoder_lstm = LSTM(units, return_state=True, name="encoder")
    decoder_lstm = LSTM(units, return_sequences=True, return_state=True, name="decoder")
    head = TimeDistributed(Dense(vocab, activation="softmax"), name="char_probs")

    question = Input((IN_LEN, vocab), name="question")
    _, h, c = encoder_lstm(question)
    answer_in = Input((OUT_LEN, vocab), name="go_answer")  # teacher forcing: GO + the true answer
    seq, _, _ = decoder_lstm(answer_in, initial_state=[h, c])
    train_model = Model([question, answer_in], head(seq))

    encoder = Model(question, [h, c])
    char = Input((1, vocab), name="char")
    h_in, c_in = Input((units,), name="h_in"), Input((units,), name="c_in")
    step, h_out, c_out = decoder_lstm(char, initial_state=[h_in, c_in])
    decoder = Model([char, h_in, c_in], [head(step), h_out, c_out])
    return train_model, encoder, decoder


def greedy_decode(encoder, decoder, table, questions, max_len=OUT_LEN):
    """Ids (n, max_len) written by the decoder fed its own choices, EOS included (then PAD)."""
    n = len(questions)
    h, c = encoder.predict(table.one_hot(questions), batch_size=1024)
    token = np.full(n, seq2seq.GO, dtype=np.int32)
    out = np.full((n, max_len), seq2seq.PAD, dtype=np.int32)
    done = np.zeros(n, dtype=bool)
    for t in range(max_len):
        probs, h, c = decoder.predict([table.one_hot(token[:, None]), h, c], batch_size=1024)
        token = probs[:, 0].argmax(axis=-1).astype(np.int32)
        out[:, t] = np.where(done, seq2seq.PAD, token)
        done |= token == seq2seq.EOS
        if done.all():
            break
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=50000, help="training problems")
    parser.add_argument("--test", type=int, default=2000, help="held-out problems")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam's rate, cosine-decayed to 2%% of it")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    questions, answers = seq2seq.addition(args.train + args.test, digits=DIGITS, seed=args.seed)
    (q_train, a_train), (q_test, a_test) = seq2seq.train_test_split(questions, answers, test_size=args.test,
                                                                    seed=args.seed)
    table = seq2seq.CharTable(seq2seq.ADDITION_CHARS)
    enc, dec_in, dec_out = seq2seq.teacher_forcing(q_train, a_train, table, IN_LEN, OUT_LEN, reverse=True)
    enc_test = table.encode(q_test, maxlen=IN_LEN, reverse=True, padding="pre")

    ts.backend.set_seed(args.seed)
    model, encoder, decoder = build_models(table.size, args.units)
    steps = args.epochs * -(-len(enc) // args.batch)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  optimizer=Adam(CosineDecay(args.lr, steps, alpha=0.02), global_clipnorm=1.0))
    start = time.perf_counter()
    history = model.fit([table.one_hot(enc), table.one_hot(dec_in)], dec_out, batch_size=args.batch,
                        epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start

    predicted = table.decode(greedy_decode(encoder, decoder, table, enc_test))
    accuracy = float(np.mean([p == a for p, a in zip(predicted, a_test)]))
    print(f"exact-match accuracy on {len(a_test)} held-out additions: {accuracy:.4f} "
          f"(teacher-forced per-char training accuracy {history.history['accuracy'][-1]:.4f}; "
          f"{args.epochs} epochs, {seconds:.1f} s)")
    for q, a, p in list(zip(q_test, a_test, predicted))[:5]:
        print(f"  {q:>7} = {p:<4} {'ok' if p == a else 'wrong, ' + a}")
    return accuracy


if __name__ == "__main__":
    main()
