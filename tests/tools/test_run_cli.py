"""`fv run` on the reference backend: zoo names and ONNX files, given or seeded inputs, one-line
errors for bad flags and files. (The simulator, the default backend: test_run_sim.py.)"""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from fvir.tools.fv import main

ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def tiny_model(tmp_path):
    """y = relu(x @ W) with a fixed W, as an ONNX file."""
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [onnx.numpy_helper.from_array(w, "W")],
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def run_json(capsys, *args):
    assert main(["run", *args, "--backend", "reference", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_zoo_model_by_name(capsys):
    out = run_json(capsys, "resnet18")
    assert out["model"] == "resnet18"
    assert out["backend"] == "reference"
    (logits,) = out["outputs"]
    assert logits["shape"] == [1, 1000]
    assert logits["finite"]


def test_given_input_matches_onnxruntime(tmp_path, tiny_model, capsys):
    x = np.random.default_rng(3).standard_normal((2, 4), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    out_dir = tmp_path / "out"
    args = [str(tiny_model), "--input", f"x={tmp_path / 'x.npy'}", "--save-outputs", str(out_dir)]
    summary = run_json(capsys, *args)
    (expected,) = ort.InferenceSession(str(tiny_model)).run(None, {"x": x})
    got = np.load(out_dir / "y.npy")
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert summary["outputs"][0]["max"] == pytest.approx(float(expected.max()))


def test_seeded_inputs_are_deterministic(tiny_model, capsys):
    a = run_json(capsys, str(tiny_model), "--seed", "7")
    b = run_json(capsys, str(tiny_model), "--seed", "7")
    c = run_json(capsys, str(tiny_model), "--seed", "8")
    assert a["outputs"] == b["outputs"]
    assert a["outputs"] != c["outputs"]


def test_seeded_inputs_follow_the_input_types(tmp_path, capsys):
    """A float64 input gets seeded normal values in float64, an int64 one (indices) zeros."""
    table = np.arange(15, dtype=np.float64).reshape(5, 3)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["T", "i"], ["g"]), helper.make_node("Add", ["g", "x"], ["y"])],
        "typed",
        [helper.make_tensor_value_info("i", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2, 3])],
        [onnx.numpy_helper.from_array(table, "T")],
    )
    path = tmp_path / "typed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    out_dir = tmp_path / "out"
    run_json(capsys, str(path), "--seed", "5", "--save-outputs", str(out_dir))
    x = np.random.default_rng(5).standard_normal((2, 3), dtype=np.float32).astype(np.float64)
    (expected,) = ort.InferenceSession(str(path)).run(None, {"i": np.zeros(2, np.int64), "x": x})
    got = np.load(out_dir / "y.npy")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_text_summary(tiny_model, capsys):
    assert main(["run", str(tiny_model), "--backend", "reference"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny: reference backend")
    assert "y: 2x3 float32" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--input", "x"], "fv run: error: bad --input 'x': expected NAME=FILE.npy\n"),
        (["--input", "x=missing.npy"], "fv run: error: --input x: no such file 'missing.npy'\n"),
    ],
)
def test_bad_input_flags(tiny_model, capsys, extra, message):
    assert main(["run", str(tiny_model), "--backend", "reference", *extra]) == 1
    assert capsys.readouterr().err == message


def test_unknown_input_name(tmp_path, tiny_model, capsys):
    np.save(tmp_path / "z.npy", np.zeros((2, 4), np.float32))
    assert main(["run", str(tiny_model), "--backend", "reference", "--input",
                 f"z={tmp_path / 'z.npy'}"]) == 1
    err = capsys.readouterr().err
    assert err == "fv run: error: --input names unknown input 'z' (the model's inputs: x)\n"


def test_not_a_npy_file(tmp_path, tiny_model, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_text("not numpy")
    assert main(["run", str(tiny_model), "--backend", "reference", "--input", f"x={bad}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fv run: error: --input x: '{bad}' is not a .npy array")
    assert err.count("\n") == 1


def test_unknown_model(capsys):
    assert main(["run", "no-such-model", "--backend", "reference"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fv run: error: 'no-such-model' is neither an ONNX file nor a zoo model")
