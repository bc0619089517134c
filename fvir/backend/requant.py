"""Requantization: the pseudo-code's integer helpers (docs/isa.md, Pseudo-code helpers) and the
exact products of int8 operands, shared by CONV, MVM, POOL and ELEW.

1. `rshift_round`, `sat8`, `activate`, `requant` are the int64 definitions; `activate_real` is
   fp32 mode's meaning of a fused activation.
2. `exact_matmul`: int8 products are exact in float32 BLAS while a partial sum has at most
   `EXACT_F32_TERMS` terms; longer reductions are cut into such chunks added in int64.
3. `bias_term`, `requant_acc`, `act_sat8`: the same requantization in int32 whenever no
   intermediate can leave int32 (checked from the bias and the accumulator bound), which gives
   the same results as int64; bias terms are kept in a small content-keyed cache.
4. The output's zero point comes last: sat8(y + zp) is computed as clip(y, -128 - zp,
   127 - zp) + zp, so the addition acts on values within -255..255 and never widens the type
   an accumulator needs (zp = 0: the plain saturation, no addition).
5. Per-channel multipliers (CONV/MVM with `scaled`): requant(acc * mul, ...) in int64, since
   acc * mul needs up to 31 + 24 bits. `scaled_term` reads the (bias, multiplier) pairs, checks
   each multiplier is in 1..REQUANT_MUL_MAX (a `ProgramError` otherwise) and folds bias and
   rounding into one int64 term, (bias << shift_bias) * mul + 2**(s-1), content-cached like
   `bias_term`; `requant_scaled` is then one multiply, one add and one shift per element.
   Without `scaled` none of this runs.
"""

from __future__ import annotations

import numpy as np

from fvir.backend.faults import ProgramError
from fvir.isa.spec import REQUANT_MUL_MAX, Act

EXACT_F32_TERMS = 1024
"""Largest number of int8 x int8 products a float32 sum holds exactly (1024 * 2**14 = 2**24)."""

EXACT_F32_LIMIT = 1 << 24
"""Every integer of magnitude at most 2**24 is a float32."""


def rshift_round(x: np.ndarray, s: int) -> np.ndarray:
    """(x + 2**(s-1)) >> s for s > 0 (arithmetic shift: round half up), x for s == 0."""
    if s <= 0:
        return x
    return (x + (1 << (s - 1))) >> s


def sat8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127)


def activate(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """The fused activation on int64 values in the output's fixed point."""
    if act == Act.NONE:
        return y
    if act == Act.RELU:
        return np.maximum(y, 0)
    if act == Act.RELU6:
        return np.minimum(np.maximum(y, 0), arg)
    if act == Act.LEAKY:
        return np.where(y >= 0, y, rshift_round(y * arg, 8))
    raise ProgramError(f"unknown activation {act}")


def requant(acc: np.ndarray, s: int, act: int, arg: int, zp: int = 0) -> np.ndarray:
    """int64 accumulator -> int8 output with zero point `zp`."""
    y = activate(rshift_round(acc, s), act, arg)
    return sat8(y + zp if zp else y).astype(np.int8)


def activate_real(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """fp32 mode's meaning of a fused activation (see the module docstring)."""
    if act == Act.NONE:
        return y
    if act == Act.RELU:
        return np.maximum(y, np.float32(0))
    if act == Act.RELU6:
        return np.clip(y, np.float32(0), np.float32(6))
    if act == Act.LEAKY:
        return np.where(y >= 0, y, y * np.float32(arg / 256)).astype(np.float32)
    raise ProgramError(f"unknown activation {act}")


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for float32 matrices holding int8 values, exactly, as int64: float32 BLAS on
    chunks of at most EXACT_F32_TERMS terms of the reduction, chunks added in int64."""
    k = a.shape[1]
    if k <= EXACT_F32_TERMS:
        return (a @ b).astype(np.int64)
    out = np.zeros((a.shape[0], b.shape[1]), np.int64)
    for k0 in range(0, k, EXACT_F32_TERMS):
        out += (a[:, k0 : k0 + EXACT_F32_TERMS] @ b[k0 : k0 + EXACT_F32_TERMS]).astype(np.int64)
    return out



_TERMS: dict[tuple[bytes, int, int, int], tuple[np.ndarray, np.ndarray | None]] = {}


def bias_term(raw: np.ndarray, shift_bias: int, s: int,
               acc_bound: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(BIAS32 << shift_bias) plus rshift_round's rounding 2**(s-1), int64, from the bias
    buffer's bytes `raw`; and the same as int32 when |acc| <= acc_bound plus it cannot leave
    int32's range (then the requantization runs in int32 with the same results)."""
    key = (raw.tobytes(), shift_bias, s, acc_bound)
    hit = _TERMS.get(key)
    if hit is None:
        term = raw.view("<i4").astype(np.int64) << shift_bias
        if s > 0:
            term += 1 << (s - 1)
        fits = term.size == 0 or acc_bound + max(int(term.max()), -int(term.min())) < 1 << 31
        hit = (term, term.astype(np.int32) if fits else None)
        if len(_TERMS) >= 4096:
            _TERMS.clear()
        _TERMS[key] = hit
    return hit


def requant_acc(acc: np.ndarray, term64: np.ndarray, term32: np.ndarray | None, s: int,
                 act: int, arg: int, zp: int = 0) -> np.ndarray:
    """requant(acc + term - rounding, s, act, arg, zp) for exact accumulators `acc` (float32
    holding integers of magnitude at most the bound `term32` was checked with, or int64)."""
    if term32 is not None and acc.dtype == np.float32:
        y = acc.astype(np.int32)
        y += term32
    else:
        y = acc.astype(np.int64)
        y += term64
    if s > 0:
        y >>= s
    return act_sat8(y, act, arg, zp)


_SCALED: dict[tuple[bytes, int, int], tuple[np.ndarray, np.ndarray]] = {}


def scaled_term(raw: np.ndarray, shift_bias: int, s: int, op: str,
                addr: int) -> tuple[np.ndarray, np.ndarray]:
    """From the bias buffer's bytes `raw` at byte `addr`, n (int32 bias, int32 multiplier)
    pairs: the multipliers and (bias << shift_bias) * mul plus rshift_round's rounding
    2**(s-1), both int64, so that requant((acc + (bias << shift_bias)) * mul, s, ...) is
    `requant_scaled(acc, mul, term, s, ...)`. A multiplier outside 1..REQUANT_MUL_MAX is a
    ProgramError of `op` (checked once per distinct content: faulting bytes are never cached)."""
    key = (raw.tobytes(), shift_bias, s)
    hit = _SCALED.get(key)
    if hit is None:
        pairs = raw.view("<i4").astype(np.int64).reshape(-1, 2)
        mul = np.ascontiguousarray(pairs[:, 1])
        bad = (mul < 1) | (mul > REQUANT_MUL_MAX)
        if bad.any():
            o = int(np.argmax(bad))
            raise ProgramError(
                f"requantization multiplier {int(mul[o])} of output channel {o} (bias-buffer "
                f"byte {addr + 8 * o + 4}) is outside 1..{REQUANT_MUL_MAX}", op)
        term = (pairs[:, 0] << shift_bias) * mul
        if s > 0:
            term += 1 << (s - 1)
        hit = (mul, term)
        if len(_SCALED) >= 4096:
            _SCALED.clear()
        _SCALED[key] = hit
    return hit


def requant_scaled(acc: np.ndarray, mul: np.ndarray, term: np.ndarray, s: int, act: int,
                   arg: int, zp: int = 0) -> np.ndarray:
    """requant(acc * mul + term - rounding, s, act, arg, zp) in int64 for exact accumulators
    `acc` [..., n] (float32 holding integers, or int64) and `scaled_term`'s mul and term [n]."""
    y = acc.astype(np.int64)
    y *= mul
    y += term
    if s > 0:
        y >>= s
    return act_sat8(y, act, arg, zp)


def act_sat8(y: np.ndarray, act: int, arg: int, zp: int = 0) -> np.ndarray:
    """int8(sat8(activate(y) + zp)) for an int16, int32 or int64 array `y` that may be
    overwritten: clipped to [-128 - zp, 127 - zp] first, so adding zp cannot overflow."""
    lo, hi = -128 - zp, 127 - zp
    if act == Act.NONE:
        np.maximum(y, lo, out=y)
    elif act == Act.RELU:
        np.maximum(y, 0, out=y)  # 0 >= lo: zp <= 127
    elif act == Act.RELU6:
        np.maximum(y, 0, out=y)
        np.minimum(y, arg, out=y)
        np.maximum(y, lo, out=y)
    else:
        y = activate(y.astype(np.int64), act, arg)
        np.maximum(y, lo, out=y)
    np.minimum(y, hi, out=y)
    if zp:
        y += zp
    return y.astype(np.int8)
