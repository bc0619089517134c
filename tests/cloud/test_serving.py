"""Serving as inference clouds measure it: SLO attainment and goodput computed by hand,
admission control and dropping, PREMA-style TDM preemption, the goodput policy, capacity
search, reproducibility, and the scenario checks of the hardening issue."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cloud.helpers import make_scenario
from fvir.cloud.capacity import search
from fvir.cloud.experiment import run_experiment
from fvir.cloud.library import ModelLibrary
from fvir.cloud.policies import GoodputPolicy, ManualPolicy, PrivatePolicy, TenantView, slo_share
from fvir.cloud.pool import run_pool
from fvir.cloud.requests import DONE, DROPPED, REJECTED, Requests
from fvir.cloud.results import TenantResult, overall_goodput
from fvir.cloud.scenario import TenantSpec, scenario_from_dict
from fvir.cloud.tdm import run_tdm
from fvir.errors import UserError
from fvir.hw import TINY
from fvir.tools.fv import main as fv_main

CLOCK = TINY.core.clock_mhz * 1e6

# ------------------------------------------------------------------ metrics by hand


def hand_result(window=(0.0, 10.0)) -> TenantResult:
    """Six requests, SLO 1 s: met, late, met, dropped, rejected, unfinished."""
    reqs = Requests(np.array([0.5, 1.0, 2.0, 3.0, 4.0, 9.5]), 1.0)
    for i, finish in ((0, 1.2), (1, 2.5), (2, 2.9)):
        reqs.done(i, finish)
    reqs.outcome[3], reqs.outcome[4] = DROPPED, REJECTED
    return TenantResult("a", "m", 0.0, 10.0, reqs, window, slo_s=1.0)


def test_attainment_and_goodput_by_hand():
    r = hand_result()
    # Met: request 0 (0.7 s) and 2 (0.9 s); request 1 took 1.5 s; 3, 4, 5 never finished.
    assert r.counts() == (6, 2)
    assert r.slo_attainment == pytest.approx(2 / 6)
    assert r.goodput == pytest.approx(2 / 10.0)
    assert r.dropped == 2 and r.rejected == 1  # dropped + still queued at the end; rejected
    assert r.percentile_ms(50) == pytest.approx(900.0)  # of 0.7, 1.5, 0.9 s
    assert r.throughput == pytest.approx(3 / 10.0)


def test_the_window_leaves_out_warmup_and_cooldown_arrivals():
    r = hand_result(window=(0.8, 9.0))  # drops request 0 (arrived 0.5) and 5 (9.5)
    assert r.counts() == (4, 1)
    assert r.slo_attainment == pytest.approx(1 / 4)
    assert r.goodput == pytest.approx(1 / 8.2)
    assert r.percentile_ms(100) == pytest.approx(1500.0)


def test_overall_goodput_adds_tenants_by_time_not_by_rate():
    """Two tenants, each in the scenario for half of a 10 s window with 2 met requests: each
    has 2 / 5 s of its own, the run 4 / 10 s (not the sum of their rates, 0.8)."""
    first = hand_result()
    late = Requests(np.array([5.5, 6.0]), 1.0)
    late.done(0, 5.8)
    late.done(1, 6.4)
    first = TenantResult("a", "m", 0.0, 5.0, first.requests, (0.0, 10.0), slo_s=1.0)
    second = TenantResult("b", "m", 5.0, 10.0, late, (0.0, 10.0), slo_s=1.0)
    assert first.goodput == pytest.approx(2 / 5) and second.goodput == pytest.approx(2 / 5)
    assert overall_goodput([first, second]) == pytest.approx(4 / 10)


def test_overall_attainment_weights_requests_not_tenants(library):
    sc = make_scenario([TenantSpec("a", "residual", arrival="trace", trace=[0.01], slo_ms=50),
                        TenantSpec("b", "mobile", arrival="trace", trace=[0.01, 0.02, 0.03],
                                   slo_ms=1e-3)], duration=0.2)
    res = run_pool(sc, library, PrivatePolicy())
    a, b = res.tenants["a"], res.tenants["b"]
    assert (a.counts(), b.counts()) == ((1, 1), (3, 0))  # 1 us cannot be met
    assert res.slo_attainment == pytest.approx(1 / 4)
    assert res.goodput == pytest.approx(1 / 0.2)


# ------------------------------------------------------------------ deadline-aware serving


def alone_s(library, model, cores):
    return library.service(model, cores).cycles / CLOCK


@pytest.mark.parametrize("cv", [1.0, 4.0])
def test_admission_never_admits_a_request_it_predicts_late(library, cv):
    svc = alone_s(library, "residual", (0, 1, 2, 3))
    spec = TenantSpec("a", "residual", arrival="gamma", cv=cv, load=[(0.0, 1.5 / svc)],
                      slo_ms=3 * svc * 1e3, cores=[(0.0, 4)])
    sc = make_scenario([spec], duration=2000 * svc, policy="manual", admission=True)
    r = run_pool(sc, library, ManualPolicy()).tenants["a"]
    reqs = r.requests
    deadline = reqs.arrival + r.slo_s
    decided = ~np.isnan(reqs.predicted)  # the last arrivals may be undecided at the end
    admitted = decided & (reqs.outcome != REJECTED)
    assert decided.sum() >= len(decided) - 10
    assert np.all(reqs.predicted[admitted] <= deadline[admitted])
    assert np.all(reqs.predicted[decided & ~admitted] > deadline[decided & ~admitted])
    assert r.rejected > 100  # 1.5x overload: a third or more must go
    # Alone on fixed cores the prediction is exact: every admitted request that finished
    # met its SLO, and finished exactly when predicted.
    done = reqs.outcome == DONE
    assert np.all(reqs.finish[done] <= deadline[done] + 1e-12)
    assert np.allclose(reqs.finish[done], reqs.predicted[done], rtol=0, atol=1e-9)


def test_dropping_serves_only_requests_that_can_still_make_it(library):
    svc = alone_s(library, "residual", (0, 1, 2, 3))
    spec = TenantSpec("a", "residual", arrival="poisson", load=[(0.0, 2 / svc)],
                      slo_ms=4 * svc * 1e3, cores=[(0.0, 4)])
    sc = make_scenario([spec], duration=2000 * svc, policy="manual", drop=True)
    r = run_pool(sc, library, ManualPolicy()).tenants["a"]
    reqs = r.requests
    done = reqs.outcome == DONE
    assert np.all(reqs.finish[done] - reqs.arrival[done] <= r.slo_s + 1e-12)
    assert np.count_nonzero(reqs.outcome == DROPPED) > 100
    # Without dropping the same overload misses (nearly) everything: the queue only grows.
    plain = make_scenario([spec], duration=2000 * svc, policy="manual")
    late = run_pool(plain, library, ManualPolicy()).tenants["a"]
    assert late.slo_attainment < 0.1 < r.slo_attainment


def test_tdm_preemption_at_frame_boundaries(library):
    """Tenant a (no SLO) starts an inference at t=0; b's request arrives mid-way with a tight
    deadline. Without preemption b waits for a; with it, b runs at a's next frame boundary
    and a finishes later by exactly b's service (work is conserved)."""
    sa, sb = alone_s(library, "residual", (0,)), alone_s(library, "mobile", (0,))
    specs = [TenantSpec("a", "residual", arrival="trace", trace=[0.0]),
             TenantSpec("b", "mobile", arrival="trace", trace=[0.4 * sa], slo_ms=1.2 * sb * 1e3)]
    frames = library["residual"].package.frames["cost"].astype(float)
    longest = frames.max() / frames.sum() * sa
    runs = {p: run_tdm(make_scenario(specs, duration=10 * (sa + sb), tdm_preempt=p), library)
            for p in (False, True)}
    a0, b0 = (runs[False].tenants[n].requests.finish[0] for n in "ab")
    a1, b1 = (runs[True].tenants[n].requests.finish[0] for n in "ab")
    assert a0 == pytest.approx(sa) and b0 == pytest.approx(sa + sb)
    assert b1 - 0.4 * sa <= sb + longest + 1e-12 and b1 < b0
    assert a1 == pytest.approx(sa + sb)
    assert runs[True].tenants["b"].slo_attainment == 1.0 > runs[False].tenants["b"].slo_attainment


def test_slo_share_by_hand():
    assert slo_share(10.0, 1.0, 0.02, 0.01, False) == 0.0  # one inference alone is late
    assert slo_share(100.0, 1.0, 0.02, 0.1, False) == 0.0  # rho 2: the queue grows
    assert slo_share(100.0, 1.0, 0.02, 0.1, True) == 1.0  # ... unless late ones are shed
    assert slo_share(math.inf, 0.0, 0.02, 0.1, False) == 1.0  # a closed loop never waits
    # rho 0.5, cv 1: Wq = 0.5 / 0.5 * 1/2 * 0.02 = 0.01; P(W > 0.03) = 0.5 exp(-0.5*3) .
    assert slo_share(25.0, 1.0, 0.02, 0.05, False) == pytest.approx(1 - 0.5 * math.exp(-1.5))


def test_goodput_policy_gives_cores_where_they_make_deadlines(library):
    """Two tenants with the same load; a's SLO is met only with 2+ cores, b's on 1. The
    throughput policy has no reason to prefer a; the goodput policy must give a 2+."""
    one = alone_s(library, "residual", (0,))
    two = alone_s(library, "residual", (0, 1))
    assert two < one
    slo = (one + two) / 2
    load = 0.05 / one
    views = [TenantView(TenantSpec("a", "residual"), "residual", load, slo, 1.0),
             TenantView(TenantSpec("b", "residual"), "residual", load, 10 * one, 1.0)]
    counts = GoodputPolicy().counts(views, library)
    assert counts["a"] >= 2 and counts["b"] >= 1


# ------------------------------------------------------------------ reproducibility


def test_runs_are_bit_for_bit_reproducible(library, packages):
    fresh = ModelLibrary(TINY)  # nothing memoised yet: a run must not depend on that
    for name, pkg in packages.items():
        fresh.add(name, pkg)
    specs = [TenantSpec("a", "residual", arrival="gamma", cv=4.0, load=[(0.0, 3000.0)],
                        slo_scale=6.0),
             TenantSpec("b", "mobile", arrival="onoff", on_s=0.02, off_s=0.05,
                        load=[(0.0, 8000.0)], slo_ms=1.0),
             TenantSpec("c", "residual", arrival="closed", load=[(0.0, 1), (0.1, 0)])]
    for opts in ({}, {"admission": True}, {"drop": True, "tdm_preempt": True}):
        sc = make_scenario(specs, duration=0.3, **opts)
        # The goodput policy re-plans on queue lengths (bursts): its run must repeat too.
        aware = bool(opts.get("admission") or opts.get("drop"))
        runs = [(run_pool(sc, lib, PrivatePolicy()), run_tdm(sc, lib),
                 run_pool(sc, lib, GoodputPolicy(deadline_aware=aware)))
                for lib in (fresh, library)]
        for first, second in zip(*runs, strict=True):
            for name, t in first.tenants.items():
                u = second.tenants[name]
                for field in ("arrival", "finish", "outcome", "predicted"):
                    assert getattr(t.requests, field).tobytes() == \
                        getattr(u.requests, field).tobytes(), (name, field)
            assert first.timeline == second.timeline


# ------------------------------------------------------------------ capacity


class _Fake:
    def __init__(self, attainment):
        self.slo_attainment, self.goodput = attainment, 0.0


def test_capacity_bisection_finds_the_crossing():
    cap = search(lambda x: _Fake(1.0 if x <= 3.0 else 0.5), 0.99, "d", steps=10)
    assert 3.0 / 1.002 <= cap.scale <= 3.0
    assert all(a >= 0.99 for x, a in cap.runs if x <= cap.scale)
    low = search(lambda x: _Fake(1.0 if x <= 0.2 else 0.0), 0.99, "d", steps=10)
    assert 0.2 / 1.002 <= low.scale <= 0.2
    never = search(lambda x: _Fake(0.0), 0.99, "d")
    assert never.scale == 0.0


def test_fv_cloud_capacity_json(tmp_path, capsys, packages):
    from fvir.ifp.fileformat import write_package

    write_package(packages["residual"], tmp_path / "r.ifp")
    (tmp_path / "s.toml").write_text(
        'name = "cap"\nhw = "tiny"\nbaseline_hw = "tiny"\nduration_s = 0.2\n'
        'baselines = ["static", "tdm"]\n'
        '[[tenants]]\nname = "a"\nmodel = "r.ifp"\narrival = "poisson"\nload = [[0, 300.0]]\n'
        'slo_scale = 4.0\n'
        '[[tenants]]\nname = "b"\nmodel = "r.ifp"\narrival = "poisson"\nload = [[0, 300.0]]\n'
        'slo_scale = 4.0\n')
    assert fv_main(["cloud", "capacity", str(tmp_path / "s.toml"), "--json", "--plot",
                    str(tmp_path / "p")]) == 0
    data = json.loads(capsys.readouterr().out)
    caps = {c["design"]: c for c in data["capacity"]}
    assert set(caps) == {"pool (private)", "static", "tdm"} and data["target"] == 0.99
    for c in caps.values():
        assert c["scale"] > 0 and c["attainment"] >= 0.99
        above = [a for x, a in c["runs"] if x > c["scale"]]
        assert (above and min(above) < 0.99) or max(x for x, _ in c["runs"]) >= 2 ** 12
    assert (tmp_path / "p" / "cap-capacity.png").is_file()


# ------------------------------------------------------------------ scenario checks


BASE = {"duration_s": 1.0, "tenants": [{"name": "a", "model": "m"}]}


def with_tenant(**kv):
    return {**BASE, "tenants": [{"name": "a", "model": "m", **kv}]}


@pytest.mark.parametrize(("raw", "message"), [
    ({**BASE, "duration_s": math.nan}, "'duration_s' must be finite"),
    ({**BASE, "duration_s": math.inf}, "'duration_s' must be finite"),
    ({**BASE, "duration_s": 1e300}, "'duration_s' must be > 0 and <= 1e"),
    ({**BASE, "duration_s": -1}, "'duration_s' must be > 0"),
    ({**BASE, "seed": -1}, "seed must be an integer in"),
    ({**BASE, "seed": 1.5}, "seed must be an integer in"),
    (with_tenant(arrival="poisson", load=[[0, math.inf]]), "'load' times and values must be"),
    (with_tenant(weight="x"), "'weight' must be a number, not str"),
    (with_tenant(weight=0), "'weight' must be > 0"),
    (with_tenant(start_s="0"), "'start_s' must be a number, not str"),
    (with_tenant(stop_s=True), "'stop_s' must be a number, not bool"),
    (with_tenant(stop_s=math.nan), "'stop_s' must be finite"),
    (with_tenant(slo_ms=5, slo_scale=2), "slo_ms or slo_scale, not both"),
    (with_tenant(slo_ms=0), "'slo_ms' must be > 0"),
    (with_tenant(arrival="gamma", load=[[0, 1.0]], cv=0), "'cv' must be >= 0.05"),
    (with_tenant(arrival="onoff", load=[[0, 1.0]], on_s=1.0), "missing key 'off_s'"),
    (with_tenant(arrival="bursty"), "arrival must be one of"),
    ({**BASE, "warmup_s": 0.6, "cooldown_s": 0.5}, "leave no time to measure"),
    ({**BASE, "admission": "yes"}, "admission must be true or false"),
])
def test_bad_values_are_one_line_errors(raw, message):
    with pytest.raises(UserError, match=message) as err:
        scenario_from_dict(raw, "s.toml")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", ["nan", "inf", "1e300", "-2"])
def test_bad_duration_flag_is_one_line(tmp_path, capsys, value):
    (tmp_path / "s.toml").write_text('duration_s = 1\n[[tenants]]\nname = "a"\nmodel = "m"\n')
    assert fv_main(["cloud", str(tmp_path / "s.toml"), f"--duration={value}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fv cloud: error: --duration: 'duration_s' must be") and \
        err.count("\n") == 1


def test_plot_path_is_checked_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    # The scenario does not even exist: the --plot mistake is reported first.
    assert fv_main(["cloud", str(tmp_path / "nope.toml"), "--plot",
                    str(tmp_path / "file")]) == 1
    err = capsys.readouterr().err  # one line about the plot path (fvir.tools.outputs' words)
    assert err.startswith("fv cloud: error: ") and err.count("\n") == 1
    assert str(tmp_path / "file") in err and "not a directory" in err and "nope" not in err


def test_experiment_json_carries_the_slo_metrics(library, packages):
    specs = [TenantSpec("a", packages["residual"], arrival="poisson", load=[(0.0, 2000.0)],
                        slo_scale=5.0),
             TenantSpec("b", packages["mobile"], arrival="gamma", cv=3.0,
                        load=[(0.0, 2000.0)], slo_ms=0.5)]
    sc = make_scenario(specs, duration=0.2, warmup_s=0.02, cooldown_s=0.02)
    sc.hw = "tiny"
    sc.baseline_hw, sc.baselines = "tiny", ["static", "tdm"]
    data = run_experiment(sc, isolation=False, spot_checks=0).to_json()
    for t in data["tenants"]:
        assert {"slo_attainment", "goodput", "dropped", "rejected", "p999_ms", "slo_ms"} <= set(t)
        assert 0 <= t["slo_attainment"] <= 1
    total = sum(t["goodput"] for t in data["tenants"])
    assert data["goodput"] == pytest.approx(total)
    assert set(data["baseline_slo"]) == {"static", "tdm"}
    lib = ModelLibrary(TINY)
    lib.add("a:" + packages["residual"].name, packages["residual"])
    want = 5.0 * alone_s(lib, "a:" + packages["residual"].name, (0, 1, 2, 3)) * 1e3
    assert data["tenants"][0]["slo_ms"] == pytest.approx(want)  # slo_scale on the pool


def test_goodput_policy_follows_a_burst(library):
    """A burst of 40 requests at once for tenant a, whose SLO they meet on 3 cores but not on
    the 2 of the steady plan: the reactive goodput policy moves a core to it (b keeps one),
    and more requests make it than without `react`. Re-links are charged 10 us here (these
    tiny models run in 45-150 us)."""
    one = alone_s(library, "residual", (0,))
    slo = 2e-3
    specs = [TenantSpec("a", "residual", arrival="trace", trace=[0.02] * 40, slo_ms=slo * 1e3),
             TenantSpec("b", "residual", arrival="poisson", load=[(0.0, 0.2 / one)],
                        slo_ms=slo * 1e3)]
    sc = make_scenario(specs, duration=0.02 + 4 * 40 * one, drop=True, relink_ms=0.01)
    runs = {react: run_pool(sc, library, GoodputPolicy(deadline_aware=True, react=react))
            for react in (False, True)}
    steady = max(n.get("a", 0) for _, n in runs[False].timeline)
    assert steady == 2
    assert max(n.get("a", 0) for when, n in runs[True].timeline if when >= 0.02) == 3
    got = {react: r.tenants["a"].counts()[1] for react, r in runs.items()}
    # In time: 2 ms of service on 2 cores (85 us each) or on 3 cores (73 us each), less
    # the drain and re-link on the way.
    assert got[False] == int(slo / alone_s(library, "residual", (0, 1)))
    assert got[True] > got[False]


def test_binned_allocation_is_the_time_weighted_mean():
    from fvir.cloud.plots import _bin_mean

    # 2 cores on [0, 1), 4 on [1, 3), none after: bins [0, 2) and [2, 4) hold 3 and 2.
    got = _bin_mean(np.array([0.0, 1.0, 3.0]), np.array([2.0, 4.0, 0.0]),
                    np.array([0.0, 2.0, 4.0]))
    assert got.tolist() == [3.0, 2.0, 2.0]
