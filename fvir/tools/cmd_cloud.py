"""Simulate a multi-tenant cloud scenario on the virtualized core pool and its baselines.

  SCENARIO.toml       tenants, models, load, policy and baselines (see scenarios/ and
                      fvir/cloud/scenario.py for every key)
  --json              print one JSON object (workload, tenants, total_throughput, relinks,
                      baselines, gain, compile costs, virtualization overhead, spot checks)
  --plot DIR          write PNG plots: throughput and cores over time per tenant, totals
                      against the baselines
  --no-isolation      skip the isolation runs (each tenant alone on the same cores)
  --duration S        override the scenario's duration (seconds of simulated time)

Models are compiled once per pool and kept in the package cache (`fv cache info`), so a later
run reads them instead (progress on stderr); requests are simulated with the
memoised fast timing mode (fvir.cloud.library). Throughputs are inferences per second of
simulated time; latencies include queueing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

HELP = "simulate a multi-tenant scenario: policies, re-allocation, baselines, isolation"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("scenario", metavar="SCENARIO.toml", help="the scenario file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", metavar="DIR", help="write PNG plots into DIR")
    parser.add_argument("--no-isolation", action="store_true",
                        help="skip the per-tenant isolation runs")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="simulated seconds (default: the scenario's)")
    parser.add_argument("--no-cache", action="store_true",
                        help="compile every model now, neither reading nor writing the "
                             "package cache (fv cache info)")


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _table(data: dict[str, Any]) -> str:
    lines = [f"scenario {data['scenario']} ({data['workload']}, {data['hw']}, policy "
             f"{data['policy']}, {data['duration_s']:g} s simulated)"]
    head = (f"{'tenant':<12}{'model':<14}{'cores':>6}{'inf/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'relinks':>8}{'isol.dev':>9}")
    groups = [("pool", data["tenants"]), *data.get("baseline_tenants", {}).items()]
    for label, tenants in groups:
        lines += ["", f"[{label}]", head]
        for t in tenants:
            iso = t["isolation_deviation"]
            lines.append(
                f"{t['name']:<12}{t['model'][-13:]:<14}{t['cores']:>6.1f}{t['throughput']:>9.1f}"
                f"{_fmt(t['p50_ms']):>9}{_fmt(t['p99_ms']):>9}{t['relinks']:>8}"
                f"{'-' if iso is None else format(100 * iso, '.2f') + '%':>9}"
                + (f"  FAULT: {t['fault']}" if t["fault"] else ""))
    lines += ["", f"total throughput {data['total_throughput']:.1f} inf/s; "
              f"{data['relinks']} re-links, {data['relink_ms']:.2f} ms in all"]
    for b, v in data.get("baselines", {}).items():
        lines.append(f"  vs {b}: {v:.1f} inf/s -> gain {data['gain'][b]:.2f}x")
    for m, c in data["compile"].items():
        lines.append(f"compile {m}: static {c['compile_s']:.2f} s"
                     f"{' (cached)' if c['cached'] else ''}, dynamic link "
                     f"{c['link_us']:.0f} us, re-link {c['relink_us']:.0f} us ({c['ratio']:.0f}x); "
                     f"virtualization overhead "
                     f"{100 * data['virtualization_overhead'][m]:.3f}%")
    ok = all(s["equal"] for s in data["spot_checks"])
    lines.append(f"fast timing mode: {data['simulations']} simulations for {data['events']} "
                 f"events; {len(data['spot_checks'])} spot checks "
                 f"{'equal' if ok else 'DIFFER'}; wall {data['wall_s']:.1f} s")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from fvir.cache import PackageCache
    from fvir.cloud import load_scenario, run_experiment
    from fvir.errors import UserError

    scenario = load_scenario(args.scenario)
    if args.duration is not None:
        if args.duration <= 0:
            raise UserError("--duration must be positive")
        scenario.duration_s = args.duration

    def progress(msg: str) -> None:
        print(f"fv cloud: {msg}", file=sys.stderr, flush=True)

    cache = None if args.no_cache else PackageCache()
    exp = run_experiment(scenario, progress=progress, isolation=not args.no_isolation,
                         cache=cache)
    data = exp.to_json()
    if args.plot:
        try:
            from fvir.cloud.plots import write_plots
        except ImportError:
            raise UserError("--plot needs matplotlib (pip install matplotlib)") from None
        for path in write_plots(exp, args.plot):
            progress(f"wrote {path}")
    print(json.dumps(data, indent=1) if args.json else _table(data))
    return 0
