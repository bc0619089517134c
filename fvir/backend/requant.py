"""Requantization: the pseudo-code's integer helpers (docs/isa.md, Pseudo-code helpers) and the
exact products of int8 operands, for MVM and POOL.

1. `rshift_round`, `sat8`, `activate`, `requant` are the int64 definitions; `activate_real` is
   fp32 mode's meaning of a fused activation.
2. `exact_matmul`: int8 products are exact in float32 BLAS while a partial sum has at most
   `EXACT_F32_TERMS` terms; longer reductions are cut into such chunks added in int64.
3. Per-channel multipliers (MVM with `scaled`): requant(acc * mul, ...) in int64, since
   acc * mul needs up to 31 + 24 bits. `multipliers` reads the (bias, multiplier) pairs and
   checks each multiplier is in 1..REQUANT_MUL_MAX (a `ProgramError` otherwise).
4. int8 CONV and ELEW run the same definitions compiled (`fvir.backend._engine`).
"""

from __future__ import annotations

import numpy as np

from fvir.backend.faults import ProgramError
from fvir.isa.spec import REQUANT_MUL_MAX, Act

EXACT_F32_TERMS = 1024
"""Largest number of int8 x int8 products a float32 sum holds exactly (1024 * 2**14 = 2**24)."""


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



def multipliers(raw: np.ndarray, op: str, addr: int) -> np.ndarray:
    """The multipliers of n (int32 bias, int32 multiplier) pairs, int64, from the bias
    buffer's bytes `raw` at byte `addr`; one outside 1..REQUANT_MUL_MAX is a ProgramError of
    `op`."""
    mul = raw.view("<i4").astype(np.int64).reshape(-1, 2)[:, 1]
    bad = (mul < 1) | (mul > REQUANT_MUL_MAX)
    if bad.any():
        o = int(np.argmax(bad))
        raise ProgramError(
            f"requantization multiplier {int(mul[o])} of output channel {o} (bias-buffer "
            f"byte {addr + 8 * o + 4}) is outside 1..{REQUANT_MUL_MAX}", op)
    return mul
