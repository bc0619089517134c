"""The router: which of a tenant's replicas serves each of its requests.

`route(arrivals, windows, service_s, router)` returns, per request, the index of the
segment (replica) that serves it, or -1 when none accepts requests at its arrival (the
tenant is refused then: the request is rejected). Decisions are made at arrival, from the
arrival times alone, so routing is deterministic and each card can then be simulated on
its own:

1. Accepting replicas: segment j accepts a request arriving at a if
   route_from_j <= a < route_to_j (`fvir.cluster.plan`).
2. `round-robin`: requests that see the same set of accepting replicas take them in turn
   (vectorized: one group per set).
3. `least-outstanding`: the replica with the fewest of this tenant's requests outstanding
   (routed, predicted not finished), ties to the first; the prediction serves each replica
   first come first served with its service time alone on the cores the placer gave it
   (`service_s`), from its start. A tenant's replicas are disjoint core sets on different
   cards, so its own queue is what a request would wait behind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np


def accepting(arrivals: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
    """Bit j of entry i set when segment j accepts request i (module docstring, 1)."""
    codes = np.zeros(len(arrivals), np.int64)
    for j, (lo, hi) in enumerate(windows):
        codes |= ((arrivals >= lo) & (arrivals < hi)).astype(np.int64) << j
    return codes


def _bits(code: int) -> list[int]:
    return [j for j in range(code.bit_length()) if code >> j & 1]


def round_robin(arrivals: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
    codes = accepting(arrivals, windows)
    out = np.full(len(arrivals), -1, np.int64)
    for code in np.unique(codes):
        if code == 0:
            continue
        members = np.asarray(_bits(int(code)), np.int64)
        sel = np.flatnonzero(codes == code)
        out[sel] = members[np.arange(len(sel)) % len(members)]
    return out


def least_outstanding(arrivals: np.ndarray, windows: Sequence[tuple[float, float]],
                      starts: Sequence[float], service_s: Sequence[float]) -> np.ndarray:
    codes = accepting(arrivals, windows)
    out = np.full(len(arrivals), -1, np.int64)
    single = np.isin(codes, [1 << j for j in range(len(windows))])
    out[single] = np.log2(codes[single]).astype(np.int64)
    if single.all() or not (codes > 0).any():
        return out  # at most one replica accepts at any time: nothing to choose
    pending: list[deque[float]] = [deque() for _ in windows]  # predicted finishes
    free = [float(s) for s in starts]  # when each replica's predicted queue ends
    members = {int(c): _bits(int(c)) for c in np.unique(codes) if c}
    for i, (a, code) in enumerate(zip(arrivals.tolist(), codes.tolist(), strict=True)):
        if code == 0:
            continue
        for j in members[code]:
            q = pending[j]
            while q and q[0] <= a:
                q.popleft()
        j = min(members[code], key=lambda k: (len(pending[k]), k))
        free[j] = max(free[j], a) + service_s[j]
        pending[j].append(free[j])
        out[i] = j
    return out


def route(arrivals: np.ndarray, windows: Sequence[tuple[float, float]],
          starts: Sequence[float], service_s: Sequence[float], router: str) -> np.ndarray:
    """The serving segment of every request (module docstring)."""
    if router == "round-robin":
        return round_robin(arrivals, windows)
    return least_outstanding(arrivals, windows, starts, service_s)
