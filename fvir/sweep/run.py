"""Running a sweep: every point submitted to the executor, the rows gathered in point order.

1. Submit one task per point (`point.run_point`), each a pure function of its parameters.
2. Collect results as they finish (progress shows the count), keyed by point index, so a
   retried or rescheduled point still fills exactly one row.
3. Order the rows by point index: the table does not depend on the executor, the number of
   workers or the order in which points finished.
"""

from __future__ import annotations

from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from fvir.errors import UserError
from fvir.sweep.point import run_point
from fvir.sweep.spec import SweepSpec
from fvir.sweep.table import Table


def run_sweep(spec: SweepSpec, executor: Executor, *, progress: bool = False) -> Table:
    """Run every point of `spec` on `executor` (see the module docstring)."""
    from tqdm import tqdm

    futures = {executor.submit(run_point, p, spec.base_dir): p.index for p in spec.points}
    rows: dict[int, dict[str, Any]] = {}
    with tqdm(total=len(futures), desc=f"sweep {spec.name}", unit="point",
              disable=not progress) as bar:
        for future in as_completed(futures):
            try:
                rows[futures[future]] = future.result()
            except BrokenProcessPool:
                raise UserError("a sweep worker process died (out of memory?); "
                                "--executor dask reschedules the points of a dead worker") from None
            bar.update()
    return Table.from_points(spec, [rows[p.index] for p in spec.points])
