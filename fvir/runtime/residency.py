"""Link-time weight residency: keep the weights a core loads again and again in its buffer.

A frame loads its own weights (frames are relocatable and core-agnostic), so when one core
runs several frames with the same weights (an RNN's row slice at every time step, a CNN
layer's output-channel tile over several row tiles) the static package moves them from DDR
every time: an LSTM inference streams its 4.2 MB of weights 32 times. Which frames share a
core is only known once the linker has balanced the frames over n cores, so residency is
planned by the dynamic linker, once per core count, like the frame layout itself.

Per core slot, over its frames in execution order (all phases):

1. A frame is a *candidate* when it has exactly one LOAD into the weight buffer, from a
   read-only (weights) segment; its key is that LOAD's fields, its footprint the end of the
   weight-buffer bytes the LOAD writes. Other frames keep their weight-buffer use as
   compiled; the largest of their footprints must stay free.
2. Keys used by two or more of the slot's frames are pinned, most uses first (ties: smaller
   footprint, then key order), as many as fit: the pinned footprints side by side at the top
   of the buffer, plus the largest footprint of the slot's unpinned frames at the bottom, at
   most the core's `weight_buffer_bytes`.
3. Every frame of a pinned key is moved to its key's place: the weight-buffer address of its
   LOAD and the `wgt_addr` of its CONVs and MVMs are raised by the same offset. The first
   one loads the weights; the later ones' LOAD becomes empty (zero rows, columns and
   channels: it keeps its place and its dependency masks and costs `instr_cycles`).

Nothing else writes the weight buffer and a pinned slot is written only by frames of its own
key, so every later frame reads exactly the bytes its own LOAD would have brought: outputs
are unchanged (checked bit for bit by the tests at every core count). A run starts with the
first occurrence of every key, so a core's earlier contents are never relied on.

The linker's prediction follows: an elided LOAD saves the compiler's transfer cycles of its
bytes (`fvir.hw.cost.transfer_cycles` at `core_bytes_per_cycle(pool)`) plus `dma_latency`,
exactly what `tile_schedule` charged for it in the frame's prologue, and its bytes leave the
frame's DDR traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fvir.hw import cost
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package, SegmentKind
from fvir.isa.encoding import columns, set_field
from fvir.isa.spec import Buf, Opcode

# The LOAD fields that say which bytes it brings where: equal fields, equal buffer contents.
_KEY_FIELDS = ("seg", "off", "addr", "rows", "cols", "chans", "ddr_row_stride",
               "ddr_pix_stride", "buf_row_stride", "buf_pix_stride")
_WEIGHT_READERS = (Opcode.CONV, Opcode.MVM)  # the instructions with a `wgt_addr`


@dataclass(frozen=True, eq=False)
class Residency:
    """The plan for one core count: patched words (None when nothing is resident); per frame
    the offset its weight-buffer use moved by, whether its weight LOAD is elided, and the DDR
    bytes and predicted cycles that saves; per slot the bytes of weights kept resident."""

    words: NDArray[np.uint32] | None
    offset: NDArray[np.int64]  # [F]
    elided: NDArray[np.bool_]  # [F]
    saved_bytes: NDArray[np.float64]  # [F]
    saved_cycles: NDArray[np.float64]  # [F]
    resident_bytes: NDArray[np.int64]  # [n]

    @property
    def elided_bytes(self) -> float:
        """DDR bytes one inference no longer moves."""
        return float(self.saved_bytes.sum())


@dataclass(frozen=True, eq=False)
class WeightLoads:
    """Step 1 for a package (computed once, by `fvir.runtime.linker.prepare`): each frame's
    weight LOAD (instruction index, key id, footprint) or -1."""

    load: NDArray[np.int64]  # [F] instruction index of the frame's weight LOAD, -1: none
    key: NDArray[np.int64]  # [F] key id, -1: not a candidate
    footprint: NDArray[np.int64]  # [F] end of the frame's weight-buffer bytes (0: none)
    nbytes: NDArray[np.int64]  # [F] bytes the weight LOAD moves
    readers: dict[Opcode, tuple[NDArray[np.intp], NDArray[np.int64]]]  # op -> (instrs, frame)


def _frame_of(package: Package, instrs: NDArray[np.intp]) -> NDArray[np.int64]:
    """The frame of every instruction index (-1 outside frames)."""
    frames = package.frames
    start = frames["instr_start"].astype(np.int64)
    f = np.searchsorted(start, instrs, side="right") - 1
    inside = (f >= 0) & (instrs < start[np.maximum(f, 0)]
                         + frames["instr_count"].astype(np.int64)[np.maximum(f, 0)])
    return np.where(inside, f, -1)


def weight_loads(package: Package) -> WeightLoads:
    """Step 1 for every frame of `package`."""
    nf = len(package.frames)
    idx, c = columns(package.words, Opcode.LOAD)
    to_weight = c["buf"] == Buf.WEIGHT
    idx = idx[to_weight]
    c = {k: v[to_weight] for k, v in c.items()}
    frame = _frame_of(package, idx)
    per_frame = np.bincount(frame[frame >= 0], minlength=nf)
    read_only = np.array([s.kind == SegmentKind.WEIGHTS for s in package.segments] + [False])
    seg = np.where(c["seg"] < len(package.segments), c["seg"], len(package.segments))
    nbytes = c["rows"] * c["cols"] * c["chans"]
    end = (c["addr"] + (c["rows"] - 1) * c["buf_row_stride"]
           + (c["cols"] - 1) * c["buf_pix_stride"] + c["chans"])
    ok = (frame >= 0) & read_only[seg] & (nbytes > 0)
    ok &= per_frame[np.maximum(frame, 0)] == 1
    load = np.full(nf, -1, np.int64)
    key = np.full(nf, -1, np.int64)
    footprint = np.zeros(nf, np.int64)
    size = np.zeros(nf, np.int64)
    inside = frame >= 0
    np.maximum.at(footprint, frame[inside], np.where(nbytes[inside] > 0, end[inside], 0))
    if ok.any():
        fields = np.stack([c[k][ok] for k in _KEY_FIELDS], axis=1)
        _, ids = np.unique(fields, axis=0, return_inverse=True)
        load[frame[ok]] = idx[ok]
        key[frame[ok]] = ids.ravel()
        size[frame[ok]] = nbytes[ok]
    readers = {}
    for op in _WEIGHT_READERS:
        ridx = columns(package.words, op)[0]
        readers[op] = (ridx, _frame_of(package, ridx))
    return WeightLoads(load, key, footprint, size, readers)


def plan(package: Package, cand: WeightLoads, pool: PoolConfig, core_frames: NDArray[np.intp],
         slot_ranges: list[tuple[int, int]]) -> Residency:
    """Steps 2-3 for one layout: `core_frames[a:b]` are slot s's frames in execution order
    for (a, b) = `slot_ranges[s]`; `cand` is `weight_loads(package)`."""
    nf = len(package.frames)
    cap = pool.core.weight_buffer_bytes
    delta = np.zeros(nf, np.int64)  # weight-buffer offset of every moved frame
    elide = np.zeros(nf, np.bool_)
    resident = np.zeros(len(slot_ranges), np.int64)
    for s, (a, b) in enumerate(slot_ranges):
        frames = core_frames[a:b]
        keys = cand.key[frames]
        is_cand = keys >= 0
        if not is_cand.any():
            continue
        uniq, first, inverse, uses = np.unique(keys[is_cand], return_index=True,
                                               return_inverse=True, return_counts=True)
        cframes = frames[is_cand]
        foot = cand.footprint[cframes[first]]
        # Pinning order: most uses first, then smaller footprint, then key id.
        order = np.lexsort((uniq, foot, -uses))
        order = order[uses[order] >= 2]
        if not len(order):
            continue
        other = int(cand.footprint[frames[~is_cand]].max(initial=0))
        reused = np.zeros(len(uniq), np.bool_)
        reused[order] = True
        # The largest footprint left unpinned when the first k keys of `order` are pinned.
        single = int(foot[~reused].max(initial=0))
        suffix = np.maximum.accumulate(foot[order][::-1])[::-1]
        rest = np.maximum(np.append(suffix[1:], 0), max(other, single))
        pinned = np.cumsum(foot[order])
        fits = np.flatnonzero(pinned + rest <= cap)
        if not len(fits):
            continue
        k = int(fits[-1]) + 1
        chosen = order[:k]
        place = np.full(len(uniq), -1, np.int64)
        place[chosen] = cap - pinned[:k]  # side by side, down from the top of the buffer
        resident[s] = int(pinned[k - 1])
        moved = place[inverse] >= 0
        delta[cframes[moved]] = place[inverse][moved]
        later = np.ones(len(cframes), np.bool_)
        later[first] = False
        elide[cframes[moved & later]] = True
    if not elide.any() and not delta.any():
        zero = np.zeros(nf, np.float64)
        return Residency(None, delta, elide, zero, zero.copy(), resident)
    words = package.words.copy()
    moved_frames = np.flatnonzero(delta)
    loads = cand.load[moved_frames]
    addr = columns(words[loads], Opcode.LOAD)[1]["addr"]
    set_field(words, Opcode.LOAD, "addr", addr + delta[moved_frames], loads)
    for op, (ridx, rframe) in cand.readers.items():
        sel = (rframe >= 0) & (delta[np.maximum(rframe, 0)] > 0)
        if sel.any():
            rows = ridx[sel]
            base = columns(words[rows], op)[1]["wgt_addr"]
            set_field(words, op, "wgt_addr", base + delta[rframe[sel]], rows)
    gone = cand.load[elide]
    for name in ("rows", "cols", "chans"):
        set_field(words, Opcode.LOAD, name, 0, gone)
    words.flags.writeable = False
    saved_bytes = np.where(elide, cand.nbytes, 0).astype(np.float64)
    bpc = cost.core_bytes_per_cycle(pool)
    timing = cost.DEFAULT_TIMING
    saved_cycles = np.zeros(nf, np.float64)  # cost.transfer_cycles, vectorized
    saved_cycles[elide] = np.ceil(cand.nbytes[elide] / bpc) + timing.dma_latency
    return Residency(words, delta, elide, saved_bytes, saved_cycles, resident)
