"""The paper-gains scenario family: tenant lists, skew phases and errors, by hand."""

from __future__ import annotations

import pytest

from fvir.errors import UserError
from fvir.sweep import sweep_from_dict
from fvir.sweep.families import paper_gains

BASE = {"hw": "paper-u200", "duration_s": 1.0, "policy": "private",
        "tenants": [{"name": "x", "model": "resnet50"}]}


def _busy(sc, phase):
    return [i for i, t in enumerate(sc["tenants"]) if t["load"][phase][1] == 1.0]


def test_skew_rotates_busy_groups():
    # n = 4, s = 0.5: 2 busy at a time, 2 phases: {0, 1} then {2, 3}
    sc = paper_gains(BASE, {"tenants": 4, "skew": 0.5, "mix": "cnn"}, "p")
    assert sc["duration_s"] == 4.0
    assert _busy(sc, 0) == [0, 1] and _busy(sc, 1) == [2, 3]
    # n = 3, s = 0.5: ceil(1.5) = 2 busy, 2 phases: {0, 1} then {2, 0}
    sc = paper_gains(BASE, {"tenants": 3, "skew": 0.5, "mix": "cnn"}, "p")
    assert _busy(sc, 0) == [0, 1] and _busy(sc, 1) == [0, 2]
    # s = 0: everyone busy in one phase; s = 1: one at a time, n phases
    assert _busy(paper_gains(BASE, {"tenants": 5, "skew": 0.0}, "p"), 0) == [0, 1, 2, 3, 4]
    sc = paper_gains(BASE, {"tenants": 5, "skew": 1.0, "phase_s": 3.0}, "p")
    assert sc["duration_s"] == 15.0 and [_busy(sc, k) for k in range(5)] == [[0], [1], [2],
                                                                             [3], [4]]


def test_mixes_and_closed_loops():
    sc = paper_gains(BASE, {"tenants": 6, "skew": 0.0, "mix": "mixed"}, "p")
    assert [t["model"] for t in sc["tenants"]] == ["resnet50", "lstm", "googlenet", "gru",
                                                   "resnet18", "lstm"]
    assert {t["arrival"] for t in sc["tenants"]} == {"closed"}
    assert sc["workload"] == "mixed"
    rnn = paper_gains(BASE, {"tenants": 3, "mix": "rnn"}, "p")
    assert [t["model"] for t in rnn["tenants"]] == ["lstm", "gru", "lstm"]


@pytest.mark.parametrize(("params", "message"), [
    ({"tenants": 0}, "'tenants' must be an integer in 1..64"),
    ({"tenants": 2, "skew": 2}, "'skew' must be in [0, 1]"),
    ({"tenants": 2, "mix": "gan"}, "'mix' must be cnn, rnn or mixed"),
])
def test_family_errors(params, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sweep_from_dict({"base": BASE, "family": "paper-gains", "grid": {
            k: [v] for k, v in params.items()}}, "sw")


def test_family_axes_and_dotted_axes_together():
    spec = sweep_from_dict({"base": BASE, "family": "paper-gains", "grid": {
        "tenants": [2, 3], "tdm_preempt": [True]}}, "sw")
    assert [len(p.scenario["tenants"]) for p in spec.points] == [2, 3]
    assert all(p.scenario["tdm_preempt"] is True for p in spec.points)
    with pytest.raises(UserError, match="unknown family 'nope'"):
        sweep_from_dict({"base": BASE, "family": "nope", "grid": {"tenants": [2]}}, "sw")
