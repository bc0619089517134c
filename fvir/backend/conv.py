"""The CONV engine's instructions: CONVINIT, CONV (im2col or depthwise) and MVM.

1. CONVINIT latches the configuration (kernel, strides, dilation, requantization) after
   checking its positive fields.
2. CONV is planned once per (fields, latched configuration) (`_ConvPlan`): bounds checks in
   the pseudo-code's order (input, weights, bias, output), then im2col (one strided copy of
   the padded block) times the [K x oc] weights, or a depthwise multiply-accumulate over the
   kernel offsets, then requantization (`fvir.backend.requant`) and a strided store.
3. int8 products are exact in float32 (see `requant.exact_matmul`); a reduction longer than
   1024 terms stays one float32 product when the data bound every partial sum by 2**24.
4. In int8 mode the float32 im2col matrices and weights are kept in content-checked caches
   (`COL_CACHE`, `WGT_CACHE`, one set per host thread): the frames of a layer sweep the same
   input rows once per output-channel group and a frame's CONVs share their weights, so most
   CONVs find their operands after a byte comparison.
5. MVM: y = W x + b with the same exact product (and the same partial sums).
6. Zero points (int8 mode only): CONV pads with CONVINIT's `in_zp` (the inputs themselves are
   not offset: the compiler folds -in_zp * sum(w) into the bias, so products stay int8 x int8
   and every exactness bound above holds); CONV's and MVM's `out_zp` is added by the
   requantization. fp32 mode ignores them.
7. Multipliers (CONVINIT's or MVM's `scaled`): the bias buffer holds (int32 bias, int32
   multiplier) pairs, 8 bytes per output channel, and the requantization is
   requant(acc * mul, ...) in int64 (`requant.scaled_term` / `requant_scaled`; the products
   stay as above, only the last step changes). The plan decides once, so CONVs without
   `scaled` run exactly the code they ran before. fp32 mode reads the biases at the 8-byte
   stride and ignores the multipliers.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict

import numpy as np

from fvir.backend.blocks import (
    add_partial_sums,
    block_end,
    byte_strides,
    check_buf,
    check_window,
    injective,
    padded,
    pads_of,
    store,
)
from fvir.backend.memory import Memory
from fvir.backend.requant import (
    EXACT_F32_LIMIT,
    EXACT_F32_TERMS,
    activate_real,
    bias_term,
    exact_matmul,
    requant,
    requant_acc,
    requant_scaled,
    scaled_term,
)
from fvir.backend.state import CoreState
from fvir.backend.steps import Fields, Step, check_positive, configured_step
from fvir.isa.spec import Buf

CONV_INIT_POSITIVE = ("kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h", "dilation_w")


def convinit_step(f: Fields) -> Step:
    cfg = dict(f)
    valid = all(cfg[name] >= 1 for name in CONV_INIT_POSITIVE)

    def convinit_(state: CoreState, mem: Memory) -> None:
        if not valid:
            check_positive("CONVINIT", cfg, CONV_INIT_POSITIVE)
        state.conv_cfg = dict(cfg)

    return convinit_


def convinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONVINIT: latch the conv engine's configuration."""
    convinit_step(f)(state, mem)



class _ContentCache:
    """Recent float32 operands of CONV (int8 mode) by geometry, each with the bytes it was
    built from and one number derived from it: im2col matrices (with their largest row sum of
    |A|), so that frames sweeping the same input rows for another group of output channels
    find their matrix after a byte comparison; and converted weights (with their largest
    |w|), which every CONV of a frame shares. Content-checked, so a hit is always what the
    current bytes give. Geometry keys are shared; the entries are per host thread (threads
    simulating different cores or inputs would only evict each other's)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget  # bytes of arrays kept, per thread
        self.keys: dict[tuple[int, ...], int] = {}
        self.ids = itertools.count()  # never reused, so a forgotten key cannot alias
        self._local = threading.local()
        self._lock = threading.Lock()

    def _entries(self) -> OrderedDict[int, tuple[bytes, np.ndarray, float]]:
        local = self._local
        entries = getattr(local, "entries", None)
        if entries is None:
            entries = local.entries = OrderedDict()
            local.nbytes = 0
        return entries

    def key(self, geometry: tuple[int, ...]) -> int:
        k = self.keys.get(geometry)
        if k is None:
            with self._lock:
                if len(self.keys) > 1 << 16:
                    self.keys.clear()
                k = self.keys.setdefault(geometry, next(self.ids))
        return k

    def get(self, key: int, data: bytes) -> tuple[np.ndarray, float] | None:
        entries = self._entries()
        hit = entries.get(key)
        if hit is None or hit[0] != data:
            return None
        entries.move_to_end(key)
        return hit[1], hit[2]

    def put(self, key: int, data: bytes, a: np.ndarray, number: float) -> None:
        entries = self._entries()
        local = self._local
        old = entries.pop(key, None)
        if old is not None:
            local.nbytes -= old[1].nbytes
        if a.nbytes > self.budget // 4:
            return
        entries[key] = (data, a, number)
        local.nbytes += a.nbytes
        while local.nbytes > self.budget:
            _, (_, dropped, _) = entries.popitem(last=False)
            local.nbytes -= dropped.nbytes

    def clear(self) -> None:
        """Forget this thread's entries and every geometry key."""
        self._entries().clear()
        self._local.nbytes = 0
        with self._lock:
            self.keys.clear()


COL_CACHE = _ContentCache(48 << 20)
WGT_CACHE = _ContentCache(16 << 20)


class _ConvPlan:
    """One CONV under one latched CONVINIT: every extent, stride and check, computed once."""

    __slots__ = ("a_shape", "acc_bound", "acc_in", "acc_out", "act", "act_arg", "b_end",
                 "bias_addr", "cache_key", "cfg", "col_off", "col_shape", "col_strides", "cols",
                 "depthwise", "dh", "dw", "f", "ic", "in_addr", "in_cols", "in_rows", "in_zp",
                 "inj", "k", "kh", "kw", "m", "n_wgt", "o_end", "oc", "out_addr", "out_bytes",
                 "out_shape", "out_strides", "out_zp", "p_end", "p_shape", "padded", "pads",
                 "psum_addr", "reads_bias", "rows", "scaled", "sh", "shift_bias", "shift_cut", "sw",
                 "w_end", "wgt_key", "x_bytes", "x_end", "x_shape", "x_strides")

    def __init__(self, f: Fields, c: Fields) -> None:
        self.f, self.cfg = f, c
        rows, cols, ic, oc = f["rows"], f["cols"], f["ic"], f["oc"]
        kh, kw, sh, sw = c["kernel_h"], c["kernel_w"], c["stride_h"], c["stride_w"]
        dh, dw = c["dilation_h"], c["dilation_w"]
        self.rows, self.cols, self.ic, self.oc = rows, cols, ic, oc
        self.kh, self.kw, self.sh, self.sw, self.dh, self.dw = kh, kw, sh, sw, dh, dw
        self.depthwise = bool(f["depthwise"])
        pads = self.pads = pads_of(f)
        in_rows = (rows - 1) * sh + (kh - 1) * dh + 1 - pads[0] - pads[2]
        in_cols = (cols - 1) * sw + (kw - 1) * dw + 1 - pads[1] - pads[3]
        check_window("CONV", f, in_rows, in_cols)
        self.in_rows, self.in_cols = in_rows, in_cols
        self.in_addr = f["in_addr"]
        self.x_shape = (in_rows, in_cols, ic)
        self.x_strides = (c["in_row_stride"], c["in_pix_stride"], 1)
        empty_x = 0 in self.x_shape
        self.x_end = -1 if empty_x else block_end(self.in_addr, self.x_shape, self.x_strides)
        self.n_wgt = kh * kw * oc if self.depthwise else oc * kh * kw * ic
        wgt_addr = f["wgt_addr"]
        self.w_end = wgt_addr + self.n_wgt if self.n_wgt else -1
        self.bias_addr = f["bias_addr"]
        self.acc_in, self.acc_out = bool(f["acc_in"]), bool(f["acc_out"])
        # scaled: (bias, multiplier) pairs, read for the biases (not acc_in) or the
        # multipliers (not acc_out)
        self.scaled = bool(c["scaled"])
        self.b_end = self.bias_addr + (8 if self.scaled else 4) * oc
        self.reads_bias = not self.acc_in or (self.scaled and not self.acc_out)
        self.psum_addr = f["psum_addr"]
        self.p_end = self.psum_addr + 4 * rows * cols * oc
        self.out_addr = f["out_addr"]
        self.out_shape = (rows, cols, oc)
        self.out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
        self.o_end = block_end(self.out_addr, self.out_shape, self.out_strides)
        self.inj = injective(self.out_shape, self.out_strides)
        self.x_bytes = byte_strides(self.x_strides)
        self.out_bytes = byte_strides(self.out_strides)
        self.shift_bias, self.shift_cut = c["shift_bias"], c["shift_cut"]
        self.act, self.act_arg = c["act"], c["act_arg"]
        self.in_zp, self.out_zp = c["in_zp"], c["out_zp"]
        self.m, self.k = rows * cols, kh * kw * ic
        # im2col as one strided view [rows, cols, kh, kw, ic] of P (the padded block, a fresh
        # contiguous array) or, without padding, of the fmap itself; strides in elements.
        self.padded = any(pads) or empty_x
        self.p_shape = (in_rows + pads[0] + pads[2], in_cols + pads[1] + pads[3], ic)
        self.col_shape = (rows, cols, kh, kw, ic)
        if self.padded:
            r, p = self.p_shape[1] * ic, ic
            self.col_off = 0
        else:
            r, p = self.x_strides[0], self.x_strides[1]
            self.col_off = self.in_addr
        self.col_strides = byte_strides((r * sh, p * sw, r * dh, p * dw, 1))
        cacheable = not self.depthwise and (kh * kw > 1 or self.k > EXACT_F32_TERMS)
        # in_zp: the padding's value, part of the matrix but not of the bytes compared
        self.cache_key = COL_CACHE.key((self.in_addr, *self.x_shape, *self.x_strides, *pads,
                                        kh, kw, sh, sw, dh, dw, rows, cols,
                                        self.in_zp)) if cacheable else -1
        self.a_shape = (self.m, self.k)
        self.wgt_key = WGT_CACHE.key((wgt_addr, oc, self.k))
        # |acc| <= this (|x * w| <= 2**14 per term)
        self.acc_bound = (kh * kw if self.depthwise else self.k) << 14

    def check(self, state: CoreState) -> None:
        """The bounds checks of the pseudo-code, in its order (input, weights, bias, output)."""
        fsize = state.raw[Buf.FMAP].size
        if self.x_end > fsize:
            check_buf(state, "CONV", "reads", Buf.FMAP, self.in_addr, self.x_shape,
                       self.x_strides)
        if self.w_end > state.raw[Buf.WEIGHT].size:
            check_buf(state, "CONV", "reads", Buf.WEIGHT, self.f["wgt_addr"], (self.n_wgt,),
                       (1,))
        bsize = state.raw[Buf.BIAS].size
        if self.reads_bias and self.b_end > bsize:
            check_buf(state, "CONV", "reads", Buf.BIAS, self.bias_addr,
                      (self.b_end - self.bias_addr,), (1,))
        if (self.acc_in or self.acc_out) and self.p_end > bsize:
            check_buf(state, "CONV", "reads" if self.acc_in else "writes", Buf.BIAS,
                      self.psum_addr, (self.p_end - self.psum_addr,), (1,))
        if not self.acc_out and self.o_end > fsize:
            check_buf(state, "CONV", "writes", Buf.FMAP, self.out_addr, self.out_shape,
                       self.out_strides)

    def x(self, state: CoreState) -> np.ndarray | None:
        """The input block X, a view of the fmap (None when empty)."""
        if self.x_end < 0:
            return None
        fm = state.fmap
        item = fm.itemsize
        return np.ndarray(self.x_shape, fm.dtype, fm, self.in_addr * item, self.x_bytes[item])

    def im2col(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """[rows*cols, kh*kw*ic] float32, K ordered (ky, kx, i) like the weights."""
        fm = state.fmap
        if self.padded:
            pt, pl = self.pads[0], self.pads[1]
            fill = self.pad_fill(state)
            shape, dtype = self.p_shape, fm.dtype
            base = np.full(shape, fill, dtype) if fill else np.zeros(shape, dtype)
            if x is not None:
                base[pt : pt + self.in_rows, pl : pl + self.in_cols] = x
        else:
            base = fm
        item = fm.itemsize
        cols = np.ndarray(self.col_shape, fm.dtype, base, self.col_off * item,
                          self.col_strides[item])
        return cols.astype(np.float32, order="C").reshape(self.a_shape)

    def scaled_term(self, state: CoreState) -> tuple[np.ndarray, np.ndarray]:
        """The multipliers and folded bias terms of the (bias, multiplier) pairs."""
        return scaled_term(state.bias[self.bias_addr : self.b_end], self.shift_bias,
                           self.shift_cut, "CONV", self.bias_addr)

    def pad_fill(self, state: CoreState) -> int:
        """The padding's value: the input's zero point in int8 mode, 0 in fp32 mode."""
        return self.in_zp if state.mode == "int8" else 0

    def depthwise_acc(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """Depthwise: float32 multiply-accumulate over kernel offsets, [rows*cols, oc]."""
        rows, cols, oc, kh, kw = self.rows, self.cols, self.oc, self.kh, self.kw
        sh, sw, dh, dw = self.sh, self.sw, self.dh, self.dw
        xx = np.zeros(self.x_shape, state.fmap.dtype) if x is None else x
        p = padded(xx, self.pads, self.pad_fill(state), np.float32)
        wa = self.f["wgt_addr"]
        wd = state.weight[wa : wa + self.n_wgt].reshape(kh, kw, oc).astype(np.float32)
        acc32 = np.zeros(self.out_shape, np.float32)
        for ky in range(kh):
            for kx in range(kw):
                acc32 += p[ky * dh : ky * dh + (rows - 1) * sh + 1 : sh,
                           kx * dw : kx * dw + (cols - 1) * sw + 1 : sw] * wd[ky, kx]
        return acc32.reshape(rows * cols, oc)

    def run(self, state: CoreState) -> None:
        self.check(state)
        x = self.x(state)
        if state.mode == "int8":
            if self.depthwise:
                acc = self.depthwise_acc(state, x)  # exact integers in float32
            else:
                acc = self.matmul_int8(state, x)  # exact: float32 integers, or int64
            if self.acc_in or self.acc_out:
                total = add_partial_sums(state, "CONV", acc, self.f, self.shift_bias,
                                         self.scaled)
                if total is None:
                    return
                if self.scaled:
                    total *= self.scaled_term(state)[0]
                out = requant(total, self.shift_cut, self.act, self.act_arg, self.out_zp)
            elif self.scaled:
                mul, term = self.scaled_term(state)
                out = requant_scaled(acc, mul, term, self.shift_cut, self.act, self.act_arg,
                                     self.out_zp)
            else:
                term64, term32 = bias_term(state.bias[self.bias_addr : self.b_end],
                                           self.shift_bias, self.shift_cut, self.acc_bound)
                out = requant_acc(acc, term64, term32, self.shift_cut, self.act, self.act_arg,
                                  self.out_zp)
        else:
            if self.depthwise:
                acc = self.depthwise_acc(state, x)
            else:
                wa = self.f["wgt_addr"]
                wm = state.weight[wa : wa + self.n_wgt].reshape(self.oc, self.k).T.astype(
                    np.float32)
                acc = self.im2col(state, x) @ wm
            total = add_partial_sums(state, "CONV", acc, self.f, self.shift_bias, self.scaled)
            if total is None:
                return
            out = activate_real(total.astype(np.float32, copy=False), self.act, self.act_arg)
        fm = state.fmap
        if self.inj:
            item = fm.itemsize
            np.ndarray(self.out_shape, fm.dtype, fm, self.out_addr * item,
                       self.out_bytes[item])[...] = out.reshape(self.out_shape)
        else:
            store(fm, self.out_addr, self.out_shape, self.out_strides,
                   out.reshape(self.out_shape))

    def matmul_int8(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """The exact [rows*cols, oc] products of the im2col matrix and the weights: float32
        (holding integers) when one float32 product is exact, else int64."""
        k = self.k
        key = self.cache_key
        if key >= 0:
            data = b"" if x is None else x.tobytes()
            hit = COL_CACHE.get(key, data)
            if hit is None:
                a = self.im2col(state, x)
                row_sum = _max_row_sum(a) if k > EXACT_F32_TERMS else 0.0
                COL_CACHE.put(key, data, a, row_sum)
            else:
                a, row_sum = hit
        else:
            a = self.im2col(state, x)
            row_sum = _max_row_sum(a) if k > EXACT_F32_TERMS else 0.0
        wa = self.f["wgt_addr"]
        wbytes = state.weight[wa : wa + self.n_wgt].tobytes()
        hit = WGT_CACHE.get(self.wgt_key, wbytes)
        if hit is None:
            w = np.frombuffer(wbytes, np.int8).reshape(self.oc, k).astype(np.float32)
            w_max = max(float(w.max()), -float(w.min())) if w.size else 0.0
            WGT_CACHE.put(self.wgt_key, wbytes, w, w_max)
        else:
            w, w_max = hit
        # One float32 product is exact when every partial sum is an integer of magnitude at
        # most 2**24: bounded by (largest row sum of |A|) * (largest |w|). The weights stay
        # [oc, K] (BLAS reads the transpose in place; a transposed copy costs more).
        if k <= EXACT_F32_TERMS or row_sum * w_max <= EXACT_F32_LIMIT:
            return a @ w.T
        return exact_matmul(a, w.T)


def _max_row_sum(a: np.ndarray) -> float:
    """max over rows of sum |a| for a float32 matrix of int8 values: exact in float32 BLAS
    while K * 128 <= 2**24 (it is only needed, and only used, for K up to that)."""
    if a.shape[1] * 128 > EXACT_F32_LIMIT:
        return float(np.abs(a).astype(np.float64).sum(axis=1).max())
    return float((np.abs(a) @ np.ones(a.shape[1], np.float32)).max())



def conv_step(f: Fields) -> Step:
    f = dict(f)
    rows, cols, ic, oc = f["rows"], f["cols"], f["ic"], f["oc"]
    problem = (f"depthwise needs ic == oc, got ic = {ic}, oc = {oc}"
               if f["depthwise"] and ic != oc else None)
    return configured_step("CONV", lambda s: s.conv_cfg, rows == 0 or cols == 0 or oc == 0,
                            lambda cfg: _ConvPlan(f, cfg), problem)


def conv(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONV: one output block with the latched CONVINIT configuration."""
    conv_step(f)(state, mem)



# ---------------------------------------------------------------------------------------------
# MVM


def mvm(state: CoreState, mem: Memory, f: Fields) -> None:
    """MVM: y = W x + b for a rows x cols int8 matrix."""
    rows, cols = f["rows"], f["cols"]
    if rows == 0:
        return
    wgt_addr, vec_addr, bias_addr = f["wgt_addr"], f["vec_addr"], f["bias_addr"]
    scaled = bool(f["scaled"])
    check_buf(state, "MVM", "reads", Buf.WEIGHT, wgt_addr, (rows * cols,), (1,))
    check_buf(state, "MVM", "reads", Buf.FMAP, vec_addr, (cols,), (1,))
    if f["acc_in"]:
        check_buf(state, "MVM", "reads", Buf.BIAS, f["psum_addr"], (4 * rows,), (1,))
        if scaled and not f["acc_out"]:  # the multipliers
            check_buf(state, "MVM", "reads", Buf.BIAS, bias_addr, (8 * rows,), (1,))
    else:
        check_buf(state, "MVM", "reads", Buf.BIAS, bias_addr, (8 * rows if scaled else 4 * rows,),
                  (1,))
    if f["acc_out"]:
        check_buf(state, "MVM", "writes", Buf.BIAS, f["psum_addr"], (4 * rows,), (1,))
    else:
        check_buf(state, "MVM", "writes", Buf.FMAP, f["out_addr"], (rows,), (1,))
    w = state.weight[wgt_addr : wgt_addr + rows * cols].reshape(rows, cols)
    x = state.fmap[vec_addr : vec_addr + cols]
    if state.mode == "int8":
        acc = exact_matmul(x.astype(np.float32)[None, :], w.T.astype(np.float32))[0]
    else:
        acc = w @ x
    total = add_partial_sums(state, "MVM", acc, f, f["shift_bias"], scaled)
    if total is None:
        return
    if state.mode == "int8":
        if scaled:
            mul, _ = scaled_term(state.bias[bias_addr : bias_addr + 8 * rows], f["shift_bias"],
                                 f["shift_cut"], "MVM", bias_addr)
            total *= mul
        out = requant(total, f["shift_cut"], f["act"], f["act_arg"], f["out_zp"])
    else:
        out = activate_real(total.astype(np.float32, copy=False), f["act"], f["act_arg"])
    store(state.fmap, f["out_addr"], (rows,), (1,), out)
