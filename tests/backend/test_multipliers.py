"""Per-output-channel requantization multipliers at the instruction level: CONVINIT's and MVM's
`scaled` (the bias buffer holds an int32 bias and an int32 multiplier per output channel, 8
bytes apart; y = requant(acc * mul, shift_cut, act, act_arg, out_zp) in int64), for CONV
(regular, depthwise, a reduction longer than float32's exact range, a split over input
channels) and MVM (whole and split); multipliers outside 1..REQUANT_MUL_MAX are an error, the
8*oc bytes are bounds-checked, fp32 mode reads the biases at the 8-byte stride and ignores the
multipliers, scaled = 0 is unchanged, and the field round-trips through the encoder and the
assembler.

Every expected value is computed here from docs/isa.md's pseudo-code with numpy and the int8
contract's helpers (`fvir.quant.contract`), never with the simulator's own code.
"""

from __future__ import annotations

import numpy as np
import pytest

from fvir.backend import BufferFault, ProgramError
from fvir.isa import (
    REQUANT_MUL_BITS,
    REQUANT_MUL_MAX,
    Act,
    Opcode,
    assemble,
    decode,
    disasm,
    encode,
)
from fvir.isa.spec import SPECS
from fvir.quant.contract import requant, rshift_round, sat8

from .helpers import CORE, conv_acc, fresh, get_block, make, put_block, put_conv_part, run

RNG = np.random.default_rng(4242)

IN, WGT, BIAS, OUT = 16, 64, 32, 6000
BIAS_BYTES = CORE.bias_buffer_bytes


def int8s(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(-128, 128, shape).astype(np.int8)


def muls(n: int) -> np.ndarray:
    """Random multipliers over the whole range, both ends included when n allows."""
    m = RNG.integers(1, REQUANT_MUL_MAX + 1, n)
    m[: min(n, 2)] = [1, REQUANT_MUL_MAX][: min(n, 2)]
    return RNG.permutation(m)


def put_pairs(state, addr: int, bias: np.ndarray, mul: np.ndarray) -> None:
    """The bias buffer's (bias, multiplier) pairs: int32 words in int8 mode; in fp32 mode the
    bias as the element at addr + 8*o and the multiplier at addr + 8*o + 4."""
    n = len(bias)
    if state.mode == "int8":
        words = np.stack([bias, mul], axis=1).astype("<i4")
        state.bias[addr : addr + 8 * n] = words.view(np.uint8).ravel()
    else:
        state.bias[addr : addr + 8 * n : 8] = bias
        state.bias[addr + 4 : addr + 8 * n + 4 : 8] = mul


def convinit(in_row: int, out_row: int, in_pix: int, out_pix: int, *, scaled: int, act: Act,
             act_arg: int = 0, shift_cut: int, shift_bias: int = 1, in_zp: int = 0,
             out_zp: int = 0):
    return make(Opcode.CONVINIT, act=act, act_arg=act_arg, shift_cut=shift_cut,
                shift_bias=shift_bias, kernel_h=3, kernel_w=3, stride_h=1, stride_w=1,
                in_row_stride=in_row, out_row_stride=out_row, in_pix_stride=in_pix,
                out_pix_stride=out_pix, in_zp=in_zp, out_zp=out_zp, scaled=scaled)


def conv_run(state, mem, x: np.ndarray, w: np.ndarray, *, depthwise: bool,
             pads: tuple[int, int, int, int], rows: int, cols: int, scaled: int = 1,
             act: Act = Act.NONE, act_arg: int = 0, shift_cut: int = 30, in_zp: int = 0,
             out_zp: int = 0, bias_addr: int = BIAS) -> np.ndarray:
    """CONVINIT (3x3, stride 1, shift_bias 1) + one CONV over `x`; the output block."""
    _, in_cols, ic = x.shape
    oc = w.shape[-1] if depthwise else w.shape[0]
    dtype = state.fmap.dtype
    in_pix, out_pix = ic + 1, oc + 2
    put_block(state.fmap, IN, in_cols * in_pix, in_pix, x.astype(dtype))
    state.weight[WGT : WGT + w.size] = w.astype(dtype).ravel()
    run(state, mem,
        convinit(in_cols * in_pix, cols * out_pix, in_pix, out_pix, scaled=scaled, act=act,
                 act_arg=act_arg, shift_cut=shift_cut, in_zp=in_zp, out_zp=out_zp),
        make(Opcode.CONV, pad_t=pads[0], pad_l=pads[1], pad_b=pads[2], pad_r=pads[3],
             depthwise=int(depthwise), in_addr=IN, wgt_addr=WGT, bias_addr=bias_addr,
             out_addr=OUT, rows=rows, cols=cols, ic=ic, oc=oc))
    return get_block(state.fmap, OUT, cols * out_pix, out_pix, (rows, cols, oc))


def cut(prod: np.ndarray) -> int:
    """A shift_cut that brings the largest |acc * mul| to about 2**8."""
    return max(int(np.abs(prod).max()).bit_length() - 8, 0)


def spread(y: np.ndarray) -> None:
    """The test data exercise the requantization: several distinct outputs, not all
    saturated."""
    assert len(np.unique(y)) >= 4
    assert np.mean((y == 127) | (y == -128)) < 0.7


# ---------------------------------------------------------------------------------------------
# CONV

PADS = (1, 1, 1, 0)


@pytest.mark.parametrize("depthwise", [False, True], ids=["regular", "depthwise"])
@pytest.mark.parametrize(("act", "act_arg", "in_zp", "out_zp"),
                         [(Act.NONE, 0, 0, 0), (Act.RELU, 0, -9, 40), (Act.RELU6, 100, 3, -20),
                          (Act.LEAKY, 26, 0, -60)])
def test_conv_scaled(depthwise: bool, act: Act, act_arg: int, in_zp: int, out_zp: int) -> None:
    rows, cols, ic = 4, 5, 6
    oc = ic if depthwise else 5
    x = int8s((rows + 2 - 2, cols + 2 - 1, ic))
    w = int8s((3, 3, oc) if depthwise else (oc, 3, 3, ic))
    bias, mul = RNG.integers(-200000, 200000, oc), muls(oc)
    acc = conv_acc(x, w, depthwise=depthwise, pads=PADS, rows=rows, cols=cols, fill=in_zp)
    prod = (acc + (bias << 1)) * mul
    s = cut(prod)
    state, mem = fresh()
    put_pairs(state, BIAS, bias, mul)
    got = conv_run(state, mem, x, w, depthwise=depthwise, pads=PADS, rows=rows, cols=cols,
                   act=act, act_arg=act_arg, shift_cut=s, in_zp=in_zp, out_zp=out_zp)
    want = requant(prod, s, act, act_arg, out_zp)
    np.testing.assert_array_equal(got, want)
    spread(want)


def test_conv_scaled_long_reduction_needs_int64() -> None:
    """K = 3*3*128 > 1024 terms (the chunked exact product) without padding (the cached
    im2col matrix), large biases: acc * mul is far outside int32."""
    rows, cols, ic, oc = 2, 3, 128, 4
    x, w = int8s((rows + 2, cols + 2, ic)), int8s((oc, 3, 3, ic))
    bias = RNG.integers(-(1 << 28), 1 << 28, oc)
    mul = np.array([REQUANT_MUL_MAX, 1 << 23, 3, (1 << 22) + 12345])
    state, mem = fresh()
    put_pairs(state, BIAS, bias, mul)
    for _ in range(2):  # the second CONV finds its operands in the caches
        got = conv_run(state, mem, x, w, depthwise=False, pads=(0, 0, 0, 0), rows=rows,
                       cols=cols, shift_cut=46)
        acc = conv_acc(x, w, depthwise=False, pads=(0, 0, 0, 0), rows=rows, cols=cols, fill=0)
        prod = (acc + (bias << 1)) * mul
        assert np.abs(prod).max() > 1 << 50
        np.testing.assert_array_equal(got, requant(prod, 46))


def test_conv_split_reduction_reads_multipliers_in_its_final_part() -> None:
    """A CONV split over input channels: the first part (acc_out) stores the plain int32
    sums products + bias (biases read 8 bytes apart, no multiplier), the final part (acc_in)
    adds its products and requantizes with the multipliers it reads at bias_addr."""
    rows, cols, ic, oc, out_zp = 2, 3, 4, 3, 11
    x, w = int8s((rows + 1, cols + 1, ic)), int8s((oc, 3, 3, ic))
    bias = RNG.integers(-5000, 5000, oc)
    mul = np.array([1 << 23, (1 << 22) + 99, 3 << 21])  # similar scales: several outputs
    pads = (1, 1, 0, 0)
    acc = conv_acc(x, w, depthwise=False, pads=pads, rows=rows, cols=cols, fill=0)
    s = cut((acc + bias) * mul)
    state, mem = fresh()
    put_pairs(state, BIAS, bias, mul)
    psum = 512
    for j, (a, b) in enumerate([(0, 2), (2, 4)]):
        in_pix = put_conv_part(state, x, w, a, b, IN, WGT)
        run(state, mem,
            convinit((cols + 1) * in_pix, cols * oc, in_pix, oc, scaled=1, act=Act.RELU,
                     shift_cut=s, shift_bias=0, out_zp=out_zp),
            make(Opcode.CONV, pad_t=1, pad_l=1, in_addr=IN, wgt_addr=WGT, bias_addr=BIAS,
                 out_addr=OUT, rows=rows, cols=cols, ic=b - a, oc=oc, acc_in=j, acc_out=1 - j,
                 psum_addr=psum))
        if j == 0:
            first = conv_acc(x[..., :2], w[..., :2], depthwise=False, pads=pads, rows=rows,
                             cols=cols, fill=0) + bias
            np.testing.assert_array_equal(
                state.bias[psum : psum + 4 * first.size].view("<i4"), first.ravel())
    want = requant((acc + bias) * mul, s, Act.RELU, 0, out_zp)
    got = get_block(state.fmap, OUT, cols * oc, oc, (rows, cols, oc))
    np.testing.assert_array_equal(got, want)
    spread(want)


def test_conv_multipliers_are_read_by_content() -> None:
    """The same CONV twice, the multipliers changed in between: the second result uses the
    new ones (the folded terms are cached by the bytes they came from)."""
    x, w = int8s((3, 5, 4)), int8s((2, 3, 3, 4))
    bias = RNG.integers(-3000, 3000, 2)
    state, mem = fresh()
    acc = conv_acc(x, w, depthwise=False, pads=PADS, rows=3, cols=4, fill=0)
    for mul in ([1 << 20, 77], [5, 1 << 21], [1 << 20, 77]):
        put_pairs(state, BIAS, bias, np.array(mul))
        got = conv_run(state, mem, x, w, depthwise=False, pads=PADS, rows=3, cols=4,
                       shift_cut=24)
        np.testing.assert_array_equal(got, requant((acc + (bias << 1)) * np.array(mul), 24))


def test_conv_unscaled_is_unchanged() -> None:
    """scaled = 0: biases 4 bytes apart and no multiplication, whatever the buffer holds; the
    instruction's words are those of a CONVINIT that does not name the field."""
    x, w = int8s((3, 5, 4)), int8s((3, 3, 3, 4))
    state, mem = fresh()
    state.bias[BIAS : BIAS + 64] = RNG.integers(0, 256, 64, dtype=np.uint8)
    words = state.bias[BIAS : BIAS + 12].view("<i4").astype(np.int64)
    got = conv_run(state, mem, x, w, depthwise=False, pads=PADS, rows=3, cols=4, scaled=0,
                   shift_cut=9, act=Act.RELU, out_zp=-5)
    acc = conv_acc(x, w, depthwise=False, pads=PADS, rows=3, cols=4, fill=0)
    np.testing.assert_array_equal(got, requant(acc + (words << 1), 9, Act.RELU, 0, -5))
    plain = make(Opcode.CONVINIT, shift_cut=9, kernel_h=3, kernel_w=3, stride_h=1, stride_w=1,
                 in_row_stride=1, out_row_stride=1, in_pix_stride=1, out_pix_stride=1)
    zero = make(Opcode.CONVINIT, **{**plain.fields, "scaled": 0})
    np.testing.assert_array_equal(encode([plain]), encode([zero]))


# ---------------------------------------------------------------------------------------------
# MVM


def mvm_setup(rows: int, cols: int, bias: np.ndarray, mul: np.ndarray, mode: str = "int8"):
    w, x = int8s((rows, cols)), int8s((cols,))
    state, mem = fresh(mode)
    state.weight[WGT : WGT + w.size] = w.ravel().astype(state.weight.dtype)
    state.fmap[IN : IN + cols] = x.astype(state.fmap.dtype)
    put_pairs(state, BIAS, bias, mul)
    return state, mem, w, x


@pytest.mark.parametrize(("act", "act_arg", "out_zp"),
                         [(Act.NONE, 0, 0), (Act.RELU, 0, -100), (Act.LEAKY, 50, 17)])
def test_mvm_scaled(act: Act, act_arg: int, out_zp: int) -> None:
    rows, cols = 40, 300
    bias, mul = RNG.integers(-30000, 30000, rows), muls(rows)
    state, mem, w, x = mvm_setup(rows, cols, bias, mul)
    acc = w.astype(np.int64) @ x.astype(np.int64) + (bias << 2)
    s = cut(acc * mul) - 1  # some saturate
    run(state, mem, make(Opcode.MVM, act=act, act_arg=act_arg, shift_cut=s, shift_bias=2,
                         wgt_addr=WGT, vec_addr=IN, bias_addr=BIAS, out_addr=OUT, rows=rows,
                         cols=cols, out_zp=out_zp, scaled=1))
    want = requant(acc * mul, s, act, act_arg, out_zp)
    np.testing.assert_array_equal(state.fmap[OUT : OUT + rows], want)
    spread(want)


def test_mvm_split_reduction_reads_multipliers_in_its_final_part() -> None:
    rows, cols, psum = 12, 64, 1024
    bias, mul = RNG.integers(-30000, 30000, rows), RNG.integers(1 << 22, 1 << 23, rows)
    state, mem, w, x = mvm_setup(rows, cols, bias, mul)
    acc = w.astype(np.int64) @ x.astype(np.int64) + bias
    s = cut(acc * mul)
    half = cols // 2
    for j in range(2):
        part = np.ascontiguousarray(w[:, j * half : (j + 1) * half])
        state.weight[WGT : WGT + part.size] = part.ravel()
        state.fmap[IN : IN + half] = x[j * half : (j + 1) * half]
        run(state, mem, make(Opcode.MVM, act=Act.RELU, shift_cut=s, wgt_addr=WGT, vec_addr=IN,
                             bias_addr=BIAS, out_addr=OUT, rows=rows, cols=half, acc_in=j,
                             acc_out=1 - j, psum_addr=psum, out_zp=-3, scaled=1))
        if j == 0:
            first = part.astype(np.int64) @ x[:half].astype(np.int64) + bias
            np.testing.assert_array_equal(state.bias[psum : psum + 4 * rows].view("<i4"), first)
    want = requant(acc * mul, s, Act.RELU, 0, -3)
    np.testing.assert_array_equal(state.fmap[OUT : OUT + rows], want)
    spread(want)


def test_mvm_large_accumulator() -> None:
    """|acc| near 2**31 times the largest multiplier: int64 throughout, written out by hand
    with Python integers."""
    rows, cols = 4, 8
    bias = np.array([(1 << 31) - 10000, -(1 << 31) + 10000, 1 << 30, -12345])
    mul = np.array([REQUANT_MUL_MAX, REQUANT_MUL_MAX, 1 << 23, 1])
    state, mem, w, x = mvm_setup(rows, cols, bias, mul)
    s = 48
    run(state, mem, make(Opcode.MVM, shift_cut=s, wgt_addr=WGT, vec_addr=IN, bias_addr=BIAS,
                         out_addr=OUT, rows=rows, cols=cols, scaled=1))
    want = []
    for r in range(rows):
        acc = sum(int(w[r, k]) * int(x[k]) for k in range(cols)) + int(bias[r])
        want.append(min(max((acc * int(mul[r]) + (1 << (s - 1))) >> s, -128), 127))
    np.testing.assert_array_equal(state.fmap[OUT : OUT + rows].view(np.int8), want)
    # the contract's helpers agree
    acc = w.astype(np.int64) @ x.astype(np.int64) + bias
    np.testing.assert_array_equal(sat8(rshift_round(acc * mul, s)), want)


# ---------------------------------------------------------------------------------------------
# Faults


BAD = [0, -1, REQUANT_MUL_MAX + 1, -(1 << 31), (1 << 31) - 1]


@pytest.mark.parametrize("bad", BAD)
def test_conv_multiplier_out_of_range_is_an_error(bad: int) -> None:
    x, w = int8s((3, 5, 4)), int8s((3, 3, 3, 4))
    state, mem = fresh()
    mul = np.array([1, bad, REQUANT_MUL_MAX])
    put_pairs(state, BIAS, np.zeros(3, np.int64), mul)
    with pytest.raises(ProgramError, match=rf"multiplier {bad} of output channel 1 .*byte "
                                           rf"{BIAS + 12}\b"):
        conv_run(state, mem, x, w, depthwise=False, pads=PADS, rows=3, cols=4)
    # nothing written: the CONV faulted before its output
    assert not state.fmap[OUT:].any()
    # acc_out: no multiplier is read, so no error
    run(state, mem, make(Opcode.CONV, pad_t=1, pad_l=1, pad_b=1, in_addr=IN, wgt_addr=WGT,
                         bias_addr=BIAS, out_addr=OUT, rows=3, cols=4, ic=4, oc=3, acc_out=1,
                         psum_addr=1024))
    # the final part of a split reads them
    with pytest.raises(ProgramError, match="multiplier"):
        run(state, mem, make(Opcode.CONV, pad_t=1, pad_l=1, pad_b=1, in_addr=IN, wgt_addr=WGT,
                             bias_addr=BIAS, out_addr=OUT, rows=3, cols=4, ic=4, oc=3,
                             acc_in=1, psum_addr=1024))


@pytest.mark.parametrize("bad", BAD[:3])
@pytest.mark.parametrize("acc_in", [0, 1])
def test_mvm_multiplier_out_of_range_is_an_error(bad: int, acc_in: int) -> None:
    rows, cols = 5, 16
    mul = muls(rows)
    mul[3] = bad
    state, mem, _, _ = mvm_setup(rows, cols, np.zeros(rows, np.int64), mul)
    state.fmap[OUT : OUT + rows] = 7
    with pytest.raises(ProgramError, match=rf"multiplier {bad} of output channel 3"):
        run(state, mem, make(Opcode.MVM, shift_cut=20, wgt_addr=WGT, vec_addr=IN,
                             bias_addr=BIAS, out_addr=OUT, rows=rows, cols=cols, acc_in=acc_in,
                             psum_addr=2048, scaled=1))
    assert (state.fmap[OUT : OUT + rows] == 7).all()


def test_conv_bias_range_is_8_bytes_per_channel() -> None:
    """With scaled the CONV reads 8*oc bytes at bias_addr: a block that fits at 4 bytes per
    channel faults at 8 (for the biases, and for the multipliers of a final part), the
    same CONV without scaled runs, and a middle part (acc_in and acc_out) reads neither."""
    x, w = int8s((3, 5, 4)), int8s((3, 3, 3, 4))
    oc = 3
    addr = BIAS_BYTES - 8 * oc + 4  # 4*oc bytes fit, 8*oc do not
    state, mem = fresh()
    state.bias[addr:] = 1
    with pytest.raises(BufferFault, match=rf"reads bytes {addr}\.\.{addr + 8 * oc - 1} of the "
                                          r"bias buffer") as err:
        conv_run(state, mem, x, w, depthwise=False, pads=PADS, rows=3, cols=4, bias_addr=addr)
    assert (err.value.lo, err.value.hi, err.value.size) == (addr, addr + 8 * oc, BIAS_BYTES)
    conv_run(state, mem, x, w, depthwise=False, pads=PADS, rows=3, cols=4, bias_addr=addr,
             scaled=0, shift_cut=9)

    def part(acc_in: int, acc_out: int):
        return make(Opcode.CONV, pad_t=1, pad_l=1, pad_b=1, in_addr=IN, wgt_addr=WGT,
                    bias_addr=addr, out_addr=OUT, rows=3, cols=4, ic=4, oc=oc, acc_in=acc_in,
                    acc_out=acc_out, psum_addr=0)

    run(state, mem, convinit(20, 20, 5, 5, scaled=1, act=Act.NONE, shift_cut=9))
    for acc_in, acc_out in [(0, 1), (1, 0)]:
        with pytest.raises(BufferFault, match="bias buffer"):
            run(state, mem, part(acc_in, acc_out))
    run(state, mem, part(1, 1))


def test_mvm_bias_range_is_8_bytes_per_row() -> None:
    rows, cols = 6, 8
    addr = BIAS_BYTES - 8 * rows + 4
    state, mem, _, _ = mvm_setup(rows, cols, np.zeros(rows, np.int64), np.ones(rows, np.int64))

    def mvm(scaled: int, acc_in: int = 0, acc_out: int = 0):
        return make(Opcode.MVM, shift_cut=4, wgt_addr=WGT, vec_addr=IN, bias_addr=addr,
                    out_addr=OUT, rows=rows, cols=cols, acc_in=acc_in, acc_out=acc_out,
                    psum_addr=0, scaled=scaled)

    for acc_in, acc_out in [(0, 0), (0, 1), (1, 0)]:
        with pytest.raises(BufferFault, match=rf"reads bytes {addr}\.\.{addr + 8 * rows - 1} "
                                              r"of the bias buffer"):
            run(state, mem, mvm(1, acc_in, acc_out))
        run(state, mem, mvm(0, acc_in, acc_out))
    run(state, mem, mvm(1, 1, 1))


# ---------------------------------------------------------------------------------------------
# fp32 mode


@pytest.mark.parametrize("depthwise", [False, True], ids=["regular", "depthwise"])
def test_fp32_conv_reads_biases_8_bytes_apart_and_ignores_multipliers(depthwise: bool) -> None:
    rows, cols, ic = 3, 4, 5
    oc = ic if depthwise else 3
    x = RNG.standard_normal((rows, cols + 1, ic)).astype(np.float32)
    w = RNG.standard_normal((3, 3, oc) if depthwise else (oc, 3, 3, ic)).astype(np.float32)
    bias = RNG.standard_normal(oc).astype(np.float32)
    state, mem = fresh("fp32")
    put_pairs(state, BIAS, bias, np.full(oc, 1e6, np.float32))  # not multipliers: ignored
    got = conv_run(state, mem, x, w, depthwise=depthwise, pads=PADS, rows=rows, cols=cols,
                   act=Act.RELU, in_zp=5, out_zp=-7)
    p = np.pad(x.astype(np.float64), ((1, 1), (1, 0), (0, 0)))
    acc = np.zeros((rows, cols, oc))
    for ky in range(3):
        for kx in range(3):
            tap = p[ky : ky + rows, kx : kx + cols]
            acc += tap * w[ky, kx] if depthwise else tap @ w[:, ky, kx, :].T.astype(np.float64)
    np.testing.assert_allclose(got, np.maximum(acc + bias, 0), rtol=1e-5, atol=1e-5)


def test_fp32_mvm_reads_biases_8_bytes_apart_and_ignores_multipliers() -> None:
    rows, cols = 7, 20
    bias = RNG.standard_normal(rows).astype(np.float32)
    state, mem = fresh("fp32")
    w = RNG.standard_normal((rows, cols)).astype(np.float32)
    x = RNG.standard_normal(cols).astype(np.float32)
    state.weight[WGT : WGT + w.size] = w.ravel()
    state.fmap[IN : IN + cols] = x
    put_pairs(state, BIAS, bias, np.zeros(rows, np.float32))  # 0: would fault in int8 mode
    run(state, mem, make(Opcode.MVM, shift_cut=9, wgt_addr=WGT, vec_addr=IN, bias_addr=BIAS,
                         out_addr=OUT, rows=rows, cols=cols, scaled=1))
    np.testing.assert_allclose(state.fmap[OUT : OUT + rows],
                               w.astype(np.float64) @ x + bias, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# The field


@pytest.mark.parametrize(("op", "word", "lsb"), [(Opcode.CONVINIT, 5, 16), (Opcode.MVM, 7, 0)])
def test_scaled_is_the_last_field(op: Opcode, word: int, lsb: int) -> None:
    spec = SPECS[op]
    assert spec.names[-1] == "scaled"
    p = spec.placed("scaled")
    assert (p.word, p.lsb, p.field.bits, p.field.default, p.field.signed) == (word, lsb, 1, 0,
                                                                              False)
    assert REQUANT_MUL_MAX == (1 << REQUANT_MUL_BITS) - 1 == (1 << 24) - 1
    required = {f.name: 1 for f in spec.fields if f.default is None}
    ins = make(op, **required, scaled=1)
    words = encode([ins])
    (back,) = decode(words)
    assert back == ins and back.fields["scaled"] == 1
    assert int(words[0, word]) >> lsb & 1 == 1
    np.testing.assert_array_equal(assemble("\n".join(disasm(words))), words)
    plain = encode([make(op, **required)])
    assert int(plain[0, word]) >> lsb & 1 == 0
