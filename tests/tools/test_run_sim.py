"""`fv run` on the simulator (the default backend): ONNX files, .ifp packages and zoo names;
the --json keys; --check's verdicts and exit codes; --trace; flag errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import fvir.reference.check
import fvir.reference.int8
from fvir.tools.fv import main

KEYS = {"model", "cores", "dtype", "cycles", "latency_ms", "utilization", "host_ops", "link_us"}


@pytest.fixture(scope="module")
def cnn(tmp_path_factory) -> str:
    """conv3x3+relu, max pool, conv3x3, global average pool, dense: an ONNX file."""
    rng = np.random.default_rng(0)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("w1", w(8, 3, 3, 3)), ("b1", w(8, scale=0.1)), ("w2", w(8, 8, 3, 3, scale=0.2)),
        ("w3", w(10, 8)), ("b3", w(10, scale=0.1))]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("models") / "cnn.onnx"
    onnx.save(model, path)
    return str(path)


def run_json(capsys, *args: str, code: int = 0) -> dict:
    assert main(["run", *args, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def test_json_keys_and_check(cnn, capsys):
    out = run_json(capsys, cnn, "--hw", "tiny", "--cores", "3", "--check")
    assert KEYS <= set(out)
    assert out["backend"] == "sim" and out["hw"] == "tiny"
    assert (out["model"], out["cores"], out["dtype"]) == ("cnn", 3, "int8")
    assert out["cycles"] > 0 and 0 < out["utilization"] < 1
    assert out["latency_ms"] == pytest.approx(out["cycles"] / 300e3)
    assert out["host_ops"] == [] and out["link_us"] > 0
    assert set(out["engine_utilization"]) == {"LOAD", "CONV", "MISC", "SAVE"}
    check = out["check"]
    assert check["bit_exact"] is True and check["ok"] is True
    assert {"cosine", "max_abs_err", "max_rel_err"} <= set(check)
    assert check["cosine"] > 0.95
    (y,) = out["outputs"]
    assert y["shape"] == [1, 10] and y["finite"]


def test_stream_weights(cnn, capsys):
    """On one tiny core the CNN's row tiles share weights: kept resident by default, the same
    outputs and more cycles with --stream-weights."""
    kept = run_json(capsys, cnn, "--hw", "tiny", "--cores", "1", "--check")
    streamed = run_json(capsys, cnn, "--hw", "tiny", "--cores", "1", "--check",
                        "--stream-weights")
    assert kept["elided_weight_bytes"] > 0 and streamed["elided_weight_bytes"] == 0
    assert kept["cycles"] < streamed["cycles"]
    assert kept["check"]["bit_exact"] and streamed["check"]["bit_exact"]
    assert kept["outputs"] == streamed["outputs"]


def test_fp32_check_matches_onnxruntime(cnn, capsys):
    out = run_json(capsys, cnn, "--hw", "tiny", "--dtype", "fp32", "--check")
    check = out["check"]
    assert check["bit_exact"] is None  # int8 only
    assert check["max_rel_err"] <= 1e-4 and check["ok"]


def test_check_fails_on_an_int8_mismatch(cnn, capsys, monkeypatch):
    real = fvir.reference.int8.run

    def off_by_one(module, weights, inputs):
        return [y + np.float32(1) for y in real(module, weights, inputs)]

    monkeypatch.setattr(fvir.reference.int8, "run", off_by_one)
    out = run_json(capsys, cnn, "--hw", "tiny", "--check", code=1)
    assert out["check"]["bit_exact"] is False and not out["check"]["ok"]
    assert main(["run", cnn, "--hw", "tiny", "--check"]) == 1
    captured = capsys.readouterr()
    assert "bit-exact vs int8 reference: NO" in captured.out
    assert captured.err.startswith("fv run: error: check failed: int8 outputs differ")


def test_check_fails_on_an_fp32_mismatch(cnn, capsys, monkeypatch):
    monkeypatch.setattr(fvir.reference.check, "FP32_MAX_REL_ERR", 0.0)  # nothing passes
    monkeypatch.setattr(fvir.reference.check, "sensitivity", lambda *a: 0.0)  # well-conditioned
    out = run_json(capsys, cnn, "--hw", "tiny", "--dtype", "fp32", "--check", code=1)
    assert not out["check"]["ok"]
    assert "fp32 outputs differ from onnxruntime" in out["check"]["failure"]


def test_text_report_and_trace(cnn, capsys, tmp_path):
    trace = tmp_path / "t.json"
    assert main(["run", cnn, "--hw", "tiny", "--cores", "2", "--trace", str(trace)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cnn: sim on 2 core(s) of tiny, int8: ")
    assert "MAC utilization" in out and "y: 1x10 float32" in out
    events = json.loads(trace.read_text())["traceEvents"]
    assert {e["pid"] for e in events} == {0, 1}


def test_ifp_package(cnn, capsys, tmp_path):
    ifp = tmp_path / "cnn.ifp"
    assert main(["compile", cnn, "--hw", "tiny", "-o", str(ifp)]) == 0
    capsys.readouterr()
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    a = run_json(capsys, str(ifp), "--hw", "tiny", "--cores", "4", "--input",
                 f"x={tmp_path / 'x.npy'}", "--save-outputs", str(tmp_path / "a"))
    b = run_json(capsys, cnn, "--hw", "tiny", "--input", f"x={tmp_path / 'x.npy'}",
                 "--save-outputs", str(tmp_path / "b"))
    assert a["model"] == "cnn" and a["cores"] == 4 and b["cores"] == 1
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "y.npy"),
                                  np.load(tmp_path / "b" / "y.npy"))
    assert main(["run", str(ifp), "--hw", "tiny", "--check"]) == 1
    assert "--check needs the model" in capsys.readouterr().err
    assert main(["run", str(ifp), "--hw", "tiny", "--dtype", "fp32"]) == 1
    assert "compile it with `fv compile --fp32`" in capsys.readouterr().err
    assert main(["run", str(ifp)]) == 1  # compiled for tiny's core, not paper-u200's
    assert "fv run: error:" in capsys.readouterr().err


def test_same_inputs_same_results(cnn, capsys):
    a = run_json(capsys, cnn, "--hw", "tiny", "--cores", "2", "--seed", "4")
    b = run_json(capsys, cnn, "--hw", "tiny", "--cores", "2", "--seed", "4")
    c = run_json(capsys, cnn, "--hw", "tiny", "--cores", "2", "--seed", "5")
    assert a["outputs"] == b["outputs"] and a["cycles"] == b["cycles"]
    assert a["outputs"] != c["outputs"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--cores", "0"], "--cores must be at least 1, got 0"),
    (["--cores", "5"], "--cores 5: pool 'tiny' has 4 cores"),
    (["--backend", "reference", "--check"], "--check applies to the sim backend only"),
    (["--input", "z=missing.npy"], "--input z: no such file 'missing.npy'"),
])
def test_flag_errors(cnn, capsys, extra, message):
    assert main(["run", cnn, "--hw", "tiny", *extra]) == 1
    assert capsys.readouterr().err == f"fv run: error: {message}\n"


def test_zoo_name(capsys):
    out = run_json(capsys, "resnet18", "--cores", "16")
    assert out["model"] == "resnet18" and out["hw"] == "paper-u200"
    assert out["outputs"][0]["shape"] == [1, 1000]
    assert out["cycles"] > 0


def _conv_then_relu(tmp_path, name: str, x_shape, w_shape, y_shape, **attrs) -> str:
    rng = np.random.default_rng(4)
    w = (rng.standard_normal(w_shape) * 0.3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], **attrs),
         helper.make_node("Relu", ["c"], ["y"])],
        name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return str(path)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "y_shape", "attrs", "host"),
    [
        ((1, 2, 40, 8), (4, 2, 2, 1), (1, 4, 24, 8), {"dilations": [16, 1]}, "dilations"),
        # a grouped conv is not rewritten to fit the kernel field (wide_conv)
        ((1, 2, 20, 20), (4, 1, 17, 1), (1, 4, 4, 20), {"group": 2}, "kernel [17, 1]"),
        ((2, 2, 6, 6), (4, 2, 3, 3), (2, 4, 4, 4), {}, "batch-1"),
    ],
)
def test_layers_the_accelerator_cannot_run_are_right_on_the_host(tmp_path, capsys, x_shape,
                                                                 w_shape, y_shape, attrs, host):
    """A conv the ISA or the tiler cannot take runs on the host in float, in both modes: its
    int8 neighbours stay bit-exact and the outputs match onnxruntime (an int8 conv on the host
    used to mix dequantized inputs with integer weights)."""
    path = _conv_then_relu(tmp_path, "hostconv", x_shape, w_shape, y_shape, **attrs)
    out = run_json(capsys, path, "--hw", "tiny", "--cores", "2", "--check")
    assert out["check"]["bit_exact"] is True and out["check"]["max_rel_err"] <= 1e-5
    assert "conv2d" in out["host_ops"]
    fp32 = run_json(capsys, path, "--hw", "tiny", "--cores", "2", "--dtype", "fp32", "--check")
    assert fp32["check"]["ok"] and fp32["check"]["max_rel_err"] <= 1e-5
    from fvir.frontend.onnx import import_model
    from fvir.passes.dnn_partition import host_ops
    from fvir.passes.dnn_quantize import quantize

    imported = import_model(onnx.load(path))
    quantize(imported.module, imported.weights)
    assert any(host in p.reason for p in host_ops(imported.module))


@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_eltwise_with_a_full_shape_constant(tmp_path, capsys, op):
    """y = relu(x) op K with K an initializer of x's shape: K is quantized by a host layer
    that reads it (the frame plan used to look K up before inlining it: a KeyError)."""
    k = np.random.default_rng(6).standard_normal((1, 4, 5, 5)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node(op, ["r", "k"], ["y"])],
        "eltconst", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5])],
        [numpy_helper.from_array(k, "k")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "eltconst.onnx"
    onnx.save(model, path)
    out = run_json(capsys, str(path), "--hw", "tiny", "--cores", "2", "--check")
    assert out["check"]["bit_exact"] is True and out["check"]["cosine"] > 0.999
    fp32 = run_json(capsys, str(path), "--hw", "tiny", "--dtype", "fp32", "--check")
    assert fp32["check"]["ok"]


def _save(tmp_path, name: str, nodes, inputs, outputs, inits=()) -> str:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return str(path)


def test_integer_inputs_get_zeros_and_nan_outputs_compare_equal(tmp_path, capsys):
    """Seeded inputs follow the model's types on the simulator too (indices: zeros, as on the
    reference backend), and outputs holding NaN (sqrt of negative values) are bit-exact when
    the NaNs sit in the same places."""
    table = np.arange(12, dtype=np.float32).reshape(4, 3) - 6
    path = _save(
        tmp_path, "gathersqrt",
        [helper.make_node("Gather", ["T", "i"], ["g"]), helper.make_node("Sqrt", ["g"], ["y"])],
        [helper.make_tensor_value_info("i", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(table, "T")])
    out_dir = tmp_path / "out"
    out = run_json(capsys, path, "--hw", "tiny", "--check", "--save-outputs", str(out_dir))
    assert out["check"]["bit_exact"] is True and out["check"]["ok"]
    y = np.load(out_dir / "y.npy")
    with np.errstate(invalid="ignore"):
        want = np.sqrt(np.stack([table[0], table[0]]))  # row 0, twice
    np.testing.assert_array_equal(y, want)
    assert np.isnan(y).any()


def test_check_without_onnxruntime(cnn, capsys, monkeypatch):
    """A model onnxruntime cannot run (an opset it dropped): int8 is still checked against the
    int8 reference; fp32, which has no other oracle, fails the check in one line."""
    import onnxruntime

    def refuse(*args, **kwargs):
        raise RuntimeError("NOT_IMPLEMENTED : Could not find an implementation for X(6)")

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)
    out = run_json(capsys, cnn, "--hw", "tiny", "--check")
    check = out["check"]
    assert check["bit_exact"] is True and check["ok"] and check["cosine"] is None
    assert check["onnxruntime"].startswith("cannot run the model: NOT_IMPLEMENTED")
    assert main(["run", cnn, "--hw", "tiny", "--dtype", "fp32", "--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "onnxruntime cannot run the model" in err


def test_channel_shuffle_after_a_host_conv(tmp_path, capsys):
    """ShuffleNet's pattern: a grouped conv (host, float) feeds a channel shuffle (reshape to
    5-D, transpose, reshape: exact int8 ops, also on the host) that feeds an accelerator conv.
    The host layer rounds onto the int8 grid in int8 mode and keeps real values in fp32."""
    rng = np.random.default_rng(8)
    groups, c, hw = 2, 8, 8
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("wg", (rng.standard_normal((c, c // groups, 1, 1)) * 0.5).astype(np.float32)),
        ("s5", np.array([1, groups, c // groups, hw, hw], np.int64)),
        ("s4", np.array([1, c, hw, hw], np.int64)),
        ("w1", (rng.standard_normal((c, c, 1, 1)) * 0.3).astype(np.float32))]]
    path = _save(
        tmp_path, "shuffle",
        [helper.make_node("Conv", ["x", "wg"], ["a"], group=groups),
         helper.make_node("Reshape", ["a", "s5"], ["b"]),
         helper.make_node("Transpose", ["b"], ["t"], perm=[0, 2, 1, 3, 4]),
         helper.make_node("Reshape", ["t", "s4"], ["d"]),
         helper.make_node("Conv", ["d", "w1"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, hw, hw])], inits)
    out = run_json(capsys, path, "--hw", "tiny", "--cores", "2", "--check")
    assert out["check"]["bit_exact"] is True and out["check"]["cosine"] > 0.999
    fp32 = run_json(capsys, path, "--hw", "tiny", "--cores", "2", "--dtype", "fp32", "--check")
    assert fp32["check"]["ok"] and fp32["check"]["max_rel_err"] <= 1e-5
