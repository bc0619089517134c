"""Where the MACs run (issue 17): `fvir.ir.macs` counts them per op on the partitioned IR, and
`fv compile`, `fv inspect` and `fv run` report the accelerator's share, warning in one line
when it is under half. Expected counts are computed by hand from the layer shapes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.compiler import quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw import PAPER_U200
from fvir.ir.macs import mac_split
from fvir.tools.fv import main

RNG = np.random.default_rng(0)


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.2).astype(np.float32)


def upsampler() -> onnx.ModelProto:
    """A 1x1 conv 8 -> 4 on 6x6 (1152 MACs, accelerator), then a ConvTranspose 4 -> 16,
    kernel 4, stride 2, given an output_shape, which only the host runs (6*6*4 input pixels x
    16*4*4 weights = 36864 MACs)."""
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w1"], ["c"]),
            helper.make_node(
                "ConvTranspose", ["c", "w2"], ["y"], strides=[2, 2], output_shape=[14, 14]
            ),
        ],
        "up",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 14, 14])],
        [
            numpy_helper.from_array(_w(4, 8, 1, 1), "w1"),
            numpy_helper.from_array(_w(4, 16, 4, 4), "w2"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def classifier() -> onnx.ModelProto:
    """A grouped 3x3 conv 8 -> 8 in 2 groups on 5x5 (25*8*4*9 = 7200 MACs), global average
    pooling and a 8 -> 10 Gemm (80 MACs): all on the accelerator."""
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1], group=2),
            helper.make_node("GlobalAveragePool", ["c"], ["g"]),
            helper.make_node("Flatten", ["g"], ["f"]),
            helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1),
        ],
        "cls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(_w(8, 4, 3, 3), "w1"), numpy_helper.from_array(_w(10, 8), "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_mac_split_by_side_and_op() -> None:
    up = quantize_model(import_model(upsampler()), PAPER_U200)
    assert mac_split(up.module) == {
        "accelerator": {"conv2d": 1152},
        "host": {"ConvTranspose": 36864},
    }
    cls = quantize_model(import_model(classifier()), PAPER_U200)
    assert mac_split(cls.module) == {"accelerator": {"conv2d": 7200, "dense": 80}, "host": {}}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("macs")
    paths = {}
    for name, build in (("up", upsampler), ("cls", classifier)):
        onnx.save(build(), d / f"{name}.onnx")
        paths[name] = str(d / f"{name}.onnx")
    return paths


def test_compile_reports_and_warns(models, tmp_path, capsys) -> None:
    assert main(["compile", models["up"], "-o", str(tmp_path / "up.ifp"), "--json"]) == 0
    out, err = capsys.readouterr()
    s = json.loads(out)
    assert (s["accelerator_macs"], s["host_macs"]) == (1152, 36864)
    assert s["accelerator_mac_share"] == pytest.approx(1152 / 38016)
    assert err == (
        "fv compile: warning: only 3.0% of the model's MACs run on the accelerator "
        "(host: ConvTranspose 36.9k)\n"
    )
    assert main(["inspect", str(tmp_path / "up.ifp")]) == 0
    assert "  macs      38k, 3.0% on the accelerator (host: ConvTranspose 36.9k)\n" in (
        capsys.readouterr().out
    )


def test_run_reports_without_warning_when_all_runs_on_the_accelerator(models, capsys) -> None:
    assert main(["run", models["cls"], "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert "  MACs: 7.28k, 100.0% on the accelerator\n" in out
    assert "warning" not in err
    assert main(["run", models["cls"], "--no-cache", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["accelerator_macs"], s["host_macs"], s["accelerator_mac_share"]) == (7280, 0, 1.0)
    assert s["macs_by_op"] == {"accelerator": {"conv2d": 7200, "dense": 80}, "host": {}}


def test_run_warns_when_nothing_runs_on_the_accelerator(tmp_path, capsys) -> None:
    graph = helper.make_graph(
        [helper.make_node("LRN", ["x"], ["y"], size=3)],
        "lrn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3, 3])],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "lrn.onnx"
    )
    assert main(["run", str(tmp_path / "lrn.onnx"), "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert err == "fv run: warning: nothing runs on the accelerator: every layer is a host layer\n"
    assert "  MACs: none counted\n" in out
