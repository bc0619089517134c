"""Capacity search: the highest load a design serves within its SLOs (`fv cloud capacity`).

For the pool (under the scenario's policy) and each baseline, the capacity is the largest
common scale factor x on every tenant's offered load (`Scenario.scaled`) at which the overall
SLO attainment of a run stays >= `target`. Runs are deterministic (seeded arrivals, constant
re-link charge), so the search is a function of the scenario:

1. Bracket: from x = 1, double while the attainment meets the target (or halve while it
   does not) until the two sides of the target are found, within [2^-12, 2^12].
2. Bisect geometrically (x = sqrt(lo hi)) `steps` times: lo always meets the target, hi never
   does; the capacity is lo (after 8 steps within 0.3% of the crossing).

SLOs are resolved once on the virtualized pool at scale 1 and held fixed (`resolve_slos`).
Attainment need not be monotone in x (a different rate draws different arrivals); the
bisection reports the crossing it finds, and `runs` lists every point it tried.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fvir.cache import PackageCache
from fvir.cloud.experiment import Progress, baseline_library, pool_library, scenario_policy
from fvir.cloud.policies import StaticPolicy
from fvir.cloud.pool import run_pool
from fvir.cloud.results import PoolResult
from fvir.cloud.scenario import Scenario
from fvir.cloud.simulate import resolve_slos
from fvir.cloud.tdm import run_tdm
from fvir.errors import UserError

MIN_SCALE, MAX_SCALE = 2.0 ** -12, 2.0 ** 12


@dataclass
class Capacity:
    design: str
    scale: float  # the highest scale found that meets the target (0 if none does)
    attainment: float  # at `scale`
    goodput: float  # req/s at `scale`
    runs: list[tuple[float, float]] = field(default_factory=list)  # (scale, attainment)

    def to_json(self) -> dict[str, Any]:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None  # JSON has no NaN

        return {"design": self.design, "scale": self.scale,
                "attainment": finite(self.attainment), "goodput": self.goodput,
                "runs": [[x, finite(a)] for x, a in self.runs]}


def search(run: Callable[[float], PoolResult], target: float, design: str,
           steps: int = 8) -> Capacity:
    """The bisection of the module docstring on `run(scale)`."""
    cap = Capacity(design, 0.0, math.nan, 0.0)

    def meets(x: float) -> bool:
        r = run(x)
        a = r.slo_attainment
        cap.runs.append((x, a))
        if a >= target and x > cap.scale:
            cap.scale, cap.attainment, cap.goodput = x, a, r.goodput
        return a >= target

    x = 1.0
    if meets(x):
        lo = x
        while (hi := lo * 2) <= MAX_SCALE and meets(hi):
            lo = hi
        if hi > MAX_SCALE:
            return cap
    else:
        hi = x
        while (lo := hi / 2) >= MIN_SCALE and not meets(lo):
            hi = lo
        if lo < MIN_SCALE:
            return cap
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        if meets(mid):
            lo = mid
        else:
            hi = mid
    return cap


def capacity(scenario: Scenario, target: float = 0.99, progress: Progress | None = None,
             cache: PackageCache | None = None, steps: int = 8) -> list[Capacity]:
    """The pool's and every baseline's capacity at `target` attainment."""
    if not 0 < target <= 1:
        raise UserError(f"--target must be in (0, 1], got {target}")
    if all(t.arrival == "closed" for t in scenario.tenants):
        raise UserError(f"scenario {scenario.name}: capacity scales the offered load, but "
                        "every tenant is a closed loop")
    if all(t.slo_ms is None and t.slo_scale is None for t in scenario.tenants):
        raise UserError(f"scenario {scenario.name}: capacity needs SLOs (slo_ms or "
                        "slo_scale on some tenant)")
    say = progress or (lambda _: None)
    library = pool_library(scenario, progress, cache)
    slos = resolve_slos(scenario, library)
    designs: dict[str, Callable[[float], PoolResult]] = {
        f"pool ({scenario.policy})": lambda x: run_pool(scenario.scaled(x), library,
                                                        scenario_policy(scenario), slos=slos)}
    for b in scenario.baselines:
        if b == "static":
            designs[b] = lambda x: run_pool(scenario.scaled(x), library,
                                            StaticPolicy(scenario.tenants), slos=slos)
        else:
            big = baseline_library(scenario, progress, cache)
            designs[b] = lambda x, big=big: run_tdm(scenario.scaled(x), big, slos=slos)
    out = []
    for name, run in designs.items():
        say(f"capacity of {name}")
        out.append(search(run, target, name, steps))
    return out
