"""The int8 mode of the reference executor against straightforward per-element Python loops.

Each test builds one int8 op on tiny random integer tensors, runs it through
`fvir.reference.int8.run` and compares it with a second implementation written here from
docs/quantization.md: nested loops over output elements, Python ints, and the primitives of
`tests.quant.helpers` (themselves independent of fvir).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from xdsl.dialects.builtin import f32, i8, i32

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.reference.int8 import run

from .helpers import (
    fixed,
    ints,
    module,
    plain,
    py_requant,
    py_round,
    py_rshift_round,
    py_sat8,
)

RNG = np.random.default_rng(7)


def i8s(*shape: int, lo: int = -128, hi: int = 128) -> np.ndarray:
    return RNG.integers(lo, hi, size=shape).astype(np.int8)


def act_of(kind: str, frac_out: int) -> tuple[dnn.ActivationAttr | None, str, int]:
    """An act attribute and its ISA form, computed by hand from the contract's table."""
    if kind == "relu":
        return dnn.ActivationAttr("relu"), "relu", 0
    if kind == "relu6":  # clip(0, 11.3): act_arg = round(11.3 * 2**Fy), 90 for Fy = 3
        return dnn.ActivationAttr("clip", (0.0, 11.3)), "relu6", py_round(11.3 * 2**frac_out)
    if kind == "leaky":  # alpha 0.1: act_arg = round(25.6) = 26
        return dnn.ActivationAttr("leaky_relu", (0.1,)), "leaky", 26
    return None, "none", 0


# ---------------------------------------------------------------------------------- conv


def loop_conv(x, w, b, strides, pads, dilations, group, shifts, kind, arg):
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    og = o // group
    top, left, bottom, right = pads
    oh = (h + top + bottom - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + left + right - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, o, oh, ow), np.int64)
    for bn, oc, y, xx in itertools.product(range(n), range(o), range(oh), range(ow)):
        g = oc // og
        acc = 0 if b is None else int(b[oc])
        for ci, ky, kx in itertools.product(range(cg), range(kh), range(kw)):
            iy = y * strides[0] + ky * dilations[0] - top
            ix = xx * strides[1] + kx * dilations[1] - left
            if 0 <= iy < h and 0 <= ix < wd:  # padding is 0
                acc += int(x[bn, g * cg + ci, iy, ix]) * int(w[oc, ci, ky, kx])
        s = shifts[oc] if len(shifts) > 1 else shifts[0]
        out[bn, oc, y, xx] = py_requant(acc, s, kind, arg)
    return out


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "strides", "pads", "dilations", "group", "bias", "kind", "per_ch"),
    [
        ((1, 3, 6, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True, "relu", True),
        ((2, 4, 7, 5), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (1, 1), 2, True, "none", False),
        ((1, 4, 8, 8), (4, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 4, True, "relu6", True),
        ((1, 2, 9, 9), (3, 2, 3, 3), (1, 2), (2, 2, 2, 2), (2, 3), 1, False, "leaky", True),
    ],
)
def test_conv2d(x_shape, w_shape, strides, pads, dilations, group, bias, kind, per_ch):
    x, w = i8s(*x_shape), i8s(*w_shape)
    b = RNG.integers(-5000, 5000, size=w_shape[0]).astype(np.int32) if bias else None
    # A sum of K products of uniform int8 values has std ~ sqrt(K) * 74**2: these shifts keep
    # most outputs inside int8, so rounding, padding and activations are all visible.
    k = int(np.prod(w_shape[1:]))
    base = int(np.log2(np.sqrt(k) * 74**2)) - 5
    shifts = [int(s) for s in RNG.integers(base - 1, base + 2, size=w_shape[0] if per_ch else 1)]
    fy = 3
    act, isa_kind, arg = act_of(kind, fy)
    want = loop_conv(x, w, b, strides, pads, dilations, group, shifts, isa_kind, arg)
    assert np.mean(np.abs(want) < 127) > 0.5, "the test's shifts saturate most outputs"

    def body(xv):
        wv = dnn.WeightOp("w", plain(w_shape, i8))
        bv = dnn.WeightOp("b", plain((w_shape[0],), i32)) if bias else None
        return dnn.Conv2dOp(
            xv,
            wv,
            bv,
            strides=strides,
            pads=pads,
            dilations=dilations,
            group=group,
            act=act,
            shift=shifts,
            result_type=fixed(want.shape, fy),
        )

    m = module([fixed(x_shape, 5)], body)
    (got,) = run(m, {"w": w, "b": b} if bias else {"w": w}, [x])
    assert got.dtype == np.int8
    assert ints(got) == ints(want)


# --------------------------------------------------------------------------------- dense


@pytest.mark.parametrize(("trans_b", "kind"), [(True, "relu6"), (False, "none")])
def test_dense(trans_b, kind):
    m_, k, n = 3, 7, 5
    x, w = i8s(m_, k), i8s(*((n, k) if trans_b else (k, n)))
    b = RNG.integers(-3000, 3000, size=n).astype(np.int32)
    shifts = [int(s) for s in RNG.integers(7, 10, size=n)]  # sqrt(7) * 74**2 ~ 2**13.9
    act, isa_kind, arg = act_of(kind, 4)
    want = [
        [
            py_requant(
                sum(int(x[i, t]) * int(w[j, t] if trans_b else w[t, j]) for t in range(k))
                + int(b[j]),
                shifts[j],
                isa_kind,
                arg,
            )
            for j in range(n)
        ]
        for i in range(m_)
    ]
    assert np.mean(np.abs(np.array(want)) < 127) > 0.5, "the test's shifts saturate most outputs"

    def body(xv):
        wv = dnn.WeightOp("w", plain(w.shape, i8))
        bv = dnn.WeightOp("b", plain((n,), i32))
        return dnn.DenseOp(
            xv, wv, bv, trans_b=trans_b, act=act, shift=shifts, result_type=fixed((m_, n), 4)
        )

    (got,) = run(module([fixed((m_, k), 6)], body), {"w": w, "b": b}, [x])
    assert ints(got) == want


def test_dense_sums_exactly_beyond_float32():
    """sum = 1024 * (-128)**2 + 1 = 2**24 + 1, which float32 cannot hold; with bias -2**24 and
    shift 0 the exact accumulator is 1 (a float32 sum would give 0)."""
    k = 1025
    x = np.full((1, k), -128, np.int8)
    w = np.full((1, k), -128, np.int8)
    x[0, 0], w[0, 0] = 1, 1

    def body(xv):
        return dnn.DenseOp(
            xv,
            dnn.WeightOp("w", plain((1, k), i8)),
            dnn.WeightOp("b", plain((1,), i32)),
            trans_b=True,
            shift=[0],
            result_type=fixed((1, 1), 0),
        )

    store = {"w": w, "b": np.array([-(2**24)], np.int32)}
    (got,) = run(module([fixed((1, k), 0)], body), store, [x])
    assert int(got[0, 0]) == 1


# ------------------------------------------------------------------------- add and mul


@pytest.mark.parametrize(
    ("fa", "fb", "fy", "sa", "sb", "s", "kind"),
    [(5, 4, 4, 0, 1, 1, "relu"), (3, 3, 2, 0, 0, 1, "none"), (4, 6, 6, 2, 0, 0, "leaky")],
)
def test_add(fa, fb, fy, sa, sb, s, kind):
    a, b = i8s(2, 3, 4), i8s(2, 3, 4)
    act, isa_kind, arg = act_of(kind, fy)
    want = [
        py_requant((int(p) << sa) + (int(q) << sb), s, isa_kind, arg)
        for p, q in zip(a.ravel(), b.ravel(), strict=True)
    ]

    def body(av, bv):
        return dnn.AddOp(
            av,
            bv,
            act,
            shift_a=sa or None,
            shift_b=sb or None,
            shift=s,
            result_type=fixed(a.shape, fy),
        )

    (got,) = run(module([fixed(a.shape, fa), fixed(b.shape, fb)], body), {}, [a, b])
    assert ints(got.ravel()) == want


@pytest.mark.parametrize(("fa", "fb", "fy", "sa", "s"), [(6, 7, 6, 0, 7), (2, 2, 6, 2, 0)])
def test_mul(fa, fb, fy, sa, s):
    a, b = i8s(3, 5), i8s(3, 5)
    want = [
        py_requant((int(p) << sa) * int(q), s) for p, q in zip(a.ravel(), b.ravel(), strict=True)
    ]

    def body(av, bv):
        return dnn.MulOp(av, bv, shift_a=sa or None, shift=s, result_type=fixed(a.shape, fy))

    (got,) = run(module([fixed(a.shape, fa), fixed(b.shape, fb)], body), {}, [a, b])
    assert ints(got.ravel()) == want


# ------------------------------------------------------------------------------ pooling


def loop_pool(x, kernel, strides, pads, oh, ow, avg, mul=0, shift=0):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow), np.int64)
    for bn, ch, y, xx in itertools.product(range(n), range(c), range(oh), range(ow)):
        taps = []
        for ky, kx in itertools.product(range(kernel[0]), range(kernel[1])):
            iy, ix = y * strides[0] + ky - pads[0], xx * strides[1] + kx - pads[1]
            if 0 <= iy < h and 0 <= ix < w:
                taps.append(int(x[bn, ch, iy, ix]))
            elif avg:
                taps.append(0)  # padding counts as 0 in the sum
        if avg:
            out[bn, ch, y, xx] = py_sat8(py_rshift_round(sum(taps) * mul, shift))
        else:
            out[bn, ch, y, xx] = max(taps)  # padding never wins
    return out


@pytest.mark.parametrize(
    ("kernel", "strides", "pads", "ceil_mode"),
    [((3, 3), (2, 2), (1, 1, 1, 1), False), ((2, 3), (2, 2), (0, 1, 0, 0), True)],
)
def test_max_pool(kernel, strides, pads, ceil_mode):
    x = i8s(1, 3, 7, 8, lo=-128, hi=-100)  # all negative: a padded 0 would win if it counted
    op_shape = dnn.pool2d_shape(x.shape, kernel, strides, pads, (1, 1), ceil_mode)
    want = loop_pool(x, kernel, strides, pads, *op_shape[2:], avg=False)

    def body(xv):
        return dnn.Pool2dOp(
            dnn.PoolKind.MAX, xv, kernel=kernel, strides=strides, pads=pads, ceil_mode=ceil_mode
        )

    (got,) = run(module([fixed(x.shape, 3)], body), {}, [x])
    assert ints(got) == ints(want)


@pytest.mark.parametrize(
    ("pads", "fx", "fy", "mul", "shift"),
    [
        ((0, 0, 0, 0), 4, 4, 7282, 16),  # round(2**16 / 9) = 7281.8 -> 7282
        ((1, 1, 1, 1), 4, 6, 29127, 16),  # round(2**18 / 9) = 29127.1 -> 29127
    ],
)
def test_avg_pool(pads, fx, fy, mul, shift):
    x = i8s(1, 2, 6, 6)
    op_shape = dnn.pool2d_shape(x.shape, (3, 3), (1, 1), pads, (1, 1), False)
    want = loop_pool(x, (3, 3), (1, 1), pads, *op_shape[2:], avg=True, mul=mul, shift=shift)

    def body(xv):
        return dnn.Pool2dOp(
            dnn.PoolKind.AVG,
            xv,
            kernel=(3, 3),
            pads=pads,
            count_include_pad=any(pads),
            avg_mul=mul,
            avg_shift=shift,
            result_type=fixed(op_shape, fy),
        )

    (got,) = run(module([fixed(x.shape, fx)], body), {}, [x])
    assert ints(got) == ints(want)


def test_global_pool():
    x = i8s(2, 3, 4, 5)
    mul, shift = 52429, 20  # round(2**20 / 20) = 52428.8 -> 52429
    want_avg = [
        [py_sat8(py_rshift_round(int(x[n, c].astype(np.int64).sum()) * mul, shift))]
        for n in range(2)
        for c in range(3)
    ]
    want_max = [[int(x[n, c].max())] for n in range(2) for c in range(3)]

    def body(xv):
        return [
            dnn.GlobalPoolOp(dnn.PoolKind.AVG, xv, avg_mul=mul, avg_shift=shift),
            dnn.GlobalPoolOp(dnn.PoolKind.MAX, xv),
        ]

    got_avg, got_max = run(module([fixed(x.shape, 2)], body), {}, [x])
    assert ints(got_avg.reshape(6, 1)) == want_avg
    assert ints(got_max.reshape(6, 1)) == want_max


# ----------------------------------------------------------------- tables and exact ops


@pytest.mark.parametrize(
    ("op", "fn", "fx", "fy"),
    [(dnn.SigmoidOp, lambda v: 1 / (1 + math.exp(-v)), 4, 7), (dnn.TanhOp, math.tanh, 5, 7)],
)
def test_lookup_tables(op, fn, fx, fy):
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    want = [py_sat8(math.floor(fn(int(q) * 2.0**-fx) * 2.0**fy + 0.5)) for q in x.ravel()]

    def body(xv):
        return op(xv, fixed(x.shape, fy))

    (got,) = run(module([fixed(x.shape, fx)], body), {}, [x])
    assert ints(got.ravel()) == want


def test_relu_clip_and_layout_ops():
    x = i8s(1, 2, 3, 2)
    f = 4
    lo_q, hi_q = py_round(-0.5 * 16), py_round(2.03 * 16)  # -8, 32

    def body(xv):
        return [
            dnn.ReluOp(xv),
            dnn.ClipOp(xv, -0.5, 2.03),
            dnn.ConcatOp([xv, xv], 1),
            dnn.FlattenOp(xv),
            dnn.TransposeOp(xv, (0, 3, 1, 2)),
            dnn.ReshapeOp(xv, (2, 6)),
        ]

    relu, clip, cat, flat, tr, rs = run(module([fixed(x.shape, f)], body), {}, [x])
    assert ints(relu.ravel()) == [max(int(v), 0) for v in x.ravel()]
    assert ints(clip.ravel()) == [min(max(int(v), lo_q), hi_q) for v in x.ravel()]
    assert ints(cat[:, 2:]) == ints(x) and ints(cat[:, :2]) == ints(x)
    assert ints(flat.ravel()) == ints(x.ravel())
    assert [int(tr[0, j, c, h]) for c in range(2) for h in range(3) for j in range(2)] == ints(
        x.ravel()
    )
    assert rs.shape == (2, 6) and ints(rs.ravel()) == ints(x.ravel())


def test_quantize_dequantize_round_trip():
    x = np.array([[0.3, -0.3, 100.0, -100.0, 0.0078125]], np.float32)

    def body(xv):
        q = dnn.QuantizeOp(xv, 6)
        return [q, dnn.DequantizeOp(q)]

    q, back = run(module([plain(x.shape, f32)], body), {}, [x])
    want = [py_sat8(py_round(float(v) * 64)) for v in x.ravel()]  # 19, -19, 127, -128, 1 (0.5)
    assert ints(q.ravel()) == want
    assert back.dtype == np.float32
    assert back.ravel().tolist() == [v / 64 for v in want]


def test_float_only_ops_refuse_int8():
    x = i8s(1, 4)

    def body(xv):
        return dnn.LeakyReluOp(xv, 0.1)

    with pytest.raises(UserError, match=r"cannot run .dnn\.leaky_relu. on int8 fixed-point"):
        run(module([fixed(x.shape, 4)], body), {}, [x])


def test_observe_sees_every_argument_and_result():
    x = np.ones((1, 4), np.float32)
    seen = []

    def body(xv):
        q = dnn.QuantizeOp(xv, 3)
        return dnn.DequantizeOp(dnn.ReluOp(q))

    m = module([plain(x.shape, f32)], body)
    run(m, {}, [x], observe=lambda v, a: seen.append((v.type, a.dtype)))
    assert [str(d) for _, d in seen] == ["float32", "int8", "int8", "float32"]
