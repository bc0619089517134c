"""The ISA table itself: layout invariants and the facts it must keep from the DPU lineage."""

import pytest

from fvir.isa import SPECS, Engine, Opcode, dep_mask, dep_str
from fvir.isa.instr import EncodingError
from fvir.isa.spec import HEADER, INSTR_WORDS, WORD_BITS


@pytest.mark.parametrize("op", list(Opcode), ids=lambda o: o.name)
def test_fields_fit_and_never_overlap(op):
    s = SPECS[op]
    used = [0] * INSTR_WORDS
    for p in s.layout:
        assert 0 <= p.word < INSTR_WORDS
        assert p.lsb + p.field.bits <= WORD_BITS, f"{p.name} straddles a word"
        bits = p.mask << p.lsb
        assert used[p.word] & bits == 0, f"{p.name} overlaps another field"
        used[p.word] |= bits
    # The reserved masks are exactly the unused bits.
    assert [~m & 0xFFFFFFFF for m in s.reserved_masks()] == used


@pytest.mark.parametrize("op", list(Opcode), ids=lambda o: o.name)
def test_every_instruction_starts_with_the_header(op):
    head = SPECS[op].layout[:3]
    assert [(p.name, p.word, p.lsb, p.field.bits) for p in head] == [
        ("opcode", 0, 0, 4), ("dpdon", 0, 4, 4), ("dpdby", 0, 8, 4)]
    assert tuple(p.field for p in head) == HEADER


def test_engines_follow_dpu_categories():
    # dpuv2.xml categories: load, save, conv, misc (paper.md section 2.1); MVM computes on
    # the conv engine's MAC array, ACT and ROW (transformers' row reductions) on the misc
    # engine; SYNC/END are dispatcher fences.
    expect = {
        Opcode.LOAD: Engine.LOAD, Opcode.SAVE: Engine.SAVE,
        Opcode.CONVINIT: Engine.CONV, Opcode.CONV: Engine.CONV, Opcode.MVM: Engine.CONV,
        Opcode.POOLINIT: Engine.MISC, Opcode.POOL: Engine.MISC, Opcode.ELEWINIT: Engine.MISC,
        Opcode.ELEW: Engine.MISC, Opcode.ACT: Engine.MISC, Opcode.ROW: Engine.MISC,
        Opcode.SYNC: None, Opcode.END: None,
    }
    assert {op: s.engine for op, s in SPECS.items()} == expect


def test_dependency_bits_are_load_conv_misc_save():
    assert [(e.name, e.bit) for e in Engine] == [
        ("LOAD", 1), ("CONV", 2), ("MISC", 4), ("SAVE", 8)]
    assert dep_mask("LC") == 0b0011
    assert dep_mask("s") == 0b1000
    assert dep_mask("-") == 0
    assert dep_str(0b1010) == "CS"
    assert dep_str(0) == "-"
    with pytest.raises(EncodingError, match="unknown engine 'X'"):
        dep_mask("LX")


def test_ddr_is_only_base_register_relative():
    # Only LOAD/SAVE touch DDR, always as (seg, off); nothing holds an absolute DDR address.
    for op, s in SPECS.items():
        names = set(s.names)
        assert ("seg" in names) == ("off" in names) == (op in (Opcode.LOAD, Opcode.SAVE))
        assert not any("ddr_addr" in n for n in names)


def test_load_and_save_share_a_layout():
    # The linker patches seg/off of both in one operation.
    load, save = SPECS[Opcode.LOAD].layout, SPECS[Opcode.SAVE].layout
    assert [(p.name, p.word, p.lsb, p.field.bits) for p in load[1:]] == [
        (p.name, p.word, p.lsb, p.field.bits) for p in save[1:]]


def test_fields_are_documented():
    for s in SPECS.values():
        assert s.doc and s.semantics
        for f in s.fields:
            assert f.doc, f"{s.op.name}.{f.name} has no doc"


def test_field_reads_the_table():
    from fvir.isa.spec import field

    assert field(Opcode.CONV, "pad_t") is SPECS[Opcode.CONV].placed("pad_t").field
    assert (field(Opcode.ACT, "in_frac").lo, field(Opcode.ACT, "in_frac").hi) == (-32, 31)


def test_sync_barrier_ids_are_the_barrier_field():
    from fvir.isa.spec import MAX_SYNC_CORES, NUM_BARRIERS, field

    # docs/isa.md: SYNC `barrier` is 16 bits, `count` 8 bits.
    assert NUM_BARRIERS == 65536 == 1 << field(Opcode.SYNC, "barrier").bits
    assert MAX_SYNC_CORES == 255


def test_dma_end_is_one_past_the_last_byte():
    import numpy as np

    from fvir.isa.spec import dma_end

    # 3 rows x 2 pixels x 5 bytes: last byte at off + 2 * row + 1 * pix + 4, by hand.
    f = {"off": 100, "addr": 7, "rows": 3, "cols": 2, "chans": 5, "ddr_row_stride": 1000,
         "ddr_pix_stride": 40, "buf_row_stride": 10, "buf_pix_stride": 5}
    assert dma_end(f, "ddr") == 100 + 2000 + 40 + 5
    assert dma_end(f, "buf") == 7 + 20 + 5 + 5  # contiguous in the buffer: 7 + 30 bytes
    cols = {k: np.array([v, v]) for k, v in f.items()} | {"rows": np.array([3, 1])}
    assert dma_end(cols, "buf").tolist() == [37, 17]
