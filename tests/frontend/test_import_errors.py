"""`fv import` on bad input: every case exits non-zero with exactly one line on stderr and no
traceback. Also the happy path of each flag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir import onnxops
from fvir.ir.weights import WeightStore
from fvir.tools.fv import main


def save(path: Path, nodes, inputs, outputs, inits=(), opset: int = 17, check: bool = True) -> str:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, path)
    return str(path)


def tiny(tmp_path: Path, dims=(1, 3, 4, 4)) -> str:
    x = helper.make_tensor_value_info("data", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [dims[0], 2, 4, 4])
    w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "conv.w")
    nodes = [
        helper.make_node("Conv", ["data", "conv.w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["out"]),
    ]
    return save(tmp_path / "tiny.onnx", nodes, [x], [y], [w])


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


# ---------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.onnx"
    assert fails(["import", str(path)], capsys) == (
        1,
        f"fv import: error: cannot read '{path}': No such file or directory\n",
    )


@pytest.mark.parametrize(
    "content",
    [b"this is not an ONNX model\n", b"", bytes(range(256)) * 4],
    ids=["text", "empty", "binary"],
)
def test_not_onnx(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    assert fails(["import", str(path)], capsys) == (
        1,
        f"fv import: error: '{path}' is not an ONNX model\n",
    )


def test_checker_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Relu reads a value that no earlier node defines: the ONNX checker rejects the graph.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    path = save(
        tmp_path / "bad.onnx",
        [helper.make_node("Relu", ["ghost"], ["y"])],
        [x],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        check=False,
    )
    with pytest.raises(onnx.checker.ValidationError) as exc:
        onnx.checker.check_model(onnx.load(path))
    reason = " ".join(str(exc.value).split())  # the checker's own words, on one line
    assert "\n" in str(exc.value)  # ... which onnx spreads over several lines
    assert fails(["import", path], capsys) == (
        1,
        f"fv import: error: '{path}' fails the ONNX checker: {reason}\n",
    )


# --------------------------------------------------------------------------- bad models


def test_unsupported_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(onnxops.OPS, "Elu")  # as if Elu had no numpy kernel
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    path = save(tmp_path / "m.onnx", [helper.make_node("Elu", ["x"], ["y"], name="act7")], [x], [y])
    assert fails(["import", path], capsys) == (
        1,
        "fv import: error: unsupported ONNX op 'Elu' (node 'act7')\n",
    )


def test_unsupported_op_without_a_node_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(onnxops.OPS, "Elu")  # as if Elu had no numpy kernel
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Elu", ["r"], ["y"])]
    path = save(tmp_path / "m.onnx", nodes, [x], [y])
    assert fails(["import", path], capsys) == (
        1,
        "fv import: error: unsupported ONNX op 'Elu' (node #1, output 'y')\n",
    )


def test_dynamic_shape_needs_shape_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tiny(tmp_path, dims=("N", 3, 4, 4))
    assert fails(["import", path], capsys) == (
        1,
        "fv import: error: input 'data' has dynamic shape [N, 3, 4, 4]; "
        "give a static one with --shape data=1x3x4x4\n",
    )
    assert main(["import", path, "--shape", "data=2x3x4x4"]) == 0
    assert "%data: tensor<2x3x4x4xf32>" in capsys.readouterr().out


@pytest.mark.parametrize("spec", ["data=1x3xfoo", "data", "=1x3", "data=1x3x", "data=-1x3"])
def test_bad_shape_syntax(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str) -> None:
    assert fails(["import", tiny(tmp_path), "--shape", spec], capsys) == (
        1,
        f"fv import: error: bad --shape '{spec}': expected NAME=DIMS with dims separated by 'x', "
        "e.g. data=1x3x224x224\n",
    )


def test_shape_for_unknown_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(["import", tiny(tmp_path), "--shape", "image=1x3x4x4"], capsys) == (
        1,
        "fv import: error: shape given for unknown input 'image' (graph inputs: data)\n",
    )


def test_shape_given_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import", tiny(tmp_path), "--shape", "data=1x3x4x4", "--shape", "data=1x3x4x4"]
    assert fails(argv, capsys) == (1, "fv import: error: --shape gives input 'data' twice\n")


def test_shape_conflicting_with_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fails(["import", tiny(tmp_path), "--shape", "data=1x3x8x8"], capsys) == (
        1,
        "fv import: error: shape 1x3x8x8 given for input 'data' conflicts with its static "
        "shape 1x3x4x4\n",
    )


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no-such-dir" / "out.mlir"
    assert fails(["import", tiny(tmp_path), "-o", str(out)], capsys) == (
        1,
        f"fv import: error: cannot write '{out}': no such directory '{out.parent}'\n",
    )


def test_no_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required: MODEL.onnx" in err


# ---------------------------------------------------------------------------- happy path


def test_prints_ir_with_weights_by_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", tiny(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('builtin.module attributes {dnn.model = "tiny"} {\n')
    assert '%conv.w = dnn.weight "conv.w" : tensor<2x3x1x1xf32>' in out
    assert "dnn.conv2d %data, %conv.w" in out
    assert "dense<" not in out


def test_output_file_weights_and_generic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, npz = tmp_path / "m.mlir", tmp_path / "m.npz"
    model = tiny(tmp_path)
    assert main(["import", model, "-o", str(out), "--weights", str(npz), "--generic"]) == 0
    assert capsys.readouterr().out == ""
    text = out.read_text()
    assert '"dnn.weight"() <{sym = "conv.w"}>' in text  # generic syntax
    weights = WeightStore.load(npz)
    assert list(weights) == ["conv.w"]
    np.testing.assert_array_equal(weights["conv.w"], np.ones((2, 3, 1, 1), np.float32))

    # The printed IR parses back, and the saved weights match it.
    from xdsl.context import Context
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func
    from xdsl.parser import Parser

    from fvir.ir.dnn import DNN

    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    module = Parser(ctx, text).parse_module()
    module.verify()
    weights.check(module)


# ------------------------------------------------- hardening (issue 16, items 2 and 4)
# Each case: `fv import` exits 1 with exactly one line on stderr naming the problem, and the
# library raises a UserError (no traceback, no IR printed).

F, V = TensorProto.FLOAT, helper.make_tensor_value_info


def _w(name: str, *shape: int, dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, dtype), name)


def one_line(path: str, capsys: pytest.CaptureFixture[str]) -> str:
    code, err = fails(["import", path], capsys)
    assert code == 1
    assert err.startswith("fv import: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _external(tmp_path: Path, location: str) -> str:
    """A model whose initializer's data lives in the external file `location`."""
    w = _w("w", 2, 2)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", location
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    return save(
        tmp_path / "m.onnx", nodes, [V("x", F, [2, 2])], [V("y", F, [2, 2])], [w], check=False
    )


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("missing.bin", "is not regular file"),
        ("/etc/hostname", "should be a relative path"),
        ("../outside.bin", "points outside the directory"),
        ("adir", "is not regular file"),
    ],
    ids=["missing", "absolute", "dotdot", "directory"],
)
def test_bad_external_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], location: str, words: str
) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path.parent / "outside.bin").write_bytes(bytes(16))
    path = _external(tmp_path, location)
    err = one_line(path, capsys)
    assert f"cannot read the external data of '{path}'" in err and words in err


def test_non_utf8_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    graph = helper.make_graph(nodes, "GRAPHNAME", [V("x", F, [2])], [V("y", F, [2])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    data = m.SerializeToString().replace(b"GRAPHNAME", b"\xff\xfe" * 4 + b"G")
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    onnx.load(path)  # the bytes parse: only the string's decoding fails
    err = one_line(str(path), capsys)
    assert err.endswith("holds strings that are not UTF-8\n")


def _conv_model(tmp_path: Path, x_shape, w_shape, x_type=F, w_dtype=np.float32, **attrs) -> str:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)]
    inits = [_w("w", *w_shape, dtype=w_dtype)]
    return save(tmp_path / "m.onnx", nodes, [V("x", x_type, x_shape)], [V("y", F, ["n"])], inits)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"strides": [1]}, "strides [1] must have 2 elements (one per spatial dim)"),
        ({"dilations": [1, 1, 1]}, "dilations [1, 1, 1] must have 2 elements"),
        ({"kernel_shape": [3]}, "kernel_shape [3] must have 2 elements"),
        ({"pads": [1, 1]}, "pads [1, 1] must have 4 elements"),
        ({"strides": [0, 1]}, "strides [0, 1] must be positive"),
    ],
)
def test_conv_window_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], attrs: dict, message: str
) -> None:
    path = _conv_model(tmp_path, [1, 2, 8, 8], [2, 2, 3, 3], **attrs)
    assert one_line(path, capsys).startswith(f"fv import: error: node 'conv' (Conv): {message}")


@pytest.mark.parametrize(
    ("op", "attrs", "message"),
    [
        ("MaxPool", {"kernel_shape": [2, 2, 2]}, "kernel_shape [2, 2, 2] must have 2 elements"),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [1, 1, 1]}, "strides [1, 1, 1]"),
        ("MaxPool", {"kernel_shape": [2, 2], "dilations": [1]}, "dilations [1] must have 2"),
        ("AveragePool", {"kernel_shape": [2, 2], "pads": [0, 0, 1]}, "pads [0, 0, 1] must have 4"),
    ],
)
def test_pool_window_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], op: str, attrs: dict, message: str
) -> None:
    nodes = [helper.make_node(op, ["x"], ["y"], name="pool", **attrs)]
    path = save(tmp_path / "m.onnx", nodes, [V("x", F, [1, 2, 8, 8])], [V("y", F, ["n"])])
    err = one_line(path, capsys)
    assert err.startswith(f"fv import: error: node 'pool' ({op}): {message}")


def test_conv_weight_rank_differs_from_input_rank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _conv_model(tmp_path, [1, 2, 8, 8], [2, 2, 3])
    err = one_line(path, capsys)
    assert "node 'conv' (Conv): weight of rank 3 does not fit a rank-4 input" in err


@pytest.mark.parametrize(
    ("elem", "dtype", "name"),
    [(TensorProto.INT32, np.int32, "int32"), (TensorProto.BOOL, np.bool_, "bool")],
)
def test_conv_on_integer_or_bool_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], elem: int, dtype: type, name: str
) -> None:
    path = _conv_model(tmp_path, [1, 2, 8, 8], [2, 2, 3, 3], x_type=elem, w_dtype=dtype)
    assert one_line(path, capsys) == (
        f"fv import: error: node 'conv' (Conv): Conv needs a floating-point input, got {name}\n"
    )


@pytest.mark.parametrize(("op", "gates"), [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
@pytest.mark.parametrize("x_shape", [[5, 4], [5, 1, 4, 1]], ids=["2d", "4d"])
def test_recurrent_input_not_3d(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], op: str, gates: int, x_shape: list
) -> None:
    inits = [_w("W", 1, 3 * gates, 4), _w("R", 1, 3 * gates, 3)]
    nodes = [helper.make_node(op, ["x", "W", "R"], ["y"], name="rec", hidden_size=3)]
    path = save(tmp_path / "m.onnx", nodes, [V("x", F, x_shape)], [V("y", F, ["n"])], inits)
    assert one_line(path, capsys) == (
        f"fv import: error: node 'rec' ({op}): input X must be 3-D, got shape {x_shape}\n"
    )


def _relu(tmp_path: Path, dims: list, opset: int = 17, out_type: int = F) -> str:
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    return save(
        tmp_path / "m.onnx", nodes, [V("x", F, dims)], [V("y", out_type, dims)], opset=opset
    )


def test_negative_dim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _relu(tmp_path, [1, -1, 4])
    assert one_line(path, capsys) == "fv import: error: input 'x' has a negative dim: 1x-1x4\n"


def test_zero_dim_is_an_empty_tensor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ONNX allows empty tensors (its own node tests reduce [2, 0, 4] inputs): not an error."""
    assert main(["import", _relu(tmp_path, [1, 0, 4])]) == 0
    assert "tensor<1x0x4xf32>" in capsys.readouterr().out


def test_enormous_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _relu(tmp_path, [1, 100000, 100000])
    assert one_line(path, capsys) == (
        "fv import: error: input 'x' would have 10000000000 elements (1x100000x100000); "
        f"fvir handles tensors of up to {onnxops.MAX_ELEMENTS} elements\n"
    )


@pytest.mark.parametrize("op", ["ConstantOfShape", "Expand"])
def test_enormous_folded_constant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], op: str
) -> None:
    """A shape input that asks for 10^11 elements stops before allocating them."""
    shape = numpy_helper.from_array(np.array([100000, 100000, 10], np.int64), "s")
    ins = ["s"] if op == "ConstantOfShape" else ["one", "s"]
    one = numpy_helper.from_array(np.ones(1, np.float32), "one")
    nodes = [
        helper.make_node(op, ins, ["c"], name="big"),
        helper.make_node("Add", ["x", "c"], ["y"]),
    ]
    path = save(tmp_path / "m.onnx", nodes, [V("x", F, [1])], [V("y", F, ["n"])], [shape, one])
    err = one_line(path, capsys)
    assert err.startswith(f"fv import: error: node 'big' ({op}): ")
    assert "would have 100000000000 elements (100000x100000x10)" in err


@pytest.mark.parametrize("opset", [99, 10**6])
def test_opset_outside_the_supported_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], opset: int
) -> None:
    newest = onnx.defs.onnx_opset_version()
    assert one_line(_relu(tmp_path, [2], opset=opset), capsys) == (
        f"fv import: error: the model's ONNX opset {opset} is outside the supported range "
        f"1-{newest}\n"
    )


def test_opset_1_is_converted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Opsets below 13 are converted by onnx's version converter; ONNX's own node tests include
    opset-1 models, so opset 1 is in the range (a conversion failure is its own one line)."""
    assert main(["import", _relu(tmp_path, [2], opset=1)]) == 0
    assert "dnn.relu" in capsys.readouterr().out


def test_string_graph_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _relu(tmp_path, [2], out_type=TensorProto.STRING)
    assert one_line(path, capsys) == (
        "fv import: error: graph outputs: output 'y' has element type STRING, "
        "which fvir does not support\n"
    )


def test_bool_graph_output_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """BOOL outputs are ONNX's comparisons' results (its node tests check them): i1 results."""
    nodes = [helper.make_node("Greater", ["x", "x"], ["y"])]
    path = save(tmp_path / "m.onnx", nodes, [V("x", F, [2])], [V("y", TensorProto.BOOL, [2])])
    assert main(["import", path]) == 0
    assert "tensor<2xi1>" in capsys.readouterr().out
