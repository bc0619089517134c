"""What every simulated design shares: the tenants' request streams, their SLOs, and the
closed-loop client.

The designs are `fvir.cloud.pool.run_pool` (the virtualized pool under a policy; the static
baseline is the pool under `StaticPolicy`) and `fvir.cloud.tdm.run_tdm` (one big core
time-shared). Both:

1. resolve each tenant's SLO in seconds (`resolve_slos`: `slo_ms`, or `slo_scale` x the
   model's latency alone on the whole virtualized pool; a baseline is given the pool's
   figures, so every design is held to the same deadlines);
2. draw every tenant's arrivals from its own seeded generator (`Scenario.rng`), so a run is
   deterministic and a subset of tenants sees the same requests (`streams`);
3. serve them through `Requests` (arrays, deadline-aware decisions) and return
   `TenantResult`s whose metrics (`fvir.cloud.results`) are computed alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from fvir.cloud.library import ModelLibrary
from fvir.cloud.requests import Requests
from fvir.cloud.results import TenantResult
from fvir.cloud.scenario import Scenario, TenantSpec


def model_key(spec: TenantSpec) -> str:
    """The library name of a tenant's model: the zoo name or path, or the package's name."""
    return spec.model if isinstance(spec.model, str) else f"{spec.name}:{spec.model.name}"


def alone_s(library: ModelLibrary, model: str) -> float:
    """Seconds of one inference of `model` alone on the library's whole pool."""
    cores = tuple(range(library.pool.num_cores))
    return library.service(model, cores).cycles / (library.pool.core.clock_mhz * 1e6)


def resolve_slos(scenario: Scenario, library: ModelLibrary) -> dict[str, float]:
    """Every tenant's SLO in seconds (inf without one); `slo_scale` is resolved on
    `library`'s pool, which must be the virtualized pool (module docstring)."""
    out = {}
    for spec in scenario.tenants:
        if spec.slo_ms is not None:
            out[spec.name] = spec.slo_ms / 1e3
        elif spec.slo_scale is not None:
            library.add(model_key(spec), spec.model)
            out[spec.name] = spec.slo_scale * alone_s(library, model_key(spec))
        else:
            out[spec.name] = math.inf
    return out


def streams(scenario: Scenario, library: ModelLibrary, slos: Mapping[str, float] | None,
            tenants: Sequence[str] | None) -> list[TenantResult]:
    """The tenants (all, or the named ones) with their requests drawn and their models in
    `library`, as empty results for a design to fill."""
    slos = resolve_slos(scenario, library) if slos is None else slos
    out = []
    for i, spec in enumerate(scenario.tenants):
        if tenants is not None and spec.name not in tenants:
            continue
        library.add(model_key(spec), spec.model)
        arrivals = spec.arrivals(scenario.rng(i), scenario.duration_s)
        reqs = Requests(arrivals, slos[spec.name], admission=scenario.admission,
                        drop=scenario.drop)
        out.append(TenantResult(spec.name, model_key(spec), spec.start_s,
                                min(spec.stop_s, scenario.duration_s), reqs,
                                scenario.window(), slos[spec.name], [(spec.start_s, ())]))
    return out


def closed_arrival(spec: TenantSpec, last_done: float | None, now: float) -> float:
    """When a closed loop issued the request it starts now: at its previous completion, its
    admission or the start of its busy step, whichever is last (so its latency includes the
    wait for the device: a re-link, or the other tenants on a TDM core)."""
    issued = max(last_done if last_done is not None else spec.start_s, spec.start_s)
    busy_since = max((s for s, v in spec.load if s <= now and v > 0), default=issued)
    return max(issued, busy_since)
