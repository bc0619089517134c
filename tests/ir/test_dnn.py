"""dnn builders infer result types; the expected shapes come from ONNX, not from dnn.py.

Shapes are checked against `onnx.shape_inference` on a one-node model, except pooling with
`ceil_mode`, where onnx 1.23's shape inference does not drop a last window that starts in
the trailing padding although the ONNX spec, onnx's reference evaluator and onnxruntime do:
there the reference is the shape of onnxruntime's actual output.
"""

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from xdsl.context import Context
from xdsl.dialects import test as xdsl_test
from xdsl.dialects.builtin import Builtin, TensorType, f32, i32
from xdsl.ir import SSAValue
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from fvir.ir import dnn

OPSET = 21


def value(*shape: int, element_type=f32) -> SSAValue:
    return xdsl_test.TestOp(result_types=[TensorType(element_type, list(shape))]).results[0]


def shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def _model(
    op_type: str, inputs: Sequence[Sequence[int] | None], n_out: int, **attrs
) -> onnx.ModelProto:
    """One-node model; a `None` input is an omitted optional input."""
    names = [f"in{i}" if s is not None else "" for i, s in enumerate(inputs)]
    outs = [f"out{i}" for i in range(n_out)]
    graph = helper.make_graph(
        [helper.make_node(op_type, names, outs, **attrs)],
        "g",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
            for n, s in zip(names, inputs, strict=True)
            if s is not None
        ],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def onnx_shapes(
    op_type: str, inputs: Sequence[Sequence[int] | None], n_out: int = 1, **attrs
) -> list[tuple[int, ...]]:
    """Output shapes by onnx's shape inference on a one-node model."""
    inferred = onnx.shape_inference.infer_shapes(_model(op_type, inputs, n_out, **attrs), True)
    return [tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in inferred.graph.output]


def ort_shape(op_type: str, input_shape: Sequence[int], **attrs) -> tuple[int, ...]:
    """Shape of onnxruntime's actual output for a one-input, one-output node."""
    ort = pytest.importorskip("onnxruntime")
    model = _model(op_type, [input_shape], 1, **attrs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.zeros(input_shape, np.float32)
    return tuple(session.run(None, {"in0": x})[0].shape)


# ------------------------------------------------------------------------------- conv2d


CONV_CASES = [
    # x, w, strides, pads [top, left, bottom, right], dilations, group
    ((1, 3, 8, 8), (8, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((1, 3, 9, 7), (8, 3, 3, 3), (2, 2), (0, 1, 1, 0), (1, 1), 1),
    ((2, 3, 10, 11), (4, 3, 3, 2), (2, 3), (2, 0, 1, 3), (2, 3), 1),
    ((1, 8, 12, 12), (16, 2, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 4),
    ((1, 6, 14, 14), (6, 1, 5, 5), (2, 2), (2, 2, 2, 2), (1, 1), 6),  # depthwise
    ((1, 4, 224, 224), (64, 4, 7, 7), (2, 2), (3, 3, 3, 3), (1, 1), 1),
]


@pytest.mark.parametrize(("x", "w", "strides", "pads", "dil", "group"), CONV_CASES)
def test_conv2d_infers_onnx_shape(x, w, strides, pads, dil, group):
    op = dnn.Conv2dOp(value(*x), value(*w), strides=strides, pads=pads, dilations=dil, group=group)
    op.verify()
    onnx_pads = [pads[0], pads[1], pads[2], pads[3]]  # ONNX: [t, l, b, r], our order too
    [expected] = onnx_shapes(
        "Conv", [x, w], strides=list(strides), pads=onnx_pads, dilations=list(dil), group=group
    )
    assert shape(op.output) == expected


def test_conv2d_hand_computed():
    # H: (9 + 0 + 1 - 3) // 2 + 1 = 4; W: (7 + 1 + 0 - 3) // 2 + 1 = 3
    op = dnn.Conv2dOp(value(1, 3, 9, 7), value(8, 3, 3, 3), strides=(2, 2), pads=(0, 1, 1, 0))
    assert shape(op.output) == (1, 8, 4, 3)


def test_conv2d_depthwise_and_group_verify():
    dw = dnn.Conv2dOp(value(1, 6, 8, 8), value(6, 1, 3, 3), pads=(1, 1, 1, 1), group=6)
    dw.verify()
    assert shape(dw.output) == (1, 6, 8, 8)
    bad = dnn.Conv2dOp(value(1, 6, 8, 8), value(6, 1, 3, 3), pads=(1, 1, 1, 1), group=1)
    with pytest.raises(VerifyException, match=r"input channels \(6\) != weight channels"):
        bad.verify()


# ------------------------------------------------------------------------------- pooling

POOL_CASES = [
    # x, kernel, strides, pads, ceil_mode
    ((1, 4, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0), False),
    ((1, 4, 8, 8), (3, 3), (2, 2), (0, 0, 0, 0), True),  # ceil adds a partial window
    ((1, 64, 112, 112), (3, 3), (2, 2), (1, 1, 1, 1), False),
    ((1, 4, 7, 9), (3, 2), (2, 3), (1, 0, 1, 1), True),
    # The last window would start in the trailing padding: ONNX and PyTorch drop it (3, not 4).
    ((1, 1, 5, 5), (2, 2), (2, 2), (1, 1, 1, 1), True),
    ((1, 2, 6, 6), (3, 3), (2, 2), (1, 1, 1, 1), True),
    ((1, 2, 7, 7), (3, 3), (3, 3), (0, 0, 1, 1), True),
]


@pytest.mark.parametrize("kind", [dnn.PoolKind.MAX, dnn.PoolKind.AVG])
@pytest.mark.parametrize(("x", "k", "strides", "pads", "ceil"), POOL_CASES)
def test_pool2d_matches_onnxruntime(kind, x, k, strides, pads, ceil):
    op = dnn.Pool2dOp(kind, value(*x), kernel=k, strides=strides, pads=pads, ceil_mode=ceil)
    op.verify()
    op_type = "MaxPool" if kind == dnn.PoolKind.MAX else "AveragePool"
    expected = ort_shape(
        op_type,
        x,
        kernel_shape=list(k),
        strides=list(strides),
        pads=list(pads),
        ceil_mode=int(ceil),
    )
    assert shape(op.output) == expected


def test_pool2d_last_window_in_padding_is_dropped():
    # Padded extent 7 = [pad, 0..4, pad]; windows of 2 with stride 2 start at -1, 1, 3 and 5:
    # the one at 5 starts in the trailing padding and is dropped.
    op = dnn.Pool2dOp(
        dnn.PoolKind.MAX,
        value(1, 1, 5, 5),
        kernel=(2, 2),
        strides=(2, 2),
        pads=(1, 1, 1, 1),
        ceil_mode=True,
    )
    assert shape(op.output) == (1, 1, 3, 3)
    floor = dnn.Pool2dOp(
        dnn.PoolKind.MAX, value(1, 1, 5, 5), kernel=(2, 2), strides=(2, 2), pads=(1, 1, 1, 1)
    )
    assert shape(floor.output) == (1, 1, 3, 3)


def test_global_pool_keeps_rank():
    assert shape(dnn.GlobalPoolOp(dnn.PoolKind.AVG, value(2, 8, 7, 5)).output) == (2, 8, 1, 1)
    [expected] = onnx_shapes("GlobalAveragePool", [(2, 8, 7)])
    assert shape(dnn.GlobalPoolOp(dnn.PoolKind.AVG, value(2, 8, 7)).output) == expected


# ------------------------------------------------------------------------------- dense / matmul


@pytest.mark.parametrize(
    ("a", "b", "c", "trans_a", "trans_b"),
    [
        ((2, 4), (4, 10), None, False, False),
        ((2, 4), (10, 4), (10,), False, True),
        ((4, 2), (10, 4), (2, 10), True, True),
        ((4, 3), (4, 5), (1,), True, False),
    ],
)
def test_dense_matches_gemm(a, b, c, trans_a, trans_b):
    bias = value(*c) if c is not None else None
    op = dnn.DenseOp(value(*a), value(*b), bias, trans_a=trans_a, trans_b=trans_b)
    op.verify()
    inputs = [a, b] if c is None else [a, b, c]
    [expected] = onnx_shapes("Gemm", inputs, transA=int(trans_a), transB=int(trans_b))
    assert shape(op.output) == expected


MATMUL_CASES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),  # 1-D lhs: promoted to [1, 4], the 1 removed again
    ((3, 4), (4,)),  # 1-D rhs: promoted to [4, 1]
    ((4,), (4,)),  # dot product: a scalar
    ((2, 1, 3, 4), (5, 4, 6)),  # batch dims broadcast
    ((7, 3, 4), (4, 2)),
    ((4,), (2, 3, 4, 6)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize(("a", "b"), MATMUL_CASES)
def test_matmul_matches_onnx(a, b):
    op = dnn.MatMulOp(value(*a), value(*b))
    op.verify()
    [expected] = onnx_shapes("MatMul", [a, b])
    assert shape(op.output) == expected


def test_matmul_numpy_semantics():
    # Independent of ONNX: numpy defines the same rules.
    for a, b in MATMUL_CASES:
        expected = np.matmul(np.zeros(a), np.zeros(b)).shape
        assert shape(dnn.MatMulOp(value(*a), value(*b)).output) == expected


# ------------------------------------------------------------------------------- data movement


@pytest.mark.parametrize("axis", [0, 1, 2, 3, 4, -1, -2, -4])
def test_flatten_matches_onnx(axis):
    x = (2, 3, 4, 5)
    op = dnn.FlattenOp(value(*x), axis)
    op.verify()
    [expected] = onnx_shapes("Flatten", [x], axis=axis)
    assert shape(op.output) == expected


def test_flatten_rejects_out_of_range_axis():
    with pytest.raises(VerifyException, match="axis 5 out of range for rank 4"):
        dnn.FlattenOp(value(2, 3, 4, 5), 5)
    with pytest.raises(VerifyException, match="axis -5 out of range for rank 4"):
        dnn.FlattenOp(value(2, 3, 4, 5), -5)


@pytest.mark.parametrize(
    ("shapes", "axis"),
    [
        ([(1, 4, 2, 2), (1, 6, 2, 2)], 1),
        ([(1, 4, 2, 2), (1, 4, 2, 3)], -1),
        ([(2, 3), (5, 3), (1, 3)], -2),
        ([(2, 3, 4)], -3),
    ],
)
def test_concat_matches_onnx(shapes, axis):
    op = dnn.ConcatOp([value(*s) for s in shapes], axis)
    op.verify()
    [expected] = onnx_shapes("Concat", shapes, axis=axis)
    assert shape(op.output) == expected


def test_transpose_matches_onnx():
    op = dnn.TransposeOp(value(1, 3, 4, 5), [0, 2, 3, 1])
    [expected] = onnx_shapes("Transpose", [(1, 3, 4, 5)], perm=[0, 2, 3, 1])
    assert shape(op.output) == expected


def test_broadcasting_eltwise_matches_onnx():
    for cls, op_type in ((dnn.AddOp, "Add"), (dnn.MulOp, "Mul"), (dnn.DivOp, "Div")):
        op = cls(value(4, 1, 1), value(1, 4, 8, 8))
        [expected] = onnx_shapes(op_type, [(4, 1, 1), (1, 4, 8, 8)])
        assert shape(op.output) == expected


# ------------------------------------------------------------------------------- recurrent

RNN_KINDS = [(dnn.LstmOp, "LSTM", 4, 3), (dnn.GruOp, "GRU", 3, 2), (dnn.RnnOp, "RNN", 1, 2)]


@pytest.mark.parametrize(("cls", "op_type", "gates", "n_out"), RNN_KINDS)
@pytest.mark.parametrize("direction", list(dnn.RnnDirection))
def test_recurrent_result_shapes_match_onnx(cls, op_type, gates, n_out, direction):
    seq, batch, inp, hidden = 7, 2, 3, 5
    d = 2 if direction == dnn.RnnDirection.BIDIRECTIONAL else 1
    w, r, b = (d, gates * hidden, inp), (d, gates * hidden, hidden), (d, 2 * gates * hidden)
    op = cls(
        value(seq, batch, inp),
        value(*w),
        value(*r),
        value(*b),
        hidden_size=hidden,
        direction=direction,
    )
    op.verify()
    expected = onnx_shapes(
        op_type,
        [(seq, batch, inp), w, r, b],
        n_out,
        hidden_size=hidden,
        direction=str(direction),
    )
    assert [shape(res) for res in op.results] == expected


def test_lstm_all_optional_operands():
    seq, batch, inp, h = 4, 3, 2, 6
    op = dnn.LstmOp(
        value(seq, batch, inp),
        value(2, 4 * h, inp),
        value(2, 4 * h, h),
        value(2, 8 * h),
        hidden_size=h,
        sequence_lens=value(batch, element_type=i32),
        initial_h=value(2, batch, h),
        initial_c=value(2, batch, h),
        p=value(2, 3 * h),
        direction=dnn.RnnDirection.BIDIRECTIONAL,
        activations=["Sigmoid", "Tanh", "Tanh"] * 2,
        clip=2.0,
        input_forget=True,
    )
    op.verify()
    assert [shape(res) for res in op.results] == [(seq, 2, batch, h), (2, batch, h), (2, batch, h)]


def test_sequence_lens_must_be_integers():
    op = dnn.GruOp(
        value(4, 3, 2),
        value(1, 9, 2),
        value(1, 9, 3),
        hidden_size=3,
        sequence_lens=value(3),
    )
    with pytest.raises(VerifyException, match="'sequence_lens' must hold integers"):
        op.verify()


# ------------------------------------------------------------------------------- #dnn.act


def _ctx() -> Context:
    ctx = Context()
    for dialect in (Builtin, xdsl_test.Test, dnn.DNN):
        ctx.load_dialect(dialect)
    return ctx


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (dnn.ActKind.RELU, ()),
        (dnn.ActKind.CLIP, (0.0, 6.0)),
        (dnn.ActKind.CLIP, (-1e-7, 2.5e20)),
        (dnn.ActKind.LEAKY_RELU, (1e-05,)),
        (dnn.ActKind.LEAKY_RELU, (0.1,)),
        (dnn.ActKind.SIGMOID, ()),
        (dnn.ActKind.TANH, ()),
    ],
)
def test_activation_attr_round_trips(kind, params):
    attr = dnn.ActivationAttr(kind, params)
    parsed = Parser(_ctx(), str(attr)).parse_attribute()
    assert parsed == attr
    assert isinstance(parsed, dnn.ActivationAttr)
    assert parsed.values == params


def test_activation_attr_rejects_non_finite_parameters():
    with pytest.raises(VerifyException, match="activation parameters must be finite"):
        dnn.ActivationAttr(dnn.ActKind.CLIP, (0.0, float("inf")))


def test_activation_ops_map_to_attrs():
    x = value(4)
    assert dnn.ReluOp(x).activation() == dnn.ActivationAttr("relu")
    assert dnn.SigmoidOp(x).activation() == dnn.ActivationAttr("sigmoid")
    assert dnn.TanhOp(x).activation() == dnn.ActivationAttr("tanh")
    assert dnn.ClipOp(x, 0.0, 6.0).activation() == dnn.ActivationAttr("clip", (0.0, 6.0))
    assert dnn.LeakyReluOp(x, 0.2).activation() == dnn.ActivationAttr("leaky_relu", (0.2,))
