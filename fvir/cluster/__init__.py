"""A cluster of virtualized FPGA cards (a layer above `fvir.cloud`): N cards, each a pool of
its own hardware serving its tenants with the per-card loop of `fvir.cloud.pool`; a placer
decides which tenants live on which cards, a router which replica serves each request;
cards join and leave at given times, and tenants migrate, charged their weight reload.

    cs = load_any("scenarios/cluster-8x64.toml")      # a ClusterScenario (has [cluster])
    result = run_cluster(cs)
    result.to_json()["cards"]

Modules: `spec` (the [cluster] table), `placer` (static, bin packing, simulator-scored
greedy), `plan` (segments and migrations over time), `router` (round-robin,
least-outstanding), `run` (placement, routing, the cards' serving loops, the merge),
`results` (per card, per tenant, totals, comparisons), `plots`.
"""

from fvir.cluster.results import ClusterResult
from fvir.cluster.run import run_cluster
from fvir.cluster.spec import ClusterScenario, ClusterSpec, any_from_dict, load_any

__all__ = ["ClusterResult", "ClusterScenario", "ClusterSpec", "any_from_dict", "load_any",
           "run_cluster"]
