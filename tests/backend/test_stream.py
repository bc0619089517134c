"""`run_stream`: a LOAD -> CONV -> SAVE program end to end, and the dependency-token protocol
(waits nobody can satisfy, tokens left over, masks naming their own engine), END and SYNC."""

import re

import numpy as np
import pytest

from fvir.backend import CoreState, DependencyError, Memory, ProgramError, Tokens, run_stream
from fvir.isa import Buf, DecodingError, Engine, Opcode, assemble, encode

from .helpers import CORE, fresh, make, ref_conv_acc, ref_requant_block, run

PROGRAM = """
# 1x1 conv of a 2 x 3 x 4 block to 2 channels, with double-signalled tokens
LOAD  dpdon=- dpdby=-  buf=fmap   seg=0 off=0  addr=0  rows=2 cols=3 chans=4 buf_pix_stride=4 ddr_row_stride=12 ddr_pix_stride=4 buf_row_stride=12
LOAD  dpdon=- dpdby=C  buf=weight seg=1 off=0  addr=0  rows=1 cols=1 chans=8 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
LOAD  dpdon=- dpdby=C  buf=bias   seg=1 off=8  addr=0  rows=1 cols=1 chans=8 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
CONVINIT dpdon=- dpdby=- shift_cut=2 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 in_row_stride=12 out_row_stride=6 in_pix_stride=4 out_pix_stride=2
CONV  dpdon=L dpdby=-  in_addr=0 wgt_addr=0 bias_addr=0 out_addr=100 rows=2 cols=3 ic=4 oc=2
CONV  dpdon=L dpdby=S  in_addr=0 wgt_addr=0 bias_addr=0 out_addr=100 rows=2 cols=3 ic=4 oc=2
SAVE  dpdon=C dpdby=-  buf=fmap   seg=2 off=0  addr=100 rows=1 cols=1 chans=12 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
END
"""  # noqa: E501  (one instruction per line)


def _memory(mode: str = "int8") -> tuple[Memory, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (2, 3, 4)).astype(np.int8)
    w = rng.integers(-128, 128, (2, 1, 1, 4)).astype(np.int8)
    bias = np.array([300, -700], np.int32)
    mem = Memory(mode, "alice")  # type: ignore[arg-type]
    mem.bind(0, x.view(np.uint8).ravel().copy(), "in")
    mem.bind(1, np.concatenate([w.view(np.uint8).ravel(), bias.view(np.uint8)]), "w")
    mem.alloc(2, 12, "out")
    return mem, x, w, bias


def test_load_conv_save_program() -> None:
    mem, x, w, bias = _memory()
    state = run_stream(assemble(PROGRAM), CORE, mem)
    expected = ref_requant_block(ref_conv_acc(x.astype(np.int64), w.astype(np.int64), 2, 3,
                                              (1, 1), (1, 1), (0, 0, 0, 0), False),
                                 bias, 0, 2, 0, 0)
    np.testing.assert_array_equal(mem[2].view(np.int8).reshape(2, 3, 2), expected)
    assert state.tokens.leftover() == []
    assert isinstance(state, CoreState)


def _lines(drop: int | None = None, replace: tuple[int, str, str] | None = None) -> str:
    lines = [line for line in PROGRAM.strip().splitlines() if not line.startswith("#")]
    if replace is not None:
        i, old, new = replace
        assert old in lines[i]
        lines[i] = lines[i].replace(old, new)
    if drop is not None:
        del lines[drop]
    return "\n".join(lines)


def test_wait_without_an_earlier_producer_is_a_deadlock() -> None:
    """The weight LOAD no longer signals CONV: the second CONV waits for a token that only a
    later instruction could give, which the in-order dispatcher never reaches."""
    mem, *_ = _memory()
    with pytest.raises(DependencyError) as info:
        run_stream(assemble(_lines(replace=(1, "dpdby=C", "dpdby=-"))), CORE, mem)
    assert str(info.value) == ("tenant 'alice', instruction 5 (CONV): waits for a LOAD->CONV "
                               "token that no earlier instruction produced (the core would "
                               "deadlock)")


def test_consumer_before_its_producer_is_an_error() -> None:
    mem, *_ = _memory()
    text = "\n".join([
        "SAVE dpdon=C buf=fmap seg=2 off=0 addr=0 rows=1 cols=1 chans=1 buf_pix_stride=0 "
        "ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0",
        "CONVINIT dpdby=S shift_cut=0 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 "
        "in_row_stride=0 out_row_stride=0 in_pix_stride=0 out_pix_stride=0",
    ])
    with pytest.raises(DependencyError, match=re.escape(
            "instruction 0 (SAVE): waits for a CONV->SAVE token")):
        run_stream(assemble(text), CORE, mem)


def test_tokens_left_over_at_the_end() -> None:
    mem, *_ = _memory()
    with pytest.raises(DependencyError) as info:
        run_stream(assemble(_lines(replace=(6, "dpdon=C", "dpdon=-"))), CORE, mem)
    assert str(info.value) == ("tenant 'alice': the stream ends with tokens never consumed: "
                               "CONV->SAVE x1 (each token a frame signals must be consumed "
                               "within it)")
    assert info.value.index is None


def test_several_leftover_counters_are_all_listed() -> None:
    mem, *_ = _memory()
    text = _lines(replace=(4, "dpdon=L", "dpdon=-"), drop=6)  # first CONV takes nothing
    with pytest.raises(DependencyError, match=re.escape(
            "never consumed: LOAD->CONV x1, CONV->SAVE x1")):
        run_stream(assemble(text), CORE, mem)


def test_own_engine_in_a_mask() -> None:
    state, mem = fresh(tenant="t")
    with pytest.raises(DependencyError) as info:
        run(state, mem, make(Opcode.ACT, dpdby="M", func=0, in_frac=0, out_frac=0, in_addr=0,
                             out_addr=0, length=1))
    assert str(info.value) == ("tenant 't', instruction 0 (ACT): names its own engine MISC in "
                               "dpdby (its bit must be 0)")
    with pytest.raises(DependencyError, match=re.escape("(LOAD): names its own engine LOAD in "
                                                        "dpdon")):
        run(state, mem, make(Opcode.LOAD, dpdon="L", buf=0, seg=0, off=0, addr=0, rows=0,
                             cols=0, chans=0, buf_pix_stride=0, ddr_row_stride=0,
                             ddr_pix_stride=0, buf_row_stride=0))


def test_fences_carry_no_masks() -> None:
    state, mem = fresh(tenant="t")
    with pytest.raises(DependencyError, match=re.escape(
            "instruction 0 (SYNC): has dependency masks, but the dispatcher runs it as a full "
            "fence (dpdon and dpdby must be 0)")):
        run(state, mem, make(Opcode.SYNC, dpdon="L", count=1, barrier=0))
    with pytest.raises(DependencyError, match=re.escape("instruction 0 (END): has dependency")):
        run(state, mem, make(Opcode.END, dpdby="S"))


def test_end_and_sync() -> None:
    state, mem = fresh(tenant="t")
    run(state, mem, make(Opcode.SYNC, count=1, barrier=3), make(Opcode.END))
    with pytest.raises(ProgramError) as info:
        run(state, mem, make(Opcode.END), make(Opcode.SYNC, count=1, barrier=0),
            make(Opcode.END))
    assert str(info.value) == "tenant 't', instruction 0 (END): 2 instruction(s) after END"
    with pytest.raises(ProgramError, match=re.escape(
            "instruction 1 (SYNC): barrier 4 waits for 3 cores; a single-core run can never "
            "pass it")):
        run(state, mem, make(Opcode.SYNC, count=1, barrier=0),
            make(Opcode.SYNC, count=3, barrier=4))


def test_tokens_counters_directly() -> None:
    """The protocol as a cycle model will drive it: ready/take/give per engine pair."""
    t = Tokens()
    assert t.ready(Engine.CONV, 0)
    assert not t.ready(Engine.CONV, Engine.LOAD.bit)
    t.give(Opcode.LOAD, Engine.CONV.bit | Engine.SAVE.bit)
    t.give(Opcode.LOAD, Engine.CONV.bit)
    assert t.count[Engine.LOAD][Engine.CONV] == 2
    assert t.ready(Engine.CONV, Engine.LOAD.bit)
    t.take(Opcode.CONV, Engine.LOAD.bit)
    t.take(Opcode.MVM, Engine.LOAD.bit)  # MVM is on the CONV engine too
    assert not t.ready(Engine.CONV, Engine.LOAD.bit)
    assert t.leftover() == [(Engine.LOAD, Engine.SAVE, 1)]
    t.take(Opcode.SAVE, Engine.LOAD.bit)
    t.check_empty()


def test_a_stream_starts_with_zero_tokens() -> None:
    """A state reused after a failed stream does not carry its tokens into the next one."""
    mem, *_ = _memory()
    state = CoreState(CORE)
    with pytest.raises(DependencyError):
        run_stream(assemble(_lines(replace=(6, "dpdon=C", "dpdon=-"))), state, mem)
    run_stream(assemble(PROGRAM), state, mem)


def test_bad_words_and_mismatched_modes() -> None:
    mem, *_ = _memory()
    words = encode([make(Opcode.END)])
    words[0, 0] |= 1 << 20  # a reserved bit
    with pytest.raises(DecodingError, match="reserved bits"):
        run_stream(words, CORE, mem)
    with pytest.raises(ValueError, match="a fp32 run needs a fp32 memory"):
        run_stream(encode([make(Opcode.END)]), CORE, mem, "fp32")
    with pytest.raises(ValueError, match="needs a int8 core state"):
        run_stream(encode([make(Opcode.END)]), CoreState(CORE, "fp32"), mem)


def test_loaded_weights_in_the_right_buffer() -> None:
    """LOAD's buf field picks the buffer: the same bytes land in fmap, weight or bias."""
    mem = Memory("int8", "t")
    mem.bind(0, np.arange(1, 9, dtype=np.uint8), "d")
    state = CoreState(CORE)
    for buf in Buf:
        run(state, mem, make(Opcode.LOAD, buf=buf, seg=0, off=0, addr=16 * buf, rows=1, cols=1,
                             chans=8, buf_pix_stride=0, ddr_row_stride=0, ddr_pix_stride=0,
                             buf_row_stride=0))
        np.testing.assert_array_equal(state.raw[buf][16 * buf : 16 * buf + 8], np.arange(1, 9))
        assert state.raw[buf].sum() == 36
