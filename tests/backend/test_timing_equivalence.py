"""`fvir.backend.timing.simulate` against a plain reference event loop, bit for bit.

The simulator's event loop and `Bank` skip work they can prove redundant (engines that cannot
start, water-filling rates already computed, comprehensions in the hot paths). The reference
below is the straightforward version of the same model (the module docstring's rules): it
re-examines every engine after every event and recomputes the bank rates from scratch. On
random programs (several cores and tenants on shared banks, random dependency tokens, ties in
time, port caps, queue depths, faults, deadlocks) every start and end time, barrier, finish,
bank total and fault must be equal as floats, not approximately.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from fvir.backend.faults import DependencyError, SimError
from fvir.backend.timing import (
    END_ITEM,
    FENCE_ITEM,
    FRAME_ITEM,
    QUEUE_DEPTH,
    SYNC_ITEM,
    Bank,
    CoreProgram,
    Schedule,
    simulate,
)
from fvir.hw import PAPER_U200, TINY
from fvir.hw.config import PoolConfig
from fvir.hw.cost import DEFAULT_TIMING
from fvir.runtime.linker import SYNC_CYCLES

# ---------------------------------------------------------------------------------------------
# The reference


class RefBank:
    """Max-min fair sharing under per-core port caps, recomputed from scratch on every change."""

    def __init__(self, bw: float, cap: float | None, port: float | None) -> None:
        self.bw, self.cap, self.port = bw, cap, port
        self.t = 0.0
        self.active: list[list] = []  # [bytes left, seq, payload, bytes]
        self.rates: list[float] = []
        self.version = 0
        self.busy = self.moved = 0.0

    def rerate(self) -> None:
        per_core: dict[int, int] = {}
        for item in self.active:
            per_core[item[2][0]] = per_core.get(item[2][0], 0) + 1
        caps = []
        for item in self.active:
            c = float("inf") if self.port is None else self.port / per_core[item[2][0]]
            if self.cap is not None and self.cap < c:
                c = self.cap
            caps.append(c)
        rates = [0.0] * len(self.active)
        left, n = self.bw, len(self.active)
        for i in sorted(range(n), key=lambda i: (caps[i], self.active[i][1])):
            r = min(caps[i], left / n)
            rates[i] = r
            left -= r
            n -= 1
        self.rates = rates

    def update(self, now: float) -> None:
        if self.active:
            dt = now - self.t
            for item, r in zip(self.active, self.rates, strict=True):
                item[0] -= dt * r
                self.moved += dt * r
            self.busy += dt
        self.t = now

    def join(self, now: float, nbytes: int, seq: int, payload: tuple) -> None:
        self.update(now)
        self.active.append([float(nbytes), seq, payload, float(nbytes)])
        self.rerate()
        self.version += 1

    def next_done(self) -> float:
        return self.t + min(max(item[0], 0.0) / r
                            for item, r in zip(self.active, self.rates, strict=True))

    def pop_done(self, now: float) -> list[tuple]:
        self.update(now)
        done, kept = [], []
        t_eps = 1e-9 * (1.0 + now)
        for item, r in zip(self.active, self.rates, strict=True):
            finished = item[0] <= 1e-9 * (1.0 + item[3]) or item[0] <= r * t_eps
            (done if finished else kept).append(item)
        if done:
            self.active = kept
            self.rerate()
        self.version += 1
        return [item[2] for item in sorted(done, key=lambda item: item[1])]

    def drop(self, now: float, cores: set[int]) -> None:
        self.update(now)
        kept = [item for item in self.active if item[2][0] not in cores]
        if len(kept) != len(self.active):
            self.active = kept
            self.rerate()
            self.version += 1


def slots(mask: int, engine: int, taking: bool) -> list[int]:
    bits = [b for b in range(4) if mask >> b & 1]
    return [b * 4 + engine for b in bits] if taking else [engine * 4 + b for b in bits]


def reference(programs: Sequence[CoreProgram], pool: PoolConfig, *,
              queue_depth: int = QUEUE_DEPTH, sync_cycles: int = SYNC_CYCLES,
              port_bytes_per_cycle: float | None = None,
              errors: dict[int, SimError] | None = None) -> dict:
    """The schedule of `simulate`, by the plain event loop (as `flat` gives it)."""
    errors = dict(errors or {})
    frame_cycles = DEFAULT_TIMING.frame_cycles
    ncore = len(programs)
    starts = [[np.nan] * len(p) for p in programs]
    ends = [[np.nan] * len(p) for p in programs]
    pcs, inflight = [0] * ncore, [0] * ncore
    blocked, dead = [False] * ncore, [False] * ncore
    finish: list[float | None] = [None] * ncore
    queues = [[deque() for _ in range(4)] for _ in range(ncore)]
    busy = [[False] * 4 for _ in range(ncore)]
    tokens = [[0] * 16 for _ in range(ncore)]
    banks = [RefBank(pool.bank_bytes_per_cycle, port_bytes_per_cycle,
                     pool.core.port_bytes_per_cycle) for _ in range(pool.num_banks)]
    tenant_cores: dict[int, list[int]] = {}
    for ci, p in enumerate(programs):
        tenant_cores.setdefault(p.tenant, []).append(ci)
    arrived: dict[tuple[int, int], list[tuple[int, int]]] = {}
    barriers: dict[int, list[float]] = {t: [] for t in tenant_cores}
    tenant_fault: dict[int, float] = {}
    tenant_error: dict[int, SimError] = {}
    events: list[tuple] = []
    seq = 0

    def push(t: float, *what: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, *what))

    def schedule_bank(b: int) -> None:
        if banks[b].active:
            push(banks[b].next_done(), 2, b, banks[b].version, 0)

    def kill(tenant: int, now: float, error: SimError) -> None:
        tenant_fault[tenant], tenant_error[tenant] = now, error
        for ci in tenant_cores[tenant]:
            dead[ci] = True
        for b, bank in enumerate(banks):
            before = bank.version
            bank.drop(now, set(tenant_cores[tenant]))
            if bank.version != before:
                schedule_bank(b)

    def advance(ci: int, now: float) -> None:
        p, q, tok = programs[ci], queues[ci], tokens[ci]
        while True:
            while not blocked[ci] and pcs[ci] < len(p):
                pc, k = pcs[ci], p.kind[pcs[ci]]
                if k < 4:
                    if len(q[k]) >= queue_depth:
                        break
                    q[k].append(pc)
                    inflight[ci] += 1
                elif k == FRAME_ITEM:
                    starts[ci][pc], ends[ci][pc] = now, now + frame_cycles
                    blocked[ci] = True
                    push(now + frame_cycles, 3, ci, 0, 0)
                elif inflight[ci]:
                    break
                elif k == SYNC_ITEM:
                    starts[ci][pc] = now
                    blocked[ci] = True
                    key = (p.tenant, p.arg[pc])
                    waiting = arrived.setdefault(key, [])
                    waiting.append((ci, pc))
                    if len(waiting) == len(tenant_cores[p.tenant]):
                        release = now + sync_cycles
                        barriers[p.tenant].append(release)
                        del arrived[key]
                        for cj, pj in waiting:
                            ends[cj][pj] = release
                            push(release, 3, cj, 0, 0)
                else:
                    starts[ci][pc] = ends[ci][pc] = now
                    if k == END_ITEM:
                        finish[ci] = now
                pcs[ci] += 1
            started = False
            for e in range(4):
                if busy[ci][e] or not q[e]:
                    continue
                i = q[e][0]
                need = slots(p.dpdon[i], e, True)
                if any(tok[s] == 0 for s in need):
                    continue
                for s in need:
                    tok[s] -= 1
                if i == p.stop:
                    kill(p.tenant, now, errors.pop(p.tenant, None) or SimError(
                        f"stopped at instruction {p.arg[i]}"))
                    return
                q[e].popleft()
                busy[ci][e] = started = True
                starts[ci][i] = now
                push(now + p.cycles[i], 1 if p.nbytes[i] else 0, ci, e, i)
            if not started:
                return

    def complete(ci: int, e: int, i: int, now: float) -> None:
        ends[ci][i] = now
        busy[ci][e] = False
        inflight[ci] -= 1
        for s in slots(programs[ci].dpdby[i], e, False):
            tokens[ci][s] += 1
        advance(ci, now)

    for ci in range(ncore):
        advance(ci, 0.0)
    now = 0.0
    while events:
        now, _, ev, a, b, c = heapq.heappop(events)
        if ev == 0 and not dead[a]:
            complete(a, b, c, now)
        elif ev == 1 and not dead[a]:
            bank = pool.bank_of(programs[a].core)
            seq += 1
            banks[bank].join(now, programs[a].nbytes[c], seq, (a, b, c))
            schedule_bank(bank)
        elif ev == 2 and b == banks[a].version:
            for ci, e, i in banks[a].pop_done(now):
                complete(ci, e, i, now)
            schedule_bank(a)
        elif ev == 3 and not dead[a]:
            blocked[a] = False
            advance(a, now)

    stuck = [ci for ci in range(ncore) if finish[ci] is None and not dead[ci]]
    for ci in stuck:
        p = programs[ci]
        if p.tenant not in tenant_fault:
            i = next((qe[0] for qe in queues[ci] if qe), pcs[ci])
            kill(p.tenant, now, DependencyError(
                f"core {p.core} cannot make progress at instruction "
                f"{p.arg[i] if i < len(p) else i}: a dpdon no instruction satisfies, or a "
                f"barrier some core never reaches"))
    for bank in banks:
        bank.update(now)
    done = [f for f in finish if f is not None] + list(tenant_fault.values())
    return {"start": [np.array(s, np.float64) for s in starts],
            "end": [np.array(e, np.float64) for e in ends], "finish": finish,
            "tenant_fault": tenant_fault, "barriers": barriers,
            "tenant_error": {t: (type(e).__name__, str(e)) for t, e in tenant_error.items()},
            "bank_busy": [b.busy for b in banks], "bank_bytes": [b.moved for b in banks],
            "makespan": max(done, default=0.0), "stuck": stuck}


def flat(s: Schedule) -> dict:
    return {"start": [c.start for c in s.cores], "end": [c.end for c in s.cores],
            "finish": [c.finish for c in s.cores], "tenant_fault": s.tenant_fault,
            "barriers": s.barriers,
            "tenant_error": {t: (type(e).__name__, str(e)) for t, e in s.tenant_error.items()},
            "bank_busy": s.bank_busy, "bank_bytes": s.bank_bytes, "makespan": s.makespan,
            "stuck": s.stuck}


def assert_identical(got: dict, want: dict) -> None:
    for key in ("start", "end"):
        assert len(got[key]) == len(want[key])
        for g, w in zip(got[key], want[key], strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True), key
    for key in want.keys() - {"start", "end"}:
        # repr: exact floats, and 0.0 vs -0.0 or int vs float would show.
        assert repr(got[key]) == repr(want[key]), key


# ---------------------------------------------------------------------------------------------
# Random programs


def random_program(rng: random.Random, core: int, tenant: int, phases: int,
                   consistent: bool) -> CoreProgram:
    """Frames of random instructions, a SYNC after every phase, END. `consistent`: every
    dpdby token is taken by a later instruction (else random masks, which may deadlock).
    Small cycle counts and round sizes make ties in time common."""
    cols: tuple[list[int], ...] = ([], [], [], [], [], [])  # kind, on, by, cycles, nbytes, arg

    def add(kind: int, on: int = 0, by: int = 0, cycles: int = 0, nbytes: int = 0,
            arg: int = 0) -> None:
        for col, v in zip(cols, (kind, on, by, cycles, nbytes, arg), strict=True):
            col.append(v)

    frame = 0
    for phase in range(phases):
        for _ in range(rng.randint(0, 4)):
            add(FRAME_ITEM, arg=frame)
            frame += 1
            given: list[tuple[int, int]] = []  # (from engine, to engine) not yet taken
            for _ in range(rng.randint(0, 12)):
                if rng.random() < 0.07:
                    add(FENCE_ITEM, arg=len(cols[0]))
                    continue
                e, on, by = rng.randrange(4), 0, 0
                if consistent:
                    mine = [g for g in given if g[1] == e]
                    if mine and rng.random() < 0.7:
                        given.remove(mine[0])
                        on = 1 << mine[0][0]
                    to = rng.randrange(4)
                    if rng.random() < 0.4 and to != e:
                        given.append((e, to))
                        by = 1 << to
                else:
                    on = rng.randrange(16) if rng.random() < 0.2 else 0
                    by = rng.randrange(16) if rng.random() < 0.4 else 0
                nbytes = 0
                if e in (0, 3) and rng.random() < 0.85:
                    nbytes = rng.choice([64, 128, 256, 800, rng.randint(1, 5000)])
                add(e, on, by, rng.choice([4, 8, 68, 68, 100, rng.randint(1, 300)]), nbytes,
                    len(cols[0]))
            for src, to in given:
                add(to, 1 << src, 0, 4, 0, len(cols[0]))
        add(SYNC_ITEM, arg=phase)
    add(END_ITEM)
    return CoreProgram(core, tenant, *cols)


def random_case(seed: int) -> tuple[list[CoreProgram], PoolConfig, dict]:
    rng = random.Random(seed)
    pool = rng.choice([TINY, PAPER_U200])
    if rng.random() < 0.1:
        pool = replace(pool, bank_bandwidth_gbps=rng.choice([1.0, 3.0, 7.3])
                       * pool.core.clock_mhz / 1e3)
    if rng.random() < 0.1:
        pool = replace(pool, core=replace(pool.core,
                                          port_bytes_per_cycle=rng.choice([1.0, 4.0, 5.5])))
    cores = rng.sample(range(pool.num_cores), rng.randint(1, min(pool.num_cores, 8)))
    ntenant = rng.randint(1, min(3, len(cores)))
    consistent = rng.random() < 0.8
    phases = [rng.randint(1, 3) for _ in range(ntenant)]
    programs = [random_program(rng, core, k % ntenant,
                               phases[k % ntenant] + (rng.random() < 0.03), consistent)
                for k, core in enumerate(cores)]
    options: dict = {}
    if rng.random() < 0.3:
        options["queue_depth"] = rng.randint(1, 4)
    if rng.random() < 0.25:
        options["port_bytes_per_cycle"] = rng.choice([1.0, 2.0, 3.5, 16.0, 64.0])
    if rng.random() < 0.2:
        options["sync_cycles"] = rng.choice([0, 1, 64])
    errors = {}
    for p in programs:
        engine_items = [i for i, k in enumerate(p.kind) if k < 4]
        if engine_items and rng.random() < 0.15:
            p.stop = rng.choice(engine_items)
            if rng.random() < 0.5:
                errors[p.tenant] = SimError(f"fault of tenant {p.tenant}")
    if errors:
        options["errors"] = errors
    return programs, pool, options


@pytest.mark.parametrize("chunk", range(8))
def test_simulate_equals_the_reference_bit_for_bit(chunk):
    for seed in range(chunk * 50, chunk * 50 + 50):
        programs, pool, options = random_case(seed)
        want = reference(programs, pool, **options)
        assert_identical(flat(simulate(programs, pool, **options)), want)


def test_bank_rates_equal_the_reference():
    """Random joins, completions and drops on one bank: the same rates and times, bit for
    bit, whether the caps are equal (cached water-filling) or not."""
    rng = random.Random(1)
    for trial in range(200):
        args = (rng.choice([8.0, 64.0, 7.3]), rng.choice([None, 2.0, 5.0]),
                rng.choice([None, 32.0, 4.0, 3.0]))
        bank, ref = Bank(*args), RefBank(*args)
        now, seq = 0.0, 0
        for _ in range(60):
            r = rng.random()
            if r < 0.5 or not ref.active:
                seq += 1
                payload = (rng.randrange(4), trial, seq)
                nbytes = rng.choice([64, 100, rng.randint(1, 3000)])
                bank.join(now, nbytes, seq, payload)
                ref.join(now, nbytes, seq, payload)
            elif r < 0.9:
                now = ref.next_done()
                assert bank.next_done() == now
                assert bank.pop_done(now) == ref.pop_done(now)
            else:
                gone = {rng.randrange(4)}
                bank.drop(now, gone)
                ref.drop(now, gone)
            assert list(bank.rates) == ref.rates
            assert [x[:2] for x in bank.active] == [x[:2] for x in ref.active]
            assert (bank.busy, bank.moved, bank.t) == (ref.busy, ref.moved, ref.t)
            now += rng.choice([0.0, 1.0, 10.0, rng.random() * 50])
