"""The compiled frame loop (`fvir.backend.engine.run_frames`) against the Python driver
(`functional.run_resolved`, each instruction's step) on the same frames: the same buffers, the
same DDR, the same fault with the same location, whether the loop runs an instruction itself,
stops at it for Python (ROW) or stops because it would fault; frames with a broken token
protocol, and configurations latched in one frame and used in the next."""

from __future__ import annotations

import numpy as np
import pytest

from fvir.backend import CoreState, Memory, SimError
from fvir.backend.engine import Program, run_frames
from fvir.backend.functional import resolve, run_decoded
from fvir.isa import ActFunc, Buf, ElewType, Instruction, Opcode, PoolType, decode, encode

from .helpers import CORE, make

RNG = np.random.default_rng(5)
X = RNG.integers(-128, 128, (4, 6, 8)).astype(np.int8)  # an HWC input, 6 x 8 bytes per row
W = RNG.integers(-128, 128, (4, 3, 3, 8)).astype(np.int8)  # 3x3 conv weights [oc, kh, kw, ic]
PAIRS = np.array([[RNG.integers(-4000, 4000), RNG.integers(1, 1 << 12)] for _ in range(4)],
                 np.int32)  # (bias, multiplier) per output channel
OUT, SUM, POOLED, ROWS = 400, 600, 800, 1000  # fmap addresses: conv output, sum, pooled, rows


def dma(op: Opcode, dpdon: str, dpdby: str, buf: Buf, seg: int, off: int, addr: int,
        rows: int, cols: int, chans: int, ddr_row: int, buf_row: int) -> Instruction:
    return make(op, dpdon, dpdby, buf=buf, seg=seg, off=off, addr=addr, rows=rows, cols=cols,
                chans=chans, buf_pix_stride=chans, buf_row_stride=buf_row,
                ddr_pix_stride=chans, ddr_row_stride=ddr_row)


def frame(*, scaled: int = 1, pool: PoolType | None = None,
          act: bool = False) -> list[Instruction]:
    """LOAD input, weights and (bias, multiplier) pairs; a padded 3x3 CONV to 4 channels; the
    output added to itself by ELEW; optionally a sigmoid table on the sum (ACT) and a softmax
    of its pixels (ROW, which the loop leaves to Python), or a 2x2 pool; SAVE."""
    conv = [
        make(Opcode.CONVINIT, act=1, shift_cut=14, kernel_h=3, kernel_w=3, stride_h=1,
             stride_w=1, in_row_stride=48, in_pix_stride=8, out_row_stride=24,
             out_pix_stride=4, in_zp=-3, out_zp=2, scaled=scaled),
        make(Opcode.CONV, "L", "M", pad_t=1, pad_l=1, pad_b=1, pad_r=1, in_addr=0, wgt_addr=0,
             bias_addr=0, out_addr=OUT, rows=4, cols=6, ic=8, oc=4),
    ]
    elew = [
        make(Opcode.ELEWINIT, elew_type=ElewType.ADD, shift_out=1, in_row_stride=24,
             in_pix_stride=4, out_row_stride=24, out_pix_stride=4, zp_a=2, zp_b=2, zp_out=-1),
        make(Opcode.ELEW, "C", "S" if pool is None and not act else "", in_a=OUT, in_b=OUT,
             out_addr=SUM, rows=4, cols=6, chans=4),
    ]
    if act:  # a sigmoid table in place, then a softmax over each pixel's channels (ROW)
        elew.append(make(Opcode.ACT, func=ActFunc.SIGMOID, in_frac=3, out_frac=7,
                         in_addr=SUM, out_addr=SUM, length=96, in_zp=-1, out_zp=0))
        elew.append(make(Opcode.ROW, "", "S", func=0, in_frac=7, out_frac=7, in_addr=SUM,
                         out_addr=ROWS, rows=24, length=4))
    pooling = [
        make(Opcode.POOLINIT, pool_type=pool, kernel_h=2, kernel_w=2, stride_h=2,
             stride_w=2, in_row_stride=24, in_pix_stride=4, out_row_stride=12,
             out_pix_stride=4, in_zp=-1, out_zp=3, avg_mul=3, avg_shift=3),
        make(Opcode.POOL, "", "S", in_addr=SUM, out_addr=POOLED, rows=2, cols=3, chans=4),
    ] if pool is not None else []
    save = (dma(Opcode.SAVE, "M", "", Buf.FMAP, 2, 0, POOLED, 2, 3, 4, 12, 12) if pool is not None
            else dma(Opcode.SAVE, "M", "", Buf.FMAP, 2, 0, SUM, 4, 6, 4, 24, 24))
    return [
        dma(Opcode.LOAD, "", "", Buf.FMAP, 0, 0, 0, 4, 6, 8, 48, 48),
        dma(Opcode.LOAD, "", "", Buf.WEIGHT, 1, 0, 0, 1, 1, W.size, 0, 0),
        dma(Opcode.LOAD, "", "C", Buf.BIAS, 1, W.size, 0, 1, 1, 32, 0, 0),
        *conv, *elew, *pooling, save,
        dma(Opcode.SAVE, "", "", Buf.FMAP, 3, 0, OUT, 4, 6, 4, 24, 24),  # the conv output too
    ]


def memory(read_only_out: bool = False) -> Memory:
    mem = Memory("int8", "alice")
    mem.bind(0, X.view(np.uint8).ravel().copy(), "in")
    mem.bind(1, np.concatenate([W.view(np.uint8).ravel(), PAIRS.view(np.uint8).ravel()]), "w",
             writable=False)
    mem.alloc(2, 96, "out")
    if read_only_out:
        mem.bind(3, np.zeros(96, np.uint8), "conv", writable=False)
    else:
        mem.alloc(3, 96, "conv")
    return mem


def both(frames: list[list[Instruction]], mem_of=memory, state_of=lambda: CoreState(CORE)):
    """Run `frames` (one core, in order) through the Python driver and through the loop;
    check they end alike and return the loop's (state, memory, fault or None, program)."""
    py_state, py_mem = state_of(), mem_of()
    py_fault = None
    for instrs in frames:
        try:
            run_decoded(instrs, py_state, py_mem)
        except SimError as e:
            py_fault = e
            break
    flat = [ins for instrs in frames for ins in instrs]
    words = encode(flat)
    bounds, start = [], 0
    for instrs in frames:
        bounds.append((start, start + len(instrs)))
        start += len(instrs)
    program = Program.build(words, resolve(decode(words)), bounds)
    state, mem = state_of(), mem_of()
    hit = run_frames(program, [(f, a, b) for f, (a, b) in enumerate(bounds)], state, mem)
    fault = None if hit is None else hit[1]
    assert (fault is None) == (py_fault is None)
    if fault is not None:
        assert type(fault) is type(py_fault)
        assert str(fault) == str(py_fault)
        assert fault.index == py_fault.index
    for ours, theirs in zip(state.raw, py_state.raw, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    for seg in mem.bindings:
        np.testing.assert_array_equal(mem[seg], py_mem[seg])
    return state, mem, fault, program


@pytest.mark.parametrize("scaled", [0, 1])
def test_the_loop_computes_what_the_python_driver_computes(scaled):
    _, mem, fault, program = both([frame(scaled=scaled)])
    assert fault is None and program.clean.tolist() == [True]
    assert np.any(mem[2]) and np.any(mem[3])  # something was computed and saved


def test_the_loop_runs_act_stops_at_row_for_python_and_resumes_after_it():
    state, mem, fault, _ = both([frame(act=True)])
    assert fault is None and np.any(mem[2]) and np.any(state.raw[Buf.FMAP][ROWS : ROWS + 96])


@pytest.mark.parametrize("pool", [PoolType.MAX, PoolType.AVG])
def test_pooling_in_the_loop(pool):
    _, mem, fault, _ = both([frame(pool=pool)])
    assert fault is None and np.any(mem[2][:24])


def test_pool_faults_where_the_python_driver_does():
    """A MAX window entirely in the padding (data the loop sees only when it computes)."""
    instrs = [make(i.op, i.dpdon, i.dpdby, **{**i.fields, "pad_t": 2, "pad_b": 0, "rows": 3})
              if i.op == Opcode.POOL else i for i in frame(pool=PoolType.MAX)]
    _, _, fault, _ = both([instrs])
    assert "entirely in the padding" in str(fault)


def test_mvm_in_the_loop():
    """LOAD a vector, its weights and (bias, multiplier) pairs; a scaled MVM; SAVE."""
    instrs = [
        dma(Opcode.LOAD, "", "", Buf.FMAP, 0, 0, 0, 1, 1, 40, 0, 0),
        dma(Opcode.LOAD, "", "", Buf.WEIGHT, 1, 0, 0, 1, 1, 4 * 40, 0, 0),
        dma(Opcode.LOAD, "", "C", Buf.BIAS, 1, W.size, 0, 1, 1, 32, 0, 0),
        make(Opcode.MVM, "L", "S", act=1, shift_cut=12, wgt_addr=0, vec_addr=0, bias_addr=0,
             out_addr=OUT, rows=4, cols=40, out_zp=1, scaled=1),
        dma(Opcode.SAVE, "C", "", Buf.FMAP, 2, 0, OUT, 1, 1, 4, 0, 0),
    ]
    _, mem, fault, _ = both([instrs])
    assert fault is None and np.any(mem[2][:4])


def _replace(instrs: list[Instruction], op: Opcode, **fields: int) -> list[Instruction]:
    """`instrs` with the first `op` instruction's fields changed."""
    out, done = [], False
    for ins in instrs:
        if ins.op == op and not done:
            ins = make(op, ins.dpdon, ins.dpdby, **{**ins.fields, **fields})
            done = True
        out.append(ins)
    return out


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: _replace(f, Opcode.SAVE, off=90), "instruction 7 (SAVE): writes bytes 90"),
    (lambda f: _replace(f, Opcode.ELEW, out_addr=CORE.fmap_buffer_bytes - 10),
     "instruction 6 (ELEW): writes bytes"),
    (lambda f: _replace(f, Opcode.CONV, bias_addr=8), "multiplier"),
    (lambda f: _replace(f, Opcode.LOAD, seg=5), "instruction 0 (LOAD): reads segment 5"),
    (lambda f: [i for i in f if i.op != Opcode.CONVINIT], "no CONVINIT before it"),
    (lambda f: _replace(f, Opcode.CONVINIT, stride_h=0), "stride_h = 0"),
])
def test_a_fault_mid_frame_is_the_python_drivers_at_the_same_instruction(change, message):
    """Earlier instructions' effects stay (the DDR both drivers compare), the faulting one
    changes nothing, and the fault names the same instruction."""
    _, _, fault, _ = both([change(frame())])
    assert fault is not None and message in str(fault)


@pytest.mark.parametrize(("change", "message"), [
    (dict(func=ActFunc.GELU), "GELU takes no zero points"),
    (dict(length=CORE.fmap_buffer_bytes), "(ACT): reads bytes"),
])
def test_an_act_fault_is_the_python_drivers(change, message):
    """ACT's table is built in Python; where `act` raises on the fields, the loop has no
    table for it and leaves it to Python, which raises."""
    _, _, fault, _ = both([_replace(frame(act=True), Opcode.ACT, **change)])
    assert fault is not None and message in str(fault)


def test_a_read_only_region_faults_in_the_loop_as_in_python():
    _, mem, fault, _ = both([frame()], mem_of=lambda: memory(read_only_out=True))
    assert "read-only" in str(fault) and np.any(mem[2])  # the SAVE before it wrote


def test_a_frame_with_a_broken_token_protocol_runs_through_the_python_driver():
    """The ELEW no longer waits for the CONV's token: every instruction runs, then the frame
    ends with that token unconsumed."""
    broken = [make(i.op, "", i.dpdby, **i.fields) if i.op == Opcode.ELEW else i
              for i in frame()]
    _, mem, fault, program = both([broken])
    assert program.clean.tolist() == [False]
    assert "tokens never consumed: CONV->MISC x1" in str(fault) and np.any(mem[3])


def test_a_configuration_latched_in_one_frame_serves_the_next():
    """CONVINIT and ELEWINIT in one frame, the rest in the next (a core keeps its latched
    configurations across frames): the Python views of the loop's latches agree."""
    instrs = frame()
    inits = [i for i in instrs if i.op in (Opcode.CONVINIT, Opcode.ELEWINIT)]
    rest = [i for i in instrs if i.op not in (Opcode.CONVINIT, Opcode.ELEWINIT)]
    state, _, fault, _ = both([inits, rest])
    assert fault is None
    assert state.conv_cfg == inits[0].fields and state.elew_cfg == inits[1].fields


def test_a_configuration_latched_by_python_serves_the_loop():
    instrs = frame()
    init = instrs[3]
    assert init.op == Opcode.CONVINIT

    def latched() -> CoreState:
        state = CoreState(CORE)
        state.conv_cfg = dict(init.fields)
        return state

    state, _, fault, _ = both([instrs[:3] + instrs[4:]], state_of=latched)
    assert fault is None and state.conv_cfg == init.fields
