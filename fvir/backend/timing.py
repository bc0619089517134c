"""The cycle model's event loop: the schedule of a pool of cores sharing DDR banks.

Timing is computed from decoded instruction fields only, never from the data, so a run gives
the same cycles with or without the numerics (`Machine.run(functional=False)`, the fast timing
mode a cloud simulation of thousands of inferences needs). What each instruction costs is
`fvir.backend.items`; a core's items in order, `fvir.backend.program`; a DDR bank's sharing
of its bandwidth, `fvir.backend.bank`.

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

Determinism: events are ordered by (time, sequence number of insertion), all arithmetic is in
float64 in a fixed order, so equal inputs give identical schedules.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fvir.backend.bank import Bank
from fvir.backend.faults import DependencyError, SimError
from fvir.backend.items import (
    END_ITEM,
    ENGINE_NAMES,
    FENCE_ITEM,
    FRAME_ITEM,
    SYNC_ITEM,
    InstrTable,
    instr_table,
)
from fvir.backend.program import CoreProgram, core_program
from fvir.hw import cost
from fvir.hw.config import PoolConfig
from fvir.runtime.linker import SYNC_CYCLES

__all__ = [
    "END_ITEM", "ENGINE_NAMES", "FENCE_ITEM", "FRAME_ITEM", "QUEUE_DEPTH", "SYNC_ITEM", "Bank",
    "CoreProgram", "CoreTimes", "InstrTable", "Schedule", "core_program", "instr_table",
    "simulate",
]

QUEUE_DEPTH = 8  # instructions per engine queue: a few steps of a frame ahead


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
    loop = _EventLoop(programs, pool, timing, queue_depth, sync_cycles, port_bytes_per_cycle,
                      dict(errors or {}))
    return loop.run()


class _EventLoop:
    """The state of one `simulate` call: per core its dispatcher (position, items issued and
    not completed, held by a fetch or barrier), engine queues, busy flags and token counters;
    the banks, the barriers and the event heap ordered by (time, sequence number)."""

    def __init__(self, programs: Sequence[CoreProgram], pool: PoolConfig, timing: cost.Timing,
                 queue_depth: int, sync_cycles: int, port_bytes_per_cycle: float | None,
                 errors: dict[int, SimError]) -> None:
        self.programs = programs
        self.queue_depth = queue_depth
        self.sync_cycles = sync_cycles
        self.frame_cycles = timing.frame_cycles
        self.errors = errors
        ncore = len(programs)
        self.starts = [[np.nan] * len(p) for p in programs]
        self.ends = [[np.nan] * len(p) for p in programs]
        self.pcs = [0] * ncore
        self.inflight = [0] * ncore
        self.blocked = [False] * ncore
        self.dead = [False] * ncore
        self.finish: list[float | None] = [None] * ncore
        self.queues = [[deque() for _ in range(4)] for _ in range(ncore)]
        self.bank_of = [pool.bank_of(p.core) for p in programs]
        self.banks = [Bank(pool.bank_bytes_per_cycle, port_bytes_per_cycle,
                           pool.core.port_bytes_per_cycle) for _ in range(pool.num_banks)]
        self.tenant_cores: dict[int, list[int]] = {}
        for ci, p in enumerate(programs):
            self.tenant_cores.setdefault(p.tenant, []).append(ci)
        # (tenant, barrier) -> the (core, position) of its arrivals so far
        self.arrived: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self.barriers: dict[int, list[float]] = {t: [] for t in self.tenant_cores}
        self.tenant_fault: dict[int, float] = {}
        self.tenant_error: dict[int, SimError] = {}
        # What `advance` reads of a core, in one tuple (one lookup per call).
        self.per_core = [(p.kind, p.dpdon, p.dpdby, p.cycles, p.nbytes, self.queues[ci],
                          [False] * 4, [0] * 16, self.starts[ci], self.ends[ci], p.stop, len(p))
                         for ci, p in enumerate(programs)]
        self.events: list[tuple] = []
        self.next_seq = itertools.count(1).__next__  # ties between events: insertion order

    def push(self, time: float, kind: int, a: int, b: int = 0, c: int = 0) -> None:
        heapq.heappush(self.events, (time, self.next_seq(), kind, a, b, c))

    def schedule_bank(self, b: int) -> None:
        bank = self.banks[b]
        if bank.active:
            self.push(bank.next_done(), _BANK, b, bank.version)

    def kill(self, tenant: int, now: float, error: SimError) -> None:
        """Stop `tenant` at `now`: its cores halt, its transfers leave the banks."""
        self.tenant_fault[tenant] = now
        self.tenant_error[tenant] = error
        members = self.tenant_cores[tenant]
        for ci in members:
            self.dead[ci] = True
        gone = set(members)
        for b, bank in enumerate(self.banks):
            before = bank.version
            bank.drop(now, gone)
            if bank.version != before:
                self.schedule_bank(b)

    def arrive(self, ci: int, pos: int, now: float) -> None:
        """Core `ci` reached the SYNC at `pos`; the last arrival releases them all."""
        programs = self.programs
        tenant = programs[ci].tenant
        key = (tenant, programs[ci].arg[pos])
        waiting = self.arrived.setdefault(key, [])
        waiting.append((ci, pos))
        if len(waiting) == len(self.tenant_cores[tenant]):
            release = now + self.sync_cycles
            self.barriers[tenant].append(release)
            del self.arrived[key]
            for cj, pj in waiting:
                self.ends[cj][pj] = release
                self.push(release, _RESUME, cj)

    def advance(self, ci: int, now: float, done_e: int, done_i: int) -> None:
        """Complete instruction `done_i` on engine `done_e` of core `ci` (-1, -1: none, the
        core starts or resumes), then let the core issue and start what it can at `now`.
        The hot path: it reads what it needs into locals once."""
        kind, on, by, cyc, nb, q, eng_busy, tok, start, end, stop, n = self.per_core[ci]
        queue_depth, events, push, next_seq = (self.queue_depth, self.events, heapq.heappush,
                                               self.next_seq)
        issued = self.inflight[ci]
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
        if self.dead[ci]:
            check = 15  # its last `advance` may have stopped halfway, at the fault
        pc, held = self.pcs[ci], self.blocked[ci]
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
                    end[pc] = now + self.frame_cycles
                    held = True
                    push(events, (now + self.frame_cycles, next_seq(), _RESUME, ci, 0, 0))
                    pc += 1
                elif issued:  # SYNC, END and fences wait for everything issued
                    break
                elif k == SYNC_ITEM:
                    start[pc] = now
                    held = True
                    self.arrive(ci, pc, now)
                    pc += 1
                elif k == END_ITEM:
                    start[pc] = end[pc] = now
                    self.finish[ci] = now
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
                    self.pcs[ci], self.blocked[ci], self.inflight[ci] = pc, held, issued
                    tenant = self.programs[ci].tenant
                    self.kill(tenant, now, self.errors.pop(tenant, None) or SimError(
                        f"stopped at instruction {self.programs[ci].arg[i]}"))
                    return
                qe.popleft()
                eng_busy[e] = True
                start[i] = now
                started |= 1 << e
                push(events, (now + cyc[i], next_seq(), _DMA if nb[i] else _DONE, ci, e, i))
            # Starting engines gives the dispatcher nothing it waits for (a fetch, the end of
            # what is in flight before a SYNC, END or fence), except room in the queue it
            # stopped at.
            if held or pc >= n or not (started >> kind[pc]) & 1:
                self.pcs[ci], self.blocked[ci], self.inflight[ci] = pc, held, issued
                return
            check = 0

    def run(self) -> Schedule:
        programs, dead, banks, bank_of = self.programs, self.dead, self.banks, self.bank_of
        nbs = [p.nbytes for p in programs]
        advance, events, next_seq, push = self.advance, self.events, self.next_seq, heapq.heappush
        for ci in range(len(programs)):
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
                    bank.join(now, nbs[a][c], next_seq(), (a, b, c))
                    push(events, (bank.next_done(), next_seq(), _BANK, bank_of[a], bank.version,
                                  0))
            elif ev == _BANK:
                bank = banks[a]
                if b != bank.version:
                    continue  # superseded by a later change of the bank
                for ci, e, i in bank.pop_done(now):
                    advance(ci, now, e, i)
                self.schedule_bank(a)
            elif not dead[a]:  # _RESUME
                self.blocked[a] = False
                advance(a, now, -1, -1)
        return self._schedule(now)

    def _schedule(self, now: float) -> Schedule:
        """Stop the tenants still stuck at `now` (a dpdon never satisfied, a barrier never
        reached) and collect the times."""
        programs, finish = self.programs, self.finish
        stuck = [ci for ci in range(len(programs)) if finish[ci] is None and not self.dead[ci]]
        for ci in stuck:
            tenant = programs[ci].tenant
            if tenant in self.tenant_fault:
                continue
            i = next((qe[0] for qe in self.queues[ci] if qe), self.pcs[ci])
            error = DependencyError(
                f"core {programs[ci].core} cannot make progress at instruction "
                f"{programs[ci].arg[i] if i < len(programs[ci]) else i}: a dpdon no "
                f"instruction satisfies, or a barrier some core never reaches")
            self.kill(tenant, now, error)
        for b in self.banks:
            b.update(now)
        cores = [CoreTimes(p, np.array(s, np.float64), np.array(e, np.float64), f)
                 for p, s, e, f in zip(programs, self.starts, self.ends, finish, strict=True)]
        done = [f for f in finish if f is not None] + list(self.tenant_fault.values())
        return Schedule(cores, self.tenant_fault, self.tenant_error, self.barriers,
                        [b.busy for b in self.banks], [b.moved for b in self.banks],
                        max(done, default=0.0), stuck)
