"""Benchmark: a cluster scenario's wall time and memory, and a 64-point sweep's scaling.

    python benchmarks/bench_cluster.py [--part cluster|sweep|both] [--minutes 10]
                                       [--scenario scenarios/cluster-8x64.toml] [--json]

(a) `cluster`: the scenario (8 cards, 64 tenants, SLOs, bursty load, a card removed
    halfway) for `--minutes` simulated minutes under its own placer, without the compared
    placers; packages and memoised simulations come from the package cache (warmed by a
    first run, timed apart as `warm_s`). Targets (issue 14): <= 60 s wall, <= 2 GiB peak
    memory (max RSS of the process).
(b) `sweep`: 64 points (2 placers x 2 routers x 16 seeds) of a small cluster on the tiny
    pool with two small CNNs, run by `fvir.sweep.run_sweep` on the process pool and on a
    local Dask cluster with 1 and 2 workers each: wall times, the scaling ratio
    wall(1) / wall(2) per executor, and Dask's start-up (cluster and client up, nothing run).
    The four tables must be identical (checked). The machine's cores are shared, so the
    ratio is a measurement, not a promise.
"""

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import onnx

from fvir.cache import PackageCache
from fvir.cluster import load_any, run_cluster
from fvir.sweep import open_executor, run_sweep, sweep_from_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import doc_summary
from compiler import models

SMALL = """
name = "bench-small"
hw = "tiny"
duration_s = 2.0
policy = "private"
drop = true
[cluster]
replicas = 2
[[cluster.cards]]
name = "k"
count = 3
[[cluster.cards]]
name = "gone"
remove_s = 1.0
[[tenants]]
name = "a"
model = "residual.onnx"
arrival = "gamma"
cv = 2.0
load = [[0.0, 2000.0]]
slo_scale = 20.0
[[tenants]]
name = "b"
model = "mobile.onnx"
arrival = "gamma"
cv = 2.0
load = [[0.0, 3000.0]]
slo_scale = 20.0
[[tenants]]
name = "c"
model = "residual.onnx"
arrival = "poisson"
load = [[0.0, 1500.0]]
slo_scale = 20.0
"""


def bench_cluster(path: str, minutes: float) -> dict:
    cs = load_any(path)
    cs.scenario.set_duration(60.0 * minutes, "--minutes")
    cs.cluster.compare = []
    cache = PackageCache()
    t0 = time.perf_counter()
    run_cluster(cs, cache=cache)  # warm: compile or read packages, simulate what is new
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_cluster(cs, cache=cache)
    wall = time.perf_counter() - t0
    data = result.to_json()
    return {"simulated_s": cs.scenario.duration_s, "cards": len(cs.cluster.cards),
            "tenants": len(cs.scenario.tenants),
            "requests": sum(t.requests.n for t in result.tenants.values()),
            "events": data["events"], "simulations": data["simulations"],
            "migrations": data["migrations"], "wall_s": wall, "warm_s": warm,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "slo_attainment": data["slo_attainment"], "goodput": data["goodput"],
            "target_wall_s": 60.0, "target_rss_mib": 2048.0}


def bench_sweep() -> dict:
    import tomllib

    d = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    onnx.save(models.residual(), d / "residual.onnx")
    onnx.save(models.mobile(), d / "mobile.onnx")
    spec = sweep_from_dict({"name": "bench64", "base": tomllib.loads(SMALL), "grid": {
        "cluster.placer": ["static", "binpack"],
        "cluster.router": ["round-robin", "least-outstanding"],
        "seed": list(range(16))}}, "bench64", d)
    assert len(spec.points) == 64
    with open_executor("process", 1) as pool:  # compile into the cache once, not timed
        run_sweep(spec, pool)
    out: dict = {"points": 64}
    tables = {}
    for kind in ("process", "dask"):
        for workers in (1, 2):
            t0 = time.perf_counter()
            with open_executor(kind, workers) as ex:
                t1 = time.perf_counter()
                tables[(kind, workers)] = run_sweep(spec, ex).to_csv()
                t2 = time.perf_counter()
            out[f"{kind}_{workers}_wall_s"] = time.perf_counter() - t0
            out[f"{kind}_{workers}_startup_s"] = t1 - t0
            out[f"{kind}_{workers}_points_s"] = t2 - t1
        out[f"{kind}_scaling"] = out[f"{kind}_1_wall_s"] / out[f"{kind}_2_wall_s"]
    out["identical_tables"] = len(set(tables.values())) == 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=doc_summary(__doc__))
    parser.add_argument("--part", choices=("cluster", "sweep", "both"), default="both")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--scenario", default=str(Path(__file__).resolve().parents[1]
                                                  / "scenarios" / "cluster-8x64.toml"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {}
    if args.part in ("cluster", "both"):
        rows["cluster"] = bench_cluster(args.scenario, args.minutes)
    if args.part in ("sweep", "both"):
        rows["sweep"] = bench_sweep()
    if args.json:
        print(json.dumps({"benchmark": "cluster", "results": rows}, indent=2))
        return
    for name, row in rows.items():
        print(f"== cluster benchmark: {name}")
        for k, v in row.items():
            print(f"  {k:<22} {v:,.3f}" if isinstance(v, float) else f"  {k:<22} {v}")


if __name__ == "__main__":
    main()
