"""The MISC engine's instructions: POOLINIT, POOL, ELEWINIT, ELEW and ACT.

1. POOL: the window checks here, then in int8 mode the compiled `_engine.pool_int8` (MAX: the
   maximum code of each window, moved from the input's zero point to the output's; AVG: the
   window sum with the padding at the input's zero point, kh * kw of it taken off, then
   `avg_mul` / `avg_shift`; a window split over rows keeps its partial maxima or sums in the
   bias buffer). fp32 mode: numpy over the padded block, AVG divided by the window's size
   (the whole window's, POOLINIT's `window_h`, when split over rows).
2. ELEW is planned per latched ELEWINIT (`_ElewPlan`): a (+ or *) b with the input zero points
   and shifts, then requantized, in int64 by the compiled `_engine.elew_int8` (int8 mode).
3. ACT maps every byte through a 256-entry table built here from the real function (fp32
   mode: the function itself), applied by the compiled `_engine.act_int8`; GELU's table is
   I-BERT's integer GELU of each byte (`_gelu_table`), which has no zero points. `table_of`
   gives the compiled loop an instruction's table.
4. Zero points act in int8 mode only; fp32 mode ignores them (padding stays 0.0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fvir.backend._engine import act_int8, elew_int8, pool_int8
from fvir.backend.blocks import (
    block_end,
    check_buf,
    injective,
    padded,
    pads_of,
    read_bias,
    store,
    store_partial,
    view,
    window,
)
from fvir.backend.faults import ProgramError
from fvir.backend.memory import Memory
from fvir.backend.requant import activate_real, rshift_round, sat8
from fvir.backend.state import CoreState, row_of
from fvir.backend.steps import Fields, Step, check_positive, compiled_params, configured_step
from fvir.isa.spec import Act, ActFunc, Buf, ElewType, Opcode, PoolType

ACTS = frozenset(int(a) for a in Act)

# ---------------------------------------------------------------------------------------------
# POOL


def poolinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """POOLINIT: latch the pooling configuration."""
    check_positive("POOLINIT", f, ("kernel_h", "kernel_w", "stride_h", "stride_w"))
    state.pool_cfg = dict(f)


POOL_ALL_PADDING = 1  # pool_int8: a MAX window lies entirely in the padding


def pool(state: CoreState, mem: Memory, f: Fields) -> None:
    """POOL: one output block with the latched POOLINIT configuration."""
    c = state.pool_cfg
    if c is None:
        raise ProgramError("no POOLINIT before it (a frame must issue its own)", "POOL")
    rows, cols, chans = f["rows"], f["cols"], f["chans"]
    if rows == 0 or cols == 0 or chans == 0:
        return
    kh, kw, sh, sw = c["kernel_h"], c["kernel_w"], c["stride_h"], c["stride_w"]
    pads = pads_of(f)
    in_rows = (rows - 1) * sh + kh - pads[0] - pads[2]
    in_cols = (cols - 1) * sw + kw - pads[1] - pads[3]
    x = window("POOL", state, f, in_rows, in_cols, chans, c)
    out_shape = (rows, cols, chans)
    out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
    check_buf(state, "POOL", "writes", Buf.FMAP, f["out_addr"], out_shape, out_strides)

    if state.mode == "int8":
        code = pool_int8(state.raw[Buf.FMAP], state.bias, row_of(Opcode.POOL, f),
                         row_of(Opcode.POOLINIT, c))
        if code == POOL_ALL_PADDING:
            raise ProgramError("a max-pool window lies entirely in the padding", "POOL")
        if code:  # the partial results' bytes: the check that fails raises
            n = 4 * rows * cols * chans
            if f["acc_in"]:
                check_buf(state, "POOL", "reads", Buf.BIAS, f["psum_addr"], (n,), (1,))
            check_buf(state, "POOL", "writes", Buf.BIAS, f["psum_addr"], (n,), (1,))
            raise AssertionError(f"pool_int8 returned {code} for partial results in bounds")
        return
    # fp32 mode: real values, float32
    is_max = c["pool_type"] == PoolType.MAX
    p = padded(x, pads, -np.inf if is_max else 0, np.float32)
    windows = sliding_window_view(p, (kh, kw), axis=(0, 1))[
        : (rows - 1) * sh + 1 : sh, : (cols - 1) * sw + 1 : sw]  # [rows, cols, chans, kh, kw]
    if is_max:
        acc = windows.max(axis=(3, 4))
        if np.isneginf(acc).any():
            raise ProgramError("a max-pool window lies entirely in the padding", "POOL")
    else:
        acc = windows.sum(axis=(3, 4))
    if f["acc_in"] or f["acc_out"]:
        acc = _partial_results(state, f, acc, is_max)
        if acc is None:
            return
    if not is_max:  # a window split over rows: divided by the whole window's size
        acc = acc / np.float32((c["window_h"] or kh) * kw)
    store(state.fmap, f["out_addr"], out_shape, out_strides, acc)


def _partial_results(state: CoreState, f: Fields, acc: np.ndarray,
                     is_max: bool) -> np.ndarray | None:
    """fp32 mode's POOL window split over rows: combine `acc` with the partial results at
    psum_addr (`acc_in`: their maximum or sum); with `acc_out` store them there (float32
    elements) and return None."""
    psum, n = f["psum_addr"], acc.size
    if f["acc_in"]:
        before = read_bias(state, "POOL", psum, n).reshape(acc.shape)
        acc = np.maximum(acc, before) if is_max else acc + before
    if not f["acc_out"]:
        return acc
    store_partial(state, "POOL", psum, acc)
    return None


# ---------------------------------------------------------------------------------------------
# ELEW


def elewinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """ELEWINIT: latch the element-wise unit's configuration."""
    state.elew_cfg = dict(f)


class _ElewPlan:
    """One ELEW under one latched ELEWINIT: extents and checks computed once; int8 mode runs
    `fvir.backend._engine.elew_int8` (compiled, int64 as in the pseudo-code), fp32 mode
    numpy."""

    __slots__ = ("a_addr", "act", "act_arg", "add", "b_addr", "b_strides", "ends", "in_strides",
                 "inj", "out_addr", "out_strides", "params", "shape")

    def __init__(self, f: Fields, c: Fields) -> None:
        self.shape = (f["rows"], f["cols"], f["chans"])
        self.in_strides = (c["in_row_stride"], c["in_pix_stride"], 1)
        self.out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
        self.a_addr, self.b_addr, self.out_addr = f["in_a"], f["in_b"], f["out_addr"]
        # bcast_b: b is one pixel, read for every pixel (zero row and pixel strides)
        self.b_strides = (0, 0, 1) if c.get("bcast_b", 0) else self.in_strides
        self.ends = (block_end(self.a_addr, self.shape, self.in_strides),
                     block_end(self.b_addr, self.shape, self.b_strides),
                     block_end(self.out_addr, self.shape, self.out_strides))
        self.inj = injective(self.shape, self.out_strides)
        self.add = c["elew_type"] == ElewType.ADD
        self.act, self.act_arg = c["act"], c["act_arg"]
        self.params = compiled_params(
            "elew", in_a=self.a_addr, in_b=self.b_addr, out_addr=self.out_addr,
            rows=self.shape[0], cols=self.shape[1], chans=self.shape[2],
            in_row_stride=self.in_strides[0], in_pix_stride=self.in_strides[1],
            b_row_stride=self.b_strides[0], b_pix_stride=self.b_strides[1],
            out_row_stride=self.out_strides[0], out_pix_stride=self.out_strides[1],
            add=int(self.add), shift_a=c["shift_a"], shift_b=c["shift_b"],
            shift_out=c["shift_out"], act=self.act, act_arg=self.act_arg, zp_a=c["zp_a"],
            zp_b=c["zp_b"], zp_out=c["zp_out"])

    def run(self, state: CoreState) -> None:
        fm = state.fmap
        size = fm.size
        shape, ins, outs = self.shape, self.in_strides, self.out_strides
        if self.ends[0] > size:
            check_buf(state, "ELEW", "reads", Buf.FMAP, self.a_addr, shape, ins)
        if self.ends[1] > size:
            check_buf(state, "ELEW", "reads", Buf.FMAP, self.b_addr, shape, self.b_strides)
        if self.ends[2] > size:
            check_buf(state, "ELEW", "writes", Buf.FMAP, self.out_addr, shape, outs)
        if state.mode == "int8":
            if self.act not in ACTS:
                raise ProgramError(f"unknown activation {self.act}")
            elew_int8(state.raw[Buf.FMAP], self.params)
            return
        a = view(fm, self.a_addr, shape, ins)
        b = view(fm, self.b_addr, shape, self.b_strides)
        acc = a + b if self.add else a * b
        out = activate_real(acc.astype(np.float32, copy=False), self.act, self.act_arg)
        if self.inj:
            view(fm, self.out_addr, shape, outs)[...] = out
        else:
            store(fm, self.out_addr, shape, outs, out)


def elew_step(f: Fields) -> Step:
    f = dict(f)
    return configured_step("ELEW", lambda s: s.elew_cfg,
                            0 in (f["rows"], f["cols"], f["chans"]),
                            lambda cfg: _ElewPlan(f, cfg))


def elew(state: CoreState, mem: Memory, f: Fields) -> None:
    """ELEW: a (+ or *) b over one block, requantized."""
    elew_step(f)(state, mem)


# ---------------------------------------------------------------------------------------------
# ACT


def _real_function(func: int) -> Callable[[np.ndarray], np.ndarray]:
    if func == ActFunc.IDENTITY:
        return lambda v: v
    if func == ActFunc.RELU:
        return lambda v: np.maximum(v, 0)
    if func == ActFunc.SIGMOID:
        def sigmoid(v: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):  # exp(-v) -> inf gives the right limit 0
                return 1 / (1 + np.exp(-v))
        return sigmoid
    if func == ActFunc.TANH:
        return np.tanh
    if func == ActFunc.GELU:
        erf = np.vectorize(math.erf, otypes=[np.float64])
        return lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2)))
    if func == ActFunc.HARDSWISH:
        return lambda v: v * np.clip(v + 3, 0, 6) / 6
    if func == ActFunc.HARDSIGMOID:
        return lambda v: np.clip(v + 3, 0, 6) / 6
    if func == ActFunc.SILU:
        sigmoid = _real_function(ActFunc.SIGMOID)
        return lambda v: v * sigmoid(v)
    raise ProgramError(f"unknown function {func}", "ACT")


def _shift(v: np.ndarray, s: int) -> np.ndarray:
    """v * 2**-s on integers: a rounding (half up) right shift, or a left shift for s < 0."""
    return rshift_round(v, s) if s > 0 else np.left_shift(v, -s)


def _gelu_table(q: np.ndarray, in_frac: int, out_frac: int) -> np.ndarray:
    """I-BERT's GELU on int8 q in int64: x / sqrt 2 and erf's clipped polynomial on a grid of
    2**-16, then x * (1 + erf) / 2 (docs/quantization.md, "Transformers")."""
    g = 1 << 16
    u = _shift(q * 46341, in_frac)  # 46341 = round(2**16 / sqrt 2): x / sqrt 2 at 2**-16
    b = 115933  # round(1.769 * 2**16)
    m = np.minimum(np.abs(u), b) - b
    erf = np.sign(u) * (rshift_round(-18927 * (m * m), 32) + g)  # -18927 = round(-0.2888 * 2**16)
    return sat8(_shift(q * (g + erf), in_frac + 17 - out_frac))


@lru_cache(maxsize=256)
def act_table(func: int, in_frac: int, out_frac: int, in_zp: int = 0,
              out_zp: int = 0) -> np.ndarray:
    """ACT's lookup table indexed by the input's byte (uint8 view of q): int8 outputs. The
    contract's `lut`, except that it saturates in float64: exponents scaling a code past int64
    (out_frac - in_frac above about 55) still saturate instead of wrapping."""
    if func == ActFunc.GELU:
        q64 = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64)
        table = _gelu_table(q64, in_frac, out_frac).astype(np.int8)
        table.flags.writeable = False
        return table
    q = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.float64)
    y = _real_function(func)((q - in_zp) * math.ldexp(1.0, -in_frac))
    table = sat8(np.floor(y * math.ldexp(1.0, out_frac) + 0.5) + out_zp).astype(np.int8)
    table.flags.writeable = False
    return table


def _check_gelu(f: Fields) -> None:
    if f["func"] == ActFunc.GELU and (f["in_zp"] or f["out_zp"]):
        raise ProgramError(f"GELU takes no zero points (in_zp = {f['in_zp']}, out_zp = "
                           f"{f['out_zp']}): I-BERT's integer kernel is symmetric", "ACT")


def table_of(f: Fields) -> np.ndarray | None:
    """An int8 ACT instruction's table, or None where `act` raises on its fields instead (the
    compiled loop then leaves the instruction to `act`)."""
    try:
        _check_gelu(f)
        return act_table(f["func"], f["in_frac"], f["out_frac"], f["in_zp"], f["out_zp"])
    except ProgramError:
        return None


def act(state: CoreState, mem: Memory, f: Fields) -> None:
    """ACT: a function through a 256-entry table (fp32 mode: the function itself)."""
    n, in_addr, out_addr = f["length"], f["in_addr"], f["out_addr"]
    _check_gelu(f)
    if n == 0:
        return
    check_buf(state, "ACT", "reads", Buf.FMAP, in_addr, (n,), (1,))
    check_buf(state, "ACT", "writes", Buf.FMAP, out_addr, (n,), (1,))
    if state.mode == "int8":
        table = act_table(f["func"], f["in_frac"], f["out_frac"], f["in_zp"], f["out_zp"])
        act_int8(state.raw[Buf.FMAP], table, in_addr, out_addr, n)
    else:
        x = state.fmap[in_addr : in_addr + n]
        state.fmap[out_addr : out_addr + n] = _real_function(f["func"])(x).astype(np.float32)
