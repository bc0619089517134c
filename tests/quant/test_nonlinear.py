"""The transformer kernels of the int8 contract (fvir.quant.nonlinear): small cases worked out
by hand, and the error bounds of docs/quantization.md ("Transformers") against the float
functions of the dequantized input (math.erf, numpy exp, float64 LayerNorm)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fvir.quant.nonlinear import (
    LN_FRAC,
    i_exp,
    i_gelu,
    isqrt,
    layernorm_eps,
    layernorm_rows,
    softmax_rows,
)

RNG = np.random.default_rng(11)
_erf = np.vectorize(math.erf)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _q(x: np.ndarray, frac: int) -> np.ndarray:
    return np.clip(np.floor(x * 2.0**frac + 0.5), -128, 127).astype(np.int64)


def _grid_clip(y: np.ndarray, frac: int) -> np.ndarray:
    return np.clip(y, -128 * 2.0**-frac, 127 * 2.0**-frac)


# ------------------------------------------------------------------------------ by hand


def test_isqrt_is_floor_sqrt() -> None:
    n = np.concatenate([np.arange(0, 2000), RNG.integers(0, 2**61, 2000), [2**62 - 1]])
    assert isqrt(n).tolist() == [math.isqrt(int(v)) for v in n]


def test_isqrt_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        isqrt(np.array([-1]))


def test_i_exp_by_hand() -> None:
    # exp(0): 0.3585 * 1.353**2 + 0.344 = 1.000273..., times 2**15 = 32776.96 -> 32777.
    assert i_exp(np.array([0]), 3).tolist() == [32777]
    # d = -1 at F = 0: z = 1, p = 1 - ln 2 below zero (-0.30685); the polynomial gives
    # 0.3585 * (1.353 - 0.30685)**2 + 0.344 = 0.736354, halved: 0.368177 * 2**15 = 12064.4.
    assert i_exp(np.array([-1]), 0).tolist() == [12064]
    # far below: nothing left
    assert i_exp(np.array([-255]), 0).tolist() == [0]


def test_softmax_by_hand() -> None:
    # equal values: every e_j equal, 1/4 at Fy = 7 is 32; one dominant element saturates.
    assert softmax_rows(np.array([[5, 5, 5, 5]]), 2, 7).tolist() == [[32, 32, 32, 32]]
    assert softmax_rows(np.array([[0, -128]]), 0, 7).tolist() == [[127, 0]]


def test_gelu_by_hand() -> None:
    # 0 -> 0; far positive -> x (erf clipped to 1); far negative -> 0 (erf = -1).
    assert i_gelu(np.array([0, 127, -128]), 4, 4).tolist() == [0, 127, 0]


def test_layernorm_by_hand() -> None:
    # [1, -1, 1, -1]: mean 0, var 1, normalized +-1; scale 1 as 64 at Fg = 6, Fy = 5:
    # shift = 12 + 6 - 5 = 13, +-4096 * 64 >> 13 = +-32 (1.0 at exponent 5).
    q = np.array([[1, -1, 1, -1]])
    y = layernorm_rows(q, layernorm_eps(1e-5, 4, 0), np.full(4, 64), np.zeros(4, np.int64), 13)
    assert y.tolist() == [[32, -32, 32, -32]]
    # a constant row has no spread: zero, plus the bias (0.5 at exponent 12 + 6 = 2**17).
    const = np.full((1, 8), 5)
    b = np.full(8, 2**17)
    assert layernorm_rows(const, layernorm_eps(1e-5, 8, 3), np.full(8, 64), b, 13).tolist() == [
        [16] * 8
    ]


# ------------------------------------------------------------------------- error bounds


def test_i_exp_bound() -> None:
    for frac in range(-4, 13):
        d = np.arange(-255, 1)
        err = np.abs(i_exp(d, frac) * 2.0**-15 - np.exp(d * 2.0**-frac))
        assert err.max() <= 0.0022, frac


@pytest.mark.parametrize("n", [4, 16, 64, 197, 512])
def test_softmax_bound(n: int) -> None:
    for fx in range(0, 8):
        x = _q(RNG.normal(0, RNG.uniform(0.5, 4), (16, n)), fx) * 2.0**-fx
        ref = np.exp(x - x.max(-1, keepdims=True))
        ref /= ref.sum(-1, keepdims=True)
        for fy in (7, 8):
            y = softmax_rows(_q(x, fx), fx, fy) * 2.0**-fy
            assert np.abs(y - _grid_clip(ref, fy)).max() * 2**fy <= 0.65, (fx, fy)


def test_gelu_bound() -> None:
    q = np.arange(-128, 128)
    for fx in range(-2, 9):
        for fy in range(fx - 1, fx + 3):
            y = i_gelu(q, fx, fy) * 2.0**-fy
            ref = _grid_clip(_gelu(q * 2.0**-fx), fy)
            assert np.abs(y - ref).max() <= 0.0182 + 0.5 * 2.0**-fy, (fx, fy)


@pytest.mark.parametrize("n", [4, 16, 64, 768, 4096])
def test_layernorm_bound(n: int) -> None:
    for fx in range(0, 7):
        x = _q(RNG.normal(RNG.normal(), RNG.uniform(0.3, 3), (8, n)), fx) * 2.0**-fx
        g_q = _q(RNG.uniform(0.5, 1.5, n), 6)
        b_q = np.floor(RNG.normal(0, 0.2, n) * 2.0 ** (LN_FRAC + 6) + 0.5).astype(np.int64)
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        ref = (x - mean) / np.sqrt(var + 1e-5) * g_q * 2.0**-6 + b_q * 2.0 ** -(LN_FRAC + 6)
        for fy in (4, 5):
            shift = LN_FRAC + 6 - fy
            y = layernorm_rows(_q(x, fx), layernorm_eps(1e-5, n, fx), g_q, b_q, shift)
            assert np.abs(y * 2.0**-fy - _grid_clip(ref, fy)).max() * 2**fy <= 0.51, (fx, fy)


def test_layernorm_row_limit() -> None:
    with pytest.raises(ValueError, match="longer than 4096"):
        layernorm_rows(np.zeros((1, 4097)), 1, np.ones(4097), np.zeros(4097), 0)
