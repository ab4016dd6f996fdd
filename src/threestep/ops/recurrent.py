"""Whole-sequence recurrent ops: SimpleRNN (Elman), LSTM, GRU and the Jordan network.

Each op is ONE ``Function`` over the whole sequence with hand-written backpropagation
through time (see ``recurrent_base``): one GEMM projects all steps' inputs, one GEMM per
step carries the state, and backward ends with one GEMM each for dW, dx and dU.

Shared semantics (all arguments are Tensors or None, outputs are Tensors):

* ``x`` is (batch N, time T, features D); weights use the Keras layout: W (D, k*units),
  U (units, k*units), b (k*units,); gate blocks LSTM [i, f, c, o], GRU [z, r, h].
* ``hs`` (N, T, units) is in the input's time order. ``reverse=True`` consumes the sequence
  from t = T-1 down to 0 and hs[:, t] is still the state after consuming step t (PyTorch's
  backward direction of a bidirectional RNN; Keras's ``go_backwards`` is this plus a flip).
* ``mask`` is a boolean (N, T) array (True = real step) or None. At a masked step the state
  is carried over unchanged and the output hs[:, t] is zero (PyTorch packed sequences,
  Keras 3 ``return_sequences``); the final states are those after the last real step.
* ``h0``/``c0`` default to zeros and receive gradients when they require them.
* float32 in, float32 out; inputs of mixed float dtypes compute in the widest and return
  each gradient in its input's dtype. Gradient clipping is the optimizer's job (clipnorm).

Activations by name: 'tanh', 'sigmoid', 'relu' (IRNN), 'linear' (or None), 'hard_sigmoid'
(Keras: clip(0.2 x + 0.5, 0, 1)), and 'softmax' for the Jordan network's output only.
"""
from .. import backend
from ..autograd import Tensor
from ..errors import ShapeError
from .recurrent_base import get_activation
from .recurrent_gated import LSTM
from .recurrent_gru import GRU
from .recurrent_rnn import Jordan, SimpleRNN


def simple_rnn(x, W, U, b=None, h0=None, activation="tanh", mask=None, reverse=False):
    """Elman network over a whole sequence: h_t = act(x_t W + h_{t-1} U + b).

    Args:
        x: (N, T, D). W: (D, units). U: (units, units). b: (units,) or None.
        h0: (N, units) initial state or None (zeros).
    Returns:
        (hs (N, T, units), h_last (N, units)).

    Example:
        >>> hs, h = simple_rnn(Tensor(x), W, U, b, activation="relu")  # an IRNN
    """
    mask = _mask(mask, x)
    units = _check("simple_rnn", x, W, U, 1, mask)
    _check_shape("simple_rnn", "b", b, (units,))
    _check_shape("simple_rnn", "h0", h0, (x.shape[0], units), "(batch, units)")
    opt = _present(b=b, h0=h0)
    fn = SimpleRNN(get_activation(activation), tuple(opt), mask, reverse)
    return fn(x, W, U, *opt.values())


def lstm(x, W, U, b=None, h0=None, c0=None, mask=None, reverse=False, activation="tanh",
         recurrent_activation="sigmoid", peephole=None):
    """LSTM over a whole sequence (Keras gate order [i, f, c, o]; b = torch's b_ih + b_hh).

    i = rec_act(x W_i + h U_i + b_i [+ p_i c_{t-1}]), f likewise, g = act(x W_c + h U_c + b_c),
    c_t = f c_{t-1} + i g, o = rec_act(x W_o + h U_o + b_o [+ p_o c_t]), h_t = o act(c_t).

    Args:
        x: (N, T, D). W: (D, 4 units). U: (units, 4 units). b: (4 units,) or None.
        h0, c0: (N, units) or None (zeros).
        peephole: (3, units) diagonal peephole weights [p_i, p_f, p_o] or None.
    Returns:
        (hs (N, T, units), h_last (N, units), c_last (N, units)).
    """
    mask = _mask(mask, x)
    units = _check("lstm", x, W, U, 4, mask)
    _check_shape("lstm", "b", b, (4 * units,))
    for name, state in (("h0", h0), ("c0", c0)):
        _check_shape("lstm", name, state, (x.shape[0], units), "(batch, units)")
    _check_shape("lstm", "peephole", peephole, (3, units), "(3, units) = [p_i, p_f, p_o]")
    opt = _present(b=b, h0=h0, c0=c0, peephole=peephole)
    fn = LSTM(get_activation(activation), get_activation(recurrent_activation, "recurrent_activation"),
              tuple(opt), mask, reverse)
    return fn(x, W, U, *opt.values())


def gru(x, W, U, b=None, h0=None, mask=None, reverse=False, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True):
    """GRU over a whole sequence (Keras gate order [z, r, h]; h_t = z h_{t-1} + (1 - z) n).

    reset_after=True (Keras 3 / PyTorch): n = act(x W_h + b[0]_h + r (h U_h + b[1]_h)) and
    b is (2, 3 units): row 0 the input bias (torch b_ih), row 1 the recurrent bias (b_hh).
    reset_after=False (Keras 2.3 default): n = act(x W_h + (r h) U_h + b_h), b (3 units,).

    Returns:
        (hs (N, T, units), h_last (N, units)).
    """
    mask = _mask(mask, x)
    units = _check("gru", x, W, U, 3, mask)
    if reset_after:
        _check_shape("gru", "b", b, (2, 3 * units), "(2, 3 units) with reset_after=True: row 0 the "
                     "input bias, row 1 the recurrent bias")
    else:
        _check_shape("gru", "b", b, (3 * units,), "(3 units,) with reset_after=False")
    _check_shape("gru", "h0", h0, (x.shape[0], units), "(batch, units)")
    opt = _present(b=b, h0=h0)
    fn = GRU(get_activation(activation), get_activation(recurrent_activation, "recurrent_activation"),
             bool(reset_after), tuple(opt), mask, reverse)
    return fn(x, W, U, *opt.values())


def jordan(x, W, U, b, Wy, by, y0=None, activation="tanh", output_activation="softmax", mask=None,
           reverse=False):
    """Jordan network, "the output goes to memory": h_t = act(x_t W + y_{t-1} U + b),
    y_t = out_act(h_t Wy + by), with y_{t-1} (not h_{t-1}) fed back.

    Args:
        x: (N, T, D). W: (D, units). U: (output_dim, units). b: (units,) or None.
        Wy: (units, output_dim). by: (output_dim,) or None. y0: (N, output_dim) or None (zeros).
    Returns:
        (hs (N, T, units), ys (N, T, output_dim), y_last (N, output_dim)).
    """
    mask = _mask(mask, x)
    _check_x("jordan", x, mask)
    for name, w in (("W", W), ("U", U), ("Wy", Wy)):
        if w.ndim != 2:
            raise ShapeError(f"jordan: {name} must be a matrix; received shape {w.shape}.")
    units, out_dim = W.shape[1], Wy.shape[1]
    _check_shape("jordan", "W", W, (x.shape[2], units), "(features, units)")
    _check_shape("jordan", "Wy", Wy, (units, out_dim), "(units, output_dim) with units = W.shape[1]")
    _check_shape("jordan", "U", U, (out_dim, units), "(output_dim, units)")
    _check_shape("jordan", "b", b, (units,))
    _check_shape("jordan", "by", by, (out_dim,))
    _check_shape("jordan", "y0", y0, (x.shape[0], out_dim), "(batch, output_dim)")
    opt = _present(b=b, by=by, y0=y0)
    fn = Jordan(get_activation(activation), get_activation(output_activation, "output_activation", True),
                tuple(opt), mask, reverse)
    return fn(x, W, U, Wy, *opt.values())


# ---------------------------------------------------------------- argument checks
def _present(**optional):
    return {k: v for k, v in optional.items() if v is not None}


def _check_x(op, x, mask):
    if x.ndim != 3:
        raise ShapeError(
            f"{op}: expected x of shape (batch, time, features); received shape {tuple(x.shape)}. "
            "A single sequence needs a batch axis (x[None]); scalar steps need a feature axis (x[..., None]).")
    if mask is not None:
        shape = tuple(mask.shape)
        if shape != tuple(x.shape[:2]):
            raise ShapeError(f"{op}: mask must have shape (batch, time) = {tuple(x.shape[:2])} to match x "
                             f"{tuple(x.shape)}; received mask of shape {shape}.")


def _check(op, x, W, U, k, mask):
    """Check x, W (D, k units), U (units, k units) and the mask; return units."""
    _check_x(op, x, mask)
    if U.ndim != 2 or U.shape[1] != k * U.shape[0]:
        raise ShapeError(f"{op}: recurrent kernel U must have shape (units, {k} * units); received "
                         f"{tuple(U.shape)}.")
    units = U.shape[0]
    _check_shape(op, "W", W, (x.shape[2], k * units),
                 f"(features, {k} * units) with features = x.shape[2] and units = U.shape[0]")
    return units


def _check_shape(op, name, t, shape, meaning=None):
    if t is not None and tuple(t.shape) != tuple(shape):
        extra = f" {meaning}" if meaning else ""
        raise ShapeError(f"{op}: {name} must have shape {tuple(shape)}{extra}; received {tuple(t.shape)}.")


def _mask(mask, x):
    """The mask as a boolean array on x's device (True = real step), or None."""
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else mask
    xp = backend.get_array_module(x.data if isinstance(x, Tensor) else x)
    data = xp.asarray(data)
    return data if data.dtype == bool else data != 0
