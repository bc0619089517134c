"""A cluster scenario end to end: placement, routing, every card's serving loop, the merge.

`run_cluster(cs)`:

1. One `ModelLibrary` per card hardware (cards of the same hardware share it: its memoised
   service times depend on core ids, not on the card); SLOs are resolved on the first
   card's hardware and held fixed everywhere.
2. Needs: each tenant's peak offered rate (the largest of its load steps and trace minutes)
   divided among its replicas; the plan (`fvir.cluster.plan`) from the placer.
3. Arrivals are drawn exactly as in a single-card run (`Scenario.rng`), then routed
   (`fvir.cluster.router`); every segment becomes a tenant of its card, with the requests
   routed to it and its share of the offered load (for its card's policy).
4. Every card runs `fvir.cloud.pool.run_pool` under the scenario's policy on its own: the
   cards share nothing once the requests are routed.
5. Each tenant's segments are merged back into one `TenantResult` (requests no replica
   accepted are rejected), so its metrics are those of `fvir.cloud.results`, over its own
   span and the scenario's window.
"""

from __future__ import annotations

import copy
import math
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from fvir.cache import PackageCache
from fvir.cloud.experiment import scenario_policy
from fvir.cloud.library import ModelLibrary
from fvir.cloud.pool import run_pool
from fvir.cloud.requests import REJECTED, Requests
from fvir.cloud.results import TenantResult
from fvir.cloud.scenario import Scenario, TenantSpec
from fvir.cloud.simulate import model_key, resolve_slos
from fvir.cluster.placer import Card, Need, demand, make_placer
from fvir.cluster.plan import Plan, Segment, make_plan
from fvir.cluster.results import CardResult, ClusterResult
from fvir.cluster.router import route
from fvir.cluster.spec import ClusterScenario
from fvir.errors import UserError
from fvir.hw.toml import load_hw

Progress = Callable[[str], None]
MAX_SEGMENTS = 62  # replicas a tenant has over a run (the router's bit sets)


@dataclass
class RoutedTenant(TenantSpec):
    """A tenant's replica on one card: the requests routed to it, its share of the load."""

    routed: np.ndarray | None = None  # None: a closed loop
    load_share: float = 1.0

    def rate_at(self, t: float) -> float:
        return super().rate_at(t) * self.load_share

    def arrivals(self, rng: np.random.Generator, end_s: float) -> np.ndarray | None:
        return None if self.routed is None else self.routed[self.routed < end_s]


def libraries(cs: ClusterScenario, progress: Progress | None,
              cache: PackageCache | None) -> dict[str, ModelLibrary]:
    """One library per card hardware, holding every tenant's model."""
    out: dict[str, ModelLibrary] = {}
    for card in cs.cluster.cards:
        if card.hw not in out:
            lib = ModelLibrary(load_hw(card.hw), progress, resident=cs.scenario.resident_weights,
                               cache=cache)
            for spec in cs.scenario.tenants:
                lib.add(model_key(spec), spec.model)
            out[card.hw] = lib
    return out


def peak_rate(spec: TenantSpec, duration_s: float) -> float:
    """The largest offered rate over the tenant's load steps and trace minutes."""
    times = {spec.start_s, *(t for t, _ in spec.load)}
    if spec.counts is not None:
        times |= {m * spec.minute_s for m in range(len(spec.counts))}
    return max(spec.rate_at(t) for t in times if t < duration_s) if times else 0.0


class ClusterRun:
    """Everything one scenario's runs share: libraries, SLOs, needs and arrivals, so that
    placers are compared on the same requests."""

    def __init__(self, cs: ClusterScenario, progress: Progress | None = None,
                 cache: PackageCache | None = None) -> None:
        self.cs, self.sc, self.say = cs, cs.scenario, progress or (lambda _: None)
        self.libs = libraries(cs, progress, cache)
        self.cards = [Card(c, self.libs[c.hw]) for c in cs.cluster.cards]
        self.slos = resolve_slos(self.sc, self.libs[cs.cluster.cards[0].hw])
        self.specs = {s.name: s for s in self.sc.tenants}
        self.needs = [Need(s.name, model_key(s), peak_rate(s, self.sc.duration_s)
                           / cs.cluster.replicas_of(s.name), self.slos[s.name],
                           cs.cluster.replicas_of(s.name)) for s in self.sc.tenants]
        self.arrivals = {s.name: s.arrivals(self.sc.rng(i), self.sc.duration_s)
                         for i, s in enumerate(self.sc.tenants)}
        self._scores: dict[tuple[str, tuple[str, ...]], float] = {}

    # ---------------------------------------------------------------- placement

    def weight_bytes(self, tenant: str, card: str) -> int:
        lib = next(c.library for c in self.cards if c.name == card)
        return int(lib[model_key(self.specs[tenant])].package.weights.nbytes)

    def score(self, card: str, tenants: tuple[str, ...]) -> float:
        """Goodput of `card` serving `tenants` alone for `score_s` (the greedy placer's)."""
        key = (card, tuple(sorted(tenants)))
        if key not in self._scores:
            value = 0.0
            if tenants:
                horizon = min(self.cs.cluster.score_s, self.sc.duration_s)
                spec = next(c for c in self.cards if c.name == card)
                segs = [self._routed(self.specs[t], f"{t}@0", 0.0, math.inf,
                                     self._thin(t), 1 / self.cs.cluster.replicas_of(t))
                        for t in key[1]]
                sc = self._card_scenario(spec, segs, horizon, window=(0.0, horizon))
                value = run_pool(sc, spec.library, scenario_policy(sc),
                                 slos={s.name: self.slos[s.name.split("@")[0]]
                                       for s in segs}).goodput
            self._scores[key] = value
        return self._scores[key]

    def _thin(self, tenant: str) -> np.ndarray | None:
        """A replica's share of the tenant's requests (every r-th), for scoring."""
        a = self.arrivals[tenant]
        return None if a is None else a[:: self.cs.cluster.replicas_of(tenant)]

    def plan(self, placer_name: str) -> Plan:
        placer = make_placer(placer_name, self.score)
        return make_plan(self.needs, self.cards, self.cs.cluster, placer.place,
                         self.sc.duration_s, self.weight_bytes)

    # ---------------------------------------------------------------- serving

    def _routed(self, spec: TenantSpec, name: str, start: float, stop: float,
                routed: np.ndarray | None, share: float) -> RoutedTenant:
        base = {f.name: getattr(spec, f.name) for f in fields(TenantSpec)}
        base.update(name=name, start_s=start, stop_s=stop, share=None)
        return RoutedTenant(**base, routed=routed, load_share=share)

    def _card_scenario(self, card: Card, tenants: list[TenantSpec], duration: float,
                       window: tuple[float, float] | None = None) -> Scenario:
        sc = copy.copy(self.sc)
        sc.name, sc.tenants, sc.hw, sc.baselines = f"{self.sc.name}/{card.name}", tenants, \
            card.spec.hw, []
        sc.duration_s = duration
        if window is not None:
            sc.warmup_s, sc.cooldown_s = window[0], duration - window[1]
        return sc

    def _service_s(self, seg: Segment) -> float:
        """A replica's predicted service time alone on the cores the placer gives it."""
        card = next(c for c in self.cards if c.name == seg.card)
        need = next(n for n in self.needs if n.tenant == seg.tenant)
        tput = card.library.throughput(need.model, demand(need, card, self.cs.cluster.headroom))
        return 1.0 / tput if tput > 0 else math.inf

    def run(self, placer_name: str) -> ClusterResult:
        t_wall = time.perf_counter()
        self.say(f"cluster {self.sc.name}: place ({placer_name})")
        plan = self.plan(placer_name)
        segments: dict[str, list[tuple[Segment, np.ndarray | None]]] = {}
        rejected: dict[str, np.ndarray] = {}
        for spec in self.sc.tenants:
            segs = plan.of_tenant(spec.name)
            if len(segs) > MAX_SEGMENTS:
                raise UserError(f"cluster {self.sc.name}: tenant '{spec.name}' has "
                                f"{len(segs)} replicas over the run, more than {MAX_SEGMENTS}")
            a = self.arrivals[spec.name]
            if a is None:  # a closed loop runs on every replica for its span
                segments[spec.name] = [(s, None) for s in segs]
                continue
            which = route(a, [(s.route_from, s.route_to) for s in segs],
                          [s.start_s for s in segs], [self._service_s(s) for s in segs],
                          self.cs.cluster.router)
            segments[spec.name] = [(s, a[which == j]) for j, s in enumerate(segs)]
            rejected[spec.name] = a[which < 0]
        cards = []
        for card in self.cards:
            mine = [(s, r) for segs in segments.values() for s, r in segs if s.card == card.name]
            specs = [self._routed(self.specs[s.tenant], s.name,
                                  max(s.start_s, self.specs[s.tenant].start_s),
                                  min(s.stop_s, self.specs[s.tenant].stop_s), r,
                                  1 / self.cs.cluster.replicas_of(s.tenant)) for s, r in mine]
            specs = [s for s in specs if s.stop_s > s.start_s]
            result = None
            if specs:
                self.say(f"card {card.name}: {len(specs)} tenants")
                sc = self._card_scenario(card, specs, self.sc.duration_s)
                result = run_pool(sc, card.library, scenario_policy(sc),
                                  slos={s.name: self.slos[s.name.split("@")[0]]
                                        for s in specs})
            cards.append(CardResult(card.spec, card.library.pool.num_cores, result,
                                    min(card.spec.remove_s, self.sc.duration_s),
                                    self.sc.window()))
        tenants = {spec.name: self._merge(spec, cards, rejected.get(spec.name))
                   for spec in self.sc.tenants}
        return ClusterResult(self.sc, self.cs.cluster, placer_name, plan, cards, tenants,
                             wall_s=time.perf_counter() - t_wall)

    def _merge(self, spec: TenantSpec, cards: list[CardResult],
               rejected: np.ndarray | None) -> TenantResult:
        """One result for the tenant from its segments' (module docstring, 5)."""
        parts = [r for c in cards if c.result is not None
                 for n, r in c.result.tenants.items() if n.split("@")[0] == spec.name]
        closed = self.arrivals[spec.name] is None
        arrival = [p.requests.arrival[: p.requests.n] for p in parts]
        finish = [p.requests.finish[: p.requests.n] for p in parts]
        outcome = [p.requests.outcome[: p.requests.n] for p in parts]
        if rejected is not None and len(rejected):
            arrival.append(rejected)
            finish.append(np.full(len(rejected), np.nan))
            outcome.append(np.full(len(rejected), REJECTED, np.int8))
        a = np.concatenate(arrival) if arrival else np.zeros(0)
        order = np.argsort(a, kind="stable")
        reqs = Requests(a[order], self.slos[spec.name])
        reqs.closed = closed
        if len(a):
            reqs.finish = np.concatenate(finish)[order]
            reqs.outcome = np.concatenate(outcome)[order]
        return TenantResult(spec.name, model_key(spec), spec.start_s,
                            min(spec.stop_s, self.sc.duration_s), reqs, self.sc.window(),
                            self.slos[spec.name], _summed_cores(parts),
                            relinks=sum(p.relinks for p in parts),
                            relink_s=sum(p.relink_s for p in parts),
                            drain_s=sum(p.drain_s for p in parts),
                            fault=next((p.fault for p in parts if p.fault), None))


def run_cluster(cs: ClusterScenario, progress: Progress | None = None,
                cache: PackageCache | None = None) -> ClusterResult:
    """The scenario under its placer, with the placers of `compare` run on the same
    requests (`ClusterResult.compared`)."""
    run = ClusterRun(cs, progress, cache)
    main = run.run(cs.cluster.placer)
    main.compared = {p: run.run(p) for p in cs.cluster.compare}
    return main


def _summed_cores(parts: list[TenantResult]) -> list[tuple[float, tuple[int, ...]]]:
    """The cores a tenant holds over all its replicas, as a step function of counts (core
    ids are per card, so the steps hold range(count))."""
    steps = [([t for t, _ in p.cores] + [p.end_s], [len(c) for _, c in p.cores] + [0])
             for p in parts]
    times = sorted({t for ts, _ in steps for t in ts})
    out = []
    for t in times:
        n = sum(counts[bisect_right(ts, t) - 1] for ts, counts in steps if ts[0] <= t)
        out.append((t, tuple(range(n))))
    return out
