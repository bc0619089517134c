"""Cluster scenarios: a cloud scenario (`fvir.cloud.scenario`) plus a `[cluster]` table.

    [cluster]
    router = "least-outstanding"   # or "round-robin": which replica serves a request
    placer = "binpack"             # "static", "binpack" or "greedy": which card a tenant is on
    compare = ["static"]           # other placers to run on the same scenario (the gains)
    replicas = 1                   # cards per tenant (an integer, or a table tenant = n)
    admission = true               # refuse a tenant no card has room for (else overcommit)
    headroom = 0.8                 # binpack: a tenant's load may use this share of its cores
    link_gbs = 12.0                # host/network link a migration reloads weights over (GB/s)
    migrate_ms = 10.0              # fixed cost of a migration on top of the reload
    score_s = 5.0                  # greedy: simulated seconds each candidate card is scored on
    [[cluster.cards]]
    name = "u200-"                 # with count > 1: u200-0, u200-1, ...
    hw = "paper-u200"              # preset or hw TOML (relative to the scenario file)
    count = 8
    add_s = 0.0                    # the card joins at this time
    remove_s = 300.0               # and leaves at this one (default: never)

1. Split the `[cluster]` table off and read the rest with `scenario_from_dict`, so a file
   without it is an ordinary single-card scenario, unchanged (`load_any`).
2. Check every cluster value up front, each mistake one line naming the key.
3. The scenario's `policy` runs inside every card (private, goodput or static); its
   `baselines` are single-card designs and are refused with a cluster (use `compare`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fvir.cloud.scenario import Scenario, scenario_from_dict
from fvir.errors import UserError, read_toml
from fvir.hw.toml import load_hw

ROUTERS = ("round-robin", "least-outstanding")
PLACERS = ("static", "binpack", "greedy")
CARD_POLICIES = ("private", "goodput", "static")
CLUSTER_KEYS = {"router", "placer", "compare", "replicas", "admission", "headroom",
                "link_gbs", "migrate_ms", "score_s", "cards"}
CARD_KEYS = {"name", "hw", "count", "add_s", "remove_s"}


@dataclass(frozen=True)
class CardSpec:
    name: str
    hw: str
    add_s: float = 0.0
    remove_s: float = math.inf

    def live(self, t: float) -> bool:
        return self.add_s <= t < self.remove_s


@dataclass
class ClusterSpec:
    cards: list[CardSpec]
    router: str = "least-outstanding"
    placer: str = "binpack"
    compare: list[str] = field(default_factory=list)
    replicas: dict[str, int] = field(default_factory=dict)  # tenant -> cards (default 1)
    admission: bool = False
    headroom: float = 0.8
    link_gbs: float = 12.0
    migrate_ms: float = 10.0
    score_s: float = 5.0

    def replicas_of(self, tenant: str) -> int:
        return self.replicas.get(tenant, 1)

    def event_times(self, duration_s: float) -> list[float]:
        """Times in (0, duration) at which a card joins or leaves."""
        times = {t for c in self.cards for t in (c.add_s, c.remove_s) if 0 < t < duration_s}
        return sorted(times)


@dataclass
class ClusterScenario:
    scenario: Scenario
    cluster: ClusterSpec


def _number(raw: dict[str, Any], key: str, where: str, default: float, lo: float,
            lo_open: bool = False, infinite: bool = False) -> float:
    value = raw.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UserError(f"{where}: '{key}' must be a number, not {type(value).__name__}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not infinite) or x < lo or (lo_open and x == lo):
        raise UserError(f"{where}: '{key}' must be {'>' if lo_open else '>='} {lo:g}"
                        f"{'' if infinite else ' and finite'}, got {value!r}")
    return x


def _choice(raw: dict[str, Any], key: str, where: str, default: str,
            allowed: tuple[str, ...]) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise UserError(f"{where}: '{key}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _cards(raw: Any, where: str, base: Path, default_hw: str) -> list[CardSpec]:
    if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
        raise UserError(f"{where}: 'cards' must be a non-empty list of [[cluster.cards]] tables")
    cards: list[CardSpec] = []
    for i, c in enumerate(raw):
        at = f"{where}: cards[{i}]"
        if unknown := sorted(set(c) - CARD_KEYS):
            raise UserError(f"{at}: unknown key '{unknown[0]}' "
                            f"(known: {', '.join(sorted(CARD_KEYS))})")
        name = c.get("name", f"card{i}-" if c.get("count", 1) != 1 else f"card{i}")
        if not isinstance(name, str) or not name:
            raise UserError(f"{at}: 'name' must be a non-empty string")
        hw = c.get("hw", default_hw)
        if not isinstance(hw, str):
            raise UserError(f"{at}: 'hw' must be a preset name or a TOML file")
        if hw.endswith(".toml") and not Path(hw).is_absolute():
            hw = str((base / hw).resolve())
        load_hw(hw)  # an unknown preset or a bad file fails here, in one line
        count = c.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4096:
            raise UserError(f"{at}: 'count' must be an integer in 1..4096, got {count!r}")
        add = _number(c, "add_s", at, 0.0, 0.0)
        remove = _number(c, "remove_s", at, math.inf, 0.0, infinite=True)
        if remove <= add:
            raise UserError(f"{at}: 'remove_s' must come after 'add_s'")
        names = [name] if count == 1 else [f"{name}{k}" for k in range(count)]
        cards += [CardSpec(n, hw, add, remove) for n in names]
    seen = [c.name for c in cards]
    if len(set(seen)) != len(seen):
        dup = next(n for n in seen if seen.count(n) > 1)
        raise UserError(f"{where}: card name '{dup}' is used twice")
    return cards


def _replicas(raw: Any, where: str, tenants: set[str], cards: int) -> dict[str, int]:
    def check(n: Any, who: str) -> int:
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= cards:
            raise UserError(f"{where}: replicas of {who} must be an integer in 1..{cards} "
                            f"(the cards), got {n!r}")
        return n

    if isinstance(raw, dict):
        if unknown := sorted(set(raw) - tenants):
            raise UserError(f"{where}: replicas names unknown tenant '{unknown[0]}'")
        return {t: check(n, f"'{t}'") for t, n in raw.items()}
    n = check(raw, "every tenant")
    return {t: n for t in tenants}


def cluster_from_dict(raw: dict[str, Any], scenario: Scenario, where: str,
                      base: Path) -> ClusterSpec:
    """The `[cluster]` table of a scenario whose other keys gave `scenario`."""
    where = f"{where}: [cluster]"
    if not isinstance(raw, dict):
        raise UserError(f"{where}: must be a table")
    if unknown := sorted(set(raw) - CLUSTER_KEYS):
        raise UserError(f"{where}: unknown key '{unknown[0]}' "
                        f"(known: {', '.join(sorted(CLUSTER_KEYS))})")
    if scenario.policy not in CARD_POLICIES:
        raise UserError(f"{where}: the scenario's policy runs inside each card and must be one "
                        f"of {', '.join(CARD_POLICIES)}, got '{scenario.policy}'")
    if scenario.baselines:
        raise UserError(f"{where}: 'baselines' are single-card designs; compare placers with "
                        "compare = [...] instead")
    if "cards" not in raw:
        raise UserError(f"{where}: missing [[cluster.cards]]")
    cards = _cards(raw["cards"], where, base, scenario.hw)
    placer = _choice(raw, "placer", where, "binpack", PLACERS)
    compare = raw.get("compare", [])
    if not isinstance(compare, list) or any(p not in PLACERS for p in compare):
        raise UserError(f"{where}: 'compare' must be a list drawn from {', '.join(PLACERS)}")
    admission = raw.get("admission", False)
    if not isinstance(admission, bool):
        raise UserError(f"{where}: 'admission' must be true or false")
    spec = ClusterSpec(
        cards=cards, router=_choice(raw, "router", where, "least-outstanding", ROUTERS),
        placer=placer, compare=[p for p in dict.fromkeys(compare) if p != placer],
        replicas=_replicas(raw.get("replicas", 1), where,
                           {t.name for t in scenario.tenants}, len(cards)),
        admission=admission,
        headroom=_number(raw, "headroom", where, 0.8, 0.0, lo_open=True),
        link_gbs=_number(raw, "link_gbs", where, 12.0, 0.0, lo_open=True),
        migrate_ms=_number(raw, "migrate_ms", where, 10.0, 0.0),
        score_s=_number(raw, "score_s", where, 5.0, 0.0, lo_open=True))
    if spec.headroom > 1:
        raise UserError(f"{where}: 'headroom' must be in (0, 1], got {spec.headroom:g}")
    return spec


def any_from_dict(raw: dict[str, Any], where: str = "scenario",
                  base: Path = Path(".")) -> Scenario | ClusterScenario:
    """A single-card `Scenario`, or a `ClusterScenario` when `raw` has a [cluster] table."""
    if "cluster" not in raw:
        return scenario_from_dict(raw, where, base)
    rest = {k: v for k, v in raw.items() if k != "cluster"}
    scenario = scenario_from_dict(rest, where, base)
    return ClusterScenario(scenario, cluster_from_dict(raw["cluster"], scenario, where, base))


def load_any(path: str | Path) -> Scenario | ClusterScenario:
    """Read a scenario file, with or without a [cluster] table."""
    path = Path(path)
    raw = read_toml(path, "scenario")
    return any_from_dict(raw, path.name, path.parent)
