"""The numeric rules of `dnn-quantize` (`fvir.quant.rules`) against hand-computed values."""

import math

import numpy as np
import pytest

from fvir.ir import dnn
from fvir.quant import rules


@pytest.mark.parametrize(
    ("x", "want"),
    [(1.0, 0), (2.0, 1), (3.0, 2), (0.75, 0), (0.5, -1), (2.0**-20, -20), (1.0000001, 1)],
)
def test_ceil_log2(x, want):
    assert rules.ceil_log2(x) == want


@pytest.mark.parametrize(
    ("max_abs", "want"),
    [
        (4.7, 4),  # 7 - ceil(log2 4.7) = 7 - 3
        (1.0, 7),  # exact power of two: 1.0 * 2**7 = 128 saturates by one step (documented)
        (0.9, 7),
        (128.0, 0),
        (200.0, -1),
        (0.0, None),
    ],
)
def test_natural_frac(max_abs, want):
    assert rules.natural_frac(max_abs) == want


def test_natural_frac_rejects_non_finite():
    with pytest.raises(ValueError, match="max"):
        rules.natural_frac(math.inf)


@pytest.mark.parametrize(
    ("max_abs", "want"),
    [(1e-9, 24), (1e9, -16), (0.0, 24), (6.0, 4)],  # 1e-9: 36 -> 24; 1e9: -23 -> -16
)
def test_activation_frac_clamps(max_abs, want):
    assert rules.activation_frac(max_abs) == want


W = np.array([0.75, -0.2, 1.5, 0.3, 0.0, 0.0, 0.1, -0.05], np.float32).reshape(4, 2, 1, 1)
# per output channel max |w|: 0.75, 1.5, 0, 0.1 -> natural exponents 7, 6, none, 10


def test_weight_fracs_per_channel_where_it_pays():
    fracs, per_channel = rules.weight_fracs(W, 0, True, -1, 62)
    assert per_channel
    assert fracs == [7, 6, -1, 10]  # the zero channel takes lo (shift 0)


def test_weight_fracs_per_tensor():
    fracs, per_channel = rules.weight_fracs(W, 0, False, -1, 62)
    assert not per_channel
    assert fracs == [6, 6, 6, 6]  # the minimum natural exponent


def test_weight_fracs_equal_channels_use_one_exponent():
    w = np.array([[0.75, 0.1], [0.6, -0.7]], np.float32)  # both channels: natural 7
    assert rules.weight_fracs(w, 0, True, 0, 63) == ([7, 7], False)
    # axis 1 (dense without trans_b): columns max 0.75 and 0.7 -> still 7
    assert rules.weight_fracs(w, 1, True, 0, 63) == ([7, 7], False)


def test_weight_fracs_clamp_to_the_shift_range():
    assert rules.weight_fracs(W, 0, True, 8, 70)[0] == [8, 8, 8, 10]  # raised to Fy - Fx
    assert rules.weight_fracs(W, 0, True, -5, 6)[0] == [6, 6, -5, 6]  # lowered to Fy - Fx + 63


def test_quantize_weight():
    w = np.array([[0.75, -0.3], [1.5, -2.0]], np.float32)
    # channel 0 at F 7: 96, -38.4 -> -38; channel 1 at F 6: 96, -128
    q, saturated = rules.quantize_weight(w, [7, 6], 0)
    assert q.dtype == np.int8
    assert q.tolist() == [[96, -38], [96, -128]]
    assert saturated == 0
    # channel 0 at F 8: 192 -> 127 (saturated), -76.8 -> -77
    q, saturated = rules.quantize_weight(w, [8, 6], 0)
    assert q.tolist() == [[127, -77], [96, -128]]
    assert saturated == 1


@pytest.mark.parametrize("axis", [0, 1])
def test_quantize_weight_in_slices(monkeypatch, axis):
    """Large weights are quantized slice by slice; the result is the float64 rule's, exactly,
    with a per-channel axis along the slices or across them, and halves rounding up."""
    monkeypatch.setattr(rules, "_CHUNK", 7)  # slices of 1 or 2 rows, a short last one
    rng = np.random.default_rng(3)
    w = (rng.integers(-300, 300, (5, 3, 2)) / 2.0 ** rng.integers(0, 4, (5, 3, 2)))
    w = w.astype(np.float32)
    fracs = [int(f) for f in rng.integers(-2, 5, w.shape[axis])]
    scale = np.exp2(np.array(fracs, np.float64)).reshape([-1 if a == axis else 1
                                                          for a in range(3)])
    y = np.floor(w.astype(np.float64) * scale + 0.5)
    q, saturated = rules.quantize_weight(w, fracs, axis)
    assert q.tolist() == np.clip(y, -128, 127).astype(np.int8).tolist()
    assert saturated == int(np.count_nonzero(np.abs(y + 0.5) > 128))
    assert 0 < saturated < w.size and np.any(y != np.round(w * scale))  # both paths tested


def test_quantize_bias():
    q, saturated = rules.quantize_bias(np.array([0.5, -1.0]), [13, 12], 27)
    assert q.dtype == np.int32
    assert q.tolist() == [4096, -4096]
    assert saturated == 0


def test_quantize_bias_keeps_the_accumulator_in_int32():
    terms = 2**17 - 1  # bound = 2**31 - 1 - (2**17 - 1) * 2**14 = 2**14 - 1
    q, saturated = rules.quantize_bias(np.array([1.0, -0.5]), [14, 14], terms)
    assert q.tolist() == [16383, -8192]
    assert saturated == 1
    with pytest.raises(ValueError, match="overflow"):
        rules.quantize_bias(np.array([1.0]), [0], 2**17 + 1)


@pytest.mark.parametrize(
    ("window", "fx", "fy", "want"),
    [
        (49, 3, 3, (42799, 21)),  # 2**21 / 49 = 42799.02; 2**22 / 49 would exceed u16
        (1, 3, 3, (32768, 15)),  # 2**16 = 65536 does not fit
        (4, 3, 5, (32768, 15)),  # 2**(s + 2) / 4 = 2**s
        (9, 4, 6, (58254, 17)),  # 2**19 / 9 = 58254.2
    ],
)
def test_avg_params(window, fx, fy, want):
    assert rules.avg_params(window, fx, fy) == want


def test_avg_multiplier_rounds_half_up():
    assert dnn.avg_multiplier(2, 0) == 1  # 0.5 -> 1
    assert dnn.avg_multiplier(3, 1) == 1  # 0.667 -> 1
    assert dnn.avg_multiplier(4, 0, -1) == 0  # 2**-1 / 4 = 0.125 -> 0


def test_weight_fracs_shared_within_channel_groups():
    # groups of 2: (7, 6) -> 6, (none, 10) -> 10; the zero channel joins its group's exponent
    assert rules.weight_fracs(W, 0, True, -1, 62, group=2) == ([6, 6, 10, 10], True)
    # one group spanning every channel is per-tensor
    assert rules.weight_fracs(W, 0, True, -1, 62, group=4) == ([6, 6, 6, 6], False)
