"""Unit tests of the reference executor, op by op, against onnxruntime.

Each test builds the dnn IR for one op by hand (not through the importer, so the executor is
checked on its own) and the equivalent one-node ONNX model, runs both on the same seeded
random inputs and compares. Expected values always come from onnxruntime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from fvir import onnxops
from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import element_type
from fvir.reference.int8 import run

RTOL, ATOL = 1e-4, 1e-5
OPSET = 21

# ------------------------------------------------------------------------------ helpers


def ttype(shape: Sequence[int], dtype: Any = np.float32) -> TensorType:
    return TensorType(element_type(dtype), list(shape))


def build(
    inputs: Sequence[np.ndarray],
    body: Callable[..., Sequence[SSAValue | Operation] | SSAValue | Operation],
    names: Sequence[str] | None = None,
) -> ModuleOp:
    """A module whose @main takes `inputs`' types and returns what `body(*args)` builds."""
    types = [ttype(a.shape, a.dtype) for a in inputs]
    block = Block(arg_types=types)
    with ImplicitBuilder(block) as args:
        out = body(*args)
        results = [SSAValue.get(r) for r in (out if isinstance(out, list | tuple) else [out])]
        func.ReturnOp(*results)
    fn = func.FuncOp("main", (types, [r.type for r in results]), Region(block))
    if names is not None:
        fn.attributes["dnn.input_names"] = ArrayAttr([StringAttr(n) for n in names])
    module = ModuleOp([fn])
    module.verify()
    return module


def _onnx_type(dtype: np.dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def ort_run(
    nodes: onnx.NodeProto | Sequence[onnx.NodeProto],
    inputs: dict[str, np.ndarray],
    outputs: Sequence[str],
    opset: int = OPSET,
) -> list[np.ndarray]:
    """Run ONNX node(s) in onnxruntime: the independent expected values."""
    nodes = [nodes] if isinstance(nodes, onnx.NodeProto) else list(nodes)
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, _onnx_type(a.dtype), a.shape) for n, a in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(list(outputs), inputs)


def check(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert g.dtype == w.dtype
        if w.dtype.kind in "iub":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


# --------------------------------------------------------------------------- conv / pool


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "strides", "pads", "dilations", "group", "bias"),
    [
        ((1, 3, 8, 8), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
        ((2, 4, 9, 7), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (1, 1), 2, True),
        ((1, 4, 10, 10), (4, 1, 3, 3), (1, 2), (2, 2, 2, 2), (2, 2), 4, False),  # depthwise
        ((1, 2, 5, 6), (3, 2, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, False),
        ((1, 3, 11, 9), (2, 3, 5, 3), (3, 2), (1, 0, 3, 2), (2, 3), 1, True),
    ],
)
def test_conv2d(x_shape, w_shape, strides, pads, dilations, group, bias) -> None:
    rng = np.random.default_rng(0)
    x, w, b = rand(rng, *x_shape), rand(rng, *w_shape), rand(rng, w_shape[0])
    weights = {"w": w, "b": b}

    def body(xv: SSAValue) -> Operation:
        wv = dnn.WeightOp("w", ttype(w.shape))
        bv = dnn.WeightOp("b", ttype(b.shape)) if bias else None
        return dnn.Conv2dOp(
            xv, wv, bv, strides=strides, pads=pads, dilations=dilations, group=group
        )

    got = run(build([x], body), weights, [x])
    node = helper.make_node(
        "Conv",
        ["x", "w", "b"] if bias else ["x", "w"],
        ["y"],
        strides=strides,
        pads=[pads[0], pads[1], pads[2], pads[3]],
        dilations=dilations,
        group=group,
    )
    feeds = {"x": x, "w": w, "b": b} if bias else {"x": x, "w": w}
    check(got, ort_run(node, feeds, ["y"]))


@pytest.mark.parametrize(
    ("act", "onnx_node"),
    [
        (dnn.ActivationAttr("relu"), helper.make_node("Relu", ["c"], ["y"])),
        (
            dnn.ActivationAttr("clip", (0.0, 0.5)),
            helper.make_node("Clip", ["c", "lo", "hi"], ["y"]),
        ),
        (
            dnn.ActivationAttr("leaky_relu", (0.1,)),
            helper.make_node("LeakyRelu", ["c"], ["y"], alpha=0.1),
        ),
        (dnn.ActivationAttr("sigmoid"), helper.make_node("Sigmoid", ["c"], ["y"])),
        (dnn.ActivationAttr("tanh"), helper.make_node("Tanh", ["c"], ["y"])),
    ],
)
def test_fused_activations(act: dnn.ActivationAttr, onnx_node: onnx.NodeProto) -> None:
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, 1, 2, 5, 5), rand(rng, 3, 2, 3, 3), rand(rng, 3)
    a, bw, bb = rand(rng, 4, 6), rand(rng, 5, 6), rand(rng, 5)
    y = rand(rng, 4, 5)
    module = build(
        [x, w, b, a, bw, bb, y],
        lambda x, w, b, a, bw, bb, y: [
            dnn.Conv2dOp(x, w, b, pads=(1, 1, 1, 1), act=act),
            dnn.AddOp(dnn.DenseOp(a, bw, bb, trans_b=True), y, act=act),
        ],
    )
    got = run(module, {}, [x, w, b, a, bw, bb, y])
    lims = {"lo": np.array(0.0, np.float32), "hi": np.array(0.5, np.float32)}
    conv = ort_run(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), onnx_node],
        {"x": x, "w": w, "b": b, **lims},
        ["y"],
    )
    dense = ort_run(
        [
            helper.make_node("Gemm", ["a", "bw", "bb"], ["g"], transB=1),
            helper.make_node("Add", ["g", "y0"], ["c"]),
            onnx_node,
        ],
        {"a": a, "bw": bw, "bb": bb, "y0": y, **lims},
        ["y"],
    )
    check(got, conv + dense)


@pytest.mark.parametrize(
    ("kind", "x_shape", "kernel", "strides", "pads", "dilations", "ceil", "include_pad"),
    [
        ("max", (1, 2, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), False, False),
        ("max", (2, 3, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True, False),
        ("max", (1, 1, 9, 9), (3, 2), (1, 2), (1, 0, 2, 1), (2, 2), False, False),
        ("max", (1, 2, 6, 7), (3, 3), (2, 2), (0, 0, 0, 0), (2, 1), True, False),
        ("avg", (1, 2, 8, 8), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), False, False),
        ("avg", (1, 2, 8, 8), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), False, True),
        ("avg", (2, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True, False),
        ("avg", (2, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True, True),
        ("avg", (1, 3, 6, 8), (2, 3), (2, 3), (0, 1, 1, 2), (1, 1), True, True),
        ("avg", (1, 1, 9, 9), (2, 2), (1, 1), (1, 1, 0, 0), (2, 2), False, True),
    ],
)
def test_pool2d(kind, x_shape, kernel, strides, pads, dilations, ceil, include_pad) -> None:
    rng = np.random.default_rng(2)
    x = rand(rng, *x_shape)
    module = build(
        [x],
        lambda xv: dnn.Pool2dOp(
            dnn.PoolKind(kind),
            xv,
            kernel=kernel,
            strides=strides,
            pads=pads,
            dilations=dilations,
            ceil_mode=ceil,
            count_include_pad=include_pad,
        ),
    )
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": strides,
        "pads": list(pads),
        "dilations": dilations,
        "ceil_mode": int(ceil),
    }
    if kind == "avg":
        attrs["count_include_pad"] = int(include_pad)
    node = helper.make_node("MaxPool" if kind == "max" else "AveragePool", ["x"], ["y"], **attrs)
    check(run(module, {}, [x]), ort_run(node, {"x": x}, ["y"]))


def test_maxpool_uint8_pads_with_lowest_value() -> None:
    x = np.random.default_rng(3).integers(0, 255, (1, 1, 5, 5)).astype(np.uint8)
    module = build(
        [x],
        lambda xv: dnn.Pool2dOp(dnn.PoolKind.MAX, xv, kernel=(3, 3), pads=(1, 1, 1, 1)),
    )
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    check(run(module, {}, [x]), ort_run(node, {"x": x}, ["y"]))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global_pool(kind: str) -> None:
    x = rand(np.random.default_rng(4), 2, 3, 5, 4)
    module = build([x], lambda xv: dnn.GlobalPoolOp(dnn.PoolKind(kind), xv))
    node = helper.make_node("GlobalMaxPool" if kind == "max" else "GlobalAveragePool", ["x"], ["y"])
    check(run(module, {}, [x]), ort_run(node, {"x": x}, ["y"]))


# ------------------------------------------------------------------------ dense / matmul


@pytest.mark.parametrize(
    ("trans_a", "trans_b", "alpha", "beta", "c_shape"),
    [
        (False, False, 1.0, 1.0, (5,)),
        (True, False, 0.5, 2.0, (4, 5)),
        (False, True, 1.0, 0.0, (1, 5)),
        (True, True, 2.0, 0.25, (4, 1)),
        (False, False, 1.0, 1.0, None),
        (False, True, 1.0, 1.0, ()),
    ],
)
def test_dense(trans_a, trans_b, alpha, beta, c_shape) -> None:
    rng = np.random.default_rng(5)
    a = rand(rng, *((6, 4) if trans_a else (4, 6)))
    b = rand(rng, *((5, 6) if trans_b else (6, 5)))
    c = rand(rng, *c_shape) if c_shape is not None else None
    args = [a, b] if c is None else [a, b, c]
    module = build(
        args,
        lambda *v: dnn.DenseOp(
            v[0], v[1], v[2] if len(v) > 2 else None,
            trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
        ),
    )  # fmt: skip
    names = ["a", "b", "c"][: len(args)]
    node = helper.make_node(
        "Gemm", names, ["y"], transA=int(trans_a), transB=int(trans_b), alpha=alpha, beta=beta
    )
    check(run(module, {}, args), ort_run(node, dict(zip(names, args, strict=True)), ["y"]))


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4, 3)),
        ((2, 3, 4), (4,)),
    ],
)
def test_matmul(a_shape, b_shape) -> None:
    rng = np.random.default_rng(6)
    a, b = rand(rng, *a_shape), rand(rng, *b_shape)
    module = build([a, b], dnn.MatMulOp)
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    check(run(module, {}, [a, b]), ort_run(node, {"a": a, "b": b}, ["y"]))


# ------------------------------------------------------------------------------ eltwise


@pytest.mark.parametrize(
    ("op", "onnx_op"),
    [(dnn.AddOp, "Add"), (dnn.SubOp, "Sub"), (dnn.MulOp, "Mul"), (dnn.DivOp, "Div")],
)
@pytest.mark.parametrize(
    ("a_shape", "b_shape"), [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (3, 1)), ((1,), (2, 2))]
)
def test_binary_eltwise(op, onnx_op, a_shape, b_shape) -> None:
    rng = np.random.default_rng(7)
    a, b = rand(rng, *a_shape), rand(rng, *b_shape) + 3
    module = build([a, b], op)
    node = helper.make_node(onnx_op, ["a", "b"], ["y"])
    check(run(module, {}, [a, b]), ort_run(node, {"a": a, "b": b}, ["y"]))


def test_integer_div_truncates() -> None:
    a = np.array([7, -7, 9, -1], np.int32)
    b = np.array([2, 2, -4, 3], np.int32)
    module = build([a, b], dnn.DivOp)
    node = helper.make_node("Div", ["a", "b"], ["y"])
    check(run(module, {}, [a, b]), ort_run(node, {"a": a, "b": b}, ["y"]))


def test_sum() -> None:
    rng = np.random.default_rng(8)
    xs = [rand(rng, 2, 3), rand(rng, 3), rand(rng, 1, 3)]
    module = build(xs, lambda *v: dnn.SumOp(list(v)))
    node = helper.make_node("Sum", ["a", "b", "c"], ["y"])
    check(run(module, {}, xs), ort_run(node, dict(zip("abc", xs, strict=True)), ["y"]))


@pytest.mark.parametrize(
    ("build_op", "node"),
    [
        (dnn.ReluOp, helper.make_node("Relu", ["x"], ["y"])),
        (dnn.SigmoidOp, helper.make_node("Sigmoid", ["x"], ["y"])),
        (dnn.TanhOp, helper.make_node("Tanh", ["x"], ["y"])),
        (lambda x: dnn.ClipOp(x, -0.5, 1.0), helper.make_node("Clip", ["x", "lo", "hi"], ["y"])),
        (lambda x: dnn.LeakyReluOp(x, 0.2), helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.2)),
        (lambda x: dnn.SoftmaxOp(x, 1), helper.make_node("Softmax", ["x"], ["y"], axis=1)),
        (lambda x: dnn.SoftmaxOp(x, -1), helper.make_node("Softmax", ["x"], ["y"])),
        (lambda x: dnn.FlattenOp(x, 2), helper.make_node("Flatten", ["x"], ["y"], axis=2)),
        (lambda x: dnn.FlattenOp(x, 0), helper.make_node("Flatten", ["x"], ["y"], axis=0)),
        (lambda x: dnn.FlattenOp(x, -1), helper.make_node("Flatten", ["x"], ["y"], axis=-1)),
        (
            lambda x: dnn.TransposeOp(x, (2, 0, 3, 1)),
            helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 3, 1]),
        ),
        (lambda x: dnn.ReshapeOp(x, (6, 20)), helper.make_node("Reshape", ["x", "shape"], ["y"])),
    ],
)
def test_unary(build_op, node: onnx.NodeProto) -> None:
    x = rand(np.random.default_rng(9), 2, 3, 4, 5) * 4
    extra = {
        "lo": np.array(-0.5, np.float32),
        "hi": np.array(1.0, np.float32),
        "shape": np.array([6, 20], np.int64),
    }
    feeds = {"x": x, **{k: extra[k] for k in node.input if k in extra}}
    check(run(build([x], build_op), {}, [x]), ort_run(node, feeds, ["y"]))


def test_sigmoid_saturates_without_nan() -> None:
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], np.float32)
    got = run(build([x], dnn.SigmoidOp), {}, [x])
    check(got, ort_run(helper.make_node("Sigmoid", ["x"], ["y"]), {"x": x}, ["y"]))


def test_batchnorm() -> None:
    rng = np.random.default_rng(10)
    x, s, b, m = rand(rng, 2, 3, 4, 5), rand(rng, 3), rand(rng, 3), rand(rng, 3)
    var = np.abs(rand(rng, 3)) + 0.1
    module = build([x, s, b, m, var], lambda *v: dnn.BatchNormOp(*v, epsilon=1e-3))
    node = helper.make_node("BatchNormalization", list("xsbmv"), ["y"], epsilon=1e-3)
    feeds = dict(zip("xsbmv", [x, s, b, m, var], strict=True))
    check(run(module, {}, [x, s, b, m, var]), ort_run(node, feeds, ["y"]))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis: int) -> None:
    rng = np.random.default_rng(11)
    shapes = {0: [(1, 3, 2), (2, 3, 2)], 1: [(2, 1, 2), (2, 4, 2)], -1: [(2, 3, 1), (2, 3, 3)]}[
        axis
    ]
    xs = [rand(rng, *s) for s in shapes]
    module = build(xs, lambda *v: dnn.ConcatOp(list(v), axis))
    node = helper.make_node("Concat", ["a", "b"], ["y"], axis=axis)
    check(run(module, {}, xs), ort_run(node, dict(zip("ab", xs, strict=True)), ["y"]))


def test_constant_and_weights() -> None:
    x = rand(np.random.default_rng(12), 2, 2)
    c = DenseIntOrFPElementsAttr.from_list(ttype((2, 2)), [1.0, 2.0, 3.0, 4.0])
    splat = DenseIntOrFPElementsAttr.from_list(ttype((2, 2)), [0.5])
    module = build(
        [x],
        lambda xv: dnn.MulOp(
            dnn.AddOp(xv, dnn.ConstantOp(c)),
            dnn.AddOp(dnn.ConstantOp(splat), dnn.WeightOp("w", ttype((2,)))),
        ),
    )
    w = np.array([10.0, 20.0], np.float32)
    want = (x + np.array([[1, 2], [3, 4]], np.float32)) * (0.5 + w)
    check(run(module, {"w": w}, [x]), [want])


# ---------------------------------------------------------------------------- recurrent

RNN_CASES = [
    # name, extra props, optional operands present
    ("forward", {}, ()),
    ("reverse", {"direction": "reverse"}, ("b",)),
    ("bidirectional", {"direction": "bidirectional"}, ("b", "h0")),
    ("seq_lens", {}, ("b", "lens")),
    ("seq_lens_reverse", {"direction": "reverse"}, ("lens", "h0")),
    ("seq_lens_bidir", {"direction": "bidirectional"}, ("b", "lens", "h0")),
    ("clip", {"clip": 0.3}, ("b",)),
]


def _rnn_case(kind: str, gates: int, direction: str, present: Sequence[str], seed: int):
    rng = np.random.default_rng(seed)
    seq, batch, inp, hid = 5, 3, 4, 6
    d = 2 if direction == "bidirectional" else 1
    arrays = {
        "x": rand(rng, seq, batch, inp),
        "w": rand(rng, d, gates * hid, inp) * 0.5,
        "r": rand(rng, d, gates * hid, hid) * 0.5,
        "b": rand(rng, d, 2 * gates * hid) * 0.5,
        "lens": np.array([5, 2, 3], np.int32),
        "h0": rand(rng, d, batch, hid),
        "c0": rand(rng, d, batch, hid),
        "p": rand(rng, d, 3 * hid) * 0.5,
    }
    return {k: v for k, v in arrays.items() if k in ("x", "w", "r") or k in present}, hid


def _recurrent_module(op_cls, arrays: dict[str, np.ndarray], hid: int, props: dict[str, Any]):
    names = list(arrays)
    props = dict(props)
    props["direction"] = dnn.RnnDirection(props.get("direction", "forward"))

    def body(*vals: SSAValue) -> list[SSAValue]:
        v = dict(zip(names, vals, strict=True))
        kw: dict[str, Any] = {
            "sequence_lens": v.get("lens"),
            "initial_h": v.get("h0"),
        }
        if op_cls is dnn.LstmOp:
            kw["initial_c"] = v.get("c0")
            kw["p"] = v.get("p")
        op = op_cls(v["x"], v["w"], v["r"], v.get("b"), hidden_size=hid, **kw, **props)
        return list(op.results)

    return build(list(arrays.values()), body)


def _onnx_recurrent(onnx_op: str, arrays: dict[str, np.ndarray], hid: int, attrs: dict, n_out: int):
    order = ["x", "w", "r", "b", "lens", "h0", "c0", "p"]
    inputs = [k if k in arrays else "" for k in order]
    while inputs and inputs[-1] == "":
        inputs.pop()
    outs = ["y", "yh", "yc"][:n_out]
    node = helper.make_node(onnx_op, inputs, outs, hidden_size=hid, **attrs)
    return ort_run(node, arrays, outs)


@pytest.mark.parametrize(("name", "props", "present"), RNN_CASES)
def test_rnn(name: str, props: dict, present: Sequence[str]) -> None:
    arrays, hid = _rnn_case("rnn", 1, props.get("direction", "forward"), present, 20)
    got = run(_recurrent_module(dnn.RnnOp, arrays, hid, props), {}, list(arrays.values()))
    check(got, _onnx_recurrent("RNN", arrays, hid, props, 2))


@pytest.mark.parametrize(("name", "props", "present"), RNN_CASES)
@pytest.mark.parametrize("lbr", [False, True])
def test_gru(name: str, props: dict, present: Sequence[str], lbr: bool) -> None:
    arrays, hid = _rnn_case("gru", 3, props.get("direction", "forward"), present, 21)
    module = _recurrent_module(dnn.GruOp, arrays, hid, {**props, "linear_before_reset": lbr})
    got = run(module, {}, list(arrays.values()))
    check(got, _onnx_recurrent("GRU", arrays, hid, {**props, "linear_before_reset": int(lbr)}, 2))


@pytest.mark.parametrize(
    ("name", "props", "present"),
    [
        *RNN_CASES,
        ("peepholes", {}, ("b", "h0", "c0", "p")),
        ("peepholes_bidir_lens", {"direction": "bidirectional"}, ("b", "lens", "h0", "c0", "p")),
        ("input_forget", {"input_forget": True}, ("b", "p")),
    ],
)
def test_lstm(name: str, props: dict, present: Sequence[str]) -> None:
    arrays, hid = _rnn_case("lstm", 4, props.get("direction", "forward"), present, 22)
    got = run(_recurrent_module(dnn.LstmOp, arrays, hid, props), {}, list(arrays.values()))
    attrs = {k: int(v) if isinstance(v, bool) else v for k, v in props.items()}
    check(got, _onnx_recurrent("LSTM", arrays, hid, attrs, 3))


CUSTOM_ACTS = [
    (["Relu"], None, None),
    (["Affine"], [0.5], [0.1]),
    (["LeakyRelu"], [0.2], None),
    (["ThresholdedRelu"], [0.1], None),
    (["ScaledTanh"], [0.9], [1.2]),
    (["HardSigmoid"], [0.3], [0.4]),
    (["Elu"], [0.7], None),
    (["Softsign"], None, None),
    (["Softplus"], None, None),
    (["Sigmoid"], None, None),
]


@pytest.mark.parametrize(("acts", "alpha", "beta"), CUSTOM_ACTS)
def test_rnn_custom_activation(acts, alpha, beta) -> None:
    arrays, hid = _rnn_case("rnn", 1, "forward", ("b",), 23)
    attrs: dict[str, Any] = {"activations": acts}
    if alpha is not None:
        attrs["activation_alpha"] = alpha
    if beta is not None:
        attrs["activation_beta"] = beta
    got = run(_recurrent_module(dnn.RnnOp, arrays, hid, attrs), {}, list(arrays.values()))
    check(got, _onnx_recurrent("RNN", arrays, hid, attrs, 2))


def test_gru_bidirectional_custom_activations() -> None:
    arrays, hid = _rnn_case("gru", 3, "bidirectional", ("b", "h0"), 24)
    attrs = {
        "direction": "bidirectional",
        "activations": ["HardSigmoid", "LeakyRelu", "Sigmoid", "ScaledTanh"],
        "activation_alpha": [0.3, 0.05, 0.8],
        "activation_beta": [0.6, 1.1],
    }
    got = run(_recurrent_module(dnn.GruOp, arrays, hid, attrs), {}, list(arrays.values()))
    check(got, _onnx_recurrent("GRU", arrays, hid, attrs, 2))


def test_lstm_custom_activations() -> None:
    arrays, hid = _rnn_case("lstm", 4, "forward", ("b", "h0", "c0"), 25)
    attrs = {"activations": ["HardSigmoid", "Elu", "Softsign"], "activation_alpha": [0.3, 0.5]}
    got = run(_recurrent_module(dnn.LstmOp, arrays, hid, attrs), {}, list(arrays.values()))
    check(got, _onnx_recurrent("LSTM", arrays, hid, attrs, 3))


# ---------------------------------------------------------------------------- host ops

# (op type, {input name: array}, attributes, opset). An input whose name starts with "_" is
# absent in the ONNX node (name ""); the host op gets it as an empty tensor, which is how a
# missing optional input before a present one keeps the positions of the later ones.
_R = np.random.default_rng(30)
_X = _R.standard_normal((2, 3, 4, 5)).astype(np.float32)
_POS = np.abs(_X) + 0.1
_I64 = lambda *v: np.array(v, np.int64)  # noqa: E731
_W = lambda *shape: _X.reshape(-1)[: np.prod(shape)].reshape(shape)  # noqa: E731

_F32 = lambda *v: np.array(v, np.float32)  # noqa: E731
_NONE = np.zeros(0, np.float32)
_CTM = "coordinate_transformation_mode"

HOST_CASES: list[tuple[str, dict[str, np.ndarray], dict[str, Any], int]] = [
    ("LRN", {"x": _X}, {"size": 3}, OPSET),
    ("LRN", {"x": _X}, {"size": 5, "alpha": 0.001, "beta": 0.5, "bias": 2.0}, OPSET),
    ("Pad", {"x": _X, "pads": _I64(0, 1, 2, 0, 0, 2, 1, 1)}, {}, OPSET),
    (
        "Pad",
        {"x": _X, "pads": _I64(0, 0, 1, 2, 0, 0, 2, 1), "v": np.array(1.5, np.float32)},
        {},
        OPSET,
    ),
    ("Pad", {"x": _X, "pads": _I64(0, 0, 2, 3, 0, 0, 1, 2)}, {"mode": "reflect"}, OPSET),
    ("Pad", {"x": _X, "pads": _I64(0, 0, 2, 3, 0, 0, 1, 2)}, {"mode": "edge"}, OPSET),
    ("Pad", {"x": _X, "pads": _I64(0, 0, -1, 1, 0, 0, 1, -2)}, {}, OPSET),
    ("Pad", {"x": _X}, {"pads": [0, 0, 1, 1, 0, 0, 1, 1], "value": 2.0}, 10),
    ("ReduceMean", {"x": _X, "axes": _I64(1, -1)}, {}, 18),
    ("ReduceMean", {"x": _X}, {"axes": [2], "keepdims": 0}, 13),
    ("ReduceSum", {"x": _X, "axes": _I64(0, 2)}, {"keepdims": 0}, 13),
    ("ReduceSum", {"x": _X}, {}, 13),
    ("ReduceMax", {"x": _X, "axes": _I64(3)}, {}, 18),
    ("ReduceMax", {"x": _X}, {"axes": [1, 2], "keepdims": 0}, 13),
    ("Exp", {"x": _X}, {}, OPSET),
    ("Log", {"x": _POS}, {}, OPSET),
    ("Sqrt", {"x": _POS}, {}, OPSET),
    ("Abs", {"x": _X}, {}, OPSET),
    ("Neg", {"x": _X}, {}, OPSET),
    ("Erf", {"x": _X}, {}, OPSET),
    ("Max", {"a": _X, "b": _X[0, 0], "c": _X[1, 2, 3]}, {}, OPSET),
    ("Min", {"a": _X, "b": _X[1]}, {}, OPSET),
    ("Pow", {"a": _POS, "b": _F32(0.5, 2.0, -1.0, 3.0, 1.5)}, {}, OPSET),
    (
        "Slice",
        {"x": _X, "s": _I64(1, -4), "e": _I64(3, 100), "a": _I64(1, 3), "st": _I64(1, 2)},
        {},
        OPSET,
    ),
    (
        "Slice",
        {"x": _X, "s": _I64(-1, 10), "e": _I64(-100, 0), "a": _I64(3, 2), "st": _I64(-2, -1)},
        {},
        OPSET,
    ),
    ("Slice", {"x": _X}, {"starts": [1, 0], "ends": [2, 3], "axes": [0, 3]}, 9),
    ("Split", {"x": _X, "split": _I64(2, 3)}, {"axis": 3, "_outs": 2}, OPSET),
    ("Split", {"x": _X}, {"axis": 1, "_outs": 3}, 13),
    ("Split", {"x": _X}, {"axis": 3, "num_outputs": 2, "_outs": 2}, 18),
    ("Squeeze", {"x": _X[:, :1, :, :1], "axes": _I64(1, -1)}, {}, OPSET),
    ("Squeeze", {"x": _X[:1, :1]}, {}, OPSET),
    ("Unsqueeze", {"x": _X[0], "axes": _I64(0, -1, 2)}, {}, OPSET),
    ("Unsqueeze", {"x": _X[0]}, {"axes": [1]}, 11),
    ("HardSigmoid", {"x": _X}, {"alpha": 0.3, "beta": 0.4}, OPSET),
    ("HardSigmoid", {"x": _X}, {}, OPSET),
    ("HardSwish", {"x": _X * 4}, {}, OPSET),
    ("LayerNormalization", {"x": _X, "s": _X[0, 0, 0], "b": _X[1, 1, 1]}, {}, OPSET),
    ("LayerNormalization", {"x": _X, "s": _X[0]}, {"axis": 1, "epsilon": 0.1, "_outs": 3}, OPSET),
    ("ConvTranspose", {"x": _X, "w": _X[:, :, :3, :3].transpose(1, 0, 2, 3)}, {}, OPSET),
    (
        "ConvTranspose",
        {"x": _X, "w": _W(3, 2, 3, 2), "b": _F32(0.5, -1, 2, 0.25, 1, -0.5)},
        {"strides": [2, 3], "pads": [1, 0, 0, 1], "output_padding": [1, 2], "group": 3},
        OPSET,
    ),
    (
        "ConvTranspose",
        {"x": _X, "w": _W(3, 1, 2, 2)},
        {"strides": [2, 2], "dilations": [2, 1], "auto_pad": "SAME_LOWER", "group": 3},
        OPSET,
    ),
    (
        "ConvTranspose",
        {"x": _X, "w": _X[:, :, :3].transpose(1, 0, 2, 3)},
        {"output_shape": [6, 8]},
        OPSET,
    ),
    ("Softplus", {"x": _X * 30}, {}, OPSET),
    ("LogSoftmax", {"x": _X}, {}, OPSET),
    ("LogSoftmax", {"x": _X}, {"axis": 1}, OPSET),
    ("Hardmax", {"x": _X}, {}, OPSET),
    ("Hardmax", {"x": np.round(_X)}, {"axis": 1}, OPSET),  # ties: the first maximum wins
    ("Hardmax", {"x": np.round(_X)}, {"axis": -4}, OPSET),
    ("Resize", {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 2, 1.5)}, {"mode": "nearest"}, OPSET),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 0.5, 0.6)},
        {"mode": "nearest", "nearest_mode": "floor", _CTM: "asymmetric"},
        OPSET,
    ),
    ("Resize", {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 2, 3)}, {"mode": "linear"}, OPSET),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 1.7, 0.6)},
        {"mode": "linear", _CTM: "align_corners"},
        OPSET,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 1.7, 0.6)},
        {"mode": "linear", _CTM: "pytorch_half_pixel"},
        OPSET,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "_sc": _NONE, "sz": _I64(2, 3, 7, 3)},
        {"mode": "linear", _CTM: "asymmetric"},
        OPSET,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "_sc": _NONE, "sz": _I64(2, 3, 9, 11)},
        {"mode": "nearest", "nearest_mode": "round_prefer_ceil", _CTM: "half_pixel"},
        OPSET,
    ),
    ("Gather", {"x": _X, "i": _I64(2, 0, -1)}, {"axis": 3}, OPSET),
    ("Gather", {"x": _X, "i": np.array([[1, 0], [0, 1]], np.int64)}, {}, OPSET),
    ("Expand", {"x": _X[0, :, :1], "s": _I64(2, 1, 3, 4, 5)}, {}, OPSET),
    ("Where", {"c": _X > 0, "a": _X, "b": _X[0, 0, 0]}, {}, OPSET),
    ("Equal", {"a": _I64(1, 2, 3), "b": _I64(1, 5, 3)}, {}, OPSET),
    ("Cast", {"x": _X * 10}, {"to": TensorProto.INT32}, OPSET),
    ("Cast", {"x": _I64(0, 3, -2)}, {"to": TensorProto.FLOAT}, OPSET),
    ("Cast", {"x": _I64(0, 3, -2)}, {"to": TensorProto.BOOL}, OPSET),
    ("CastLike", {"x": _X * 10, "like": _I64(1)}, {}, OPSET),
    # beyond the required list: every other kernel of fvir.onnxops
    ("MatMul", {"a": _X, "b": _X[0, 0].T}, {}, OPSET),
    ("Size", {"x": _X}, {}, OPSET),
    ("Constant", {}, {"value_ints": [3, -1, 4]}, OPSET),
    ("InstanceNormalization", {"x": _X, "s": _F32(1, 2, 3), "b": _F32(0, 1, -1)}, {}, OPSET),
    ("Softmax", {"x": _X}, {"axis": 2}, OPSET),
    ("ReduceMin", {"x": _X, "axes": _I64(1)}, {"keepdims": 0}, 18),
    # reducing an empty set: the lowest (ReduceMax) or highest (ReduceMin) value of the type
    ("ReduceMax", {"x": np.zeros((2, 0, 4), np.float32), "axes": _I64(1)}, {}, 18),
    ("ReduceMin", {"x": np.zeros((2, 0, 4), np.float32), "axes": _I64(1)}, {}, 18),
    ("ReduceMax", {"x": np.zeros((2, 0), np.int32), "axes": _I64(1)}, {"keepdims": 0}, 18),
    ("ReduceMin", {"x": np.zeros((0, 3), np.int64)}, {"keepdims": 0}, 18),
    ("ReduceProd", {"x": _X, "axes": _I64(-1)}, {}, 18),
    ("ReduceMean", {"x": _X, "axes": _I64()}, {"noop_with_empty_axes": 1}, 18),
    ("ArgMax", {"x": _X}, {"axis": 1}, OPSET),
    ("ArgMax", {"x": np.round(_X)}, {"axis": -1, "keepdims": 0, "select_last_index": 1}, OPSET),
    ("ArgMin", {"x": np.round(_X)}, {"axis": 2, "select_last_index": 0}, OPSET),
    ("Pad", {"x": _X, "pads": _I64(0, 0, 2, 3, 0, 0, 1, 2)}, {"mode": "wrap"}, 19),
    (
        "Pad",
        {"x": _X, "pads": _I64(1, 2, 0, 1), "v": np.array(0.5, np.float32), "ax": _I64(1, 3)},
        {},
        18,
    ),
    ("Reshape", {"x": _X, "s": _I64(0, -1, 5)}, {}, OPSET),
    ("Flatten", {"x": _X}, {"axis": 3}, OPSET),
    ("Transpose", {"x": _X}, {"perm": [3, 1, 0, 2]}, OPSET),
    ("Transpose", {"x": _X}, {}, OPSET),
    ("Concat", {"a": _X, "b": _X[:, :2]}, {"axis": 1}, OPSET),
    ("Tile", {"x": _X[0], "r": _I64(2, 1, 3)}, {}, OPSET),
    ("Shape", {"x": _X}, {}, OPSET),
    ("Shape", {"x": _X}, {"start": 1, "end": -1}, OPSET),
    ("ConstantOfShape", {"s": _I64(2, 3)}, {}, OPSET),
    (
        "Range",
        {"a": np.array(1, np.int64), "b": np.array(9, np.int64), "c": np.array(3, np.int64)},
        {},
        OPSET,
    ),
    (
        "Range",
        {
            "a": np.array(1.5, np.float32),
            "b": np.array(-2, np.float32),
            "c": np.array(-0.5, np.float32),
        },
        {},
        OPSET,
    ),
    ("Identity", {"x": _X}, {}, OPSET),
    ("Dropout", {"x": _X}, {"_outs": 2}, OPSET),
    ("Reciprocal", {"x": _POS}, {}, OPSET),
    ("Floor", {"x": _X * 3}, {}, OPSET),
    ("Ceil", {"x": _X * 3}, {}, OPSET),
    ("Sign", {"x": np.round(_X)}, {}, OPSET),
    ("Sin", {"x": _X}, {}, OPSET),
    ("Cos", {"x": _X}, {}, OPSET),
    ("Relu", {"x": _X}, {}, OPSET),
    ("Sigmoid", {"x": _X}, {}, OPSET),
    ("Tanh", {"x": _X}, {}, OPSET),
    ("Softsign", {"x": _X}, {}, OPSET),
    ("Not", {"x": _X > 0}, {}, OPSET),
    ("Elu", {"x": _X}, {"alpha": 0.5}, OPSET),
    ("Selu", {"x": _X}, {}, OPSET),
    ("LeakyRelu", {"x": _X}, {}, OPSET),
    ("ThresholdedRelu", {"x": _X}, {"alpha": 0.3}, OPSET),
    ("PRelu", {"x": _X, "slope": _F32(0.1, 0.2, 0.3, 0.4, 0.5)}, {}, OPSET),
    ("Gelu", {"x": _X}, {}, OPSET),
    ("Gelu", {"x": _X}, {"approximate": "tanh"}, OPSET),
    (
        "Clip",
        {"x": _X, "lo": np.array(-0.5, np.float32), "hi": np.array(0.2, np.float32)},
        {},
        OPSET,
    ),
    ("Clip", {"x": _X, "_lo": _NONE, "hi": np.array(0.2, np.float32)}, {}, OPSET),
    (
        "Clip",
        {"x": _X, "lo": np.array(1.0, np.float32), "hi": np.array(0.2, np.float32)},
        {},
        OPSET,
    ),
    ("Clip", {"x": _X}, {"min": -0.1, "max": 0.1}, 6),
    ("Add", {"a": _X, "b": _X[0, 0]}, {}, OPSET),
    ("Sub", {"a": _X, "b": _X[1]}, {}, OPSET),
    ("Mul", {"a": _X, "b": _X[:, :, :1]}, {}, OPSET),
    ("Div", {"a": _X, "b": _POS[0]}, {}, OPSET),
    (
        "Div",
        {"a": np.array([7, -7, 9, -1], np.int64), "b": np.array([2, 2, -4, 3], np.int64)},
        {},
        OPSET,
    ),
    (
        "Mod",
        {"a": np.array([7, -7, 9, -1], np.int64), "b": np.array([2, 2, -4, 3], np.int64)},
        {},
        OPSET,
    ),
    ("Mod", {"a": _X * 5, "b": _POS[0]}, {"fmod": 1}, OPSET),
    ("Sum", {"a": _X, "b": _X[0], "c": _X[0, 0]}, {}, OPSET),
    ("Mean", {"a": _X, "b": _X[1], "c": _POS}, {}, OPSET),
    ("Less", {"a": _X, "b": _X[0]}, {}, OPSET),
    ("LessOrEqual", {"a": np.round(_X), "b": np.round(_X[1])}, {}, OPSET),
    ("Greater", {"a": _X, "b": _X[0]}, {}, OPSET),
    ("GreaterOrEqual", {"a": np.round(_X), "b": np.round(_X[1])}, {}, OPSET),
    ("And", {"a": _X > 0, "b": _X[0] > 0.5}, {}, OPSET),
    ("Or", {"a": _X > 0, "b": _X[0] > 0.5}, {}, OPSET),
    ("Xor", {"a": _X > 0, "b": _X[0] > 0.5}, {}, OPSET),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 1.5, 0.7)},
        {"mode": "linear", _CTM: "half_pixel_symmetric"},
        19,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 3, 2)},
        {"mode": "nearest", "nearest_mode": "round_prefer_floor", _CTM: "asymmetric"},
        OPSET,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(1, 1, 1.5, 2.5)},
        {"mode": "nearest", "nearest_mode": "ceil", _CTM: "align_corners"},
        OPSET,
    ),
    (
        "Resize",
        {"x": _X, "roi": _NONE, "sc": _F32(2, 2.5)},
        {"mode": "linear", "axes": [2, 3]},
        OPSET,
    ),
]


@pytest.mark.parametrize(
    ("op_type", "inputs", "attrs", "opset"),
    HOST_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(HOST_CASES)],
)
def test_host_op(op_type: str, inputs: dict[str, np.ndarray], attrs: dict, opset: int) -> None:
    attrs = dict(attrs)
    n_out = attrs.pop("_outs", 1)
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op_type, ["" if n[0] == "_" else n for n in inputs], outs, **attrs)
    feeds = {n: a for n, a in inputs.items() if n[0] != "_"}
    want = ort_run(node, feeds, outs, opset)
    arrays = list(inputs.values())
    module = build(
        arrays,
        lambda *v: list(
            dnn.HostOp(op_type, list(v), [ttype(w.shape, w.dtype) for w in want], attrs).results
        ),
    )
    check(run(module, {}, arrays), want)


def test_every_host_op_is_tested() -> None:
    assert set(onnxops.OPS) == {case[0] for case in HOST_CASES}


# ------------------------------------------------------------------------------ errors


def _two_input_module() -> ModuleOp:
    a, b = np.zeros((2, 3), np.float32), np.zeros((3,), np.float32)
    return build([a, b], dnn.AddOp, names=["left", "right"])


def test_inputs_by_name_and_position() -> None:
    rng = np.random.default_rng(40)
    a, b = rand(rng, 2, 3), rand(rng, 3)
    module = _two_input_module()
    check(run(module, {}, {"right": b, "left": a}), [a + b])
    check(run(module, {}, [a, b]), [a + b])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([np.zeros((2, 3), np.float32)], "takes 2 input"),
        ([np.zeros((2, 4), np.float32), np.zeros(3, np.float32)], "input 'left' has shape 2x4"),
        ([np.zeros((2, 3)), np.zeros(3, np.float32)], "input 'left' has dtype float64"),
        ({"left": np.zeros((2, 3), np.float32)}, "missing model input"),
        (
            {"left": np.zeros((2, 3), np.float32), "right": np.zeros(3, np.float32), "x": 1},
            "unknown",
        ),
    ],
)
def test_input_errors(inputs: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        run(_two_input_module(), {}, inputs)


def test_missing_and_misshapen_weight() -> None:
    x = np.zeros((2,), np.float32)
    module = build([x], lambda xv: dnn.AddOp(xv, dnn.WeightOp("w", ttype((2,)))))
    with pytest.raises(UserError, match="weight 'w' is missing"):
        run(module, {}, [x])
    with pytest.raises(UserError, match="weight 'w' has shape 3"):
        run(module, {"w": np.zeros(3, np.float32)}, [x])


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"mode": "cubic"}, "Resize mode 'cubic'"),
        ({"coordinate_transformation_mode": "tf_crop_and_resize"}, "tf_crop_and_resize"),
        ({"antialias": 1, "mode": "linear"}, "antialias"),
    ],
)
def test_unimplemented_host_attributes_are_user_errors(attrs: dict, message: str) -> None:
    """Hand-written IR may ask a host op for what its numpy function does not implement (the
    importer refuses such nodes): one line, not a NotImplementedError."""
    x, scales = np.zeros((1, 1, 2, 2), np.float32), np.array([1, 1, 2, 2], np.float32)
    empty = np.zeros(0, np.float32)
    module = build(
        [x, empty, scales],
        lambda *v: dnn.HostOp("Resize", list(v), [ttype((1, 1, 4, 4))], attrs),
    )
    with pytest.raises(UserError, match=f"fvir does not support .*{message}"):
        run(module, {}, [x, empty, scales])


def test_unknown_host_op() -> None:
    x = np.zeros((2,), np.float32)
    module = build([x], lambda xv: dnn.HostOp("NoSuchOp", [xv], [ttype((2,))]))
    with pytest.raises(UserError, match="ONNX op 'NoSuchOp' has no numpy implementation"):
        run(module, {}, [x])
