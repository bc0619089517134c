"""The cluster's timeline: where every tenant is served, from when to when, and its migrations.

`make_plan` runs the placer at time 0 and at every card event (a card joins or leaves) and
turns the placements into segments: a segment is one replica of a tenant on one card, with
the interval it serves in and the interval the router may send it requests in.

1. Time 0: the first placement is deployed before the run starts (no charge).
2. At an event, a replica on a card that left stops there and then (its in-flight inference
   finishes, its queued requests are lost, counted as dropped); a replica the placer moved
   off a live card keeps serving until its successor is ready (make before break).
3. A new replica (a migration, or a refused tenant admitted later) starts after its model's
   weights are reloaded over the host/network link plus a fixed latency:
   delay = weight bytes / (link_gbs x 1e9) + migrate_ms / 1e3. Re-links inside a card are
   the card's own ~1 ms path (`relink_ms`), not this.
4. Routing windows: a new replica accepts requests from the event on when its tenant has no
   other replica accepting meanwhile (they queue for it), else once it is ready.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fvir.cluster.placer import Card, Need
from fvir.cluster.spec import ClusterSpec

Placer = Callable[..., tuple[dict[str, tuple[str, ...]], list[str]]]


@dataclass
class Segment:
    tenant: str
    card: str
    index: int  # unique over the plan: the segment's name on its card is tenant@index
    start_s: float  # serving from (after a migration's reload)
    stop_s: float = math.inf  # serving until
    route_from: float = 0.0
    route_to: float = math.inf

    @property
    def name(self) -> str:
        return f"{self.tenant}@{self.index}"


@dataclass(frozen=True)
class Migration:
    tenant: str
    src: str | None  # None: deployed from the host (a tenant admitted after a refusal)
    dst: str
    at_s: float
    ready_s: float
    bytes: int


@dataclass
class Plan:
    segments: list[Segment] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    placements: list[tuple[float, dict[str, list[str]]]] = field(default_factory=list)
    refused: dict[str, list[float]] = field(default_factory=dict)  # tenant -> times refused

    def of_tenant(self, tenant: str) -> list[Segment]:
        return [s for s in self.segments if s.tenant == tenant]


def make_plan(needs: Sequence[Need], cards: Sequence[Card], cluster: ClusterSpec,
              place: Placer, duration_s: float,
              weight_bytes: Callable[[str, str], int]) -> Plan:
    """The segments of the whole run (module docstring); `place` is a placer's `place`,
    `weight_bytes(tenant, card)` the bytes a migration to `card` reloads."""
    plan = Plan()
    open_: dict[tuple[str, str], Segment] = {}  # (tenant, card) -> its open segment
    was_live: set[str] = set()
    for t in [0.0, *cluster.event_times(duration_s)]:
        live = [c for c in cards if c.spec.live(t)]
        added = [c.name for c in live if c.name not in was_live] if t > 0 else []
        gone = was_live - {c.name for c in live}
        current = {n.tenant: tuple(c for (tn, c) in open_ if tn == n.tenant) for n in needs}
        assign, refused = (place(needs, live, current, added, cluster.admission,
                                 cluster.headroom) if live else ({}, [n.tenant for n in needs]))
        for tenant in refused:
            plan.refused.setdefault(tenant, []).append(t)
        for need in needs:
            _move(plan, open_, need.tenant, set(assign.get(need.tenant, ())), t, gone,
                  cluster, weight_bytes)
        plan.placements.append((t, {c.name: sorted(tn for tn, on in assign.items()
                                                   if c.name in on) for c in live}))
        was_live = {c.name for c in live}
    return plan


def _delay(cluster: ClusterSpec, nbytes: int) -> float:
    return nbytes / (cluster.link_gbs * 1e9) + cluster.migrate_ms / 1e3


def _move(plan: Plan, open_: dict[tuple[str, str], Segment], tenant: str, new: set[str],
          t: float, gone: set[str], cluster: ClusterSpec,
          weight_bytes: Callable[[str, str], int]) -> None:
    """Close the tenant's replicas that are not in `new`, open the ones that are new."""
    old = {c for (tn, c) in open_ if tn == tenant}
    leaving = sorted(old - new)
    arriving = sorted(new - old)
    if t == 0.0:  # the first deployment: ready at once
        for card in arriving:
            seg = Segment(tenant, card, len(plan.segments), 0.0)
            plan.segments.append(seg)
            open_[(tenant, card)] = seg
        return
    staying = old & new
    ready: list[float] = []
    for k, card in enumerate(arriving):
        nbytes = weight_bytes(tenant, card)
        at = t + _delay(cluster, nbytes)
        src = leaving[k] if k < len(leaving) else None
        plan.migrations.append(Migration(tenant, src, card, t, at, nbytes))
        # Requests queue for it from now only if nothing else of the tenant accepts them.
        covered = bool(staying) or any(c not in gone for c in leaving)
        seg = Segment(tenant, card, len(plan.segments), at, route_from=at if covered else t)
        plan.segments.append(seg)
        open_[(tenant, card)] = seg
        ready.append(at)
    for k, card in enumerate(leaving):
        seg = open_.pop((tenant, card))
        # A card that left stops now; a live one serves until its successor is ready.
        end = t if card in gone or k >= len(ready) else ready[k]
        seg.stop_s = seg.route_to = end
