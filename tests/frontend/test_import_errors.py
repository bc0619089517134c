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
        f"fv import: error: cannot write '{out}': No such file or directory\n",
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
