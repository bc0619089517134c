"""Zero points (asymmetric int8) at the instruction level: CONVINIT's in_zp/out_zp (padding value
and output offset, regular and depthwise), MVM's out_zp, POOLINIT's in_zp/out_zp (MAX and AVG,
a window split over rows), ELEWINIT's zp_a/zp_b/zp_out (ADD, MUL, bcast_b) and ACT's in_zp/out_zp;
GELU with a zero point is an error, fp32 mode ignores zero points, and the new fields round-trip
through the encoder and the assembler at both ends of their range.

Every expected value is computed here from docs/isa.md's pseudo-code with numpy and the int8
contract's helpers (`fvir.quant.contract`), never with the simulator's own code.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from fvir.backend import ProgramError
from fvir.isa import Act, ActFunc, ElewType, Opcode, PoolType, assemble, decode, disasm, encode
from fvir.isa.spec import SPECS
from fvir.quant.contract import lut, requant, rshift_round, sat8

from .helpers import conv_acc, fresh, get_block, make, put_block, put_conv_part, run

RNG = np.random.default_rng(2024)


def int8s(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(-128, 128, shape).astype(np.int8)


def pad(x: np.ndarray, pads: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """P of the pseudo-code: X with pad_t/pad_l/pad_b/pad_r rows/columns of `fill` (float64, so
    that -inf can stand for MAX's padding)."""
    pt, pl, pb, pr = pads
    return np.pad(x.astype(np.float64), ((pt, pb), (pl, pr), (0, 0)), constant_values=fill)


# ---------------------------------------------------------------------------------------------
# CONV and MVM

IN, WGT, BIAS, OUT = 16, 64, 32, 6000


def conv_run(mode: str, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *, depthwise: bool,
             pads: tuple[int, int, int, int], rows: int, cols: int, in_zp: int, out_zp: int,
             act: Act = Act.RELU, state_mem: tuple | None = None) -> np.ndarray:
    """CONVINIT (3x3, stride 1, shift_cut 7, shift_bias 1) + one CONV; the output block."""
    _, in_cols, ic = x.shape
    oc = w.shape[-1] if depthwise else w.shape[0]
    state, mem = state_mem or fresh(mode)
    dtype = state.fmap.dtype
    in_pix, out_pix = ic + 1, oc + 2
    put_block(state.fmap, IN, in_cols * in_pix, in_pix, x.astype(dtype))
    state.weight[WGT : WGT + w.size] = w.astype(dtype).ravel()
    if mode == "int8":
        state.bias[BIAS : BIAS + 4 * oc] = bias.astype("<i4").view(np.uint8)
    else:
        state.bias[BIAS : BIAS + 4 * oc : 4] = bias
    run(state, mem,
        make(Opcode.CONVINIT, act=act, shift_cut=7, shift_bias=1, kernel_h=3, kernel_w=3,
             stride_h=1, stride_w=1, in_row_stride=in_cols * in_pix,
             out_row_stride=cols * out_pix, in_pix_stride=in_pix, out_pix_stride=out_pix,
             in_zp=in_zp, out_zp=out_zp),
        make(Opcode.CONV, pad_t=pads[0], pad_l=pads[1], pad_b=pads[2], pad_r=pads[3],
             depthwise=int(depthwise), in_addr=IN, wgt_addr=WGT, bias_addr=BIAS, out_addr=OUT,
             rows=rows, cols=cols, ic=ic, oc=oc))
    return get_block(state.fmap, OUT, cols * out_pix, out_pix, (rows, cols, oc))


CONV_PADS = (1, 1, 1, 0)


@pytest.mark.parametrize("depthwise", [False, True], ids=["regular", "depthwise"])
@pytest.mark.parametrize(("in_zp", "out_zp"), [(-37, 55), (127, -128), (-128, 127), (0, 9)])
def test_conv_pads_with_in_zp_and_adds_out_zp(depthwise: bool, in_zp: int, out_zp: int) -> None:
    rows, cols, ic = 4, 5, 6
    oc = ic if depthwise else 3
    x = int8s((rows + 2 - 2, cols + 2 - 1, ic))  # 3x3 kernel with pads (1, 1, 1, 0)
    w = int8s((3, 3, oc) if depthwise else (oc, 3, 3, ic))
    bias = RNG.integers(-20000, 20000, oc)
    got = conv_run("int8", x, w, bias, depthwise=depthwise, pads=CONV_PADS, rows=rows,
                   cols=cols, in_zp=in_zp, out_zp=out_zp)
    acc = conv_acc(x, w, depthwise=depthwise, pads=CONV_PADS, rows=rows, cols=cols, fill=in_zp)
    want = requant(acc.astype(np.int64) + (bias << 1), 7, Act.RELU, 0, out_zp)
    np.testing.assert_array_equal(got, want)


def test_conv_matrix_cache_knows_the_padding_value() -> None:
    """The same input bytes and geometry under two CONVINITs that differ only in in_zp: the
    second CONV must not reuse the first one's padded im2col matrix."""
    state, mem = fresh()
    x, w = int8s((3, 5, 4)), int8s((2, 3, 3, 4))
    bias = np.zeros(2, np.int64)
    for in_zp in (0, 100, -100):
        got = conv_run("int8", x, w, bias, depthwise=False, pads=CONV_PADS, rows=3, cols=4,
                       in_zp=in_zp, out_zp=0, act=Act.NONE, state_mem=(state, mem))
        acc = conv_acc(x, w, depthwise=False, pads=CONV_PADS, rows=3, cols=4, fill=in_zp)
        np.testing.assert_array_equal(got, requant(acc.astype(np.int64), 7, Act.NONE))


def test_conv_partial_sums_carry_no_zero_point() -> None:
    """A CONV split over input channels (acc_out, then acc_in): the int32 partial sums are the
    plain products plus the bias, out_zp is added once, by the final requantization."""
    rows, cols, ic, oc, in_zp, out_zp = 2, 3, 4, 3, 21, -40
    x, w = int8s((rows + 1, cols + 1, ic)), int8s((oc, 3, 3, ic))
    bias = RNG.integers(-5000, 5000, oc)
    pads = (1, 1, 0, 0)
    state, mem = fresh()
    state.bias[BIAS : BIAS + 4 * oc] = bias.astype("<i4").view(np.uint8)
    psum = 256
    for j, (a, b) in enumerate([(0, 2), (2, 4)]):
        in_pix = put_conv_part(state, x, w, a, b, IN, WGT)
        run(state, mem,
            make(Opcode.CONVINIT, act=Act.LEAKY, act_arg=40, shift_cut=6, kernel_h=3,
                 kernel_w=3, stride_h=1, stride_w=1, in_row_stride=(cols + 1) * in_pix,
                 out_row_stride=cols * oc, in_pix_stride=in_pix, out_pix_stride=oc,
                 in_zp=in_zp, out_zp=out_zp),
            make(Opcode.CONV, pad_t=1, pad_l=1, in_addr=IN, wgt_addr=WGT, bias_addr=BIAS,
                 out_addr=OUT, rows=rows, cols=cols, ic=b - a, oc=oc, acc_in=j, acc_out=1 - j,
                 psum_addr=psum))
        if j == 0:
            first = conv_acc(x[..., :2], w[..., :2], depthwise=False, pads=pads, rows=rows,
                             cols=cols, fill=in_zp).astype(np.int64) + bias
            np.testing.assert_array_equal(
                state.bias[psum : psum + 4 * first.size].view("<i4"), first.ravel())
    acc = conv_acc(x, w, depthwise=False, pads=pads, rows=rows, cols=cols, fill=in_zp)
    want = requant(acc.astype(np.int64) + bias, 6, Act.LEAKY, 40, out_zp)
    np.testing.assert_array_equal(get_block(state.fmap, OUT, cols * oc, oc, (rows, cols, oc)),
                                  want)


@pytest.mark.parametrize("out_zp", [-128, -5, 77, 127])
def test_mvm_adds_out_zp(out_zp: int) -> None:
    rows, cols = 9, 40
    w, x = int8s((rows, cols)), int8s((cols,))
    bias = RNG.integers(-30000, 30000, rows)
    state, mem = fresh()
    state.weight[WGT : WGT + w.size] = w.ravel()
    state.fmap[IN : IN + cols] = x
    state.bias[BIAS : BIAS + 4 * rows] = bias.astype("<i4").view(np.uint8)
    run(state, mem, make(Opcode.MVM, act=Act.RELU6, act_arg=90, shift_cut=8, shift_bias=2,
                         wgt_addr=WGT, vec_addr=IN, bias_addr=BIAS, out_addr=OUT, rows=rows,
                         cols=cols, out_zp=out_zp))
    acc = w.astype(np.int64) @ x.astype(np.int64) + (bias << 2)
    np.testing.assert_array_equal(state.fmap[OUT : OUT + rows],
                                  requant(acc, 8, Act.RELU6, 90, out_zp))


# ---------------------------------------------------------------------------------------------
# POOL


def pool_run(x: np.ndarray, pool_type: PoolType, k: tuple[int, int], s: tuple[int, int],
             pads: tuple[int, int, int, int], rows: int, cols: int, in_zp: int, out_zp: int,
             avg_mul: int = 0, avg_shift: int = 0, mode: str = "int8") -> np.ndarray:
    _, in_cols, chans = x.shape
    state, mem = fresh(mode)
    in_pix, out_pix = chans + 1, chans
    put_block(state.fmap, IN, in_cols * in_pix, in_pix, x.astype(state.fmap.dtype))
    run(state, mem,
        make(Opcode.POOLINIT, pool_type=pool_type, avg_shift=avg_shift, avg_mul=avg_mul,
             stride_h=s[0], stride_w=s[1], kernel_h=k[0], kernel_w=k[1],
             in_row_stride=in_cols * in_pix, out_row_stride=cols * out_pix,
             in_pix_stride=in_pix, out_pix_stride=out_pix, in_zp=in_zp, out_zp=out_zp),
        make(Opcode.POOL, pad_t=pads[0], pad_l=pads[1], pad_b=pads[2], pad_r=pads[3],
             in_addr=IN, out_addr=OUT, rows=rows, cols=cols, chans=chans))
    return get_block(state.fmap, OUT, cols * out_pix, out_pix, (rows, cols, chans))


def pool_want(x: np.ndarray, pool_type: PoolType, k: tuple[int, int], s: tuple[int, int],
              pads: tuple[int, int, int, int], rows: int, cols: int, in_zp: int, out_zp: int,
              avg_mul: int = 0, avg_shift: int = 0) -> np.ndarray:
    is_max = pool_type == PoolType.MAX
    p = pad(x, pads, -math.inf if is_max else in_zp)
    acc = np.zeros((rows, cols, x.shape[2]), np.int64)
    for y in range(rows):
        for xx in range(cols):
            window = p[y * s[0] : y * s[0] + k[0], xx * s[1] : xx * s[1] + k[1]]
            acc[y, xx] = window.max(axis=(0, 1)) if is_max else (window - in_zp).sum(axis=(0, 1))
    if is_max:
        return sat8(acc - in_zp + out_zp)
    return sat8(rshift_round(acc * avg_mul, avg_shift) + out_zp)


POOL_PADS = (1, 0, 1, 1)


@pytest.mark.parametrize("pool_type", [PoolType.MAX, PoolType.AVG])
@pytest.mark.parametrize(("in_zp", "out_zp"), [(-20, 33), (127, -128), (-128, 127), (45, 45)])
def test_pool_with_padding_and_zero_points(pool_type: PoolType, in_zp: int, out_zp: int) -> None:
    rows, cols, chans, k, s = 3, 3, 5, (3, 3), (2, 2)
    in_rows, in_cols = (rows - 1) * 2 + 3 - 2, (cols - 1) * 2 + 3 - 1
    x = int8s((in_rows, in_cols, chans))
    avg_shift = 13
    avg_mul = round(2**avg_shift / 9)
    got = pool_run(x, pool_type, k, s, POOL_PADS, rows, cols, in_zp, out_zp, avg_mul, avg_shift)
    want = pool_want(x, pool_type, k, s, POOL_PADS, rows, cols, in_zp, out_zp, avg_mul,
                     avg_shift)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("pool_type", [PoolType.MAX, PoolType.AVG])
def test_pool_split_over_rows_with_zero_points(pool_type: PoolType) -> None:
    """A 6 x 4 global pool as parts of 4 and 2 rows (acc_out, then acc_in): the partial result
    in the bias buffer is the maximum code (MAX) or sum(x - in_zp) (AVG); the zero points act
    at the end."""
    chans, in_zp, out_zp, avg_shift = 7, -60, 25, 12
    avg_mul = round(2**avg_shift / 24)
    x = int8s((6, 4, chans))
    state, mem = fresh()
    psum = 128
    for j, (a, b) in enumerate([(0, 4), (4, 6)]):
        state.fmap[: (b - a) * 4 * chans] = x[a:b].ravel()
        run(state, mem,
            make(Opcode.POOLINIT, pool_type=pool_type, avg_shift=avg_shift, avg_mul=avg_mul,
                 stride_h=1, stride_w=1, kernel_h=b - a, kernel_w=4, window_h=6,
                 in_row_stride=4 * chans, in_pix_stride=chans, out_row_stride=chans,
                 out_pix_stride=chans, in_zp=in_zp, out_zp=out_zp),
            make(Opcode.POOL, in_addr=0, out_addr=OUT, rows=1, cols=1, chans=chans, acc_in=j,
                 acc_out=1 - j, psum_addr=psum))
        if j == 0:
            first = x[:4].astype(np.int64)
            first = (first.max(axis=(0, 1)) if pool_type == PoolType.MAX
                     else (first - in_zp).sum(axis=(0, 1)))
            np.testing.assert_array_equal(state.bias[psum : psum + 4 * chans].view("<i4"), first)
    want = pool_want(x, pool_type, (6, 4), (1, 1), (0, 0, 0, 0), 1, 1, in_zp, out_zp, avg_mul,
                     avg_shift)
    np.testing.assert_array_equal(state.fmap[OUT : OUT + chans], want.ravel())


# ---------------------------------------------------------------------------------------------
# ELEW

A, B = 0, 3000


def elew_run(a: np.ndarray, b: np.ndarray, *, bcast_b: bool, mode: str = "int8",
             **cfg: int) -> np.ndarray:
    rows, cols, chans = a.shape
    state, mem = fresh(mode)
    dtype = state.fmap.dtype
    in_pix = chans + 2
    put_block(state.fmap, A, cols * in_pix, in_pix, a.astype(dtype))
    if bcast_b:
        state.fmap[B : B + chans] = b.astype(dtype)
    else:
        put_block(state.fmap, B, cols * in_pix, in_pix, b.astype(dtype))
    run(state, mem,
        make(Opcode.ELEWINIT, bcast_b=int(bcast_b), in_row_stride=cols * in_pix,
             out_row_stride=cols * chans, in_pix_stride=in_pix, out_pix_stride=chans, **cfg),
        make(Opcode.ELEW, chans=chans, in_a=A, in_b=B, out_addr=OUT, rows=rows, cols=cols))
    return get_block(state.fmap, OUT, cols * chans, chans, (rows, cols, chans))


ELEW_CASES = {
    # int16 intermediates without zero points; zero points push some into int32
    "add": dict(elew_type=ElewType.ADD, shift_a=2, shift_b=0, shift_out=2, zp_a=-100, zp_b=17,
                zp_out=-9),
    "add relu extremes": dict(elew_type=ElewType.ADD, act=Act.RELU, shift_a=0, shift_b=1,
                              shift_out=1, zp_a=127, zp_b=-128, zp_out=-128),
    "add leaky": dict(elew_type=ElewType.ADD, act=Act.LEAKY, act_arg=51, shift_out=0,
                      zp_a=-128, zp_b=-128, zp_out=127),
    "mul": dict(elew_type=ElewType.MUL, shift_out=8, zp_a=30, zp_b=-70, zp_out=12),
    "mul shifted relu6": dict(elew_type=ElewType.MUL, act=Act.RELU6, act_arg=100, shift_a=3,
                              shift_b=2, shift_out=12, zp_a=-128, zp_b=127, zp_out=-50),
}


@pytest.mark.parametrize("bcast_b", [False, True], ids=["block", "bcast_b"])
@pytest.mark.parametrize("name", list(ELEW_CASES))
def test_elew_with_zero_points(name: str, bcast_b: bool) -> None:
    cfg = ELEW_CASES[name]
    shape = (3, 4, 6)
    a = int8s(shape)
    b = int8s((shape[2],) if bcast_b else shape)
    got = elew_run(a, b, bcast_b=bcast_b, **cfg)
    va = (a.astype(np.int64) - cfg["zp_a"]) << cfg.get("shift_a", 0)
    vb = (b.astype(np.int64) - cfg["zp_b"]) << cfg.get("shift_b", 0)
    acc = va + vb if cfg["elew_type"] == ElewType.ADD else va * vb  # vb broadcasts over pixels
    want = requant(acc, cfg["shift_out"], Act(cfg.get("act", Act.NONE)), cfg.get("act_arg", 0),
                   cfg["zp_out"])
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# ACT

ACT_FUNCS = {
    ActFunc.SIGMOID: lambda v: 1 / (1 + np.exp(-v)),
    ActFunc.HARDSWISH: lambda v: v * np.clip(v + 3, 0, 6) / 6,
    ActFunc.TANH: np.tanh,
    ActFunc.IDENTITY: lambda v: v,
    ActFunc.SILU: lambda v: v * (1 / (1 + np.exp(-v))),
}


@pytest.mark.parametrize("func", list(ACT_FUNCS))
@pytest.mark.parametrize(("in_frac", "out_frac", "in_zp", "out_zp"),
                         [(5, 7, -128, 0), (4, 6, 31, -128), (-2, 3, 127, 127), (6, 8, -3, 90)])
def test_act_table_with_zero_points(func: ActFunc, in_frac: int, out_frac: int, in_zp: int,
                                    out_zp: int) -> None:
    """Every int8 input once, in place: LUT[q] = the contract's table at q."""
    q = np.arange(-128, 128, dtype=np.int8)
    state, mem = fresh()
    state.fmap[100:356] = q
    run(state, mem, make(Opcode.ACT, func=func, in_frac=in_frac, out_frac=out_frac,
                         in_addr=100, out_addr=100, length=256, in_zp=in_zp, out_zp=out_zp))
    with np.errstate(over="ignore"):
        table = lut(ACT_FUNCS[func], in_frac, out_frac, in_zp, out_zp)  # table[q + 128]
    np.testing.assert_array_equal(state.fmap[100:356], table)


@pytest.mark.parametrize("mode", ["int8", "fp32"])
@pytest.mark.parametrize(("in_zp", "out_zp"), [(1, 0), (0, -1), (-128, 127)])
def test_gelu_with_a_zero_point_is_an_error(mode: str, in_zp: int, out_zp: int) -> None:
    state, mem = fresh(mode)
    with pytest.raises(ProgramError, match=re.escape(
            f"(ACT): GELU takes no zero points (in_zp = {in_zp}, out_zp = {out_zp})")):
        run(state, mem, make(Opcode.ACT, func=ActFunc.GELU, in_frac=5, out_frac=5, in_addr=0,
                             out_addr=0, length=8, in_zp=in_zp, out_zp=out_zp))


# ---------------------------------------------------------------------------------------------
# fp32 mode and the encoding


def test_fp32_mode_ignores_zero_points() -> None:
    """Every instruction with zero points gives in fp32 mode exactly what it gives without."""
    x = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    w = RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
    bias = RNG.standard_normal(2).astype(np.float32)
    conv = [conv_run("fp32", x, w, bias, depthwise=False, pads=CONV_PADS, rows=4, cols=4,
                     in_zp=zi, out_zp=zo) for zi, zo in ((0, 0), (-77, 101))]
    np.testing.assert_array_equal(conv[0], conv[1])
    for pool_type in PoolType:
        pools = [pool_run(x, pool_type, (3, 3), (2, 2), POOL_PADS, 2, 2, zi, zo, mode="fp32")
                 for zi, zo in ((0, 0), (90, -3))]
        np.testing.assert_array_equal(pools[0], pools[1])
    a, b = x[:2], x[2:]
    zps = (dict(zp_a=0, zp_b=0, zp_out=0), dict(zp_a=-5, zp_b=120, zp_out=-128))
    elews = [elew_run(a, b, bcast_b=False, mode="fp32", elew_type=ElewType.ADD, shift_out=0,
                      **zp) for zp in zps]
    np.testing.assert_array_equal(elews[0], elews[1])
    np.testing.assert_array_equal(elews[0], a + b)
    acts = []
    for zi, zo in ((0, 0), (64, -64)):
        state, mem = fresh("fp32")
        state.fmap[:15] = x[0].ravel()
        run(state, mem, make(Opcode.ACT, func=ActFunc.SIGMOID, in_frac=4, out_frac=7,
                             in_addr=0, out_addr=0, length=15, in_zp=zi, out_zp=zo))
        acts.append(state.fmap[:15].copy())
    np.testing.assert_array_equal(acts[0], acts[1])
    mvms = []
    for zo in (0, 127):
        state, mem = fresh("fp32")
        state.weight[:15] = x[0].ravel()
        state.fmap[:5] = x[1, :, 0]
        run(state, mem, make(Opcode.MVM, shift_cut=3, wgt_addr=0, vec_addr=0, bias_addr=0,
                             out_addr=100, rows=3, cols=5, out_zp=zo))
        mvms.append(state.fmap[100:103].copy())
    np.testing.assert_array_equal(mvms[0], mvms[1])
    np.testing.assert_allclose(mvms[0], x[0].reshape(3, 5) @ x[1, :, 0], rtol=1e-6)


NEW_FIELDS = {
    Opcode.CONVINIT: ("in_zp", "out_zp"),
    Opcode.MVM: ("out_zp",),
    Opcode.POOLINIT: ("in_zp", "out_zp"),
    Opcode.ELEWINIT: ("zp_a", "zp_b", "zp_out"),
    Opcode.ACT: ("in_zp", "out_zp"),
}
LATER_FIELDS = {Opcode.CONVINIT: ("scaled",), Opcode.MVM: ("scaled",)}
"""Fields appended after the zero points (tests/backend/test_multipliers.py)."""


@pytest.mark.parametrize("op", list(NEW_FIELDS), ids=lambda o: o.name)
def test_zero_point_fields_are_appended_signed_bytes(op: Opcode) -> None:
    """The new fields close the instruction (no earlier field moves, so packages encoded
    before them decode unchanged, zero points 0) and are 8-bit signed with default 0."""
    spec = SPECS[op]
    names = NEW_FIELDS[op]
    later = LATER_FIELDS.get(op, ())
    assert spec.names[len(spec.names) - len(names) - len(later):] == (*names, *later)
    for name in names:
        f = spec.placed(name).field
        assert (f.bits, f.signed, f.default, f.lo, f.hi) == (8, True, 0, -128, 127)


@pytest.mark.parametrize("value", [-128, 127, -1])
@pytest.mark.parametrize("op", list(NEW_FIELDS), ids=lambda o: o.name)
def test_zero_points_round_trip(op: Opcode, value: int) -> None:
    required = {f.name: 1 for f in SPECS[op].fields if f.default is None}
    names = NEW_FIELDS[op]
    ins = make(op, **required, **{n: value if i % 2 == 0 else -1 - value
                                  for i, n in enumerate(names)})
    words = encode([ins])
    (back,) = decode(words)
    assert back == ins
    for i, n in enumerate(names):
        assert back.fields[n] == (value if i % 2 == 0 else -1 - value)
    np.testing.assert_array_equal(assemble("\n".join(disasm(words))), words)
    # Without zero points the words are those of an instruction that has none: all-zero bits.
    plain = encode([make(op, **required)])
    for n in names:
        p = SPECS[op].placed(n)
        assert (int(plain[0, p.word]) >> p.lsb) & p.mask == 0
