"""One sweep point: its scenario run, reduced to the metrics a table row holds.

A point is a pure function of its parameters (every scenario is seeded), so the same point
gives the same row on any worker, in any process, in any order; that is what makes a sweep's
table identical whatever the executor and the number of workers.

1. Build the scenario from the point's dict (models by zoo name are compiled, or read from
   the package cache, in the worker itself).
2. Run the experiment (pool and baselines) without the isolation runs a table does not need,
   or, for a scenario with a [cluster] table, the cluster (`fvir.cluster.run_cluster`).
3. Flatten the JSON summary into `metric -> number`: top-level numbers, `gain.<baseline>`,
   `baselines.<baseline>`, `tenant.<name>.<metric>`, `card.<name>.<metric>`; wall-clock
   measurements (compile and link times, wall seconds) are left out, as they differ from run
   to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fvir.sweep.spec import Point

# Keys whose values are wall-clock measurements, or depend on the package cache's state (how
# many timing simulations were not already kept there), not simulated results.
_WALL_CLOCK = {"wall_s", "compile", "relink_ms", "spot_checks", "drain_ms", "simulations"}


def flatten(summary: dict[str, Any]) -> dict[str, float | int | str | None]:
    """The numbers of an experiment summary, as flat metric names (module docstring)."""
    out: dict[str, float | int | str | None] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            out[prefix] = value if value is None else int(value)
        elif isinstance(value, int | float):
            out[prefix] = value
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in _WALL_CLOCK:
                    walk(f"{prefix}.{k}" if prefix else str(k), v)

    for key, value in summary.items():
        if key in _WALL_CLOCK:
            continue
        if key in ("tenants",):
            for tenant in value:
                name = tenant.get("name")
                walk(f"tenant.{name}", {k: v for k, v in tenant.items()
                                        if k not in ("name", "model")})
        elif key == "cards":
            for card in value:
                walk(f"card.{card.get('name')}", {k: v for k, v in card.items()
                                                  if k not in ("name", "hw")})
        elif key == "baseline_tenants":
            for baseline, tenants in value.items():
                for tenant in tenants:
                    walk(f"{baseline}.tenant.{tenant.get('name')}",
                         {k: v for k, v in tenant.items() if k not in ("name", "model")})
        else:
            walk(key, value)
    return out


def run_point(point: Point, base_dir: Path) -> dict[str, Any]:
    """The metrics of one point (see the module docstring)."""
    from fvir.cache import PackageCache
    from fvir.cloud import run_experiment
    from fvir.cluster import ClusterScenario, any_from_dict, run_cluster

    scenario = any_from_dict(point.scenario, f"point {point.index}", base_dir)
    cache = PackageCache()  # the worker's own ($FVIR_CACHE): nothing shared is needed
    if isinstance(scenario, ClusterScenario):
        return flatten(run_cluster(scenario, cache=cache).to_json())
    experiment = run_experiment(scenario, isolation=False, spot_checks=0, cache=cache)
    return flatten(experiment.to_json())
