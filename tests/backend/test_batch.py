"""Many input sets through one linked executable (`Machine.run_batch`, `fv run --inputs DIR`,
in this process or on forked worker processes) and the functional pass on several host
threads: every output bit-exact with the int8 reference executor, the cycles those of a full
run, faults as a single run reports them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fvir.backend import MemoryFault
from fvir.backend.machine import Machine
from fvir.compiler import package_model, quantize_model
from fvir.errors import UserError
from fvir.hw import TINY
from fvir.reference.int8 import run as run_reference
from fvir.reference.int8 import run_host
from fvir.tools.fv import main

from .test_machine import intruder, tiny_cnn, x_input


@pytest.fixture(scope="module")
def compiled():
    model = tiny_cnn()
    imported = quantize_model(model, TINY)
    module = imported.module.clone()
    return model, package_model(imported, TINY), module, imported.weights


@pytest.mark.parametrize(("threads", "cores", "processes"), [
    (1, [0], 1), (2, [0], 1), (2, [0, 1, 2], 1), (3, [1, 3], 1), (1, [0], 2), (2, [0, 1, 2], 3)])
def test_batch_outputs_are_bit_exact(compiled, threads, cores, processes):
    """In this process (sets one after another, or on host threads) and on forked worker
    processes (the sets of each a strided share, outputs back in order)."""
    _, package, module, weights = compiled
    xs = [x_input(seed) for seed in range(5)]
    m = Machine(TINY, threads=threads, host=run_host)
    exe = m.deploy("t", package, cores)
    m.load("t", exe, [xs[0]])
    batch = m.run_batch("t", [[x] for x in xs], processes=processes)
    assert batch.wall_s["processes"] == processes
    assert batch.faults == [None] * len(xs)
    for x, outs in zip(xs, batch.outputs, strict=True):
        (expected,) = run_reference(module, weights, [x])
        np.testing.assert_array_equal(outs[0], expected)
    full = m.run()
    assert batch.report.cycles == full.cycles
    assert batch.report.tenants["t"].outputs is None  # the timing run has no numerics


def test_threaded_machine_run_is_bit_exact(compiled):
    """A single run with a phase's cores on two host threads."""
    _, package, module, weights = compiled
    x = x_input(7)
    m = Machine(TINY, threads=2, host=run_host)
    exe = m.deploy("t", package, [0, 1, 2, 3])
    m.load("t", exe, [x])
    (expected,) = run_reference(module, weights, [x])
    for _ in range(2):  # the second run reuses the cores' states
        np.testing.assert_array_equal(m.run().tenants["t"].outputs[0], expected)


@pytest.mark.parametrize(("threads", "processes"), [(1, 1), (2, 1), (1, 2)])
def test_batch_fault_is_the_single_runs(compiled, threads, processes):
    """The same located fault, from worker processes too (faults cross the process
    boundary by their state)."""
    _, package, _, _ = compiled
    bad = intruder(package, 1 << 20)
    m = Machine(TINY, threads=threads, host=run_host)
    exe = m.deploy("t", bad, [0, 1])
    m.load("t", exe, [x_input()])
    single = m.run().tenants["t"].fault
    batch = m.run_batch("t", [[x_input(1)], [x_input(2)]], processes=processes)
    assert batch.outputs == [None, None]
    assert all(isinstance(f, MemoryFault) and str(f) == str(single) for f in batch.faults)


def test_batch_wrong_arity_is_a_user_error(compiled):
    _, package, _, _ = compiled
    m = Machine(TINY, host=run_host)
    m.load("t", m.deploy("t", package, [0]), [x_input()])
    with pytest.raises(UserError, match="takes 1 input"):
        m.run_batch("t", [[x_input(), x_input()]])
    with pytest.raises(UserError, match="threads must be at least 1"):
        Machine(TINY, threads=0, host=run_host)
    with pytest.raises(UserError, match="processes must be at least 1"):
        m.run_batch("t", [[x_input()]], processes=0)


def test_fv_run_inputs_dir(compiled, tmp_path, capsys):
    """`fv run MODEL --inputs DIR`: one output set per .npy, equal to `--input` one by one."""
    model, _, _, _ = compiled
    path = tmp_path / "tiny.onnx"
    path.write_bytes(model.SerializeToString())
    sets = tmp_path / "sets"
    sets.mkdir()
    for i in range(3):
        np.save(sets / f"s{i}.npy", x_input(20 + i))
    out = tmp_path / "out"
    assert main(["run", str(path), "--hw", "tiny", "--inputs", str(sets), "--save-outputs",
                 str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["sets"]) == ["s0", "s1", "s2"]
    for i in range(3):
        single = tmp_path / f"single{i}"
        assert main(["run", str(path), "--hw", "tiny", "--input", f"x={sets / f's{i}.npy'}",
                     "--save-outputs", str(single)]) == 0
        np.testing.assert_array_equal(np.load(out / f"s{i}" / "y.npy"),
                                      np.load(single / "y.npy"))
        assert summary["sets"][f"s{i}"]["y"]["argmax"] == int(np.argmax(np.load(single / "y.npy")))
    capsys.readouterr()


def test_fv_run_inputs_errors(compiled, tmp_path, capsys):
    model, _, _, _ = compiled
    path = tmp_path / "tiny.onnx"
    path.write_bytes(model.SerializeToString())
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    np.save(wrong / "a.npy", np.zeros((1, 3, 8, 8), np.float32))
    for args, message in [
        (["--inputs", str(tmp_path / "nope")], "is not a directory"),
        (["--inputs", str(empty)], "has no .npy or .npz files"),
        (["--inputs", str(wrong)], "input 'x' has shape [1, 3, 8, 8], the model takes "
                                   "[1, 3, 16, 16]"),
        (["--inputs", str(empty), "--check"], "does not combine with --check"),
    ]:
        assert main(["run", str(path), "--hw", "tiny", *args]) != 0
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1  # one line, no traceback


def test_schedule_beside_the_numerics_matches_the_sequential_one(compiled):
    """threads=2 computes the schedule while the numerics run (and again after a fault):
    the same cycles, faults and outputs as threads=1."""
    _, package, _, _ = compiled
    for pkg in (package, intruder(package, 1 << 20)):
        results = []
        for threads in (1, 2):
            m = Machine(TINY, threads=threads, host=run_host)
            m.load("t", m.deploy("t", pkg, [0, 1]), [x_input(3)])
            t = m.run().tenants["t"]
            results.append((t.cycles, str(t.fault), None if t.outputs is None
                            else t.outputs[0].tobytes()))
        assert results[0] == results[1]


def test_a_forked_child_runs_with_its_own_host_threads(compiled):
    """The process-wide thread pool is not inherited across fork (the fuzz harness and
    process pools fork a process that may have simulated before)."""
    import os

    from fvir.backend.execute import pool

    _, package, _, _ = compiled
    m = Machine(TINY, threads=2, host=run_host)
    m.load("t", m.deploy("t", package, [0, 1]), [x_input(0)])
    parent = m.run().tenants["t"].outputs
    assert pool(2) is not None  # the parent's pool exists, its threads alive
    pid = os.fork()
    if pid == 0:  # child: must finish (a hang is caught by the wait below timing out)
        try:
            child = Machine(TINY, threads=2, host=run_host)
            child.load("t", child.deploy("t", package, [0, 1]), [x_input(0)])
            out = child.run().tenants["t"].outputs
            os._exit(0 if np.array_equal(out[0], parent[0]) else 1)
        except BaseException:
            os._exit(2)
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung on the inherited thread pool")


def test_batch_inside_a_daemon_process_runs_in_it(compiled):
    """A daemonic process (a pool's or a cluster's worker) may not start children: there the
    sets run in the process itself, with the same outputs."""
    import multiprocessing

    _, package, module, weights = compiled
    xs = [x_input(seed) for seed in range(3)]
    m = Machine(TINY, host=run_host)
    m.load("t", m.deploy("t", package, [0]), [xs[0]])
    me = multiprocessing.current_process()
    was = me.daemon
    me._config["daemon"] = True  # what a pool worker has
    try:
        batch = m.run_batch("t", [[x] for x in xs], processes=2)
    finally:
        me._config["daemon"] = was
    assert batch.wall_s["processes"] == 1
    for x, outs in zip(xs, batch.outputs, strict=True):
        np.testing.assert_array_equal(outs[0], run_reference(module, weights, [x])[0])
