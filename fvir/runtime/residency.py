"""Link-time weight residency: keep the weights a core loads again and again in its buffers.

A frame loads its own weights and biases (frames are relocatable and core-agnostic), so when
one core runs several frames with the same weights (an RNN's row slice at every time step, a
CNN layer's output-channel tile over several row tiles) the static package moves them from
DDR every time: an LSTM inference streams its 4.2 MB of weights 32 times. Which frames share
a core is only known once the linker has balanced the frames over n cores, so residency is
planned by the dynamic linker, once per core count, like the frame layout itself.

Per core slot, over its frames in execution order (all phases):

1. A frame is a *candidate* when it has exactly one LOAD into the weight buffer and at most
   one into the bias buffer, all from the read-only (weights) segment; its key is those
   LOADs' fields, its footprint in each buffer the end of the bytes its LOAD there writes.
   Other frames keep their buffer use as compiled; the largest of their footprints must stay
   free.
2. Keys used by two or more of the slot's frames are pinned, most uses first (ties: smaller
   weight footprint, then key order), as many as fit: in each buffer, the pinned footprints
   side by side at the top plus the largest footprint of the slot's unpinned frames at the
   bottom, at most the core's `weight_buffer_bytes` / `bias_buffer_bytes`.
3. Every frame of a pinned key is moved to its key's place: the buffer address of its LOADs
   and the weight and bias addresses of its CONVs, MVMs and ROWs are raised by the same offsets. The
   first one loads; the later ones' LOADs become empty (zero rows, columns and channels:
   they keep their place and dependency masks and cost `instr_cycles`).

Nothing else writes these buffers and a pinned place is written only by frames of its own
key, so every later frame reads exactly the bytes its own LOADs would have brought: outputs
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
from fvir.isa.encoding import columns, put_field
from fvir.isa.spec import Buf, Opcode, dma_end

# The LOAD fields that say which bytes it brings where: equal fields, equal buffer contents.
_KEY_FIELDS = ("seg", "off", "addr", "rows", "cols", "chans", "ddr_row_stride",
               "ddr_pix_stride", "buf_row_stride", "buf_pix_stride")
# The resident buffers, and the field by which CONV and MVM read each.
BUFFERS = (Buf.WEIGHT, Buf.BIAS)
# The instructions that read the weight and bias buffers, and their address fields there.
_READERS = {
    Opcode.CONV: ("wgt_addr", "bias_addr"),
    Opcode.MVM: ("wgt_addr", "bias_addr"),
    Opcode.ROW: ("gamma_addr", "beta_addr"),
}


@dataclass(frozen=True, eq=False)
class Residency:
    """The plan for one core count: patched words (None when nothing is resident); per
    buffer (`BUFFERS` order) and frame the offset its use of the buffer moved by; per frame
    whether its LOADs are elided, and the DDR bytes and predicted cycles that saves; per slot
    the bytes kept resident (weights and biases)."""

    words: NDArray[np.uint32] | None
    offset: NDArray[np.int64]  # [B, F]
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
    """Step 1 for a package (computed once, by `fvir.runtime.linker.prepare`): per buffer
    and frame its LOAD there (instruction index, -1: none), the LOAD's bytes and the frame's
    footprint; per frame its key (-1: not a candidate)."""

    load: NDArray[np.int64]  # [B, F]
    addr: NDArray[np.int64]  # [B, F] the LOAD's buffer address
    nbytes: NDArray[np.int64]  # [B, F]
    footprint: NDArray[np.int64]  # [B, F] end of the frame's bytes in the buffer (0: none)
    key: NDArray[np.int64]  # [F]
    # CONV and MVM: op -> (instruction indices, their frames, [B, n] their buffer addresses)
    readers: dict[Opcode, tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]]


def _frame_of(package: Package, instrs: NDArray[np.intp]) -> NDArray[np.int64]:
    """The frame of every instruction index (-1 outside frames)."""
    frames = package.frames
    start = frames["instr_start"].astype(np.int64)
    f = np.maximum(np.searchsorted(start, instrs, side="right") - 1, 0)
    inside = (instrs >= start[f]) & (instrs < start[f] + frames["instr_count"].astype(np.int64)[f])
    return np.where(inside, f, -1)


def weight_loads(package: Package) -> WeightLoads:
    """Step 1 for every frame of `package`."""
    nf = len(package.frames)
    nb = len(BUFFERS)
    idx, c = columns(package.words, Opcode.LOAD)
    frame = _frame_of(package, idx)
    read_only = np.array([s.kind == SegmentKind.WEIGHTS for s in package.segments] + [False])
    from_weights = read_only[np.minimum(c["seg"], len(package.segments))]
    nbytes = c["rows"] * c["cols"] * c["chans"]
    end = np.where(nbytes > 0, dma_end(c, "buf"), 0)
    load = np.full((nb, nf), -1, np.int64)
    addr = np.zeros((nb, nf), np.int64)
    size = np.zeros((nb, nf), np.int64)
    footprint = np.zeros((nb, nf), np.int64)
    fields = np.full((nf, nb * len(_KEY_FIELDS)), -1, np.int64)
    ok = np.ones(nf, np.bool_)
    for b, buf in enumerate(BUFFERS):
        sel = (c["buf"] == buf) & (frame >= 0)
        f = frame[sel]
        np.maximum.at(footprint[b], f, end[sel])
        count = np.bincount(f, minlength=nf)
        good = np.zeros(nf, np.bool_)
        good[f] = from_weights[sel] & (nbytes[sel] > 0)
        ok &= (count == 1) & good if buf == Buf.WEIGHT else (count == 0) | ((count == 1) & good)
        load[b, f] = idx[sel]
        addr[b, f] = c["addr"][sel]
        size[b, f] = nbytes[sel]
        cols = slice(b * len(_KEY_FIELDS), (b + 1) * len(_KEY_FIELDS))
        fields[f, cols] = np.stack([c[k][sel] for k in _KEY_FIELDS], axis=1)
    key = np.full(nf, -1, np.int64)
    if ok.any():
        key[ok] = np.unique(fields[ok], axis=0, return_inverse=True)[1].ravel()
    readers = {}
    for op, names in _READERS.items():
        ridx, rc = columns(package.words, op)
        readers[op] = (ridx, _frame_of(package, ridx), np.stack([rc[n] for n in names]))
    return WeightLoads(load, addr, size, footprint, key, readers)


def plan(package: Package, cand: WeightLoads, pool: PoolConfig, core_frames: NDArray[np.intp],
         slot_ranges: list[tuple[int, int]]) -> Residency:
    """Steps 2-3 for one layout: `core_frames[a:b]` are slot s's frames in execution order
    for (a, b) = `slot_ranges[s]`; `cand` is `weight_loads(package)`.

    All slots at once: a group is one key on one slot, and the per-slot running sums and
    maxima are segmented scans over the groups sorted by slot."""
    nf, nb, n = len(package.frames), len(BUFFERS), len(slot_ranges)
    caps = np.array([pool.core.weight_buffer_bytes, pool.core.bias_buffer_bytes], np.int64)
    delta = np.zeros((nb, nf), np.int64)  # per buffer, the offset of moved frames
    elide = np.zeros(nf, np.bool_)
    resident = np.zeros(n, np.int64)
    pos_slot = np.repeat(np.arange(n), [b - a for a, b in slot_ranges])
    frames = np.concatenate([core_frames[a:b] for a, b in slot_ranges]) if n else core_frames
    keys = cand.key[frames]
    is_cand = keys >= 0
    cframes, cslot = frames[is_cand], pos_slot[is_cand]
    nkeys = int(keys.max(initial=-1)) + 1
    group, first, inverse, uses = np.unique(cslot * nkeys + keys[is_cand], return_index=True,
                                            return_inverse=True, return_counts=True)
    gslot, gkey = group // max(nkeys, 1), group % max(nkeys, 1)
    foot = cand.footprint[:, cframes[first]]  # [B, G]
    reused = uses >= 2
    # Per slot and buffer: the largest footprint that is never pinned.
    other = np.zeros((nb, n), np.int64)
    for bi in range(nb):
        np.maximum.at(other[bi], pos_slot[~is_cand], cand.footprint[bi, frames[~is_cand]])
        np.maximum.at(other[bi], gslot[~reused], foot[bi, ~reused])
    # Pinning order per slot: most uses first, then smaller weight footprint, then key id.
    order = np.lexsort((gkey, foot[0], -uses, gslot))
    order = order[reused[order]]
    if not len(order):
        return _unchanged(nf, delta, elide, resident)
    oslot, ofoot = gslot[order], foot[:, order]
    new_seg = np.r_[True, oslot[1:] != oslot[:-1]]
    seg_start = np.maximum.accumulate(np.where(new_seg, np.arange(len(order)), 0))
    cum = np.cumsum(ofoot, axis=1)
    pinned = cum - (cum[:, seg_start] - ofoot[:, seg_start])  # running sum within the slot
    # Largest footprint after position i in its slot: a reversed running max, lifted per
    # slot so that it restarts at every slot boundary.
    lift = (n - oslot) * (int(ofoot.max()) + 1)
    suffix = np.maximum.accumulate((ofoot + lift)[:, ::-1], axis=1)[:, ::-1] - lift
    after = np.zeros_like(suffix)
    same = np.r_[oslot[1:] == oslot[:-1], False]
    after[:, same] = suffix[:, 1:][:, same[:-1]]
    rest = np.maximum(after, other[:, oslot])
    fits = (pinned + rest <= caps[:, None]).all(axis=0)
    last = np.full(n, -1, np.int64)  # the last position of each slot where pinning fits
    np.maximum.at(last, oslot[fits], np.flatnonzero(fits))
    chosen = np.arange(len(order)) <= last[oslot]
    if not chosen.any():
        return _unchanged(nf, delta, elide, resident)
    place = np.full((nb, len(group)), -1, np.int64)
    place[:, order[chosen]] = caps[:, None] - pinned[:, chosen]  # down from the top
    has_last = last >= 0
    resident[has_last] = pinned[:, last[has_last]].sum(axis=0)
    moved = place[0, inverse] >= 0
    for bi in range(nb):
        on = moved & (cand.load[bi, cframes] >= 0)
        delta[bi, cframes[on]] = place[bi, inverse[on]]
    later = np.ones(len(cframes), np.bool_)
    later[first] = False
    elide[cframes[moved & later]] = True
    return _patch(package, cand, pool, delta, elide, resident)


def _unchanged(nf: int, delta: NDArray[np.int64], elide: NDArray[np.bool_],
               resident: NDArray[np.int64]) -> Residency:
    """The plan when nothing fits or nothing is reused: the package's words as they are."""
    return Residency(None, delta, elide, np.zeros(nf, np.float64), np.zeros(nf, np.float64),
                     resident)


def _patch(package: Package, cand: WeightLoads, pool: PoolConfig, delta: NDArray[np.int64],
           elide: NDArray[np.bool_], resident: NDArray[np.int64]) -> Residency:
    """Step 3's words, and what the elided LOADs save."""
    nf = len(package.frames)
    words = package.words.copy()
    bpc = cost.core_bytes_per_cycle(pool)
    saved_bytes = np.zeros(nf, np.float64)
    saved_cycles = np.zeros(nf, np.float64)
    for bi in range(len(BUFFERS)):
        moved = np.flatnonzero(delta[bi])
        put_field(words, Opcode.LOAD, "addr", cand.load[bi, moved],
                  cand.addr[bi, moved] + delta[bi, moved])
        for op, (ridx, rframe, base) in cand.readers.items():
            sel = (rframe >= 0) & (delta[bi, np.maximum(rframe, 0)] > 0)
            if sel.any():
                put_field(words, op, _READERS[op][bi], ridx[sel],
                          base[bi, sel] + delta[bi, rframe[sel]])
        gone = elide & (cand.load[bi] >= 0)
        for name in ("rows", "cols", "chans"):
            put_field(words, Opcode.LOAD, name, cand.load[bi, gone], 0)
        nbytes = cand.nbytes[bi, gone]
        saved_bytes[gone] += nbytes
        # What tile_schedule charged: cost.transfer_cycles(nbytes, bpc) + dma_latency.
        saved_cycles[gone] += np.ceil(nbytes / bpc) + cost.DEFAULT_TIMING.dma_latency
    words.flags.writeable = False
    return Residency(words, delta, elide, saved_bytes, saved_cycles, resident)
