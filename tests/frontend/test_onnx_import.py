"""The ONNX importer, mapping by mapping: small models built with onnx.helper are imported and
the resulting dnn IR is checked for its ops, properties and static shapes.

Expected shapes and values come from hand computation, from ONNX's own shape inference on the
original model, or from onnxruntime (numerical checks run the imported module through the
reference executor and compare with onnxruntime on the original model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType, f16, f32, f64
from xdsl.ir import Operation

from fvir import onnxops
from fvir.errors import UserError
from fvir.frontend import load
from fvir.frontend.load import skeleton
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.ir import dnn

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------ helpers


def vi(name: str, shape: Sequence[int | str | None] | None, elem: int = F) -> onnx.ValueInfoProto:
    """A typed value; shape None: no type at all (`model` infers an output's)."""
    if shape is None:
        return onnx.ValueInfoProto(name=name)
    return helper.make_tensor_value_info(name, elem, shape)


def init(name: str, array: Any) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    inits: Sequence[onnx.TensorProto] = (),
    opset: int = 17,
    ir_version: int | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), "test_graph", list(inputs), list(outputs), list(inits))
    kwargs = {} if ir_version is None else {"ir_version": ir_version}
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kwargs)
    if any(not o.HasField("type") for o in m.graph.output):
        # The checker wants typed outputs: take them from ONNX shape inference.
        inferred = {o.name: o for o in onnx.shape_inference.infer_shapes(m).graph.output}
        for o in m.graph.output:
            if not o.HasField("type"):
                o.CopyFrom(inferred[o.name])
    onnx.checker.check_model(m)
    return m


def body(imported: ImportedModel) -> list[Operation]:
    (fn,) = imported.module.ops
    assert isinstance(fn, func.FuncOp)
    return list(fn.body.block.ops)


def compute_ops(imported: ImportedModel) -> list[str]:
    """Op names of the function body, without weights, constants and the return."""
    skip = {"dnn.weight", "dnn.constant", "func.return"}
    return [op.name for op in body(imported) if op.name not in skip]


def only(imported: ImportedModel, cls: type[Operation]) -> Any:
    (op,) = [op for op in body(imported) if isinstance(op, cls)]
    return op


def result_shapes(imported: ImportedModel) -> list[tuple[int, ...]]:
    ret = body(imported)[-1]
    return [tuple(v.type.get_shape()) for v in ret.operands]


def onnx_shapes(m: onnx.ModelProto) -> list[tuple[int, ...]]:
    """Output shapes by ONNX's shape inference: an oracle independent of the importer."""
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    out = []
    for o in inferred.graph.output:
        dims = o.type.tensor_type.shape.dim
        out.append(tuple(d.dim_value for d in dims))
    return out


def ints(attr: Any) -> list[int]:
    return [int(v) for v in attr.get_values()]


def run_both(
    m: onnx.ModelProto, feeds: dict[str, np.ndarray], imported: ImportedModel | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Outputs of the imported module (reference executor) and of onnxruntime."""
    reference = pytest.importorskip("fvir.reference.int8")
    ort = pytest.importorskip("onnxruntime")
    imported = imported or import_model(m)
    ours = reference.run(
        imported.module, imported.weights, [feeds[n] for n in imported.input_names]
    )
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, feeds)
    return list(ours), list(theirs)


def assert_close(m: onnx.ModelProto, feeds: dict[str, np.ndarray], **kw: Any) -> None:
    ours, theirs = run_both(m, feeds)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=kw.get("rtol", 1e-4), atol=kw.get("atol", 1e-5))


# --------------------------------------------------------------------- module structure


def test_module_structure_and_names() -> None:
    w = rand(4, 3, 3, 3)
    m = model(
        [
            helper.make_node("Conv", ["image", "conv.w"], ["/conv/Conv_output_0"], pads=[1] * 4),
            helper.make_node("Relu", ["/conv/Conv_output_0"], ["probs"]),
        ],
        [vi("image", [1, 3, 8, 8])],
        [vi("probs", [1, 4, 8, 8])],
        [init("conv.w", w)],
    )
    imported = import_model(m, name="tiny")
    module = imported.module
    assert isinstance(module, ModuleOp)
    assert module.attributes["dnn.model"].data == "tiny"
    (fn,) = module.ops
    assert isinstance(fn, func.FuncOp) and fn.sym_name.data == "main"
    assert [a.data for a in fn.attributes["dnn.input_names"].data] == ["image"]
    assert [a.data for a in fn.attributes["dnn.output_names"].data] == ["probs"]
    assert imported.input_names == ["image"] and imported.output_names == ["probs"]
    assert fn.body.block.args[0].name_hint == "image"
    weight = only(imported, dnn.WeightOp)
    assert weight.sym.data == "conv.w"
    assert weight.output.name_hint == "conv.w"
    conv = only(imported, dnn.Conv2dOp)
    # '/' is not allowed in SSA names; a trailing _N is kept as .N (xDSL strips _N suffixes).
    assert conv.output.name_hint == "conv_Conv_output.0"
    assert list(imported.weights) == ["conv.w"]
    np.testing.assert_array_equal(imported.weights["conv.w"], w)
    imported.weights.check(module)
    text = str(module)
    assert 'dnn.weight "conv.w"' in text and "%image" in text and "%probs" in text
    assert "dense<" not in text  # weights by reference, never inlined


def test_default_module_name_is_the_graph_name() -> None:
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])])
    assert import_model(m).module.attributes["dnn.model"].data == "test_graph"


def test_numeric_value_names_get_a_letter() -> None:
    m = model([helper.make_node("Relu", ["0"], ["1"])], [vi("0", [2])], [vi("1", [2])])
    imported = import_model(m)
    assert imported.input_names == ["0"]
    assert only(imported, dnn.ReluOp).output.name_hint == "v1"


def test_initializers_listed_as_inputs_are_weights() -> None:
    # IR version 3 requires every initializer to be a graph input as well.
    w = rand(3, 2)
    m = model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [vi("x", [1, 3]), vi("w", [3, 2])],
        [vi("y", [1, 2])],
        [init("w", w)],
        opset=9,
        ir_version=3,
    )
    imported = import_model(m)
    assert imported.input_names == ["x"]
    (fn,) = imported.module.ops
    assert len(fn.body.block.args) == 1
    assert only(imported, dnn.WeightOp).sym.data == "w"


def test_one_weight_per_initializer_placed_before_first_use() -> None:
    b = rand(4)
    m = model(
        [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Add", ["r", "b"], ["s"]),
            helper.make_node("Mul", ["s", "b"], ["y"]),
        ],
        [vi("x", [2, 4])],
        [vi("y", [2, 4])],
        [init("b", b)],
    )
    names = [op.name for op in body(import_model(m))]
    assert names == ["dnn.relu", "dnn.weight", "dnn.add", "dnn.mul", "func.return"]


def test_unused_initializers_are_not_stored() -> None:
    m = model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [vi("x", [2])],
        [vi("y", [2])],
        [init("unused", rand(3))],
    )
    assert len(import_model(m).weights) == 0


def test_graph_output_that_is_an_input_or_initializer() -> None:
    m = model([], [vi("x", [2])], [vi("x", [2]), vi("c", [3])], [init("c", rand(3))])
    imported = import_model(m)
    assert result_shapes(imported) == [(2,), (3,)]
    assert imported.output_names == ["x", "c"]


# ------------------------------------------------------------------------- element types


@pytest.mark.parametrize(
    ("elem", "dtype", "xdsl_type"),
    [
        (TensorProto.FLOAT, np.float32, f32),
        (TensorProto.FLOAT16, np.float16, f16),
        (TensorProto.DOUBLE, np.float64, f64),
        (TensorProto.INT8, np.int8, IntegerType(8)),
        (TensorProto.INT16, np.int16, IntegerType(16)),
        (TensorProto.INT32, np.int32, IntegerType(32)),
        (TensorProto.INT64, np.int64, IntegerType(64)),
        (TensorProto.UINT8, np.uint8, IntegerType(8, Signedness.UNSIGNED)),
        (TensorProto.UINT16, np.uint16, IntegerType(16, Signedness.UNSIGNED)),
        (TensorProto.UINT32, np.uint32, IntegerType(32, Signedness.UNSIGNED)),
        (TensorProto.UINT64, np.uint64, IntegerType(64, Signedness.UNSIGNED)),
    ],
)
@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_element_types(elem: int, dtype: Any, xdsl_type: Any, op: str) -> None:
    m = model(
        [helper.make_node(op, ["a", "b"], ["y"])],
        [vi("a", [3, 4], elem), vi("b", [4], elem)],
        [vi("y", [3, 4], elem)],
    )
    imported = import_model(m)
    ty = only(imported, dnn.AddOp if op == "Add" else dnn.MulOp).output.type
    assert ty == TensorType(xdsl_type, [3, 4])
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:  # values over the whole range, so the narrow types wrap around
        a = RNG.integers(info.min, info.max, (3, 4), dtype=dtype, endpoint=True)
        b = np.array([1, 2, 3, 100], dtype)
    else:
        a, b = np.ones((3, 4), dtype) * 1.5, np.arange(4).astype(dtype)
    ours, theirs = run_both(m, {"a": a, "b": b}, imported)
    assert ours[0].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours[0], theirs[0])


def test_unsupported_input_element_type() -> None:
    m = model(
        [helper.make_node("Identity", ["s"], ["y"])],
        [vi("s", [1], TensorProto.STRING)],
        [vi("y", [1], TensorProto.STRING)],
    )
    with pytest.raises(UserError, match=r"^input 's' has unsupported element type STRING$"):
        import_model(m)


# --------------------------------------------------------------------- input shapes


def test_input_shapes_resolve_symbolic_dims() -> None:
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 3])], [vi("y", ["N", 3])])
    assert result_shapes(import_model(m, {"x": [5, 3]})) == [(5, 3)]


def test_symbolic_dims_without_shape_are_an_error() -> None:
    m = model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [vi("x", ["batch", 3, None, 224])],
        [vi("y", None)],
    )
    with pytest.raises(UserError) as exc:
        import_model(m)
    assert str(exc.value) == (
        "input 'x' has dynamic shape [batch, 3, ?, 224]; give a static one with --shape x=1x3x1x224"
    )


def test_input_shape_must_match_static_dims() -> None:
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1, 3])], [vi("y", [1, 3])])
    with pytest.raises(UserError, match="conflicts with its static shape 1x3"):
        import_model(m, {"x": [1, 4]})
    with pytest.raises(UserError, match="has rank 1, but the model's input has rank 2"):
        import_model(m, {"x": [3]})
    assert result_shapes(import_model(m, {"x": (1, 3)})) == [(1, 3)]


# ------------------------------------------------------------------------ convolution


@pytest.mark.parametrize(
    ("attrs", "size", "pads"),
    [
        ({"pads": [1, 2, 1, 2]}, 8, [1, 2, 1, 2]),
        ({"strides": [2, 2]}, 8, [0, 0, 0, 0]),
        ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, 8, [2, 2, 2, 2]),
        # SAME: out = ceil(8 / 2) = 4, total pad = (4 - 1) * 2 + 3 - 8 = 1.
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, 8, [0, 0, 1, 1]),
        ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, 8, [1, 1, 0, 0]),
        # out = ceil(7 / 2) = 4, total = 3 * 2 + 3 - 7 = 2.
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, 7, [1, 1, 1, 1]),
        ({"auto_pad": "VALID"}, 8, [0, 0, 0, 0]),
    ],
)
def test_conv_padding_modes(attrs: dict[str, Any], size: int, pads: list[int]) -> None:
    m = model(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], **attrs)],
        [vi("x", [1, 2, size, size])],
        [vi("y", None)],
        [init("w", rand(4, 2, 3, 3)), init("b", rand(4))],
    )
    imported = import_model(m)
    conv = only(imported, dnn.Conv2dOp)
    assert ints(conv.pads) == pads
    assert conv.bias is not None
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": rand(1, 2, size, size)})


def test_grouped_conv() -> None:
    m = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], group=4, pads=[1, 1, 1, 1])],
        [vi("x", [1, 4, 5, 5])],
        [vi("y", [1, 8, 5, 5])],
        [init("w", rand(8, 1, 3, 3))],
    )
    imported = import_model(m)
    assert only(imported, dnn.Conv2dOp).groups == 4
    assert_close(m, {"x": rand(1, 4, 5, 5)})


def test_conv1d_is_a_2d_conv_between_reshapes() -> None:
    m = model(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 0], strides=[2])],
        [vi("x", [1, 2, 10])],
        [vi("y", None)],
        [init("w", rand(3, 2, 3)), init("b", rand(3))],
    )
    imported = import_model(m)
    conv = only(imported, dnn.Conv2dOp)
    assert ints(conv.pads) == [0, 1, 0, 0] and ints(conv.strides) == [1, 2]
    assert result_shapes(imported) == onnx_shapes(m) == [(1, 3, 5)]
    assert_close(m, {"x": rand(1, 2, 10)})


def test_zero_pad_is_folded_into_conv() -> None:
    m = model(
        [
            helper.make_node("Pad", ["x", "pads"], ["p"]),
            helper.make_node("Conv", ["p", "w"], ["y"], pads=[1, 1, 1, 1]),
        ],
        [vi("x", [1, 2, 6, 6])],
        [vi("y", None)],
        [init("pads", np.array([0, 0, 2, 1, 0, 0, 0, 3], np.int64)), init("w", rand(3, 2, 3, 3))],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.conv2d"]
    # ONNX pads [x1_begin, x2_begin, x1_end, x2_end] add up: [1+2, 1+1, 1+0, 1+3].
    assert ints(only(imported, dnn.Conv2dOp).pads) == [3, 2, 1, 4]
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": rand(1, 2, 6, 6)})


def test_pad_before_max_pool_stays_a_host_op() -> None:
    # Zero padding is not -inf padding: folding it into a max pool would change the result.
    m = model(
        [
            helper.make_node("Pad", ["x", "pads"], ["p"]),
            helper.make_node("MaxPool", ["p"], ["y"], kernel_shape=[2, 2]),
        ],
        [vi("x", [1, 1, 4, 4])],
        [vi("y", None)],
        [init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.host", "dnn.pool2d"]
    assert only(imported, dnn.HostOp).op_type.data == "Pad"
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": -np.abs(rand(1, 1, 4, 4))})


# ---------------------------------------------------------------------------- pooling


@pytest.mark.parametrize(
    ("op", "attrs"),
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}),
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ],
)
def test_pool(op: str, attrs: dict[str, Any]) -> None:
    m = model(
        [helper.make_node(op, ["x"], ["y"], **attrs)], [vi("x", [1, 2, 8, 8])], [vi("y", None)]
    )
    imported = import_model(m)
    pool = only(imported, dnn.Pool2dOp)
    assert pool.kind.data == (dnn.PoolKind.MAX if op == "MaxPool" else dnn.PoolKind.AVG)
    assert ints(pool.kernel) == attrs["kernel_shape"]
    assert (pool.count_include_pad is not None) == bool(attrs.get("count_include_pad"))
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": rand(1, 2, 8, 8)})


def test_pool1d() -> None:
    m = model(
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3], strides=[2])],
        [vi("x", [1, 2, 9])],
        [vi("y", None)],
    )
    imported = import_model(m)
    assert ints(only(imported, dnn.Pool2dOp).kernel) == [1, 3]
    assert result_shapes(imported) == [(1, 2, 4)]
    assert_close(m, {"x": rand(1, 2, 9)})


@pytest.mark.parametrize(("op", "kind"), [("GlobalAveragePool", "avg"), ("GlobalMaxPool", "max")])
def test_global_pool(op: str, kind: str) -> None:
    m = model([helper.make_node(op, ["x"], ["y"])], [vi("x", [1, 3, 5, 5])], [vi("y", None)])
    imported = import_model(m)
    assert only(imported, dnn.GlobalPoolOp).kind.data == kind
    assert result_shapes(imported) == [(1, 3, 1, 1)]


@pytest.mark.parametrize(
    ("op", "axes", "keepdims", "opset", "want"),
    [
        ("ReduceMean", [2, 3], 1, 17, ["dnn.global_pool"]),
        ("ReduceMean", [-1, -2], 0, 17, ["dnn.global_pool", "dnn.reshape"]),
        ("ReduceMean", [2, 3], 0, 18, ["dnn.global_pool", "dnn.reshape"]),
        ("ReduceMax", [3, 2], 1, 18, ["dnn.global_pool"]),
        ("ReduceMean", [1, 2, 3], 1, 17, ["dnn.host"]),
        ("ReduceMean", [3], 1, 17, ["dnn.host"]),
    ],
)
def test_spatial_reduce_is_global_pooling(
    op: str, axes: list[int], keepdims: int, opset: int, want: list[str]
) -> None:
    """ReduceMean / ReduceMax over exactly H and W (PyTorch's adaptive pooling to 1x1) is
    global pooling; any other reduction stays a host op."""
    if opset >= 18:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
        inits = [init("axes", np.array(axes, np.int64))]
    else:
        node = helper.make_node(op, ["x"], ["y"], axes=axes, keepdims=keepdims)
        inits = []
    m = model([node], [vi("x", [1, 3, 4, 5])], [vi("y", None)], inits, opset=opset)
    imported = import_model(m)
    assert compute_ops(imported) == want
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": rand(1, 3, 4, 5)})


@pytest.mark.parametrize(
    ("op", "const", "swap", "want"),
    [
        ("Mul", np.array([0.5, 2.0, -1.0], np.float32).reshape(3, 1, 1), False, ["dnn.conv2d"]),
        ("Add", np.array([1.5], np.float32), True, ["dnn.conv2d"]),
        ("Sub", np.array([0.5, 2.0, -1.0], np.float32).reshape(1, 3, 1, 1), True, ["dnn.conv2d"]),
        ("Div", np.array(4.0, np.float32), False, ["dnn.conv2d"]),
        ("Div", np.array(4.0, np.float32), True, ["dnn.div"]),  # c / x is not affine
        ("Mul", RNG.standard_normal((1, 1, 4, 5)).astype(np.float32), False, ["dnn.mul"]),
    ],
)
def test_constant_per_channel_arithmetic_is_a_depthwise_conv(
    op: str, const: np.ndarray, swap: bool, want: list[str]
) -> None:
    """An image times (plus, minus, over) a constant of one value per channel (or a scalar)
    is a 1x1 depthwise conv, the accelerator's per-channel multiply-add."""
    inputs = ["c", "x"] if swap else ["x", "c"]
    m = model(
        [helper.make_node(op, inputs, ["y"])],
        [vi("x", [1, 3, 4, 5])],
        [vi("y", None)],
        [init("c", const)],
    )
    imported = import_model(m)
    assert compute_ops(imported) == want
    assert_close(m, {"x": rand(1, 3, 4, 5)})


@pytest.mark.parametrize(
    ("op", "shape", "attrs", "want"),
    [
        # PyTorch's slope: ACT's lookup table, on any shape
        ("HardSigmoid", [1, 3, 4, 5], {"alpha": 1 / 6}, ["dnn.hardsigmoid"]),
        ("HardSigmoid", [2, 7], {"alpha": 1 / 6}, ["dnn.hardsigmoid"]),
        # another slope: a depthwise conv to PyTorch's form first (an image), or the host
        ("HardSigmoid", [1, 3, 4, 5], {}, ["dnn.conv2d", "dnn.hardsigmoid"]),
        (
            "HardSigmoid",
            [1, 3, 4, 5],
            {"alpha": 0.25, "beta": 0.4},
            ["dnn.conv2d", "dnn.hardsigmoid"],
        ),
        ("HardSigmoid", [2, 3, 4, 5], {}, ["dnn.host"]),
        ("HardSwish", [1, 3, 4, 5], {}, ["dnn.hardswish"]),
        ("HardSwish", [2, 7], {}, ["dnn.hardswish"]),
    ],
)
def test_hard_activations_are_accelerator_ops(
    op: str, shape: list[int], attrs: dict, want: list[str]
) -> None:
    m = model([helper.make_node(op, ["x"], ["y"], **attrs)], [vi("x", shape)], [vi("y", None)])
    imported = import_model(m)
    assert compute_ops(imported) == want
    assert_close(m, {"x": rand(*shape) * 5})


def test_upsample_loads_as_resize() -> None:
    m = model(
        [helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")],
        [vi("x", [1, 2, 3, 4])],
        [vi("y", [1, 2, 6, 8])],
        [init("s", np.array([1, 1, 2, 2], np.float32))],
        opset=9,
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.host"]
    assert_close(m, {"x": rand(1, 2, 3, 4)})


def test_padded_average_pool_counts_the_folded_zeros() -> None:
    m = model(
        [
            helper.make_node("Pad", ["x", "pads"], ["p"]),
            helper.make_node("AveragePool", ["p"], ["y"], kernel_shape=[3, 3]),
        ],
        [vi("x", [1, 1, 5, 5])],
        [vi("y", None)],
        [init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))],
    )
    imported = import_model(m)
    pool = only(imported, dnn.Pool2dOp)
    assert ints(pool.pads) == [1, 1, 1, 1] and pool.count_include_pad is not None
    assert compute_ops(imported) == ["dnn.pool2d"]
    assert_close(m, {"x": rand(1, 1, 5, 5)})


# --------------------------------------------------------------------- dense and matmul


def test_gemm_is_dense() -> None:
    m = model(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5, beta=2.0)],
        [vi("x", [1, 6])],
        [vi("y", [1, 4])],
        [init("w", rand(4, 6)), init("b", rand(4))],
    )
    imported = import_model(m)
    dense = only(imported, dnn.DenseOp)
    assert dense.trans_b is not None and dense.trans_a is None
    assert dense.alpha.value.data == 0.5 and dense.beta.value.data == 2.0
    assert_close(m, {"x": rand(1, 6)})


@pytest.mark.parametrize(
    ("node", "x", "inits"),
    [
        (
            helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5, beta=2.0),
            [5, 6],
            [init("w", rand(4, 6)), init("b", rand(4))],
        ),
        (
            helper.make_node("Gemm", ["x", "w", "b"], ["y"]),
            [3, 6],
            [init("w", rand(6, 4)), init("b", rand(1, 4))],
        ),
        (helper.make_node("MatMul", ["x", "w"], ["y"]), [2, 3, 6], [init("w", rand(6, 4))]),
    ],
)
def test_dense_over_many_rows_is_a_conv_over_the_rows(node, x, inits) -> None:
    """A Gemm / MatMul of several rows by constant weights: a 1x1 conv whose pixels are the
    rows (transposes and reshapes around it), which the accelerator runs."""
    m = model([node], [vi("x", x)], [vi("y", None)], inits)
    imported = import_model(m)
    ops = compute_ops(imported)
    assert ops.count("dnn.conv2d") == 1 and "dnn.dense" not in ops and "dnn.matmul" not in ops
    assert result_shapes(imported) == onnx_shapes(m)
    assert_close(m, {"x": rand(*x)})


def test_gemm_without_bias_and_trans_a() -> None:
    m = model(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)],
        [vi("x", [6, 2])],
        [vi("y", [2, 4])],
        [init("w", rand(6, 4))],
    )
    imported = import_model(m)
    dense = only(imported, dnn.DenseOp)
    assert dense.bias is None and dense.trans_a is not None
    assert result_shapes(imported) == [(2, 4)]


def test_matmul_batched() -> None:
    m = model(
        [helper.make_node("MatMul", ["a", "w"], ["y"])],
        [vi("a", [2, 3, 4]), vi("w", [4, 5])],  # run-time weights: not a conv over the rows
        [vi("y", [2, 3, 5])],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.matmul"]
    assert_close(m, {"a": rand(2, 3, 4), "w": rand(4, 5)})


def test_matmul_of_two_activations() -> None:
    m = model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [vi("a", [2, 3, 4]), vi("b", [2, 4, 5])],
        [vi("y", [2, 3, 5])],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.matmul"]
    assert_close(m, {"a": rand(2, 3, 4), "b": rand(2, 4, 5)})


# ------------------------------------------------------------------------ elementwise


@pytest.mark.parametrize(
    ("op", "cls"), [("Add", dnn.AddOp), ("Sub", dnn.SubOp), ("Mul", dnn.MulOp), ("Div", dnn.DivOp)]
)
def test_binary_with_a_scalar_constant(op: str, cls: type[Operation]) -> None:
    m = model(
        [
            helper.make_node("Constant", [], ["two"], value_float=2.0),
            helper.make_node(op, ["x", "two"], ["y"]),
        ],
        [vi("x", [2, 3])],
        [vi("y", [2, 3])],
    )
    imported = import_model(m)
    only(imported, cls)
    const = only(imported, dnn.ConstantOp)
    assert const.value.get_values() == (2.0,)
    assert const.output.type == TensorType(f32, [])
    assert len(imported.weights) == 0
    assert_close(m, {"x": rand(2, 3)})


def test_sum_and_activations() -> None:
    m = model(
        [
            helper.make_node("Sum", ["a", "b", "c"], ["s"]),
            helper.make_node("Relu", ["s"], ["r"]),
            helper.make_node("Sigmoid", ["r"], ["g"]),
            helper.make_node("Tanh", ["g"], ["t"]),
            helper.make_node("LeakyRelu", ["t"], ["y"], alpha=0.2),
            helper.make_node("LeakyRelu", ["a"], ["z"]),
        ],
        [vi("a", [2, 3]), vi("b", [3]), vi("c", [1, 3])],
        [vi("y", [2, 3]), vi("z", [2, 3])],
    )
    imported = import_model(m)
    assert compute_ops(imported) == [
        "dnn.sum", "dnn.relu", "dnn.sigmoid", "dnn.tanh", "dnn.leaky_relu", "dnn.leaky_relu",
    ]  # fmt: skip
    alphas = [op.alpha.value.data for op in body(imported) if isinstance(op, dnn.LeakyReluOp)]
    assert alphas == [pytest.approx(0.2), 0.01]
    assert_close(m, {"a": rand(2, 3), "b": rand(3), "c": rand(1, 3)})


@pytest.mark.parametrize(
    ("opset", "bounds", "lo", "hi"),
    [
        (17, (0.0, 6.0), 0.0, 6.0),
        (17, (-1.0, None), -1.0, float(np.finfo(np.float32).max)),
        (17, (None, 2.5), -float(np.finfo(np.float32).max), 2.5),
        (9, (0.0, 6.0), 0.0, 6.0),  # attribute form, converted to inputs
    ],
)
def test_clip(opset: int, bounds: tuple[float | None, float | None], lo: float, hi: float) -> None:
    inits, names = [], ["x"]
    attrs: dict[str, float] = {}
    for name, bound in zip(("min", "max"), bounds, strict=True):
        if opset >= 11:
            names.append("" if bound is None else name)
            if bound is not None:
                inits.append(init(name, np.float32(bound)))
        elif bound is not None:
            attrs[name] = bound
    m = model(
        [helper.make_node("Clip", names, ["y"], **attrs)],
        [vi("x", [2, 3])],
        [vi("y", [2, 3])],
        inits,
        opset=opset,
    )
    imported = import_model(m)
    clip = only(imported, dnn.ClipOp)
    assert (clip.lo.value.data, clip.hi.value.data) == (lo, hi)
    assert_close(m, {"x": rand(2, 3) * 10})


def test_clip_with_run_time_bounds_is_a_host_op() -> None:
    m = model(
        [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        [vi("x", [4]), vi("lo", []), vi("hi", [])],
        [vi("y", [4])],
    )
    host = only(import_model(m), dnn.HostOp)
    assert host.op_type.data == "Clip" and len(host.inputs) == 3


# ---------------------------------------------------------------- softmax and batchnorm


def test_softmax_opset13_single_axis() -> None:
    m = model(
        [helper.make_node("Softmax", ["x"], ["y"], axis=1)],
        [vi("x", [2, 3, 4])],
        [vi("y", [2, 3, 4])],
        opset=13,
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.softmax"]
    assert only(imported, dnn.SoftmaxOp).axis.value.data == 1
    assert_close(m, {"x": rand(2, 3, 4)})


@pytest.mark.parametrize("axis", [1, None, -1, 0])  # None: the attribute's default (1)
@pytest.mark.parametrize("convert", [True, False])
def test_softmax_before_opset13_flattens(
    monkeypatch: pytest.MonkeyPatch, convert: bool, axis: int | None
) -> None:
    if not convert:  # the importer's own handling, used when the version converter fails
        monkeypatch.setattr(load, "COMMON_OPSET", 1)
    attrs = {} if axis is None else {"axis": axis}
    m = model(
        [helper.make_node("Softmax", ["x"], ["y"], **attrs)],
        [vi("x", [2, 3, 4])],
        [vi("y", [2, 3, 4])],
        opset=11,
    )
    imported = import_model(m)
    assert compute_ops(imported).count("dnn.softmax") == 1
    assert "dnn.host" not in compute_ops(imported)
    assert result_shapes(imported) == [(2, 3, 4)]
    assert_close(m, {"x": rand(2, 3, 4)})


def test_batchnorm() -> None:
    c = 3
    m = model(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
        [vi("x", [1, c, 4, 4])],
        [vi("y", [1, c, 4, 4])],
        [init("s", rand(c)), init("b", rand(c)), init("m", rand(c)), init("v", rand(c) ** 2 + 1)],
    )
    imported = import_model(m)
    bn = only(imported, dnn.BatchNormOp)
    assert bn.epsilon.value.data == 1e-3  # float32 attribute, read back as its shortest repr
    assert_close(m, {"x": rand(1, c, 4, 4)})


# ---------------------------------------------------------------------- data movement


def test_concat_reshape_flatten_transpose() -> None:
    m = model(
        [
            helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
            helper.make_node("Reshape", ["c", "shape"], ["r"]),
            helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
            helper.make_node("Flatten", ["t"], ["y"], axis=1),
        ],
        [vi("a", [2, 3, 4]), vi("b", [2, 1, 4])],
        [vi("y", None)],
        [init("shape", np.array([0, -1, 8], np.int64))],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.concat", "dnn.reshape", "dnn.transpose", "dnn.flatten"]
    assert result_shapes(imported) == onnx_shapes(m) == [(2, 16)]
    assert_close(m, {"a": rand(2, 3, 4), "b": rand(2, 1, 4)})


def test_reshape_allowzero() -> None:
    m = model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], allowzero=1)],
        [vi("x", [0, 3])],
        [vi("y", None)],
        [init("shape", np.array([3, 0], np.int64))],
        opset=14,
    )
    assert result_shapes(import_model(m)) == [(3, 0)]


@pytest.mark.parametrize("opset", [11, 13])  # axes as attribute / as input
def test_squeeze_unsqueeze_are_reshapes(opset: int) -> None:
    if opset >= 13:
        nodes = [
            helper.make_node("Unsqueeze", ["x", "ax0"], ["u"]),
            helper.make_node("Squeeze", ["u", "ax1"], ["y"]),
        ]
        inits = [init("ax0", np.array([0, -1], np.int64)), init("ax1", np.array([2], np.int64))]
    else:
        nodes = [
            helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, -1]),
            helper.make_node("Squeeze", ["u"], ["y"], axes=[2]),
        ]
        inits = []
    nodes.append(helper.make_node("Squeeze", ["y"], ["z"]))
    m = model(nodes, [vi("x", [3, 1])], [vi("y", None), vi("z", None)], inits, opset=opset)
    imported = import_model(m)
    assert set(compute_ops(imported)) == {"dnn.reshape"}
    # x: 3x1 -> unsqueeze [0, -1] -> 1x3x1x1 -> squeeze [2] -> 1x3x1 -> squeeze all -> 3
    assert result_shapes(imported) == [(1, 3, 1), (3,)]


def test_identity_and_dropout_vanish() -> None:
    m = model(
        [
            helper.make_node("Identity", ["x"], ["i"]),
            helper.make_node("Dropout", ["i"], ["d"]),
            helper.make_node("Relu", ["d"], ["y"]),
        ],
        [vi("x", [2, 2])],
        [vi("y", [2, 2])],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.relu"]
    assert only(imported, dnn.ReluOp).input is body(imported)[0].parent_block().args[0]


def test_dropout_mask_is_all_ones() -> None:
    m = model(
        [helper.make_node("Dropout", ["x"], ["y", "mask"])],
        [vi("x", [2, 2])],
        [vi("y", [2, 2]), vi("mask", [2, 2], TensorProto.BOOL)],
    )
    imported = import_model(m)
    const = only(imported, dnn.ConstantOp)
    assert const.output.type == TensorType(IntegerType(1), [2, 2])
    ours, _ = run_both(m, {"x": rand(2, 2)}, imported)
    np.testing.assert_array_equal(ours[1], np.ones((2, 2), bool))


# --------------------------------------------------------------------- constant folding


def test_shape_chain_folds_to_a_static_reshape() -> None:
    """The pattern PyTorch exports for `x.view(x.size(0), -1)`."""
    m = model(
        [
            helper.make_node("Shape", ["x"], ["shape"]),
            helper.make_node("Constant", [], ["zero"], value=init("", np.array(0, np.int64))),
            helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
            helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
            helper.make_node("Constant", [], ["minus1"], value_ints=[-1]),
            helper.make_node("Concat", ["batch1", "minus1"], ["target"], axis=0),
            helper.make_node("Reshape", ["x", "target"], ["y"]),
        ],
        [vi("x", [2, 3, 4])],
        [vi("y", None)],
        [init("axes", np.array([0], np.int64))],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.reshape"]
    assert result_shapes(imported) == [(2, 12)]
    assert len(imported.weights) == 0


def test_constant_subgraph_over_initializers_folds_into_a_weight() -> None:
    w, scale = rand(8, 3), rand(3)
    m = model(
        [
            helper.make_node("Mul", ["w", "scale"], ["w_scaled"]),
            helper.make_node("Transpose", ["w_scaled"], ["w_t"]),
            helper.make_node("MatMul", ["x", "w_t"], ["y"]),
        ],
        [vi("x", [1, 3])],
        [vi("y", [1, 8])],
        [init("w", w), init("scale", scale)],
    )
    imported = import_model(m)
    assert compute_ops(imported) == ["dnn.dense"]
    weight = only(imported, dnn.WeightOp)
    assert weight.sym.data == "w_t"
    assert list(imported.weights) == ["w_t"]
    np.testing.assert_allclose(imported.weights["w_t"], (w * scale).T)
    imported.weights.check(imported.module)


@pytest.mark.parametrize(
    ("nodes", "inits", "expected"),
    [
        (
            [
                helper.make_node(
                    "ConstantOfShape", ["s"], ["y"], value=init("", np.array([7], np.int64))
                )
            ],
            [init("s", np.array([2, 2], np.int64))],
            np.full((2, 2), 7, np.int64),
        ),
        (
            [helper.make_node("Range", ["a", "b", "c"], ["y"])],
            [
                init("a", np.array(1, np.int64)),
                init("b", np.array(8, np.int64)),
                init("c", np.array(3, np.int64)),
            ],
            np.array([1, 4, 7], np.int64),
        ),
        (
            [helper.make_node("Slice", ["d", "st", "en", "ax", "sp"], ["y"])],
            [
                init("d", np.arange(10, dtype=np.int64)),
                init("st", np.array([-2], np.int64)),
                init("en", np.array([-9223372036854775807], np.int64)),
                init("ax", np.array([0], np.int64)),
                init("sp", np.array([-3], np.int64)),
            ],
            np.array([8, 5, 2], np.int64),
        ),
        (
            [
                helper.make_node("Cast", ["f"], ["i"], to=TensorProto.INT32),
                helper.make_node("Div", ["i", "two"], ["y"]),
            ],
            [init("f", np.array([-7.5, 7.9], np.float32)), init("two", np.array(2, np.int32))],
            np.array([-3, 3], np.int32),  # cast truncates to -7, 7; division truncates too
        ),
        (
            [
                helper.make_node("Equal", ["a", "b"], ["e"]),
                helper.make_node("Where", ["e", "a", "b"], ["y"]),
            ],
            [init("a", np.array([1, 2, 3], np.int64)), init("b", np.array([1, 0, 3], np.int64))],
            np.array([1, 0, 3], np.int64),
        ),
    ],
)
def test_folding(
    nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], expected: np.ndarray
) -> None:
    m = model(nodes, [], [vi("y", None)], inits)
    imported = import_model(m)
    assert compute_ops(imported) == []
    (value,) = [op for op in body(imported) if op.name in ("dnn.constant", "dnn.weight")]
    got = np.array(value.value.get_values()).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    assert value.output.type == TensorType(
        {np.dtype(np.int64): IntegerType(64), np.dtype(np.int32): IntegerType(32)}[expected.dtype],
        list(expected.shape),
    )


def test_large_folded_constant_becomes_a_weight() -> None:
    m = model(
        [
            helper.make_node(
                "ConstantOfShape", ["s"], ["ones"], value=init("", np.array([1.0], np.float32))
            ),
            helper.make_node("Add", ["x", "ones"], ["y"]),
        ],
        [vi("x", [4, 5])],
        [vi("y", [4, 5])],
        [init("s", np.array([4, 5], np.int64))],
    )
    imported = import_model(m)
    assert only(imported, dnn.WeightOp).sym.data == "ones"
    np.testing.assert_array_equal(imported.weights["ones"], np.ones((4, 5), np.float32))


# ------------------------------------------------------------------------- recurrent


@pytest.mark.parametrize(("op", "gates"), [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_recurrent(op: str, gates: int, direction: str, layout: int) -> None:
    seq, batch, inp, hidden = 5, 2, 3, 4
    dirs = 2 if direction == "bidirectional" else 1
    n_states = 2 if op == "LSTM" else 1
    x_shape = [batch, seq, inp] if layout else [seq, batch, inp]
    h_shape = [batch, dirs, hidden] if layout else [dirs, batch, hidden]
    outs = ["Y", "Y_h", "Y_c"][: 1 + n_states]
    inputs = ["x", "W", "R", "B", "", "h0"]
    m = model(
        [
            helper.make_node(
                op, inputs, outs, hidden_size=hidden, direction=direction, layout=layout
            )
        ],
        [vi("x", x_shape), vi("h0", h_shape)],
        [vi(o, None) for o in outs],
        [
            init("W", rand(dirs, gates * hidden, inp) * 0.5),
            init("R", rand(dirs, gates * hidden, hidden) * 0.5),
            init("B", rand(dirs, 2 * gates * hidden) * 0.1),
        ],
        opset=14,
    )
    imported = import_model(m)
    cls = {"LSTM": dnn.LstmOp, "GRU": dnn.GruOp, "RNN": dnn.RnnOp}[op]
    rec = only(imported, cls)
    assert rec.hidden == hidden and rec.num_directions == dirs
    # layout 1: X and initial_h in, Y and every state out.
    assert compute_ops(imported).count("dnn.transpose") == (2 + 1 + n_states if layout else 0)
    assert result_shapes(imported) == onnx_shapes(m)
    feeds = {"x": rand(*x_shape), "h0": rand(*h_shape)}
    if not layout:
        assert_close(m, feeds)
        return
    # onnxruntime has no layout 1: run the layout-0 model on transposed data instead.
    m0 = onnx.ModelProto()
    m0.CopyFrom(m)
    m0.graph.node[0].attribute.remove(
        next(a for a in m0.graph.node[0].attribute if a.name == "layout")
    )
    for value, shape in zip(
        m0.graph.input, ([seq, batch, inp], [dirs, batch, hidden]), strict=True
    ):
        value.CopyFrom(vi(value.name, shape))
    del m0.graph.output[:]
    m0.graph.output.extend(vi(o, None) for o in outs)
    m0 = model(m0.graph.node, m0.graph.input, m0.graph.output, m0.graph.initializer, opset=14)
    _, theirs = run_both(
        m0, {"x": feeds["x"].transpose(1, 0, 2), "h0": feeds["h0"].transpose(1, 0, 2)}
    )
    theirs = [theirs[0].transpose(2, 0, 1, 3)] + [t.transpose(1, 0, 2) for t in theirs[1:]]
    reference = pytest.importorskip("fvir.reference.int8")
    ours = reference.run(imported.module, imported.weights, [feeds["x"], feeds["h0"]])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- host ops


def test_lrn_is_a_host_op_with_its_attributes() -> None:
    m = model(
        [helper.make_node("LRN", ["x"], ["y"], size=5, alpha=1e-4, beta=0.75, bias=2.0)],
        [vi("x", [1, 8, 4, 4])],
        [vi("y", [1, 8, 4, 4])],
    )
    imported = import_model(m)
    host = only(imported, dnn.HostOp)
    assert host.op_type.data == "LRN"
    assert host.python_attrs() == {"size": 5, "alpha": 1e-4, "beta": 0.75, "bias": 2.0}
    assert result_shapes(imported) == [(1, 8, 4, 4)]
    assert_close(m, {"x": rand(1, 8, 4, 4)})


def test_host_op_result_types_come_from_onnx_shape_inference() -> None:
    m = model(
        [
            helper.make_node("ReduceMean", ["x"], ["r"], axes=[1, 2], keepdims=0),
            helper.make_node("ArgMax", ["r"], ["y"], axis=1),
        ],
        [vi("x", [2, 3, 4, 5])],
        [vi("y", None)],
    )
    imported = import_model(m)
    r, a = [op for op in body(imported) if isinstance(op, dnn.HostOp)]
    assert r.outputs[0].type == TensorType(f32, [2, 5])
    assert a.outputs[0].type == TensorType(IntegerType(64), [2, 1])
    assert r.python_attrs() == {"axes": [1, 2], "keepdims": 0}


def test_slice_of_a_run_time_value_has_explicit_parameters() -> None:
    m = model(
        [helper.make_node("Slice", ["x", "st", "en"], ["y"])],
        [vi("x", [6, 4])],
        [vi("y", None)],
        [init("st", np.array([1], np.int64)), init("en", np.array([-1], np.int64))],
    )
    imported = import_model(m)
    host = only(imported, dnn.HostOp)
    consts = [op for op in body(imported) if isinstance(op, dnn.ConstantOp)]
    # starts, ends, axes (default: 0..n-1) and steps (default: 1) are all explicit
    assert [c.value.get_values() for c in consts] == [(1,), (-1,), (0,), (1,)]
    assert len(host.inputs) == 5
    assert result_shapes(imported) == [(4, 4)]
    assert_close(m, {"x": rand(6, 4)})


def test_resize_with_absent_roi_gets_an_empty_tensor() -> None:
    m = model(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
        [vi("x", [1, 2, 3, 3])],
        [vi("y", None)],
        [init("scales", np.array([1, 1, 2, 2], np.float32))],
    )
    imported = import_model(m)
    host = only(imported, dnn.HostOp)
    assert [v.type.get_shape() for v in host.inputs] == [(1, 2, 3, 3), (0,), (4,)]
    assert result_shapes(imported) == [(1, 2, 6, 6)]
    assert_close(m, {"x": rand(1, 2, 3, 3)})


def test_gather_of_a_run_time_value() -> None:
    m = model(
        [helper.make_node("Gather", ["x", "idx"], ["y"], axis=1)],
        [vi("x", [2, 5])],
        [vi("y", None)],
        [init("idx", np.array([[4, 0]], np.int64))],
    )
    imported = import_model(m)
    host = only(imported, dnn.HostOp)
    assert host.python_attrs() == {"axis": 1}
    assert result_shapes(imported) == onnx_shapes(m) == [(2, 1, 2)]


def test_ops_outside_the_host_table_are_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(onnxops.OPS, "LRN")  # an op with neither a translator nor a kernel
    m = model(
        [helper.make_node("LRN", ["x"], ["y"], size=3, name="norm1")],
        [vi("x", [1, 4, 2, 2])],
        [vi("y", None)],
    )
    with pytest.raises(UserError, match=r"^unsupported ONNX op 'LRN' \(node 'norm1'\)$"):
        import_model(m)


# --------------------------------------------------------------------------- bad nodes


def test_unknown_attribute_names_the_node() -> None:
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r1")], [vi("x", [2])], [vi("y", [2])])
    m.graph.node[0].attribute.append(helper.make_attribute("alpha", 1.0))
    with pytest.raises(UserError, match=r"^node 'r1' \(Relu\): unsupported attribute 'alpha'$"):
        import_model(m)


def test_shape_mismatch_names_the_node() -> None:
    m = model(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add1")],
        [vi("a", [2, 3]), vi("b", [4])],
        [vi("y", [None, None])],
    )
    with pytest.raises(UserError, match=r"^node 'add1' \(Add\): shapes \[\[2, 3\], \[4\]\] do not"):
        import_model(m)


def test_run_time_reshape_target_is_an_error() -> None:
    m = model(
        [helper.make_node("Reshape", ["x", "s"], ["y"])],
        [vi("x", [2, 3]), vi("s", [2], TensorProto.INT64)],
        [vi("y", None)],
    )
    with pytest.raises(UserError, match="'shape' must be a constant"):
        import_model(m)


def test_unused_unsupported_output_is_fine_but_a_used_one_is_not() -> None:
    bn = ["s", "b", "m", "v"]
    inits = [init(n, np.ones(2, np.float32)) for n in bn]
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2], name="mp")]
    m = model(nodes, [vi("x", [1, 2, 4, 4])], [vi("y", None)], inits)
    assert compute_ops(import_model(m)) == ["dnn.pool2d"]
    m = model(nodes, [vi("x", [1, 2, 4, 4])], [vi("y", None), vi("idx", None, TensorProto.INT64)])
    with pytest.raises(
        UserError, match=r"^node 'mp' \(MaxPool\): output 1 \('idx'\) is not supported$"
    ):
        import_model(m)


def test_training_batchnorm_is_rejected() -> None:
    m = model(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], training_mode=1)],
        [vi("x", [1, 2, 2, 2])],
        [vi("y", [1, 2, 2, 2])],
        [init(n, np.ones(2, np.float32)) for n in "sbmv"],
        opset=15,
    )
    with pytest.raises(UserError, match="training-mode BatchNormalization is not supported"):
        import_model(m)
    # Before opset 14, asking for the running mean and variance means training mode.
    m = model(
        [
            helper.make_node(
                "BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "mean", "var", "sm", "sv"]
            )
        ],
        [vi("x", [1, 2, 2, 2])],
        [vi("y", [1, 2, 2, 2])],
        [init(n, np.ones(2, np.float32)) for n in "sbmv"],
        opset=9,
    )
    with pytest.raises(UserError, match="training-mode BatchNormalization is not supported"):
        import_model(m)


# ----------------------------------------------------------------- exported-graph shapes


def test_opset9_export_imports_cleanly() -> None:
    """What older exporters emit: opset-9 BatchNormalization (test mode: one output), Sum,
    Dropout with a ratio attribute, Identity, Constant, and a Reshape whose shape tensor is
    computed by Shape -> Gather -> Unsqueeze (axes attribute) -> Concat."""
    c = 4
    nodes = [
        helper.make_node(
            "BatchNormalization", ["x", "s", "b", "m", "v"], ["bn"], epsilon=1e-5, momentum=0.9
        ),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("Sum", ["r", "x", "bn"], ["sum"]),
        helper.make_node("Dropout", ["sum"], ["drop"], ratio=0.5),
        helper.make_node("Identity", ["drop"], ["ident"]),
        helper.make_node("Shape", ["ident"], ["shape"]),
        helper.make_node("Constant", [], ["idx0"], value=init("", np.array(0, np.int64))),
        helper.make_node("Gather", ["shape", "idx0"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
        helper.make_node("Constant", [], ["rest"], value=init("", np.array([-1], np.int64))),
        helper.make_node("Concat", ["n1", "rest"], ["target"], axis=0),
        helper.make_node("Reshape", ["ident", "target"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], transB=1),
    ]  # fmt: skip
    inits = [
        init("s", rand(c)),
        init("b", rand(c)),
        init("m", rand(c)),
        init("v", rand(c) ** 2 + 1),
    ]
    inits += [init("fc_w", rand(10, c * 9)), init("fc_b", rand(10))]
    m = model(nodes, [vi("x", [1, c, 3, 3])], [vi("y", [1, 10])], inits, opset=9)
    imported = import_model(m)
    assert compute_ops(imported) == [
        "dnn.batchnorm", "dnn.relu", "dnn.sum", "dnn.reshape", "dnn.dense",
    ]  # fmt: skip
    reshape = only(imported, dnn.ReshapeOp)
    assert reshape.output.type == TensorType(f32, [1, c * 9])
    imported.weights.check(imported.module)
    assert_close(m, {"x": rand(1, c, 3, 3)})


@pytest.mark.parametrize("opset", [9, 11, 13, 17, 21])
def test_opsets_9_to_21(opset: int) -> None:
    m = model(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["f"]),
            helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"]),
            helper.make_node("Softmax", ["y"], ["prob"]),
        ],
        [vi("x", [1, 2, 4, 4])],
        [vi("prob", [1, 5])],
        [init("w", rand(3, 2, 3, 3)), init("fc", rand(12, 5)), init("fcb", rand(5))],
        opset=opset,
    )
    imported = import_model(m)
    assert compute_ops(imported) == [
        "dnn.conv2d", "dnn.relu", "dnn.pool2d", "dnn.flatten", "dnn.dense", "dnn.softmax",
    ]  # fmt: skip
    assert_close(m, {"x": rand(1, 2, 4, 4)})


def test_large_initializers_stay_out_of_the_skeleton() -> None:
    big = rand(64, 64)  # > _SKELETON_MAX elements
    m = model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [vi("x", [1, 64])],
        [vi("y", [1, 64])],
        [init("w", big)],
        opset=11,  # goes through the version converter
    )
    small, moved = skeleton(m)
    assert list(moved) == ["w"] and not small.graph.initializer
    assert [i.name for i in small.graph.input] == ["x", "w"]
    imported = import_model(m)
    np.testing.assert_array_equal(imported.weights["w"], big)


def test_model_local_functions_are_inlined() -> None:
    fn = helper.make_function(
        "custom", "ReluTwice", ["a"], ["b"],
        [helper.make_node("Relu", ["a"], ["t"]), helper.make_node("Relu", ["t"], ["b"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("ReluTwice", ["x"], ["y"], domain="custom")],
        "g",
        [vi("x", [2])],
        [vi("y", [2])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)]
    m = helper.make_model(graph, opset_imports=opsets, functions=[fn])
    onnx.checker.check_model(m)
    assert compute_ops(import_model(m)) == ["dnn.relu", "dnn.relu"]
