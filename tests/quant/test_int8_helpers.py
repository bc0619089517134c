"""The integer primitives of the int8 contract against values computed by hand.

Each expected value is worked out in the comment next to it from the definitions in
docs/isa.md (`rshift_round`, `sat8`, `activate`, `requant`, ACT's table) and
docs/quantization.md (quantize, dequantize, act_arg, clip bounds).
"""

import numpy as np
import pytest

from fvir.ir import dnn
from fvir.isa.spec import SPECS, Opcode
from fvir.quant import contract


@pytest.mark.parametrize(
    ("x", "s", "want"),
    [
        (5, 0, 5),  # s = 0: unchanged
        (5, 1, 3),  # 2.5 -> 3 (half up)
        (-5, 1, -2),  # -2.5 -> -2 (half up, not away from zero)
        (7, 2, 2),  # 1.75 -> 2
        (6, 2, 2),  # 1.5 -> 2
        (-6, 2, -1),  # -1.5 -> -1
        (-7, 2, -2),  # -1.75 -> -2
        (1000, 4, 63),  # 62.5 -> 63
        (-(2**40), 63, 0),  # (x + 2**62) >> 63 = 0: int64, no overflow
        (2**31 - 1, 31, 1),  # 0.99999... -> 1
    ],
)
def test_rshift_round(x, s, want):
    assert int(contract.rshift_round(x, s)) == want


def test_rshift_round_per_channel_shifts():
    # [5 >> 1, 5 >> 2, 5 >> 3] with rounding: 2.5 -> 3, 1.25 -> 1, 0.625 -> 1
    got = contract.rshift_round(np.array([[5, 5, 5]]), np.array([1, 2, 3]))
    assert got.tolist() == [[3, 1, 1]]


def test_sat8():
    got = contract.sat8(np.array([-200, -129, -128, 0, 127, 128, 300]))
    assert got.dtype == np.int8
    assert got.tolist() == [-128, -128, -128, 0, 127, 127, 127]


@pytest.mark.parametrize(
    ("y", "kind", "arg", "want"),
    [
        (-5, contract.RELU, 0, 0),
        (50, contract.RELU, 0, 50),
        (-5, contract.RELU6, 96, 0),
        (50, contract.RELU6, 96, 50),
        (100, contract.RELU6, 96, 96),
        (7, contract.LEAKY, 26, 7),
        (-100, contract.LEAKY, 26, -10),  # rshift_round(-2600, 8) = (-2600 + 128) >> 8 = -10
        (-1, contract.LEAKY, 26, 0),  # (-26 + 128) >> 8 = 0
        (-5, contract.NONE, 0, -5),
    ],
)
def test_activate(y, kind, arg, want):
    assert int(contract.activate(np.array(y), kind, arg)) == want


@pytest.mark.parametrize(
    ("acc", "s", "kind", "arg", "want"),
    [
        (1000, 4, contract.RELU, 0, 63),  # (1000 + 8) >> 4 = 63
        (5000, 4, contract.NONE, 0, 127),  # 313 saturates
        (-5000, 4, contract.NONE, 0, -128),  # -312 saturates
        (-5000, 4, contract.RELU, 0, 0),
        (3000, 4, contract.RELU6, 96, 96),  # 188 clamped to 96
        (3000, 4, contract.RELU6, 200, 127),  # 188 under the clamp, saturated by sat8
    ],
)
def test_requant(acc, s, kind, arg, want):
    got = contract.requant(np.array(acc), s, kind, arg)
    assert got.dtype == np.int8
    assert int(got) == want


def test_sigmoid_table():
    table = contract.lut(lambda v: 1 / (1 + np.exp(-v)), 4, 7)
    assert table.dtype == np.int8 and table.shape == (256,)
    assert table[0 + 128] == 64  # sigmoid(0) * 128 = 64 -> floor(64.5) = 64
    assert table[16 + 128] == 94  # sigmoid(1) = 0.7310586 -> 93.576 -> floor(94.076) = 94
    assert table[-128 + 128] == 0  # sigmoid(-8) * 128 = 0.043 -> 0
    assert table[127 + 128] == 127  # sigmoid(7.9375) * 128 = 127.95 -> 128 -> saturates


def test_tanh_table():
    table = contract.lut(np.tanh, 5, 7)
    assert table[32 + 128] == 97  # tanh(1) = 0.7615942 -> 97.48 -> floor(97.98) = 97
    assert table[-32 + 128] == -97  # -97.48 -> floor(-96.98) = -97
    assert table[0 + 128] == 0
    assert table[-128 + 128] == -128  # tanh(-4) * 128 = -127.96 -> floor(-127.46) = -128


def test_lut_with_negative_exponents():
    # Fx = -2: q = 1 means 4.0; Fy = 0: one unit per step. tanh(4) = 0.99933 -> floor(1.499) = 1
    table = contract.lut(np.tanh, -2, 0)
    assert table[1 + 128] == 1
    assert table[0 + 128] == 0


def test_quantize_rounds_half_up_and_saturates():
    x = np.array([0.3, -0.3, 100.0, 1 / 64, 0.5 / 64, -0.5 / 64, -1.5 / 64], np.float32)
    # *64: 19.2 -> 19, -19.2 -> -19, 6400 -> 127, 1, 0.5 -> 1, -0.5 -> 0, -1.5 -> -1
    assert contract.quantize(x, 6).tolist() == [19, -19, 127, 1, 1, 0, -1]


def test_dequantize_is_exact():
    q = np.array([-128, -1, 0, 1, 127], np.int8)
    got = contract.dequantize(q, 3)
    assert got.dtype == np.float32
    assert got.tolist() == [-16.0, -0.125, 0.0, 0.125, 15.875]
    assert contract.dequantize(np.array([3], np.int8), -2).tolist() == [12.0]  # F < 0: q * 4


@pytest.mark.parametrize(
    ("act", "frac", "want"),
    [
        (None, 4, (contract.NONE, 0)),
        (dnn.ActivationAttr("relu"), 4, (contract.RELU, 0)),
        (dnn.ActivationAttr("clip", (0.0, 6.0)), 4, (contract.RELU6, 96)),  # 6 * 16
        (dnn.ActivationAttr("clip", (0.0, 6.0)), 5, (contract.RELU6, 192)),  # 6 * 32
        (dnn.ActivationAttr("clip", (0.0, 0.1)), 7, (contract.RELU6, 13)),  # 12.8 -> 13
        (dnn.ActivationAttr("leaky_relu", (0.1,)), 4, (contract.LEAKY, 26)),  # 25.6 -> 26
    ],
)
def test_isa_act(act, frac, want):
    assert contract.isa_act(act, frac) == want


def test_clip_bounds():
    # F = 4: -1.0 -> -16, 2.03 -> 32.48 -> 32; 100 -> 1600 -> 127; -0.03125 * 16 = -0.5 -> 0
    assert contract.clip_bounds(-1.0, 2.03, 4) == (-16, 32)
    assert contract.clip_bounds(-0.03125, 100.0, 4) == (0, 127)


def test_dialect_ranges_match_the_isa():
    """The dialect's integer ranges are the widths of the ISA fields that realise them."""
    field = lambda op, name: SPECS[op].placed(name).field  # noqa: E731
    assert dnn.SHIFT_MAX == field(Opcode.CONVINIT, "shift_cut").hi
    assert dnn.SHIFT_MAX == field(Opcode.ELEWINIT, "shift_a").hi
    assert dnn.SHIFT_MAX == field(Opcode.POOLINIT, "avg_shift").hi
    assert dnn.ACT_ARG_MAX == field(Opcode.CONVINIT, "act_arg").hi
    assert dnn.AVG_MUL_MAX == field(Opcode.POOLINIT, "avg_mul").hi
    assert (dnn.LUT_FRAC_MIN, dnn.LUT_FRAC_MAX) == (
        field(Opcode.ACT, "in_frac").lo,
        field(Opcode.ACT, "in_frac").hi,
    )


def test_round_half_up_scalars_fractions_and_arrays():
    from fractions import Fraction

    assert [contract.round_half_up(v) for v in (2.5, -2.5, -0.5, 0.49)] == [3, -2, 0, 0]
    assert contract.round_half_up(Fraction(5, 2) + Fraction(1, 10**30)) == 3
    assert contract.round_half_up(Fraction(5, 2) - Fraction(1, 10**30)) == 2  # exact
    x32 = np.array([2.5, -2.5, 1e30], np.float32)
    got = contract.round_half_up(x32)
    assert got.dtype == np.float32 and got[:2].tolist() == [3.0, -2.0]
    assert contract.round_half_up(np.array([3, -1])).tolist() == [3.0, -1.0]


def test_clip_bounds_saturate_huge_bounds():
    # float32's max (ONNX Clip without max) on the grid of F = 24 is far beyond int64.
    assert contract.clip_bounds(-3.4e38, 3.4e38, 24) == (-128, 127)
