"""A scenario end to end: the virtualized pool under its policy, the baselines, the metrics.

Metrics (issue 7):

- throughput: completed inferences per second of a tenant's time in the scenario; total =
  all completions / duration. `gain[b]` = total on the pool / total of baseline b.
- isolation deviation, per tenant: |throughput co-located - throughput alone with the same
  share| / alone. On the pool, "alone with the same share" replays exactly the core sets the
  tenant held (the same cores at the same times) with no other tenant, so what is left is the
  co-tenants' interference (DDR banks). On the TDM baseline the share is the tenant's weight
  in the work-conserving scheduler, alone it has the big core to itself: what TDM gives a
  tenant depends on its neighbours, which is the isolation problem the pool removes.
- virtualization overhead, per model: a single closed-loop tenant owning the whole pool
  through the hypervisor (admission, a link charged the scenario's `relink_ms`, dispatch)
  versus the same executable run directly on the `Machine`: mean time per inference /
  direct latency - 1. The charge is the scenario's, not a wall-clock measurement, so the
  figure is reproducible (the measured link times are reported beside it).
- serving (issue 13): per tenant and overall, SLO attainment, goodput, dropped, rejected and
  p50 / p99 / p99.9 latency over the scenario's window (`fvir.cloud.results`); SLOs are
  resolved once on the pool (`resolve_slos`) and every design is held to them.
- static vs dynamic compile cost: the compiler's wall time per model and the median time of
  a first link to the full pool (and of a re-link to a core count linked before), with the
  ratio compile / first link (paper: ~100 s against ~1 ms).
- spot checks: memoised fast-mode cycles against a full (functional + timing) simulation of
  the same (package, cores, co-runners), for the first few memo entries used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fvir.backend.host import HostInterpreter
from fvir.cache import PackageCache
from fvir.cloud.library import ModelLibrary
from fvir.cloud.policies import ManualPolicy, Policy, ReplayPolicy, StaticPolicy, make_policy
from fvir.cloud.pool import run_pool
from fvir.cloud.results import PoolResult, TenantResult
from fvir.cloud.scenario import Scenario, TenantSpec
from fvir.cloud.simulate import model_key, resolve_slos
from fvir.cloud.tdm import run_tdm
from fvir.hw.toml import load_hw

Progress = Callable[[str], None]


@dataclass
class Experiment:
    scenario: Scenario
    pool: PoolResult
    isolation: dict[str, float]
    baselines: dict[str, PoolResult] = field(default_factory=dict)
    baseline_isolation: dict[str, dict[str, float]] = field(default_factory=dict)
    compile: dict[str, dict[str, float]] = field(default_factory=dict)
    overhead: dict[str, float] = field(default_factory=dict)
    spot_checks: list[dict[str, Any]] = field(default_factory=list)
    slos: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def gain(self) -> dict[str, float | None]:
        return {b: (self.pool.total_throughput / r.total_throughput
                    if r.total_throughput else None) for b, r in self.baselines.items()}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "workload": self.scenario.workload,
            "hw": self.pool.hw,
            "policy": self.pool.policy,
            "duration_s": self.scenario.duration_s,
            "tenants": [_tenant_json(r, self.isolation.get(n)) for n, r in
                        self.pool.tenants.items()],
            "window_s": list(self.scenario.window()),
            "admission": self.scenario.admission,
            "drop": self.scenario.drop,
            "total_throughput": self.pool.total_throughput,
            "slo_attainment": _finite(self.pool.slo_attainment),
            "goodput": self.pool.goodput,
            "relinks": self.pool.relinks,
            "relink_ms": sum(r.relink_s for r in self.pool.tenants.values()) * 1e3,
            "compile": self.compile,
            "virtualization_overhead": self.overhead,
            "spot_checks": self.spot_checks,
            "simulations": self.pool.simulations,
            "events": self.pool.events,
            "wall_s": self.wall_s,
        }
        if self.baselines:
            out["baselines"] = {b: r.total_throughput for b, r in self.baselines.items()}
            out["baseline_slo"] = {b: {"slo_attainment": _finite(r.slo_attainment),
                                       "goodput": r.goodput}
                                   for b, r in self.baselines.items()}
            out["gain"] = self.gain()
            out["baseline_tenants"] = {
                b: [_tenant_json(t, self.baseline_isolation.get(b, {}).get(n))
                    for n, t in r.tenants.items()] for b, r in self.baselines.items()}
        return out


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no NaN


def _tenant_json(r: TenantResult, isolation: float | None) -> dict[str, Any]:
    return {"name": r.name, "model": r.model, "cores": round(r.mean_cores(), 3),
            "throughput": r.throughput, "p50_ms": _finite(r.percentile_ms(50)),
            "p99_ms": _finite(r.percentile_ms(99)), "p999_ms": _finite(r.percentile_ms(99.9)),
            "slo_ms": _finite(r.slo_s * 1e3), "slo_attainment": _finite(r.slo_attainment),
            "goodput": r.goodput, "isolation_deviation": isolation,
            "completed": len(r.completions), "dropped": r.dropped, "rejected": r.rejected,
            "relinks": r.relinks, "relink_ms": r.relink_s * 1e3, "drain_ms": r.drain_s * 1e3,
            "fault": r.fault}


def _deviation(co: float, alone: float) -> float:
    return abs(co - alone) / alone if alone > 0 else 0.0


def pool_isolation(scenario: Scenario, library: ModelLibrary,
                   result: PoolResult) -> dict[str, float]:
    """Per tenant: the co-located throughput against a replay of its core sets alone."""
    out = {}
    slos = {n: r.slo_s for n, r in result.tenants.items()}
    for name, r in result.tenants.items():
        steps = [(t, cs) for t, cs in r.cores]
        alone = run_pool(scenario, library, ReplayPolicy({name: steps}), tenants=[name],
                         extra_changes=[t for t, _ in steps], slos=slos)
        out[name] = _deviation(r.throughput, alone.tenants[name].throughput)
    return out


def overhead(library: ModelLibrary, model: str, relink_ms: float) -> float:
    """Virtualization overhead of one model, its link charged `relink_ms` (module docstring)."""
    pool = library.pool
    cores = tuple(range(pool.num_cores))
    direct_s = library.service(model, cores).cycles / (pool.core.clock_mhz * 1e6)
    duration = 1000 * direct_s
    solo = Scenario("overhead", [TenantSpec("solo", model, cores=[(0.0, pool.num_cores)])],
                    duration, relink_ms=relink_ms)
    r = run_pool(solo, library, ManualPolicy()).tenants["solo"]
    if not len(r.completions):
        return math.inf
    return float(r.completions[-1] / len(r.completions) / direct_s - 1)


def scenario_policy(scenario: Scenario) -> Policy:
    return make_policy(scenario.policy, scenario.policy_options, scenario.tenants,
                       deadline_aware=scenario.admission or scenario.drop)


def pool_library(scenario: Scenario, progress: Progress | None,
                 cache: PackageCache | None, host: HostInterpreter | None = None) -> ModelLibrary:
    """The virtualized pool's models (compiled or read from `cache`); `host` runs host layers
    in spot checks."""
    library = ModelLibrary(load_hw(scenario.hw), progress, resident=scenario.resident_weights,
                           cache=cache, host=host)
    for spec in scenario.tenants:
        library.add(model_key(spec), spec.model)
    return library


def baseline_library(scenario: Scenario, progress: Progress | None,
                     cache: PackageCache | None) -> ModelLibrary:
    """The TDM baseline's big core with the scenario's models."""
    big = ModelLibrary(load_hw(scenario.baseline_hw), progress,
                       resident=scenario.resident_weights, cache=cache)
    for spec in scenario.tenants:
        big.add(model_key(spec), spec.model)
    return big


def run_experiment(scenario: Scenario, progress: Progress | None = None,
                   isolation: bool = True, spot_checks: int = 2,
                   cache: PackageCache | None = None,
                   host: HostInterpreter | None = None) -> Experiment:
    """The pool and the baselines on `scenario`, with the metrics; models are compiled
    through `cache` (None: compiled every time); `host` runs host layers in the spot checks
    (`fvir.backend.host`; `fv cloud` passes the int8 reference's)."""
    t0 = time.perf_counter()
    say = progress or (lambda _: None)
    library = pool_library(scenario, progress, cache, host)
    say(f"simulate {scenario.name}: {len(scenario.tenants)} tenants, "
        f"{scenario.duration_s:g} s, policy {scenario.policy}")
    slos = resolve_slos(scenario, library)
    result = run_pool(scenario, library, scenario_policy(scenario), slos=slos)
    exp = Experiment(scenario, result, {}, slos=slos)
    if isolation:
        say("isolation: every tenant alone on its cores")
        exp.isolation = pool_isolation(scenario, library, result)
    for b in scenario.baselines:
        say(f"baseline {b}")
        if b == "static":
            exp.baselines[b] = run_pool(scenario, library, StaticPolicy(scenario.tenants),
                                        slos=slos)
        else:
            big = baseline_library(scenario, progress, cache)
            exp.baselines[b] = tdm = run_tdm(scenario, big, slos=slos)
            if isolation:
                exp.baseline_isolation[b] = {
                    n: _deviation(r.throughput, run_tdm(scenario, big, tenants=[n], slos=slos)
                                  .tenants[n].throughput)
                    for n, r in tdm.tenants.items()}
    for spec in scenario.tenants:
        key = model_key(spec)
        if key in exp.compile:
            continue
        entry = library[key]
        first, again = library.link_s(key, tuple(range(library.pool.num_cores)))
        exp.compile[key] = {"compile_s": entry.compile_s, "cached": entry.cached,
                            "link_us": first * 1e6,
                            "relink_us": again * 1e6, "ratio": entry.compile_s / first}
        exp.overhead[key] = overhead(library, key, scenario.relink_ms)
    for key in library.memo_keys()[:spot_checks]:
        say(f"spot check {key[0]} on {len(key[1])} cores, {len(key[2])} co-runners")
        fast, full = library.spot_check(*key)
        exp.spot_checks.append({"model": key[0], "cores": list(key[1]),
                                "co_runners": len(key[2]), "fast_cycles": fast,
                                "full_cycles": full, "equal": fast == full})
    exp.wall_s = time.perf_counter() - t0
    return exp
