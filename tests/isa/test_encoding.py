"""Binary encoding: decode(encode(x)) == x for every instruction type, range errors that name
the field, and the vectorized field accessors the linker and simulator use."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fvir.isa import (
    INSTR_WORDS,
    SPECS,
    Buf,
    DecodingError,
    EncodingError,
    Instruction,
    Opcode,
    columns,
    decode,
    encode,
    encode_columns,
    from_bytes,
    get_field,
    opcodes,
    put_field,
    select,
    set_field,
    to_bytes,
)

from .strategies import field_values, instructions, streams

ALL_OPS = list(Opcode)


def _load(**over: int) -> Instruction:
    fields = dict(buf=Buf.WEIGHT, seg=3, off=0x12345678, addr=0x100, rows=2, cols=3, chans=64,
                  buf_pix_stride=64, ddr_row_stride=4096, ddr_pix_stride=128, buf_row_stride=192)
    fields.update(over)
    return Instruction.make(Opcode.LOAD, dpdby="C", **fields)


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda o: o.name)
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_round_trip_every_type(op, data):
    ins = data.draw(instructions(op))
    words = encode([ins])
    assert words.shape == (1, INSTR_WORDS) and words.dtype == np.uint32
    assert decode(words) == [ins]


@given(streams)
@settings(max_examples=80, deadline=None)
def test_round_trip_mixed_streams(instrs):
    words = encode(instrs)
    assert decode(words) == instrs
    assert decode(from_bytes(to_bytes(words))) == instrs
    assert list(opcodes(words)) == [int(i.op) for i in instrs]


@given(streams)
@settings(max_examples=40, deadline=None)
def test_columnar_encoding_matches(instrs):
    words = encode(instrs)
    for op in {i.op for i in instrs}:
        group = [i for i in instrs if i.op == op]
        cols = {name: [i.fields[name] for i in group] for name in SPECS[op].names}
        cols["dpdon"] = [i.dpdon for i in group]
        cols["dpdby"] = [i.dpdby for i in group]
        np.testing.assert_array_equal(encode_columns(op, cols, len(group)),
                                      words[select(words, op)])


def test_empty_stream():
    assert encode([]).shape == (0, INSTR_WORDS)
    assert decode(np.zeros((0, INSTR_WORDS), np.uint32)) == []


# --- the format itself, pinned from the paper's facts and docs/isa.md ----------------------


def test_opcodes_follow_the_dpu():
    # DPUV2 opcodes as tabulated in sim-runner's dpuv2.xml (paper.md section 2.1).
    dpu = {"LOAD": 0x0, "SAVE": 0x4, "CONVINIT": 0x9, "CONV": 0x8, "POOLINIT": 0x6,
           "POOL": 0xC, "ELEWINIT": 0xD, "ELEW": 0xE, "END": 0x7}
    assert {name: int(Opcode[name]) for name in dpu} == dpu
    assert {"MVM", "ACT", "SYNC"} <= {o.name for o in Opcode}


def test_header_bits():
    # opcode bits 0-3, dpdon bits 4-7, dpdby bits 8-11 of word 0.
    words = encode([Instruction.make(Opcode.END, dpdon=0b0101, dpdby=0b1010)])
    assert words.tolist() == [[0x7 | 0x5 << 4 | 0xA << 8, 0, 0, 0, 0, 0, 0, 0]]


def test_load_known_answer():
    # Hand-packed from the LOAD table in docs/isa.md.
    assert encode([_load()]).tolist() == [[
        0x2 << 8 | 1 << 12 | 3 << 14,  # dpdby=C, buf=weight, seg=3
        0x12345678,  # off
        0x100,  # addr
        2 | 3 << 16,  # rows, cols
        64 | 64 << 16,  # chans, buf_pix_stride
        4096,  # ddr_row_stride
        128,  # ddr_pix_stride
        192,  # buf_row_stride
    ]]


def test_signed_fields_use_twos_complement():
    ins = Instruction.make(Opcode.ACT, func=0, in_frac=-1, out_frac=-32, in_addr=0, out_addr=0,
                           length=1)
    w0 = int(encode([ins])[0, 0])
    p_in, p_out = SPECS[Opcode.ACT].placed("in_frac"), SPECS[Opcode.ACT].placed("out_frac")
    assert (w0 >> p_in.lsb) & 0x3F == 0x3F
    assert (w0 >> p_out.lsb) & 0x3F == 0x20
    assert decode(encode([ins]))[0]["in_frac"] == -1


# --- errors --------------------------------------------------------------------------------


def _range_cases():
    for op, s in SPECS.items():
        for f in s.fields:
            if f.enum is None:
                yield pytest.param(op, f.name, f.hi + 1, id=f"{op.name}.{f.name}>max")
                yield pytest.param(op, f.name, f.lo - 1, id=f"{op.name}.{f.name}<min")


@pytest.mark.parametrize(("op", "name", "value"), list(_range_cases()))
def test_out_of_range_names_field_value_and_range(op, name, value):
    f = next(f for f in SPECS[op].fields if f.name == name)
    valid = {g.name: g.lo if g.enum is None else int(next(iter(g.enum)))
             for g in SPECS[op].fields}
    expected = (f"{op.name}.{name} = {value} does not fit its {f.bits}-bit "
                f"{'signed' if f.signed else 'unsigned'} field (range {f.lo}..{f.hi})")
    with pytest.raises(EncodingError, match=re.escape(expected)):
        Instruction.make(op, **{**valid, name: value})
    # The vectorized encoder checks too, and says which instruction of the stream it was.
    bad = Instruction(op, {**valid, name: value})
    good = Instruction.make(op, **valid)
    with pytest.raises(EncodingError, match=re.escape(expected + " (instruction 2)")):
        encode([good, good, bad])


def test_invalid_enum_value():
    with pytest.raises(EncodingError, match=re.escape(
            "LOAD.buf = 3 is not a valid Buf (fmap=0, weight=1, bias=2)")):
        encode([Instruction(Opcode.LOAD, {**_load().fields, "buf": 3})])


def test_dependency_mask_out_of_range():
    with pytest.raises(EncodingError, match=r"END\.dpdon = 16 does not fit its 4-bit"):
        encode([Instruction(Opcode.END, {}, dpdon=16)])


@pytest.mark.parametrize("value", [2.5, "7", None])
def test_non_integer_values_are_rejected(value):
    with pytest.raises(EncodingError, match=r"LOAD\.rows = .* is not an integer"):
        encode([_load(), Instruction(Opcode.LOAD, {**_load().fields, "rows": value})])


def test_huge_int_is_a_range_error():
    with pytest.raises(EncodingError, match=r"LOAD\.off = 18446744073709551616 does not fit"):
        encode([Instruction(Opcode.LOAD, {**_load().fields, "off": 2**64})])


def test_missing_and_unknown_fields():
    with pytest.raises(EncodingError, match=r"LOAD\.addr is required"):
        Instruction.make(Opcode.LOAD, buf=0, seg=0, off=0)
    with pytest.raises(EncodingError, match=r"LOAD has no field 'bogus'"):
        _load(bogus=1)
    fields = dict(_load().fields)
    del fields["chans"]
    with pytest.raises(EncodingError, match=r"LOAD\.chans is missing \(instruction 0\)"):
        encode([Instruction(Opcode.LOAD, fields)])
    with pytest.raises(EncodingError, match=r"LOAD has no field 'bogus'"):
        encode([Instruction(Opcode.LOAD, {**_load().fields, "bogus": 1})])
    with pytest.raises(EncodingError, match=r"END has no fields"):
        encode([Instruction(Opcode.END, {"x": 1})])


def test_defaults_are_filled():
    ins = Instruction.make(Opcode.CONV, in_addr=0, wgt_addr=0, bias_addr=0, out_addr=0, rows=1,
                           cols=1, ic=8, oc=8)
    assert ins["pad_t"] == ins["pad_r"] == ins["depthwise"] == 0
    init = Instruction.make(Opcode.CONVINIT, shift_cut=7, kernel_h=3, kernel_w=3, stride_h=1,
                            stride_w=1, in_row_stride=1, out_row_stride=1, in_pix_stride=1,
                            out_pix_stride=1)
    assert init["dilation_h"] == init["dilation_w"] == 1 and init["act"] == 0


def test_decode_rejects_bad_words():
    words = encode([_load(), Instruction.make(Opcode.END)])
    bad = words.copy()
    bad[1, 0] = 0x5  # no instruction has opcode 5
    with pytest.raises(DecodingError, match=r"instruction 1: unknown opcode 0x5"):
        decode(bad)
    bad = words.copy()
    bad[1, 3] = 1  # END uses only the header
    with pytest.raises(DecodingError, match=r"instruction 1: END has reserved bits set in word 3"):
        decode(bad)
    bad = words.copy()
    bad[0, 0] |= 3 << 12  # buf = 3
    with pytest.raises(DecodingError, match=r"instruction 0: LOAD\.buf = 3 is not a valid Buf"):
        decode(bad)
    with pytest.raises(DecodingError, match=r"shape \[n, 8\]"):
        decode(np.zeros((2, 4), np.uint32))


# --- vectorized field access -----------------------------------------------------------------


@given(streams)
@settings(max_examples=60, deadline=None)
def test_get_field_and_columns_agree_with_decode(instrs):
    words = encode(instrs)
    for op in set(Opcode):
        index = select(words, op)
        expect = [i for i in instrs if i.op == op]
        idx, cols = columns(words, op)
        np.testing.assert_array_equal(idx, index)
        for name in ("dpdon", "dpdby"):
            assert cols[name].tolist() == [getattr(i, name) for i in expect]
        for name in SPECS[op].names:
            values = [i.fields[name] for i in expect]
            assert get_field(words, op, name, index).tolist() == values
            assert get_field(words, op, name, opcodes(words) == op).tolist() == values
            assert cols[name].tolist() == values


@given(streams, st.data())
@settings(max_examples=60, deadline=None)
def test_set_and_put_field_patch_only_that_field(instrs, data):
    words = encode(instrs)
    index = select(words, Opcode.LOAD, Opcode.SAVE)
    seg_field = SPECS[Opcode.LOAD].placed("seg").field
    new = data.draw(st.lists(field_values(seg_field), min_size=len(index),
                             max_size=len(index)))
    fast = words.copy()
    set_field(words, (Opcode.LOAD, Opcode.SAVE), "seg", new, index)
    put_field(fast, (Opcode.LOAD, Opcode.SAVE), "seg", index, np.array(new, np.int64))
    np.testing.assert_array_equal(fast, words)  # the linker's fast writer agrees
    patched = decode(words)
    it = iter(new)
    for before, after in zip(instrs, patched, strict=True):
        if before.op in (Opcode.LOAD, Opcode.SAVE):
            assert after == Instruction(before.op, {**before.fields, "seg": next(it)},
                                        before.dpdon, before.dpdby)
        else:
            assert after == before


def test_set_field_vectorized_relocation():
    # The linker's use: shift every offset of every LOAD/SAVE in one step.
    words = encode([_load(off=100), Instruction.make(Opcode.END), _load(off=200)])
    idx = select(words, Opcode.LOAD, Opcode.SAVE)
    off = get_field(words, (Opcode.LOAD, Opcode.SAVE), "off", idx)
    set_field(words, (Opcode.LOAD, Opcode.SAVE), "off", off + 0x1000, idx)
    assert [i["off"] for i in decode(words) if i.op == Opcode.LOAD] == [0x1064, 0x10C8]


def test_field_access_errors():
    words = encode([_load(), Instruction.make(Opcode.END)])
    with pytest.raises(DecodingError, match=r"instruction 1 is END, not LOAD"):
        get_field(words, Opcode.LOAD, "off")
    with pytest.raises(EncodingError, match=r"LOAD\.seg = 32 does not fit .* \(instruction 0\)"):
        set_field(words, Opcode.LOAD, "seg", 32, [0])
    before = words.copy()
    with pytest.raises(EncodingError, match=r"LOAD\.seg = 32 does not fit .* \(instruction 0\)"):
        put_field(words, Opcode.LOAD, "seg", np.array([0]), 32)
    np.testing.assert_array_equal(words, before)  # nothing written
    with pytest.raises(KeyError, match="LOAD has no field 'nope'"):
        get_field(words, Opcode.LOAD, "nope", [0])
    with pytest.raises(ValueError, match="sits differently"):
        get_field(words, (Opcode.CONV, Opcode.POOL), "out_addr", [])


# --- a ResNet-50-sized stream (~100k instructions) round-trips; its speed is benchmarked in
# benchmarks/bench_isa.py, not asserted here.


def test_100k_instructions_round_trip():
    n = 100_000
    rng = np.random.default_rng(0)
    parts = []
    for op in (Opcode.LOAD, Opcode.CONV, Opcode.SAVE, Opcode.POOL, Opcode.ELEW):
        m = n // 5
        cols = {f.name: (rng.integers(f.lo, f.hi + 1, m) if f.enum is None
                         else rng.choice([int(e) for e in f.enum], m))
                for f in SPECS[op].fields}
        parts.append(encode_columns(op, cols, m))
    words = np.concatenate(parts)[rng.permutation(n)]
    np.testing.assert_array_equal(encode(decode(words)), words)
