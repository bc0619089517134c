"""The accelerator's capability description: ops x shapes -> runs, or the reason it cannot.

Expected limits come from the ISA's field widths as docs/isa.md states them, by hand: CONV's
kernel, stride and dilation are 4-bit (1..15), CONV/POOL pads 4-bit (0..15), POOL's kernel
8-bit (1..255) and stride 4-bit, MVM's rows and cols 16-bit (1..65535). A clip's bound on the
int8 grid of exponent F is round(lo * 2**F), by hand.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from xdsl.dialects.builtin import TensorType, f32, i8
from xdsl.ir import Block, Operation, SSAValue

from fvir.hw import capability
from fvir.hw.capability import Int8Form
from fvir.hw.config import CoreConfig
from fvir.ir import dnn
from fvir.ir.tile import TileKind, Unsupported

F = 4  # the exponent of every int8 input below


def _x(shape: tuple[int, ...], element=i8) -> SSAValue:
    ty = dnn.fixed_type(shape, F) if element == i8 else TensorType(element, list(shape))
    return Block(arg_types=[ty]).args[0]


def _w(shape: tuple[int, ...], element=i8) -> SSAValue:
    return dnn.WeightOp("w", TensorType(element, list(shape))).results[0]


def conv(x_shape, w_shape, element=i8, **kw) -> Operation:
    return dnn.Conv2dOp(_x(x_shape, element), _w(w_shape, element), **kw)


def pool(x_shape, kind=dnn.PoolKind.MAX, element=i8, **kw) -> Operation:
    return dnn.Pool2dOp(kind, _x(x_shape, element), **kw)


def dense(k: int, n: int, batch: int = 1) -> Operation:
    return dnn.DenseOp(_x((batch, k)), _w((n, k)), trans_b=True)


def clip(lo: float, element=i8) -> Operation:
    return dnn.ClipOp(_x((1, 2, 4, 4), element), lo, 6.0)


CASES: list[tuple[str, Callable[[], Operation], bool, str]] = [
    ("conv 3x3", lambda: conv((1, 4, 8, 8), (4, 4, 3, 3)), True, "CONV"),
    ("depthwise", lambda: conv((1, 4, 8, 8), (4, 1, 3, 3), group=4), True, "CONV (depthwise)"),
    ("kernel 15", lambda: conv((1, 4, 20, 20), (4, 4, 15, 15)), True, "CONV"),
    ("kernel 16", lambda: conv((1, 4, 20, 20), (4, 4, 16, 1)), False,
     "kernel [16, 1] outside the ISA's 1..15"),
    ("stride 15", lambda: conv((1, 4, 20, 20), (4, 4, 3, 3), strides=(15, 15)), True, "CONV"),
    ("stride 16", lambda: conv((1, 4, 20, 20), (4, 4, 1, 1), strides=(16, 1)), False,
     "strides [16, 1] outside the ISA's 1..15"),
    ("dilation 16", lambda: conv((1, 4, 40, 40), (4, 4, 2, 2), dilations=(1, 16)), False,
     "dilations [1, 16] outside the ISA's 1..15"),
    ("pads 15", lambda: conv((1, 4, 8, 8), (4, 4, 3, 3), pads=(15, 15, 15, 15)), True, "CONV"),
    ("pads 16", lambda: conv((1, 4, 8, 8), (4, 4, 1, 1), pads=(0, 0, 16, 0)), False,
     "pads [0, 0, 16, 0] outside the ISA's 0..15"),
    ("grouped", lambda: conv((1, 4, 8, 8), (4, 2, 3, 3), group=2), True, "CONV (one per group)"),
    ("channel multiplier", lambda: conv((1, 4, 8, 8), (8, 1, 3, 3), group=4), True,
     "CONV (one per group)"),
    ("batch 2", lambda: conv((2, 4, 8, 8), (4, 4, 3, 3)), False,
     "conv2d input must be a batch-1 4-D, [1, S, D] or [M, K] tensor"),
    ("float conv", lambda: conv((1, 4, 8, 8), (4, 4, 3, 3), f32), True, "CONV"),
    ("float kernel 16", lambda: conv((1, 4, 20, 20), (4, 4, 16, 1), f32), False,
     "kernel [16, 1] outside the ISA's 1..15"),
    ("pool 3x3/2", lambda: pool((1, 2, 8, 8), kernel=(3, 3), strides=(2, 2)), True, "POOL"),
    ("pool kernel 255", lambda: pool((1, 1, 255, 1), kernel=(255, 1)), True, "POOL"),
    ("pool kernel 256", lambda: pool((1, 1, 256, 1), kernel=(256, 1)), False,
     "kernel [256, 1] outside the ISA's 1..255"),
    ("pool stride 16", lambda: pool((1, 2, 40, 40), kernel=(2, 2), strides=(16, 16)), False,
     "strides [16, 16] outside the ISA's 1..15"),
    ("pool pads 16", lambda: pool((1, 2, 8, 8), kernel=(2, 2), pads=(16, 0, 0, 0)), False,
     "pads [16, 0, 0, 0] outside the ISA's 0..15"),
    ("dilated pool", lambda: pool((1, 2, 8, 8), kernel=(2, 2), dilations=(2, 2)), False,
     "dilated pooling (POOL has no dilation)"),
    ("avg pool, pads not counted",
     lambda: pool((1, 2, 8, 8), dnn.PoolKind.AVG, f32, kernel=(3, 3), pads=(1, 1, 1, 1)),
     False, "average pooling that does not count padding"),
    ("avg pool counting pads",
     lambda: pool((1, 2, 8, 8), dnn.PoolKind.AVG, f32, kernel=(3, 3), pads=(1, 1, 1, 1),
                  count_include_pad=True), True, "POOL"),
    ("global pool 255", lambda: dnn.GlobalPoolOp(dnn.PoolKind.MAX, _x((1, 2, 255, 3))), True,
     "POOL (global)"),
    ("global pool 256", lambda: dnn.GlobalPoolOp(dnn.PoolKind.MAX, _x((1, 2, 256, 3))), False,
     "window [256, 3] outside the ISA's 1..255"),
    ("dense 65535", lambda: dense(65535, 10), True, "MVM"),
    ("dense 65536", lambda: dense(65536, 10), False,
     "rows x cols [10, 65536] outside the ISA's 1..65535"),
    ("dense batch 2", lambda: dense(16, 10, batch=2), False, "dense with 2 rows (batch 1 only)"),
    ("add", lambda: dnn.AddOp(_x((1, 2, 4, 4)), _x((1, 2, 4, 4))), True, "ELEW add"),
    ("broadcasting add", lambda: dnn.AddOp(_x((1, 2, 4, 4), f32), _x((1, 1, 1, 1), f32)),
     False, "broadcasting dnn.add"),
    ("mul", lambda: dnn.MulOp(_x((1, 8)), _x((1, 8))), True, "ELEW mul"),
    ("relu", lambda: dnn.ReluOp(_x((1, 2, 4, 4))), True, "ACT relu"),
    ("sigmoid", lambda: dnn.SigmoidOp(_x((1, 8))), True, "ACT sigmoid"),
    ("tanh of 2 rows", lambda: dnn.TanhOp(_x((2, 8))), True, "ACT tanh"),
    ("gelu of a sequence", lambda: dnn.GeluOp(_x((1, 6, 8))), True, "ACT gelu"),
    ("tanh of a batch of 2", lambda: dnn.TanhOp(_x((2, 1, 4, 4))), False,
     "dnn.tanh result must be a batch-1 4-D, [1, S, D] or [M, K] tensor"),
    # F = 4: -0.01 * 16 = -0.16 rounds to 0 (RELU6's clamp); -1.0 * 16 = -16 does not.
    ("clip 0", lambda: clip(0.0), True, "RELU6"),
    ("clip -0.01", lambda: clip(-0.01), True, "RELU6"),
    ("clip -1", lambda: clip(-1.0), False, "clip with int8 lower bound -16 (RELU6 clamps at 0)"),
    ("float clip -0.01", lambda: clip(-0.01, f32), False,
     "clip with lower bound -0.01 (RELU6 clamps at 0)"),
    ("concat", lambda: dnn.ConcatOp([_x((1, 2, 4, 4)), _x((1, 3, 4, 4))], 1), True,
     "layout (concat)"),
    ("softmax", lambda: dnn.SoftmaxOp(_x((1, 8), f32), 1), True, "ROW softmax"),
    ("softmax over channels", lambda: dnn.SoftmaxOp(_x((1, 8, 2, 2), f32), 1), False,
     "dnn.softmax along axis 1 (the channels of a sequence or rows tensor only)"),
    ("layer_norm", lambda: dnn.LayerNormOp(_x((1, 6, 8), f32), _x((8,), f32)), True,
     "ROW layernorm"),
    ("layer_norm over 2 axes", lambda: dnn.LayerNormOp(_x((6, 8), f32), _x((6, 8), f32),
                                                       axis=0), False,
     "dnn.layer_norm along axis 0 (the channels of a sequence or rows tensor only)"),
    ("softmax row too long", lambda: dnn.SoftmaxOp(_x((2, 70000), f32), 1), False,
     "row length [70000] outside the ISA's 1..65535"),
    ("transpose", lambda: dnn.TransposeOp(_x((1, 8)), (1, 0)), False,
     "no accelerator instruction for int8 dnn.transpose"),
]


@pytest.mark.parametrize(("name", "build", "runs", "why"), CASES, ids=[c[0] for c in CASES])
def test_verdict(name, build, runs, why):
    op = build()
    got = capability.verdict(op)
    assert got.runs == runs
    assert got.why.startswith(why), got.why
    assert capability.problem(op) == (None if runs else got.why)


def test_limits_are_the_isa_field_widths():
    assert capability.CONV_KERNEL == capability.CONV_STRIDE == capability.CONV_DILATION == (1, 15)
    assert capability.CONV_PADS == capability.POOL_PADS == (0, 15)
    assert capability.POOL_KERNEL == (1, 255)
    assert capability.POOL_STRIDE == (1, 15)
    assert capability.MVM_SIZE == (1, 65535)


def test_lowering_gives_the_geometry_or_the_reason():
    geom = capability.lowering(conv((1, 4, 8, 8), (4, 1, 3, 3), group=4, pads=(1, 1, 1, 1)))
    assert (geom.kind, geom.in_shape, geom.out_shape) == (TileKind.DWCONV, (8, 8, 4), (8, 8, 4))
    with pytest.raises(Unsupported, match=r"dilated pooling \(POOL has no dilation\)"):
        capability.lowering(pool((1, 2, 8, 8), kernel=(2, 2), dilations=(2, 2)))
    with pytest.raises(Unsupported, match="int8 lower bound -16"):
        capability.lowering(clip(-1.0))


@pytest.mark.parametrize(
    ("build", "form"),
    [
        (lambda: conv((1, 4, 8, 8), (4, 4, 3, 3), f32), Int8Form.COMPUTE),
        (lambda: dense(16, 10), Int8Form.COMPUTE),
        (lambda: dnn.AddOp(_x((1, 8)), _x((1, 8))), Int8Form.COMPUTE),
        (lambda: dnn.SigmoidOp(_x((1, 8))), Int8Form.COMPUTE),
        (lambda: pool((1, 2, 8, 8), dnn.PoolKind.AVG, f32, kernel=(2, 2)), Int8Form.COMPUTE),
        (lambda: dnn.GlobalPoolOp(dnn.PoolKind.AVG, _x((1, 2, 4, 4))), Int8Form.COMPUTE),
        (lambda: pool((1, 2, 8, 8), kernel=(2, 2)), Int8Form.EXACT),
        (lambda: dnn.GlobalPoolOp(dnn.PoolKind.MAX, _x((1, 2, 4, 4))), Int8Form.EXACT),
        (lambda: dnn.ReluOp(_x((1, 8))), Int8Form.EXACT),
        (lambda: clip(-1.0), Int8Form.EXACT),
        (lambda: dnn.TransposeOp(_x((1, 8)), (1, 0)), Int8Form.EXACT),
        (lambda: dnn.SoftmaxOp(_x((1, 8), f32), 1), Int8Form.COMPUTE),
        (lambda: dnn.GeluOp(_x((1, 8), f32)), Int8Form.COMPUTE),
        (lambda: dnn.LeakyReluOp(_x((1, 8), f32), 0.1), None),
    ],
)
def test_int8_form(build, form):
    assert capability.int8_form(build()) == form


def test_tile_facts_follow_the_core_lanes():
    core = CoreConfig(pp=4, icp=8, ocp=16, clock_mhz=300, fmap_buffer_bytes=1 << 16,
                      weight_buffer_bytes=1 << 16, bias_buffer_bytes=1 << 12)
    facts = {k: capability.tile_facts(core, k) for k in TileKind}
    assert {k: f.channel_unit for k, f in facts.items()} == {
        TileKind.CONV: 16, TileKind.DENSE: 16, TileKind.DWCONV: 8, TileKind.POOL: 8,
        TileKind.GPOOL: 8, TileKind.ELTWISE: 8, TileKind.ACT: 8, TileKind.COPY: 8,
        # whole rows: every tile has all channels (a block of MAX_BUFFER_BYTES never divides)
        TileKind.SOFTMAX: 1 << 24, TileKind.LNORM: 1 << 24}
    assert {k for k, f in facts.items() if not f.spatial} == {TileKind.DENSE, TileKind.GPOOL}
    assert {k for k, f in facts.items() if f.channel_shifts} == {
        TileKind.CONV, TileKind.DWCONV, TileKind.DENSE}
