"""The int8 contract: the integer helpers every int8 computation is defined by.

docs/quantization.md and docs/isa.md define the accelerator's arithmetic with these few
functions (`rshift_round`, `sat8`, `activate`, `requant`, the ACT lookup table, the fused
activations' ISA form `isa_act`, the rounding of real parameters onto integers). The int8
reference executor computes with them, the compiler derives instruction parameters with them,
and tests check the simulator against them. Two of them, `round_half_up` and `clip_bounds`, are
defined in the IR layer (`fvir.ir.dnn`), whose verifier and the accelerator description
(`fvir.hw.capability`) need them too; they are re-exported here.

An int8 code q of a tensor with exponent F and zero point Z stands for (q - Z) * 2**-F; Z = 0
(symmetric) is the default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fvir.ir import dnn
from fvir.ir.dnn import clip_bounds as clip_bounds
from fvir.ir.dnn import round_half_up as round_half_up
from fvir.isa.spec import LEAKY_SHIFT, Act


def rshift_round(x: np.ndarray | int, s: np.ndarray | int) -> np.ndarray:
    """(x + (1 << (s - 1))) >> s for s > 0, x for s = 0: arithmetic shift, round half up.
    `s` may be an array broadcasting against `x` (per-channel shifts)."""
    x64 = np.asarray(x, dtype=np.int64)
    s64 = np.asarray(s, dtype=np.int64)
    half = np.where(s64 > 0, np.left_shift(np.int64(1), np.maximum(s64 - 1, 0)), 0)
    return np.right_shift(x64 + half, s64)


def sat8(x: np.ndarray) -> np.ndarray:
    """Saturate to [-128, 127] and return int8."""
    return np.clip(np.asarray(x, dtype=np.int64), -128, 127).astype(np.int8)


# ISA activation kinds (docs/isa.md `activate`).
NONE, RELU, RELU6, LEAKY = Act.NONE, Act.RELU, Act.RELU6, Act.LEAKY


def activate(y: np.ndarray, kind: Act, arg: int) -> np.ndarray:
    """docs/isa.md `activate` on int64 values."""
    if kind == NONE:
        return y
    if kind == RELU:
        return np.maximum(y, 0)
    if kind == RELU6:
        return np.minimum(np.maximum(y, 0), arg)
    if kind == LEAKY:
        return np.where(y >= 0, y, rshift_round(y * arg, LEAKY_SHIFT))
    raise ValueError(f"unknown activation {kind}")


def requant(acc: np.ndarray, s: np.ndarray | int, kind: Act = NONE, arg: int = 0,
            zp: int = 0) -> np.ndarray:
    """sat8(activate(rshift_round(acc, s), kind, arg) + zp): the activation acts on the real
    value (the accumulator is relative to zero), the output's zero point `zp` comes last."""
    y = activate(rshift_round(acc, s), kind, arg)
    return sat8(y + zp if zp else y)


def isa_act(act: dnn.ActivationAttr | None, frac_out: int) -> tuple[Act, int]:
    """The ISA activation and act_arg that realise a fused `act` on an output of exponent
    `frac_out` (the contract's table): relu -> RELU; clip(0, hi) -> RELU6 with
    act_arg = round(hi * 2**Fy), at most ACT_ARG_MAX (above 127 the clamp never acts after
    sat8, so the largest act_arg gives the same int8 results); leaky_relu(a) -> LEAKY with
    act_arg = round(a * 256). ValueError (saying why) for an act no ISA activation realises."""
    if act is None:
        return NONE, 0
    kind, p = act.act_kind, act.values
    if kind == dnn.ActKind.RELU:
        return RELU, 0
    if kind == dnn.ActKind.CLIP:
        if p[0] != 0.0:
            raise ValueError(f"fused clip must start at 0 (got {p[0]}); only RELU6-style clips "
                             "run on the accelerator")
        arg = round_half_up(p[1] * 2.0**frac_out)
        if arg < 0:
            raise ValueError(f"clip bound {p[1]} is negative on the output's grid")
        return RELU6, min(arg, dnn.ACT_ARG_MAX)
    if kind == dnn.ActKind.LEAKY_RELU:
        arg = round_half_up(p[0] * 2**LEAKY_SHIFT)
        if not 0 <= arg <= dnn.ACT_ARG_MAX:
            raise ValueError(f"leaky_relu slope {p[0]} does not fit act_arg")
        return LEAKY, arg
    raise ValueError(f"a fused {kind} cannot run on the accelerator (split it out)")


def lut(fn: Callable[[np.ndarray], np.ndarray], frac_in: int, frac_out: int, zp_in: int = 0,
        zp_out: int = 0) -> np.ndarray:
    """The ACT table: LUT[q + 128] = sat8(floor(f((q - Zx) * 2**-Fx) * 2**Fy + 0.5) + Zy),
    q = -128..127, in float64."""
    q = np.arange(-128, 128, dtype=np.float64)
    y = round_half_up(fn((q - zp_in) * 2.0**-frac_in) * 2.0**frac_out) + zp_out
    return np.clip(y, -128, 127).astype(np.int8)  # saturated in float64: no int64 overflow


def quantize(x: np.ndarray, frac: int, zp: int = 0) -> np.ndarray:
    """q = sat8(floor(x * 2**F + 0.5) + Z) in float64."""
    # ldexp, not 2.0**frac: exact alike, and any exponent a package may carry saturates
    # instead of overflowing a Python float.
    q = round_half_up(np.ldexp(np.asarray(x, dtype=np.float64), frac))
    return sat8(q + zp if zp else q)


def dequantize(q: np.ndarray, frac: int, zp: int = 0) -> np.ndarray:
    """x = (q - Z) * 2**-F: exact in float32 (at most 9 significant bits)."""
    q64 = q.astype(np.float64)
    return np.ldexp(q64 - zp if zp else q64, -frac).astype(np.float32)
