"""Benchmark: the zoo's recurrent models on the simulated pool, against the big-core baseline,
and the dynamic link time of the LSTM package.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_rnn.py [--models lstm gru] [--repeat 1000]
                                                          [--max-cores 16] [--json]

1. Simulated latency of each model (the zoo's 2-layer LSTM and GRU, hidden 512, 32 steps,
   batch 1) on 1..`--max-cores` cores of `paper-u200` (B512-class cores, four per DDR bank),
   and on the `big-core` preset: one core with the pool's total parallelism (PP=16 x ICP=16 x
   OCP=16), its total buffers and all four banks' bandwidth. The two configurations need
   their own packages (the core shape is part of the package). Timing-only runs
   (`functional=False`: the same cycles as a full run, tests/backend/test_machine.py checks
   it); the simulator is deterministic, so each configuration runs once. Per core count:
   cycles, ms at the core clock, speed-up over one small core, scaling efficiency, the big
   core's cycles over these (> 1: the small cores are faster), DDR bytes moved, the busiest
   bank's utilization, and a bound from the cycle model: max(MACs / (n x ICP x OCP), the MVM
   engine's rate; DDR bytes / the bandwidth n cores can draw: min(n x port, banks x bank))
   plus one `SYNC_CYCLES` per barrier. An unrolled recurrent layer is a chain of small
   matrix-vector layers, one barrier each, so the barriers and the weight stream set the
   latency. The linker keeps the weights a core reuses in its buffers
   (`fvir.runtime.residency`): from 16 small cores on, every core's slices of W and R fit its
   288 KiB weight buffer and the stream stops after the first step (the big core's 4.5 MiB
   hold them all). The `streamed` column and the big core's are the same runs with every
   frame reloading its weights (`resident=False`), for comparison.
2. Link time of the LSTM package (`fvir.runtime.linker.link` of a `prepare`d package, default
   snake balancing) for 1..`--max-cores` cores: median and p99 of `--repeat` re-links, and
   the median of a cold first link to that core count (the frame layout computed).
   Acceptance target: median <= 100 us.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from common import doc_summary, measure, timing_run

from fvir import zoo
from fvir.compiler import compile_model
from fvir.hw import BIG_CORE, PAPER_U200, PoolConfig
from fvir.runtime import link, make_allocation, prepare
from fvir.runtime.linker import SYNC_CYCLES


def simulate(package, pool: PoolConfig, cores: int) -> dict[str, Any]:
    """`timing_run` with the MVM engine's rate: ICP x OCP MACs per core cycle."""
    return timing_run(package, pool, cores, pool.core.icp * pool.core.ocp)


def scaling(name: str, max_cores: int) -> tuple[dict[str, Any], Any]:
    """Latency of zoo model `name` on 1..max_cores small cores and on the big core; also
    returns the paper-u200 package (for the link benchmark)."""
    model = zoo.build(name)
    start = time.perf_counter()
    package = compile_model(model, PAPER_U200)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    prepare(package)  # cached on the package: later links and simulations reuse it
    prepare_s = time.perf_counter() - start
    big_package = compile_model(model, BIG_CORE)
    big = simulate(big_package, BIG_CORE, 1)
    rows = [simulate(package, PAPER_U200, n) for n in range(1, max_cores + 1)]
    for r in rows:
        r["speedup"] = rows[0]["cycles"] / r["cycles"]
        r["efficiency"] = r["speedup"] / r["cores"]
        r["big_over_this"] = big["cycles"] / r["cycles"]
    stats = zoo.stats(name)
    summary = {
        "model": name, "params": stats.params, "macs": stats.macs,
        "frames": len(package.frames), "instructions": len(package.words),
        "layers": len(package.layers), "compile_s": compile_s, "prepare_ms": prepare_s * 1e3,
        "weights_mb": len(package.weights) / 1e6, "rows": rows, "big_core": big,
    }
    return summary, package


def link_times(package, repeat: int, max_cores: int) -> dict[str, Any]:
    pool = PAPER_U200
    prep = prepare(package)
    rows = []
    for n in range(1, max_cores + 1):
        alloc = make_allocation(package, range(n), pool)
        m = measure(lambda a=alloc: link(prep, a, pool), repeat, warmup=10)
        # The first link to n cores computes the frame layout; later ones reuse it.
        cold = measure(lambda a=alloc: (prep.layouts.clear(), link(prep, a, pool)),
                       max(repeat // 10, 5))
        rows.append({"cores": n, "median_us": m["median_s"] * 1e6, "p99_us": m["p99_s"] * 1e6,
                     "max_us": m["max_s"] * 1e6, "cold_median_us": cold["median_s"] * 1e6})
    return {"repeat": repeat, "rows": rows, "frames": len(package.frames),
            "phases": prep.num_phases}


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--models", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--repeat", type=int, default=1000, help="links per core count")
    ap.add_argument("--max-cores", type=int, default=PAPER_U200.num_cores)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {"hw": PAPER_U200.summary(), "big_core": BIG_CORE.summary(),
                           "sync_cycles": SYNC_CYCLES, "models": []}
    packages = {}
    for name in args.models:
        summary, packages[name] = scaling(name, args.max_cores)
        out["models"].append(summary)
    link_model = "lstm" if "lstm" in packages else args.models[0]
    (prepared,) = [s["prepare_ms"] for s in out["models"] if s["model"] == link_model]
    out["link"] = {"model": link_model, "prepare_ms": prepared,
                   **link_times(packages[link_model], args.repeat, args.max_cores)}
    if args.json:
        print(json.dumps({"benchmark": "rnn", **out}, indent=2, default=float))
        return
    print(out["hw"])
    print(out["big_core"])
    for s in out["models"]:
        b = s["big_core"]
        print(f"\n== {s['model']}: {s['params'] / 1e6:.2f} M params, {s['macs'] / 1e6:.0f} MMAC, "
              f"{s['layers']} layers, {s['frames']} frames, {s['instructions']} instructions; "
              f"compile {s['compile_s']:.1f} s")
        print(f"big-core: {b['cycles']} cycles, {b['latency_ms']:.3f} ms, "
              f"MAC {b['mac_utilization']:.1%}, DDR {b['ddr_mb']:.1f} MB, "
              f"bank {b['bank_utilization']:.0%}, "
              f"bound {b['bound_cycles']:.0f} ({b['of_bound']:.0%}); streamed "
              f"{b['streamed_cycles']} cycles")
        print(f"{'cores':>5} {'cycles':>10} {'ms':>8} {'speedup':>7} {'eff':>5} {'big/this':>8} "
              f"{'MAC%':>5} {'DDR MB':>7} {'bank%':>5} {'bound':>10} {'%bound':>6} "
              f"{'streamed':>10}")
        for r in s["rows"]:
            print(f"{r['cores']:>5} {r['cycles']:>10} {r['latency_ms']:>8.3f} {r['speedup']:>7.2f} "
                  f"{r['efficiency']:>5.0%} {r['big_over_this']:>8.2f} "
                  f"{r['mac_utilization']:>5.1%} {r['ddr_mb']:>7.1f} {r['bank_utilization']:>5.0%} "
                  f"{r['bound_cycles']:>10.0f} {r['of_bound']:>6.0%} {r['streamed_cycles']:>10}")
    lk = out["link"]
    print(f"\n== link: {lk['model']} ({lk['frames']} frames, {lk['phases']} phases); "
          f"prepare (once) {lk['prepare_ms']:.1f} ms; {lk['repeat']} links per core count "
          f"(target median <= 100 us)")
    print(f"{'cores':>5} {'median':>9} {'p99':>9} {'max':>9} {'cold':>9}")
    for r in lk["rows"]:
        print(f"{r['cores']:>5} {r['median_us']:>7.1f}us {r['p99_us']:>7.1f}us "
              f"{r['max_us']:>7.0f}us {r['cold_median_us']:>7.1f}us")


if __name__ == "__main__":
    main()
