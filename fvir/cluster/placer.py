"""Placers: which cards each tenant lives on (`replicas` cards each).

A placer is called at time 0 and whenever cards join or leave, with the tenants' needs, the
live cards and where every tenant is now; it keeps every replica whose card is still live
and places the missing ones. With `admission`, a replica goes only where its demand fits,
and a tenant none of whose replicas fits is refused (its requests are rejected); without,
cards are overcommitted (their policy then serves the tenants its own optimum prefers).

1. Demand (`demand`): the cores a replica needs on a card, from that card's cost-model
   curves: the fewest cores n whose throughput x `headroom` covers the replica's peak
   offered rate and whose latency alone (1 / T(n)) is at most half the SLO (the other half
   is left to queueing); a closed loop (a saturating client) needs one core; a need no
   core count meets takes the whole card.
2. `static` (the baseline): tenant i on live card i mod N in scenario order (its next
   replicas on the following cards), whatever the load; new cards get nothing.
3. `binpack`: tenants by decreasing demand, each replica on the card left with the largest
   free share of its cores (worst fit: spreads load, keeps headroom everywhere); when cards
   join, the smallest tenants of the fullest card move to the emptiest one while that lowers
   the fullest card's share (at most one move per tenant).
4. `greedy`: tenants in the same order, each replica on the card where the simulator scores
   the largest gain: `score(card, tenants)` is the goodput of that card serving those
   tenants alone for `score_s` seconds (run by the caller), so the gain of a candidate is
   score(with) - score(without); ties go to the freer card. Joining cards are filled as by
   binpack.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fvir.cloud.library import ModelLibrary
from fvir.cluster.spec import CardSpec

Assignment = dict[str, tuple[str, ...]]  # tenant -> card names of its replicas
Score = Callable[[str, tuple[str, ...]], float]


@dataclass(frozen=True)
class Need:
    """A tenant as the placers see it: its model, peak offered rate per replica (inf: a
    closed loop), SLO (s) and replica count."""

    tenant: str
    model: str
    rate: float
    slo_s: float
    replicas: int = 1


@dataclass(frozen=True)
class Card:
    spec: CardSpec
    library: ModelLibrary  # the card's hardware, with every tenant's model

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def cores(self) -> int:
        return self.library.pool.num_cores


def demand(need: Need, card: Card, headroom: float) -> int:
    """Cores a replica of `need` asks of `card` (module docstring, 1)."""
    if math.isinf(need.rate):
        return 1
    lib = card.library
    for n in range(1, card.cores + 1):
        tput = lib.throughput(need.model, n)
        if tput * headroom >= need.rate and (not math.isfinite(need.slo_s)
                                             or 1.0 / tput <= need.slo_s / 2):
            return n
    return card.cores


class _State:
    """Cores asked of each live card by the replicas placed so far."""

    def __init__(self, needs: Sequence[Need], cards: Sequence[Card],
                 current: Mapping[str, Sequence[str]], headroom: float) -> None:
        self.cards = {c.name: c for c in cards}
        self.needs = {n.tenant: n for n in needs}
        self.headroom = headroom
        self.assign: dict[str, list[str]] = {
            n.tenant: [c for c in current.get(n.tenant, ()) if c in self.cards] for n in needs}
        self.used = {c.name: 0 for c in cards}
        for tenant, on in self.assign.items():
            for c in on:
                self.used[c] += self.demand(tenant, c)

    def demand(self, tenant: str, card: str) -> int:
        return demand(self.needs[tenant], self.cards[card], self.headroom)

    def free_after(self, tenant: str, card: str) -> float:
        """The card's free share of its cores once `tenant` is on it."""
        c = self.cards[card]
        return (c.cores - self.used[card] - self.demand(tenant, card)) / c.cores

    def fits(self, tenant: str, card: str) -> bool:
        return self.free_after(tenant, card) >= 0

    def add(self, tenant: str, card: str) -> None:
        self.assign[tenant].append(card)
        self.used[card] += self.demand(tenant, card)

    def remove(self, tenant: str, card: str) -> None:
        self.assign[tenant].remove(card)
        self.used[card] -= self.demand(tenant, card)

    def tenants_on(self, card: str) -> tuple[str, ...]:
        return tuple(t for t, on in self.assign.items() if card in on)

    def share(self, card: str) -> float:
        return self.used[card] / self.cards[card].cores

    def result(self, refused: set[str]) -> tuple[Assignment, list[str]]:
        return ({t: tuple(on) for t, on in self.assign.items() if t not in refused},
                sorted(refused))


def _order(state: _State, needs: Sequence[Need], cards: Sequence[Card]) -> list[Need]:
    """Tenants by decreasing demand on the first live card, then scenario order."""
    ref = cards[0].name
    return sorted(needs, key=lambda n: -state.demand(n.tenant, ref))


def _place_missing(state: _State, needs: Sequence[Need], cards: Sequence[Card],
                   admission: bool, pick: Callable[[str, list[str]], str]) -> set[str]:
    """Every missing replica on the card `pick(tenant, candidates)` chooses; returns the
    refused tenants (admission: none of their replicas fits)."""
    refused: set[str] = set()
    for need in needs:
        while len(state.assign[need.tenant]) < min(need.replicas, len(cards)):
            candidates = [c.name for c in cards if c.name not in state.assign[need.tenant]
                          and (not admission or state.fits(need.tenant, c.name))]
            if not candidates:
                break
            state.add(need.tenant, pick(need.tenant, candidates))
        if not state.assign[need.tenant]:
            refused.add(need.tenant)
    return refused


def _rebalance(state: _State, added: Sequence[str]) -> None:
    """Move the smallest tenants of the fullest card to the emptiest joining card while that
    lowers the fullest card's share (module docstring, 3); one move per tenant."""
    if not added:
        return
    moved: set[str] = set()
    while True:
        full = max(state.used, key=lambda c: (state.share(c), c))
        empty = min(added, key=lambda c: (state.share(c), c))
        movable = sorted((t for t in state.tenants_on(full)
                          if t not in moved and empty not in state.assign[t]),
                         key=lambda t: (state.demand(t, full), t))
        if not movable:
            return
        t = movable[0]
        after = (state.used[empty] + state.demand(t, empty)) / state.cards[empty].cores
        if after >= state.share(full) or after > 1:
            return
        state.remove(t, full)
        state.add(t, empty)
        moved.add(t)


@dataclass
class StaticPlacer:
    name: str = "static"

    def place(self, needs: Sequence[Need], cards: Sequence[Card],
              current: Mapping[str, Sequence[str]], added: Sequence[str], admission: bool,
              headroom: float) -> tuple[Assignment, list[str]]:
        state = _State(needs, cards, current, headroom)
        count = {c.name: len(state.tenants_on(c.name)) for c in cards}
        names = [c.name for c in cards if c.name not in added] or [c.name for c in cards]
        refused: set[str] = set()
        for i, need in enumerate(needs):
            for k in range(len(names)):
                if len(state.assign[need.tenant]) >= min(need.replicas, len(names)):
                    break
                card = names[(i + k) % len(names)]
                if card in state.assign[need.tenant]:
                    continue
                if admission and count[card] >= state.cards[card].cores:
                    continue  # every tenant of a static split holds at least one core
                state.add(need.tenant, card)
                count[card] += 1
            if not state.assign[need.tenant]:
                refused.add(need.tenant)
        return state.result(refused)


@dataclass
class BinPackPlacer:
    name: str = "binpack"

    def place(self, needs: Sequence[Need], cards: Sequence[Card],
              current: Mapping[str, Sequence[str]], added: Sequence[str], admission: bool,
              headroom: float) -> tuple[Assignment, list[str]]:
        state = _State(needs, cards, current, headroom)

        def worst_fit(tenant: str, candidates: list[str]) -> str:
            return max(candidates, key=lambda c: (state.free_after(tenant, c), c))

        refused = _place_missing(state, _order(state, needs, cards), cards, admission,
                                 worst_fit)
        _rebalance(state, added)
        return state.result(refused)


@dataclass
class GreedyPlacer:
    score: Score
    name: str = "greedy"

    def place(self, needs: Sequence[Need], cards: Sequence[Card],
              current: Mapping[str, Sequence[str]], added: Sequence[str], admission: bool,
              headroom: float) -> tuple[Assignment, list[str]]:
        state = _State(needs, cards, current, headroom)

        def best_gain(tenant: str, candidates: list[str]) -> str:
            def gain(card: str) -> tuple[float, float, str]:
                on = state.tenants_on(card)
                return (self.score(card, (*on, tenant)) - self.score(card, on),
                        state.free_after(tenant, card), card)
            return max(candidates, key=gain)

        refused = _place_missing(state, _order(state, needs, cards), cards, admission,
                                 best_gain)
        _rebalance(state, added)
        return state.result(refused)


def make_placer(name: str, score: Score) -> StaticPlacer | BinPackPlacer | GreedyPlacer:
    if name == "static":
        return StaticPlacer()
    if name == "binpack":
        return BinPackPlacer()
    return GreedyPlacer(score)
