"""The dynamic linker: bind a compiled package to the cores and DDR regions a tenant has now.

The static compiler runs once per model and produces a package whose frames name no core and no
address. Whenever the hypervisor gives a tenant a different set of cores, `link` specializes
the package to them. It works on arrays only (never xDSL ops) and does nothing per instruction
or per frame in Python, so that a ResNet-50 package (~3k frames, ~100k instructions) links in
about 60 us (benchmarks/bench_link.py); the `ifp-link` pass of `fv-opt` is meant to call the
same `prepare` and `link`.

Once per package, `prepare` computes everything that does not depend on the allocation:

- the phases: groups of layers that run between two barriers. By default (`phases="layer"`)
  every accelerator layer is one phase and every run of consecutive host layers another;
  `phases="merged"` also puts consecutive accelerator layers into one phase when none of them
  touches DDR bytes another one writes (read-after-write, write-after-read and
  write-after-write over the tensors' byte ranges; reading a frameless view layer's output
  counts as reading its inputs), e.g. the parallel branches of an inception module or a ResNet
  block's projection shortcut. Layers without frames are in no phase;
- every phase's frames sorted by cost, heaviest first, with each frame's rank in its phase;
- the relocation table, checked against the instruction words;
- every frame's weight LOAD, for weight residency (`fvir.runtime.residency.weight_loads`).

Then `link(prepared, allocation, pool)`:

1. Validates the allocation against the pool and the package (one-line `UserError`s: no cores,
   duplicate or unknown core ids, missing, too small, overlapping or out-of-bank regions).
2. Balances every phase: the frame of rank p goes to core slot p mod n in snake order (slots
   0..n-1, then n-1..0, ...), all phases at once in a few array operations. For the
   near-uniform tile costs a compiler produces it stays within 0.6% of LPT's predicted latency
   (ResNet-50, 1..16 cores), and the core counts of any phase differ by at most one;
   `balance="lpt"` runs exact longest-processing-time-first instead (a heap per phase,
   sequential, ~0.7 ms; the reference).
3. Orders each core's frames phase by phase, heaviest first: a (core, phase) count table from
   one `bincount`; each frame's position follows from its rank (snake) or a stable sort (LPT).
4. Keeps reused weights resident (`resident=True`, the default): per core, the weights and
   biases that several of its frames load stay in its buffers, and the later frames' LOADs
   become empty (`fvir.runtime.residency`; an LSTM on 16 cores skips 126 of its 139 MB of
   weight traffic). The patched words are shared by every executable linked to that core
   count.
5. Synchronizes: one SYNC barrier (id = phase index, count = number of cores) after every
   phase, so a host phase sits between two barriers. The level-1 dispatcher releases barrier p
   when all cores arrived and, for a host phase p, the host layers (started when barrier p-1
   released) are done.
6. Binds the segments: the tenant's base-register table gets each segment's region start and
   size (for the dispatcher's bounds check). The instruction words are the package's own (or
   step 4's copy for this core count), shared and untouched: a LOAD/SAVE names its segment by
   base register, so nothing in them depends on the allocation. Only when the allocation maps
   segments to other registers (a register file shared by tenants) are the `seg` fields of
   the relocated LOAD/SAVE rewritten: one masked write of their word column, on a copy of the
   words (`patch`; ~0.5 ms, the copy of 3.2 MB of words being half of it).
7. Predicts cycles: per phase, the busiest core's summed frame costs, floored by the busiest
   DDR bank's bytes over its bandwidth (traffic counted on the bank of the core that moves it);
   summed over phases, plus `SYNC_CYCLES` per barrier, with the cycles and bytes step 4
   saves taken off. Host layers are not counted.

Steps 2-4 and the per-slot sums of step 7 depend only on the core count (and the balance), so
they are kept in the prepared package per core count, and step 7's bank floor per bank pattern
of the slots: the first link to n cores costs O(frames) array work (~0.3 ms for a 21k-frame
LSTM, ~3.4 ms with residency), a later link to n cores, whichever cores and regions, only
validates and binds (`benchmarks/bench_link.py` reports both).
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from fvir.errors import UserError
from fvir.hw.config import CoreConfig, PoolConfig
from fvir.hw.cost import SYNC_CYCLES
from fvir.ifp.package import Package
from fvir.isa.encoding import DecodingError, encode_columns, get_field, opcodes, put_field
from fvir.isa.spec import MAX_SYNC_CORES, NUM_BARRIERS, NUM_SEGMENTS, Opcode
from fvir.runtime.memory import Allocation, validate_allocation
from fvir.runtime.residency import Residency, WeightLoads, weight_loads
from fvir.runtime.residency import plan as plan_residency

Balance = Literal["snake", "lpt"]
Phases = Literal["layer", "merged"]
BALANCES: tuple[Balance, ...] = ("snake", "lpt")
PHASES: tuple[Phases, ...] = ("layer", "merged")

BARRIER_DTYPE = np.dtype([
    ("barrier", np.min_scalar_type(NUM_BARRIERS - 1)),  # SYNC `barrier` field
    ("after_phase", np.uint32),
    ("after_layer", np.int32),  # last layer of that phase
    ("count", np.min_scalar_type(MAX_SYNC_CORES)),  # SYNC `count` field: cores that must arrive
])

_MEM_OPS = (Opcode.LOAD, Opcode.SAVE)


# ---------------------------------------------------------------------------------------------
# Once per package


@dataclass(frozen=True, eq=False)
class _Layout:
    """Steps 2, 3 and the per-slot sums of step 6 for one core count (read-only arrays)."""

    frame_slot: NDArray[np.int64]
    core_frames: NDArray[np.intp]
    offsets: NDArray[np.int64]
    busy: NDArray[np.float64]  # [n, P]
    moved: NDArray[np.float64]  # [n, P] DDR bytes
    residency: Residency | None  # None: weights streamed as compiled
    predicted: dict[tuple[int, ...], tuple[NDArray[np.float64], int]] = field(
        default_factory=dict)  # by the bank of every slot: (phase cycles, predicted cycles)


@dataclass(frozen=True, eq=False)
class PreparedPackage:
    """A package plus everything the linker needs that does not depend on the allocation."""

    package: Package
    phases: Phases
    phase_layers: tuple[tuple[int, ...], ...]  # layer ids of every phase, in order
    phase_host: NDArray[np.bool_]  # [P] True for a phase of host layers
    order: NDArray[np.intp]  # [F] frame ids by (phase, cost descending, frame id)
    order_phase: NDArray[np.int64]  # [F] phase of order[i]
    order_rank: NDArray[np.int64]  # [F] rank of order[i] within its phase
    order_cost: NDArray[np.float64]  # [F] cost of order[i]
    order_bytes: NDArray[np.float64]  # [F] DDR bytes order[i] loads and saves
    phase_start: NDArray[np.int64]  # [P + 1] phase p is order[phase_start[p]:phase_start[p+1]]
    reloc_rows: NDArray[np.intp]  # instructions whose `seg` names a package segment
    reloc_segments: NDArray[np.int64]  # the segment each names
    segment_sizes: NDArray[np.int64]  # [S]
    weight_loads: WeightLoads  # what weight residency needs of every frame
    barrier_table: NDArray[np.void] = field(repr=False)  # BARRIER_DTYPE, count 0
    # Frame layouts already computed, by (core count, balance, resident weights): they do not
    # depend on which cores or DDR regions, so re-linking to a core count seen before only
    # binds registers.
    layouts: dict[tuple[int, str, bool], _Layout] = field(default_factory=dict, repr=False)

    @property
    def num_phases(self) -> int:
        return len(self.phase_layers)

    @property
    def num_frames(self) -> int:
        return len(self.order)


def prepare(package: Package, phases: Phases = "layer") -> PreparedPackage:
    """The allocation-independent part of linking `package` (~15 ms for ResNet-50). Cached in
    the package object, like a `functools.cached_property`: a package is immutable once
    compiled, and the cache dies with it. A malformed package is a `UserError`."""
    attrs = getattr(package, "__dict__", None)
    if attrs is None:  # no instance dict: nowhere to cache
        return _prepare(package, phases)
    cache: dict[str, PreparedPackage] = attrs.setdefault("_fvir_prepared", {})
    prep = cache.get(phases)
    if prep is None:
        prep = cache[phases] = _prepare(package, phases)
    return prep


def _prepare(package: Package, phases: Phases) -> PreparedPackage:
    if phases not in PHASES:
        raise UserError(f"unknown phase mode '{phases}' (choose from {', '.join(PHASES)})")
    frames = package.frames
    nf = len(frames)
    _check_frames(package)
    groups = _phase_groups(package, phases)
    host = np.array([package.layers[g[0]].kind == "host" for g in groups], dtype=np.bool_)
    layer_phase = np.full(len(package.layers), -1, dtype=np.int64)
    for p, g in enumerate(groups):
        layer_phase[list(g)] = p
    frame_phase = layer_phase[frames["layer"].astype(np.int64)] if nf else np.zeros(0, np.int64)
    cost = frames["cost"].astype(np.float64)
    order = np.lexsort((np.arange(nf), -cost, frame_phase)).astype(np.intp)
    order_phase = frame_phase[order]
    counts = np.bincount(order_phase, minlength=len(groups)).astype(np.int64)
    phase_start = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum(counts, out=phase_start[1:])
    rank = np.arange(nf, dtype=np.int64) - phase_start[order_phase]
    moved = (frames["load_bytes"].astype(np.float64) + frames["save_bytes"].astype(np.float64))
    rows, segs = _check_relocs(package)
    barriers = np.zeros(len(groups), dtype=BARRIER_DTYPE)
    barriers["barrier"] = np.arange(len(groups)) % NUM_BARRIERS
    barriers["after_phase"] = np.arange(len(groups))
    barriers["after_layer"] = [g[-1] for g in groups]
    return PreparedPackage(
        package=package,
        phases=phases,
        phase_layers=tuple(groups),
        phase_host=host,
        order=order,
        order_phase=order_phase,
        order_rank=rank,
        order_cost=cost[order],
        order_bytes=moved[order],
        phase_start=phase_start,
        reloc_rows=rows,
        reloc_segments=segs,
        segment_sizes=np.array([s.size for s in package.segments], dtype=np.int64),
        weight_loads=weight_loads(package),
        barrier_table=barriers,
    )


def _bad(package: Package, problem: str) -> UserError:
    return UserError(f"package '{package.name}': {problem}")


def _check_frames(package: Package) -> None:
    """Every frame belongs to the accelerator layer whose range holds it; instructions exist."""
    frames, layers = package.frames, package.layers
    expect = np.full(len(frames), -1, dtype=np.int64)
    for i, layer in enumerate(layers):
        a, b = layer.frame_start, layer.frame_start + layer.frame_count
        if layer.frame_count and layer.kind == "host":
            raise _bad(package, f"host layer '{layer.name}' has frames")
        if layer.frame_count < 0 or (layer.frame_count and (a < 0 or b > len(frames))):
            raise _bad(package, f"layer '{layer.name}' has frames {a}..{b - 1}, but the "
                                f"package has {len(frames)}")
        if (expect[a:b] != -1).any():
            raise _bad(package, f"layer '{layer.name}' shares frames with another layer")
        expect[a:b] = i
    got = frames["layer"].astype(np.int64)
    if (got != expect).any():
        f = int(np.argmax(got != expect))
        where = "no layer" if expect[f] < 0 else f"layer {int(expect[f])}"
        raise _bad(package, f"frame {f} says layer {int(got[f])}, but lies in the range of "
                            f"{where}")
    end = frames["instr_start"].astype(np.int64) + frames["instr_count"].astype(np.int64)
    if len(frames) and int(end.max()) > len(package.words):
        f = int(np.argmax(end > len(package.words)))
        raise _bad(package, f"frame {f} ends at instruction {int(end[f])}, past the "
                            f"{len(package.words)} instructions")


def _check_relocs(package: Package) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The relocation table must list every LOAD/SAVE once, with the segment its `seg` field
    holds: then binding by base register is exact, and patching can trust the table."""
    relocs = package.relocs
    rows = relocs["instr"].astype(np.intp)
    segs = relocs["segment"].astype(np.int64)
    nseg = len(package.segments)
    if nseg > NUM_SEGMENTS:
        raise _bad(package, f"{nseg} segments, but instructions reach {NUM_SEGMENTS}")
    if len(segs) and int(segs.max()) >= nseg:
        r = int(np.argmax(segs >= nseg))
        raise _bad(package, f"relocation {r} names segment {int(segs[r])} of {nseg}")
    n_mem = int(np.isin(opcodes(package.words), [int(o) for o in _MEM_OPS]).sum()) \
        if len(package.words) else 0
    if len(np.unique(rows)) != len(rows) or len(rows) != n_mem:
        raise _bad(package, f"{len(rows)} relocations for {n_mem} LOAD/SAVE instructions")
    if len(rows):
        try:
            field_segs = get_field(package.words, _MEM_OPS, "seg", rows)
        except (DecodingError, IndexError) as exc:
            raise _bad(package, f"bad relocation table: {exc}") from None
        if (field_segs != segs).any():
            r = int(np.argmax(field_segs != segs))
            raise _bad(package, f"relocation {r}: instruction {int(rows[r])} has seg "
                                f"{int(field_segs[r])}, the table says {int(segs[r])}")
    return rows, segs


def _byte_ranges(package: Package, tensors: tuple[int, ...]) -> list[tuple[int, int, int]]:
    out = []
    for t in tensors:
        info = package.tensors[t]
        size = int(np.prod(info.shape, dtype=np.int64)) * np.dtype(info.dtype).itemsize
        out.append((info.segment, info.offset, info.offset + size))
    return out


def _overlap(a: list[tuple[int, int, int]], b: list[tuple[int, int, int]]) -> bool:
    return any(sa == sb and lo_a < hi_b and lo_b < hi_a
               for sa, lo_a, hi_a in a for sb, lo_b, hi_b in b)


def _phase_groups(package: Package, phases: Phases) -> list[tuple[int, ...]]:
    """Layer ids per phase. Accelerator layers without frames (views such as a flatten) run
    nothing and belong to no phase; for merging, reading one of their outputs counts as
    reading their inputs too, so a view never hides a dependency."""
    groups: list[list[int]] = []
    kinds: list[str] = []  # "host" or "acc" per group
    touched: list[tuple[list, list]] = []  # (reads, writes) per layer of the open acc group
    via: dict[int, list[tuple[int, int, int]]] = {}  # output of a view -> what it reads
    for i, layer in enumerate(package.layers):
        if layer.kind == "host":
            if kinds and kinds[-1] == "host":
                groups[-1].append(i)
            else:
                groups.append([i])
                kinds.append("host")
            continue
        merging = phases == "merged"
        reads = _byte_ranges(package, layer.inputs) if merging else []
        for t in layer.inputs if merging else ():
            reads += via.get(t, [])
        if layer.frame_count == 0:
            for t in layer.outputs if merging else ():
                via[t] = reads
            continue
        writes = _byte_ranges(package, layer.outputs) if merging else []
        joins = (merging and kinds and kinds[-1] == "acc"
                 and not any(_overlap(writes, r + w) or _overlap(reads, w) for r, w in touched))
        if joins:
            groups[-1].append(i)
        else:
            groups.append([i])
            kinds.append("acc")
            touched = []
        touched.append((reads, writes))
    return [tuple(g) for g in groups]


# ---------------------------------------------------------------------------------------------
# The link


@dataclass(eq=False)
class Executable:
    """A package linked to one tenant's allocation: what the level-1 dispatcher runs.

    Core slot i is physical core `cores[i]`. The frames of slot s in phase p, in execution
    order, are `core_frames[core_offsets[s * P + p] : core_offsets[s * P + p + 1]]` (P phases);
    after each phase every core arrives at that phase's barrier (`barriers`).
    """

    prepared: PreparedPackage
    allocation: Allocation
    tenant: int
    cores: NDArray[np.int64]  # [n] physical core ids, by slot
    frame_slot: NDArray[np.int64]  # [F] core slot of every frame
    core_frames: NDArray[np.intp]  # [F] frame ids, slot by slot, phase by phase
    core_offsets: NDArray[np.int64]  # [n * P + 1]
    registers: NDArray[np.int64]  # [S] base register of every package segment
    bases: NDArray[np.int64]  # [NUM_SEGMENTS] base register -> DDR address, -1 when unbound
    sizes: NDArray[np.int64]  # [NUM_SEGMENTS] bytes a register's segment spans (bounds check)
    words: NDArray[np.uint32]  # shared, read-only words (the package's, or the residency
    # plan's for this core count) or this executable's own patched copy of them
    patched: bool  # True when `words` is this executable's own copy
    residency: Residency | None  # the weight residency plan (None: weights streamed)
    busy: NDArray[np.float64]  # [n, P] summed frame costs per core slot and phase
    phase_cycles: NDArray[np.float64]  # [P] predicted cycles of every phase
    predicted_cycles: int
    balance: Balance
    link_time_s: float = 0.0

    @property
    def package(self) -> Package:
        return self.prepared.package

    @property
    def words_owner(self) -> object:
        """What `words` belong to, and lives as long as they do (data derived from the words
        is cached there): this executable for its own copy, else the residency plan that
        patched them, else the package."""
        if self.patched:
            return self
        if self.residency is not None and self.residency.words is not None:
            return self.residency
        return self.package

    @property
    def resident_bytes(self) -> NDArray[np.int64]:
        """[n] bytes of weights and biases every core slot keeps in its buffers."""
        if self.residency is None:
            return np.zeros(self.num_cores, np.int64)
        return self.residency.resident_bytes

    @property
    def elided_bytes(self) -> float:
        """DDR bytes of weight loads one inference skips (weights already resident)."""
        return 0.0 if self.residency is None else self.residency.elided_bytes

    @cached_property
    def frame_core(self) -> NDArray[np.int64]:
        """[F] the physical core of every frame."""
        return self.cores[self.frame_slot]

    @property
    def num_cores(self) -> int:
        return len(self.cores)

    @property
    def num_phases(self) -> int:
        return self.prepared.num_phases

    @property
    def barriers(self) -> NDArray[np.void]:
        """One row per barrier (`BARRIER_DTYPE`): SYNC id, after which phase and layer, and
        the number of cores that must arrive."""
        table = self.prepared.barrier_table.copy()
        table["count"] = self.num_cores
        return table

    def slot(self, core: int) -> int:
        """The slot of physical core `core` in this executable."""
        hits = np.flatnonzero(self.cores == core)
        if not len(hits):
            raise ValueError(f"core {core} is not allocated to tenant {self.tenant}")
        return int(hits[0])

    def frames_of(self, core: int, phase: int | None = None) -> NDArray[np.intp]:
        """Frame ids physical core `core` runs, in order (all phases, or one)."""
        s, p = self.slot(core), self.num_phases
        if phase is None:
            return self.core_frames[self.core_offsets[s * p]:self.core_offsets[(s + 1) * p]]
        k = s * p + phase
        return self.core_frames[self.core_offsets[k]:self.core_offsets[k + 1]]

    @property
    def frames_per_core(self) -> NDArray[np.int64]:
        """[n] number of frames every core slot runs."""
        p = self.num_phases
        return np.diff(self.core_offsets[::p]) if p else np.zeros(self.num_cores, np.int64)

    @property
    def busy_cycles(self) -> NDArray[np.float64]:
        """[n] summed frame costs of every core slot."""
        return self.busy.sum(axis=1)

    @property
    def load_balance(self) -> float:
        """max / mean of the per-core busy cycles (1.0: perfectly even)."""
        busy = self.busy_cycles
        mean = float(busy.mean()) if len(busy) else 0.0
        return float(busy.max()) / mean if mean > 0 else 1.0

    def latency_s(self, clock_mhz: float) -> float:
        """Predicted latency of one inference at `clock_mhz` (host layers excluded)."""
        return self.predicted_cycles / (clock_mhz * 1e6)

    def stream(self, core: int) -> NDArray[np.uint32]:
        """The instruction stream of physical core `core`: its frames' words phase by phase, a
        SYNC after every phase, END. Materialized on demand (it copies the words), for the
        simulator and for inspection; the level-1 dispatcher itself only needs the frame
        lists."""
        s, p = self.slot(core), self.num_phases
        frames = self.package.frames
        sync = encode_columns(Opcode.SYNC, {"count": self.num_cores,
                                            "barrier": self.prepared.barrier_table["barrier"]},
                              p)
        parts = []
        for phase in range(p):
            k = s * p + phase
            ids = self.core_frames[self.core_offsets[k]:self.core_offsets[k + 1]]
            if len(ids):
                parts.append(self.words[_instr_rows(frames, ids)])
            parts.append(sync[phase:phase + 1])
        parts.append(encode_columns(Opcode.END, {}, 1))
        return np.concatenate(parts)


def _instr_rows(frames: np.ndarray, ids: NDArray[np.intp]) -> NDArray[np.intp]:
    """Instruction indices of frames `ids`, concatenated in that order."""
    starts = frames["instr_start"][ids].astype(np.intp)
    counts = frames["instr_count"][ids].astype(np.intp)
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first, counts) + np.arange(total, dtype=np.intp)


def patch_segments(words: NDArray[np.uint32], rows: NDArray[np.intp],
                   registers: NDArray[np.int64]) -> None:
    """Set the `seg` field of instructions `rows` (LOAD/SAVE, as `prepare` checked) to
    `registers`, in place: one masked write of the field's word column
    (`fvir.isa.encoding.put_field`)."""
    put_field(words, _MEM_OPS, "seg", rows, registers)


@lru_cache(maxsize=16)
def _core_hash(core: CoreConfig) -> str:
    return core.config_hash()


def check_core(package: Package, pool: PoolConfig) -> None:
    """A package runs only on the core it was compiled for (the hash is cached: hashing a
    config costs more than a whole link)."""
    if package.core_hash != _core_hash(pool.core):
        from fvir.ifp.fileformat import check_core as explain  # the one wording of this error

        explain(package, pool.core)


def snake_slots(rank: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Core slot of the frame of rank `rank` in its phase: 0..n-1, n-1..0, 0..n-1, ...

    Computed once per distinct rank (a phase has at most a few hundred frames) and looked up,
    which halves the cost against computing it per frame."""
    t = np.arange(int(rank.max()) + 1 if len(rank) else 0)
    rnd = t // n
    s = t - rnd * n
    return np.where(rnd & 1, n - 1 - s, s)[rank]


def lpt_slots(prep: PreparedPackage, n: int) -> NDArray[np.int64]:
    """Exact longest-processing-time-first, phase by phase: each frame (heaviest first) goes to
    the least loaded slot, the lowest slot on ties. Sequential: the reference for the snake."""
    slot = np.empty(prep.num_frames, dtype=np.int64)
    costs = prep.order_cost.tolist()
    starts = prep.phase_start.tolist()
    for a, b in itertools.pairwise(starts):
        if b - a <= n:
            slot[a:b] = np.arange(b - a)
            continue
        heap = [(0.0, s) for s in range(n)]
        out = []
        for c in costs[a:b]:
            load, s = heap[0]
            heapq.heapreplace(heap, (load + c, s))
            out.append(s)
        slot[a:b] = out
    return slot


def _layout(prep: PreparedPackage, n: int, balance: Balance, pool: PoolConfig,
            resident: bool) -> _Layout:
    """Steps 2-4 for n core slots, and each slot's compute and DDR bytes per phase."""
    nphase = prep.num_phases
    slot = snake_slots(prep.order_rank, n) if balance == "snake" else lpt_slots(prep, n)
    key = slot * nphase + prep.order_phase
    offsets = np.zeros(n * nphase + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n * nphase), out=offsets[1:])
    core_frames = np.empty(prep.num_frames, dtype=np.intp)
    if balance == "snake":
        # Round r of a phase gives every slot one frame, so rank // n is the position.
        core_frames[offsets[key] + prep.order_rank // n] = prep.order
    else:
        core_frames[:] = prep.order[np.argsort(key, kind="stable")]
    frame_slot = np.empty(prep.num_frames, dtype=np.int64)
    frame_slot[prep.order] = slot
    cost, nbytes = prep.order_cost, prep.order_bytes
    residency = None
    if resident:
        residency = plan_residency(prep.package, prep.weight_loads, pool, core_frames,
                                   [(int(offsets[s * nphase]), int(offsets[(s + 1) * nphase]))
                                    for s in range(n)])
        cost = cost - residency.saved_cycles[prep.order]
        nbytes = nbytes - residency.saved_bytes[prep.order]
    busy = np.bincount(key, weights=cost, minlength=n * nphase).reshape(n, nphase)
    moved = np.bincount(key, weights=nbytes, minlength=n * nphase).reshape(n, nphase)
    for a in (frame_slot, core_frames, offsets, busy, moved):
        a.flags.writeable = False  # shared by every executable linked to n cores
    return _Layout(frame_slot, core_frames, offsets, busy, moved, residency)


def link(package: Package | PreparedPackage, allocation: Allocation, pool: PoolConfig, *,
         balance: Balance = "snake", patch: bool | None = None,
         resident: bool = True) -> Executable:
    """Bind `package` to `allocation` on `pool` (see the module docstring for the algorithm).

    `package` is best given prepared (`prepare`); a plain package is prepared once and cached.
    `patch`: None rewrites the LOAD/SAVE `seg` fields only when `allocation.registers` maps a
    segment to another register; True always does (measuring), False never (then such an
    allocation is an error). `resident`: keep reused weights in the cores' weight buffers
    (step 4, `fvir.runtime.residency`); False streams them as compiled.
    """
    t0 = time.perf_counter()
    prep = package if isinstance(package, PreparedPackage) else prepare(package)
    pkg = prep.package
    if balance not in BALANCES:
        raise UserError(f"unknown balance '{balance}' (choose from {', '.join(BALANCES)})")
    check_core(pkg, pool)
    validate_allocation(pkg, allocation, pool)
    cores = np.array(allocation.cores, dtype=np.int64)
    n, nphase = len(cores), prep.num_phases

    layout = prep.layouts.get((n, balance, resident))
    if layout is None:
        layout = prep.layouts[(n, balance, resident)] = _layout(prep, n, balance, pool,
                                                                resident)
    banks = cores // pool.cores_per_bank
    bank_key = tuple(banks.tolist())
    cached = layout.predicted.get(bank_key)
    if cached is None:
        # 7. Predicted cycles: per phase, max over cores of compute and over banks of traffic.
        # [banks, n] 0/1 matrix: summing slots into banks is a tiny matrix product.
        on_bank = banks == np.arange(pool.num_banks)[:, None]
        traffic = on_bank.astype(np.float64) @ layout.moved
        phase_cycles = np.maximum(layout.busy.max(axis=0, initial=0.0),
                                  traffic.max(axis=0, initial=0.0) / pool.bank_bytes_per_cycle)
        phase_cycles.flags.writeable = False
        cached = layout.predicted[bank_key] = (
            phase_cycles, int(np.ceil(phase_cycles.sum())) + SYNC_CYCLES * nphase)
    phase_cycles, predicted = cached

    # 6. Bind segments to base registers; patch instruction words only if registers move.
    nseg = len(pkg.segments)
    regs = (np.arange(nseg, dtype=np.int64) if allocation.registers is None
            else np.array(allocation.registers, dtype=np.int64))
    bases = np.full(NUM_SEGMENTS, -1, dtype=np.int64)
    sizes = np.zeros(NUM_SEGMENTS, dtype=np.int64)
    bases[regs] = [allocation.regions[i].start for i in range(nseg)]
    sizes[regs] = prep.segment_sizes
    moved = allocation.registers is not None and bool((regs != np.arange(nseg)).any())
    if patch is False and moved:
        raise UserError("the allocation moves segments to other base registers, which needs "
                        "patching, but patching is off")
    residency = layout.residency
    shared = pkg.words if residency is None or residency.words is None else residency.words
    words = shared
    if patch or moved:
        words = shared.copy()
        patch_segments(words, prep.reloc_rows, regs[prep.reloc_segments])

    return Executable(
        prepared=prep,
        allocation=allocation,
        tenant=allocation.tenant,
        cores=cores,
        frame_slot=layout.frame_slot,
        core_frames=layout.core_frames,
        core_offsets=layout.offsets,
        registers=regs,
        bases=bases,
        sizes=sizes,
        words=words,
        patched=words is not shared,
        residency=residency,
        busy=layout.busy,
        phase_cycles=phase_cycles,
        predicted_cycles=predicted,
        balance=balance,
        link_time_s=time.perf_counter() - t0,
    )
