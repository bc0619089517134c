"""One ONNX semantics: a node on constant inputs (folded at import by `fvir.onnxops`) and the
same node on graph inputs (run by the reference executor: `dnn.host` with the same kernel, or
the dnn op it lowers to) give what onnxruntime gives, values and element type.

Each case is one ONNX node with its inputs; `runtime` names the inputs that become graph inputs
in the unfolded model (the others stay initializers, as shape parameters must for static
shapes). The folded model must import to constants only, the unfolded one must compute."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.frontend.onnx import ImportedModel, import_model
from fvir.ir import dnn
from fvir.ir.functions import main_function
from fvir.reference.executor import run

OPSET = 17
I32, I64, F32 = np.int32, np.int64, np.float32


def _model(op: str, inputs: dict[str, np.ndarray], runtime: set[str], attrs: dict[str, Any]):
    graph_inputs = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
        for n, a in inputs.items()
        if n in runtime
    ]
    inits = [numpy_helper.from_array(a, n) for n, a in inputs.items() if n not in runtime]
    node = helper.make_node(op, list(inputs), ["out"], **attrs)
    out = onnx.ValueInfoProto(name="out")  # typed by shape inference
    graph = helper.make_graph([node], "g", graph_inputs, [out], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def _compute_ops(imported: ImportedModel) -> list[str]:
    body = main_function(imported.module).body.block.ops
    skip = (dnn.WeightOp, dnn.ConstantOp)
    return [op.name for op in body if not isinstance(op, skip) and op.name != "func.return"]


def _ours(op: str, inputs: dict[str, np.ndarray], runtime: set[str], attrs: dict) -> np.ndarray:
    imported = import_model(_model(op, inputs, runtime, attrs))
    if not runtime:
        assert _compute_ops(imported) == []  # folded at import
    else:  # Shape and Size fold on run-time inputs too (static shapes)
        assert imported.input_names == [n for n in inputs if n in runtime]
    feeds = [inputs[n] for n in imported.input_names]
    (y,) = run(imported.module, imported.weights, feeds)
    return y


def _ort(op: str, inputs: dict[str, np.ndarray], attrs: dict) -> np.ndarray:
    m = _model(op, inputs, set(inputs), attrs)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, inputs)
    return y


def check(op: str, inputs: dict[str, np.ndarray], attrs: dict | None = None, runtime=None):
    """Folded, unfolded and onnxruntime agree exactly (float: to 1 ulp-ish), types included."""
    attrs = attrs or {}
    runtime = set(inputs) if runtime is None else set(runtime)
    want = _ort(op, inputs, attrs)
    for got in (_ours(op, inputs, set(), attrs), _ours(op, inputs, runtime, attrs)):
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        assert got.shape == want.shape, (got.shape, want.shape)
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
        else:
            np.testing.assert_array_equal(got, want)


def a(*values: Any, dtype: Any) -> np.ndarray:
    return np.array(values, dtype)


# ---------------------------------------------------------------------------------- Div

_BIG = 2**62 + 1  # float64 cannot hold it: trunc(a / b) in floats is off by one


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (a(7, -7, 7, -7, 0, 1, -1, dtype=I32), a(2, 2, -2, -2, 3, 3, 3, dtype=I32)),
        (a(9, -9, 100, -100, dtype=I64), a(4, 4, -7, 7, dtype=I64)),
        (a(_BIG, -_BIG, _BIG, dtype=I64), a(1, 1, 3, dtype=I64)),
        (a(200, 7, 255, dtype=np.uint8), a(3, 2, 16, dtype=np.uint8)),
        (a(7.0, -7.0, 1.0, dtype=F32), a(2.0, 2.0, 3.0, dtype=F32)),
    ],
    ids=["int32", "int64", "int64-beyond-float64", "uint8", "float32"],
)
def test_div(x: np.ndarray, y: np.ndarray) -> None:
    check("Div", {"a": x, "b": y})


# ---------------------------------------------------------------------------------- Mod


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("dtype", [I32, I64])
def test_mod_integers(fmod: int, dtype: type) -> None:
    x = a(5, -5, 5, -5, 7, -7, 0, dtype=dtype)
    y = a(3, 3, -3, -3, 7, 2, 4, dtype=dtype)
    check("Mod", {"a": x, "b": y}, {"fmod": fmod})


def test_mod_floats_fmod() -> None:
    check("Mod", {"a": a(5.5, -5.5, 5.5, -5.5, dtype=F32), "b": a(2, 2, -2, -2, dtype=F32)},
          {"fmod": 1})  # fmt: skip


# ---------------------------------------------------------------------------------- Pow


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (a(2, 3, -2, 5, dtype=I32), a(3, 2, 3, 0, dtype=I32)),
        (a(2, 3, 10, dtype=I64), a(10, 3, 15, dtype=I64)),
        (a(2, 4, 9, dtype=I64), a(-1, 0.5, 0.5, dtype=F32)),
        (a(3, 7, dtype=I32), a(2.5, 1.5, dtype=F32)),
        (a(1.5, -2.0, 4.0, dtype=F32), a(2, 3, -1, dtype=I64)),
        (a(1.5, 2.0, 4.0, dtype=F32), a(2.0, 0.5, -0.5, dtype=F32)),
    ],
    ids=["int32^int32", "int64^int64", "int64^float", "int32^float", "float^int64", "float^float"],
)
def test_pow_keeps_the_base_type(x: np.ndarray, y: np.ndarray) -> None:
    check("Pow", {"x": x, "y": y})


# --------------------------------------------------------------------------------- Cast

_FLOATS = a(1.7, -1.7, 2.5, -0.5, 0.0, 100.9, dtype=F32)


@pytest.mark.parametrize(
    ("x", "to"),
    [
        (_FLOATS, TensorProto.INT32),
        (_FLOATS, TensorProto.INT64),
        (_FLOATS, TensorProto.BOOL),
        (a(3, -2, 0, 2**24 + 1, dtype=I64), TensorProto.FLOAT),
        (a(3, -2, 0, dtype=I32), TensorProto.BOOL),
        (a(True, False, dtype=np.bool_), TensorProto.FLOAT),
        (a(True, False, dtype=np.bool_), TensorProto.INT32),
        (a(300, -1, 7, dtype=I32), TensorProto.INT64),
    ],
    ids=["f32-i32", "f32-i64", "f32-bool", "i64-f32", "i32-bool", "bool-f32", "bool-i32",
         "i32-i64"],
)
def test_cast(x: np.ndarray, to: int) -> None:
    check("Cast", {"x": x}, {"to": to})


# ---------------------------------------------------------------------------- shape ops

_X = np.arange(24, dtype=F32).reshape(2, 3, 4)
_XI = np.arange(24, dtype=I64).reshape(2, 3, 4)


@pytest.mark.parametrize(
    ("op", "inputs", "attrs", "runtime"),
    [
        ("Shape", {"x": _X}, {}, {"x"}),
        ("Shape", {"x": _X}, {"start": 1}, {"x"}),
        ("Shape", {"x": _X}, {"start": -2, "end": 10}, {"x"}),
        ("Size", {"x": _X}, {}, {"x"}),
        ("Gather", {"x": _XI, "i": a(2, 0, -1, dtype=I64)}, {"axis": 2}, {"x", "i"}),
        ("Gather", {"x": a(5, 6, 7, dtype=I64), "i": a(-1, dtype=I64)}, {}, {"x", "i"}),
        ("Unsqueeze", {"x": _X, "axes": a(0, -1, dtype=I64)}, {}, {"x"}),
        ("Squeeze", {"x": _X[:1, :, :1], "axes": a(0, 2, dtype=I64)}, {}, {"x"}),
        ("Concat", {"x": _XI, "y": _XI[:, :1]}, {"axis": 1}, {"x", "y"}),
        ("Concat", {"x": a(1, 2, dtype=I64), "y": a(-1, dtype=I64)}, {"axis": 0}, {"x", "y"}),
        ("Reshape", {"x": _X, "s": a(0, -1, 2, dtype=I64)}, {}, {"x"}),
        ("Reshape", {"x": _XI, "s": a(4, 0, -1, dtype=I64)}, {}, {"x"}),
        ("Flatten", {"x": _X}, {"axis": -1}, {"x"}),
        ("Transpose", {"x": _XI}, {"perm": [2, 0, 1]}, {"x"}),
        ("Slice", {"x": _X, "st": a(1, -1, dtype=I64), "en": a(3, -10**9, dtype=I64),
                   "ax": a(1, 2, dtype=I64), "sp": a(1, -2, dtype=I64)}, {}, {"x"}),
        ("Slice", {"x": _XI, "st": a(-100, dtype=I64), "en": a(100, dtype=I64)}, {}, {"x"}),
        ("Expand", {"x": _XI[:, :1], "s": a(3, 1, 1, 4, dtype=I64)}, {}, {"x"}),
        ("Tile", {"x": _X, "r": a(1, 2, 1, dtype=I64)}, {}, {"x"}),
        ("Range", {"s": a(3, dtype=I64), "l": a(-4, dtype=I64), "d": a(-2, dtype=I64)}, {}, None),
        ("Range", {"s": a(0.5, dtype=F32), "l": a(3, dtype=F32), "d": a(0.75, dtype=F32)}, {},
         None),
        ("ConstantOfShape", {"s": a(2, 3, dtype=I64)},
         {"value": numpy_helper.from_array(a(7, dtype=I32))}, None),
        ("Where", {"c": _XI % 3 == 0, "x": _XI, "y": a(-1, dtype=I64)}, {}, {"c", "x", "y"}),
    ],
    ids=[
        "shape", "shape-start", "shape-neg-start-big-end", "size", "gather-axis2",
        "gather-neg-scalar", "unsqueeze", "squeeze", "concat", "concat-1d", "reshape-0-minus1",
        "reshape-int", "flatten-neg", "transpose", "slice-neg-step-clamped", "slice-clamped",
        "expand", "tile", "range-int-neg", "range-float", "constant-of-shape", "where",
    ],
)  # fmt: skip
def test_shape_ops(op: str, inputs: dict, attrs: dict, runtime: set[str] | None) -> None:
    """Range and ConstantOfShape have data-dependent output shapes: fvir needs their inputs
    constant (`runtime` None), so they are compared folded only."""
    if runtime is None:
        want = _ort(op, inputs, attrs)
        got = _ours(op, inputs, set(), attrs)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    else:
        check(op, inputs, attrs, runtime)
