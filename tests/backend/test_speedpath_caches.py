"""The simulator's fast path keeps its results exact: instruction steps cached by value, the
im2col matrices reused across CONVs by input bytes, one float32 product for long reductions
when the data bound it, int32 requantization when nothing can overflow, and the token checks
of cached instructions. Every comparison is against the Python-integer references."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fvir.backend import CoreState, DependencyError, Memory
from fvir.backend.functional import run_decoded
from fvir.isa import Act, Buf, ElewType, Instruction, Opcode

from .helpers import (
    CORE,
    fresh,
    get_block,
    make,
    put_block,
    ref_conv_acc,
    ref_requant,
    ref_requant_block,
    run,
)

IN_ADDR, OUT_ADDR, WGT_ADDR, BIAS_ADDR = 0, 12000, 0, 0


def conv_program(rows: int, cols: int, ic: int, oc: int, k: int = 3, pad: int = 1,
                 shift_cut: int = 9, shift_bias: int = 0, act: Act = Act.RELU,
                 act_arg: int = 0) -> tuple[list[Instruction], int, int, int, int]:
    in_rows, in_cols = rows + k - 1 - 2 * pad, cols + k - 1 - 2 * pad
    in_row, out_row = in_cols * ic, cols * oc
    init = make(Opcode.CONVINIT, act=act, act_arg=act_arg, shift_cut=shift_cut,
                shift_bias=shift_bias, kernel_h=k, kernel_w=k, stride_h=1, stride_w=1,
                dilation_h=1, dilation_w=1, in_row_stride=in_row, out_row_stride=out_row,
                in_pix_stride=ic, out_pix_stride=oc)
    op = make(Opcode.CONV, pad_t=pad, pad_l=pad, pad_b=pad, pad_r=pad, in_addr=IN_ADDR,
              wgt_addr=WGT_ADDR, bias_addr=BIAS_ADDR, out_addr=OUT_ADDR, rows=rows, cols=cols,
              ic=ic, oc=oc)
    return [init, op], in_rows, in_cols, in_row, out_row


def place(state: CoreState, x: np.ndarray, w: np.ndarray, bias: np.ndarray,
          in_row: int) -> None:
    put_block(state.fmap, IN_ADDR, in_row, x.shape[2], x.astype(np.int8))
    state.weight[WGT_ADDR : WGT_ADDR + w.size] = w.astype(np.int8).ravel()
    state.bias[BIAS_ADDR : BIAS_ADDR + 4 * bias.size] = bias.astype("<i4").view(np.uint8)


def expected_conv(x: np.ndarray, w: np.ndarray, bias: np.ndarray, rows: int, cols: int,
                  pad: int, shift_cut: int, shift_bias: int = 0, act: Act = Act.RELU,
                  act_arg: int = 0) -> np.ndarray:
    acc = ref_conv_acc(x.astype(np.int64), w.astype(np.int64), rows, cols, (1, 1), (1, 1),
                       (pad,) * 4, False)
    return ref_requant_block(acc, bias, shift_bias, shift_cut, act, act_arg)


def test_repeated_conv_sees_new_input_bytes_and_new_configurations() -> None:
    """The same CONV instruction over the same input geometry, run as consecutive frames would
    run it: with new input bytes, with the same bytes again, and under another CONVINIT."""
    rows, cols, ic, oc = 3, 4, 5, 3
    prog, in_rows, in_cols, in_row, out_row = conv_program(rows, cols, ic, oc)
    rng = np.random.default_rng(11)
    state, mem = fresh()
    w = rng.integers(-128, 128, (oc, 3, 3, ic))
    bias = rng.integers(-3000, 3000, oc)
    inputs = [rng.integers(-128, 128, (in_rows, in_cols, ic)) for _ in range(3)]
    inputs.insert(2, inputs[1].copy())  # the same bytes twice in a row
    one_byte = inputs[0].copy()
    one_byte[-1, -1, -1] ^= 1  # differs from inputs[0] in its very last byte only
    inputs.append(one_byte)
    for x in inputs:
        place(state, x, w, bias, in_row)
        run(state, mem, *prog)
        got = get_block(state.fmap, OUT_ADDR, out_row, oc, (rows, cols, oc))
        np.testing.assert_array_equal(got, expected_conv(x, w, bias, rows, cols, 1, 9))
    # Another CONVINIT (shift and activation) for the very same CONV and input.
    other, *_ = conv_program(rows, cols, ic, oc, shift_cut=6, act=Act.NONE)
    run(state, mem, other[0], prog[1])
    got = get_block(state.fmap, OUT_ADDR, out_row, oc, (rows, cols, oc))
    np.testing.assert_array_equal(
        got, expected_conv(inputs[-1], w, bias, rows, cols, 1, 6, act=Act.NONE))


@pytest.mark.parametrize(("scale", "wmax"), [(3, 127), (127, 63), (128, 128)],
                         ids=["small inputs", "small weights", "full range"])
def test_long_reductions_are_exact_on_every_path(scale: int, wmax: int) -> None:
    """K = 2 * 2 * 520 = 2080 terms: one float32 product when |A| row sums times max |w| stay
    within 2**24 (small inputs, or small weights), chunks of 1024 terms otherwise. Output
    pixel (0, 0) accumulates sum |x| |w| (odd; above 2**25 in full range, where float32 would
    round it), and a bias leaves 1, 5 and -3 of it, so the int8 output shows any rounding."""
    rows, cols, ic, oc, k = 2, 2, 520, 3, 2
    prog, in_rows, in_cols, in_row, out_row = conv_program(rows, cols, ic, oc, k=k, pad=0,
                                                           shift_cut=0, act=Act.NONE)
    rng = np.random.default_rng(3)
    x = rng.integers(-scale, scale, (in_rows, in_cols, ic))
    x[:k, :k] = np.where(rng.integers(0, 2, (k, k, ic)) == 1, -scale, scale - 1)
    w = rng.integers(-wmax, wmax, (oc, k, k, ic))
    w[:] = np.where(x[:k, :k] < 0, -wmax, wmax - 1)
    w[:, 0, 0, 0] = np.where(x[0, 0, 0] < 0, -1, 1)  # an odd accumulator
    acc = ref_conv_acc(x.astype(np.int64), w.astype(np.int64), rows, cols, (1, 1), (1, 1),
                       (0,) * 4, False)
    assert int(acc[0, 0, 0]) % 2 == 1
    assert (int(acc[0, 0, 0]) > 1 << 25) == (scale == 128)
    bias = np.array([1, 5, -3]) - acc[0, 0].astype(np.int64)
    state, mem = fresh()
    place(state, x, w, bias, in_row)
    run(state, mem, *prog)
    got = get_block(state.fmap, OUT_ADDR, out_row, oc, (rows, cols, oc))
    np.testing.assert_array_equal(got[0, 0], [1, 5, -3])
    np.testing.assert_array_equal(got, ref_requant_block(acc, bias, 0, 0, 0, 0))


@pytest.mark.parametrize(("shift_bias", "shift_cut", "bias_range"), [
    (0, 9, 1 << 14), (20, 30, 1 << 14), (40, 45, 1 << 20), (50, 60, 1 << 10),
    (0, 0, 1 << 31)])
def test_requantization_is_exact_near_int32_limits(shift_bias: int, shift_cut: int,
                                                   bias_range: int) -> None:
    """Large shifted biases and shifts: the int32 fast path must give way to int64."""
    rows, cols, ic, oc = 2, 3, 6, 4
    prog, in_rows, in_cols, in_row, out_row = conv_program(
        rows, cols, ic, oc, shift_cut=shift_cut, shift_bias=shift_bias, act=Act.LEAKY,
        act_arg=77)
    rng = np.random.default_rng(shift_bias)
    x = rng.integers(-128, 128, (in_rows, in_cols, ic))
    w = rng.integers(-128, 128, (oc, 3, 3, ic))
    bias = rng.integers(-bias_range, bias_range, oc, dtype=np.int64)
    state, mem = fresh()
    place(state, x, w, bias, in_row)
    run(state, mem, *prog)
    got = get_block(state.fmap, OUT_ADDR, out_row, oc, (rows, cols, oc))
    expected = expected_conv(x, w, bias, rows, cols, 1, shift_cut, shift_bias, Act.LEAKY, 77)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("elew_type", "shift_a", "shift_b", "shift_out", "act", "act_arg"), [
    (ElewType.ADD, 0, 1, 1, Act.RELU, 0),
    (ElewType.ADD, 22, 23, 24, Act.LEAKY, 200),
    (ElewType.MUL, 9, 8, 31, Act.RELU6, 90),
    (ElewType.MUL, 20, 21, 40, Act.NONE, 0),
    (ElewType.ADD, 30, 0, 0, Act.NONE, 0),
])
def test_elew_is_exact_in_either_integer_width(elew_type: ElewType, shift_a: int,
                                               shift_b: int, shift_out: int, act: Act,
                                               act_arg: int) -> None:
    rows, cols, chans = 2, 3, 7
    rng = np.random.default_rng(shift_a)
    a, b = (rng.integers(-128, 128, (rows, cols, chans)).astype(np.int8) for _ in range(2))
    a[0, 0, 0] = b[0, 0, 0] = -128
    state, mem = fresh()
    init = make(Opcode.ELEWINIT, elew_type=elew_type, act=act, act_arg=act_arg,
                shift_a=shift_a, shift_b=shift_b, shift_out=shift_out,
                in_row_stride=cols * chans, out_row_stride=cols * chans, in_pix_stride=chans,
                out_pix_stride=chans)
    put_block(state.fmap, 0, cols * chans, chans, a)
    put_block(state.fmap, 1000, cols * chans, chans, b)
    run(state, mem, init, make(Opcode.ELEW, chans=chans, in_a=0, in_b=1000, out_addr=2000,
                               rows=rows, cols=cols))
    got = get_block(state.fmap, 2000, cols * chans, chans, (rows, cols, chans))
    expected = np.zeros_like(got)
    for idx in np.ndindex(a.shape):
        va, vb = int(a[idx]) << shift_a, int(b[idx]) << shift_b
        acc = va + vb if elew_type == ElewType.ADD else va * vb
        expected[idx] = ref_requant(acc, shift_out, act, act_arg)
    np.testing.assert_array_equal(got, expected)


def test_cached_steps_follow_field_names_not_just_values() -> None:
    """Two LOADs whose field values come in the same order under different names (a dict built
    in another order) are different instructions; so are the same values under another op."""
    mem = Memory("int8", "t")
    ddr = mem.alloc(1, 256, "in")
    ddr[:] = np.arange(256, dtype=np.uint8)
    base = make(Opcode.LOAD, buf=Buf.FMAP, seg=1, off=5, addr=0, rows=2, cols=3, chans=4,
                buf_pix_stride=4, ddr_row_stride=40, ddr_pix_stride=8, buf_row_stride=12)
    names = list(base.fields)
    i, j = names.index("rows"), names.index("cols")
    names[i], names[j] = names[j], names[i]
    swapped = Instruction(Opcode.LOAD, dict(zip(names, base.fields.values(), strict=True)))
    assert tuple(swapped.fields.values()) == tuple(base.fields.values())
    for ins in (base, swapped, base, swapped):
        f = ins.fields
        state = CoreState(CORE)
        run_decoded([ins], state, mem)
        expected = np.zeros(state.raw[Buf.FMAP].size, np.uint8)
        for r in range(f["rows"]):
            for c in range(f["cols"]):
                src = f["off"] + r * f["ddr_row_stride"] + c * f["ddr_pix_stride"]
                dst = f["addr"] + r * f["buf_row_stride"] + c * f["buf_pix_stride"]
                expected[dst : dst + f["chans"]] = ddr[src : src + f["chans"]]
        np.testing.assert_array_equal(state.raw[Buf.FMAP], expected)
    # A SAVE with the LOAD's values writes DDR instead.
    save = Instruction(Opcode.SAVE, dict(base.fields))
    state = CoreState(CORE)
    state.raw[Buf.FMAP][:64] = 7
    out = mem.alloc(1, 256, "out")
    run_decoded([save], state, mem)
    assert (out == 7).sum() == 24


def test_token_errors_of_cached_instructions_are_raised_every_time() -> None:
    state, mem = fresh()
    mem.alloc(0, 64, "in")
    geometry = dict(buf=Buf.FMAP, seg=0, off=0, addr=0, rows=1, cols=1, chans=4,
                    buf_pix_stride=4, ddr_row_stride=4, ddr_pix_stride=4, buf_row_stride=4)
    good = make(Opcode.LOAD, 0, "C", **geometry)
    waits = make(Opcode.CONVINIT, "L", 0, shift_cut=0, kernel_h=1, kernel_w=1, stride_h=1,
                 stride_w=1,
                 in_row_stride=4, out_row_stride=4, in_pix_stride=4, out_pix_stride=4)
    run_decoded([good, waits], state, mem)
    for _ in range(2):
        with pytest.raises(DependencyError, match=re.escape("LOAD->CONV token that no earlier")):
            run_decoded([waits], state, mem)
        with pytest.raises(DependencyError, match="never consumed"):
            run_decoded([good], state, mem)
    own = Instruction(Opcode.LOAD, good.fields, 0, 1)  # make() would reject the mask
    for _ in range(2):
        with pytest.raises(DependencyError, match="names its own engine LOAD in dpdby"):
            run_decoded([good, waits, own], state, mem)
