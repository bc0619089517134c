"""Design sweeps: many scenario variations run as independent points on a
`concurrent.futures` executor (a local process pool, or Dask distributed), gathered into one
tidy table (`fv sweep SWEEP.toml`).

    spec = load_sweep("sweeps/small.toml")
    with open_executor("process", workers=2) as pool:
        table = run_sweep(spec, pool)
    table.write_csv("out/small.csv")

Modules: `spec` (the sweep file and its points), `point` (one point's scenario run, a pure
function of its parameters), `executors` (process pool / Dask), `run` (submission, retries,
ordering), `table` (the tidy table: CSV, JSON), `plots`.
"""

from fvir.sweep.executors import open_executor
from fvir.sweep.run import run_sweep
from fvir.sweep.spec import Point, SweepSpec, load_sweep, sweep_from_dict
from fvir.sweep.table import Table

__all__ = ["Point", "SweepSpec", "Table", "load_sweep", "open_executor", "run_sweep",
           "sweep_from_dict"]
