"""The tidy table of a sweep: one row per point, its parameters then its metrics.

Values are written so that equal numbers give equal bytes: floats as Python's shortest
round-trip `repr`, lists and tables (a load schedule, say) as compact JSON, missing metrics
empty. Columns: `point`, the sweep's axes in file order, then the metrics in the order the
first point that has them reports them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fvir.errors import UserError
from fvir.sweep.spec import SweepSpec


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]

    @classmethod
    def from_points(cls, spec: SweepSpec, metrics: list[dict[str, Any]]) -> Table:
        names: dict[str, None] = {}
        for m in metrics:
            names.update(dict.fromkeys(m))
        wanted = list(names) if spec.metrics is None else spec.metrics
        if missing := [n for n in wanted if n not in names]:
            raise UserError(f"sweep {spec.name}: no point reports metric '{missing[0]}' "
                            f"(reported: {', '.join(names)})")
        columns = ["point", *spec.axes, *wanted]
        rows = [[p.index, *(p.params.get(a) for a in spec.axes), *(m.get(n) for n in wanted)]
                for p, m in zip(spec.points, metrics, strict=True)]
        return cls(columns, rows)

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([_cell(v) for v in row] for row in self.rows)
        return out.getvalue()

    def to_json(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def write(self, directory: Path, name: str) -> list[Path]:
        """`<name>.csv` and `<name>.json` in `directory`."""
        csv_path, json_path = directory / f"{name}.csv", directory / f"{name}.json"
        csv_path.write_text(self.to_csv())
        json_path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return [csv_path, json_path]
