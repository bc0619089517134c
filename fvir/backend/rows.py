"""The MISC engine's ROW instruction: Softmax and LayerNorm of whole int8 rows.

The backend's own definition of docs/quantization.md's integer kernels (the int8 reference
has its own, `fvir.quant.nonlinear`; tests compare the two bit for bit):

1. SOFTMAX: per row, d = x - max; I-BERT's exp of d on a 2**-16 grid (split off multiples of
   ln 2, second-order polynomial, shift) at 2**-15; one reciprocal floor(2**46 / sum); every
   element e * recip shifted onto the output exponent.
2. LAYERNORM: c = N x - sum(x); the std by an exact integer square root of
   ((sum c**2) // N << 20) + eps; one reciprocal floor(2**48 / std); n = c * recip at
   2**-12; y = sat8(rshift_round(n * gamma + beta, shift)), gamma int8 from the weight buffer,
   beta int32 from the bias buffer; a ROW may write a part of each row only (`part_start`,
   `part_len`: rows whose scale and bias are loaded in parts), from whole-row statistics.
3. fp32 mode computes the real functions in float64 on the float shadow (the float weights),
   ignoring the integer fields.
"""

from __future__ import annotations

import math

import numpy as np

from fvir.backend.blocks import check_buf, read_bias
from fvir.backend.faults import ProgramError
from fvir.backend.memory import Memory
from fvir.backend.requant import rshift_round, sat8
from fvir.backend.state import CoreState
from fvir.backend.steps import Fields
from fvir.isa.spec import ROW_PART_UNIT, Buf, RowFunc

_G = 16  # the internal grid of exp's argument: 2**-16
# round(ln 2 * 2**16), round(1.353 * 2**16), round(0.344 / 0.3585 * 2**32), round(0.3585 * 2**16)
_LN2, _B, _C, _A = 45426, 88670, 4121251743, 23495


def _to(v: np.ndarray, frm: int, to: int) -> np.ndarray:
    return np.left_shift(v, to - frm) if to >= frm else rshift_round(v, frm - to)


def _exp(d: np.ndarray, frac: int) -> np.ndarray:
    """exp(d * 2**-frac) at 2**-15 for int64 d <= 0."""
    t = _to(d, frac, _G)
    z = (-t) // _LN2
    p = t + z * _LN2
    s = np.minimum(33 + z, 62)
    prod = ((p + _B) ** 2 + _C) * _A
    return (prod + np.left_shift(np.int64(1), s - 1)) >> s


def _softmax(x: np.ndarray, in_frac: int, out_frac: int) -> np.ndarray:
    e = _exp(x - x.max(axis=1, keepdims=True), in_frac)
    recip = (1 << 46) // e.sum(axis=1, keepdims=True)
    return sat8(_to(e * recip, 46, out_frac))


def _isqrt(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) for int64 n >= 0: a float estimate, corrected to the exact floor."""
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    r -= (r * r > n).astype(np.int64)
    r -= (r * r > n).astype(np.int64)
    r += ((r + 1) * (r + 1) <= n).astype(np.int64)
    return r


def _layernorm(x: np.ndarray, eps: int, g: np.ndarray, b: np.ndarray, shift: int,
               part: slice) -> np.ndarray:
    """The `part` columns of the LayerNorm of the rows of x (statistics of whole rows)."""
    n = x.shape[1]
    c = n * x - x.sum(axis=1, keepdims=True)
    std = _isqrt(np.left_shift((c * c).sum(axis=1, keepdims=True) // n, 20) + eps)
    norm = rshift_round(c[:, part] * ((1 << 48) // std), 26)
    return sat8(rshift_round(norm * g + b, shift))


def row(state: CoreState, mem: Memory, f: Fields) -> None:
    """ROW: Softmax or LayerNorm of `rows` vectors of `length` elements."""
    rows, n = f["rows"], f["length"]
    if rows == 0 or n == 0:
        return
    check_buf(state, "ROW", "reads", Buf.FMAP, f["in_addr"], (rows * n,), (1,))
    check_buf(state, "ROW", "writes", Buf.FMAP, f["out_addr"], (rows * n,), (1,))
    func = f["func"]
    ln = func == RowFunc.LAYERNORM
    part = slice(0, n)
    if ln:
        if n > 4096:
            raise ProgramError(f"LAYERNORM rows of {n} elements (at most 4096)", "ROW")
        p0 = ROW_PART_UNIT * f["part_start"]
        p1 = min(n, p0 + ROW_PART_UNIT * f["part_len"]) if f["part_len"] else n
        if p0 >= n:
            raise ProgramError(f"LAYERNORM part_start = {f['part_start']} (x {ROW_PART_UNIT}) "
                               f"is past the row's {n} elements", "ROW")
        part = slice(p0, p1)
        check_buf(state, "ROW", "reads", Buf.WEIGHT, f["gamma_addr"], (p1 - p0,), (1,))
        b = read_bias(state, "ROW", f["beta_addr"], p1 - p0)
        g = state.weight[f["gamma_addr"] : f["gamma_addr"] + p1 - p0]
    x = state.fmap[f["in_addr"] : f["in_addr"] + rows * n].reshape(rows, n)
    if state.mode == "int8":
        xi = x.astype(np.int64)
        if ln:
            eps = f["eps_lo"] | (f["eps_hi"] << 32)
            out = _layernorm(xi, eps, g.astype(np.int64), b, f["shift"], part)
        else:
            out = _softmax(xi, f["in_frac"], f["out_frac"])
        out = out.astype(np.int8)
    else:
        xf = x.astype(np.float64)
        if ln:
            mean = xf.mean(axis=1, keepdims=True)
            var = ((xf - mean) ** 2).mean(axis=1, keepdims=True)
            out = (xf[:, part] - mean) / np.sqrt(var + _real_eps(f, n)) * g + b
        else:
            e = np.exp(xf - xf.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        out = out.astype(np.float32)
    state.fmap[f["out_addr"] : f["out_addr"] + rows * n].reshape(rows, n)[:, part] = out


def _real_eps(f: Fields, n: int) -> float:
    """fp32 mode's epsilon: eps_q back from the variance grid of exponent in_frac."""
    eps = f["eps_lo"] | (f["eps_hi"] << 32)
    return eps / (n * n) * math.ldexp(1.0, -2 * (f["in_frac"] + 10))
