"""PNG plots of an experiment and of a capacity search (matplotlib, headless).

1. Throughput per tenant over time, in bins of several inferences (a bin shorter than an
   inference shows a 0/1 sawtooth, not a rate); y from zero.
2. Allocation: the integer cores each tenant holds, as a stacked area (the stack's top is the
   pool's busy cores), so tenants with the same curve stay distinguishable; a run with more
   than `MAX_STEPS` re-allocations (a policy following bursts) is shown as time-weighted
   means per bin, which a step plot of thousands of changes could not show.
3. Totals against the baselines: throughput and, with SLOs, goodput; y from zero.
4. Capacity: SLO attainment against the load scale for the pool and every baseline (the
   serving papers' standard figure), each design's capacity marked, with the target line.
Tenants with equal curves get different line styles as well as colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fvir.cloud.experiment import Experiment

STYLES = ("-", "--", ":", "-.")
MAX_STEPS = 400  # allocation changes drawn as such; beyond, binned


def _bin_mean(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-weighted mean per bin of a step function (`values[i]` from `times[i]` on), one
    value per edge (the last repeats, for a step plot)."""
    knots = np.union1d(times, edges)
    at = np.searchsorted(times, knots[:-1], "right") - 1
    area = np.concatenate([[0.0], np.cumsum(values[np.maximum(at, 0)] * np.diff(knots))])
    cum = np.interp(edges, knots, area)
    means = np.diff(cum) / np.diff(edges)
    return np.append(means, means[-1])


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bin_width(exp: Experiment) -> float:
    """Bins of ~60 over the run, but at least 5 mean inferences of the slowest tenant."""
    duration = exp.scenario.duration_s
    slowest = max((float(np.mean(np.diff(t.completions))) for t in exp.pool.tenants.values()
                   if len(t.completions) > 1), default=0.0)
    return max(duration / 60, 5 * slowest, 1e-6)


def write_plots(exp: Experiment, out_dir: str | Path) -> list[Path]:
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = exp.scenario.name
    duration = exp.scenario.duration_s
    width = _bin_width(exp)
    bins = np.arange(0, duration + width, width)
    written = []

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, t in enumerate(exp.pool.tenants.values()):
        counts, _ = np.histogram(t.completions, bins)
        ax.step(bins[:-1], counts / width, where="post", linestyle=STYLES[i % len(STYLES)],
                label=f"{t.name} ({t.model})")
    ax.set(xlabel="time (s)", ylabel=f"inferences / s ({width:.3g} s bins)",
           title=f"{name}: throughput per tenant")
    ax.set_ylim(bottom=0)
    if exp.pool.tenants:  # no tenants, no lines: matplotlib would warn "No artists"
        ax.legend(fontsize="small")
    written.append(_save(fig, out / f"{name}-throughput.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    tenants = list(exp.pool.tenants.values())
    times = np.array(sorted({0.0, duration, *(s for t in tenants for s, _ in t.cores)}))
    layers = np.zeros((len(tenants), len(times)))
    for i, t in enumerate(tenants):  # cores held from each change time on
        starts = np.array([s for s, _ in t.cores])
        counts = np.array([len(c) for _, c in t.cores])
        at = np.searchsorted(starts, times, "right") - 1
        held = np.where(at >= 0, counts[np.maximum(at, 0)], 0)
        layers[i] = np.where((times >= t.start_s) & (times < t.end_s), held, 0)
    label = "cores"
    if len(times) > MAX_STEPS:  # thousands of re-plans: time-weighted means per bin
        edges = np.linspace(0.0, duration, MAX_STEPS // 2 + 1)
        layers = np.array([_bin_mean(times, la, edges) for la in layers])
        times, label = edges, f"cores (mean per {edges[1]:.3g} s)"
    ax.stackplot(times, layers, step="post", labels=[t.name for t in tenants])
    top = float(layers.sum(axis=0).max()) if layers.size else 1.0
    ax.set(xlabel="time (s)", ylabel=label, title=f"{name}: allocation ({exp.pool.policy})",
           ylim=(0, max(top, 1.0) * 1.05))
    ax.yaxis.get_major_locator().set_params(integer=True)
    if tenants:
        ax.legend(fontsize="small", loc="upper right")
    written.append(_save(fig, out / f"{name}-allocation.png"))

    if exp.baselines:
        fig, ax = plt.subplots(figsize=(6, 4))
        designs = [(f"pool ({exp.pool.policy})", exp.pool), *exp.baselines.items()]
        x = np.arange(len(designs))
        slo = any(np.isfinite(t.slo_s) for t in exp.pool.tenants.values())
        tput = [r.total_throughput for _, r in designs]
        ax.bar(x - (0.2 if slo else 0), tput, 0.4 if slo else 0.6, label="throughput")
        if slo:
            ax.bar(x + 0.2, [r.goodput for _, r in designs], 0.4, label="goodput (met SLO)")
            ax.legend(fontsize="small")
        for i, v in enumerate(tput):
            ax.text(i - (0.2 if slo else 0), v, f"{v:.1f}", ha="center", va="bottom")
        ax.set_xticks(x, [d for d, _ in designs])
        ax.set(ylabel="requests / s", title=f"{name}: versus baselines")
        ax.set_ylim(bottom=0)
        written.append(_save(fig, out / f"{name}-baselines.png"))
    return written


def plot_capacity(name: str, caps: Sequence[Any], target: float,
                  out_dir: str | Path) -> Path:
    """Figure 4 of the module docstring from `fvir.cloud.capacity.Capacity` results."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, c in enumerate(caps):
        pts = sorted(c.runs)
        line, = ax.plot([x for x, _ in pts], [a for _, a in pts], marker="o", markersize=3,
                        linestyle=STYLES[i % len(STYLES)], label=f"{c.design}: {c.scale:.3g}x")
        if c.scale:
            ax.axvline(c.scale, color=line.get_color(), linewidth=0.8, alpha=0.5)
    ax.axhline(target, color="black", linewidth=0.8, linestyle=":")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="load scale (x the scenario's rates)", ylabel="SLO attainment",
           title=f"{name}: attainment versus load (capacity at {target:.0%})", ylim=(0, 1.02))
    ax.legend(fontsize="small", loc="lower left")
    return _save(fig, Path(out_dir) / f"{name}-capacity.png")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
