"""Attention layers: dot-product (Luong) ``Attention`` and additive (Bahdanau) ``AdditiveAttention``.

Attention lets a decoder step look back at every encoder step instead of squeezing the
whole input into one vector: for each query vector it scores every key, turns the scores
into a distribution with a softmax (the *alignment*), and returns the weighted average of
the values. Both layers follow tf.keras's semantics: inputs ``[query, value]`` or
``[query, value, key]`` (key defaults to value), masks ``[query_mask, value_mask]``, an
optional causal mask, dropout on the alignment, and ``return_attention_scores``.
"""
import numbers

from .. import backend, ops
from ..autograd import Config, Tensor
from ..errors import ConfigError, ShapeError
from ..ops import activations as act_ops
from .base import Layer

_MASKED = 1.0e9  # subtracted from the scores of masked keys (tf.keras uses the same constant)


class _BaseAttention(Layer):
    """Shared machinery: input checks, masks, softmax, dropout, weighted sum of the values."""

    def __init__(self, dropout=0.0, causal=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout < 1:
            raise ConfigError(f"{type(self).__name__}: dropout is the fraction of attention weights dropped and "
                              f"must be in [0, 1). Received: dropout={dropout!r}.")
        self.dropout = float(dropout)
        self.causal = bool(causal)
        self.supports_masking = True
        self._return_scores = False

    # ------------------------------------------------------------------ shapes
    def check_input_shape(self, input_shape):
        name = type(self).__name__
        if not isinstance(input_shape, list) or not 2 <= len(input_shape) <= 3:
            raise ShapeError(f"{name} layer {self.name!r} must be called on a list [query, value] or "
                             f"[query, value, key]. Received: shape {input_shape}.")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if any(len(s) != 3 for s in (query, value, key)):
            raise ShapeError(f"{name} layer {self.name!r}: query, value and key must be 3-D (batch, steps, "
                             f"features). Received: {[tuple(s) for s in input_shape]}.")
        if _differs(query[-1], key[-1]):
            raise ShapeError(f"{name} layer {self.name!r}: query and key must have the same feature size. "
                             f"Received: query {tuple(query)}, key {tuple(key)}.")
        if _differs(value[1], key[1]):
            raise ShapeError(f"{name} layer {self.name!r}: value and key must have the same number of steps. "
                             f"Received: value {tuple(value)}, key {tuple(key)}.")

    def compute_output_shape(self, input_shape):
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        out = query[:2] + value[2:]
        if self._return_scores:
            return [out, (query[0], query[1], value[1])]
        return out

    def __call__(self, x, training=None, **kwargs):
        # The output list depends on return_attention_scores; remember it for compute_output_shape.
        self._return_scores = bool(kwargs.get("return_attention_scores", False))
        return super().__call__(x, training=training, **kwargs)

    # ------------------------------------------------------------------ compute
    def call(self, inputs, training=None, mask=None, return_attention_scores=False, use_causal_mask=False):
        if not isinstance(inputs, list) or not 2 <= len(inputs) <= 3:
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} must be called on a list [query, value] "
                             f"or [query, value, key]. Received: {type(inputs).__name__}.")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask, value_mask = self._masks(inputs, mask)
        scores = self.scores(query, key)  # (batch, Tq, Tv)
        xp = backend.get_array_module(scores.data)
        keep = None
        if value_mask is not None:
            keep = xp.asarray(value_mask)[:, None, :]
        if self.causal or use_causal_mask:
            # query step i may look at key steps 0..i only
            tq, tv = scores.shape[1], scores.shape[2]
            lower = xp.tril(xp.ones((tq, tv), dtype=bool))[None]
            keep = lower if keep is None else keep & lower
        if keep is not None:
            scores = scores - Tensor(xp.asarray(~keep, dtype=scores.dtype) * scores.dtype.type(_MASKED))
        weights = ops.softmax(scores, axis=-1)
        training = Config.training if training is None else training
        used = act_ops.dropout(weights, self.dropout) if training and self.dropout else weights
        out = ops.matmul(used, value)
        if query_mask is not None:
            out = out * Tensor(xp.asarray(query_mask, dtype=out.dtype)[:, :, None])
            out.mask = xp.asarray(query_mask, dtype=bool)
        if return_attention_scores:
            return [out, weights]
        return out

    def _masks(self, inputs, mask):
        """``[query_mask, value_mask]`` given explicitly, or the masks the inputs carry."""
        if mask is None:
            masks = [getattr(t, "mask", None) for t in inputs[:2]]
        else:
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= len(inputs):
                raise ConfigError(f"{type(self).__name__} layer {self.name!r}: mask must be a list [query_mask, "
                                  f"value_mask]. Received: {type(mask).__name__} of length "
                                  f"{len(mask) if isinstance(mask, (list, tuple)) else '-'}.")
            masks = [mask[0], mask[1]]
        out = []
        for m, t, which in zip(masks, inputs[:2], ("query_mask", "value_mask")):
            m = m.data if isinstance(m, Tensor) else m
            if m is None or getattr(m, "dtype", None) == object:  # None (also once wrapped by Layer.__call__)
                out.append(None)
                continue
            xp = backend.get_array_module(t.data)
            m = xp.asarray(m).astype(bool)
            if tuple(m.shape) != tuple(t.shape[:2]):
                raise ShapeError(f"{type(self).__name__} layer {self.name!r}: {which} must have shape (batch, steps) "
                                 f"= {tuple(t.shape[:2])}. Received: shape {tuple(m.shape)}.")
            out.append(m)
        return out

    def scores(self, query, key):
        raise NotImplementedError

    def get_config(self):
        config = {**super().get_config(), "dropout": self.dropout}
        if self.causal:
            config["causal"] = True
        return config


def _differs(a, b):
    return a is not None and b is not None and int(a) != int(b)


class Attention(_BaseAttention):
    """Dot-product attention (Luong style): ``softmax(query @ key^T) @ value``.

    Each query step scores every key step by a dot product (times a learned scalar
    ``scale`` with ``use_scale=True``), the softmax over the key steps is the alignment,
    and the output is that mix of the value steps. No weights unless ``use_scale`` or
    ``score_mode="concat"``. Semantics of tf.keras's ``Attention``.

    Args:
        use_scale: learn a scalar that multiplies the scores (initialised to 1).
        score_mode: ``"dot"`` (``query . key``) or ``"concat"``
            (``concat_score_weight * sum(tanh(scale * (query + key)))``).
        dropout: fraction of the attention weights dropped during training.
        causal: deprecated spelling of ``use_causal_mask=True`` at call time.

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]``; query ``(batch, Tq, dim)``,
            value ``(batch, Tv, dim_v)``, key ``(batch, Tv, dim)`` (default: value).
        mask: ``[query_mask, value_mask]``, booleans ``(batch, Tq)`` and ``(batch, Tv)``;
            by default the masks the inputs carry (``Embedding(mask_zero=True)``). Masked
            value steps get no weight; masked query steps output zeros.
        training: dropout on (True) or off.
        return_attention_scores: also return the weights ``(batch, Tq, Tv)``.
        use_causal_mask: query step i sees key steps 0..i only (decoder self-attention).

    Output shape: ``(batch, Tq, dim_v)`` (and ``(batch, Tq, Tv)`` scores when asked).

    Example:
        >>> from threestep.layers import Attention, Embedding, Input, GlobalAveragePooling1D
        >>> q_ids, v_ids = Input((None,), dtype="int32"), Input((None,), dtype="int32")
        >>> embed = Embedding(1000, 64, mask_zero=True)
        >>> context, weights = Attention()([embed(q_ids), embed(v_ids)], return_attention_scores=True)
        >>> pooled = GlobalAveragePooling1D()(context)          # (batch, 64)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ConfigError(f"Attention: score_mode must be 'dot' or 'concat'. Received: score_mode={score_mode!r}.")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.scale = self.concat_score_weight = None

    def build(self, input_shape):
        if self.use_scale:
            self.scale = self.add_weight("scale", (), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), initializer="ones")

    def scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            return scores * self.scale if self.scale is not None else scores
        summed = _pairwise_sum(query, key)
        if self.scale is not None:
            summed = summed * self.scale
        return ops.tanh(summed).sum(axis=-1) * self.concat_score_weight

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode}


class AdditiveAttention(_BaseAttention):
    """Additive attention (Bahdanau et al. 2015): scores ``sum(scale * tanh(query + key))``.

    Each pair (query step i, key step j) is scored by a small network,
    ``sum_d scale_d * tanh(query_i,d + key_j,d)``; the softmax over j is the alignment
    the lecture's translation figure shows, and the output mixes the value steps with it.
    Bahdanau's projections of the decoder state and the encoder outputs are ordinary
    ``Dense`` layers applied before this one (as in tf.keras). Semantics of tf.keras's
    ``AdditiveAttention``.

    Args:
        use_scale: learn the vector ``scale`` (``dim`` entries, Glorot-uniform); without it
            the scores are the plain sum of the tanh.
        dropout: fraction of the attention weights dropped during training.
        causal: deprecated spelling of ``use_causal_mask=True`` at call time.

    Call arguments: as :class:`Attention`.

    Output shape: ``(batch, Tq, dim_v)`` (and ``(batch, Tq, Tv)`` scores when asked).

    Example:
        >>> from threestep.layers import AdditiveAttention, Dense, Input, LSTM, Concatenate
        >>> enc_in, dec_in = Input((20, 12)), Input((8, 12))
        >>> enc = LSTM(32, return_sequences=True)(enc_in)
        >>> dec = LSTM(32, return_sequences=True)(dec_in)
        >>> context, alignment = AdditiveAttention()([Dense(32)(dec), enc, Dense(32)(enc)],
        ...                                          return_attention_scores=True)
        >>> merged = Concatenate()([dec, context])               # (batch, 8, 64)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.use_scale = bool(use_scale)
        self.scale = None

    def build(self, input_shape):
        if self.use_scale:
            dim = input_shape[1][-1]
            if dim is None:
                raise ShapeError(f"AdditiveAttention layer {self.name!r}: the value's feature size must be known to "
                                 f"create `scale`. Received: value shape {tuple(input_shape[1])}.")
            self.scale = self.add_weight("scale", (int(dim),), initializer="glorot_uniform")

    def scores(self, query, key):
        hidden = ops.tanh(_pairwise_sum(query, key))  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            hidden = hidden * self.scale
        return hidden.sum(axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}


def _pairwise_sum(query, key):
    """``query[:, i] + key[:, j]`` for every pair: (batch, Tq, Tv, dim)."""
    b, tq, d = query.shape
    tv = key.shape[1]
    return ops.reshape(query, (b, tq, 1, d)) + ops.reshape(key, (b, 1, tv, d))
