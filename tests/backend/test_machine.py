"""The Machine on a small compiled CNN (conv, max pool, conv + residual add, global pool,
dense) on the `tiny` pool: int8 bit-exact with the int8 reference executor on any core set,
fp32 against onnxruntime, determinism, the level-1 map, multi-tenant isolation (a frame that
writes into another tenant's region faults; the other tenant's outputs and cycles stay those of
its solo run), the timing-only mode and the trace file."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.backend import MemoryFault
from fvir.backend.machine import Machine, host_ops, simulate_package
from fvir.compiler import package_model, quantize_model
from fvir.errors import UserError
from fvir.hw import TINY
from fvir.ifp.package import Package
from fvir.isa import Opcode
from fvir.isa.encoding import columns, set_field
from fvir.reference.int8 import run as run_reference
from fvir.reference.int8 import run_host


def tiny_cnn(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("w1", w(8, 3, 3, 3)), ("b1", w(8, scale=0.1)),
        ("w2", w(8, 8, 3, 3, scale=0.2)), ("b2", w(8, scale=0.1)),
        ("w3", w(10, 8)), ("b3", w(10, scale=0.1))]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tinycnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def compiled():
    """(ONNX model, package for TINY, quantized module, its weights)."""
    model = tiny_cnn()
    imported = quantize_model(model, TINY)
    module = imported.module.clone()
    return model, package_model(imported, TINY), module, imported.weights


def x_input(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, 3, 16, 16), dtype=np.float32)


def run_alone(package: Package, x: np.ndarray, cores: list[int], **kw):
    report = simulate_package(package, [x], TINY, cores=cores, **kw, host=run_host)
    (tenant,) = report.tenants.values()
    return report, tenant


@pytest.mark.parametrize("cores", [[0], [1], [0, 1], [0, 2, 3], [3, 2, 1, 0]])
def test_int8_bit_exact_on_any_core_set(compiled, cores):
    _, package, module, weights = compiled
    x = x_input()
    (expected,) = run_reference(module, weights, [x])
    report, tenant = run_alone(package, x, cores)
    assert tenant.fault is None
    np.testing.assert_array_equal(tenant.outputs[0], expected)
    assert tenant.cores == cores
    assert set(report.cores) == set(cores)
    assert sum(c.frames for c in report.cores.values()) == len(package.frames)
    assert tenant.cycles == report.cycles > 0
    assert tenant.latency_ms == pytest.approx(tenant.cycles / 300e3)


def test_more_cores_fewer_cycles(compiled):
    _, package, _, _ = compiled
    cycles = [run_alone(package, x_input(), list(range(n)))[1].cycles for n in (1, 2, 4)]
    assert cycles[0] > cycles[1] > cycles[2]


def test_fp32_matches_onnxruntime(compiled):
    model, package, _, _ = compiled
    x = x_input()
    _, tenant = run_alone(package, x, [0, 1], mode="fp32")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    err = np.max(np.abs(tenant.outputs[0] - expected)) / np.max(np.abs(expected))
    assert err <= 1e-5


def test_runs_are_deterministic(compiled):
    _, package, _, _ = compiled
    a, ta = run_alone(package, x_input(), [0, 1, 2])
    b, tb = run_alone(package, x_input(), [0, 1, 2])
    np.testing.assert_array_equal(ta.outputs[0], tb.outputs[0])
    assert ta.cycles == tb.cycles
    for ca, cb in zip(a.schedule.cores, b.schedule.cores, strict=True):
        np.testing.assert_array_equal(ca.start, cb.start)
        np.testing.assert_array_equal(ca.end, cb.end)
    assert a.summary()["cores"] == b.summary()["cores"]


def test_timing_only_mode_gives_the_same_cycles(compiled):
    _, package, _, _ = compiled
    full, tf = run_alone(package, x_input(), [0, 1])
    fast, tt = run_alone(package, x_input(), [0, 1], functional=False)
    assert tt.outputs is None
    assert tt.cycles == tf.cycles
    assert fast.summary()["cores"] == full.summary()["cores"]


def test_report_accounts_busy_cycles_and_macs(compiled):
    _, package, _, _ = compiled
    report, tenant = run_alone(package, x_input(), [0])
    core = report.cores[0]
    assert core.busy["CONV"] > 0 and core.busy["LOAD"] > 0 and core.busy["SAVE"] > 0
    assert all(0 < u <= 1 for u in core.utilization(report.cycles).values() if u)
    # MACs: conv1 16x16x8x27, conv2 8x8x8x72, dense 10x8
    assert tenant.macs == 16 * 16 * 8 * 27 + 8 * 8 * 8 * 72 + 10 * 8
    assert 0 < tenant.mac_utilization < 1
    assert sum(tenant.layer_cycles.values()) <= tenant.cycles
    assert sorted(tenant.layer_macs.values()) == sorted(
        [0, 0, 0, 16 * 16 * 8 * 27, 8 * 8 * 8 * 72, 10 * 8])  # pools and the add: no MACs
    assert host_ops(package) == []


# ---------------------------------------------------------------------------------------------
# Level-1 map and multi-tenant isolation


def test_level1_map_is_runtime_programmable(compiled):
    _, package, module, weights = compiled
    x = x_input()
    (expected,) = run_reference(module, weights, [x])
    m = Machine(TINY, host=run_host)
    exe = m.deploy("a", package, [0, 1])
    m.load("a", exe, [x])
    first = m.run().tenants["a"]
    m.assign("a", [2])  # re-allocate at run time: one core, another bank
    with pytest.raises(UserError, match="re-assigned cores"):
        m.run()
    exe = m.deploy("a", package)
    assert exe.cores.tolist() == [2]
    m.load("a", exe, [x])
    second = m.run().tenants["a"]
    np.testing.assert_array_equal(first.outputs[0], expected)
    np.testing.assert_array_equal(second.outputs[0], expected)
    assert second.cycles > first.cycles


def test_level1_map_errors(compiled):
    _, package, _, _ = compiled
    m = Machine(TINY, host=run_host)
    exe_a = m.deploy("a", package, [0, 1])
    with pytest.raises(UserError, match="core 1 belongs to tenant 'a'"):
        m.assign("b", [1, 2])
    m.assign("b", [2, 3])
    with pytest.raises(UserError, match=r"linked to cores \[0, 1\], but the level-1 map gives "
                                        r"it \[2, 3\]"):
        m.load("b", exe_a, [x_input()])
    with pytest.raises(UserError, match="unknown core 7"):
        m.assign("c", [7])
    with pytest.raises(UserError, match="no tenant has a program loaded"):
        m.run()
    m.release("a")
    m.assign("b", [0, 1])


def intruder(package: Package, target_offset: int, op: Opcode = Opcode.SAVE) -> Package:
    """A copy of `package` whose first SAVE (or LOAD) accesses `target_offset` of its segment
    (a compiler or linker bug, or a malicious tenant)."""
    words = package.words.copy()
    idx, _ = columns(words, op)
    set_field(words, op, "off", target_offset, rows=idx[:1])
    return dataclasses.replace(package, words=words)


@pytest.mark.parametrize(("cores_a", "cores_b", "op"), [
    ([0], [1], Opcode.SAVE), ([0, 1], [2, 3], Opcode.SAVE), ([0], [1], Opcode.LOAD)])
def test_access_to_another_tenants_region_faults(compiled, cores_a, cores_b, op):
    """'evil' SAVEs (or LOADs) at an offset that lands, physically, inside 'good''s activation
    region: the level-1 dispatcher faults 'evil' with a clear error and 'good' runs on,
    bit-identical to its solo run; on disjoint banks its cycles are those of its solo run."""
    _, package, _, _ = compiled
    _, solo = run_alone(package, x_input(), cores_b)
    m = Machine(TINY, host=run_host)
    exe_a = m.deploy("evil", package, cores_a)
    exe_b = m.deploy("good", package, cores_b)
    act = next(i for i, s in enumerate(package.segments) if s.name == "activations")
    theirs = exe_b.allocation.regions[act]
    first_seg = int(columns(package.words, op)[1]["seg"][0])
    mine = exe_a.allocation.regions[first_seg]
    bad = intruder(package, theirs.start - mine.start + 16, op)  # in 'good''s activations
    exe_bad = m.deploy("evil", bad, cores_a)
    assert exe_bad.allocation.regions == exe_a.allocation.regions  # same place again
    m.load("evil", exe_bad, [x_input(5)])
    m.load("good", exe_b, [x_input()])
    report = m.run()
    evil, good = report.tenants["evil"], report.tenants["good"]
    assert isinstance(evil.fault, MemoryFault)
    assert evil.outputs is None
    text = str(evil.fault)
    assert text.startswith("tenant 'evil', layer '")
    assert ", frame 0, instruction " in text
    access = "writes" if op == Opcode.SAVE else "reads"
    assert f"({op.name}): {access} bytes {theirs.start - mine.start + 16}.." in text
    assert "outside the segment" in text
    assert evil.fault.problem == "outside"
    np.testing.assert_array_equal(good.outputs[0], solo.outputs[0])
    assert good.fault is None
    if {c // 2 for c in cores_a}.isdisjoint({c // 2 for c in cores_b}):
        assert good.cycles == solo.cycles
    assert evil.cycles < good.cycles  # stopped at its first frame


def test_same_fault_without_numerics(compiled):
    """The timing-only mode applies the same bounds check to the decoded LOAD/SAVE fields."""
    _, package, _, _ = compiled
    bad = intruder(package, 1 << 20)
    _, functional = run_alone(bad, x_input(), [0, 1])
    _, fast = run_alone(bad, x_input(), [0, 1], functional=False)
    assert isinstance(functional.fault, MemoryFault)
    assert isinstance(fast.fault, MemoryFault)
    assert str(fast.fault) == str(functional.fault)
    assert fast.cycles == functional.cycles


def test_co_running_tenants_share_a_bank(compiled):
    """Two tenants on one bank: both outputs exact, each slower than alone (the bank is
    shared) and never faster; on different banks each runs as fast as alone."""
    _, package, module, weights = compiled
    x = x_input()
    (expected,) = run_reference(module, weights, [x])
    _, solo = run_alone(package, x, [0])
    m = Machine(TINY, host=run_host)
    for name, core in (("a", 0), ("b", 1)):
        m.load(name, m.deploy(name, package, [core]), [x])
    shared = m.run()
    for name in "ab":
        np.testing.assert_array_equal(shared.tenants[name].outputs[0], expected)
        assert shared.tenants[name].cycles > solo.cycles
    m2 = Machine(TINY, host=run_host)
    for name, core in (("a", 0), ("b", 2)):
        m2.load(name, m2.deploy(name, package, [core]), [x])
    apart = m2.run()
    assert [apart.tenants[n].cycles for n in "ab"] == [solo.cycles] * 2


def test_weights_are_read_only(compiled):
    _, package, _, _ = compiled
    words = package.words.copy()
    idx, _ = columns(words, Opcode.SAVE)
    set_field(words, Opcode.SAVE, "seg", 0, rows=idx[:1])  # segment 0: the weights
    relocs = package.relocs.copy()
    relocs["segment"][np.flatnonzero(relocs["instr"] == idx[0])] = 0
    bad = dataclasses.replace(package, words=words, relocs=relocs)
    _, tenant = run_alone(bad, x_input(), [0])
    assert isinstance(tenant.fault, MemoryFault)
    assert tenant.fault.problem == "read-only"


# ---------------------------------------------------------------------------------------------
# Trace


def test_trace_file(compiled, tmp_path):
    _, package, _, _ = compiled
    path = tmp_path / "run.json"
    report, _ = run_alone(package, x_input(), [0, 2], trace=path)
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    procs = {e["pid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "process_name"}
    assert procs == {0: "core 0 (tenant tenant)", 2: "core 2 (tenant tenant)"}
    threads = {(e["pid"], e["args"]["name"]) for e in events
               if e["ph"] == "M" and e["name"] == "thread_name"}
    for name in ("frames", "LOAD", "CONV", "MISC", "SAVE", "dispatcher"):
        assert (0, name) in threads
    slices = [e for e in events if e["ph"] == "X"]
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in slices)
    frames = [e for e in slices if e["name"].endswith(tuple(f"#{i}" for i in range(99)))]
    assert len(frames) == len(package.frames)
    instrs = [e for e in slices if e["tid"] in (10, 11, 12, 13)]
    assert len(instrs) == sum(c.instructions for c in report.cores.values())
    end_us = max(e["ts"] + e["dur"] for e in slices)
    assert report.cycles - 1 < end_us * 300.0 <= report.cycles  # cycles round up
    # slices of one thread nest (no partial overlap)
    by_thread: dict = {}
    for e in slices:
        by_thread.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_thread.values():
        spans.sort()
        for (_, end), (start, end2) in itertools.pairwise(spans):
            assert start >= end - 1e-6 or end2 <= end + 1e-6


# ---------------------------------------------------------------------------------------------
# Host segments


def conv_lrn_conv() -> onnx.ModelProto:
    """conv -> LRN (a host op) -> conv: a host segment between two accelerator segments."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.3).astype(np.float32), n)
             for n, s in (("w1", (4, 3, 3, 3)), ("w2", (4, 4, 1, 1)))]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("LRN", ["c1"], ["l"], size=3),
             helper.make_node("Conv", ["l", "w2"], ["y"])]
    graph = helper.make_graph(
        nodes, "hostmid", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_host_segment_runs_between_accelerator_segments(tmp_path):
    imported = quantize_model(conv_lrn_conv(), TINY)
    module = imported.module.clone()
    package = package_model(imported, TINY)
    assert [layer.kind for layer in package.layers] == ["conv2d", "host", "conv2d"]
    assert host_ops(package) == ["LRN"]
    x = np.random.default_rng(4).standard_normal((1, 3, 8, 8), dtype=np.float32)
    (expected,) = run_reference(module, imported.weights, [x])
    trace = tmp_path / "t.json"
    report, tenant = run_alone(package, x, [0, 1], trace=trace)
    np.testing.assert_array_equal(tenant.outputs[0], expected)
    assert tenant.host_ms > 0 and set(tenant.host_layers) == {"host0"}
    # host time is wall clock, reported apart: the cycles are those of a run without numerics
    _, fast = run_alone(package, x, [0, 1], functional=False)
    assert fast.cycles == tenant.cycles and fast.host_ms == 0
    # the host phase sits between two barriers
    assert len(report.schedule.barriers[next(iter(report.schedule.barriers))]) == 3
    marks = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "i"]
    assert {e["name"] for e in marks} == {"host: host0"}
    assert all(e["args"]["wall_ms"] > 0 for e in marks)


def test_released_tenants_leave_nothing_behind(compiled):
    """A released tenant's regions go back to the allocator without disturbing the others (the
    allocator frees by tenant index, which is never reused), and the tenant that gets them
    next computes exactly."""
    _, package, module, weights = compiled
    x = x_input()
    (expected,) = run_reference(module, weights, [x])
    m = Machine(TINY, host=run_host)
    exes = {name: m.deploy(name, package, [core]) for name, core in (("a", 0), ("b", 1))}
    for name, exe in exes.items():
        m.load(name, exe, [x])
    m.run()
    m.release("a")
    exe_c = m.deploy("c", package, [0])
    assert exe_c.allocation.regions == exes["a"].allocation.regions  # a's old place
    held = sum(r.size for e in (exes["b"], exe_c) for r in e.allocation.regions.values())
    assert m.allocator.free_bytes(0) == TINY.bank_bytes - held  # b's regions still taken
    m.load("c", exe_c, [x])
    report = m.run()
    for name in "bc":
        np.testing.assert_array_equal(report.tenants[name].outputs[0], expected)
    assert set(report.tenants) == {"b", "c"}
