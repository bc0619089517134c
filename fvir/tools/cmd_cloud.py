"""Simulate a multi-tenant cloud scenario on the virtualized core pool and its baselines.

  SCENARIO.toml       tenants, models, load, SLOs, policy and baselines (see scenarios/ and
                      fvir/cloud/scenario.py for every key)
  capacity SCENARIO.toml
                      instead: for the pool and each baseline, the highest common load
                      scale factor at which SLO attainment stays >= --target (bisection over
                      deterministic runs, fvir/cloud/capacity.py)
  --target A          capacity: the attainment to hold (default 0.99)
  --json              print one JSON object (workload, tenants with throughput, p50/p99/p99.9,
                      slo_attainment, goodput, dropped, rejected; totals, baselines, gain,
                      compile costs, virtualization overhead, spot checks; or the capacities)
  --plot DIR          write PNG plots: throughput (binned) and cores (stacked) over time per
                      tenant, totals against the baselines; with capacity, attainment
                      against load
  --no-isolation      skip the isolation runs (each tenant alone on the same cores)
  --duration S        override the scenario's duration (seconds of simulated time)
  --no-cache          compile every model now instead of using the package cache

Models are compiled once per pool and kept in the package cache (`fv cache info`), so a later
run reads them instead. Requests are simulated with the memoised fast timing mode
(fvir.cloud.library). Throughputs are inferences per second of simulated time; latencies
include queueing. A progress bar shows on a terminal (not with --json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

HELP = "simulate a multi-tenant scenario: policies, SLOs, baselines, capacity, isolation"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("scenario", nargs="+", metavar="[capacity] SCENARIO.toml",
                        help="the scenario file (after 'capacity': search the capacity)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", metavar="DIR", help="write PNG plots into DIR")
    parser.add_argument("--no-isolation", action="store_true",
                        help="skip the per-tenant isolation runs")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="simulated seconds (default: the scenario's)")
    parser.add_argument("--target", type=float, default=0.99, metavar="A",
                        help="capacity: SLO attainment to hold (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help="compile every model now, neither reading nor writing the "
                             "package cache (fv cache info)")


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _table(data: dict[str, Any]) -> str:
    lines = [f"scenario {data['scenario']} ({data['workload']}, {data['hw']}, policy "
             f"{data['policy']}, {data['duration_s']:g} s simulated, metrics over arrivals in "
             f"[{data['window_s'][0]:g}, {data['window_s'][1]:g}) s)"]
    head = (f"{'tenant':<12}{'model':<14}{'cores':>6}{'inf/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'p99.9':>9}{'SLO ms':>8}{'attain':>9}{'goodput':>9}{'drop':>6}{'rej':>6}"
            f"{'relinks':>8}{'isol.dev':>9}")
    groups = [("pool", data["tenants"]), *data.get("baseline_tenants", {}).items()]
    for label, tenants in groups:
        lines += ["", f"[{label}]", head]
        for t in tenants:
            lines.append(
                f"{t['name']:<12}{t['model'][-13:]:<14}{t['cores']:>6.1f}{t['throughput']:>9.1f}"
                f"{_fmt(t['p50_ms']):>9}{_fmt(t['p99_ms']):>9}{_fmt(t['p999_ms']):>9}"
                f"{_fmt(t['slo_ms']):>8}{_pct(t['slo_attainment']):>9}{t['goodput']:>9.1f}"
                f"{t['dropped']:>6}{t['rejected']:>6}{t['relinks']:>8}"
                f"{_pct(t['isolation_deviation']):>9}"
                + (f"  FAULT: {t['fault']}" if t["fault"] else ""))
    lines += ["", f"total throughput {data['total_throughput']:.1f} inf/s, SLO attainment "
              f"{_pct(data['slo_attainment'])}, goodput {data['goodput']:.1f} req/s; "
              f"{data['relinks']} re-links, {data['relink_ms']:.2f} ms in all"]
    for b, v in data.get("baselines", {}).items():
        slo = data["baseline_slo"][b]
        lines.append(f"  vs {b}: {v:.1f} inf/s -> gain {_fmt(data['gain'][b], '.2f')}x; "
                     f"attainment {_pct(slo['slo_attainment'])}, goodput "
                     f"{slo['goodput']:.1f} req/s")
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


def _capacity_table(data: dict[str, Any]) -> str:
    lines = [f"scenario {data['scenario']}: capacity at {_pct(data['target'])} SLO attainment "
             "(common load scale factor)", "",
             f"{'design':<20}{'scale':>9}{'attain':>9}{'goodput':>10}{'vs pool':>9}{'runs':>6}"]
    pool = data["capacity"][0]["scale"]
    for c in data["capacity"]:  # pool capacity / this design's ("-": either is none)
        ratio = f"{pool / c['scale']:.2f}x" if c["scale"] and pool else "-"
        lines.append(f"{c['design']:<20}{c['scale']:>9.4g}{_pct(c['attainment']):>9}"
                     f"{c['goodput']:>10.1f}{ratio:>9}{len(c['runs']):>6}")
    return "\n".join(lines)


def _plot_dir(path: str) -> Path:
    """The --plot directory, created and checked before any work."""
    from fvir.errors import UserError

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--plot {path}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--plot {path}: cannot create it: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise UserError(f"--plot {path}: not writable")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("--plot needs matplotlib (pip install matplotlib)") from None
    return out


class _Progress:
    """Stage messages on a tqdm bar when stderr is a terminal; silent otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc="fv cloud", unit=" steps", file=sys.stderr, leave=False)

    def __call__(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.set_description(f"fv cloud: {msg}")
            self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from fvir.cache import PackageCache
    from fvir.cloud import load_scenario
    from fvir.errors import UserError

    if len(args.scenario) == 2 and args.scenario[0] == "capacity":
        mode, path = "capacity", args.scenario[1]
    elif len(args.scenario) == 1:
        mode, path = "run", args.scenario[0]
    else:
        raise UserError("expected SCENARIO.toml or 'capacity SCENARIO.toml'")
    plot_dir = _plot_dir(args.plot) if args.plot else None
    scenario = load_scenario(path)
    if args.duration is not None:
        scenario.set_duration(args.duration, "--duration")
    cache = None if args.no_cache else PackageCache()
    progress = _Progress(args.json)
    try:
        if mode == "capacity":
            return _capacity(args, scenario, cache, progress, plot_dir)
        from fvir.cloud import run_experiment
        from fvir.reference.int8 import run_host

        exp = run_experiment(scenario, progress=progress, isolation=not args.no_isolation,
                             cache=cache, host=run_host)
        data = exp.to_json()
        if plot_dir is not None:
            from fvir.cloud.plots import write_plots

            write_plots(exp, plot_dir)
    finally:
        progress.close()
    print(json.dumps(data, indent=1) if args.json else _table(data))
    return 0


def _capacity(args: argparse.Namespace, scenario: Any, cache: Any, progress: Any,
              plot_dir: Path | None) -> int:
    from fvir.cloud.capacity import capacity

    caps = capacity(scenario, args.target, progress, cache)
    data = {"scenario": scenario.name, "target": args.target,
            "capacity": [c.to_json() for c in caps]}
    if plot_dir is not None:
        from fvir.cloud.plots import plot_capacity

        plot_capacity(scenario.name, caps, args.target, plot_dir)
    progress.close()
    print(json.dumps(data, indent=1) if args.json else _capacity_table(data))
    return 0
