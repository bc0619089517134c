"""LOAD and SAVE: one strided 3-D block between a DDR segment and an on-chip buffer.

1. The DDR byte range is checked by `Memory.access` (`MemoryFault`: outside, unbound or
   read-only), the buffer range by `check_buf` (`BufferFault`), before anything is written.
2. The copy is `fvir.backend._engine.dma` (compiled, the one definition the frame loop uses
   too): runs of `chans` elements in loop order, so a destination block that overlaps itself
   ends with the later write.
3. fp32 mode copies float32 elements exactly like bytes (same addresses and strides).
"""

from __future__ import annotations

from fvir.backend._engine import dma
from fvir.backend.blocks import block_end, check_buf
from fvir.backend.memory import Memory
from fvir.backend.state import CoreState
from fvir.backend.steps import Fields, Step, compiled_params, nothing


def dma_step(f: Fields, is_load: bool) -> Step:
    shape = (f["rows"], f["cols"], f["chans"])
    if 0 in shape:
        return nothing
    ddr = (f["ddr_row_stride"], f["ddr_pix_stride"], 1)
    bufs = (f["buf_row_stride"], f["buf_pix_stride"], 1)
    off, addr, buf, seg = f["off"], f["addr"], f["buf"], f["seg"]
    op = "LOAD" if is_load else "SAVE"
    ddr_end = block_end(off, shape, ddr)
    buf_end = block_end(addr, shape, bufs)
    params = compiled_params("dma", addr=addr, off=off, rows=shape[0], cols=shape[1],
                             chans=shape[2], buf_row_stride=bufs[0], buf_pix_stride=bufs[1],
                             ddr_row_stride=ddr[0], ddr_pix_stride=ddr[1])

    def dma_(state: CoreState, mem: Memory) -> None:
        raw = state.raw[buf]
        if is_load:
            region = mem.access(op, "reads", seg, off, ddr_end)
            if buf_end > raw.size:
                check_buf(state, op, "writes", buf, addr, shape, bufs)
        else:
            if buf_end > raw.size:
                check_buf(state, op, "reads", buf, addr, shape, bufs)
            region = mem.access(op, "writes", seg, off, ddr_end)
        dma(raw, region, params, is_load, raw.itemsize)

    return dma_


def load(state: CoreState, mem: Memory, f: Fields) -> None:
    """LOAD: DDR block -> buffer."""
    dma_step(f, True)(state, mem)


def save(state: CoreState, mem: Memory, f: Fields) -> None:
    """SAVE: buffer block -> DDR."""
    dma_step(f, False)(state, mem)
