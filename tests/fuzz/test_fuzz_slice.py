"""The deterministic slice of the fuzz harness that runs with the suite: a few dozen inputs
of each kind (hypothesis, derandomized by tests/conftest.py), each run through its entry point
in a forked child. None may end in a traceback, a crash or a hang, leak a warning or print a
multi-line `fv` error, unless it falls in another branch's scope (the ONNX importer's items
2/4 or the cloud's item 7: those are reported, see docs/robustness.md). The long run is
`python tests/fuzz/run.py --count 10000`."""

from __future__ import annotations

import random

import pytest
from generators import KINDS, build_fixtures, generator
from harness import Outcome, run_cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = {"onnx": 12, "mlir": 40, "package": 20, "toml": 15, "cli": 15}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return build_fixtures(tmp_path_factory.mktemp("fuzz-fixtures"))


def check(outcome: Outcome) -> None:
    case = outcome.case
    what = f"{case.tool} {' '.join(case.argv)} ({case.note})"
    assert outcome.outcome in ("ok", "error"), f"{outcome.outcome}: {outcome.cause} <- {what}"
    assert not outcome.leaks_warning, f"{outcome.leaks_warning} <- {what}"
    assert not outcome.multi_line, f"{outcome.stderr!r} <- {what}"


@pytest.mark.parametrize("kind", KINDS)
def test_slice(kind, fixtures):
    make = generator(kind, fixtures)

    @settings(max_examples=EXAMPLES[kind], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.randoms(use_true_random=False))
    def one(rng: random.Random) -> None:
        case = make(rng)
        case.timeout = min(case.timeout, 30.0)
        (outcome,) = run_cases([case], fixtures)
        check(outcome)

    one()
