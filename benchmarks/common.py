"""Shared helpers for fvir's benchmarks: repeated timing with medians, and a result table.

Benchmarks report medians (and ratios against a baseline measured in the same run) because
the machines they run on are shared and noisy; they never assert on time.
"""

import json
import statistics
import time
from collections.abc import Callable
from typing import Any


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
