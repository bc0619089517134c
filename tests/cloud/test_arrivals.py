"""Arrival processes (fvir/cloud/arrivals.py): mean rate and coefficient of variation against
their definitions, with fixed seeds; determinism; the Azure layout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fvir.cloud import arrivals
from fvir.cloud.scenario import scenario_from_dict
from fvir.errors import UserError

TRACE = Path(__file__).parents[2] / "scenarios" / "traces" / "azure-functions-synthetic.csv"


def rate_and_cv(times: np.ndarray, span: float) -> tuple[float, float]:
    gaps = np.diff(times)
    return len(times) / span, float(gaps.std() / gaps.mean())


@pytest.mark.parametrize("cv", [1.0, 0.5, 4.0])
def test_gamma_has_the_requested_rate_and_cv(cv):
    times = arrivals.gamma(np.random.default_rng(7), [(0.0, 200.0)], cv, 0.0, 2000.0)
    rate, got = rate_and_cv(times, 2000.0)
    # 400k gaps: the rate's standard error is cv/sqrt(n) relative (~0.6% at cv 4); the
    # sample CV of Gamma gaps with shape 1/16 converges more slowly (~2% at cv 4).
    assert rate == pytest.approx(200.0, rel=0.03)
    assert got == pytest.approx(cv, rel=0.06)
    assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] < 2000.0


def test_poisson_follows_its_steps_with_cv_one():
    times = arrivals.poisson(np.random.default_rng(1), [(0.0, 500.0), (100.0, 50.0)], 0.0,
                             200.0)
    first, second = times[times < 100], times[times >= 100]
    assert len(first) == pytest.approx(50_000, abs=5 * math.sqrt(50_000))
    assert len(second) == pytest.approx(5_000, abs=5 * math.sqrt(5_000))
    assert rate_and_cv(first, 100.0)[1] == pytest.approx(1.0, rel=0.03)


def test_onoff_matches_the_interrupted_poisson_formulas():
    rate, on_s, off_s = 100.0, 0.5, 2.0
    # 16k on/off cycles: the on share's relative standard error is ~1.5%.
    times = arrivals.onoff(np.random.default_rng(3), [(0.0, rate)], on_s, off_s, 0.0, 40000.0)
    got_rate, got_cv = rate_and_cv(times, 40000.0)
    a, b = 1 / on_s, 1 / off_s
    want_cv = math.sqrt(1 + 2 * rate * a / (a + b) ** 2)  # IPP: hyperexponential gaps
    assert got_rate == pytest.approx(rate * on_s / (on_s + off_s), rel=0.05)
    assert got_cv == pytest.approx(want_cv, rel=0.05)


def test_processes_are_deterministic_per_seed_and_tenant():
    raw = {"duration_s": 5.0, "seed": 11, "tenants": [
        {"name": "a", "model": "m", "arrival": "gamma", "cv": 3.0, "load": [[0, 100.0]]},
        {"name": "b", "model": "m", "arrival": "poisson", "load": [[0, 100.0]]}]}
    one, two = scenario_from_dict(raw), scenario_from_dict(raw)
    draws = [[t.arrivals(sc.rng(i), 5.0) for i, t in enumerate(sc.tenants)] for sc in (one, two)]
    for x, y in zip(*draws, strict=True):
        assert x.tobytes() == y.tobytes()
    other = scenario_from_dict({**raw, "seed": 12})
    assert other.tenants[0].arrivals(other.rng(0), 5.0).tobytes() != draws[0][0].tobytes()
    # Tenant b's stream does not depend on tenant a being there.
    alone = scenario_from_dict({**raw, "tenants": [raw["tenants"][1]]})
    assert alone.tenants[0].arrivals(alone.rng(1), 5.0).tobytes() == draws[0][1].tobytes()


def test_scaling_multiplies_the_rate():
    sc = scenario_from_dict({"duration_s": 100.0, "tenants": [
        {"name": "a", "model": "m", "arrival": "gamma", "cv": 2.0, "load": [[0, 50.0]]}]})
    base = sc.tenants[0].arrivals(sc.rng(0), 100.0)
    scaled = sc.scaled(3.0)
    assert scaled.tenants[0].rate_at(0.0) == 150.0 and sc.tenants[0].rate_at(0.0) == 50.0
    assert len(scaled.tenants[0].arrivals(sc.rng(0), 100.0)) == pytest.approx(3 * len(base),
                                                                              rel=0.1)


def test_replay_compresses_time():
    got = arrivals.replay(np.array([4.0, 1.0, 2.0, 9.0]), 0.0, 4.0, scale=2.0)
    assert got.tolist() == [0.5, 1.0, 2.0]


def test_azure_layout_counts_and_cv():
    counts = arrivals.azure_counts(TRACE, "func0")
    assert len(counts) == 30 and counts[0] == 574  # first minute of the shipped file
    assert np.array_equal(arrivals.azure_counts(TRACE, 0), counts)
    times = arrivals.per_minute(np.random.default_rng(0), counts, 60.0, 1.0, 0.0, 1e9)
    per_min = np.histogram(times, np.arange(0, 31) * 60.0)[0]
    assert np.array_equal(per_min, counts)  # whole counts: every minute exactly
    bursty = arrivals.per_minute(np.random.default_rng(0), np.full(200, 600.0), 1.0, 4.0,
                                 0.0, 1e9)
    assert rate_and_cv(bursty, 200.0)[1] == pytest.approx(4.0, rel=0.1)
    half = arrivals.per_minute(np.random.default_rng(0), counts, 60.0, 1.0, 0.0, 1e9, 0.5)
    assert len(half) == pytest.approx(counts.sum() / 2, abs=5 * math.sqrt(counts.sum()))


@pytest.mark.parametrize(("function", "message"), [("nope", "no function 'nope'"),
                                                   (9, "outside the 4 rows")])
def test_azure_layout_errors(function, message):
    with pytest.raises(UserError, match=message):
        arrivals.azure_counts(TRACE, function)


def test_azure_layout_wrong_header(tmp_path):
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(UserError, match="not in the Azure Functions invocation layout"):
        arrivals.azure_counts(tmp_path / "x.csv", 0)


def test_too_many_requests_is_one_line():
    with pytest.raises(UserError, match="requests expected"):
        arrivals.poisson(np.random.default_rng(0), [(0.0, 1e12)], 0.0, 100.0)
