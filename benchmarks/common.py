"""Shared helpers for fvir's benchmarks: repeated timing with medians, a result table, a
timing-only simulation with the cycle model's bound beside it, and the `--help` summary.

Benchmarks report medians (and ratios against a baseline measured in the same run) because
the machines they run on are shared and noisy; they never assert on time.
"""

import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def doc_summary(doc: str | None) -> str:
    """A benchmark's `--help` description: its docstring's first paragraph on one line."""
    return " ".join((doc or "").split("\n\n")[0].split())


def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> dict[str, float]:
    """Run `fn` `warmup` + `repeat` times; seconds as median / min / max / p99-ish."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {
        "median_s": statistics.median(samples),
        "min_s": samples[0],
        "max_s": samples[-1],
        "p99_s": samples[min(len(samples) - 1, int(0.99 * len(samples)))],
        "repeat": repeat,
    }


def report(title: str, rows: dict[str, dict[str, float]], as_json: bool) -> None:
    """Print the results as a table (or one JSON object with --json)."""
    if as_json:
        print(json.dumps({"benchmark": title, "results": rows}, indent=2))
        return
    print(f"== {title}")
    width = max(len(name) for name in rows)
    print(f"{'':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  n")
    for name, r in rows.items():
        if "median_s" not in r:
            extra = ", ".join(f"{k}={v:.3g}" for k, v in r.items())
            print(f"{name:<{width}}  {extra}")
            continue
        print(
            f"{name:<{width}}  {r['median_s'] * 1e3:>8.1f}ms  {r['min_s'] * 1e3:>8.1f}ms  "
            f"{r['max_s'] * 1e3:>8.1f}ms  {r['repeat']}"
        )


def peak_rss_bytes() -> int:
    """This process image's peak RSS: VmHWM, since ru_maxrss keeps the peak of the parent a
    benchmark child was forked from (Linux carries it across fork and exec)."""
    try:
        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def timing_run(package: Any, pool: Any, cores: int, macs_per_cycle: int) -> dict[str, Any]:
    """One timing-only run of `package` on cores 0..cores-1 of `pool` (`functional=False`: the
    same cycles as a full run), with the figures of the cycle model that explain it: a bound
    max(accelerator MACs / (cores x `macs_per_cycle`); DDR bytes / the bandwidth the cores can
    draw, min(cores x port, banks x bank)) plus one `SYNC_CYCLES` per barrier, and the cycles
    with every frame reloading its weights (`streamed`)."""
    import numpy as np

    from fvir.backend.machine import simulate_package
    from fvir.runtime.linker import SYNC_CYCLES

    x = np.zeros(tuple(package.tensors[package.inputs[0]].shape), np.float32)
    start = time.perf_counter()
    report = simulate_package(package, [x], pool, cores=cores, functional=False)
    wall = time.perf_counter() - start
    streamed = simulate_package(package, [x], pool, cores=cores, functional=False,
                                resident=False).cycles
    (t,) = report.tenants.values()
    moved = float(sum(report.bank_bytes))
    banks = -(-cores // pool.cores_per_bank)
    bandwidth = min(cores * pool.core.port_bytes_per_cycle, banks * pool.bank_bytes_per_cycle)
    barriers = len(t.executable.phase_cycles)
    bound = max(t.macs / (cores * macs_per_cycle), moved / bandwidth) + barriers * SYNC_CYCLES
    return {
        "cores": cores, "cycles": t.cycles, "latency_ms": t.latency_ms,
        "mac_utilization": t.mac_utilization, "ddr_mb": moved / 1e6,
        "bank_utilization": max(report.bank_busy) / t.cycles, "barriers": barriers,
        "bound_cycles": bound, "of_bound": bound / t.cycles, "sim_wall_s": wall,
        "streamed_cycles": streamed,
    }
