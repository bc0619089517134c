"""The sweep file: a base scenario, the axes to vary, and the points they make.

    name = "cv-and-policy"
    base = "../scenarios/private-cnn.toml"   # or an inline [base] table (a scenario)
    metrics = ["total_throughput", "gain.tdm"]   # optional: columns to keep (default: all)
    [grid]                                   # every combination, in the order written
    policy = ["private", "static"]
    "tenants.0.load" = [[[0.0, 40.0]], [[0.0, 80.0]]]
    seed = [0, 1]
    # family = "paper-gains"   # optional: axes that build the tenant list (fvir.sweep.families)
    # or, instead of [grid], explicit points:
    # [[points]]
    # policy = "private"
    # seed = 3

1. Read the base scenario as a plain dict (the scenario file's own TOML), so that a point
   travels to any worker as data, with no file to share.
2. Expand the axes: `[grid]` is the cartesian product (the first key varies slowest);
   `[[points]]` lists the combinations. A key is a dotted path into the scenario
   (`tenants.0.load`: list index 0), replaced as a whole.
3. With a `family`, its parameters among the axes build each point's scenario from the base
   first (`fvir.sweep.families`), then the dotted-path axes apply.
4. Validate every point's scenario up front (`fvir.cluster.any_from_dict`: a scenario, or
   with a [cluster] table a cluster, whose keys are axes too, e.g. `cluster.placer`), so a
   typo fails in one line before any work starts.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fvir.cluster import any_from_dict
from fvir.errors import UserError, read_toml
from fvir.sweep.families import FAMILIES

_KEYS = {"name", "base", "metrics", "grid", "points", "family"}


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its index (the row order), its parameters and its scenario."""

    index: int
    params: dict[str, Any]
    scenario: dict[str, Any]


@dataclass(frozen=True)
class SweepSpec:
    name: str
    axes: list[str]  # parameter names, in column order
    points: list[Point]
    metrics: list[str] | None  # None: every metric
    base_dir: Path  # for paths inside the base scenario (model files)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (see the module docstring)."""
    path = Path(path)
    return sweep_from_dict(read_toml(path, "sweep"), path.name, path.parent)


def _set(scenario: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Replace the value at dotted path `key` (list indices as numbers)."""
    node: Any = scenario
    parts = key.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise UserError(f"{where}: '{key}': '{part}' is not an index of a list of "
                                f"{len(node)}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            elif part not in node:
                raise UserError(f"{where}: '{key}': the scenario has no '{part}'")
            else:
                node = node[part]
        else:
            raise UserError(f"{where}: '{key}': '{part}' is inside a value, not a table or list")


def _combinations(raw: dict[str, Any], where: str) -> tuple[list[str], list[dict[str, Any]]]:
    grid, points = raw.get("grid"), raw.get("points")
    if (grid is None) == (points is None):
        raise UserError(f"{where}: give either [grid] or [[points]]")
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            raise UserError(f"{where}: [grid] must be a table of key = [values]")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise UserError(f"{where}: grid '{key}' must be a non-empty list of values")
        axes = list(grid)
        return axes, [dict(zip(axes, combo, strict=True))
                      for combo in itertools.product(*grid.values())]
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise UserError(f"{where}: [[points]] must be a non-empty list of tables")
    axes = list(dict.fromkeys(k for p in points for k in p))
    return axes, [dict(p) for p in points]


def sweep_from_dict(raw: dict[str, Any], where: str = "sweep",
                    base_dir: Path = Path(".")) -> SweepSpec:
    """A sweep from its parsed TOML (see the module docstring)."""
    if unknown := sorted(set(raw) - _KEYS):
        raise UserError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})")
    base = raw.get("base")
    scenario_dir = base_dir
    if isinstance(base, str):
        scenario_path = base_dir / base
        scenario_dir = scenario_path.parent
        base = read_toml(scenario_path, "scenario")
    if not isinstance(base, dict):
        raise UserError(f"{where}: 'base' must be a scenario file or a [base] table")
    metrics = raw.get("metrics")
    if metrics is not None and (not isinstance(metrics, list)
                                or not all(isinstance(m, str) for m in metrics)):
        raise UserError(f"{where}: 'metrics' must be a list of metric names")
    axes, combos = _combinations(raw, where)
    family = raw.get("family")
    if family is not None and family not in FAMILIES:
        raise UserError(f"{where}: unknown family {family!r} (known: {', '.join(FAMILIES)})")
    build, family_keys = FAMILIES[family] if family else (None, frozenset())
    points = []
    for i, params in enumerate(combos):
        scenario = copy.deepcopy(base)
        if build is not None:
            scenario = build(scenario, {k: v for k, v in params.items() if k in family_keys},
                             f"{where}: point {i}")
        for key, value in params.items():
            if key in family_keys:
                continue
            _set(scenario, key, value, f"{where}: point {i}")
        any_from_dict(scenario, f"{where}: point {i}", scenario_dir)  # fail before work
        points.append(Point(i, params, scenario))
    return SweepSpec(str(raw.get("name", Path(where).stem)), axes, points, metrics, scenario_dir)
