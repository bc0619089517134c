"""Run a sweep: many variations of a cloud scenario (policy, load, arrival CV, hardware, seed,
...), each point a full `fv cloud` experiment, gathered into one tidy table with one row per
point: its parameters and its metrics (throughput, gains over the baselines, per-tenant
figures). The sweep file names a base scenario and a [grid] (every combination) or a list of
[[points]]; see `fvir.sweep.spec`. Points run on the standard process pool (`--executor
process`, the default), a local Dask cluster (`--executor dask`, needs `pip install
'fvir[dask]'`) or an existing one (`--executor dask://HOST:PORT`); the table is the same,
byte for byte, whatever the executor and the number of workers. `--out DIR` writes
`<name>.csv`, `<name>.json` and one plot per metric there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "run a grid of cloud scenarios on a process pool or Dask; one tidy table"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", metavar="SWEEP.toml", help="the sweep file")
    parser.add_argument("--executor", default="process", metavar="KIND",
                        help="process (default), dask (a local cluster) or dask://HOST:PORT")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="worker processes (process pool, local Dask cluster; default 2)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write <name>.csv, <name>.json and plots to DIR (created)")
    parser.add_argument("--json", action="store_true",
                        help="print the table as JSON (one object per point) instead of CSV")


def _output_dir(path: Path) -> Path:
    from fvir.errors import UserError

    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {path}: cannot create it: {e.strerror}") from None
    return path


def run(args: argparse.Namespace) -> int:
    from fvir.sweep import load_sweep, open_executor, run_sweep
    from fvir.sweep.executors import check_executor

    check_executor(args.executor)
    spec = load_sweep(args.sweep)
    out = _output_dir(args.out) if args.out is not None else None
    with open_executor(args.executor, args.workers) as executor:
        table = run_sweep(spec, executor, progress=sys.stderr.isatty() and not args.json)
    if out is not None:
        from fvir.sweep.plots import write_plots

        metrics = [c for c in table.columns[1 + len(spec.axes):]
                   if spec.metrics is not None or "." not in c][:8]
        for path in [*table.write(out, spec.name),
                     *write_plots(table, spec.axes, metrics, out, spec.name)]:
            print(f"fv sweep: wrote {path}", file=sys.stderr)
    print(json.dumps(table.to_json(), indent=1) if args.json else table.to_csv(), end="")
    return 0
