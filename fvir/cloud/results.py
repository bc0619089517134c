"""What a simulation returns, per tenant and for the run, and the serving metrics.

Metrics, the same for every design (they see only `Requests` arrays and the window):

- window: requests are counted by arrival time in [warmup_s, duration_s - cooldown_s)
  (`Scenario.window`), intersected with the tenant's own [start_s, stop_s).
- slo_attainment: requests of the window that finished by their deadline / all requests of
  the window; dropped, rejected and unfinished ones count as misses (a closed loop's last
  request, cut by the end of the run, is not counted). Without an SLO the deadline is
  infinite: the share that finished.
- goodput: requests of the window that met their deadline / the window's length (req/s); a
  tenant's own over its part of the window, the run's over the whole window (tenants that
  come and go add up by time, not by rate).
- p50 / p99 / p99.9 latency: arrival to finish, over the window's finished requests.
- throughput: completions / the tenant's time in the scenario (all requests; the capacity a
  design gives, as reported before SLOs existed), dropped (hopeless in the queue, or still
  waiting when the tenant left or the run ended), rejected (by admission control).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from fvir.cloud.requests import DONE, DROPPED, PENDING, REJECTED, Requests


@dataclass
class TenantResult:
    name: str
    model: str
    start_s: float
    end_s: float
    requests: Requests
    window: tuple[float, float]
    slo_s: float = math.inf
    cores: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)
    relinks: int = 0
    relink_s: float = 0.0  # measured wall time of the re-links (reported, not charged)
    drain_s: float = 0.0  # summed time spent finishing an inference before moving
    fault: str | None = None

    @property
    def completions(self) -> np.ndarray:
        r = self.requests
        return np.sort(r.finish[: r.n][r.outcome[: r.n] == DONE])

    @property
    def latencies(self) -> np.ndarray:
        r = self.requests
        done = r.outcome[: r.n] == DONE
        return r.finish[: r.n][done] - r.arrival[: r.n][done]

    @property
    def dropped(self) -> int:
        r = self.requests
        out = r.outcome[: r.n]
        if r.closed:  # a closed loop's last request, cut by the end, was never queued
            return int(np.count_nonzero(out == DROPPED))
        return int(np.count_nonzero((out == DROPPED) | (out == PENDING)))

    @property
    def rejected(self) -> int:
        return int(np.count_nonzero(self.requests.outcome[: self.requests.n] == REJECTED))

    @property
    def throughput(self) -> float:
        span = self.end_s - self.start_s
        return int(np.count_nonzero(self.requests.outcome == DONE)) / span if span > 0 else 0.0

    def span(self) -> tuple[float, float]:
        """The metric window inside the tenant's own time."""
        return max(self.window[0], self.start_s), min(self.window[1], self.end_s)

    def _in_window(self) -> np.ndarray:
        r, (lo, hi) = self.requests, self.span()
        a = r.arrival[: r.n]
        sel = (a >= lo) & (a < hi)
        if r.closed:  # its last request, cut by the end, was never a queued request
            sel &= r.outcome[: r.n] != PENDING
        return sel

    def counts(self) -> tuple[int, int]:
        """(requests in the window, of which met their deadline)."""
        r, sel = self.requests, self._in_window()
        met = (r.outcome[: r.n] == DONE) & (r.finish[: r.n] <= r.arrival[: r.n] + self.slo_s)
        return int(np.count_nonzero(sel)), int(np.count_nonzero(sel & met))

    @property
    def slo_attainment(self) -> float:
        total, met = self.counts()
        return met / total if total else math.nan

    @property
    def goodput(self) -> float:
        lo, hi = self.span()
        return self.counts()[1] / (hi - lo) if hi > lo else 0.0

    def percentile_ms(self, q: float) -> float:
        r, sel = self.requests, self._in_window()
        sel &= r.outcome[: r.n] == DONE
        lat = r.finish[: r.n][sel] - r.arrival[: r.n][sel]
        return float(np.percentile(lat, q) * 1e3) if len(lat) else math.nan

    def mean_cores(self) -> float:
        """Cores held, averaged over the tenant's time in the scenario."""
        total, steps = 0.0, [*self.cores, (self.end_s, ())]
        for (t0, cs), (t1, _) in pairwise(steps):
            total += len(cs) * max(0.0, min(t1, self.end_s) - max(t0, self.start_s))
        span = self.end_s - self.start_s
        return total / span if span > 0 else 0.0


def overall_goodput(tenants: Iterable[TenantResult]) -> float:
    """All tenants' requests of the window that met their deadline / the window's length."""
    ts = list(tenants)
    if not ts:
        return 0.0
    lo, hi = ts[0].window  # the scenario's, the same for every tenant
    return sum(t.counts()[1] for t in ts) / (hi - lo) if hi > lo else 0.0


def overall_attainment(tenants: Iterable[TenantResult]) -> float:
    """All tenants' requests of the window that met their deadline / all of them."""
    total = met = 0
    for t in tenants:
        n, m = t.counts()
        total, met = total + n, met + m
    return met / total if total else math.nan


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

    @property
    def slo_attainment(self) -> float:
        return overall_attainment(self.tenants.values())

    @property
    def goodput(self) -> float:
        return overall_goodput(self.tenants.values())
