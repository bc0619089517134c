"""Shared pieces of the simulator tests: a small core, program builders, and straightforward
reference computations written from docs/isa.md's pseudo-code with Python integers and loops.

The references never import `fvir.backend`: they are the independent side of every comparison.
"""

from __future__ import annotations

import numpy as np

from fvir.backend import CoreState, Memory, run_stream
from fvir.hw import CoreConfig
from fvir.isa import Instruction, Opcode, encode

KiB = 1 << 10

CORE = CoreConfig(pp=2, icp=4, ocp=4, clock_mhz=300.0, fmap_buffer_bytes=16 * KiB,
                  weight_buffer_bytes=64 * KiB, bias_buffer_bytes=4 * KiB)


def make(op: Opcode, dpdon: int | str = 0, dpdby: int | str = 0, **fields: int) -> Instruction:
    return Instruction.make(op, dpdon, dpdby, **fields)


def run(state: CoreState, mem: Memory, *instrs: Instruction) -> CoreState:
    """Run `instrs` as one stream on an existing core state."""
    return run_stream(encode(list(instrs)), state, mem)


def fresh(mode: str = "int8", tenant: str = "t") -> tuple[CoreState, Memory]:
    return CoreState(CORE, mode), Memory(mode, tenant)  # type: ignore[arg-type]


def put_block(buf: np.ndarray, start: int, row_stride: int, pix_stride: int,
              block: np.ndarray) -> None:
    """Write an HWC block into a 1-D buffer by explicit loops."""
    rows, cols, chans = block.shape
    for y in range(rows):
        for x in range(cols):
            a = start + y * row_stride + x * pix_stride
            buf[a : a + chans] = block[y, x]


def get_block(buf: np.ndarray, start: int, row_stride: int, pix_stride: int,
              shape: tuple[int, int, int]) -> np.ndarray:
    rows, cols, chans = shape
    out = np.zeros(shape, buf.dtype)
    for y in range(rows):
        for x in range(cols):
            a = start + y * row_stride + x * pix_stride
            out[y, x] = buf[a : a + chans]
    return out


def conv_acc(x: np.ndarray, w: np.ndarray, *, depthwise: bool, pads: tuple[int, int, int, int],
             rows: int, cols: int, fill: int) -> np.ndarray:
    """A 3x3 CONV's accumulators from the pseudo-code: the sum over the window of P (X padded
    with `fill`) times the weights, [rows, cols, oc], int64 (float64 products and sums of int8
    values are exact at these sizes)."""
    pt, pl, pb, pr = pads
    p = np.pad(x.astype(np.float64), ((pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    wf = w.astype(np.float64)
    oc = w.shape[-1] if depthwise else w.shape[0]
    acc = np.zeros((rows, cols, oc))
    for ky in range(3):
        for kx in range(3):
            tap = p[ky : ky + rows, kx : kx + cols]  # [rows, cols, ic]
            acc += tap * wf[ky, kx] if depthwise else tap @ wf[:, ky, kx, :].T
    return acc.astype(np.int64)


def put_conv_part(state: CoreState, x: np.ndarray, w: np.ndarray, a: int, b: int,
                  in_addr: int, wgt_addr: int) -> int:
    """Input channels a..b of a split-reduction CONV: that slice of the HWC input X at
    `in_addr` (pixels packed) and of the [oc, kh, kw, ic] weights at `wgt_addr`; returns the
    input's pixel stride."""
    in_pix = b - a
    put_block(state.fmap, in_addr, x.shape[1] * in_pix, in_pix, x[..., a:b])
    part = np.ascontiguousarray(w[..., a:b])
    state.weight[wgt_addr : wgt_addr + part.size] = part.ravel()
    return in_pix


# ---------------------------------------------------------------------------------------------
# Integer helpers, from the pseudo-code (Python ints: >> is an arithmetic shift)


def ref_rshift_round(x: int, s: int) -> int:
    return (x + (1 << (s - 1))) >> s if s > 0 else x


def ref_sat8(x: int) -> int:
    return min(max(x, -128), 127)


def ref_activate(y: int, act: int, arg: int) -> int:
    if act == 0:
        return y
    if act == 1:
        return max(y, 0)
    if act == 2:
        return min(max(y, 0), arg)
    return y if y >= 0 else ref_rshift_round(y * arg, 8)


def ref_requant(acc: int, s: int, act: int, arg: int) -> int:
    return ref_sat8(ref_activate(ref_rshift_round(acc, s), act, arg))


# ---------------------------------------------------------------------------------------------
# Reference operations on HWC blocks


def pad_hwc(x: np.ndarray, pads: tuple[int, int, int, int], fill: float) -> np.ndarray:
    pt, pl, pb, pr = pads
    return np.pad(x.astype(np.float64), ((pt, pb), (pl, pr), (0, 0)), constant_values=fill)


def ref_conv_acc(x: np.ndarray, w: np.ndarray, rows: int, cols: int, stride: tuple[int, int],
                 dilation: tuple[int, int], pads: tuple[int, int, int, int],
                 depthwise: bool) -> np.ndarray:
    """Accumulators (Python ints) of a CONV: x is [in_rows, in_cols, ic]; w is
    [oc, kh, kw, ic] or, depthwise, [kh, kw, oc]. Object arrays: no overflow, no rounding."""
    (sh, sw), (dh, dw) = stride, dilation
    p = pad_hwc(x, pads, 0).astype(np.int64).astype(object)
    if depthwise:
        kh, kw, oc = w.shape
    else:
        oc, kh, kw, _ = w.shape
    wo = w.astype(np.int64).astype(object)
    acc = np.zeros((rows, cols, oc), object)
    for y in range(rows):
        for xx in range(cols):
            for ky in range(kh):
                for kx in range(kw):
                    pix = p[y * sh + ky * dh, xx * sw + kx * dw]
                    if depthwise:
                        acc[y, xx] += pix * wo[ky, kx]
                    else:
                        acc[y, xx] += (wo[:, ky, kx, :] * pix).sum(axis=1)
    return acc


def ref_requant_block(acc: np.ndarray, bias: np.ndarray, shift_bias: int, shift_cut: int,
                      act: int, arg: int) -> np.ndarray:
    out = np.zeros(acc.shape, np.int8)
    for idx in np.ndindex(acc.shape):
        total = int(acc[idx]) + (int(bias[idx[-1]]) << shift_bias)
        out[idx] = ref_requant(total, shift_cut, act, arg)
    return out
