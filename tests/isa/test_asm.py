"""Assembly text: the disassembler shows every field, and text round-trips."""

import numpy as np
import pytest
from hypothesis import given, settings

from fvir.isa import SPECS, AsmError, Instruction, Opcode, assemble, decode, disasm, encode

from .strategies import instructions, streams


@given(instructions())
@settings(max_examples=200, deadline=None)
def test_disasm_mentions_every_field(ins):
    (line,) = disasm(encode([ins]))
    tokens = line.split()
    assert tokens[0] == ins.op.name
    keys = [t.split("=", 1)[0] for t in tokens[1:]]
    assert keys == ["dpdon", "dpdby", *SPECS[ins.op].names]
    assert str(ins) == line


@given(streams)
@settings(max_examples=80, deadline=None)
def test_assemble_disasm_round_trip(instrs):
    words = encode(instrs)
    np.testing.assert_array_equal(assemble(disasm(words)), words)


def test_disasm_format():
    ins = Instruction.make(Opcode.LOAD, dpdby="C", buf=0, seg=2, off=0x400, addr=0, rows=4,
                           cols=56, chans=64, buf_pix_stride=64, ddr_row_stride=3584,
                           ddr_pix_stride=64, buf_row_stride=3584)
    assert disasm(encode([ins])) == [
        "LOAD dpdon=- dpdby=C buf=fmap seg=2 off=0x400 addr=0 rows=4 cols=56 chans=64 "
        "buf_pix_stride=64 ddr_row_stride=3584 ddr_pix_stride=64 buf_row_stride=3584"
    ]


def test_assembler_fills_defaults_and_reads_comments():
    words = assemble("""
        # a frame's compute part
        CONV dpdon=L dpdby=s pad_t=1 in_addr=0 wgt_addr=0x40 bias_addr=0 out_addr=4096 \
rows=4 cols=56 ic=64 oc=8   # first tile
        ACT func=TANH in_frac=-2 out_frac=7 in_addr=0 out_addr=0 length=128
        END
    """)
    conv, act, end = decode(words)
    assert conv == Instruction.make(Opcode.CONV, dpdon="L", dpdby="S", pad_t=1, in_addr=0,
                                    wgt_addr=64, bias_addr=0, out_addr=4096, rows=4, cols=56,
                                    ic=64, oc=8)
    assert act["func"] == 3 and act["in_frac"] == -2
    assert end.op == Opcode.END


@pytest.mark.parametrize(("text", "message"), [
    ("NOP", "line 1: unknown instruction 'NOP' (one of LOAD, MVM,"),
    ("END\nEND x=1", "line 2: END has no field 'x' (fields: none)"),
    ("END dpdon", "line 1: expected name=value, got 'dpdon'"),
    ("SYNC count=2 count=3 barrier=0", "line 1: field 'count' given twice"),
    ("SYNC count=two barrier=0", "line 1: 'two' is not an integer"),
    ("SYNC count=256 barrier=0", "line 1: SYNC.count = 256 does not fit its 8-bit unsigned"),
    ("ACT func=swish in_frac=0 out_frac=0 in_addr=0 out_addr=0 length=1",
     "line 1: 'swish' is not a valid ActFunc (identity, relu, sigmoid, tanh, gelu, hardswish, "
     "hardsigmoid, silu)"),
    ("SYNC barrier=0", "line 1: SYNC.count is required"),
    ("END dpdon=Q", "line 1: unknown engine 'Q'"),
])
def test_assembler_errors(text, message):
    with pytest.raises(AsmError) as exc:
        assemble(text)
    assert str(exc.value).startswith(message)
    assert "\n" not in str(exc.value)
