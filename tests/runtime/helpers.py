"""Shared helpers for the runtime tests: synthetic packages, independent references for LPT,
the optimum makespan (brute force) and the byte-range dependencies between layers."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

import numpy as np

from fvir.hw import PAPER_U200, TINY
from fvir.ifp.package import Package
from fvir.runtime.synthetic import make_package

U200_HASH = PAPER_U200.core.config_hash()
TINY_HASH = TINY.core.config_hash()


def random_package(seed: int, layers: int = 8, max_frames: int = 40, host_every: int = 0,
                   core_hash: str = U200_HASH, **kwargs) -> Package:
    """`layers` layers of random frame counts (1..max_frames) and near-uniform costs (a full
    tile cost, a smaller remainder tile, a few percent of jitter at the borders), with a host
    layer every `host_every` layers when non-zero."""
    rng = np.random.default_rng(seed)
    costs: list[list[int] | None] = []
    for li in range(layers):
        if host_every and li % host_every == host_every - 1:
            costs.append(None)
            continue
        count = int(rng.integers(1, max_frames + 1))
        full = int(rng.integers(1000, 50_000))
        layer = (full * (1 + rng.uniform(-0.03, 0.03, count))).astype(np.int64)
        layer[-1] = int(full * rng.uniform(0.1, 1.0))  # the remainder tile
        costs.append(layer.tolist())
    return make_package(costs, core_hash=core_hash, **kwargs)


def lpt_reference(costs: Sequence[float], n: int) -> list[int]:
    """Textbook LPT for one phase: heaviest first (stable), to the least-loaded core, the lowest
    core on ties; returns the core of each cost, in the given order."""
    order = sorted(range(len(costs)), key=lambda i: -costs[i])
    heap = [(0.0, c) for c in range(n)]
    out = [0] * len(costs)
    for i in order:
        load, c = heapq.heappop(heap)
        out[i] = c
        heapq.heappush(heap, (load + costs[i], c))
    return out


def makespan(costs: Sequence[float], cores: Sequence[int], n: int) -> float:
    loads = [0.0] * n
    for c, k in zip(costs, cores, strict=True):
        loads[k] += c
    return max(loads)


def optimum(costs: Sequence[float], n: int) -> float:
    """The best makespan, by brute force (tiny instances only)."""
    best = float("inf")
    for assign in itertools.product(range(n), repeat=len(costs)):
        best = min(best, makespan(costs, assign, n))
    return best


def byte_ranges(package: Package, tensors: Sequence[int]) -> list[tuple[int, int, int]]:
    out = []
    for t in tensors:
        info = package.tensors[t]
        size = int(np.prod(info.shape)) * np.dtype(info.dtype).itemsize
        out.append((info.segment, info.offset, info.offset + size))
    return out


def conflict(package: Package, i: int, j: int) -> bool:
    """Layers i and j must not run in the same phase: one writes bytes the other touches."""
    def hit(a, b):
        return any(sa == sb and max(la, lb) < min(ha, hb)
                   for sa, la, ha in a for sb, lb, hb in b)
    li, lj = package.layers[i], package.layers[j]
    ri, wi = byte_ranges(package, li.inputs), byte_ranges(package, li.outputs)
    rj, wj = byte_ranges(package, lj.inputs), byte_ranges(package, lj.outputs)
    return hit(wi, rj + wj) or hit(wj, ri)
