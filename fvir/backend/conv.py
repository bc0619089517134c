"""The CONV engine's instructions: CONVINIT, CONV and MVM.

1. CONVINIT latches the configuration (kernel, strides, dilation, requantization) after
   checking its positive fields.
2. CONV is planned once per (fields, latched configuration) (`_ConvPlan`): every extent and
   the bounds checks in the pseudo-code's order (input, weights, bias, output), and the
   instruction's fields as the parameter vector of the compiled kernel.
3. int8 mode: after the checks, `fvir.backend._engine.conv_int8` (compiled C, the only
   definition of int8 CONV's arithmetic; see its header) computes the exact int8 x int8
   products (im2col or depthwise), adds the bias or the partial sums, keeps the partial sums
   (`acc_out`) or requantizes (`scaled`: with the per-channel multipliers, each checked to lie
   in 1..REQUANT_MUL_MAX first) and stores the block. It writes nothing when it reports a
   fault, which is raised here as a `ProgramError`.
4. fp32 mode (real values, see `fvir.backend.semantics`): im2col (one strided copy of the
   padded block) times the [K x oc] weights, or a depthwise multiply-accumulate over the
   kernel offsets, plus the bias or the partial sums, the activation's real meaning, a
   strided store.
5. MVM: y = W x + b, in int8 mode the compiled `_engine.mvm_int8` (a 1 x 1 CONV of one
   pixel: the same products, partial sums, multipliers and requantization).
6. Zero points (int8 mode only): CONV pads with CONVINIT's `in_zp` (the inputs themselves are
   not offset: the compiler folds -in_zp * sum(w) into the bias, so products stay int8 x
   int8); CONV's and MVM's `out_zp` is added by the requantization. fp32 mode ignores them.
"""

from __future__ import annotations

import numpy as np

from fvir.backend._engine import conv_int8, mvm_int8
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
from fvir.backend.faults import ProgramError
from fvir.backend.memory import Memory
from fvir.backend.requant import activate_real, multipliers
from fvir.backend.state import CoreState, row_of
from fvir.backend.steps import Fields, Step, check_positive, compiled_params, configured_step
from fvir.isa.spec import REQUANT_MUL_MAX, Buf, Opcode

BAD_ACTIVATION = -1  # conv_int8: the latched activation is not one of `Act`

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



class _ConvPlan:
    """One CONV under one latched CONVINIT: every extent, stride and check, computed once."""

    __slots__ = ("a_shape", "acc_in", "acc_out", "act", "act_arg", "b_end", "bias_addr", "cfg",
                 "col_off", "col_shape", "col_strides", "cols", "depthwise", "dh", "dw", "f", "ic",
                 "in_addr", "in_cols", "in_rows", "in_zp", "inj", "k", "kh", "kw", "m", "n_wgt",
                 "o_end", "oc", "out_addr", "out_bytes", "out_shape", "out_strides", "out_zp",
                 "p_end", "p_shape", "padded", "pads", "params", "psum_addr", "reads_bias", "rows",
                 "scaled", "sh", "shift_bias", "shift_cut", "sw", "w_end", "x_bytes", "x_end",
                 "x_shape", "x_strides")

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
        self.a_shape = (self.m, self.k)
        self.params = compiled_params(
            "conv", in_addr=self.in_addr, in_rows=in_rows, in_cols=in_cols, ic=ic,
            in_row_stride=self.x_strides[0], in_pix_stride=self.x_strides[1], pad_t=pads[0],
            pad_l=pads[1], kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, rows=rows, cols=cols,
            oc=oc, wgt_addr=wgt_addr, in_zp=self.in_zp, depthwise=int(self.depthwise),
            bias_addr=self.bias_addr, psum_addr=self.psum_addr, acc_in=int(self.acc_in),
            acc_out=int(self.acc_out), scaled=int(self.scaled), shift_bias=self.shift_bias,
            shift_cut=self.shift_cut, act=self.act, act_arg=self.act_arg, out_zp=self.out_zp,
            out_addr=self.out_addr, out_row_stride=self.out_strides[0],
            out_pix_stride=self.out_strides[1], mul_max=REQUANT_MUL_MAX)

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
        """fp32 mode: [rows*cols, kh*kw*ic], K ordered (ky, kx, i) like the weights."""
        fm = state.fmap
        if self.padded:
            pt, pl = self.pads[0], self.pads[1]
            base = np.zeros(self.p_shape, fm.dtype)  # fp32 mode: padding is 0.0
            if x is not None:
                base[pt : pt + self.in_rows, pl : pl + self.in_cols] = x
        else:
            base = fm
        item = fm.itemsize
        cols = np.ndarray(self.col_shape, fm.dtype, base, self.col_off * item,
                          self.col_strides[item])
        return cols.astype(np.float32, order="C").reshape(self.a_shape)

    def depthwise_acc(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """fp32 mode's depthwise: a multiply-accumulate over kernel offsets, [rows*cols, oc]."""
        rows, cols, oc, kh, kw = self.rows, self.cols, self.oc, self.kh, self.kw
        sh, sw, dh, dw = self.sh, self.sw, self.dh, self.dw
        xx = np.zeros(self.x_shape, state.fmap.dtype) if x is None else x
        p = padded(xx, self.pads, 0.0, np.float32)
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
        if state.mode == "int8":
            code = conv_int8(state.raw[Buf.FMAP], state.raw[Buf.WEIGHT], state.bias,
                             self.params)
            if code:
                self.fault(state, code)
            return
        x = self.x(state)
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

    def fault(self, state: CoreState, code: int) -> None:
        """The `ProgramError` of `conv_int8`'s result `code` (it wrote nothing)."""
        if code == BAD_ACTIVATION:
            raise ProgramError(f"unknown activation {self.act}")
        multipliers(state.bias[self.bias_addr : self.b_end], "CONV", self.bias_addr)  # raises
        raise AssertionError(f"conv_int8 returned {code} for valid multipliers")


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
    if state.mode == "int8":  # a 1 x 1 CONV of one pixel, compiled
        code = mvm_int8(state.raw[Buf.FMAP], state.raw[Buf.WEIGHT], state.bias,
                        row_of(Opcode.MVM, f))
        if code == BAD_ACTIVATION:
            raise ProgramError(f"unknown activation {f['act']}")
        if code:
            multipliers(state.bias[bias_addr : bias_addr + 8 * rows], "MVM", bias_addr)
            raise AssertionError(f"mvm_int8 returned {code} for valid multipliers")
        return
    w = state.weight[wgt_addr : wgt_addr + rows * cols].reshape(rows, cols)
    acc = w @ state.fmap[vec_addr : vec_addr + cols]
    total = add_partial_sums(state, "MVM", acc, f, f["shift_bias"], scaled)
    if total is None:
        return
    out = activate_real(total.astype(np.float32, copy=False), f["act"], f["act_arg"])
    store(state.fmap, f["out_addr"], (rows,), (1,), out)
