"""Core allocation policies: which physical cores every admitted tenant holds now.

A policy is any object with a `name` and

    allocate(now, tenants, current, library) -> {tenant name: tuple of core ids}

called by the hypervisor whenever something changes (a tenant arrives, leaves or faults, or
an offered load steps). `tenants` are the admitted tenants in admission order (`TenantView`:
spec, model, offered load now), `current` what each holds (or is about to hold), `library`
the `ModelLibrary` (throughput-versus-cores curves). Cores of different tenants must be
disjoint; a tenant given no cores waits. `place` turns core counts into core ids.

- `PublicPolicy`: fixed shares (`share` x pool, in cores or in whole DDR-bank groups), set at
  admission and never changed by co-tenants; a tenant whose share no longer fits is refused
  (0 cores) rather than squeezing the others.
- `PrivatePolicy`: maximize the (weighted) throughput served, sum of weight x min(load, T(n)):
  every tenant with load gets a core, and the counts are the exact optimum of that sum
  (dynamic programming over the cost model's throughput-versus-cores curves, which are step
  functions of the core count, not concave, so a greedy on marginal gains stalls at a small
  step before a big one); cores left once every load is met go where they cut latency
  most. A new plan replaces the current one only if it serves `min_gain` more (re-linking
  drains the tenants it moves).
- `GoodputPolicy`: the same optimum on goodput: a tenant's served throughput on n cores
  times the estimated share of its requests that meet their SLO on n cores (`slo_share`,
  from the latency-versus-cores curve, the load and its burstiness), plus, during a burst,
  the queued requests n cores can still finish within the SLO (per second of SLO). With
  `react` (default) the pool re-plans when a queue outgrows its SLO and when it empties
  again, so cores follow bursts at the price of a drain and a re-link.
- `ManualPolicy`: the `cores` steps of each tenant spec (the private-cloud demo).
- `StaticPolicy`: the static-partition baseline: every tenant of the scenario gets its share
  (or an equal split) at time 0 for good, whether it has load or not.
- `ReplayPolicy`: exactly the given core sets over time (isolation runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fvir.cloud.library import ModelLibrary
from fvir.cloud.scenario import TenantSpec
from fvir.errors import UserError
from fvir.hw.config import PoolConfig

Placement = dict[str, tuple[int, ...]]


@dataclass
class TenantView:
    spec: TenantSpec
    model: str
    load: float  # offered requests per second now (inf: closed loop)
    slo_s: float = math.inf  # latency target (seconds)
    cv: float = 1.0  # coefficient of variation of the arrival gaps now
    backlog: int = 0  # requests waiting now (not started)

    @property
    def name(self) -> str:
        return self.spec.name


class Policy(Protocol):
    name: str

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        ...


def place(counts: Mapping[str, int], current: Mapping[str, tuple[int, ...]],
          pool: PoolConfig) -> Placement:
    """Core ids for core counts: a tenant whose count is unchanged keeps its cores (no
    re-link); the others, largest first, take free cores from the emptiest bank first, so
    that tenants share DDR banks as little as possible (a tenant of 2 cores gets a bank of its
    own while one is free)."""
    if sum(counts.values()) > pool.num_cores:
        raise ValueError(f"{sum(counts.values())} cores asked of a {pool.num_cores}-core pool")
    out: Placement = {}
    free = set(range(pool.num_cores))
    for name, n in counts.items():
        cur = tuple(current.get(name, ()))
        if n and len(cur) == n and free.issuperset(cur):
            out[name] = cur
            free -= set(cur)
    for name in sorted((t for t in counts if t not in out), key=lambda t: -counts[t]):
        need, picked = counts[name], []
        while need:
            by_bank = {b: [c for c in pool.cores_of_bank(b) if c in free]
                       for b in range(pool.num_banks)}
            bank = max(by_bank, key=lambda b: (len(by_bank[b]), -b))  # emptiest bank
            take = by_bank[bank][:need]
            picked += take
            free -= set(take)
            need -= len(take)
        out[name] = tuple(sorted(picked))
    return out


def _share_cores(share: float, pool: PoolConfig, unit: str, who: str) -> int:
    if unit == "banks":
        banks = share * pool.num_banks
        if abs(banks - round(banks)) > 1e-9 or round(banks) < 1:
            raise UserError(f"tenant '{who}': share {share} is not a whole number of the "
                            f"{pool.num_banks} DDR-bank groups")
        return round(banks) * pool.cores_per_bank
    n = round(share * pool.num_cores)
    if n < 1:
        raise UserError(f"tenant '{who}': share {share} is less than one core")
    return n


@dataclass
class PublicPolicy:
    """Fixed shares; `unit` "cores" or "banks" (whole DDR-bank groups: no shared bank)."""

    unit: str = "banks"
    name: str = "public"

    def __post_init__(self) -> None:
        if self.unit not in ("cores", "banks"):
            raise UserError(f"public policy: unit must be 'cores' or 'banks', got '{self.unit}'")

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        pool = library.pool
        counts: dict[str, int] = {}
        used = 0
        for t in tenants:  # admission order: the earlier tenant keeps its share
            if t.spec.share is None:
                raise UserError(f"tenant '{t.name}': the public policy needs a share")
            n = _share_cores(t.spec.share, pool, self.unit, t.name)
            held = len(current.get(t.name, ()))
            if held == n or used + n <= pool.num_cores:
                counts[t.name] = n
                used += n
            else:
                counts[t.name] = 0  # refused: the pool is committed to earlier tenants
        return place(counts, current, pool)


def optimal_counts(tenants: Sequence[TenantView], served: Callable[[TenantView, int], float],
                   cores: int) -> list[int]:
    """Core counts (at least 1 each, at most `cores` in all) that maximize the summed
    `served(t, n)`: dynamic programming over the tenants, exact for any curves. A greedy on
    marginal gains is not: the curves are step functions, not concave (ResNet-50 on
    paper-u200 gains 1 inf/s from 8 to 9 cores and 51 from 9 to 14). Of equal sums the one
    with fewer cores wins (the rest then goes to latency), then fewer for earlier tenants."""
    if not tenants:
        return []
    values = [[served(t, n) for n in range(cores + 1)] for t in tenants]
    # best[c]: the largest sum over the tenants so far using exactly c cores; how[j][c] the
    # count tenant j gets in it.
    best = [0.0] + [-math.inf] * cores
    how: list[list[int]] = []
    for vals in values:
        nxt, pick = [-math.inf] * (cores + 1), [0] * (cores + 1)
        for c in range(1, cores + 1):
            for n in range(1, c + 1):
                v = best[c - n] + vals[n]
                if v > nxt[c] * (1 + 1e-12) + 1e-12:
                    nxt[c], pick[c] = v, n
        best = nxt
        how.append(pick)
    top = max(best)
    c = min(c for c in range(cores + 1) if best[c] >= top * (1 - 1e-12) - 1e-12)
    counts = []
    for pick in reversed(how):
        counts.append(pick[c])
        c -= pick[c]
    return counts[::-1]


@dataclass
class PrivatePolicy:
    """The served-throughput optimum on the cost model's curves (module docstring)."""

    min_gain: float = 0.02
    name: str = "private"

    def counts(self, tenants: Sequence[TenantView], library: ModelLibrary) -> dict[str, int]:
        pool = library.pool
        counts = {t.name: 0 for t in tenants}
        wanting = [t for t in tenants if t.load > 0]

        def served(t: TenantView, n: int) -> float:
            return self.value(t, n, library)

        avail = pool.num_cores
        served_ones = sorted(wanting, key=lambda t: -served(t, 1))[:avail]
        for t, n in zip(served_ones, optimal_counts(served_ones, served, avail), strict=True):
            counts[t.name] = n
        avail -= sum(counts.values())

        def latency_cut(t: TenantView) -> float:  # relative throughput gain of one more core
            n = counts[t.name]
            now = library.throughput(t.model, n)
            return t.spec.weight * (library.throughput(t.model, n + 1) - now) / max(now, 1e-12)

        while avail:  # every load met: spend the rest on latency
            best = max((t for t in wanting if counts[t.name]), key=latency_cut, default=None)
            if best is None:
                break
            counts[best.name] += 1
            avail -= 1
        return counts

    def value(self, t: TenantView, n: int, library: ModelLibrary) -> float:
        """What n cores for tenant t are worth: its weighted served throughput."""
        return t.spec.weight * min(t.load, library.throughput(t.model, n))

    def objective(self, counts: Mapping[str, int], tenants: Sequence[TenantView],
                  library: ModelLibrary) -> float:
        return sum(self.value(t, counts.get(t.name, 0), library) for t in tenants)

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        counts = self.counts(tenants, library)
        held = {t.name: len(current.get(t.name, ())) for t in tenants}
        if sum(held.values()) <= library.pool.num_cores and all(
                held[t.name] or t.load <= 0 for t in tenants):
            new, old = (self.objective(c, tenants, library) for c in (counts, held))
            if math.isfinite(old) and new <= old * (1 + self.min_gain):
                counts = held  # not worth draining and re-linking anyone
        return place(counts, current, library.pool)


def slo_share(load: float, cv: float, service_s: float, slo_s: float,
              deadline_aware: bool) -> float:
    """Estimated share of a tenant's requests that meet `slo_s` when served one at a time
    with `service_s` each: 0 if one inference alone misses it; below saturation the waiting
    time's tail P(W > slo - service) ~ rho exp(-rho (slo - service) / Wq) with Kingman's
    mean wait Wq = rho / (1 - rho) (cv^2 / 2) service (exact for M/M/1's form, the G/D/1
    heavy-traffic approximation); at or above saturation, what admission control or queue
    dropping keeps on time (served requests, 1) or, without them, none (the queue grows)."""
    if service_s > slo_s:
        return 0.0
    if not math.isfinite(slo_s) or math.isinf(load):  # a closed loop never queues behind
        return 1.0                                     # itself
    rho = load * service_s
    if rho >= 1:
        return 1.0 if deadline_aware else 0.0
    wq = rho / (1 - rho) * max(cv * cv, 1e-6) / 2 * service_s
    if wq <= 0:
        return 1.0
    return 1.0 - rho * math.exp(-rho * (slo_s - service_s) / wq)


@dataclass
class GoodputPolicy(PrivatePolicy):
    """The private policy's dynamic program on goodput instead of throughput: tenant t on n
    cores is worth weight x min(load, T(n)) x `slo_share` (n's latency from the same
    cost-model curve, 1/T(n)), so cores go where they turn late requests into timely ones.
    `deadline_aware`: admission control or dropping is on (saturation is not a total loss)."""

    deadline_aware: bool = False
    react: bool = True  # re-plan when a tenant's queue outgrows its SLO (a burst), and after
    react_s: float = 0.01  # at most this often (s) for bursts
    name: str = "goodput"

    def value(self, t: TenantView, n: int, library: ModelLibrary) -> float:
        tput = library.throughput(t.model, n)
        if tput <= 0:
            return 0.0
        share = slo_share(t.load, t.cv, 1.0 / tput, t.slo_s, self.deadline_aware)
        steady = min(t.load, tput) * share
        # A burst: the queued requests n cores can still finish within one SLO, per second.
        burst = (min(t.backlog, t.slo_s * tput) / t.slo_s
                 if t.backlog and math.isfinite(t.slo_s) else 0.0)
        return t.spec.weight * (steady + burst)


@dataclass
class ManualPolicy:
    """Each tenant's `cores` steps (count of cores from a time on)."""

    name: str = "manual"

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        counts = {}
        for t in tenants:
            n = 0
            for start, k in t.spec.cores:
                if start <= now:
                    n = k
            counts[t.name] = n
        if sum(counts.values()) > library.pool.num_cores:
            raise UserError(f"manual policy: {sum(counts.values())} cores asked at t={now:g}s "
                            f"of a {library.pool.num_cores}-core pool")
        return place(counts, current, library.pool)


@dataclass
class StaticPolicy:
    """The static-partition baseline: shares fixed for every scenario tenant at time 0."""

    specs: Sequence[TenantSpec]
    name: str = "static"
    _fixed: Placement = field(default_factory=dict)

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        if not self._fixed:
            pool = library.pool
            shares = [s.share for s in self.specs]
            if any(s is None for s in shares):
                shares = [1 / len(self.specs)] * len(self.specs)
            counts = {s.name: max(1, math.floor(sh * pool.num_cores))  # type: ignore[operator]
                      for s, sh in zip(self.specs, shares, strict=True)}
            spare = pool.num_cores - sum(counts.values())
            for s in self.specs[: max(spare, 0)]:  # leftovers from rounding down, in order
                counts[s.name] += 1
            if sum(counts.values()) > pool.num_cores:
                raise UserError(f"static baseline: {len(self.specs)} tenants do not fit a "
                                f"{pool.num_cores}-core pool")
            self._fixed = place(counts, {}, pool)
        return {t.name: self._fixed[t.name] for t in tenants}


@dataclass
class ReplayPolicy:
    """Exactly these core sets: tenant -> [(from time, cores)]."""

    timeline: Mapping[str, Sequence[tuple[float, tuple[int, ...]]]]
    name: str = "replay"

    def allocate(self, now: float, tenants: Sequence[TenantView],
                 current: Mapping[str, tuple[int, ...]], library: ModelLibrary) -> Placement:
        out: Placement = {}
        for t in tenants:
            cores: tuple[int, ...] = ()
            for start, cs in self.timeline.get(t.name, ()):
                if start <= now:
                    cores = cs
            out[t.name] = cores
        return out


def make_policy(name: str, options: Mapping[str, Any], specs: Sequence[TenantSpec],
                deadline_aware: bool = False) -> Policy:
    """The policy a scenario names, with its `policy_options` (`deadline_aware`: the
    scenario's admission control or dropping is on, for the goodput policy)."""
    try:
        if name == "public":
            return PublicPolicy(**options)
        if name == "private":
            return PrivatePolicy(**options)
        if name == "goodput":
            return GoodputPolicy(**{"deadline_aware": deadline_aware, **options})
        if name == "manual":
            return ManualPolicy(**options)
        if name == "static":
            return StaticPolicy(specs, **options)
    except TypeError as e:
        raise UserError(f"policy '{name}': bad policy_options: {e}") from None
    raise UserError(f"unknown policy '{name}'")
