"""What a cluster run returns: per card, per tenant (merged over its replicas) and in all.

Metrics (per tenant and overall they are `fvir.cloud.results`' over the merged requests):

- per card: `utilization` = busy core-seconds / (cores x the card's time in the run), a
  request's busy time being finish - max(arrival, the replica's previous finish) (its
  replica serves one request at a time, first come first served; a re-link wait in between,
  ~1 ms, counts as busy) times the cores the replica held at its finish; `allocated` = held
  core-seconds / the same; the card's throughput, goodput and SLO attainment over the
  requests routed to it.
- migrations (tenant, from, to, when, ready, bytes reloaded), placements after each card
  event, refused tenants.
- gains against the compared placers: goodput and throughput ratios.
No wall-clock value is part of a result except `wall_s`, which sweeps leave out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fvir.cloud.experiment import finite, tenant_json
from fvir.cloud.requests import DONE
from fvir.cloud.results import PoolResult, TenantResult, overall_attainment, overall_goodput
from fvir.cloud.scenario import Scenario
from fvir.cluster.plan import Plan
from fvir.cluster.spec import CardSpec, ClusterSpec


def _busy_core_s(r: TenantResult) -> float:
    """Core-seconds a replica spent serving (module docstring)."""
    q = r.requests
    done = np.flatnonzero(q.outcome[: q.n] == DONE)
    if not len(done) or not r.cores:
        return 0.0
    fin = q.finish[done]
    order = np.argsort(fin, kind="stable")
    fin, arr = fin[order], q.arrival[done][order]
    prev = np.concatenate([[-np.inf], fin[:-1]])
    busy = fin - np.maximum(arr, prev)
    times = np.asarray([t for t, _ in r.cores])
    counts = np.asarray([len(c) for _, c in r.cores], np.float64)
    held = counts[np.maximum(np.searchsorted(times, fin, "right") - 1, 0)]
    return float(np.dot(busy, held))


@dataclass
class CardResult:
    spec: CardSpec
    cores: int
    result: PoolResult | None  # None: no tenant was ever placed on it
    end_s: float  # when it left the run (or the run's end)
    window: tuple[float, float]  # the scenario's metric window

    @property
    def span_s(self) -> float:
        return max(self.end_s - self.spec.add_s, 0.0)

    def utilization(self) -> tuple[float, float]:
        """(busy, allocated) shares of the card's core-seconds."""
        if self.result is None or self.span_s <= 0:
            return 0.0, 0.0
        avail = self.cores * self.span_s
        tenants = self.result.tenants.values()
        busy = sum(_busy_core_s(t) for t in tenants)
        held = sum(t.mean_cores() * (t.end_s - t.start_s) for t in tenants)
        return busy / avail, held / avail

    def served(self) -> tuple[float, float, float | None]:
        """(throughput, goodput, SLO attainment) of the requests routed to the card, per
        second of its time in the run (its window: the scenario's, within its span)."""
        r = self.result
        if r is None or self.span_s <= 0:
            return 0.0, 0.0, None
        done = sum(len(t.completions) for t in r.tenants.values())
        total = met = 0
        for t in r.tenants.values():
            n, m = t.counts()
            total, met = total + n, met + m
        lo, hi = max(self.spec.add_s, self.window[0]), min(self.end_s, self.window[1])
        return (done / self.span_s, met / (hi - lo) if hi > lo else 0.0,
                met / total if total else None)

    def to_json(self) -> dict[str, Any]:
        busy, held = self.utilization()
        r = self.result
        tput, good, attain = self.served()
        return {"name": self.spec.name, "hw": self.spec.hw, "cores": self.cores,
                "add_s": self.spec.add_s, "remove_s": finite(self.spec.remove_s),
                "utilization": busy, "allocated": held,
                "replicas": 0 if r is None else len(r.tenants),
                "throughput": tput, "goodput": good, "slo_attainment": attain,
                "relinks": 0 if r is None else r.relinks,
                "simulations": 0 if r is None else r.simulations,
                "events": 0 if r is None else r.events}


@dataclass
class ClusterResult:
    scenario: Scenario
    cluster: ClusterSpec
    placer: str
    plan: Plan
    cards: list[CardResult]
    tenants: dict[str, TenantResult]
    compared: dict[str, ClusterResult] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def total_throughput(self) -> float:
        return sum(len(t.completions) for t in self.tenants.values()) / self.scenario.duration_s

    @property
    def goodput(self) -> float:
        return overall_goodput(self.tenants.values())

    @property
    def slo_attainment(self) -> float:
        return overall_attainment(self.tenants.values())

    def percentile_ms(self, q: float) -> float:
        """Latency percentile over every tenant's finished requests of the window."""
        lat = []
        for t in self.tenants.values():
            r, sel = t.requests, t._in_window()
            sel &= r.outcome[: r.n] == DONE
            lat.append(r.finish[: r.n][sel] - r.arrival[: r.n][sel])
        allv = np.concatenate(lat) if lat else np.zeros(0)
        return float(np.percentile(allv, q) * 1e3) if len(allv) else math.nan

    def summary(self) -> dict[str, Any]:
        """The totals a comparison row shows."""
        return {"total_throughput": self.total_throughput, "goodput": self.goodput,
                "slo_attainment": finite(self.slo_attainment),
                "p99_ms": finite(self.percentile_ms(99)),
                "migrations": len(self.plan.migrations), "refused": len(self.plan.refused),
                "dropped": sum(t.dropped for t in self.tenants.values()),
                "rejected": sum(t.rejected for t in self.tenants.values())}

    def gain(self) -> dict[str, dict[str, float | None]]:
        out = {}
        for name, other in self.compared.items():
            out[name] = {"goodput": self.goodput / other.goodput if other.goodput else None,
                         "throughput": (self.total_throughput / other.total_throughput
                                        if other.total_throughput else None)}
        return out

    def to_json(self) -> dict[str, Any]:
        sc, cl = self.scenario, self.cluster
        on_cards: dict[str, list[str]] = {}
        for s in self.plan.segments:
            on_cards.setdefault(s.tenant, [])
            if s.card not in on_cards[s.tenant]:
                on_cards[s.tenant].append(s.card)
        out: dict[str, Any] = {
            "scenario": sc.name, "workload": sc.workload, "policy": sc.policy,
            "placer": self.placer, "router": cl.router, "duration_s": sc.duration_s,
            "window_s": list(sc.window()), "admission": sc.admission, "drop": sc.drop,
            "cluster_admission": cl.admission, "link_gbs": cl.link_gbs,
            "migrate_ms": cl.migrate_ms,
            **self.summary(),
            "p50_ms": finite(self.percentile_ms(50)),
            "p999_ms": finite(self.percentile_ms(99.9)),
            "relinks": sum(t.relinks for t in self.tenants.values()),
            "cards": [c.to_json() for c in self.cards],
            "tenants": [{**tenant_json(r, None), "cards": on_cards.get(n, [])}
                        for n, r in self.tenants.items()],
            "migration_list": [{"tenant": m.tenant, "from": m.src, "to": m.dst,
                                "at_s": m.at_s, "ready_s": m.ready_s, "bytes": m.bytes}
                               for m in self.plan.migrations],
            "placements": [{"at_s": t, "cards": cards} for t, cards in self.plan.placements],
            "refused_tenants": sorted(self.plan.refused),
            "simulations": sum(c.result.simulations for c in self.cards if c.result),
            "events": sum(c.result.events for c in self.cards if c.result),
            "wall_s": self.wall_s,
        }
        if self.compared:
            out["compare"] = {p: r.summary() for p, r in self.compared.items()}
            out["gain"] = self.gain()
        return out
