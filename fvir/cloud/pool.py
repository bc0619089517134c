"""The virtualized multi-core pool: requests, queues and core re-allocation, event by event.

`run_pool(scenario, library, policy)`: discrete events in simulated seconds; every tenant
serves its requests one at a time (batch 1, all of its cores on one inference, as the linked
executable runs), first come first served, through its `Requests` (admission control and
queue dropping when the scenario asks for them):

1. A request starts when the tenant is admitted, holds cores, is not re-linking and is idle.
   Its duration is the memoised cycles of (its model, its cores, the co-runners busy on its
   DDR banks at that moment) from `ModelLibrary.service` (the fast timing mode), at the clock.
2. The policy runs on admission, departure, fault and load steps. A tenant whose core set
   changes finishes its current inference (drain), hands back its cores, and once all its
   new cores are free is re-linked by the `Hypervisor` (real allocation and link; the
   timeline is charged the scenario's `relink_ms`, so runs are reproducible, and the
   measured wall time is reported).
3. A service that faults (e.g. a frame addressing outside the tenant's regions) stops that
   tenant: its cores are freed, the policy runs again, the others go on.
4. Open-loop arrivals are arrays drawn up front; an idle tenant sleeps until its next
   arrival (one WAKE event), a busy one looks at its queue when it finishes, so a request
   costs about one heap event.
5. A policy that follows bursts (`react`, the goodput policy) is also run when a tenant's
   queue will not clear within its SLO on its cores (at most every `react_s`) and when such
   a tenant's queue has emptied; it sees every tenant's backlog.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Mapping, Sequence

from fvir.cloud.hypervisor import Hypervisor
from fvir.cloud.library import ModelLibrary
from fvir.cloud.policies import Policy, TenantView
from fvir.cloud.results import PoolResult, TenantResult
from fvir.cloud.scenario import Scenario, TenantSpec
from fvir.cloud.simulate import closed_arrival, streams

ADMIT, LEAVE, CHANGE, DONE, WAKE = range(5)


class _Tenant:
    """A tenant's serving state on the pool."""

    def __init__(self, spec: TenantSpec, result: TenantResult) -> None:
        self.spec, self.result, self.reqs = spec, result, result.requests
        self.model = result.model
        self.admitted = self.busy = self.released = False
        self.current = -1  # the request in service
        self.last_done: float | None = None
        self.cores: tuple[int, ...] = ()
        self.banks: frozenset[int] = frozenset()  # the DDR banks of `cores`
        self.target: tuple[int, ...] | None = None  # pending core set
        self.ready_at = 0.0
        self.drain_from = 0.0
        self.wake_at = math.inf

    @property
    def planned(self) -> tuple[int, ...]:
        """The cores the tenant holds, or is moving to."""
        return self.target if self.target is not None else self.cores


class _PoolRun:
    def __init__(self, scenario: Scenario, library: ModelLibrary, policy: Policy,
                 results: Sequence[TenantResult], check: bool) -> None:
        self.scenario, self.library, self.policy, self.check = scenario, library, policy, check
        self.end = scenario.duration_s
        self.clock_hz = library.pool.core.clock_mhz * 1e6
        self.relink_s = scenario.relink_ms / 1e3
        self.hv = Hypervisor(library)
        specs = {s.name: s for s in scenario.tenants}
        self.ts = {r.name: _Tenant(specs[r.name], r) for r in results}
        self.heap: list[tuple[float, int, int, str]] = []
        self.seq = 0
        self.timeline: list[tuple[float, dict[str, int]]] = []
        self.reactive = bool(getattr(policy, "react", False))
        self.react_s = float(getattr(policy, "react_s", 0.0))
        self.bursting: set[str] = set()
        self.last_react = -math.inf
        # The tenants running an inference, per DDR bank: a starting tenant's co-runners.
        self.busy: list[set[_Tenant]] = [set() for _ in range(library.pool.num_banks)]

    def push(self, when: float, kind: int, name: str = "") -> None:
        if when <= self.end:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, kind, name))

    def record(self, now: float) -> None:
        snap = {n: len(t.cores) for n, t in self.ts.items() if t.admitted or t.cores}
        if self.timeline and self.timeline[-1][0] == now:
            self.timeline[-1] = (now, snap)
        else:
            self.timeline.append((now, snap))

    def replan(self, now: float) -> None:
        live = [t for t in self.ts.values() if t.admitted]
        views = [TenantView(t.spec, t.model, t.spec.rate_at(now), t.result.slo_s,
                            t.spec.cv_at(now), self.backlog(t, now)) for t in live]
        self.bursting = {t.spec.name for t in live if self.late_queue(t, now)}
        self.last_react = now
        current = {t.spec.name: t.planned for t in live}
        plan = self.policy.allocate(now, views, current, self.library)
        for t in live:
            new = tuple(plan.get(t.spec.name, ()))
            if new != t.planned:
                if t.target is None:
                    t.drain_from = now
                t.target = new
                t.released = False
        self.apply(now)

    def set_cores(self, t: _Tenant, now: float, cores: tuple[int, ...]) -> None:
        t.cores = cores
        t.banks = frozenset(self.library.pool.bank_of(c) for c in cores)
        steps = t.result.cores
        if steps[-1][0] == now:
            steps[-1] = (now, cores)
        else:
            steps.append((now, cores))

    def apply(self, now: float) -> None:
        changed = False
        for t in self.ts.values():  # idle movers hand back their cores first
            if t.target is not None and not t.busy and not t.released:
                if t.cores and t.admitted:  # a re-allocation, not a departure
                    t.result.drain_s += now - t.drain_from
                self.hv.unbind(t.spec.name)
                self.set_cores(t, now, ())
                t.released, changed = True, True
        held = {c for t in self.ts.values() for c in t.cores}
        free = set(range(self.library.pool.num_cores)) - held
        for t in self.ts.values():  # then take the new cores once they are all free
            if t.target is not None and t.released and free.issuperset(t.target):
                if t.target:
                    t.result.relink_s += self.hv.bind(t.spec.name, t.model, t.target)
                    t.result.relinks += 1
                    t.ready_at = now + self.relink_s
                    self.push(t.ready_at, WAKE, t.spec.name)
                    self.set_cores(t, now, t.target)
                    free -= set(t.target)
                t.target, changed = None, True
        if changed:
            self.record(now)
            if self.check:
                self.hv.check()

    def service_alone_s(self, t: _Tenant) -> float:
        """The admission and dropping estimate: one inference alone on the tenant's cores."""
        if not t.planned:
            return math.inf
        return self.library.service(t.model, t.planned).cycles / self.clock_hz

    def backlog(self, t: _Tenant, now: float) -> int:
        """Requests of t that have arrived and not started (rejected ones included)."""
        return 0 if t.reqs.closed else t.reqs.arrived(now) - t.reqs.head

    def late_queue(self, t: _Tenant, now: float) -> bool:
        """t's queue will not clear within its SLO on the cores it has (a burst)."""
        q = self.backlog(t, now)
        return q > 1 and q * self.service_alone_s(t) > t.result.slo_s

    def react(self, t: _Tenant, now: float) -> None:
        """Re-plan when a burst starts (rate-limited) or a bursting tenant's queue empties,
        for policies that follow bursts (`react`)."""
        if t.spec.name in self.bursting:
            if self.backlog(t, now) == 0:
                self.replan(now)
        elif now - self.last_react >= self.react_s and self.late_queue(t, now):
            self.replan(now)

    def try_start(self, t: _Tenant, now: float) -> None:
        if not t.admitted or t.busy or t.target is not None or not t.cores or now < t.ready_at:
            return
        reqs = t.reqs
        if reqs.closed:
            if t.spec.rate_at(now) <= 0:
                return  # an idle closed loop: the next load step (CHANGE) wakes it
            reqs.issue(closed_arrival(t.spec, t.last_done, now))
        i = reqs.next(now, self.service_alone_s(t) if reqs.admission or reqs.drop else 0.0,
                      t.ready_at)
        if i is None:
            nxt = reqs.next_arrival()
            if nxt < math.inf and t.wake_at != nxt:
                t.wake_at = nxt
                self.push(nxt, WAKE, t.spec.name)
            return
        co = tuple(sorted({(u.model, u.cores) for b in t.banks for u in self.busy[b]
                           if u is not t}))
        svc = self.library.service(t.model, t.cores, co)
        if svc.fault is not None:
            t.result.fault = str(svc.fault)
            t.admitted = False
            t.target, t.released, t.drain_from = (), False, now
            self.replan(now)
            return
        reqs.start(i)
        t.busy, t.current = True, i
        for b in t.banks:
            self.busy[b].add(t)
        self.push(now + svc.cycles / self.clock_hz, DONE, t.spec.name)

    def run(self, extra_changes: Sequence[float]) -> int:
        for t in self.ts.values():
            self.push(t.spec.start_s, ADMIT, t.spec.name)
            if t.spec.stop_s < self.end:
                self.push(t.spec.stop_s, LEAVE, t.spec.name)
        for when in sorted({*self.scenario.change_times(), *extra_changes}):
            self.push(when, CHANGE)
        events = 0
        while self.heap:
            now, _, kind, name = heapq.heappop(self.heap)
            events += 1
            if kind == CHANGE:
                self.replan(now)
                for u in self.ts.values():  # a closed loop may have become busy
                    self.try_start(u, now)
                continue
            t = self.ts[name]
            if kind == DONE:
                t.busy = False
                for b in t.banks:
                    self.busy[b].discard(t)
                t.reqs.done(t.current, now)
                t.last_done = now
                if t.target is not None:
                    self.apply(now)
                if self.reactive and t.admitted:
                    self.react(t, now)
                self.try_start(t, now)
            elif kind == WAKE:
                if t.wake_at <= now:
                    t.wake_at = math.inf
                if self.reactive and t.admitted and not t.busy:
                    self.react(t, now)
                self.try_start(t, now)
            elif kind == ADMIT:
                t.admitted = True
                self.replan(now)
            else:  # LEAVE: stop after the current inference, give everything back
                t.admitted = False
                if t.target != ():
                    t.target, t.released, t.drain_from = (), False, now
                self.replan(now)
        if self.check:
            for name, t in self.ts.items():
                if not t.admitted:  # left or faulted: nothing of it may remain
                    assert name not in self.hv.executables and not t.cores, name
        return events


def run_pool(scenario: Scenario, library: ModelLibrary, policy: Policy,
             tenants: Sequence[str] | None = None, extra_changes: Sequence[float] = (),
             check: bool = False, slos: Mapping[str, float] | None = None) -> PoolResult:
    """Simulate the scenario's tenants (or the named subset) on the virtualized pool.
    `extra_changes`: more times at which the policy runs. `check` asserts the hypervisor's
    invariants (`Hypervisor.check`) after every change. `slos`: seconds per tenant
    (default: `resolve_slos` on this library)."""
    t_wall = time.perf_counter()
    sims0 = library.simulations
    results = streams(scenario, library, slos, tenants)
    sim = _PoolRun(scenario, library, policy, results, check)
    events = sim.run(extra_changes)
    for r in results:
        r.requests.trim()
    return PoolResult(policy.name, library.pool.name, scenario.duration_s,
                      {r.name: r for r in results}, simulations=library.simulations - sims0,
                      wall_s=time.perf_counter() - t_wall, events=events,
                      timeline=sim.timeline)
