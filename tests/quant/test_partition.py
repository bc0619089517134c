"""`dnn-partition`: the placement rules, segments and the report.

Expected placements follow from the rule table in the pass's docstring and the ISA's field
widths (4-bit conv kernel/stride/dilation/pads, 8-bit pool kernel): checked on hand-built IR,
and on quantized zoo models whose host ops are known from their architecture (GoogLeNet's two
LRNs; every other zoo CNN runs whole on the accelerator).
"""

from __future__ import annotations

import pytest
from xdsl.dialects.builtin import IntegerAttr, StringAttr, f32, i8

from fvir.ir import dnn
from fvir.passes.dnn_partition import (
    ACCEL,
    HOST,
    SEGMENT_ATTR,
    TARGET_ATTR,
    host_ops,
    partition,
    partition_report,
)

from .helpers import fixed, module, plain


def build_conv(w_shape, x_shape=(1, 4, 40, 40), **kw):
    """One int8 conv (the inferred result type keeps x's exponent: fine for placement)."""

    def body(x):
        return dnn.Conv2dOp(x, dnn.WeightOp("w", plain(w_shape, i8)), shift=[7], **kw)

    return module([fixed(x_shape, 4)], body)


@pytest.mark.parametrize(
    ("w_shape", "kw", "target", "reason"),
    [
        ((4, 4, 3, 3), {}, ACCEL, "CONV"),
        ((4, 1, 3, 3), {"group": 4}, ACCEL, "CONV (depthwise)"),
        ((4, 2, 3, 3), {"group": 2}, ACCEL, "CONV (one per group)"),
        ((4, 4, 15, 15), {}, ACCEL, "CONV"),
        ((4, 4, 16, 1), {}, HOST, "kernel [16, 1] outside the ISA's 1..15"),
        ((4, 4, 1, 1), {"strides": (16, 1)}, HOST, "strides [16, 1] outside the ISA's 1..15"),
        ((4, 4, 2, 2), {"dilations": (1, 16)}, HOST, "dilations [1, 16] outside the ISA's 1..15"),
        ((4, 4, 1, 1), {"pads": (0, 0, 16, 0)}, HOST, "pads [0, 0, 16, 0] outside the ISA's 0..15"),
    ],
)
def test_conv_rules(w_shape, kw, target, reason):
    (row,) = partition_report(build_conv(w_shape, **kw))
    assert (row.target, row.reason) == (target, reason)


@pytest.mark.parametrize(
    ("kw", "target", "reason"),
    [
        ({"kernel": (3, 3), "strides": (2, 2)}, ACCEL, "POOL"),
        ({"kernel": (40, 40)}, ACCEL, "POOL"),
        ({"kernel": (2, 2), "dilations": (2, 2)}, HOST, "dilated pooling (POOL has no dilation)"),
        ({"kernel": (2, 2), "strides": (16, 16)}, HOST, "strides [16, 16] outside the ISA's 1..15"),
    ],
)
def test_pool_rules(kw, target, reason):
    m = module([fixed((1, 2, 40, 40), 4)], lambda x: dnn.Pool2dOp(dnn.PoolKind.MAX, x, **kw))
    (row,) = partition_report(m)
    assert (row.target, row.reason) == (target, reason)


def test_pool_kernel_beyond_u8_is_host():
    def body(x):
        return dnn.Pool2dOp(dnn.PoolKind.MAX, x, kernel=(256, 1))

    m = module([fixed((1, 1, 256, 1), 4)], body)
    (row,) = partition_report(m)
    assert (row.target, row.reason) == (HOST, "kernel [256, 1] outside the ISA's 1..255")


def test_global_pool_window_limit():
    ok = module([fixed((1, 2, 255, 3), 4)], lambda x: dnn.GlobalPoolOp(dnn.PoolKind.MAX, x))
    big = module([fixed((1, 2, 256, 3), 4)], lambda x: dnn.GlobalPoolOp(dnn.PoolKind.MAX, x))
    assert partition_report(ok)[0].target == ACCEL
    assert partition_report(big)[0].target == HOST


def test_clip_needs_a_zero_lower_bound():
    def body(x):
        return [dnn.ClipOp(x, 0.0, 2.0), dnn.ClipOp(x, -0.01, 2.0), dnn.ClipOp(x, -1.0, 2.0)]

    rows = partition_report(module([fixed((4,), 4)], body))
    # F 4: -0.01 * 16 = -0.16 -> 0 on the grid (RELU6); -1.0 -> -16 (not RELU6)
    assert [r.target for r in rows] == [ACCEL, ACCEL, HOST]


def test_shapes_the_tiler_cannot_lower_go_to_the_host():
    """The accelerator takes batch-1 images and [1, K] vectors; an exact int8 op on a batch of
    2 runs on the host (exact on real values), a float op says why it stayed float."""
    rows = partition_report(module([fixed((2, 3, 4, 4), 4)], dnn.ReluOp))
    assert rows[0].target == HOST and "batch-1" in rows[0].reason
    tall = module([plain((1, 2, 20, 20), f32)], lambda x: dnn.Conv2dOp(
        x, dnn.WeightOp("w", plain((4, 2, 17, 1), f32))))
    assert [r.reason for r in partition_report(tall)] == [
        "float op (kernel [17, 1] outside the ISA's 1..15)"]


def test_float_and_host_ops_and_segments():
    def body(x):
        q = dnn.QuantizeOp(x, 4)  # host
        r = dnn.ReluOp(q)  # accel
        d = dnn.DequantizeOp(r)  # host
        s = dnn.SoftmaxOp(d, 1)  # host (float)
        h = dnn.HostOp("LRN", [s], [s.results[0].type], {"size": 3})  # host
        q2 = dnn.QuantizeOp(h, 4)  # host
        t = dnn.TransposeOp(q2, (1, 0))  # host: no ISA form
        f = dnn.FlattenOp(t)  # accel
        return dnn.DequantizeOp(f)  # host

    m = module([plain((1, 6), f32)], body)
    rows = partition_report(m)
    assert [r.target for r in rows] == [HOST, ACCEL, HOST, HOST, HOST, HOST, HOST, ACCEL, HOST]
    assert rows[3].reason == "float op (not quantized)"
    assert rows[4].reason == "host op LRN"
    assert rows[6].reason == "no accelerator instruction for int8 dnn.transpose"
    assert partition(m) == 5
    marked = [op for op in m.walk() if TARGET_ATTR in op.attributes]
    assert [op.attributes[TARGET_ATTR] for op in marked] == [StringAttr(r.target) for r in rows]
    assert [op.attributes[SEGMENT_ATTR] for op in marked] == [
        IntegerAttr(s, 64) for s in (0, 1, 2, 2, 2, 2, 2, 3, 4)
    ]


@pytest.fixture(scope="module")
def quantized_googlenet():
    from fvir.tools.accuracy import zoo_accuracy

    return zoo_accuracy("googlenet")


def test_zoo_host_ops_googlenet(quantized_googlenet):
    # the two LRNs run on the host, with their float<->int8 conversions; so do the model's
    # input quantize and output dequantize
    assert quantized_googlenet.host_ops == [
        "dnn.quantize %input.q: float <-> int8 conversion",
        "dnn.dequantize %pool1.f: float <-> int8 conversion",
        "dnn.host LRN %norm1: host op LRN",
        "dnn.quantize %norm1.q: float <-> int8 conversion",
        "dnn.dequantize %conv2.f: float <-> int8 conversion",
        "dnn.host LRN %norm2: host op LRN",
        "dnn.quantize %norm2.q: float <-> int8 conversion",
        "dnn.dequantize %logits.f: float <-> int8 conversion",
    ]


def test_unquantized_module_is_all_host():
    m = module([plain((1, 4), f32)], lambda x: dnn.ReluOp(x))
    assert [(r.target, r.reason) for r in host_ops(m)] == [(HOST, "float op (not quantized)")]
    assert partition(m) == 1
