"""Scenario simulation: requests, queues, core re-allocation and the static baselines.

`run_pool(scenario, library, policy)` is the virtualized multi-core pool. Discrete events in
simulated seconds; every tenant serves its requests one at a time (batch 1, all of its cores
on one inference, as the linked executable runs), first come first served:

- A request starts when the tenant is admitted, holds cores, is not re-linking and is idle.
  Its duration is the memoised cycles of (its model, its cores, the co-runners busy on its DDR
  banks at that moment) from `ModelLibrary.service` (the fast timing mode), at the clock.
- The policy runs on admission, departure, fault and load steps. A tenant whose core set
  changes finishes its current inference (drain), hands back its cores, and once all its new
  cores are free is re-linked by the `Hypervisor` (measured wall time, charged to the
  timeline before its next inference). Drain and link time are reported per tenant.
- A service that faults (e.g. a frame addressing outside the tenant's regions) stops that
  tenant: its cores are freed, the policy runs again, the others go on.
- Poisson arrival times are drawn up front (numpy); a busy tenant's arrivals are counted by
  binary search when it finishes, so a request costs about one heap event.

`run_tdm(scenario, library)` is baseline (a): one big core (`library.pool` is a 1-core pool)
time-multiplexed between tenants at inference granularity, work-conserving, weighted fair
(start-time fair queueing on service seconds, weights = shares or weights). The static
partition baseline (b) is `run_pool` with `StaticPolicy`.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from fvir.cloud.hypervisor import Hypervisor
from fvir.cloud.library import ModelLibrary
from fvir.cloud.policies import Policy, TenantView
from fvir.cloud.scenario import Scenario, TenantSpec

ADMIT, LEAVE, CHANGE, DONE, WAKE = range(5)


@dataclass
class TenantResult:
    name: str
    model: str
    start_s: float
    end_s: float
    completions: np.ndarray  # completion times (s)
    latencies: np.ndarray  # seconds from arrival to completion
    cores: list[tuple[float, tuple[int, ...]]]  # (from time, core set) steps
    relinks: int = 0
    relink_s: float = 0.0  # summed wall time of the re-links (charged to the timeline)
    drain_s: float = 0.0  # summed time spent finishing an inference before moving
    dropped: int = 0  # requests still queued when the tenant left or the scenario ended
    fault: str | None = None

    @property
    def throughput(self) -> float:
        span = self.end_s - self.start_s
        return len(self.completions) / span if span > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1e3) if len(self.latencies) else math.nan

    def mean_cores(self) -> float:
        """Cores held, averaged over the tenant's time in the scenario."""
        total, steps = 0.0, [*self.cores, (self.end_s, ())]
        for (t0, cs), (t1, _) in pairwise(steps):
            total += len(cs) * max(0.0, min(t1, self.end_s) - max(t0, self.start_s))
        span = self.end_s - self.start_s
        return total / span if span > 0 else 0.0


@dataclass
class PoolResult:
    policy: str
    hw: str
    duration_s: float
    tenants: dict[str, TenantResult]
    simulations: int = 0
    wall_s: float = 0.0
    events: int = 0
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    @property
    def total_throughput(self) -> float:
        return sum(len(t.completions) for t in self.tenants.values()) / self.duration_s

    @property
    def relinks(self) -> int:
        return sum(t.relinks for t in self.tenants.values())


class _Tenant:
    def __init__(self, spec: TenantSpec, model: str, arrivals: np.ndarray | None,
                 end: float) -> None:
        self.spec, self.model, self.arrivals = spec, model, arrivals
        self.head = 0  # next request to serve
        self.admitted = False
        self.busy = False
        self.current_arrival = 0.0
        self.cores: tuple[int, ...] = ()
        self.banks: frozenset[int] = frozenset()  # the DDR banks of `cores`
        self.target: tuple[int, ...] | None = None  # pending core set
        self.released = False
        self.ready_at = 0.0
        self.drain_from = 0.0
        self.wake_at = math.inf
        self.done: list[float] = []
        self.lat: list[float] = []
        self.result = TenantResult(spec.name, model, spec.start_s, min(spec.stop_s, end),
                                   np.zeros(0), np.zeros(0), [(spec.start_s, ())])

    @property
    def planned(self) -> tuple[int, ...]:
        """The cores the tenant holds, or is moving to."""
        return self.target if self.target is not None else self.cores


def _closed_arrival(t: _Tenant, now: float) -> float:
    """When a closed loop issued the request it starts now: at its previous completion, its
    admission or the start of its busy step, whichever is last (so its latency includes the
    wait for the device: a re-link, or the other tenants on a TDM core)."""
    issued = max(t.done[-1] if t.done else t.spec.start_s, t.spec.start_s)
    busy_since = max((s for s, v in t.spec.load if s <= now and v > 0), default=issued)
    return max(issued, busy_since)


def model_key(spec: TenantSpec) -> str:
    """The library name of a tenant's model: the zoo name or path, or the package's name."""
    return spec.model if isinstance(spec.model, str) else f"{spec.name}:{spec.model.name}"


def _arrivals(scenario: Scenario) -> list[np.ndarray | None]:
    rng = np.random.default_rng(scenario.seed)
    return [spec.arrivals(rng, scenario.duration_s) for spec in scenario.tenants]


def run_pool(scenario: Scenario, library: ModelLibrary, policy: Policy,
             tenants: Sequence[str] | None = None,
             extra_changes: Sequence[float] = (), check: bool = False) -> PoolResult:
    """Simulate the scenario's tenants (or the named subset) on the virtualized pool.
    `check` asserts the hypervisor's invariants (`Hypervisor.check`) after every change."""
    t_wall = time.perf_counter()
    sims0 = library.simulations
    end = scenario.duration_s
    clock_hz = library.pool.core.clock_mhz * 1e6
    hv = Hypervisor(library)
    arrivals = _arrivals(scenario)  # drawn for all tenants: a subset sees the same requests
    ts: dict[str, _Tenant] = {}
    for spec, arr in zip(scenario.tenants, arrivals, strict=True):
        if tenants is None or spec.name in tenants:
            library.add(model_key(spec), spec.model)
            ts[spec.name] = _Tenant(spec, model_key(spec), arr, end)
    heap: list[tuple[float, int, int, str]] = []
    seq = 0

    def push(when: float, kind: int, name: str = "") -> None:
        nonlocal seq
        if when <= end:
            seq += 1
            heapq.heappush(heap, (when, seq, kind, name))

    for t in ts.values():
        push(t.spec.start_s, ADMIT, t.spec.name)
        if t.spec.stop_s < end:
            push(t.spec.stop_s, LEAVE, t.spec.name)
    for when in sorted({*scenario.change_times(), *extra_changes}):
        push(when, CHANGE)
    timeline: list[tuple[float, dict[str, int]]] = []

    def record(now: float) -> None:
        snap = {n: len(t.cores) for n, t in ts.items() if t.admitted or t.cores}
        if timeline and timeline[-1][0] == now:
            timeline[-1] = (now, snap)
        else:
            timeline.append((now, snap))

    def replan(now: float) -> None:
        live = [t for t in ts.values() if t.admitted]
        views = [TenantView(t.spec, t.model, t.spec.rate_at(now)) for t in live]
        current = {t.spec.name: t.planned for t in live}
        plan = policy.allocate(now, views, current, library)
        for t in live:
            new = tuple(plan.get(t.spec.name, ()))
            if new != t.planned:
                if t.target is None:
                    t.drain_from = now
                t.target = new
                t.released = False
        apply(now)

    def free_cores() -> set[int]:
        held = {c for t in ts.values() for c in t.cores}
        return set(range(library.pool.num_cores)) - held

    def set_cores(t: _Tenant, now: float, cores: tuple[int, ...]) -> None:
        t.cores = cores
        t.banks = frozenset(library.pool.bank_of(c) for c in cores)
        steps = t.result.cores
        if steps[-1][0] == now:
            steps[-1] = (now, cores)
        else:
            steps.append((now, cores))

    def apply(now: float) -> None:
        changed = False
        for t in ts.values():  # idle movers hand back their cores first
            if t.target is not None and not t.busy and not t.released:
                if t.cores and t.admitted:  # a re-allocation, not a departure
                    t.result.drain_s += now - t.drain_from
                hv.unbind(t.spec.name)
                set_cores(t, now, ())
                t.released, changed = True, True
        free = free_cores()
        for t in ts.values():  # then take the new cores once they are all free
            if t.target is not None and t.released and free.issuperset(t.target):
                if t.target:
                    cost = hv.bind(t.spec.name, t.model, t.target)
                    t.result.relinks += 1
                    t.result.relink_s += cost
                    t.ready_at = now + cost
                    push(t.ready_at, WAKE, t.spec.name)
                    set_cores(t, now, t.target)
                    free -= set(t.target)
                t.target, changed = None, True
        if changed:
            record(now)
            if check:
                hv.check()

    def try_start(t: _Tenant, now: float) -> None:
        if not t.admitted or t.busy or t.target is not None or not t.cores or now < t.ready_at:
            return
        if t.arrivals is None:
            if t.spec.rate_at(now) <= 0:
                return  # an idle closed loop: the next load step (CHANGE) wakes it
            arrival = _closed_arrival(t, now)
        else:
            arrived = int(np.searchsorted(t.arrivals, now, "right"))
            if t.head >= arrived:
                if t.head < len(t.arrivals) and t.wake_at != t.arrivals[t.head]:
                    t.wake_at = float(t.arrivals[t.head])
                    push(t.wake_at, WAKE, t.spec.name)
                return
            arrival = float(t.arrivals[t.head])
        co = tuple(sorted((u.model, u.cores) for u in ts.values()
                          if u is not t and u.busy and not t.banks.isdisjoint(u.banks)))
        svc = library.service(t.model, t.cores, co)
        if svc.fault is not None:
            t.result.fault = str(svc.fault)
            t.admitted = False
            t.target, t.released, t.drain_from = (), False, now
            replan(now)
            return
        t.head += 1
        t.busy, t.current_arrival = True, arrival
        push(now + svc.cycles / clock_hz, DONE, t.spec.name)

    events = 0
    while heap:
        now, _, kind, name = heapq.heappop(heap)
        events += 1
        if kind == CHANGE:
            replan(now)
            for u in ts.values():  # a closed loop may have become busy
                try_start(u, now)
            continue
        t = ts[name]
        if kind == DONE:
            t.busy = False
            t.done.append(now)
            t.lat.append(now - t.current_arrival)
            if t.target is not None:
                apply(now)
            try_start(t, now)
        elif kind == WAKE:
            if t.wake_at <= now:
                t.wake_at = math.inf
            try_start(t, now)
        elif kind == ADMIT:
            t.admitted = True
            replan(now)
        else:  # LEAVE: stop after the current inference, give everything back
            t.admitted = False
            if t.target != ():
                t.target, t.released, t.drain_from = (), False, now
            replan(now)

    out: dict[str, TenantResult] = {}
    for name, t in ts.items():
        r = t.result
        r.completions = np.asarray(t.done, np.float64)
        r.latencies = np.asarray(t.lat, np.float64)
        if t.arrivals is not None:
            r.dropped = int(np.searchsorted(t.arrivals, r.end_s, "right")) - t.head
        out[name] = r
    if check:
        for name, t in ts.items():
            if not t.admitted:  # left or faulted: nothing of it may remain
                assert name not in hv.executables and not t.cores, name
    return PoolResult(policy.name, library.pool.name, end, out,
                      simulations=library.simulations - sims0,
                      wall_s=time.perf_counter() - t_wall, events=events, timeline=timeline)


def run_tdm(scenario: Scenario, library: ModelLibrary,
            tenants: Sequence[str] | None = None) -> PoolResult:
    """Baseline (a): one big core shared by weighted fair time-division (module docstring)."""
    t_wall = time.perf_counter()
    sims0 = library.simulations
    end = scenario.duration_s
    clock_hz = library.pool.core.clock_mhz * 1e6
    core = (0,)
    arrivals = _arrivals(scenario)
    ts: list[_Tenant] = []
    for spec, arr in zip(scenario.tenants, arrivals, strict=True):
        if tenants is None or spec.name in tenants:
            library.add(model_key(spec), spec.model)
            ts.append(_Tenant(spec, model_key(spec), arr, end))
    weights = [t.spec.share if t.spec.share is not None else t.spec.weight for t in ts]
    service = [library.service(t.model, core).cycles / clock_hz for t in ts]
    faults = [library.service(t.model, core).fault for t in ts]
    used = [0.0] * len(ts)  # virtual time: service seconds / weight
    now = 0.0
    events = 0
    while now < end:
        ready, upcoming = [], math.inf
        for i, t in enumerate(ts):
            if faults[i] is not None or now >= t.result.end_s:
                continue
            if now < t.spec.start_s:
                upcoming = min(upcoming, t.spec.start_s)
                continue
            if t.arrivals is None:
                if t.spec.rate_at(now) > 0:
                    ready.append(i)
                else:  # idle closed loop: until its next busy step
                    upcoming = min([upcoming, *(s for s, v in t.spec.load if s > now and v > 0)])
            elif t.head < len(t.arrivals) and t.arrivals[t.head] <= now:
                ready.append(i)
            elif t.head < len(t.arrivals):
                upcoming = min(upcoming, float(t.arrivals[t.head]))
        if not ready:
            if not math.isfinite(upcoming):
                break
            now = upcoming
            continue
        floor = min(used[i] for i in ready)  # a newly backlogged tenant starts at the floor
        for i in ready:
            used[i] = max(used[i], floor)
        i = min(ready, key=lambda k: (used[k], k))
        t = ts[i]
        arrival = _closed_arrival(t, now) if t.arrivals is None else float(t.arrivals[t.head])
        t.head += 1
        now += service[i]
        used[i] += service[i] / weights[i]
        events += 1
        if now <= min(end, t.result.end_s):
            t.done.append(now)
            t.lat.append(now - arrival)
    out = {}
    for i, t in enumerate(ts):
        r = t.result
        r.completions, r.latencies = np.asarray(t.done), np.asarray(t.lat)
        r.cores = [(t.spec.start_s, core)]
        r.fault = None if faults[i] is None else str(faults[i])
        if t.arrivals is not None:
            r.dropped = int(np.searchsorted(t.arrivals, r.end_s, "right")) - t.head
        out[t.spec.name] = r
    return PoolResult("tdm", library.pool.name, end, out,
                      simulations=library.simulations - sims0,
                      wall_s=time.perf_counter() - t_wall, events=events)
