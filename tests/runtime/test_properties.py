"""Hypothesis properties of the linker over random packages, core sets and modes."""

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fvir.hw import PAPER_U200
from fvir.runtime import SYNC_CYCLES, link, make_allocation, prepare
from fvir.runtime.synthetic import make_package

from .helpers import U200_HASH, lpt_reference, makespan, optimum

POOL = replace(PAPER_U200, bank_bandwidth_gbps=1e9)  # compute-bound: cycles are frame costs


@st.composite
def layer_costs(draw: st.DrawFn) -> list[int] | None:
    kind = draw(st.sampled_from(["host", "uniform", "any"]))
    if kind == "host":
        return None
    count = draw(st.integers(0, 40))
    if kind == "any":
        return draw(st.lists(st.integers(1, 10**6), min_size=count, max_size=count))
    full = draw(st.integers(1, 10**5))
    costs = [full] * count
    if count:
        costs[-1] = draw(st.integers(1, full))  # remainder tile
    return costs


packages = st.lists(layer_costs(), min_size=1, max_size=10).map(
    lambda costs: make_package(costs, core_hash=U200_HASH, act_slots=3))
core_sets = st.lists(st.integers(0, POOL.num_cores - 1), min_size=1, max_size=16, unique=True)


@settings(max_examples=60, deadline=None)
@given(packages, core_sets, st.sampled_from(["snake", "lpt"]), st.sampled_from(["layer", "merged"]))
def test_link_properties(pkg, cores, balance, phases):
    prep = prepare(pkg, phases)
    exe = link(prep, make_allocation(pkg, cores, POOL), POOL, balance=balance)
    frames = pkg.frames
    n, nf = len(cores), len(frames)
    cost = frames["cost"].astype(np.float64)
    # every frame exactly once, on the core frame_core names
    assert sorted(exe.core_frames.tolist()) == list(range(nf))
    assert exe.frames_per_core.sum() == nf
    phase_of = np.empty(nf, dtype=np.int64)
    phase_of[prep.order] = prep.order_phase
    for core in cores:
        mine = exe.frames_of(core)
        assert (exe.frame_core[mine] == core).all()
        assert (np.diff(phase_of[mine]) >= 0).all()
    bound = 0.0
    for p in range(prep.num_phases):
        ids = prep.order[prep.phase_start[p]:prep.phase_start[p + 1]]
        counts = []
        for core in cores:
            part = exe.frames_of(core, p)
            assert (phase_of[part] == p).all()
            assert (np.diff(cost[part]) <= 0).all()  # heaviest first
            counts.append(len(part))
        # busy cycles add up; the makespan obeys the list-scheduling bound
        assert exe.busy[:, p].sum() == cost[ids].sum()
        top = float(cost[ids].max()) if len(ids) else 0.0
        assert exe.busy[:, p].max() <= cost[ids].sum() / n + top + 1e-6
        if balance == "snake":
            assert max(counts) - min(counts) <= 1
        bound += max(cost[ids].sum() / n, top)
    assert exe.predicted_cycles >= bound + SYNC_CYCLES * prep.num_phases - 1e-6
    assert exe.barriers["count"].tolist() == [n] * prep.num_phases


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=1, max_size=7), st.integers(1, 3))
def test_balance_bounds_against_the_optimum(costs, n):
    """Exact LPT is within (4/3 - 1/(3n)) of the optimum (Graham 1969); the snake within the
    list-scheduling bound (largest frame + average load) and so within 2x."""
    opt = optimum(costs, n)
    pkg = make_package([costs], core_hash=U200_HASH)
    prep = prepare(pkg)
    for balance in ("snake", "lpt"):
        exe = link(prep, make_allocation(pkg, list(range(n)), POOL), POOL, balance=balance)
        got = float(exe.busy.max())
        assert got <= max(costs) + sum(costs) / n
        assert got <= 2 * opt
        if balance == "lpt":
            assert got <= (4 / 3 - 1 / (3 * n)) * opt + 1e-9
            assert got == makespan(costs, lpt_reference(costs, n), n)
