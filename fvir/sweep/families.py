"""Scenario families: sweep axes that change a scenario's shape, not one value of it.

A sweep file may name a family (`family = "paper-gains"`); its parameters are then axes like
any other (`tenants = [2, 4, 8, 16]`), and the family builds each point's tenant list from
them on top of the base scenario (the dotted-path axes apply afterwards).

`paper-gains`, the paper's private-cloud setup (docs/cloud.md, "The paper's claims as
curves"): parameters `tenants` (n), `skew` (s in [0, 1]), `mix` ("cnn", "rnn", "mixed"),
`phase_s` (default 2.0):

1. Models: cnn cycles ResNet-50, GoogLeNet, ResNet-18, MobileNetV2; rnn cycles LSTM, GRU;
   mixed alternates a CNN and an RNN (each list cycled in its order).
2. Every tenant is a closed loop (a saturating client: the paper's throughput
   experiments), SLO 10x the model's latency alone on the pool.
3. Skew: b = max(1, ceil(n (1 - s))) tenants are busy at a time; the run is
   P = ceil(n / b) phases of `phase_s` seconds, and phase k's busy tenants are
   (k b + j) mod n for j < b, so every tenant is busy equally often and, at s = 1, one
   tenant at a time has the load. s = 0: all busy all the time (one phase).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fvir.errors import UserError

CNN = ("resnet50", "googlenet", "resnet18", "mobilenetv2")
RNN = ("lstm", "gru")


def _models(mix: str, n: int) -> list[str]:
    if mix == "cnn":
        return [CNN[i % len(CNN)] for i in range(n)]
    if mix == "rnn":
        return [RNN[i % len(RNN)] for i in range(n)]
    return [CNN[(i // 2) % len(CNN)] if i % 2 == 0 else RNN[(i // 2) % len(RNN)]
            for i in range(n)]


def paper_gains(base: dict[str, Any], params: dict[str, Any], where: str) -> dict[str, Any]:
    n, skew = params.get("tenants"), params.get("skew", 0.0)
    mix, phase = params.get("mix", "cnn"), params.get("phase_s", 2.0)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 64:
        raise UserError(f"{where}: paper-gains 'tenants' must be an integer in 1..64, got {n!r}")
    if not isinstance(skew, int | float) or not 0 <= skew <= 1:
        raise UserError(f"{where}: paper-gains 'skew' must be in [0, 1], got {skew!r}")
    if mix not in ("cnn", "rnn", "mixed"):
        raise UserError(f"{where}: paper-gains 'mix' must be cnn, rnn or mixed, got {mix!r}")
    if not isinstance(phase, int | float) or not phase > 0:
        raise UserError(f"{where}: paper-gains 'phase_s' must be > 0, got {phase!r}")
    busy = max(1, math.ceil(n * (1 - skew) - 1e-9))
    phases = math.ceil(n / busy)
    loads: list[list[list[float]]] = [[] for _ in range(n)]
    for k in range(phases):
        on = {(k * busy + j) % n for j in range(busy)}
        for i in range(n):
            loads[i].append([k * phase, 1.0 if i in on else 0.0])
    out = dict(base)
    out["workload"] = mix
    out["duration_s"] = phases * phase
    out["tenants"] = [{"name": f"t{i}", "model": m, "arrival": "closed", "slo_scale": 10.0,
                       "load": loads[i]} for i, m in enumerate(_models(mix, n))]
    return out


Family = Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any]]
FAMILIES: dict[str, tuple[Family, frozenset[str]]] = {
    "paper-gains": (paper_gains, frozenset({"tenants", "skew", "mix", "phase_s"})),
}
