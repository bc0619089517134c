"""PNG plots of a cluster run (matplotlib, headless).

1. Per card: busy and allocated shares of its core-seconds (bars), y from zero.
2. Per card: completions per second over time, in ~60 bins, with the card events (joins,
   leaves) and the migrations marked; y from zero.
3. With compared placers: goodput and SLO attainment per placer (bars).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fvir.cloud.requests import DONE
from fvir.cluster.results import ClusterResult


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(result: ClusterResult, out_dir: str | Path) -> list[Path]:
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = result.scenario.name
    paths = []

    cards = result.cards
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(cards)), 4))
    x = np.arange(len(cards))
    util = np.asarray([c.utilization() for c in cards]).reshape(-1, 2)
    ax.bar(x - 0.2, 100 * util[:, 0], 0.4, label="busy")
    ax.bar(x + 0.2, 100 * util[:, 1], 0.4, label="allocated", hatch="//", alpha=0.7)
    ax.set_xticks(x, [c.spec.name for c in cards], rotation=45, ha="right")
    ax.set_ylabel("% of the card's core-seconds")
    ax.set_ylim(0, 105)
    ax.set_title(f"{name}: utilization per card ({result.placer})")
    ax.legend()
    fig.tight_layout()
    paths.append(out / f"{name}-cards.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    duration = result.scenario.duration_s
    edges = np.linspace(0.0, duration, 61)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    styles = ("-", "--", ":", "-.")
    for i, c in enumerate(cards):
        if c.result is None:
            continue
        done = [t.requests.finish[: t.requests.n][t.requests.outcome[: t.requests.n] == DONE]
                for t in c.result.tenants.values()]
        counts, _ = np.histogram(np.concatenate(done) if done else np.zeros(0), edges)
        ax.step(edges[:-1], counts / np.diff(edges), where="post", label=c.spec.name,
                linestyle=styles[i % len(styles)])
    for t in result.cluster.event_times(duration):
        ax.axvline(t, color="black", linewidth=0.8)
    for m in result.plan.migrations:
        ax.axvline(m.ready_s, color="grey", linewidth=0.4, linestyle=":")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("completions / s")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{name}: throughput per card (card events black, migrations grey)")
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    paths.append(out / f"{name}-throughput.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    if result.compared:
        runs = {result.placer: result, **result.compared}
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        labels = list(runs)
        a1.bar(labels, [r.goodput for r in runs.values()])
        a1.set_ylabel("goodput (req/s)")
        a2.bar(labels, [100 * np.nan_to_num(r.slo_attainment) for r in runs.values()])
        a2.set_ylabel("SLO attainment (%)")
        a2.set_ylim(0, 105)
        fig.suptitle(f"{name}: placers on the same requests")
        fig.tight_layout()
        paths.append(out / f"{name}-placers.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
