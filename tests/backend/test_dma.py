"""LOAD and SAVE: strided 3-D copies against byte-by-byte loops, and the faults that enforce a
tenant's DDR regions and the on-chip buffer bounds (exact messages)."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fvir.backend import BufferFault, CoreState, Memory, MemoryFault, SimError
from fvir.isa import Buf, Opcode

from .helpers import CORE, fresh, make, run


def dma(op: Opcode, **over: int) -> object:
    fields = dict(buf=Buf.FMAP, seg=1, off=0, addr=0, rows=1, cols=1, chans=1, buf_pix_stride=0,
                  ddr_row_stride=0, ddr_pix_stride=0, buf_row_stride=0)
    fields.update(over)
    return make(op, **fields)


def ref_copy(src: np.ndarray, src_start: int, src_strides: tuple[int, int], dst: np.ndarray,
             dst_start: int, dst_strides: tuple[int, int], rows: int, cols: int,
             chans: int) -> None:
    """The pseudo-code, byte by byte, in loop order."""
    for r in range(rows):
        for c in range(cols):
            for i in range(chans):
                s = src_start + r * src_strides[0] + c * src_strides[1] + i
                d = dst_start + r * dst_strides[0] + c * dst_strides[1] + i
                dst[d] = src[s]


geometry = st.fixed_dictionaries({
    "rows": st.integers(0, 4), "cols": st.integers(0, 5), "chans": st.integers(0, 9),
    "off": st.integers(0, 64), "addr": st.integers(0, 64),
    "ddr_pix_stride": st.integers(0, 12), "ddr_row_stride": st.integers(0, 80),
    "buf_pix_stride": st.integers(0, 12), "buf_row_stride": st.integers(0, 80),
})


@settings(max_examples=150, deadline=None)
@given(geometry, st.sampled_from([Buf.FMAP, Buf.WEIGHT, Buf.BIAS]))
def test_load_then_save_match_loops(g: dict[str, int], buf: Buf) -> None:
    """Any strides, including overlapping ones (zero strides: a later write wins)."""
    rng = np.random.default_rng(0)
    state, mem = fresh()
    ddr = mem.alloc(1, 512, "in")
    ddr[:] = rng.integers(0, 256, 512)
    out = mem.alloc(2, 1024, "out")
    run(state, mem, dma(Opcode.LOAD, buf=buf, **g))

    expected_buf = np.zeros(state.raw[buf].size, np.uint8)
    ref_copy(ddr, g["off"], (g["ddr_row_stride"], g["ddr_pix_stride"]), expected_buf, g["addr"],
             (g["buf_row_stride"], g["buf_pix_stride"]), g["rows"], g["cols"], g["chans"])
    np.testing.assert_array_equal(state.raw[buf], expected_buf)

    # SAVE the same geometry back (buffer -> DDR segment 2) and compare with the loop again.
    run(state, mem, dma(Opcode.SAVE, buf=buf, **{**g, "seg": 2}))
    expected_out = np.zeros(1024, np.uint8)
    ref_copy(expected_buf, g["addr"], (g["buf_row_stride"], g["buf_pix_stride"]), expected_out,
             g["off"], (g["ddr_row_stride"], g["ddr_pix_stride"]), g["rows"], g["cols"],
             g["chans"])
    np.testing.assert_array_equal(out, expected_out)


def test_load_gathers_a_tile_window_with_gaps() -> None:
    """A 3 x 4 pixel window of an 8 x 10 x 6 NHWC tensor into a buffer with 8-byte pixels."""
    state, mem = fresh()
    t = np.arange(8 * 10 * 6, dtype=np.uint8).reshape(8, 10, 6)
    mem.bind(1, t.ravel().copy(), "act")
    run(state, mem, dma(Opcode.LOAD, off=(2 * 10 + 3) * 6, addr=100, rows=3, cols=4, chans=6,
                        ddr_row_stride=60, ddr_pix_stride=6, buf_pix_stride=8,
                        buf_row_stride=40))
    got = np.stack([state.raw[Buf.FMAP][100 + y * 40 + x * 8 : 100 + y * 40 + x * 8 + 6]
                    for y in range(3) for x in range(4)]).reshape(3, 4, 6)
    np.testing.assert_array_equal(got, t[2:5, 3:7])
    assert not state.raw[Buf.FMAP][106:108].any()  # the gaps are untouched


def test_fp32_mode_copies_elements_like_bytes() -> None:
    state, mem = fresh("fp32")
    src = mem.alloc(1, 64, "in")
    src[:] = np.linspace(-1.5, 2.5, 64, dtype=np.float32)
    dst = mem.alloc(2, 64, "out")
    run(state, mem,
        dma(Opcode.LOAD, buf=Buf.WEIGHT, off=3, addr=10, rows=2, cols=3, chans=2,
            ddr_row_stride=20, ddr_pix_stride=5, buf_pix_stride=2, buf_row_stride=6),
        dma(Opcode.SAVE, buf=Buf.WEIGHT, seg=2, off=1, addr=10, rows=1, cols=1, chans=12))
    expected = np.zeros(64, np.float32)
    ref_copy(src, 3, (20, 5), expected, 1, (6, 2), 2, 3, 2)
    np.testing.assert_array_equal(dst, expected)


# ---------------------------------------------------------------------------------------------
# Faults


def test_load_past_the_segment_end_faults() -> None:
    state, mem = fresh(tenant="alice")
    mem.alloc(1, 256, "input")
    with pytest.raises(MemoryFault) as info:
        run(state, mem, make(Opcode.CONVINIT, shift_cut=0, kernel_h=1, kernel_w=1, stride_h=1,
                             stride_w=1, in_row_stride=0, out_row_stride=0, in_pix_stride=0,
                             out_pix_stride=0),
            dma(Opcode.LOAD, off=250, chans=16))
    assert str(info.value) == ("tenant 'alice', instruction 1 (LOAD): reads bytes 250..265 of "
                               "segment 1 ('input', 256 bytes), outside the segment")
    e = info.value
    assert (e.tenant, e.index, e.segment, e.lo, e.hi, e.size) == ("alice", 1, 1, 250, 266, 256)


def test_offset_beyond_the_segment_faults() -> None:
    state, mem = fresh(tenant="alice")
    mem.alloc(1, 256, "input")
    with pytest.raises(MemoryFault, match=re.escape(
            "reads bytes 4294967295..4294967295 of segment 1 ('input', 256 bytes)")):
        run(state, mem, dma(Opcode.LOAD, off=0xFFFFFFFF))


def test_strided_block_whose_last_row_leaves_the_segment_faults() -> None:
    """Only the last row's last byte is outside: the whole range is checked, not the start."""
    state, mem = fresh(tenant="bob")
    mem.alloc(1, 256, "w")
    with pytest.raises(MemoryFault) as info:
        run(state, mem, dma(Opcode.LOAD, rows=3, cols=2, chans=8, ddr_row_stride=120,
                            ddr_pix_stride=9, buf_pix_stride=8, buf_row_stride=16))
    assert str(info.value).endswith("reads bytes 0..256 of segment 1 ('w', 256 bytes), outside "
                                    "the segment")


def test_unbound_segment_faults() -> None:
    state, mem = fresh(tenant="alice")
    with pytest.raises(MemoryFault) as info:
        run(state, mem, dma(Opcode.SAVE, seg=7))
    assert str(info.value) == ("tenant 'alice', instruction 0 (SAVE): writes segment 7, which "
                               "is not bound")


def test_save_fault_writes_nothing_and_spares_the_neighbour() -> None:
    """Two tenants' regions are adjacent views of one bank: a SAVE running past alice's region
    faults before writing a byte, and bob's data stays intact."""
    bank = np.zeros(512, np.uint8)
    bank[256:] = 7
    alice, bob = Memory("int8", "alice"), Memory("int8", "bob")
    alice.bind(2, bank[:256], "out")
    bob.bind(2, bank[256:], "out")
    state = CoreState(CORE)
    state.raw[Buf.FMAP][:64] = 1
    with pytest.raises(MemoryFault, match=re.escape(
            "tenant 'alice', instruction 0 (SAVE): writes bytes 224..287 of segment 2 ('out', "
            "256 bytes), outside the segment")):
        run(state, alice, dma(Opcode.SAVE, seg=2, off=224, chans=64))
    assert not bank[:256].any()
    assert (bank[256:] == 7).all()
    run(state, bob, dma(Opcode.SAVE, seg=2, off=0, chans=64))  # bob keeps running
    assert (bank[256:320] == 1).all()


def test_load_past_the_buffer_end_faults() -> None:
    state, mem = fresh(tenant="alice")
    mem.alloc(1, 256, "input")
    size = CORE.fmap_buffer_bytes
    with pytest.raises(BufferFault) as info:
        run(state, mem, dma(Opcode.LOAD, addr=size - 10, rows=2, chans=8, buf_row_stride=8))
    assert str(info.value) == (f"tenant 'alice', instruction 0 (LOAD): writes bytes "
                               f"{size - 10}..{size + 5} of the fmap buffer ({size} bytes), "
                               f"outside the buffer")
    assert not state.raw[Buf.FMAP].any()  # nothing was written


def test_save_from_past_the_buffer_end_faults() -> None:
    state, mem = fresh(tenant="alice")
    mem.alloc(2, 256, "out")
    size = CORE.bias_buffer_bytes
    with pytest.raises(BufferFault, match=re.escape(
            f"(SAVE): reads bytes {size - 4}..{size + 3} of the bias buffer ({size} bytes)")):
        run(state, mem, dma(Opcode.SAVE, buf=Buf.BIAS, seg=2, addr=size - 4, chans=8))


def test_empty_transfers_touch_nothing() -> None:
    """Zero rows, columns or channels: no byte moves, so nothing can fault (per the loop), not
    even on an unbound segment or past the buffer's end, and no byte changes."""
    state, mem = fresh()
    ddr = mem.alloc(2, 64, "data")
    ddr[:] = np.arange(64, dtype=np.uint8)
    state.raw[Buf.FMAP][:] = 0x5A
    size = CORE.fmap_buffer_bytes
    run(state, mem, dma(Opcode.LOAD, seg=9, rows=0), dma(Opcode.SAVE, seg=9, chans=0),
        dma(Opcode.LOAD, seg=2, cols=0, addr=size + 100),
        dma(Opcode.SAVE, seg=2, rows=0, off=1 << 20))
    assert (state.raw[Buf.FMAP] == 0x5A).all()
    np.testing.assert_array_equal(ddr, np.arange(64, dtype=np.uint8))


def test_faults_are_one_line_user_errors() -> None:
    from fvir.errors import UserError

    state, mem = fresh()
    with pytest.raises(SimError) as info:
        run(state, mem, dma(Opcode.LOAD, seg=3))
    assert isinstance(info.value, UserError)
    assert "\n" not in str(info.value)


def test_read_only_region_faults_on_save_but_loads() -> None:
    """A package's weights are read-only (tenants running one model may share them)."""
    state, mem = fresh(tenant="alice")
    weights = np.arange(64, dtype=np.uint8)
    mem.bind(0, weights, "weights", writable=False)
    run(state, mem, dma(Opcode.LOAD, seg=0, buf=Buf.WEIGHT, chans=64))
    np.testing.assert_array_equal(state.raw[Buf.WEIGHT][:64], weights)
    with pytest.raises(MemoryFault) as info:
        run(state, mem, dma(Opcode.SAVE, seg=0, off=8, chans=4))
    assert str(info.value) == ("tenant 'alice', instruction 0 (SAVE): writes bytes 8..11 of "
                               "segment 0 ('weights', 64 bytes), which is read-only")
    assert info.value.problem == "read-only"
    np.testing.assert_array_equal(weights, np.arange(64))  # the caller's array is untouched
    assert weights.flags.writeable  # binding read-only did not change the caller's array


def test_memory_access_checks_both_ends() -> None:
    """Host-side accesses (tensors) go through the same check; a range may start below 0."""
    mem = Memory("int8", "carol")
    mem.alloc(4, 100, "act")
    with pytest.raises(MemoryFault, match=re.escape(
            "tenant 'carol' (tensor 'x'): reads bytes -4..3 of segment 4 ('act', 100 bytes), "
            "outside the segment")):
        mem.access("tensor 'x'", "reads", 4, -4, 4)
    assert mem.access("tensor 'x'", "reads", 4, 0, 100) is mem[4]


@pytest.mark.parametrize(("seg", "array", "message"), [
    (32, np.zeros(4, np.uint8), "segment 32 is not a base register (0..31)"),
    (0, np.zeros(4, np.float32), "a int8 memory needs a contiguous 1-D uint8 array"),
    (0, np.zeros((2, 2), np.uint8), "got 2-D uint8"),
    (0, np.zeros(8, np.uint8)[::2], "contiguous"),
])
def test_bind_rejects_what_a_region_cannot_be(seg: int, array: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Memory("int8").bind(seg, array)
