"""Benchmark: wall time and peak memory of a one-hour simulated cloud trace.

    python benchmarks/bench_cloud.py [--hours 1.0] [--policy public|private] [--json]

16 cores of paper-u200, 8 tenants (two each of ResNet-18, ResNet-50, MobileNetV2 and
GoogLeNet), Poisson arrivals at ~60% of what 2 cores of each model serve (so queues stay
finite), one hour of simulated time on the virtualized pool with the fast timing mode.
Compiling the four models (the static stage, done once per model) is timed apart and is not
part of the trace's wall time. Targets (issue 7): trace wall time <= 60 s, peak memory
(max RSS of the process) <= 2 GiB.
"""

import argparse
import json
import resource
import time

from fvir.cloud.library import ModelLibrary
from fvir.cloud.policies import make_policy
from fvir.cloud.scenario import Scenario, TenantSpec
from fvir.cloud.simulate import run_pool
from fvir.hw import load_hw

MODELS = ("resnet18", "resnet50", "mobilenetv2", "googlenet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--policy", choices=("public", "private"), default="public")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pool = load_hw("paper-u200")
    library = ModelLibrary(pool)
    t0 = time.perf_counter()
    for m in MODELS:
        library.add(m, m)
    compile_s = time.perf_counter() - t0
    tenants = []
    for i in range(8):
        model = MODELS[i % len(MODELS)]
        rate = 0.6 * library.throughput(model, 2)
        tenants.append(TenantSpec(f"t{i}", model, share=0.125, arrival="poisson",
                                  load=[(0.0, rate)]))
    scenario = Scenario("bench", tenants, duration_s=3600.0 * args.hours)
    policy = make_policy(args.policy, {"unit": "cores"} if args.policy == "public" else {},
                         tenants)
    t0 = time.perf_counter()
    result = run_pool(scenario, library, policy)
    wall = time.perf_counter() - t0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    requests = sum(len(t.completions) for t in result.tenants.values())
    row = {"simulated_s": scenario.duration_s, "requests": requests, "events": result.events,
           "simulations": result.simulations, "wall_s": wall,
           "us_per_request": wall / max(requests, 1) * 1e6, "max_rss_mib": rss_mib,
           "compile_s": compile_s, "target_wall_s": 60.0, "target_rss_mib": 2048.0}
    if args.json:
        print(json.dumps({"benchmark": "cloud", "results": row}, indent=2))
        return
    print(f"== cloud: {args.hours:g} h simulated, 8 tenants, 16 cores, policy {args.policy}")
    for k, v in row.items():
        print(f"  {k:<16} {v:,.1f}" if isinstance(v, float) else f"  {k:<16} {v:,}")


if __name__ == "__main__":
    main()
