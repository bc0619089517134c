"""Link an .ifp package to N cores (the dynamic, ~microsecond half of compilation) and report the
result: frames and busy cycles per core, the predicted latency, the load balance and how long
linking took.

  FILE.ifp            the package (from 'fv compile')
  --cores N           link to N cores, 0..N-1 unless --core-ids says which
  --core-ids 0,5,...  the physical cores, comma-separated (their count must agree with --cores)
  --hw PRESET|FILE    the pool: paper-u200 (default), big-core, tiny or a TOML file; the
                      package must have been compiled for its core
  --balance snake|lpt frames to cores: snake (vectorized, default) or exact LPT
  --phases layer|merged
                      a barrier after every layer (default), or merge consecutive layers that
                      touch no common DDR bytes into one phase
  --stream-weights    reload every frame's weights from DDR (default: keep the weights a
                      core reuses in its weight buffer)
  --repeat K          links to time; the report gives the median and p99 (default 100)
  --json              print one JSON object

The segments get DDR regions from a fresh allocator, in the banks of the chosen cores. The
predicted cycles (`linked_cycles`; docs/robustness.md says how they differ from fv compile's
estimate and fv run's simulation) sum, over phases, the busiest core's frame costs (floored
by the busiest DDR bank's traffic), plus a barrier per phase; host layers are not counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW

HELP = "link an .ifp package to N cores and report balance, predicted latency and link time"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the flag table
    parser.add_argument("file", metavar="FILE.ifp", help="the package to link")
    parser.add_argument("--cores", type=int, metavar="N", help="number of cores")
    parser.add_argument("--core-ids", metavar="IDS", help="comma-separated physical core ids")
    parser.add_argument("--hw", default=DEFAULT_HW, metavar="PRESET|FILE",
                        help="hardware preset or TOML file (default: %(default)s)")
    parser.add_argument("--balance", choices=("snake", "lpt"), default="snake",
                        help="frame-to-core balancing (default: %(default)s)")
    parser.add_argument("--phases", choices=("layer", "merged"), default="layer",
                        help="barrier placement (default: %(default)s)")
    parser.add_argument("--stream-weights", action="store_true",
                        help="reload every frame's weights from DDR (default: keep the weights "
                             "a core reuses in its weight buffer)")
    parser.add_argument("--repeat", type=int, default=100, metavar="K",
                        help="links to time (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_core_ids(text: str) -> list[int]:
    """"0,1,5" -> [0, 1, 5]; anything else is a one-line `UserError`."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise UserError(f"bad --core-ids '{text}': expected comma-separated core numbers, "
                        "e.g. 0,1,4,5")
    return [int(p) for p in parts]


def choose_cores(n: int | None, ids: str | None, num_cores: int, pool_name: str) -> list[int]:
    """The physical cores the flags name."""
    if ids is not None:
        cores = parse_core_ids(ids)
        if n is not None and n != len(cores):
            raise UserError(f"--cores {n} but --core-ids names {len(cores)} cores")
        return cores
    if n is None:
        raise UserError("say how many cores: --cores N (or --core-ids)")
    if n < 1:
        raise UserError(f"--cores must be at least 1, got {n}")
    if n > num_cores:
        raise UserError(f"--cores {n}: pool '{pool_name}' has {num_cores} cores")
    return list(range(n))


def _times(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": statistics.median(ordered) * 1e6,
        "p99_us": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e6,
        "min_us": ordered[0] * 1e6,
        "repeat": len(ordered),
    }


def run(args: argparse.Namespace) -> int:
    from fvir.hw import load_hw
    from fvir.ifp.fileformat import read_package
    from fvir.runtime import link, make_allocation, prepare

    if args.repeat < 1:
        raise UserError(f"--repeat must be at least 1, got {args.repeat}")
    pool = load_hw(args.hw)
    cores = choose_cores(args.cores, args.core_ids, pool.num_cores, pool.name)
    package = read_package(args.file, core=pool.core)
    t0 = time.perf_counter()
    prepared = prepare(package, args.phases)
    prepare_s = time.perf_counter() - t0
    allocation = make_allocation(package, cores, pool)
    resident = not args.stream_weights
    exe = link(prepared, allocation, pool, balance=args.balance, resident=resident)
    samples = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        link(prepared, allocation, pool, balance=args.balance, resident=resident)
        samples.append(time.perf_counter() - start)
    report = _report(exe, pool, prepare_s, _times(samples))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _report(exe: Any, pool: Any, prepare_s: float, times: dict[str, float]) -> dict[str, Any]:
    pkg = exe.package
    prep = exe.prepared
    regions = exe.allocation.regions
    return {
        "model": pkg.name,
        "hw": pool.name,
        "cores": [int(c) for c in exe.cores],
        "balance": exe.balance,
        "phases": prep.phases,
        "frames": int(prep.num_frames),
        "layers": len(pkg.layers),
        "host_layers": sum(layer.kind == "host" for layer in pkg.layers),
        "barriers": int(prep.num_phases),
        "frames_per_core": [int(x) for x in exe.frames_per_core],
        "busy_cycles_per_core": [int(x) for x in exe.busy_cycles],
        "predicted_cycles": int(exe.predicted_cycles),
        "linked_cycles": int(exe.predicted_cycles),
        "clock_mhz": pool.core.clock_mhz,
        "latency_ms": exe.latency_s(pool.core.clock_mhz) * 1e3,
        "load_balance": exe.load_balance,
        "resident_weight_bytes_per_core": [int(x) for x in exe.resident_bytes],
        "elided_weight_bytes": int(exe.elided_bytes),
        "first_link_us": exe.link_time_s * 1e6,
        "link_time": times,
        "prepare_time_ms": prepare_s * 1e3,
        "segments": [
            {"name": s.name, "kind": s.kind.name, "bytes": s.size, "bank": regions[i].bank,
             "start": regions[i].start, "region_bytes": regions[i].size}
            for i, s in enumerate(pkg.segments)
        ],
    }


def _print(r: dict[str, Any]) -> None:
    t = r["link_time"]
    ids = ",".join(map(str, r["cores"]))
    print(f"{r['model']}: linked to {len(r['cores'])} cores ({ids}) of {r['hw']} in "
          f"{t['median_us']:.0f} us (median of {t['repeat']}, p99 {t['p99_us']:.0f} us; "
          f"first link {r['first_link_us']:.0f} us; prepared once in "
          f"{r['prepare_time_ms']:.1f} ms)")
    print(f"  {r['frames']} frames, {r['layers']} layers ({r['host_layers']} host), "
          f"{r['barriers']} barriers ({r['phases']} phases), balance {r['balance']}")
    print(f"  linker's prediction {r['linked_cycles']} cycles = {r['latency_ms']:.3f} ms at "
          f"{r['clock_mhz']:g} MHz (fv run simulates; docs/robustness.md); load balance "
          f"{r['load_balance']:.3f} (max/mean busy)")
    print(f"  weights kept in the cores' buffers: {r['elided_weight_bytes'] / 1e6:.2f} MB of "
          f"weight loads skipped per inference")
    print(f"  {'core':>6}  {'frames':>7}  {'busy cycles':>12}  {'resident KiB':>12}")
    for core, frames, busy, kept in zip(r["cores"], r["frames_per_core"],
                                        r["busy_cycles_per_core"],
                                        r["resident_weight_bytes_per_core"], strict=True):
        print(f"  {core:>6}  {frames:>7}  {busy:>12}  {kept / 1024:>12.1f}")
    print(f"  {'segment':<16} {'kind':<10} {'bytes':>12}  bank  region")
    for s in r["segments"]:
        end = s["start"] + s["region_bytes"]
        print(f"  {s['name']:<16} {s['kind']:<10} {s['bytes']:>12}  {s['bank']:>4}  "
              f"[{s['start']:#x}, {end:#x})")
