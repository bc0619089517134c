"""Host layers read their weights from the package's binary `host_weights` (format version 3 on),
not from dense literals in their IR text: the arrays are the model's own, the IR carries
`dnn.weight` references only, the file is about the size of its weights, and the simulator
still equals the int8 reference bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fvir.backend.functional import run_package
from fvir.hw import PAPER_U200
from fvir.ifp.fileformat import read_package, write_package
from fvir.reference.int8 import run, run_host
from fvir.tools.fv import main

from .models import compile_keeping_reference


def host_conv_model() -> onnx.ModelProto:
    """An accelerator conv, then a grouped 17x1 conv (the host's: no rewrite for groups) whose
    float weights are most of the model's bytes, then a relu on the accelerator."""
    rng = np.random.default_rng(4)
    w1 = (rng.standard_normal((64, 16, 3, 3)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((64, 32, 17, 1)) * 0.05).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["a"], ["r"]),
         helper.make_node("Conv", ["r", "w2"], ["c"], group=2),
         helper.make_node("Relu", ["c"], ["y"])],
        "hostconv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 16, 20, 12))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 64, 4, 12))],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_host_weights_are_binary_arrays_and_runs_stay_bit_exact(tmp_path, capsys) -> None:
    model = host_conv_model()
    package, reference = compile_keeping_reference(model, PAPER_U200)
    (host,) = [layer for layer in package.layers if layer.kind == "host"]
    assert "dense<" not in host.host_ir and 'dnn.weight "' in host.host_ir
    w2 = numpy_helper.to_array(model.graph.initializer[1])
    assert [a.shape for a in package.host_weights.values()] == [w2.shape]
    np.testing.assert_array_equal(next(iter(package.host_weights.values())), w2)

    lean = dataclasses.replace(package, weights_f32=None)  # as `fv compile` writes it
    size = write_package(lean, tmp_path / "m.ifp")
    weight_bytes = package.weights.nbytes + w2.nbytes
    assert size <= 1.1 * weight_bytes, (size, weight_bytes)

    assert main(["inspect", str(tmp_path / "m.ifp")]) == 0
    assert f"{w2.nbytes / 1e3:.2f} KB for host layers" in capsys.readouterr().out

    loaded = read_package(tmp_path / "m.ifp")
    x = np.random.default_rng(2).standard_normal((1, 16, 20, 12)).astype(np.float32)
    want = run(reference.module, reference.weights, [x])
    got = run_package(loaded, [x], PAPER_U200.core, "int8", host=run_host)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_a_small_models_package_is_about_its_weights(tmp_path) -> None:
    """MobileNetV3-Small: 15k instructions (0.49 MB of words) against 2.6 MB of weights. The
    structure sections are compressed (format 4), so the file stays within 1.1x its weights."""
    from fvir import zoo
    from fvir.compiler import compile_model

    package = compile_model(zoo.build("mobilenetv3"), PAPER_U200, fp32_shadow=False)
    assert package.words.nbytes > 0.15 * package.weights.nbytes  # raw, it would not fit
    size = write_package(package, tmp_path / "m.ifp")
    assert size <= 1.1 * package.weights.nbytes, (size, package.weights.nbytes)
    np.testing.assert_array_equal(read_package(tmp_path / "m.ifp").words, package.words)
