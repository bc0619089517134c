"""The int8 contract's integer kernels for transformers: exp, erf/GELU, sqrt, Softmax, LayerNorm.

docs/quantization.md ("Transformers") defines them; this module is that definition in numpy.
They follow I-BERT (Kim et al., ICML 2021) with fvir's power-of-two scales: every real
constant is rounded once onto an integer, everything else is int64 arithmetic.

1. `i_exp(d, F)`, d <= 0 at exponent F: d moves to exponent 16, splits into d = -z*ln2 + p
   (p in (-ln2, 0]), exp(p) is the polynomial 0.3585 (p + 1.353)**2 + 0.344 in integers, and
   the result is shifted right by z onto exponent `EXP_FRAC`.
2. `i_gelu(q, Fx, Fy)`: x * (1 + erf(x / sqrt 2)) / 2 with erf(u) = sign(u) (-0.2888
   (min(|u|, 1.769) - 1.769)**2 + 1) at exponent 16.
3. `isqrt(n)`: floor(sqrt(n)) by Newton's iteration on integers (exact).
4. `softmax_rows(q, Fx, Fy)`: max, i_exp of the differences, their sum, one reciprocal
   floor(2**SOFTMAX_RECIP / sum) per row, one multiply and rounding shift per element.
5. `layernorm_rows(q, eps_q, g_q, b_q, shift)`: c = N·x - sum(x) (exact), var =
   (sum(c**2) // N) << 2 LN_STD_FRAC, std = isqrt(var + eps_q), reciprocal
   floor(2**LN_RECIP / std), normalized n = c * recip at exponent `LN_FRAC`, then
   n * g_q + b_q requantized by `shift`.
"""

from __future__ import annotations

import math

import numpy as np

from fvir.ir.dnn import round_half_up
from fvir.quant.contract import rshift_round, sat8

INNER = 16
"""The internal exponent of i_exp's and i_erf's argument."""

EXP_FRAC = 15
"""i_exp's output exponent: exp(0) is about 2**15."""

SOFTMAX_RECIP = 46
"""Softmax's row reciprocal is floor(2**46 / sum): at least 2**15 for any row of up to 2**16
elements, so it carries 15 significant bits or more."""

LN_STD_FRAC = 10
"""LayerNorm's integer square root carries this many fraction bits (isqrt of the variance
shifted left by twice as many): a floor on a bare std_c of 20 would cost 5 %."""

LN_RECIP = 48
"""LayerNorm's row reciprocal is floor(2**48 / std): at least 2**18 for a std below 2**30."""

LN_MAX_ROW = 4096
"""The longest LayerNorm row: its variance, shifted by 2 LN_STD_FRAC, stays below 2**61."""

LN_FRAC = 12
"""The exponent of LayerNorm's normalized value (x - mean) / std before the affine step."""

# I-BERT's second-order polynomials, rounded once onto the internal grid.
_LN2 = round_half_up(math.log(2) * 2**INNER)
_EXP_B = round_half_up(1.353 * 2**INNER)
_EXP_C = round_half_up(0.344 / 0.3585 * 2 ** (2 * INNER))  # c / a on the squared grid
_EXP_A = round_half_up(0.3585 * 2**INNER)
_ERF_A = round_half_up(-0.2888 * 2**INNER)
_ERF_B = round_half_up(1.769 * 2**INNER)
_RSQRT2 = round_half_up(2**INNER / math.sqrt(2))


def shift_to(v: np.ndarray, frm: int, to: int) -> np.ndarray:
    """Integers at exponent `frm` moved to exponent `to`: a left shift (exact) or a rounding
    right shift."""
    v = np.asarray(v, dtype=np.int64)
    if to >= frm:
        return np.left_shift(v, to - frm)
    return rshift_round(v, frm - to)


def i_exp(d: np.ndarray, frac: int) -> np.ndarray:
    """exp(d * 2**-frac) at exponent EXP_FRAC, for integers d <= 0."""
    t = shift_to(d, frac, INNER)
    z = (-t) // _LN2
    p = t + z * _LN2  # in (-ln2, 0] on the internal grid
    poly = (p + _EXP_B) ** 2 + _EXP_C  # exp(p) = 0.3585 * poly * 2**-32
    s = np.minimum(3 * INNER - EXP_FRAC + z, 62)  # poly * _EXP_A < 2**51: shift 62 gives 0
    return rshift_round(poly * _EXP_A, s)


def i_erf(u: np.ndarray) -> np.ndarray:
    """erf(u * 2**-INNER) at exponent INNER (I-BERT's clipped second-order polynomial)."""
    u = np.asarray(u, dtype=np.int64)
    m = np.minimum(np.abs(u), _ERF_B) - _ERF_B
    mag = rshift_round(_ERF_A * (m * m), 2 * INNER) + (1 << INNER)
    return np.sign(u) * mag


def i_gelu(q: np.ndarray, frac_in: int, frac_out: int) -> np.ndarray:
    """GELU of int8 q at exponent frac_in, as int8 at frac_out."""
    q = np.asarray(q, dtype=np.int64)
    u = shift_to(q * _RSQRT2, frac_in + INNER, INNER)  # x / sqrt(2) on the internal grid
    y = q * ((1 << INNER) + i_erf(u))  # x * (1 + erf) at exponent frac_in + INNER
    return sat8(shift_to(y, frac_in + INNER + 1, frac_out))  # the / 2 is one more bit


def isqrt(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) of non-negative int64 integers, by Newton's iteration from above."""
    n = np.asarray(n, dtype=np.int64)
    if (n < 0).any():
        raise ValueError("isqrt of a negative number")
    bits = np.where(n > 0, np.floor(np.log2(np.maximum(n, 1))).astype(np.int64) + 1, 0)
    x = np.where(n > 0, np.left_shift(np.int64(1), (bits + 1) // 2), 0)  # x >= sqrt(n)
    while True:
        nxt = (x + n // np.maximum(x, 1)) // 2
        done = nxt >= x
        if done.all():
            return x
        x = np.where(done, x, nxt)


def softmax_rows(q: np.ndarray, frac_in: int, frac_out: int) -> np.ndarray:
    """Softmax along the last axis of int8 q (exponent frac_in), as int8 at frac_out."""
    q = np.asarray(q, dtype=np.int64)
    e = i_exp(q - q.max(axis=-1, keepdims=True), frac_in)
    recip = (1 << SOFTMAX_RECIP) // e.sum(axis=-1, keepdims=True)
    return sat8(shift_to(e * recip, SOFTMAX_RECIP, frac_out))  # e / sum has exponent 0


def layernorm_eps(eps: float, n: int, frac_in: int) -> int:
    """epsilon on the grid of the shifted variance N**2 * var * 2**(2 (frac_in + LN_STD_FRAC)),
    at least 1 (so the std is positive)."""
    return max(1, round_half_up(eps * n * n * 2.0 ** (2 * (frac_in + LN_STD_FRAC))))


def layernorm_rows(
    q: np.ndarray, eps_q: int, g_q: np.ndarray, b_q: np.ndarray, shift: int
) -> np.ndarray:
    """LayerNorm along the last axis of int8 q: n = (x - mean) / sqrt(var + eps) at exponent
    LN_FRAC, then y = sat8(rshift_round(n * g_q + b_q, shift)) (g_q, b_q per element of the
    row; b_q at exponent LN_FRAC + Fg)."""
    q = np.asarray(q, dtype=np.int64)
    n = q.shape[-1]
    if n > LN_MAX_ROW:
        raise ValueError(f"LayerNorm rows longer than {LN_MAX_ROW} ({n})")
    c = n * q - q.sum(axis=-1, keepdims=True)  # n * (x - mean), exact
    var = np.left_shift((c * c).sum(axis=-1, keepdims=True) // n, 2 * LN_STD_FRAC)
    std = isqrt(var + eps_q)  # n * std(x) * 2**(frac_in + LN_STD_FRAC)
    recip = (1 << LN_RECIP) // std
    norm = rshift_round(c * recip, LN_RECIP - LN_FRAC - LN_STD_FRAC)
    acc = norm * np.asarray(g_q, dtype=np.int64) + np.asarray(b_q, dtype=np.int64)
    return sat8(rshift_round(acc, shift))
