"""The cycle model: what every instruction costs, and the event-driven schedule of a pool of
cores sharing DDR banks.

Timing is computed from decoded instruction fields only, never from the data, so a run gives
the same cycles with or without the numerics (`Machine.run(functional=False)`, the fast timing
mode a cloud simulation of thousands of inferences needs).

Per instruction (`instr_table`, vectorized once per package; the formulas are
`fvir.hw.cost`'s, the constants its `Timing`, so the simulator and the compiler's frame costs
agree by construction):

1. CONV, POOL, ELEW, MVM, ACT occupy their engine for `instr_cycles` plus the cost function of
   their fields; CONV and POOL take the kernel from the latest CONVINIT / POOLINIT before them
   in the package (a frame issues its own). CONVINIT, POOLINIT, ELEWINIT: `instr_cycles`.
2. LOAD and SAVE occupy their engine for `instr_cycles + dma_latency` (issue and DDR latency,
   no bandwidth used) and then for as long as the DDR bank takes to move their
   rows x cols x chans bytes (below). An empty one (a frame's closing fence) costs
   `instr_cycles`.

Dispatch (one core; `simulate`):

1. The level-1 dispatcher hands each core its frames in order. Fetching a frame keeps the
   core's level-2 dispatcher busy for `frame_cycles` before it can issue the frame's first
   instruction; the dispatcher runs ahead, so this overlaps the previous frame's execution.
2. The level-2 dispatcher issues in program order into four per-engine queues of
   `queue_depth` entries, and stalls while the queue of the next instruction is full.
   Issuing takes no time of its own (the engines' `instr_cycles` account for it).
3. Each engine runs its queue in order. The head starts when the engine is free and every
   token its dpdon waits for is available (it takes them then); on completion it gives the
   tokens of its dpdby. This cannot deadlock for a program that is valid in program order,
   whatever the queue depth: the earliest unfinished instruction is always at the head of its
   queue with its tokens available.
4. SYNC: the dispatcher waits until everything it issued has completed, then arrives at the
   tenant's barrier; the level-1 dispatcher releases all its cores `sync_cycles` after the
   last arrival. END: the core is done when everything it issued has completed.

DDR (`Bank`): a core reaches DDR through its own port, `core.port_bytes_per_cycle` (a DPU-class
core's two 128-bit AXI data masters: 32 B/cycle; `fvir.hw.config.CoreConfig`), and each bank
shares its bandwidth among the transfers in flight on it. A transfer's cap is its core's port
divided by the core's transfers in flight: the LOAD and SAVE engines of one core are two
transfers that share the core's two masters (the DPU's load and save agents both go through
DPU0_M_AXI_DATA0/1, so a core never moves more than its port however its engines overlap;
a lone LOAD gets the whole port). The bank's bandwidth is then split max-min fairly (water-
filling): every transfer gets an equal share of what is left unless its cap is smaller, and
what a capped transfer leaves goes to the others. So a lone transfer moves
min(port, bank_bytes_per_cycle) bytes per cycle, n equal transfers of distinct cores each
min(port, bank / n), and transfers on different banks never interact. `simulate`'s optional
`port_bytes_per_cycle` adds a further cap on every transfer (experiments; off by default). A
transfer uses the bank of the core that issues it (the linker's traffic model). This is the
fluid limit of a round-robin burst arbiter: exact, no burst size; the rates are recomputed
when a transfer joins or leaves (O(n) per change, n <= 2 x cores per bank).

Determinism: events are ordered by (time, sequence number of insertion), all arithmetic is in
float64 in a fixed order, so equal inputs give identical schedules.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fvir.backend.faults import DependencyError, SimError
from fvir.backend.semantics import ENGINE_OF
from fvir.hw import cost
from fvir.hw.config import CoreConfig, PoolConfig
from fvir.isa.encoding import as_words, columns, opcodes
from fvir.isa.spec import Engine, Opcode
from fvir.runtime.linker import SYNC_CYCLES

# Stream item kinds: the four engines (Engine values), then the dispatcher's own items.
SYNC_ITEM, END_ITEM, FRAME_ITEM, FENCE_ITEM = 4, 5, 6, 7

QUEUE_DEPTH = 8  # instructions per engine queue: a few steps of a frame ahead
DISPATCH_OPS = (Opcode.SYNC, Opcode.END)
ENGINE_NAMES = tuple(e.name for e in Engine)
_INF = float("inf")


# ---------------------------------------------------------------------------------------------
# Per instruction


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
        o = Opcode(value)
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
    return InstrTable(op, engine, dpdon, dpdby, cycles, nbytes, macs, seg, lo, hi)


# ---------------------------------------------------------------------------------------------
# One core's stream


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


# ---------------------------------------------------------------------------------------------
# DDR banks


class Bank:
    """One DDR bank serving its transfers by max-min fair sharing under per-core port caps
    (module docstring, "DDR").

    The transfers in flight are kept in the order they joined, which is also the order of
    their sequence numbers (`simulate` numbers them as they join), so that order breaks ties.
    When every transfer has the same cap (the common case: each core has one transfer in
    flight, or each has two), the water-filling depends only on the number of transfers and
    the cap, so its rates are computed once per pair and reused (the same float operations in
    the same order, so the same rates to the bit). The hot paths avoid comprehensions (a
    function call each in CPython 3.11) for the few transfers a bank has."""

    __slots__ = ("active", "busy", "bw", "cap", "fills", "moved", "per_core", "port", "rates",
                 "t", "version")

    def __init__(self, bytes_per_cycle: float, cap: float | None,
                 port: float | None = None) -> None:
        self.bw = bytes_per_cycle
        self.cap = cap  # optional extra cap on every transfer (an experiment's override)
        self.port = port  # a core's port bandwidth, shared by its transfers in flight
        self.t = 0.0  # time of the last update
        # Transfers in flight: [bytes left, seq, payload, bytes]; payload[0] is the core.
        self.active: list[list] = []
        self.rates: tuple[float, ...] = ()  # one per transfer in flight, in the same order
        self.per_core: dict[int, int] = {}  # core -> its transfers in flight
        self.fills: dict[tuple[int, float], tuple[float, ...]] = {}  # (n, cap) -> rates
        self.version = 0  # bumped on every change: older completion events are stale
        self.busy = 0.0  # cycles with at least one transfer in flight
        self.moved = 0.0  # bytes served

    def _rerate(self) -> None:
        """Water-filling: every transfer gets an equal share of what is left of the bank,
        unless its cap (its core's port / the core's transfers in flight, and the override)
        is smaller; what a capped transfer leaves goes to the others (smallest cap first,
        ties in join order)."""
        n, port, per_core = len(self.active), self.port, self.per_core
        if port is None:
            c = _INF
        elif len(per_core) == n:  # one transfer per core (or none)
            c = port / 1
        else:
            counts = set(per_core.values())
            if len(counts) > 1:
                self.rates = self._fill([port / per_core[item[2][0]] for item in self.active])
                return
            c = port / counts.pop()
        cap = self.cap
        if cap is not None and cap < c:
            c = cap
        key = (n, c)
        rates = self.fills.get(key)
        if rates is None:
            rates = self.fills[key] = self._fill([c] * n)
        self.rates = rates

    def _fill(self, caps: list[float]) -> tuple[float, ...]:
        """The water-filling rates of transfers with the port caps `caps` (in join order)."""
        cap = self.cap
        if cap is not None:
            caps = [cap if cap < c else c for c in caps]
        n = len(caps)
        rates = [0.0] * n
        left = self.bw
        for i in sorted(range(n), key=caps.__getitem__):  # stable: ties in join order
            c = caps[i]
            share = left / n
            r = share if share < c else c  # min(c, share)
            rates[i] = r
            left -= r
            n -= 1
        return tuple(rates)

    def update(self, now: float) -> None:
        active = self.active
        if active:
            dt = now - self.t
            moved = self.moved
            for item, r in zip(active, self.rates, strict=False):  # same length
                d = dt * r
                item[0] -= d
                moved += d
            self.moved = moved
            self.busy += dt
        self.t = now

    def join(self, now: float, nbytes: int, seq: int, payload: tuple) -> None:
        """Add a transfer; `seq` must be larger than those of the transfers in flight."""
        self.update(now)
        self.active.append([float(nbytes), seq, payload, float(nbytes)])
        core = payload[0]
        self.per_core[core] = self.per_core.get(core, 0) + 1
        self._rerate()
        self.version += 1

    def next_done(self) -> float:
        """When the first active transfer ends (the bank must have one)."""
        active, rates = self.active, self.rates
        if len(active) == 1:
            left = active[0][0]
            return self.t + (0.0 if left < 0.0 else left) / rates[0]  # max(left, 0.0) / r
        first: float | None = None
        for item, r in zip(active, rates, strict=False):
            left = item[0]
            due = (0.0 if left < 0.0 else left) / r
            if first is None or due < first:  # the first smallest, as `min` picks it
                first = due
        assert first is not None
        return self.t + first

    def _remove(self, kept: list[list], gone: list[list]) -> None:
        self.active = kept
        per_core = self.per_core
        for item in gone:
            core = item[2][0]
            left = per_core[core] - 1
            if left:
                per_core[core] = left
            else:
                del per_core[core]
        self._rerate()

    def pop_done(self, now: float) -> list[tuple]:
        """Advance to `now` and remove the transfers that have finished (payloads, in the
        order they joined)."""
        self.update(now)
        self.version += 1
        # Float residue of the per-event subtraction, in bytes and in time: a transfer due
        # within a relative 1e-9 of `now` is done (else `now` + its tiny rest could round to
        # `now` and the completion event would repeat forever).
        t_eps = 1e-9 * (1.0 + now)
        active = self.active
        if len(active) == 1:
            item = active[0]
            left = item[0]
            if left <= 1e-9 * (1.0 + item[3]) or left <= self.rates[0] * t_eps:
                self.active, self.rates = [], ()
                self.per_core.clear()
                return [item[2]]
            return []
        done, kept = [], []
        for item, r in zip(active, self.rates, strict=False):
            left = item[0]
            if left <= 1e-9 * (1.0 + item[3]) or left <= r * t_eps:
                done.append(item)
            else:
                kept.append(item)
        if not done:
            return []
        self._remove(kept, done)
        payloads = []
        for item in done:
            payloads.append(item[2])
        return payloads

    def drop(self, now: float, cores: set[int]) -> None:
        """Abort the transfers of `cores` (a faulted tenant)."""
        self.update(now)
        kept = [item for item in self.active if item[2][0] not in cores]
        if len(kept) != len(self.active):
            self._remove(kept, [item for item in self.active if item[2][0] in cores])
            self.version += 1


# ---------------------------------------------------------------------------------------------
# The schedule


@dataclass(eq=False)
class CoreTimes:
    """One core's schedule: start and end time of every item of its program (NaN: never ran),
    the time its END completed (None: it did not finish)."""

    program: CoreProgram
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    finish: float | None


@dataclass(eq=False)
class Schedule:
    """The result of `simulate`: per core its times; per tenant the fault time (None if it
    ran to the end), its barrier release times (phase -> cycle) and finish time; per bank the
    busy cycles and bytes moved."""

    cores: list[CoreTimes]
    tenant_fault: dict[int, float]
    tenant_error: dict[int, SimError]
    barriers: dict[int, list[float]]
    bank_busy: list[float]
    bank_bytes: list[float]
    makespan: float = 0.0
    stuck: list[int] = field(default_factory=list)


def _token_slots(mask: int, engine: int, taking: bool) -> tuple[int, ...]:
    """Flat indices (p * 4 + q) of the token counters a mask touches: tok[P->engine] for a
    dpdon (taking), tok[engine->Q] for a dpdby."""
    bits = [b for b in range(4) if mask >> b & 1]
    return tuple(b * 4 + engine for b in bits) if taking else tuple(engine * 4 + b for b in bits)


# `_TAKE[e][mask & 15]`, `_GIVE[e][mask & 15]`: the token counters of a dpdon / dpdby of an
# instruction on engine e (a mask has four bits; `_token_slots` reads no others).
_TAKE = tuple(tuple(_token_slots(m, e, True) for m in range(16)) for e in range(4))
_GIVE = tuple(tuple(_token_slots(m, e, False) for m in range(16)) for e in range(4))
# `_ENGINES[mask]`: the engines of a 4-bit mask, in engine order.
_ENGINES = tuple(tuple(e for e in range(4) if m >> e & 1) for m in range(16))

# Event kinds.
_DONE, _DMA, _BANK, _RESUME = 0, 1, 2, 3


def simulate(programs: Sequence[CoreProgram], pool: PoolConfig, *,
             timing: cost.Timing = cost.DEFAULT_TIMING, queue_depth: int = QUEUE_DEPTH,
             sync_cycles: int = SYNC_CYCLES, port_bytes_per_cycle: float | None = None,
             errors: dict[int, SimError] | None = None) -> Schedule:
    """Run the programs of every core (of one or several tenants) together, event by event.

    Cores of a tenant share its barriers (a barrier waits for all of them); `errors[tenant]`
    is the error to report when that tenant's `stop` instruction would start (the functional
    pass found it). A tenant whose cores can make no more progress while unfinished is
    stopped with a `DependencyError` (a dpdon no instruction ever satisfies).
    """
    if queue_depth < 1:
        raise ValueError(f"queue_depth must be at least 1, got {queue_depth}")
    errors = dict(errors or {})
    ncore = len(programs)
    nbs = [p.nbytes for p in programs]
    starts = [[np.nan] * len(p) for p in programs]
    ends = [[np.nan] * len(p) for p in programs]
    pcs = [0] * ncore
    inflight = [0] * ncore
    blocked = [False] * ncore
    dead = [False] * ncore
    finish: list[float | None] = [None] * ncore
    queues = [[deque() for _ in range(4)] for _ in range(ncore)]
    busy = [[False] * 4 for _ in range(ncore)]
    tokens = [[0] * 16 for _ in range(ncore)]
    bank_of = [pool.bank_of(p.core) for p in programs]
    banks = [Bank(pool.bank_bytes_per_cycle, port_bytes_per_cycle,
                  pool.core.port_bytes_per_cycle) for _ in range(pool.num_banks)]
    tenant_cores: dict[int, list[int]] = {}
    for ci, p in enumerate(programs):
        tenant_cores.setdefault(p.tenant, []).append(ci)
    arrived: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (tenant, barrier) -> (core, pos)
    barriers: dict[int, list[float]] = {t: [] for t in tenant_cores}
    tenant_fault: dict[int, float] = {}
    tenant_error: dict[int, SimError] = {}
    frame_cycles = timing.frame_cycles
    # What `advance` reads of a core, in one tuple (one lookup per call).
    per_core = [(p.kind, p.dpdon, p.dpdby, p.cycles, p.nbytes, queues[ci], busy[ci], tokens[ci],
                 starts[ci], ends[ci], p.stop, len(p)) for ci, p in enumerate(programs)]

    events: list[tuple] = []
    seq = 0
    push = heapq.heappush

    def schedule_bank(b: int) -> None:
        nonlocal seq
        bank = banks[b]
        if bank.active:
            seq += 1
            push(events, (bank.next_done(), seq, _BANK, b, bank.version, 0))

    def kill(tenant: int, now: float, error: SimError) -> None:
        tenant_fault[tenant] = now
        tenant_error[tenant] = error
        members = tenant_cores[tenant]
        for ci in members:
            dead[ci] = True
        gone = set(members)
        for b, bank in enumerate(banks):
            before = bank.version
            bank.drop(now, gone)
            if bank.version != before:
                schedule_bank(b)

    def arrive(ci: int, pos: int, now: float) -> None:
        """Core `ci` reached the SYNC at `pos`; the last arrival releases them all."""
        nonlocal seq
        tenant = programs[ci].tenant
        key = (tenant, programs[ci].arg[pos])
        waiting = arrived.setdefault(key, [])
        waiting.append((ci, pos))
        if len(waiting) == len(tenant_cores[tenant]):
            release = now + sync_cycles
            barriers[tenant].append(release)
            del arrived[key]
            for cj, pj in waiting:
                ends[cj][pj] = release
                seq += 1
                push(events, (release, seq, _RESUME, cj, 0, 0))

    def advance(ci: int, now: float, done_e: int, done_i: int) -> None:
        """Complete instruction `done_i` on engine `done_e` of core `ci` (-1, -1: none, the
        core starts or resumes), then let the core issue and start what it can at `now`."""
        nonlocal seq
        kind, on, by, cyc, nb, q, eng_busy, tok, start, end, stop, n = per_core[ci]
        issued = inflight[ci]
        # `check`: the engines whose head may have become startable since the core's last
        # `advance` (it freed up or got tokens). The others are known to be stuck and stay so
        # until one of those happens to them or they get a new head, so they are not looked at.
        check = 0
        if done_e >= 0:
            end[done_i] = now
            eng_busy[done_e] = False
            issued -= 1
            m = by[done_i] & 15
            if m:
                for s in _GIVE[done_e][m]:
                    tok[s] += 1
            check = 1 << done_e | m
        if dead[ci]:
            check = 15  # its last `advance` may have stopped halfway, at the fault
        pc, held = pcs[ci], blocked[ci]
        while True:
            while not held and pc < n:  # the level-2 dispatcher
                k = kind[pc]
                if k < 4:
                    qk = q[k]
                    if len(qk) >= queue_depth:
                        break
                    if not qk:
                        check |= 1 << k  # a new head
                    qk.append(pc)
                    issued += 1
                    pc += 1
                elif k == FRAME_ITEM:  # fetch the frame, then go on
                    start[pc] = now
                    end[pc] = now + frame_cycles
                    held = True
                    seq += 1
                    push(events, (now + frame_cycles, seq, _RESUME, ci, 0, 0))
                    pc += 1
                elif issued:  # SYNC, END and fences wait for everything issued
                    break
                elif k == SYNC_ITEM:
                    start[pc] = now
                    held = True
                    arrive(ci, pc, now)
                    pc += 1
                elif k == END_ITEM:
                    start[pc] = end[pc] = now
                    finish[ci] = now
                    pc += 1
                else:  # FENCE_ITEM: SYNC/END inside a frame
                    start[pc] = end[pc] = now
                    pc += 1
            # The engines. Starting one changes no other engine's head or tokens, so the
            # engines that cannot start now cannot start later in this call either, unless
            # the dispatcher gives them a new head.
            started = 0  # the engines started
            for e in _ENGINES[check]:
                qe = q[e]
                if eng_busy[e] or not qe:
                    continue
                i = qe[0]
                m = on[i]
                if m:
                    slots = _TAKE[e][m & 15]
                    ready = True
                    for s in slots:
                        if not tok[s]:
                            ready = False
                            break
                    if not ready:
                        continue
                    for s in slots:
                        tok[s] -= 1
                if i == stop:
                    pcs[ci], blocked[ci], inflight[ci] = pc, held, issued
                    tenant = programs[ci].tenant
                    kill(tenant, now, errors.pop(tenant, None) or SimError(
                        f"stopped at instruction {programs[ci].arg[i]}"))
                    return
                qe.popleft()
                eng_busy[e] = True
                start[i] = now
                started |= 1 << e
                seq += 1
                push(events, (now + cyc[i], seq, _DMA if nb[i] else _DONE, ci, e, i))
            # Starting engines gives the dispatcher nothing it waits for (a fetch, the end of
            # what is in flight before a SYNC, END or fence), except room in the queue it
            # stopped at.
            if held or pc >= n or not (started >> kind[pc]) & 1:
                pcs[ci], blocked[ci], inflight[ci] = pc, held, issued
                return
            check = 0

    for ci in range(ncore):
        advance(ci, 0.0, -1, -1)
    now = 0.0
    pop = heapq.heappop
    while events:
        now, _, ev, a, b, c = pop(events)
        if ev == _DONE:
            if not dead[a]:
                advance(a, now, b, c)
        elif ev == _DMA:
            if not dead[a]:
                bank = banks[bank_of[a]]
                seq += 1
                bank.join(now, nbs[a][c], seq, (a, b, c))
                seq += 1  # `schedule_bank`, inline
                push(events, (bank.next_done(), seq, _BANK, bank_of[a], bank.version, 0))
        elif ev == _BANK:
            bank = banks[a]
            if b != bank.version:
                continue  # superseded by a later change of the bank
            for ci, e, i in bank.pop_done(now):
                advance(ci, now, e, i)
            schedule_bank(a)
        elif not dead[a]:  # _RESUME
            blocked[a] = False
            advance(a, now, -1, -1)

    stuck = [ci for ci in range(ncore) if finish[ci] is None and not dead[ci]]
    for ci in stuck:
        tenant = programs[ci].tenant
        if tenant in tenant_fault:
            continue
        i = next((qe[0] for qe in queues[ci] if qe), pcs[ci])
        error = DependencyError(
            f"core {programs[ci].core} cannot make progress at instruction "
            f"{programs[ci].arg[i] if i < len(programs[ci]) else i}: a dpdon no instruction "
            f"satisfies, or a barrier some core never reaches")
        kill(tenant, now, error)
    for b in banks:
        b.update(now)
    cores = [CoreTimes(p, np.array(s, np.float64), np.array(e, np.float64), f)
             for p, s, e, f in zip(programs, starts, ends, finish, strict=True)]
    done = [f for f in finish if f is not None] + list(tenant_fault.values())
    return Schedule(cores, tenant_fault, tenant_error, barriers,
                    [b.busy for b in banks], [b.moved for b in banks],
                    max(done, default=0.0), stuck)
