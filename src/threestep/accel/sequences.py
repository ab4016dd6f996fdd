"""Whole recurrent time loops in one Numba call each, their GEMMs inside the loop.

Why: a time loop written in Python costs a few microseconds of interpreter time per step and
operation, and while one thread runs Python the other row block's thread waits for the GIL.
Inside one ``nogil`` kernel a step is a GEMM through NumPy's own OpenBLAS (``blas.gemm_pointer``:
the same library and thread pool as NumPy's matmul) followed by the step's gate math, with no
Python between steps. The figures are in benchmarks/RESULTS.md.

In inference the step's inputs stay in cache: x_t is read in place by the step's own GEMM
(``rnn_infer_sequence``, ``gru_infer_sequence``) or copied into one of two buffers of stacked
[x_t, h, 1] rows (``lstm_sequence``), and the gates live in one (rows, k units) scratch array
instead of an array of every step's.

They serve what ``kernels`` serves (float32 NumPy arrays, Numba available) without a mask;
the LSTM and GRU (reset_after) kernels also need sigmoid gates and tanh (the LSTM: no
peepholes). Each function returns False (nothing done) where it does not serve, and the op
runs its per-step code instead. The tests compare both.
"""
import numpy as np

from . import blas, kernels


def _gemm():
    """NumPy's OpenBLAS sgemm for the kernels, or None."""
    return blas.gemm_pointer() if kernels.available() else None


def _contiguous(*arrays):
    """Whether the kernels serve these arrays and each is C-contiguous."""
    return kernels.enabled(*arrays) and all(a.flags.c_contiguous for a in arrays)


def _steps(live, T):
    """Which of the T steps' outputs receive a gradient, as the kernels read it: a boolean array
    (all True where ``live`` is None)."""
    return np.ones(T, np.bool_) if live is None else np.asarray(live, np.bool_)


def _nb():
    from . import _numba_sequences  # noqa: PLC0415  (Numba is imported only when a kernel runs)

    return _numba_sequences


def available(*arrays):
    """Whether these kernels serve these arrays: the Numba kernels enabled for them and NumPy's
    OpenBLAS sgemm reachable."""
    return kernels.enabled(*arrays) and _gemm() is not None


def rnn_sequence_(H, Hs, U, reverse, activation):
    """A whole SimpleRNN forward without a mask: H (T, N, u) holds x_t W + b and becomes the
    activations, Hs (T+1, N, u) the states (its starting row filled), U (u, u). Each step adds
    h_{t-1} U into H[t] by a GEMM (beta = 1), then one pass activates it ("tanh" or "relu")
    and copies it into the next state. Returns whether it ran (False: nothing done)."""
    gemm = _gemm()
    if gemm is None or activation not in ("tanh", "relu") or not kernels.enabled(U):
        return False
    U = np.ascontiguousarray(U)
    if not _contiguous(H, Hs, U):
        return False
    T, N, u = H.shape
    _nb().rnn_sequence(gemm, H.reshape(-1), Hs.reshape(-1), U.reshape(-1), T, N, u, bool(reverse),
                       activation == "relu")
    return True


def rnn_back_sequence(dA, H, gout, live, dh, U, reverse, activation):
    """A whole SimpleRNN backward without a mask: dA (T, N, u) gets the gradient of every step's
    pre-activation from the activations H (T, N, u), the outputs' gradient gout (N, T, u) (read
    at the steps where ``live``, a list of booleans, or None for all) and dh (N, u), the last
    state's gradient in and the initial state's out; each step's dh = dA[t] @ U^T is one GEMM.
    Returns whether it ran (False: nothing done)."""
    gemm = _gemm()
    if gemm is None or activation not in ("tanh", "relu") or not _contiguous(dA, H, gout, dh, U):
        return False
    T, N, u = H.shape
    steps = _steps(live, T)
    _nb().rnn_back_sequence(gemm, dA.reshape(-1), H.reshape(-1), gout.reshape(-1), steps, dh.reshape(-1),
                            U.reshape(-1), T, N, u, bool(reverse), activation == "relu")
    return True


def rnn_infer_sequence(x, W, U, b, Hs, reverse, activation):
    """A whole SimpleRNN forward in inference without a mask: x (N, T, D) the inputs, read in
    place; W (D, u), U (u, u), b (u,) (zeros for none); Hs (T+1, N, u) the states (the starting
    one filled). Each step's x_t W and h U go into one (N, u) scratch array inside the kernel,
    so nothing per step goes to memory but the state. Returns whether it ran."""
    gemm = _gemm()
    if gemm is None or activation not in ("tanh", "relu") or not _contiguous(x, W, U, b, Hs):
        return False
    N, T, D = x.shape
    u = Hs.shape[2]
    _nb().rnn_infer_sequence(gemm, x.reshape(-1), T, D, W.reshape(-1), U.reshape(-1), b, Hs.reshape(-1),
                             np.empty(N * u, np.float32), N, bool(reverse), N, u, activation == "relu")
    return True


def lstm_sequence(x, WU, XH, C, Hs, reverse, rows):
    """A whole LSTM forward in inference for the batch rows ``rows`` (a slice): x (N, T, D) the
    inputs; XH (2, N, K) two buffers of rows [x_t, h, 1], K = D + u (+ 1 with a bias), whose ones
    column and buffer 0's state columns (h0) are filled; WU (K, 4u) the weights with gate blocks
    [i/2, f/2, o/2, g] side by side (one GEMM per step for all four); C (N, u) the cell state (c0
    in, c_T out); Hs (T+1, N, u) the states, the starting one filled. Returns whether it ran."""
    gemm = _gemm()
    if gemm is None or not _contiguous(x, WU, XH, C, Hs):
        return False
    N, T, D = x.shape
    r0, r1, _ = rows.indices(N)
    u = C.shape[1]
    G = np.empty((r1 - r0) * 4 * u, np.float32)
    _nb().lstm_sequence(gemm, x.reshape(-1), T, D, XH.reshape(-1), XH.shape[2], WU.reshape(-1), G, C.reshape(-1),
                        Hs.reshape(-1), bool(reverse), r0, r1 - r0, N, u)
    return True


def lstm_train_sequence(XH, WU, G, Cs, TC, D, reverse, rows):
    """The LSTM's forward time loop for training, for the batch rows ``rows``: XH (T+1, N, K) as in
    ``lstm_sequence``, WU (4, K, u) the gate blocks [i/2, f/2, o/2, g], and what backward needs:
    G (4, T, N, u) the activated gates, Cs (T+1, N, u) the cell states (the starting one
    filled), TC (T, N, u) tanh(c_t). Returns whether it ran (False: nothing done)."""
    gemm = _gemm()
    if gemm is None or not _contiguous(XH, WU, G, Cs, TC):
        return False
    T1, N, K = XH.shape
    r0, r1, _ = rows.indices(N)
    _nb().lstm_train_sequence(gemm, XH.reshape(-1), N, K, D, WU.reshape(-1), G.reshape(-1), Cs.reshape(-1),
                              TC.reshape(-1), T1 - 1, bool(reverse), r0, r1 - r0, Cs.shape[2])
    return True


def lstm_back_sequence(dG, G, gout, live, dTC, dh, dc, U4T, reverse, rows, Cs=None):
    """The LSTM's backward time loop for the batch rows ``rows``: dG (4, T, N, u) holds the
    factors ``kernels.lstm_back_step`` describes and leaves the gates' gradients, G the
    activated gates, gout (N, T, u) the outputs' gradient (read at the steps where ``live``, a
    list of booleans, or None for all), dTC (T, N, u), dh and dc (N, u) in and out, U4T
    (4, u, u) the recurrent kernel's transposed gate blocks; each step's
    dh = sum_j dG[j, t] @ U4T[j] is four GEMMs accumulating into dh.

    Given the cell states ``Cs`` (T+1, N, u) (sigmoid gates and tanh only), dG is only written:
    the factors are made inside the loop from G, Cs and tanh(c_t), passed as ``dTC``, which
    saves the passes over every step's gates before the loop. Returns whether it ran."""
    raw = Cs is not None
    Cs = Cs if raw else np.empty((1, 1, 1), np.float32)
    gemm = _gemm()
    if gemm is None or not _contiguous(dG, G, gout, dTC, dh, dc, U4T, Cs):
        return False
    _, T, N, u = dG.shape
    r0, r1, _ = rows.indices(N)
    steps = _steps(live, T)
    _nb().lstm_back_sequence(gemm, dG.reshape(-1), G.reshape(-1), gout.reshape(-1), steps, dTC.reshape(-1),
                             dh[r0:r1].reshape(-1), dc[r0:r1].reshape(-1), U4T.reshape(-1), T, N, bool(reverse),
                             r0, r1 - r0, u, raw, Cs.reshape(-1))
    return True


def gru_sequence(G, Hs, HU, U4f, bias, reverse, rows):
    """A GRU's (reset_after) whole forward time loop for the batch rows ``rows`` (a slice): G
    (3, T, N, u) the input parts x W + b_x of gates [z/2, r/2, n] (sigmoid gates' weights
    halved), which become z, r, n; Hs (T+1, N, u) the states (the starting one filled); HU
    (T, N, u), or (1, N, u) in inference, gets h U_h + b_hh; U4f (3, u, u) the recurrent gate
    blocks (halved likewise); ``bias`` the (3, u) b_hh or None. Returns whether it ran."""
    gemm = _gemm()
    b = bias if bias is not None else np.empty((1, 1), np.float32)
    if gemm is None or not _contiguous(G, Hs, HU, U4f, b):
        return False
    _, T, N, u = G.shape
    r0, r1, _ = rows.indices(N)
    Rc = np.empty(3 * (r1 - r0) * u, np.float32)
    _nb().gru_sequence(gemm, G.reshape(-1), Hs.reshape(-1), HU.reshape(-1), HU.shape[0] == 1,
                       U4f.reshape(-1), Rc, b.reshape(-1), bias is not None, T, N, bool(reverse), r0, r1 - r0, u)
    return True


def gru_back_sequence(dG, dHU, G, HU, Hs, gout, live, dh, U4T, reverse, rows):
    """A GRU's (reset_after, sigmoid gates, tanh) whole backward time loop for the batch rows
    ``rows`` (a slice), no mask: G (3, T, N, u) the stored gates z, r, n, HU (T, N, u) the kept
    h U_h + b_hh, Hs (T+1, N, u) the states, gout (N, T, u) the outputs' gradient (read at the
    steps where ``live``, a list of booleans, or None for all), dh (N, u) the last state's
    gradient in, the first's out; dG and dHU (3, T, N, u) get the gates' gradients (input side;
    recurrent side, the candidate's times r), U4T (3, u, u) the recurrent kernel's transposed gate
    blocks. Each step's three GEMMs run inside the kernel. Returns whether it ran."""
    gemm = _gemm()
    if gemm is None or not _contiguous(dG, dHU, G, HU, Hs, gout, dh, U4T):
        return False
    _, T, N, u = G.shape
    r0, r1, _ = rows.indices(N)
    steps = _steps(live, T)
    _nb().gru_back_sequence(gemm, dG.reshape(-1), dHU.reshape(-1), G.reshape(-1), HU.reshape(-1), Hs.reshape(-1),
                            gout.reshape(-1), steps, dh[r0:r1].reshape(-1), U4T.reshape(-1), T, N, bool(reverse),
                            r0, r1 - r0, u)
    return True


def gru_infer_sequence(x, Wf, Uf, bx, bh, Hs, reverse, rows):
    """A GRU's (reset_after) whole forward in inference for the batch rows ``rows`` (a slice): x
    (N, T, D) the inputs, read in place; Wf (D, 3u) and Uf (u, 3u) the kernels with gate blocks
    [z/2, r/2, n] side by side (the sigmoid gates' weights halved); bx, bh (3u,) the input and
    recurrent biases (halved likewise; zeros for none); Hs (T+1, N, u) the states (the starting
    one filled). Each step's two GEMMs run inside the kernel and the step's gates stay in two
    (rows, 3u) scratch arrays, so nothing per step goes to memory but the state. Returns
    whether it ran (False: nothing done)."""
    gemm = _gemm()
    if gemm is None or not _contiguous(x, Wf, Uf, bx, bh, Hs):
        return False
    N, T, D = x.shape
    u = Hs.shape[2]
    r0, r1, _ = rows.indices(N)
    S, Rc = np.empty((2, (r1 - r0) * 3 * u), np.float32)
    _nb().gru_infer_sequence(gemm, x.reshape(-1), T, D, Wf.reshape(-1), Uf.reshape(-1), bx, bh, Hs.reshape(-1),
                             S, Rc, N, bool(reverse), r0, r1 - r0, u)
    return True


def warm_up():
    """Compile every kernel here now (or load it from Numba's cache); whether they are available."""
    f32, z = np.float32, np.zeros
    if not available(z(1, f32)):
        return False
    rnn_sequence_(z((2, 2, 4), f32), z((3, 2, 4), f32), z((4, 4), f32), False, "tanh")
    rnn_infer_sequence(z((2, 2, 3), f32), z((3, 4), f32), z((4, 4), f32), z(4, f32), z((3, 2, 4), f32), False, "tanh")
    rnn_back_sequence(z((2, 2, 4), f32), z((2, 2, 4), f32), z((2, 2, 4), f32), None, z((2, 4), f32), z((4, 4), f32),
                      False, "tanh")
    lstm_sequence(z((2, 2, 4), f32), z((9, 16), f32), z((2, 2, 9), f32), z((2, 4), f32), z((3, 2, 4), f32), False,
                  slice(None))
    G4 = z((4, 2, 2, 4), f32)
    lstm_train_sequence(z((3, 2, 9), f32), z((4, 9, 4), f32), G4, z((3, 2, 4), f32), z((2, 2, 4), f32), 4, False,
                        slice(None))
    for bias in (None, z((3, 4), f32)):
        gru_sequence(z((3, 2, 2, 4), f32), z((3, 2, 4), f32), z((1, 2, 4), f32), z((3, 4, 4), f32), bias, False,
                     slice(None))
    gru_infer_sequence(z((2, 2, 3), f32), z((3, 12), f32), z((4, 12), f32), z(12, f32), z(12, f32), z((3, 2, 4), f32),
                       False, slice(None))
    G3 = z((3, 2, 2, 4), f32)
    gru_back_sequence(G3, G3, G3, z((2, 2, 4), f32), z((3, 2, 4), f32), z((2, 2, 4), f32), None, z((2, 4), f32),
                      z((3, 4, 4), f32), False, slice(None))
    for cs in (None, z((3, 2, 4), f32)):
        lstm_back_sequence(G4, G4, z((2, 2, 4), f32), None, z((2, 2, 4), f32), z((2, 4), f32), z((2, 4), f32),
                           z((4, 4, 4), f32), False, slice(None), cs)
    return True
