"""Importer behaviour that depends on the model's opset or on what a host op implements:
the version converter failing, PRelu's per-channel slope before opset 7, Hardmax in both axis
semantics, training-mode Dropout and Resize options fvir does not implement. Expected values
come from onnxruntime or from the PyTorch outputs stored in the onnx wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.errors import UserError
from fvir.frontend.onnx import import_model
from fvir.reference.int8 import run
from fvir.tools.fv import main

F = TensorProto.FLOAT
PYTORCH_CONVERTED = Path(onnx.__file__).parent / "backend/test/data/pytorch-converted"


def model(nodes, inputs, outputs, inits=(), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name: str, shape, elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def ours(m: onnx.ModelProto, *inputs: np.ndarray) -> list[np.ndarray]:
    imported = import_model(m)
    return list(run(imported.module, imported.weights, list(inputs)))


def theirs(m: onnx.ModelProto, **feeds: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def one_line_error(m: onnx.ModelProto, match: str) -> str:
    with pytest.raises(UserError, match=match) as info:
        import_model(m)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------- version conversion


def test_failed_version_conversion_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pad-1 (a `paddings` attribute) has no adapter to Pad-2 in onnx's version converter.
    m = model(
        [helper.make_node("Pad", ["x"], ["y"], paddings=[0, 1, 0, 1])],
        [vi("x", [2, 3])],
        [vi("y", [2, 5])],
        opset=1,
    )
    message = one_line_error(m, r"cannot convert the model from opset 1 to 13 \(onnx's")
    assert message.endswith("export it with opset 13 or later")
    assert "for Pad" in message
    path = tmp_path / "old.onnx"
    onnx.save(m, path)
    assert main(["import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot convert the model from opset 1" in err


# -------------------------------------------------------------------------------- PRelu


@pytest.mark.parametrize("case", ["1d", "2d", "3d"])
def test_opset6_prelu_slope_is_per_channel(case: str) -> None:
    """PyTorch's opset-6 export of nn.PReLU(3): a slope of 3 values on a (2, 3, ...) input,
    one per channel; compared with PyTorch's own outputs stored next to the model."""
    folder = PYTORCH_CONVERTED / f"test_PReLU_{case}_multiparam"
    m = onnx.load(folder / "model.onnx")
    assert m.opset_import[0].version == 6
    x = numpy_helper.to_array(onnx.load_tensor(folder / "test_data_set_0/input_0.pb"))
    want = numpy_helper.to_array(onnx.load_tensor(folder / "test_data_set_0/output_0.pb"))
    (got,) = ours(m, x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_prelu_slope_that_does_not_broadcast_is_one_line() -> None:
    m = model(
        [helper.make_node("PRelu", ["x", "slope"], ["y"], name="act")],
        [vi("x", [2, 3, 4])],
        [vi("y", [2, 3, 4])],
        [numpy_helper.from_array(np.full(3, 0.1, np.float32), "slope")],
        opset=13,
    )
    one_line_error(m, r"node 'act' \(PRelu\): slope of shape 3 does not broadcast to .*2x3x4")


def test_prelu_broadcasting_slope_runs_as_onnxruntime() -> None:
    rng = np.random.default_rng(3)
    slope = rng.standard_normal((3, 1)).astype(np.float32)
    m = model(
        [helper.make_node("PRelu", ["x", "slope"], ["y"])],
        [vi("x", [2, 3, 4])],
        [vi("y", [2, 3, 4])],
        [numpy_helper.from_array(slope, "slope")],
        opset=9,
    )
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(m, x)[0], theirs(m, x=x)[0], rtol=1e-6)


# ------------------------------------------------------------------------------ Hardmax


@pytest.mark.parametrize(
    ("opset", "axis"),
    [(11, None), (11, 1), (11, 0), (11, 2), (13, None), (13, 1), (13, 0)],
)
def test_hardmax_matches_onnxruntime(opset: int, axis: int | None) -> None:
    """Before opset 13 Hardmax works on the input coerced to 2-D at `axis` (default 1); from
    13 along `axis` (default -1). Rounded inputs make ties: the first maximum wins."""
    attrs = {} if axis is None else {"axis": axis}
    m = model(
        [helper.make_node("Hardmax", ["x"], ["y"], **attrs)],
        [vi("x", [2, 3, 4])],
        [vi("y", [2, 3, 4])],
        opset=opset,
    )
    x = np.round(np.random.default_rng(opset).standard_normal((2, 3, 4))).astype(np.float32)
    np.testing.assert_array_equal(ours(m, x)[0], theirs(m, x=x)[0])


# ---------------------------------------------------------------- Dropout and Resize


def test_training_mode_dropout_is_one_line() -> None:
    true = numpy_helper.from_array(np.array(True), "training")
    ratio = numpy_helper.from_array(np.array(0.5, np.float32), "ratio")
    m = model(
        [helper.make_node("Dropout", ["x", "ratio", "training"], ["y"], name="drop")],
        [vi("x", [2, 3])],
        [vi("y", [2, 3])],
        [ratio, true],
    )
    one_line_error(m, r"node 'drop' \(Dropout\): training-mode Dropout .* is not supported")


def test_training_mode_dropout_with_ratio_zero_is_the_identity() -> None:
    true = numpy_helper.from_array(np.array(True), "training")
    ratio = numpy_helper.from_array(np.array(0.0, np.float32), "ratio")
    m = model(
        [helper.make_node("Dropout", ["x", "ratio", "training"], ["y"])],
        [vi("x", [2, 3])],
        [vi("y", [2, 3])],
        [ratio, true],
    )
    x = np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(ours(m, x)[0], theirs(m, x=x)[0])


def test_dropout_training_mode_computed_at_run_time_is_one_line() -> None:
    m = model(
        [helper.make_node("Dropout", ["x", "", "training"], ["y"])],
        [vi("x", [2, 3]), vi("training", [], TensorProto.BOOL)],
        [vi("y", [2, 3])],
    )
    one_line_error(m, r"'training_mode' must be a constant")


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"mode": "cubic"}, "Resize mode 'cubic'"),
        ({"coordinate_transformation_mode": "tf_crop_and_resize"}, "tf_crop_and_resize"),
        ({"mode": "linear", "antialias": 1}, "antialias"),
        ({"keep_aspect_ratio_policy": "not_larger"}, "keep_aspect_ratio_policy 'not_larger'"),
        ({"mode": "nearest", "nearest_mode": "up"}, "nearest_mode 'up'"),
    ],
)
def test_resize_options_fvir_lacks_are_one_line_at_import(attrs: dict, message: str) -> None:
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    m = model(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", **attrs)],
        [vi("x", [1, 1, 2, 2])],
        [vi("y", None)],
        [scales],
        opset=19,
    )
    one_line_error(m, rf"node 'up' \(Resize\): fvir does not support .*{message}")
