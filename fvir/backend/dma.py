"""LOAD and SAVE: one strided 3-D block between a DDR segment and an on-chip buffer.

1. The DDR byte range is checked by `Memory.access` (`MemoryFault`: outside, unbound or
   read-only), the buffer range by `check_buf` (`BufferFault`), before anything is written.
2. Both sides are strided views (axes collapsed where both walk contiguously), copied once;
   a destination block that overlaps itself is written in loop order (`store`).
3. fp32 mode copies float32 elements exactly like bytes (same addresses and strides).
"""

from __future__ import annotations

import numpy as np

from fvir.backend.blocks import (
    Shape,
    block_end,
    byte_strides,
    check_buf,
    collapse,
    injective,
    store,
    view,
)
from fvir.backend.memory import Memory
from fvir.backend.state import CoreState
from fvir.backend.steps import Fields, Step, nothing


def _dma_geometry(f: Fields) -> tuple[Shape, Shape, Shape]:
    shape = (f["rows"], f["cols"], f["chans"])
    ddr = (f["ddr_row_stride"], f["ddr_pix_stride"], 1)
    buf = (f["buf_row_stride"], f["buf_pix_stride"], 1)
    return shape, ddr, buf


def dma_step(f: Fields, is_load: bool) -> Step:
    shape, ddr, bufs = _dma_geometry(f)
    if 0 in shape:
        return nothing
    off, addr, buf, seg = f["off"], f["addr"], f["buf"], f["seg"]
    op = "LOAD" if is_load else "SAVE"
    ddr_end = block_end(off, shape, ddr)
    buf_end = block_end(addr, shape, bufs)
    one_to_one = injective(shape, bufs if is_load else ddr)
    cshape, (cddr, cbuf) = collapse(shape, ddr, bufs)
    ddr_b, buf_b = byte_strides(cddr), byte_strides(cbuf)

    def dma(state: CoreState, mem: Memory) -> None:
        raw = state.raw[buf]
        if is_load:
            seg_arr = mem.access(op, "reads", seg, off, ddr_end)
            if buf_end > raw.size:
                check_buf(state, op, "writes", buf, addr, shape, bufs)
        else:
            if buf_end > raw.size:
                check_buf(state, op, "reads", buf, addr, shape, bufs)
            seg_arr = mem.access(op, "writes", seg, off, ddr_end)
        if not one_to_one:
            if is_load:
                store(raw, addr, shape, bufs, view(seg_arr, off, shape, ddr))
            else:
                store(seg_arr, off, shape, ddr, view(raw, addr, shape, bufs))
            return
        item = raw.itemsize
        on_chip = np.ndarray(cshape, raw.dtype, raw, addr * item, buf_b[item])
        in_ddr = np.ndarray(cshape, seg_arr.dtype, seg_arr, off * item, ddr_b[item])
        if is_load:
            on_chip[...] = in_ddr
        else:
            in_ddr[...] = on_chip

    return dma


def load(state: CoreState, mem: Memory, f: Fields) -> None:
    """LOAD: DDR block -> buffer."""
    dma_step(f, True)(state, mem)


def save(state: CoreState, mem: Memory, f: Fields) -> None:
    """SAVE: buffer block -> DDR."""
    dma_step(f, False)(state, mem)
