"""Cluster runs end to end on the tiny pool with two small CNNs: card removal, determinism,
scenario validation, a sweep point and `fv cloud` on a cluster scenario."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import numpy as np
import onnx
import pytest
from compiler import models  # tests/compiler, on the path as a package

from fvir.cloud.requests import DONE, REJECTED
from fvir.cluster import ClusterScenario, any_from_dict, run_cluster
from fvir.errors import UserError
from fvir.sweep import sweep_from_dict
from fvir.sweep.point import run_point
from fvir.tools.fv import main

BASE = """
name = "small-cluster"
hw = "tiny"
duration_s = 0.4
policy = "private"
[cluster]
placer = "binpack"
router = "least-outstanding"
replicas = {b = 2}
link_gbs = 1.0
migrate_ms = 2.0
[[cluster.cards]]
name = "k"
count = 2
[[cluster.cards]]
name = "gone"
remove_s = 0.2
[[tenants]]
name = "a"
model = "residual.onnx"
arrival = "poisson"
load = [[0.0, 2000.0]]
slo_scale = 20.0
[[tenants]]
name = "b"
model = "mobile.onnx"
arrival = "poisson"
load = [[0.0, 3000.0]]
slo_scale = 20.0
[[tenants]]
name = "c"
model = "residual.onnx"
arrival = "gamma"
cv = 2.0
load = [[0.0, 1000.0]]
"""


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cluster")
    onnx.save(models.residual(), d / "residual.onnx")
    onnx.save(models.mobile(), d / "mobile.onnx")
    (d / "cluster.toml").write_text(BASE)
    return d


def _scenario(base_dir: Path, **cluster) -> ClusterScenario:
    raw = tomllib.loads(BASE)
    raw["cluster"].update(cluster)
    cs = any_from_dict(raw, "test", base_dir)
    assert isinstance(cs, ClusterScenario)
    return cs


@pytest.fixture(scope="module")
def result(base_dir):
    return run_cluster(_scenario(base_dir))


def test_removed_card_serves_nothing_after_it_left(result):
    gone = next(c for c in result.cards if c.spec.name == "gone")
    assert gone.result is not None  # binpack put someone there first
    moved = {m.tenant for m in result.plan.migrations}
    assert moved == {n.split("@")[0] for n in gone.result.tenants}
    for r in gone.result.tenants.values():
        q = r.requests
        started = q.outcome[: q.n] == DONE
        # every request it finished had arrived before it left (an inference in flight at
        # the removal may finish just after)
        assert (q.arrival[: q.n][started] < 0.2).all()
    # after the removal, the moved tenants are served on other cards, after their reload
    for m in result.plan.migrations:
        assert m.src == "gone" and m.dst != "gone" and m.at_s == 0.2
        assert m.ready_s == pytest.approx(0.2 + m.bytes / 1e9 + 0.002)
        merged = result.tenants[m.tenant].requests
        late = merged.arrival[: merged.n] > m.ready_s + 0.01
        assert (merged.outcome[: merged.n][late] == DONE).mean() > 0.9


def test_every_request_accounted_once(result, base_dir):
    sc = _scenario(base_dir).scenario
    for i, spec in enumerate(sc.tenants):
        drawn = spec.arrivals(sc.rng(i), sc.duration_s)
        merged = result.tenants[spec.name].requests
        assert np.array_equal(np.sort(merged.arrival[: merged.n]), np.sort(drawn))
    assert not any((t.requests.outcome == REJECTED).any() for t in result.tenants.values())


def test_replicas_share_a_tenants_requests(result):
    b_cards = {s.card for s in result.plan.of_tenant("b")}
    assert len(b_cards) >= 2
    per_card = [sum(r.requests.n for n, r in c.result.tenants.items() if n.startswith("b@"))
                for c in result.cards if c.result is not None]
    assert sum(x > 0 for x in per_card) >= 2


def test_deterministic(result, base_dir):
    again = run_cluster(_scenario(base_dir)).to_json()
    first = result.to_json()
    for d in (first, again):
        d.pop("wall_s")
        for t in d["tenants"]:
            t.pop("relink_ms")  # measured wall time of the real links, reported only
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_admission_refuses_what_does_not_fit(base_dir):
    raw = tomllib.loads(BASE)
    raw["cluster"].update(admission=True, cards=[{"name": "one"}])
    raw["tenants"][0]["load"] = [[0.0, 1e6]]  # needs the whole card and more
    for t in raw["tenants"][1:]:
        t["load"] = [[0.0, 1e6]]
    raw["cluster"].pop("replicas")
    res = run_cluster(any_from_dict(raw, "t", base_dir))
    assert len(res.plan.refused) == 2  # the first (largest demand) takes the whole card
    for name in res.plan.refused:
        q = res.tenants[name].requests
        assert (q.outcome[: q.n] == REJECTED).all() and q.n > 0


@pytest.mark.parametrize(("patch", "message"), [
    ({"router": "random"}, "'router' must be one of round-robin, least-outstanding"),
    ({"placer": "best"}, "'placer' must be one of static, binpack, greedy"),
    ({"link_gbs": 0}, "'link_gbs' must be > 0"),
    ({"migrate_ms": -1}, "'migrate_ms' must be >= 0"),
    ({"headroom": 1.5}, "'headroom' must be in (0, 1]"),
    ({"replicas": 9}, "replicas of every tenant must be an integer in 1..3"),
    ({"replicas": {"zz": 1}}, "replicas names unknown tenant 'zz'"),
    ({"cards": []}, "'cards' must be a non-empty list"),
    ({"cards": [{"hw": "nope"}]}, "unknown hardware 'nope'"),
    ({"cards": [{"name": "x", "remove_s": 0.0}]}, "'remove_s' must come after 'add_s'"),
    ({"cards": [{"name": "x"}, {"name": "x"}]}, "card name 'x' is used twice"),
    ({"cards": [{"count": 0}]}, "'count' must be an integer in 1..4096"),
    ({"compare": ["best"]}, "'compare' must be a list drawn from"),
    ({"speed": 1}, "unknown key 'speed'"),
])
def test_validation_errors_are_one_line(base_dir, patch, message):
    raw = tomllib.loads(BASE)
    raw["cluster"].update(patch)
    with pytest.raises(UserError) as e:
        any_from_dict(raw, "f.toml", base_dir)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_single_card_designs_refused_with_a_cluster(base_dir):
    raw = tomllib.loads(BASE)
    raw["baselines"] = ["tdm"]
    with pytest.raises(UserError, match="compare placers with compare"):
        any_from_dict(raw, "f.toml", base_dir)
    raw = tomllib.loads(BASE)
    raw["policy"] = "public"
    for t in raw["tenants"]:
        t["share"] = 0.25
    with pytest.raises(UserError, match="policy runs inside each card"):
        any_from_dict(raw, "f.toml", base_dir)


def test_a_cluster_sweep_point(base_dir):
    raw = tomllib.loads(BASE)
    spec = sweep_from_dict({"base": copy.deepcopy(raw), "grid": {
        "cluster.placer": ["static", "binpack"]}}, "sw", base_dir)
    assert [p.params for p in spec.points] == [{"cluster.placer": "static"},
                                               {"cluster.placer": "binpack"}]
    row = run_point(spec.points[1], base_dir)
    ref = run_cluster(_scenario(base_dir)).to_json()
    assert row["goodput"] == ref["goodput"]
    assert row["card.k0.utilization"] == ref["cards"][0]["utilization"]
    assert "wall_s" not in row
    with pytest.raises(UserError, match="'placer' must be one of"):
        sweep_from_dict({"base": raw, "grid": {"cluster.placer": ["nope"]}}, "sw", base_dir)


def test_fv_cloud_on_a_cluster_scenario(base_dir, capsys):
    assert main(["cloud", str(base_dir / "cluster.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["cards"]] == ["k0", "k1", "gone"]
    assert data["migrations"] == len(data["migration_list"]) >= 1
    assert main(["cloud", "capacity", str(base_dir / "cluster.toml")]) == 1
    assert "capacity searches a single card" in capsys.readouterr().err


def test_shipped_cluster_scenario_loads():
    path = Path(__file__).parents[2] / "scenarios" / "cluster-8x64.toml"
    cs = any_from_dict(tomllib.loads(path.read_text()), path.name, path.parent)
    assert isinstance(cs, ClusterScenario)
    assert len(cs.cluster.cards) == 8 and len(cs.scenario.tenants) == 64
    assert [c.remove_s for c in cs.cluster.cards].count(300.0) == 1
    assert sum(cs.cluster.replicas_of(t.name) for t in cs.scenario.tenants) == 80
