"""PNG plots of an experiment (matplotlib, headless): throughput over time per tenant,
cores over time per tenant, and total throughput against the baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fvir.cloud.experiment import Experiment


def write_plots(exp: Experiment, out_dir: str | Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = exp.scenario.name
    duration = exp.scenario.duration_s
    width = max(duration / 60, 0.05)  # ~60 bins over the scenario
    bins = np.arange(0, duration + width, width)
    written = []

    fig, ax = plt.subplots(figsize=(8, 4))
    for t in exp.pool.tenants.values():
        counts, _ = np.histogram(t.completions, bins)
        ax.plot(bins[:-1], counts / width, label=f"{t.name} ({t.model})")
    ax.set(xlabel="time (s)", ylabel="inferences / s", title=f"{name}: throughput per tenant")
    if exp.pool.tenants:  # no tenants, no lines: matplotlib would warn "No artists"
        ax.legend(fontsize="small")
    written.append(_save(fig, out / f"{name}-throughput.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    for t in exp.pool.tenants.values():
        xs = [s for s, _ in t.cores] + [t.end_s]
        ys = [len(c) for _, c in t.cores]
        ax.step(xs, [*ys, ys[-1]], where="post", label=t.name)
    ax.set(xlabel="time (s)", ylabel="cores", title=f"{name}: allocation ({exp.pool.policy})")
    if exp.pool.tenants:
        ax.legend(fontsize="small")
    written.append(_save(fig, out / f"{name}-allocation.png"))

    if exp.baselines:
        fig, ax = plt.subplots(figsize=(6, 4))
        labels = [f"pool ({exp.pool.policy})", *exp.baselines]
        values = [exp.pool.total_throughput, *(r.total_throughput for r in exp.baselines.values())]
        ax.bar(labels, values, color=["tab:green"] + ["tab:gray"] * len(exp.baselines))
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom")
        ax.set(ylabel="total inferences / s", title=f"{name}: versus baselines")
        written.append(_save(fig, out / f"{name}-baselines.png"))
    return written


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
