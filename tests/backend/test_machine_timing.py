"""The cycle model (`fvir.backend.timing`) on tiny hand-written programs, against schedules
computed by hand from the documented rules: per-instruction latencies, engine overlap under
the dpdon/dpdby tokens, frame fetch, barriers, DDR processor sharing, deadlock detection and
a faulted tenant leaving the bank.

Pool: `TINY` (PP 2 x ICP 4 x OCP 4; 8 bytes per cycle per bank; cores 0-1 on bank 0, 2-3 on
bank 1). Timing constants: instr_cycles 4, dma_latency 64, frame_cycles 32; barrier 64.
TINY's port (8 B/cycle) is as wide as its bank, so a LOAD of B bytes alone on its bank
occupies its engine for 4 + 64 + B / 8 cycles; `NARROW` (a 4-byte port) tests the port cap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fvir.backend.faults import DependencyError, SimError
from fvir.backend.timing import (
    FRAME_ITEM,
    SYNC_ITEM,
    CoreProgram,
    core_program,
    instr_table,
    simulate,
)
from fvir.hw import PAPER_U200, TINY
from fvir.hw.cost import DEFAULT_TIMING, conv_cycles
from fvir.ifp.package import FRAME_DTYPE
from fvir.isa import Buf, Instruction, Opcode, encode

T_I, LAT, FETCH, SYNC = 4, 64, 32, 64
assert (DEFAULT_TIMING.instr_cycles, DEFAULT_TIMING.dma_latency,
        DEFAULT_TIMING.frame_cycles) == (T_I, LAT, FETCH)
assert TINY.bank_bytes_per_cycle == 8.0


def dma(op: Opcode, nbytes: int, dpdon: str = "-", dpdby: str = "-",
        buf: Buf = Buf.FMAP) -> Instruction:
    return Instruction.make(op, dpdon, dpdby, buf=buf, seg=1, off=0, addr=0, rows=1, cols=1,
                            chans=nbytes, buf_pix_stride=nbytes, ddr_row_stride=nbytes,
                            ddr_pix_stride=nbytes, buf_row_stride=nbytes)


def convinit(kernel: int = 1) -> Instruction:
    return Instruction.make(Opcode.CONVINIT, shift_cut=0, kernel_h=kernel, kernel_w=kernel,
                            stride_h=1, stride_w=1, in_row_stride=64, out_row_stride=64,
                            in_pix_stride=4, out_pix_stride=4)


def conv(cols: int, dpdon: str = "-", dpdby: str = "-") -> Instruction:
    """A 1x1 CONV of 2 rows x `cols` x 4 -> 4 channels: `cols` cycles on a TINY core."""
    return Instruction.make(Opcode.CONV, dpdon, dpdby, in_addr=0, wgt_addr=0, bias_addr=0,
                            out_addr=0, rows=2, cols=cols, ic=4, oc=4)


def program(frames: list[list[Instruction]], core: int = 0, tenant: int = 0,
            phases: list[list[int]] | None = None) -> CoreProgram:
    """The program of one core running `frames` (phase by phase: `phases` lists the frame
    ids of each; default all in one phase)."""
    words = encode([i for f in frames for i in f])
    table = np.zeros(len(frames), FRAME_DTYPE)
    table["instr_count"] = [len(f) for f in frames]
    table["instr_start"] = np.cumsum(table["instr_count"]) - table["instr_count"]
    phases = [list(range(len(frames)))] if phases is None else phases
    return core_program(instr_table(words, TINY.core), table,
                        [np.array(p, np.intp) for p in phases], core, tenant)


def times(sched, core_index: int = 0) -> list[tuple[float, float]]:
    """(start, end) of every instruction (engine items) of a core, in program order."""
    ct = sched.cores[core_index]
    kind = np.array(ct.program.kind)
    return [(float(s), float(e)) for s, e, k in zip(ct.start, ct.end, kind, strict=True)
            if k < 4]


def test_latencies_come_from_the_cost_model():
    words = encode([dma(Opcode.LOAD, 100), dma(Opcode.SAVE, 0), convinit(3),
                    Instruction.make(Opcode.CONV, in_addr=0, wgt_addr=0, bias_addr=0,
                                     out_addr=0, rows=5, cols=7, ic=9, oc=6)])
    table = instr_table(words, TINY.core)
    assert table.cycles.tolist() == [T_I + LAT, T_I, T_I,
                                     T_I + conv_cycles(TINY.core, 5, 7, 9, 6, 3, 3)]
    assert table.nbytes.tolist() == [100, 0, 0, 0]
    assert table.macs.tolist() == [0, 0, 0, 5 * 7 * 9 * 6 * 9]
    assert table.engine.tolist() == [0, 3, 1, 1]


def test_two_loads_then_conv_then_save():
    """LOAD weights, LOAD input (signals CONV), CONVINIT, CONV (waits L, signals S), SAVE
    (waits C): the CONVINIT overlaps the first LOAD; the CONV starts when the input is in."""
    frame = [dma(Opcode.LOAD, 64, buf=Buf.WEIGHT), dma(Opcode.LOAD, 128, dpdby="C"),
             convinit(), conv(4, dpdon="L", dpdby="S"), dma(Opcode.SAVE, 64, dpdon="C")]
    sched = simulate([program([frame])], TINY)
    t0 = FETCH  # the dispatcher fetched the frame
    load_w = (t0, t0 + T_I + LAT + 64 / 8)  # 32 .. 108
    load_x = (load_w[1], load_w[1] + T_I + LAT + 128 / 8)  # 108 .. 192
    init = (t0, t0 + T_I)  # 32 .. 36, during the first LOAD
    cv = (load_x[1], load_x[1] + T_I + 4)  # 192 .. 200
    save = (cv[1], cv[1] + T_I + LAT + 64 / 8)  # 200 .. 276
    assert times(sched) == [load_w, load_x, init, cv, save]
    finish = save[1] + SYNC  # the barrier after the phase, then END
    assert sched.cores[0].finish == finish == 340
    assert sched.makespan == finish


def test_next_step_loads_while_the_conv_computes():
    """Two steps: step 2's input LOAD runs on the LOAD engine while step 1's CONV computes,
    and step 1's SAVE overlaps step 2's CONV."""
    frame = [dma(Opcode.LOAD, 64, buf=Buf.WEIGHT), dma(Opcode.LOAD, 64, dpdby="C"), convinit(),
             conv(64, dpdon="L", dpdby="S"), dma(Opcode.SAVE, 64, dpdon="C"),
             dma(Opcode.LOAD, 64, dpdby="C"), conv(64, dpdon="L", dpdby="S"),
             dma(Opcode.SAVE, 64, dpdon="C")]
    got = times(simulate([program([frame])], TINY))
    load = T_I + LAT + 8  # 76: a 64-byte LOAD alone on the bank
    expect = [
        (32, 108),  # weights
        (108, 184),  # step 1 input
        (32, 36),  # CONVINIT
        (184, 252),  # CONV 1: 4 + 64
        (252, 328),  # SAVE 1: fixed part until 320, alone on the bank from 320
        (184, 260),  # step 2 input, during CONV 1 (alone on the bank 252..260)
        (260, 328),  # CONV 2 waits for it
        (328, 404),  # SAVE 2
    ]
    assert got == expect
    assert expect[1][1] - expect[1][0] == load


def test_frames_run_in_order_and_fetch_overlaps():
    """The dispatcher fetches the next frame while the engines still run the first."""
    f0 = [dma(Opcode.LOAD, 80, dpdby="C"), convinit(), conv(100, dpdon="L", dpdby="S"),
          dma(Opcode.SAVE, 8, dpdon="C", dpdby="L"), dma(Opcode.LOAD, 0, dpdon="S")]
    f1 = [dma(Opcode.LOAD, 80)]
    sched = simulate([program([f0, f1])], TINY)
    got = times(sched)
    # f0: LOAD 32..110, CONVINIT 32..36, CONV 110..214, SAVE 214..283, fence 283..287
    assert got[:5] == [(32, 110), (32, 36), (110, 214), (214, 283), (283, 287)]
    # f1 is fetched as soon as f0 is issued (issuing takes no time): 32..64, long before its
    # LOAD can start behind f0's fence on the LOAD engine
    kind = sched.cores[0].program.kind
    marker = [i for i, k in enumerate(kind) if k == FRAME_ITEM][1]
    assert (sched.cores[0].start[marker], sched.cores[0].end[marker]) == (32, 64)
    assert got[5] == (287, 287 + T_I + LAT + 10)


def test_contention_on_one_bank_and_none_across_banks():
    """Two cores loading 800 bytes at once: on one bank each gets 4 bytes/cycle (twice as
    long as alone); on different banks they do not interact."""
    frame = [dma(Opcode.LOAD, 800)]
    alone = times(simulate([program([frame], core=0)], TINY))[0]
    assert alone == (32, 32 + T_I + LAT + 100)  # 32 .. 200
    same = simulate([program([frame], core=0), program([frame], core=1)], TINY)
    assert times(same, 0) == times(same, 1) == [(32, 100 + 200)]
    apart = simulate([program([frame], core=0), program([frame], core=2)], TINY)
    assert times(apart, 0) == times(apart, 1) == [alone]
    assert same.bank_bytes[0] == pytest.approx(1600)
    assert apart.bank_bytes == pytest.approx([800, 800])


def test_processor_sharing_with_staggered_transfers():
    """A's 800 bytes join the bank at 100, B's 200 bytes at 150: A alone moves 400 bytes in
    50 cycles, both share 4 bytes/cycle until B is done at 200, A ends alone at 225."""
    a = [dma(Opcode.LOAD, 800)]
    b = [convinit(), conv(42, dpdby="L"), dma(Opcode.LOAD, 200, dpdon="C")]
    sched = simulate([program([a], core=0), program([b], core=1)], TINY)
    assert times(sched, 0) == [(32, 225)]
    assert times(sched, 1) == [(32, 36), (36, 82), (82, 200)]


def test_port_cap_limits_a_lone_transfer():
    sched = simulate([program([[dma(Opcode.LOAD, 800)]])], TINY, port_bytes_per_cycle=2.0)
    assert times(sched) == [(32, 100 + 400)]


# A TINY pool whose cores have a 4-byte port on their 8-byte banks (paper-u200's ratio: a
# port is half a bank), to exercise the core port cap (`CoreConfig.port_bytes_per_cycle`).
NARROW = replace(TINY, core=replace(TINY.core, port_bytes_per_cycle=4.0))


def test_a_lone_core_is_bounded_by_its_port_not_its_bank():
    """800 bytes alone on an 8 B/cycle bank through a 4 B/cycle port: 200 cycles, not 100."""
    sched = simulate([program([[dma(Opcode.LOAD, 800)]])], NARROW)
    assert times(sched) == [(32, 100 + 800 / 4)]
    # paper-u200: 32 B/cycle (two 128-bit AXI masters), not the bank's 64.2.
    sched = simulate([program([[dma(Opcode.LOAD, 3200)]])], PAPER_U200)
    assert times(sched) == [(32, 100 + 3200 / 32)]


def test_two_ported_cores_saturate_their_bank():
    """Two cores on one bank: each min(4, 8 / 2) = 4, as fast as alone; the bank is full."""
    sched = simulate([program([[dma(Opcode.LOAD, 800)]], core=0),
                      program([[dma(Opcode.LOAD, 800)]], core=1)], NARROW)
    assert times(sched, 0) == times(sched, 1) == [(32, 300)]
    assert sched.bank_busy[0] == pytest.approx(200)


def test_load_and_save_of_one_core_share_its_port():
    """Core 0 runs a LOAD and a SAVE at once (no tokens between them): each gets half its
    port, 2 B/cycle. Core 1's LOAD on the same bank is capped at 4 and gets it, because the
    bank (8) is split max-min fairly: 8/3 each is more than core 0's caps of 2, so core 0's
    transfers take 2 each and core 1 takes the 4 left."""
    sched = simulate([program([[dma(Opcode.LOAD, 800), dma(Opcode.SAVE, 800)]], core=0),
                      program([[dma(Opcode.LOAD, 800)]], core=1)], NARROW)
    assert times(sched, 1) == [(32, 300)]
    assert times(sched, 0) == [(32, 500), (32, 500)]
    assert sched.bank_bytes[0] == pytest.approx(2400)


def test_barrier_waits_for_every_core_of_the_tenant():
    """Phase 0: core 0 computes for long, core 1 briefly; both start phase 1 when the barrier
    releases, 64 cycles after core 0 arrives. Another tenant's core does not wait."""
    long_f = [convinit(), conv(500)]
    short_f = [convinit(), conv(10)]
    phases = [[0], [1]]
    c0 = program([long_f, short_f], core=0, tenant=0, phases=phases)
    c1 = program([short_f, short_f], core=1, tenant=0, phases=phases)
    other = program([short_f, short_f], core=2, tenant=1, phases=phases)
    sched = simulate([c0, c1, other], TINY)
    arrive = 32 + 4 + 4 + 500  # core 0's phase 0 ends at 540
    release = arrive + SYNC
    assert sched.barriers[0][0] == release
    assert times(sched, 0)[2][0] == times(sched, 1)[2][0] == release + FETCH
    # core 1 arrived early and waited at the barrier
    sync = sched.cores[1].program.kind.index(SYNC_ITEM)
    assert sched.cores[1].start[sync] == 32 + 4 + 4 + 10
    # tenant 1's barrier is its own
    assert sched.barriers[1][0] == 32 + 4 + 4 + 10 + SYNC
    assert sched.cores[0].finish == sched.cores[1].finish == release + FETCH + 18 + SYNC


@pytest.mark.parametrize("depth", [1, 2, 8])
def test_any_queue_depth_completes_a_valid_program(depth):
    frame = [dma(Opcode.LOAD, 64, buf=Buf.WEIGHT), dma(Opcode.LOAD, 64, dpdby="C"), convinit(),
             conv(64, dpdon="L", dpdby="S"), dma(Opcode.SAVE, 64, dpdon="C"),
             dma(Opcode.LOAD, 64, dpdby="C"), conv(64, dpdon="L", dpdby="S"),
             dma(Opcode.SAVE, 64, dpdon="C", dpdby="L"), dma(Opcode.LOAD, 0, dpdon="S")]
    sched = simulate([program([frame, frame])], TINY, queue_depth=depth)
    assert sched.cores[0].finish is not None
    assert not np.isnan(sched.cores[0].end).any()


def test_a_wait_nobody_satisfies_stops_the_tenant_only():
    stuck = [convinit(), conv(10, dpdon="L")]  # no LOAD ever signals CONV
    fine = [dma(Opcode.LOAD, 80)]
    sched = simulate([program([stuck], core=0, tenant=0), program([fine], core=2, tenant=1)],
                     TINY)
    assert isinstance(sched.tenant_error[0], DependencyError)
    assert "core 0 cannot make progress" in str(sched.tenant_error[0])
    assert 1 not in sched.tenant_error
    assert sched.cores[1].finish == 32 + T_I + LAT + 10 + SYNC


def test_a_faulted_tenant_frees_its_share_of_the_bank():
    """A and B load 800 bytes each on bank 0 from cycle 100; A is stopped when its second CONV
    would start (140): B has moved 160 bytes by then and finishes the rest alone."""
    a = [dma(Opcode.LOAD, 800), convinit(), conv(100), conv(10)]
    b = [dma(Opcode.LOAD, 800)]
    prog_a = program([a], core=0, tenant=0)
    prog_a.stop = prog_a.kind.index(1, prog_a.kind.index(1) + 2)  # the second CONV
    err = SimError("boom")
    sched = simulate([prog_a, program([b], core=1, tenant=1)], TINY, errors={0: err})
    assert sched.tenant_fault == {0: 140}
    assert sched.tenant_error[0] is err
    assert times(sched, 1) == [(32, 140 + (800 - 160) / 8)]
    assert np.isnan(sched.cores[0].end[1])  # A's LOAD never completed
    solo = simulate([program([b], core=1, tenant=1)], TINY)
    assert times(solo, 0) == [(32, 200)]


def test_schedules_are_deterministic():
    frames = [[dma(Opcode.LOAD, 64 + 8 * k, dpdby="C"), convinit(),
               conv(7 + k, dpdon="L", dpdby="S"), dma(Opcode.SAVE, 40, dpdon="C", dpdby="L"),
               dma(Opcode.LOAD, 0, dpdon="S")] for k in range(6)]

    def run():
        progs = [program(frames[c:] + frames[:c], core=c, tenant=c // 2) for c in range(4)]
        return simulate(progs, TINY)

    a, b = run(), run()
    for x, y in zip(a.cores, b.cores, strict=True):
        np.testing.assert_array_equal(x.start, y.start)
        np.testing.assert_array_equal(x.end, y.end)
    assert a.bank_busy == b.bank_busy
    assert a.makespan == b.makespan
