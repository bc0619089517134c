"""One core's program for the event loop: its frames of every phase in link order, as flat
lists of items (engine instructions, frame fetches, barriers, END).

1. Per core, the frames of phase p (frame ids from the linked executable) are laid out one
   after the other, each as a FRAME_ITEM marker followed by its instructions.
2. A SYNC_ITEM closes every phase; an END_ITEM closes the program.
3. Each item carries its engine (or kind), dpdon/dpdby masks, fixed cycles, DMA bytes and
   `arg`: the package instruction row, frame id or barrier. Built with numpy, stored as
   lists because the event loop reads them one item at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fvir.backend.items import END_ITEM, FRAME_ITEM, SYNC_ITEM, InstrTable


@dataclass(eq=False)
class CoreProgram:
    """The items one core runs, in program order (lists: the event loop reads them per item).

    `kind` is an engine (0..3) or SYNC_ITEM / END_ITEM / FRAME_ITEM / FENCE_ITEM; `arg` is the
    package instruction row of an engine item or fence, the frame id of a FRAME_ITEM and the
    barrier (phase) of a SYNC_ITEM. `stop`: the position of an instruction that faults (the
    tenant stops when it would start), -1 for none."""

    core: int
    tenant: int
    kind: list[int]
    dpdon: list[int]
    dpdby: list[int]
    cycles: list[int]
    nbytes: list[int]
    arg: list[int]
    stop: int = -1

    def __len__(self) -> int:
        return len(self.kind)


def core_program(table: InstrTable, frames: np.ndarray, phase_frames: Sequence[np.ndarray],
                 core: int, tenant: int) -> CoreProgram:
    """The program of one core that runs `phase_frames[p]` (frame ids, in order) in phase p,
    with a barrier after every phase and END at the end. `frames` is the package's frame
    table (FRAME_DTYPE)."""
    counts = [len(ids) for ids in phase_frames]
    ids = (np.concatenate([np.asarray(x, np.intp) for x in phase_frames]) if phase_frames
           else np.zeros(0, np.intp))
    starts = frames["instr_start"][ids].astype(np.int64)
    n_instr = frames["instr_count"][ids].astype(np.int64)
    nphase = len(phase_frames)
    frame_phase = np.repeat(np.arange(nphase), counts)
    block = n_instr + 1  # the frame's marker, then its instructions
    marker = np.cumsum(block) - block + frame_phase  # every earlier phase added one SYNC
    ends_of_phase = np.cumsum(np.bincount(frame_phase, weights=block, minlength=nphase)
                              ).astype(np.int64) if nphase else np.zeros(0, np.int64)
    sync = ends_of_phase + np.arange(nphase)
    total = int(block.sum()) + nphase + 1
    rows = np.full(total, -1, np.int64)
    # Instruction positions: marker + 1 + j for j < count, frame by frame.
    total_instr = int(n_instr.sum())
    first = np.cumsum(n_instr) - n_instr
    pos = np.repeat(marker + 1 - first, n_instr) + np.arange(total_instr)
    rows[pos] = np.repeat(starts - first, n_instr) + np.arange(total_instr)

    kind = np.empty(total, np.int64)
    arg = np.zeros(total, np.int64)
    on, by, cyc, nb = (np.zeros(total, np.int64) for _ in range(4))
    r = rows[pos]
    kind[pos], on[pos], by[pos] = table.engine[r], table.dpdon[r], table.dpdby[r]
    cyc[pos], nb[pos], arg[pos] = table.cycles[r], table.nbytes[r], r
    kind[marker], arg[marker] = FRAME_ITEM, ids
    kind[sync], arg[sync] = SYNC_ITEM, np.arange(nphase)
    kind[-1] = END_ITEM
    return CoreProgram(core, tenant, kind.tolist(), on.tolist(), by.tolist(), cyc.tolist(),
                       nb.tolist(), arg.tolist())
