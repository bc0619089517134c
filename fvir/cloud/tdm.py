"""Baseline (a): one big core (`library.pool` is a 1-core pool) time-shared between tenants.

`run_tdm(scenario, library)`; the tenants' requests, SLOs and metrics are those of the pool
(`fvir.cloud.simulate`). One server, work-conserving:

1. Whole inferences (default): when the core is free, the tenant to serve next is chosen by
   weighted fair queueing (start-time fair queueing on service seconds; weights = shares or
   weights; a tenant that becomes backlogged starts at the current floor).
2. `tdm_preempt` (PREMA-style, the strongest time-sharing baseline): a frame is the natural
   preemption point of this design, so when a request arrives whose deadline is earlier
   than the running one's, the core switches at the next frame boundary of the running
   inference (its position from the package's per-frame costs) and serves requests earliest
   deadline first; the preempted request resumes where it stopped. Without SLOs every
   deadline is infinite and this is rule 1.
3. Admission control (`admission`): arrivals are decided in global arrival order against
   the core's predicted backlog (every admitted request's service, work-conserving, and
   recomputed from the queues whenever the core is free): predicted finish =
   max(arrival, backlog end) + the request's service. Queue dropping
   (`drop`): a request that cannot meet its deadline even if started now is dropped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from fvir.cloud.library import ModelLibrary
from fvir.cloud.requests import Requests
from fvir.cloud.results import PoolResult, TenantResult
from fvir.cloud.scenario import Scenario, TenantSpec
from fvir.cloud.simulate import closed_arrival, streams


class _Tdm:
    def __init__(self, scenario: Scenario, library: ModelLibrary,
                 results: Sequence[TenantResult]) -> None:
        specs = {s.name: s for s in scenario.tenants}
        self.end = scenario.duration_s
        self.preempt = scenario.tdm_preempt
        self.rs = list(results)
        self.specs: list[TenantSpec] = [specs[r.name] for r in results]
        self.reqs: list[Requests] = [r.requests for r in results]
        clock_hz = library.pool.core.clock_mhz * 1e6
        self.weights = [s.share if s.share is not None else s.weight for s in self.specs]
        svc = [library.service(r.model, (0,)) for r in results]
        self.service = [v.cycles / clock_hz for v in svc]
        self.faults = [v.fault for v in svc]
        cost = [library[r.model].package.frames["cost"].astype(np.float64) for r in results]
        self.bounds = [np.cumsum(c) / max(c.sum(), 1.0) for c in cost]  # frame ends, 0..1
        self.used = [0.0] * len(results)  # virtual time: service seconds / weight
        self.partial: list[tuple[int, float] | None] = [None] * len(results)  # (req, left s)
        self.last_done: list[float | None] = [None] * len(results)
        self.backlog_end = -math.inf

    def live(self, k: int, now: float) -> bool:
        return self.faults[k] is None and self.specs[k].start_s <= now < self.rs[k].end_s

    def resync(self, now: float) -> None:
        """The core is idle at `now`: the backlog is the admitted work still queued and the
        preempted requests' remainders, whatever was predicted before."""
        queued = sum(r.queued_work(self.service[k]) for k, r in enumerate(self.reqs)
                     if r.admission)
        left = sum(p[1] for p in self.partial if p is not None)
        self.backlog_end = now + queued + left

    def admit_all(self, now: float) -> None:
        """Rule 3: every arrival up to `now`, all tenants merged in arrival order."""
        new = [(float(r.arrival[i]), k, i) for k, r in enumerate(self.reqs) if r.admission
               for i in range(r.decided, r.arrived(now))]
        for _, k, i in sorted(new):
            self.backlog_end = self.reqs[k].admit(i, self.service[k], self.backlog_end)

    def waiting(self, k: int, now: float) -> int | None:
        """Tenant k's request to serve now (a preempted one first), or None."""
        if not self.live(k, now):
            return None
        if self.partial[k] is not None:
            return self.partial[k][0]  # type: ignore[index]
        r = self.reqs[k]
        if r.closed:
            if self.specs[k].rate_at(now) <= 0:
                return None
            if r.head == r.n:
                r.issue(closed_arrival(self.specs[k], self.last_done[k], now))
        return r.next(now, self.service[k] if r.drop else 0.0)

    def upcoming(self, now: float) -> float:
        """The next time after `now` something may become ready (a start, an arrival, a
        busy step)."""
        t = math.inf
        for k, spec in enumerate(self.specs):
            if self.faults[k] is not None or now >= self.rs[k].end_s:
                continue
            if now < spec.start_s:
                t = min(t, spec.start_s)
            elif self.reqs[k].closed:
                t = min([t, *(s for s, v in spec.load if s > now and v > 0)])
            else:
                r = self.reqs[k]
                if (nxt := r.arrived(now)) < r.n:
                    t = min(t, float(r.arrival[nxt]))
        return t

    def pick(self, ready: dict[int, int]) -> int:
        floor = min(self.used[k] for k in ready)  # a newly backlogged tenant starts here
        for k in ready:
            self.used[k] = max(self.used[k], floor)
        if self.preempt:
            return min(ready, key=lambda k: (self.reqs[k].arrival[ready[k]]
                                             + self.reqs[k].slo_s, self.used[k], k))
        return min(ready, key=lambda k: (self.used[k], k))

    def preemption(self, k: int, i: int, now: float, left: float, until: float) -> float | None:
        """The frame boundary at which an earlier-deadline arrival in (now, until) takes the
        core from request i of tenant k, or None if none does."""
        deadline = self.reqs[k].arrival[i] + self.reqs[k].slo_s
        t = now
        while True:
            t = self.upcoming(t)
            if t >= until or t >= self.end:
                return None
            self.admit_all(t)
            for j in range(len(self.specs)):
                w = self.waiting(j, t) if j != k else None
                if w is not None and self.reqs[j].arrival[w] + self.reqs[j].slo_s < deadline:
                    s = self.service[k]
                    done = 1 - (left - (t - now)) / s  # fraction of the inference done at t
                    b = self.bounds[k][min(int(np.searchsorted(self.bounds[k], done - 1e-12)),
                                           len(self.bounds[k]) - 1)]
                    at = now + left - (1 - b) * s
                    return at if at < until else None

    def run(self) -> int:
        now, events = 0.0, 0
        admission = any(r.admission for r in self.reqs)
        while now < self.end:
            if admission:
                self.resync(now)
                self.admit_all(now)
            ready = {k: i for k in range(len(self.specs))
                     if (i := self.waiting(k, now)) is not None}
            if not ready:
                now = self.upcoming(now)
                if not math.isfinite(now):
                    break
                continue
            k = self.pick(ready)
            i = ready[k]
            r = self.reqs[k]
            left = self.partial[k][1] if self.partial[k] is not None else self.service[k]
            if self.partial[k] is None:
                r.start(i)
            self.partial[k] = None
            events += 1
            finish = now + left
            if self.preempt and (at := self.preemption(k, i, now, left, finish)) is not None:
                self.used[k] += (at - now) / self.weights[k]
                self.partial[k] = (i, left - (at - now))
                now = at
                continue
            self.used[k] += left / self.weights[k]
            now = finish
            if now <= min(self.end, self.rs[k].end_s):
                r.done(i, now)
                self.last_done[k] = now
        return events


def run_tdm(scenario: Scenario, library: ModelLibrary, tenants: Sequence[str] | None = None,
            slos: Mapping[str, float] | None = None) -> PoolResult:
    """Baseline (a) on `library`'s 1-core pool (module docstring). `slos`: seconds per
    tenant, resolved on the virtualized pool (`resolve_slos`); default: on this library."""
    t_wall = time.perf_counter()
    sims0 = library.simulations
    results = streams(scenario, library, slos, tenants)
    sim = _Tdm(scenario, library, results)
    events = sim.run()
    for k, r in enumerate(results):
        r.requests.trim()
        r.cores = [(r.start_s, (0,))]
        r.fault = None if sim.faults[k] is None else str(sim.faults[k])
    return PoolResult("tdm", library.pool.name, scenario.duration_s,
                      {r.name: r for r in results}, simulations=library.simulations - sims0,
                      wall_s=time.perf_counter() - t_wall, events=events)
