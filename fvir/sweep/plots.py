"""Plots of a sweep's table: each chosen metric against the first numeric axis, one line per
combination of the other axes; y from zero, so that a small change does not look large."""

from __future__ import annotations

import json
from pathlib import Path

from fvir.sweep.table import Table


def _numeric(values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def write_plots(table: Table, axes: list[str], metrics: list[str], directory: Path,
                name: str) -> list[Path]:
    """One PNG per metric in `directory`; none when no axis is numeric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_axis = next((a for a in axes if _numeric(table.column(a))), None)
    if x_axis is None:
        return []
    others = [a for a in axes if a != x_axis]
    paths = []
    for metric in metrics:
        series: dict[str, list[tuple[float, float]]] = {}
        for row in table.to_json():
            y = row.get(metric)
            if not isinstance(y, int | float):
                continue
            label = ", ".join(f"{a}={json.dumps(row[a])}" for a in others) or metric
            series.setdefault(label, []).append((row[x_axis], y))
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        styles = ["-", "--", ":", "-."]
        for i, (label, points) in enumerate(sorted(series.items())):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                    linestyle=styles[i % len(styles)], label=label)
        ax.set_xlabel(x_axis)
        ax.set_ylabel(metric)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        ax.set_title(f"{name}: {metric}")
        if len(series) > 1:
            ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        path = directory / f"{name}-{metric.replace('/', '_')}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
