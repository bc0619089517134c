"""Router, placers and the migration plan on hand-made inputs (no simulation)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from fvir.cluster.placer import BinPackPlacer, Card, Need, StaticPlacer, demand
from fvir.cluster.plan import make_plan
from fvir.cluster.router import least_outstanding, round_robin
from fvir.cluster.spec import CardSpec, ClusterSpec


@dataclass
class _Pool:
    num_cores: int


class _Lib:
    """A library stand-in: throughput(model, n) = per-core rate x n (a linear curve)."""

    def __init__(self, cores: int, per_core: dict[str, float]) -> None:
        self.pool = _Pool(cores)
        self.per_core = per_core

    def throughput(self, model: str, n: int) -> float:
        return self.per_core[model] * n


def _card(name: str, cores: int = 16, add: float = 0.0, remove: float = math.inf) -> Card:
    return Card(CardSpec(name, "x", add, remove), _Lib(cores, {"m": 100.0}))


def test_round_robin_alternates_among_accepting_replicas():
    a = np.array([0.1, 0.2, 0.3, 0.4, 1.5, 1.6, 2.5])
    # replica 0 accepts [0, 2), replica 1 [0, 3); after 3 s nothing does
    got = round_robin(a, [(0.0, 2.0), (0.0, 3.0)])
    assert got.tolist() == [0, 1, 0, 1, 0, 1, 1]
    assert round_robin(np.array([3.5]), [(0.0, 3.0)]).tolist() == [-1]


def test_least_outstanding_by_hand():
    # Two replicas, service 1.0 s and 0.5 s, both ready at 0. Arrivals at 0, 0, 0, 0.6:
    # r0 -> 0 (0 vs 0 outstanding, tie to the first; finishes 1.0), r1 -> 1 (finishes 0.5),
    # r2 -> 0 (1 vs 1: tie, first; finishes 2.0), at 0.6 replica 1's request has finished
    # (0.5 <= 0.6) so it has 0 outstanding against 2: r3 -> 1.
    got = least_outstanding(np.array([0.0, 0.0, 0.0, 0.6]), [(0.0, 9.0), (0.0, 9.0)],
                            [0.0, 0.0], [1.0, 0.5])
    assert got.tolist() == [0, 1, 0, 1]


def test_demand_from_the_curve():
    card = _card("c")
    # 100/s per core, headroom 0.8: 250/s needs 4 cores (320 >= 250 > 240)
    assert demand(Need("t", "m", 250.0, math.inf), card, 0.8) == 4
    # the SLO: latency 1/(100 n) <= 2 ms / 2 needs n >= 10
    assert demand(Need("t", "m", 1.0, 0.002), card, 0.8) == 10
    assert demand(Need("t", "m", math.inf, math.inf), card, 0.8) == 1  # a closed loop
    assert demand(Need("t", "m", 1e9, math.inf), card, 0.8) == 16  # never met: whole card


def test_binpack_worst_fit_and_admission():
    cards = [_card("a"), _card("b")]
    needs = [Need(f"t{i}", "m", r, math.inf) for i, r in enumerate([700, 500, 300, 1000])]
    # demands at headroom 1: 7, 5, 3, 10 cores; by decreasing demand, each to the card left
    # with the larger free share (ties: the later name). t3 (10): 6/16 both -> b; t0 (7):
    # a 9/16, b -1/16 -> a; t1 (5): a 4/16, b 1/16 -> a; t2 (3): a 1/16, b 3/16 -> b.
    assign, refused = BinPackPlacer().place(needs, cards, {}, [], False, 1.0)
    assert assign == {"t0": ("a",), "t1": ("a",), "t2": ("b",), "t3": ("b",)}
    assert refused == []
    # With admission and t4 of 8 cores: t3 -> b; t4 (8): a 8/16 -> a; t0 (7): only a fits
    # (1/16) -> a; t1 (5): only b fits -> b (15/16); t2 (3) fits nowhere: refused.
    more = [*needs, Need("t4", "m", 800, math.inf)]
    assign, refused = BinPackPlacer().place(more, cards, {}, [], True, 1.0)
    assert refused == ["t2"] and "t2" not in assign
    assert assign == {"t0": ("a",), "t1": ("b",), "t3": ("b",), "t4": ("a",)}


def test_static_round_robin_ignores_load_and_new_cards():
    cards = [_card("a"), _card("b"), _card("c")]
    needs = [Need(f"t{i}", "m", 10.0 * (i + 1), math.inf) for i in range(4)]
    assign, _ = StaticPlacer().place(needs, cards, {}, [], False, 1.0)
    assert assign == {"t0": ("a",), "t1": ("b",), "t2": ("c",), "t3": ("a",)}
    # card c joins later: static gives it nothing and keeps everyone where they are
    assign2, _ = StaticPlacer().place(needs, cards, dict(assign) | {"t2": ("a",)}, ["c"],
                                      False, 1.0)
    assert "c" not in {x for v in assign2.values() for x in v}


def test_binpack_fills_a_joining_card():
    cards = [_card("a"), _card("new")]
    needs = [Need(f"t{i}", "m", 400.0, math.inf) for i in range(3)]  # 4 cores each at 1.0
    current = {n.tenant: ("a",) for n in needs}
    assign, _ = BinPackPlacer().place(needs, cards, current, ["new"], False, 1.0)
    # a holds 12/16; moving one (4) to new gives a 8/16 and new 4/16; a second move would
    # give new 8/16, not below a's 8/16: stop.
    assert sorted(v[0] for v in assign.values()) == ["a", "a", "new"]


def test_migration_charged_weight_reload_plus_latency():
    cards = [_card("a", remove=2.0), _card("b")]
    cluster = ClusterSpec([c.spec for c in cards], placer="static", link_gbs=2.0,
                          migrate_ms=5.0)
    needs = [Need("t", "m", 10.0, math.inf)]
    plan = make_plan(needs, cards, cluster, StaticPlacer().place, 10.0,
                     lambda tenant, card: 40_000_000)
    (m,) = plan.migrations
    # 40 MB over 2 GB/s = 20 ms, plus 5 ms
    assert (m.src, m.dst, m.at_s) == ("a", "b", 2.0)
    assert m.ready_s == pytest.approx(2.025)
    first, second = plan.of_tenant("t")
    assert (first.card, first.stop_s, first.route_to) == ("a", 2.0, 2.0)
    # nothing else serves t meanwhile, so requests queue for b from the removal on
    assert (second.card, second.route_from) == ("b", 2.0)
    assert second.start_s == pytest.approx(2.025)
    assert [cards for _, cards in plan.placements] == [{"a": ["t"], "b": []}, {"b": ["t"]}]
