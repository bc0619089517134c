"""What every instruction is to the cycle model: its engine, its fixed occupancy, the bytes it
moves and the MACs it does, from its decoded fields only (never from the data).

1. Every opcode's rows are read with `columns` (vectorized once per package).
2. CONV, POOL, ELEW, MVM, ACT occupy their engine for `instr_cycles` plus `fvir.hw.cost`'s
   cost of their fields (CONV and POOL take the kernel from the latest CONVINIT / POOLINIT
   before them in the package); the *INITs cost `instr_cycles`.
3. LOAD and SAVE occupy their engine for `instr_cycles + dma_latency`, then move
   rows x cols x chans bytes through DDR (`fvir.backend.bank`); an empty one costs
   `instr_cycles`. Their segment and byte range feed the timing-only bounds check.
4. SYNC and END are dispatcher items (`FENCE_ITEM` inside a frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fvir.backend.state import ENGINE_OF
from fvir.hw import cost
from fvir.hw.config import CoreConfig
from fvir.isa.encoding import DecodingError, as_words, columns, opcodes
from fvir.isa.spec import Engine, Opcode

# Stream item kinds: the four engines (Engine values), then the dispatcher's own items.
SYNC_ITEM, END_ITEM, FRAME_ITEM, FENCE_ITEM = 4, 5, 6, 7

ENGINE_NAMES = tuple(e.name for e in Engine)


@dataclass(frozen=True, eq=False)
class InstrTable:
    """What the timing needs of every instruction of a words array ([n] each).

    `engine` is the Engine value (0..3), `FENCE_ITEM` for SYNC/END inside a frame. `cycles` is
    the fixed engine occupancy (rule 1-2 above), `nbytes` what a LOAD/SAVE moves, `macs` the
    useful multiply-accumulates of CONV/MVM. For LOAD/SAVE, `seg` and the byte range
    `lo`..`hi` (exclusive) they touch within it, for the level-1 bounds check; `is_save`
    marks SAVEs (writes)."""

    op: NDArray[np.int64]
    engine: NDArray[np.int64]
    dpdon: NDArray[np.int64]
    dpdby: NDArray[np.int64]
    cycles: NDArray[np.int64]
    nbytes: NDArray[np.int64]
    macs: NDArray[np.int64]
    seg: NDArray[np.int64]
    lo: NDArray[np.int64]
    hi: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.op)


def _latest(init_rows: NDArray[np.intp], rows: NDArray[np.intp],
            values: NDArray[np.int64], default: int) -> NDArray[np.int64]:
    """For each of `rows`, the value of the latest INIT (at `init_rows`) before it."""
    pos = np.searchsorted(init_rows, rows) - 1
    if not len(init_rows):
        return np.full(len(rows), default, np.int64)
    return np.where(pos >= 0, values[np.maximum(pos, 0)], default)


def instr_table(words: np.ndarray, core: CoreConfig,
                timing: cost.Timing = cost.DEFAULT_TIMING) -> InstrTable:
    """Latencies, DMA sizes and MACs of every instruction of `words` (vectorized per opcode).
    Raises `DecodingError` for words that are not instructions."""
    arr = as_words(words)
    n = len(arr)
    op = opcodes(arr)
    z = np.zeros(n, np.int64)
    engine, dpdon, dpdby, cycles, nbytes, macs = (z.copy() for _ in range(6))
    seg, lo, hi = z.copy(), z.copy(), z.copy()
    t_i = timing.instr_cycles
    cols: dict[Opcode, tuple[NDArray[np.intp], dict[str, NDArray[np.int64]]]] = {}
    for value in np.unique(op).tolist():
        try:
            o = Opcode(value)
        except ValueError:
            raise DecodingError(f"unknown opcode {value:#x} in the instruction stream") from None
        idx, c = cols[o] = columns(arr, o)
        dpdon[idx], dpdby[idx] = c["dpdon"], c["dpdby"]
        spec_engine = ENGINE_OF[o]
        engine[idx] = FENCE_ITEM if spec_engine is None else int(spec_engine)
        cycles[idx] = 0 if spec_engine is None else t_i

    for o in (Opcode.LOAD, Opcode.SAVE):
        if o not in cols:
            continue
        idx, c = cols[o]
        size = c["rows"] * c["cols"] * c["chans"]
        nbytes[idx] = size
        cycles[idx] += np.where(size > 0, timing.dma_latency, 0)
        seg[idx], lo[idx] = c["seg"], c["off"]
        # One past the last byte touched (docs/isa.md LOAD/SAVE), as the semantics check it.
        span = (c["off"] + (c["rows"] - 1) * c["ddr_row_stride"]
                + (c["cols"] - 1) * c["ddr_pix_stride"] + c["chans"])
        hi[idx] = np.where(size > 0, span, c["off"])

    if Opcode.CONV in cols:
        idx, c = cols[Opcode.CONV]
        init_idx, init = cols.get(Opcode.CONVINIT, (np.zeros(0, np.intp), {}))
        kh = _latest(init_idx, idx, init.get("kernel_h", z), 1)
        kw = _latest(init_idx, idx, init.get("kernel_w", z), 1)
        dw = c["depthwise"].astype(bool)
        r, w, ic, oc = c["rows"], c["cols"], c["ic"], c["oc"]
        cycles[idx] += np.where(dw, cost.dwconv_cycles(core, r, w, oc, kh, kw),
                                cost.conv_cycles(core, r, w, ic, oc, kh, kw))
        macs[idx] = r * w * oc * kh * kw * np.where(dw, 1, ic)
    if Opcode.POOL in cols:
        idx, c = cols[Opcode.POOL]
        init_idx, init = cols.get(Opcode.POOLINIT, (np.zeros(0, np.intp), {}))
        kh = _latest(init_idx, idx, init.get("kernel_h", z), 1)
        kw = _latest(init_idx, idx, init.get("kernel_w", z), 1)
        cycles[idx] += cost.pool_cycles(core, c["rows"], c["cols"], c["chans"], kh, kw)
    if Opcode.ELEW in cols:
        idx, c = cols[Opcode.ELEW]
        cycles[idx] += cost.elew_cycles(core, c["rows"], c["cols"], c["chans"])
    if Opcode.MVM in cols:
        idx, c = cols[Opcode.MVM]
        cycles[idx] += cost.mvm_cycles(core, c["rows"], c["cols"])
        macs[idx] = c["rows"] * c["cols"]
    if Opcode.ACT in cols:
        idx, c = cols[Opcode.ACT]
        cycles[idx] += cost.act_cycles(core, c["length"])
    if Opcode.ROW in cols:
        idx, c = cols[Opcode.ROW]
        cycles[idx] += cost.row_cycles(core, c["rows"], c["length"])
    return InstrTable(op, engine, dpdon, dpdby, cycles, nbytes, macs, seg, lo, hi)
