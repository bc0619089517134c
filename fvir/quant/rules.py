"""The numeric rules of int8 quantization (docs/quantization.md), as small pure functions.

A fixed-point exponent F means value = q * 2**-F with q an int8. Everything here works on
numpy arrays and Python ints and knows nothing about the IR.
"""

from __future__ import annotations

import math

import numpy as np

from fvir.ir.dnn import AVG_MUL_MAX, SHIFT_MAX, avg_multiplier, round_half_up

F_MIN, F_MAX = -16, 24
"""Activation exponents are clamped to this range: max|x| from 2**-17 to 2**23 gets the full 8
bits; both bounds fit the ISA's signed 6-bit ACT exponents, and the distance between them keeps
every add alignment shift within 0..63."""

INT32_MAX = 2**31 - 1


def ceil_log2(x: float) -> int:
    """ceil(log2(x)) for x > 0, exactly (frexp, not a rounded log)."""
    mantissa, exponent = math.frexp(x)  # x = mantissa * 2**exponent, 0.5 <= mantissa < 1
    return exponent - 1 if mantissa == 0.5 else exponent


def natural_frac(max_abs: float) -> int | None:
    """The largest F at which max_abs still fits 8 bits: 7 - ceil(log2(max_abs)); None for 0.

    At an exact power of two (max_abs = 2**k) the top value maps to q = 128 and saturates to
    127: an error of one step on that one value, traded for a bit of precision on all others."""
    if not math.isfinite(max_abs):
        raise ValueError(f"cannot choose an exponent for max |x| = {max_abs}")
    return None if max_abs == 0 else 7 - ceil_log2(max_abs)


def activation_frac(max_abs: float) -> int:
    """An activation's exponent: natural_frac clamped to [F_MIN, F_MAX]; an all-zero tensor
    takes F_MAX (every F represents it; a shared exponent class takes its members' minimum)."""
    f = natural_frac(max_abs)
    return F_MAX if f is None else min(max(f, F_MIN), F_MAX)


def channel_max(w: np.ndarray, axis: int) -> np.ndarray:
    """max |w| over every axis but `axis` (the output channels)."""
    other = tuple(i for i in range(w.ndim) if i != axis)
    return np.maximum(w.max(axis=other), -w.min(axis=other)).astype(np.float64)  # no |w| copy


def weight_fracs(
    w: np.ndarray, axis: int, per_channel: bool, lo: int, hi: int, group: int = 1
) -> tuple[list[int], bool]:
    """Weight exponents Fw[c] for each output channel c (along `axis`), and whether they are
    per channel.

    Each channel's natural exponent is 7 - ceil(log2(max |w_c|)). Per channel is used when
    `per_channel` is set and it pays: some channel gains at least one bit over the per-tensor
    exponent (the minimum). With `group` > 1 the channels of each aligned group of `group`
    share one exponent (the group's minimum): a backend whose requantization shift is set per
    instruction computes `group` output channels at a time (the ISA's OCP lanes), so exponents
    that change inside a group would cost it a partly idle instruction per distinct shift.
    Exponents are clamped to [lo, hi] = [Fy - Fx, Fy - Fx + 63], which
    makes the requantization shift Fx + Fw - Fy land in 0..63: raising Fw to `lo` may saturate
    weights (reported), lowering it to `hi` only affects channels whose outputs shift to 0
    anyway. An all-zero channel takes `lo` (shift 0), so its bias is quantized at the output's
    own scale."""
    nat = [natural_frac(m) for m in channel_max(w, axis)]
    known = [f for f in nat if f is not None]
    tensor_f = min(known) if known else lo
    if group > 1:
        grouped: list[int | None] = []
        for start in range(0, len(nat), group):
            members = [f for f in nat[start : start + group] if f is not None]
            shared = min(members) if members else None
            grouped += [shared] * len(nat[start : start + group])
        nat = grouped
    use_channels = per_channel and any(f != tensor_f for f in known)
    use_channels = use_channels and any(f is not None and f != tensor_f for f in nat)
    fracs = [(lo if f is None else f) if use_channels else tensor_f for f in nat]
    return [min(max(f, lo), hi) for f in fracs], use_channels


_CHUNK = 1 << 22  # elements per slice in `quantize_weight`


def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def weight_scales(w: np.ndarray, axis: int, per_channel: bool) -> np.ndarray:
    """Float weight scales, symmetric, per output channel c (along `axis`) or one for all:
    s = max |w_c| / 127, so w / s fills [-127, 127]; an all-zero channel takes 1."""
    m = channel_max(w, axis)
    if not per_channel:
        m = np.full_like(m, m.max(initial=0.0))
    return np.where(m > 0, m / 127, 1.0)


def quantize_weight(w: np.ndarray, fracs: list[int], axis: int) -> tuple[np.ndarray, int]:
    """w_q = sat8(round_half_up(w * 2**Fw[c])); returns w_q and how many values saturated."""
    return quantize_weight_by(w, np.exp2(np.array(fracs, np.float64)), axis)


def quantize_weight_by(w: np.ndarray, scale: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """w_q = sat8(round_half_up(w * scale[c])) per output channel c (along `axis`); returns
    w_q and how many values saturated."""
    # Scaling by a power of two is exact in w's own float type, and so is round_half_up
    # (larger values than it rounds exactly saturate anyway); any other scale needs float64.
    # Slices of the leading axis keep the float temporaries small (VGG-16's fc6 has 103M
    # weights).
    shape = np.shape(w)
    w = np.atleast_1d(np.asarray(w))
    exact = bool(np.all(np.frexp(scale)[0] == 0.5))
    dtype = w.dtype if exact and w.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    scale = _along(np.asarray(scale, dtype), axis, w.ndim)
    out = np.empty(w.shape, np.int8)
    saturated = 0
    step = max(1, _CHUNK // max(1, w[:1].size))
    for start in range(0, w.shape[0], step):
        part = slice(start, start + step)
        q = w[part].astype(dtype)
        q *= scale[part] if axis == 0 else scale
        q = round_half_up(q)
        saturated += int(np.count_nonzero(q < -128) + np.count_nonzero(q > 127))
        out[part] = np.clip(q, -128, 127, out=q)
    return out.reshape(shape), saturated


def quantize_bias(b: np.ndarray, acc_fracs: list[int] | np.ndarray, terms: int,
                  zero_point: bool = False) -> tuple[np.ndarray, int]:
    """b_q[c] = round_half_up(b[c] * 2**(Fx + Fw[c])), saturated so that the accumulator
    (`terms` products of magnitude <= 2**14, or 2**15 when the input has a zero point (q - Z
    spans 255 steps; the hardware's folded bias b_q - Z sum(w) then stays within 2**14 per term
    of the bound too), plus the bias) always fits int32; returns b_q and how many values
    saturated."""
    bound = INT32_MAX - terms * 2 ** (15 if zero_point else 14)
    if bound <= 0:
        raise ValueError(f"{terms} products per output can overflow the int32 accumulator")
    q = round_half_up(np.asarray(b, np.float64) * np.exp2(np.asarray(acc_fracs, np.float64)))
    saturated = int(np.count_nonzero(np.abs(q) > bound))
    return np.clip(q, -bound, bound).astype(np.int32), saturated


def requant_multipliers(real: np.ndarray, mul_max: int) -> tuple[int, list[int]]:
    """(shift, mul[c]) with mul[c] * 2**-shift ~ real[c] > 0: the largest shift <= 63 whose
    multipliers round_half_up(real * 2**shift) all stay <= mul_max (the most precise), each
    at least 1."""
    real = np.asarray(real, np.float64)
    top = float(real.max())
    if top <= 0:
        raise ValueError("requantization multipliers must be positive")
    shift = min(SHIFT_MAX, max(0, math.floor(math.log2(mul_max / top))))
    while shift > 0 and round_half_up(top * 2.0**shift) > mul_max:
        shift -= 1  # log2 rounded up at an exact boundary
    muls = np.clip(round_half_up(real * 2.0**shift), 1, mul_max)
    return shift, [int(m) for m in muls]


def avg_params(window: int, frac_in: int, frac_out: int) -> tuple[int, int]:
    """(avg_mul, avg_shift) averaging `window` values from exponent Fx to Fy: the largest
    avg_shift <= 63 whose avg_mul = round(2**(avg_shift + Fy - Fx) / window) fits u16, the
    most precise multiplier."""
    for shift in range(SHIFT_MAX, -1, -1):
        mul = avg_multiplier(window, shift, frac_out - frac_in)
        if mul <= AVG_MUL_MAX:
            return mul, shift
    raise ValueError(f"an average over {window} values cannot raise the exponent {frac_in} to "
                     f"{frac_out}")
