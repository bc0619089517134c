"""Strided 3-D blocks of the on-chip buffers and DDR: extents, bounds checks, views, stores.

1. A block is (start, shape, strides) in elements; `block_end` is one past its highest element,
   `check_buf` raises `BufferFault` when that passes the buffer's end.
2. `view` is a strided numpy view (no copy); `store` writes a block, letting the later write in
   loop order win where the block overlaps itself (the sequential pseudo-code's result).
3. `padded` and `window` give a compute instruction its (padded) input block.
"""

from __future__ import annotations

import numpy as np

from fvir.backend.faults import BufferFault, ProgramError
from fvir.backend.state import BUF_NAMES, CoreState
from fvir.backend.steps import Fields
from fvir.isa.spec import Buf

Shape = tuple[int, ...]


def block_end(start: int, shape: Shape, strides: Shape) -> int:
    """One past the highest element a non-empty block touches."""
    return start + sum((n - 1) * s for n, s in zip(shape, strides, strict=True)) + 1


def check_buf(state: CoreState, op: str, access: str, buf: int, start: int, shape: Shape,
               strides: Shape) -> None:
    if 0 in shape:
        return
    end = block_end(start, shape, strides)
    size = state.raw[buf].size
    if end > size:
        raise BufferFault(op, access, BUF_NAMES[Buf(buf)], start, end, size)


def view(arr: np.ndarray, start: int, shape: Shape, strides: Shape) -> np.ndarray:
    """A strided view of the 1-D contiguous `arr` (element strides; bounds already checked)."""
    item = arr.itemsize
    return np.ndarray(shape, arr.dtype, buffer=arr, offset=start * item,
                      strides=tuple(s * item for s in strides))


def injective(shape: Shape, strides: Shape) -> bool:
    """Whether no two elements of the block share an address (sufficient test: each stride,
    in increasing order, exceeds the reach of the smaller ones)."""
    reach = 0
    for s, n in sorted((s, n) for n, s in zip(shape, strides, strict=True) if n > 1):
        if s <= reach:
            return False
        reach += (n - 1) * s
    return True


def store(arr: np.ndarray, start: int, shape: Shape, strides: Shape, values: np.ndarray) -> None:
    """Write `values` into the block; where the block overlaps itself, the last write in loop
    (C) order wins, as in the sequential pseudo-code."""
    if 0 in shape:
        return
    if injective(shape, strides):
        view(arr, start, shape, strides)[...] = values
        return
    axes = np.ix_(*(np.arange(n) * s for n, s in zip(shape, strides, strict=True)))
    flat = (start + sum(axes)).ravel()[::-1]  # addresses in loop order, reversed
    vals = np.broadcast_to(values, shape).ravel()[::-1]
    where, first = np.unique(flat, return_index=True)  # first in reverse = last written
    arr[where] = vals[first]


def read_bias(state: CoreState, op: str, addr: int, n: int, stride: int = 4) -> np.ndarray:
    """BIAS32[addr + stride*o] for o < n (stride 4 or 8: the biases of (bias, multiplier)
    pairs), the stride * n bytes bounds-checked: int64 in int8 mode, the float biases in fp32
    mode."""
    check_buf(state, op, "reads", Buf.BIAS, addr, (stride * n,), (1,))
    if state.mode == "int8":
        words = state.bias[addr : addr + stride * n].view("<i4")
        return (words if stride == 4 else words[:: stride // 4]).astype(np.int64)
    return state.bias[addr : addr + stride * n : stride]


def add_partial_sums(state: CoreState, op: str, acc: np.ndarray, f: Fields,
                     shift_bias: int, scaled: bool = False) -> np.ndarray | None:
    """CONV's and MVM's accumulators: the products `acc` [..., oc] plus the partial sums at
    `psum_addr` (`acc_in`) or the bias << shift_bias (fp32 mode: the bias; `scaled`: biases 8
    bytes apart, each followed by its multiplier, which is not applied here); with `acc_out`
    the sums go back to `psum_addr` as int32 (the quantizer bounds every sum of a layer to
    int32) and None is returned."""
    int8 = state.mode == "int8"
    psum = f["psum_addr"]
    if f["acc_in"]:
        base = read_bias(state, op, psum, acc.size).reshape(acc.shape)
    else:
        base = read_bias(state, op, f["bias_addr"], acc.shape[-1], 8 if scaled else 4)
        base = base << shift_bias if int8 else base
    total = (acc.astype(np.int64) if int8 else acc) + base
    if not f["acc_out"]:
        return total
    store_partial(state, op, psum, total)
    return None


def store_partial(state: CoreState, op: str, psum: int, values: np.ndarray) -> None:
    """A split instruction's partial results to the bias buffer at `psum` (bounds-checked):
    int32 in int8 mode, float32 elements at byte addresses in fp32 mode."""
    n = values.size
    check_buf(state, op, "writes", Buf.BIAS, psum, (4 * n,), (1,))
    if state.mode == "int8":
        state.bias[psum : psum + 4 * n].view("<i4")[...] = values.reshape(-1)
    else:
        state.bias[psum : psum + 4 * n : 4] = values.reshape(-1)


def byte_strides(strides: Shape) -> dict[int, Shape]:
    """Element strides in bytes for both storage dtypes (uint8: 1 byte, float32: 4)."""
    return {1: strides, 4: tuple(4 * s for s in strides)}


def padded(x: np.ndarray, pads: tuple[int, int, int, int], fill: float,
            dtype: type) -> np.ndarray:
    """P: the block X with pad_t/pad_l/pad_b/pad_r rows and columns of `fill` around it."""
    pt, pl, pb, pr = pads
    p = np.full((x.shape[0] + pt + pb, x.shape[1] + pl + pr, x.shape[2]), fill, dtype)
    p[pt : pt + x.shape[0], pl : pl + x.shape[1]] = x
    return p


def pads_of(f: Fields) -> tuple[int, int, int, int]:
    return f["pad_t"], f["pad_l"], f["pad_b"], f["pad_r"]


def window(op: str, state: CoreState, f: Fields, in_rows: int, in_cols: int, chans: int,
            cfg: Fields) -> np.ndarray:
    """The input block X (a view of the fmap), bounds-checked."""
    check_window(op, f, in_rows, in_cols)
    shape = (in_rows, in_cols, chans)
    strides = (cfg["in_row_stride"], cfg["in_pix_stride"], 1)
    check_buf(state, op, "reads", Buf.FMAP, f["in_addr"], shape, strides)
    if 0 in shape:
        return np.zeros(shape, state.fmap.dtype)
    return view(state.fmap, f["in_addr"], shape, strides)


def check_window(op: str, f: Fields, in_rows: int, in_cols: int) -> None:
    if in_rows < 0 or in_cols < 0:
        raise ProgramError(
            f"padding ({f['pad_t']}, {f['pad_l']}, {f['pad_b']}, {f['pad_r']}) exceeds the "
            f"input window of the {f['rows']} x {f['cols']} output block", op)
