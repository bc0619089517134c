"""Link-time weight residency (`fvir.runtime.residency`): frames that reuse weights on a core
read exactly the bytes their own LOAD would have brought, outputs stay bit-exact, the plan
fits the weight buffer, and fewer bytes and cycles follow.

The central check is independent of the plan's own bookkeeping: every core's linked stream is
replayed symbolically, each weight-buffer byte holding the DDR address it was loaded from,
and every MVM's weight read must see the same DDR addresses with residency as without it."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from rnn.test_unroll_lstm import lstm_model

from fvir.backend.machine import Machine
from fvir.calibration import random_inputs
from fvir.compiler import package_model, quantize_model
from fvir.hw.toml import load_hw
from fvir.isa.encoding import decode
from fvir.isa.spec import Buf, Opcode
from fvir.reference.int8 import run, run_host
from fvir.runtime.linker import link, prepare
from fvir.runtime.memory import make_allocation
from fvir.runtime.residency import plan


@functools.cache
def lstm_package():
    """A 2-layer LSTM (6 steps, hidden 32) for paper-u200: (hw, package, input, int8 outputs)."""
    hw = load_hw("paper-u200")
    model = lstm_model(6, 1, 24, 32, layers=2)
    del model.graph.output[1:]
    imported = quantize_model(model, hw)
    quantized = imported.module.clone()
    (x,) = random_inputs(quantized, 11, 1)
    want = run(quantized, imported.weights, x)
    return hw, package_model(imported, hw), x["x"], want


@pytest.fixture(scope="module")
def lstm():
    return lstm_package()


def weight_reads(words: np.ndarray, core) -> list[np.ndarray]:
    """Every MVM's weights and biases, as the DDR addresses (segment << 40 | offset) they
    were loaded from, in stream order; -1 for a byte no LOAD wrote."""
    bufs = {Buf.WEIGHT: np.full(core.weight_buffer_bytes, -1, np.int64),
            Buf.BIAS: np.full(core.bias_buffer_bytes, -1, np.int64)}
    reads = []
    for ins in decode(words):
        if ins.op == Opcode.LOAD and ins["buf"] in bufs:
            r, c, ch = np.ix_(np.arange(ins["rows"]), np.arange(ins["cols"]),
                              np.arange(ins["chans"]))
            dst = ins["addr"] + r * ins["buf_row_stride"] + c * ins["buf_pix_stride"] + ch
            src = ((ins["seg"] << 40) + ins["off"] + r * ins["ddr_row_stride"]
                   + c * ins["ddr_pix_stride"] + ch)
            bufs[ins["buf"]][dst.ravel()] = np.broadcast_to(src, dst.shape).ravel()
        elif ins.op == Opcode.MVM:
            w, b = ins["wgt_addr"], ins["bias_addr"]
            reads.append(np.concatenate([bufs[Buf.WEIGHT][w : w + ins["rows"] * ins["cols"]],
                                         bufs[Buf.BIAS][b : b + 4 * ins["rows"]]]))
    return reads


def streams(exe) -> list[np.ndarray]:
    return [exe.stream(int(c)) for c in exe.cores]


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_every_weight_read_sees_the_same_bytes(lstm, cores):
    hw, package, _, _ = lstm
    alloc = make_allocation(package, range(cores), hw)
    resident = link(prepare(package), alloc, hw)
    streamed = link(prepare(package), alloc, hw, resident=False)
    assert resident.elided_bytes > 0 and streamed.elided_bytes == 0
    assert streamed.words is package.words
    for a, b in zip(streams(resident), streams(streamed), strict=True):
        got, want = weight_reads(a, hw.core), weight_reads(b, hw.core)
        assert len(got) == len(want) > 0
        for g, w in zip(got, want, strict=True):
            assert (w >= 0).all()
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_outputs_bit_exact_with_fewer_cycles(lstm, cores):
    hw, package, x, want = lstm
    runs = {}
    for resident in (True, False):
        m = Machine(hw, host=run_host)
        exe = m.deploy("a", package, list(range(cores)), resident=resident)
        m.load("a", exe, [x])
        report = m.run()
        runs[resident] = (report.cycles, exe)
        for a, b in zip(want, report.tenants["a"].outputs, strict=True):
            np.testing.assert_array_equal(a, b)
    (fast, exe), (slow, streamed) = runs[True], runs[False]
    assert fast < slow
    assert exe.predicted_cycles < streamed.predicted_cycles
    # The prediction takes off what the elided LOADs cost; the simulation agrees within 5%.
    assert abs(exe.predicted_cycles / fast - streamed.predicted_cycles / slow) < 0.05


@pytest.mark.parametrize(("balance", "phases"), [("lpt", "layer"), ("snake", "merged"),
                                                ("lpt", "merged")])
def test_other_layouts_stay_bit_exact(lstm, balance, phases):
    """Residency plans over whatever order the layout gives a core's frames."""
    hw, package, x, want = lstm
    m = Machine(hw, host=run_host)
    exe = m.deploy("a", package, [0, 1, 2], balance=balance, phases=phases)
    assert exe.elided_bytes > 0
    m.load("a", exe, [x])
    for a, b in zip(want, m.run().tenants["a"].outputs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("cap", "bias_cap"), [(1024, 32768), (4096, 32768), (12288, 32768),
                                              (12288, 384)])
def test_a_small_buffer_pins_what_fits(lstm, cap, bias_cap):
    """With a weight or bias buffer too small for every reused slice, the plan pins the most
    used ones that fit next to the largest unpinned footprint, and reads still see the same
    bytes. (12288 and 32768 bytes hold every slice this LSTM reuses on a core.)"""
    hw, package, _, _ = lstm
    core = dataclasses.replace(hw.core, weight_buffer_bytes=cap, bias_buffer_bytes=bias_cap)
    small = dataclasses.replace(hw, core=core)
    prep = prepare(package)
    full = link(prep, make_allocation(package, range(2), hw), hw)  # the layout to plan on
    ranges = [(int(full.core_offsets[s * prep.num_phases]),
               int(full.core_offsets[(s + 1) * prep.num_phases])) for s in range(2)]
    res = plan(package, prep.weight_loads, small, full.core_frames, ranges)
    foot = prep.weight_loads.footprint
    pinned_total = 0
    for a, b in ranges:
        frames = full.core_frames[a:b]
        moved = frames[res.offset[0, frames] > 0]
        unmoved = frames[res.offset[0, frames] == 0]
        for bi, limit in enumerate((cap, bias_cap)):
            ends = res.offset[bi, moved] + foot[bi, moved]
            low = res.offset[bi, moved].min(initial=limit)
            assert ends.max(initial=0) <= limit
            assert foot[bi, unmoved].max(initial=0) <= low  # unpinned frames stay below
        pinned_total += len(np.unique(moved))
    assert res.words is not None and res.elided.any() and pinned_total
    streamed = link(prep, make_allocation(package, range(2), hw), hw, resident=False)
    frames = package.frames
    for a, b in ranges:
        rows = np.concatenate([np.arange(frames["instr_start"][f],
                                         frames["instr_start"][f] + frames["instr_count"][f])
                               for f in full.core_frames[a:b]])
        got = weight_reads(res.words[rows], core)
        want = weight_reads(streamed.words[rows], hw.core)
        assert len(got) == len(want) > 0
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
