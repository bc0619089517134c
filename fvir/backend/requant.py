"""Requantization helpers of the Python steps (docs/isa.md, Pseudo-code helpers): the int64
`rshift_round` and `sat8` (ACT's tables, ROW), fp32 mode's meaning of a fused activation
(`activate_real`), and the check of the per-channel multipliers (`multipliers`: CONV and MVM
with `scaled`, one outside 1..REQUANT_MUL_MAX is a `ProgramError`). int8 CONV, MVM, ELEW and
POOL requantize in the compiled `fvir.backend._engine`.
"""

from __future__ import annotations

import numpy as np

from fvir.backend.faults import ProgramError
from fvir.isa.spec import REQUANT_MUL_MAX, Act


def rshift_round(x: np.ndarray, s: int) -> np.ndarray:
    """(x + 2**(s-1)) >> s for s > 0 (arithmetic shift: round half up), x for s == 0."""
    if s <= 0:
        return x
    return (x + (1 << (s - 1))) >> s


def sat8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127)


def activate_real(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """fp32 mode's meaning of a fused activation (`fvir.backend.semantics`, fp32 mode)."""
    if act == Act.NONE:
        return y
    if act == Act.RELU:
        return np.maximum(y, np.float32(0))
    if act == Act.RELU6:
        return np.clip(y, np.float32(0), np.float32(6))
    if act == Act.LEAKY:
        return np.where(y >= 0, y, y * np.float32(arg / 256)).astype(np.float32)
    raise ProgramError(f"unknown activation {act}")


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
