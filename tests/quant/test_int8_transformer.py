"""The int8 reference's transformer ops on IR: matmul of two activations against Python
loops from the contract, softmax / GELU / layer_norm against the float functions within the
bounds of docs/quantization.md, and the verifier's int8 rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xdsl.dialects.builtin import f32, i8, i32
from xdsl.utils.exceptions import VerifyException

from fvir.ir import dnn
from fvir.reference.int8 import run

from .helpers import fixed, module, plain, py_requant

RNG = np.random.default_rng(5)


def test_matmul_of_two_activations() -> None:
    a = RNG.integers(-128, 128, (2, 3, 5)).astype(np.int8)
    b = RNG.integers(-128, 128, (2, 5, 4)).astype(np.int8)
    fa, fb, fy = 5, 6, 3

    def body(x, y):
        return dnn.MatMulOp(x, y, shift=fa + fb - fy, result_type=fixed((2, 3, 4), fy))

    (got,) = run(module([fixed(a.shape, fa), fixed(b.shape, fb)], body), {}, [a, b])
    for h, i, j in np.ndindex(2, 3, 4):
        acc = sum(int(a[h, i, k]) * int(b[h, k, j]) for k in range(5))
        assert got[h, i, j] == py_requant(acc, fa + fb - fy)


def test_softmax_gelu_layernorm_within_bounds() -> None:
    fx, n = 4, 24
    x = RNG.integers(-128, 128, (2, 3, n)).astype(np.int8)
    g = RNG.integers(40, 100, n).astype(np.int8)  # scale at Fg = 6
    b = RNG.integers(-(2**16), 2**16, n).astype(np.int32)  # bias at 12 + 6
    store = {"g": g, "b": b}

    def body(v):
        sm = dnn.SoftmaxOp(v, -1, result_type=fixed(x.shape, 7))
        ge = dnn.GeluOp(v, result_type=fixed(x.shape, 5))
        gw = dnn.WeightOp("g", plain((n,), i8))
        bw = dnn.WeightOp("b", plain((n,), i32))
        ln = dnn.LayerNormOp(v, gw, bw, epsilon=1e-5, shift=12 + 6 - 4,
                             result_type=fixed(x.shape, 4))
        return [sm, ge, ln]

    sm, ge, ln = run(module([fixed(x.shape, fx)], body), store, [x])
    xr = x.astype(np.float64) * 2.0**-fx
    ref_sm = np.exp(xr - xr.max(-1, keepdims=True))
    ref_sm /= ref_sm.sum(-1, keepdims=True)
    assert np.abs(sm * 2.0**-7 - np.minimum(ref_sm, 127 / 128)).max() <= 0.65 / 128
    ref_ge = 0.5 * xr * (1 + np.vectorize(math.erf)(xr / math.sqrt(2)))
    assert np.abs(ge * 2.0**-5 - np.clip(ref_ge, -4, 127 / 32)).max() <= 0.0182 + 0.5 / 32
    norm = (xr - xr.mean(-1, keepdims=True)) / np.sqrt(xr.var(-1, keepdims=True) + 1e-5)
    ref_ln = np.clip(norm * g * 2.0**-6 + b * 2.0**-18, -8, 127 / 16)
    assert np.abs(ln * 2.0**-4 - ref_ln).max() <= 0.51 / 16


def test_int8_softmax_needs_the_last_axis() -> None:
    with pytest.raises(VerifyException, match="last axis"):
        module([fixed((4, 8), 3)], lambda v: dnn.SoftmaxOp(v, 0, result_type=fixed((4, 8), 7)))


def test_int8_matmul_shift_rule() -> None:
    def body(x, y):
        return dnn.MatMulOp(x, y, shift=3, result_type=fixed((2, 2), 4))

    with pytest.raises(VerifyException, match="Fa \\+ Fb == Fy \\+ shift"):
        module([fixed((2, 3), 5), fixed((3, 2), 5)], body)


def test_int8_layernorm_needs_plain_i8_scale() -> None:
    def body(v):
        g = dnn.WeightOp("g", plain((8,), f32))
        return dnn.LayerNormOp(v, g, shift=10, result_type=fixed((4, 8), 3))

    with pytest.raises(VerifyException, match="plain i8 scale"):
        module([fixed((4, 8), 3)], body)
