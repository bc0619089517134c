"""`fv compile` (with a stand-in compiler, so that the command's own work is tested: model
resolution, flags, progress, the file it writes, the summary) and `fvir.frontend.models`. One test
runs the real `fvir.compiler` end to end when it is there."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import types

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_inspect_cli import make_package
from xdsl.dialects.func import FuncOp

from fvir import zoo
from fvir.compiler import compile_errors
from fvir.errors import UserError
from fvir.frontend.models import graph_inputs, load_onnx_or_zoo, parse_shapes, set_input_shapes
from fvir.frontend.onnx import ImportedModel
from fvir.hw import TINY
from fvir.ifp.fileformat import read_package, to_bytes
from fvir.tools.fv import main
from fvir.tools.progress import StageProgress


def tiny_onnx(batch: int | str = "N") -> onnx.ModelProto:
    """x[batch, 4, 8, 8] -> 3x3 conv (4 -> 4, pad 1) -> relu -> y."""
    w = np.random.default_rng(0).standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.2
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4, 8, 8])],
        [numpy_helper.from_array(w, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class FakeCompiler:
    """Stands in for `fvir.compiler.compile_model`: records its call, reports stages (one of
    them repeatedly, as per-layer progress would) and returns a fixed package."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, model, hw, *, calibration=None, seed=0, progress=None, fp32_shadow=True):
        self.calls.append({"model": model, "hw": hw, "calibration": calibration, "seed": seed,
                           "fp32_shadow": fp32_shadow})
        for stage, detail in [("import", ""), ("tile", "layer 1/2"), ("tile", "layer 2/2"),
                              ("emit", "")]:
            progress(stage, detail) if detail else progress(stage)
        return make_package(hw.core.config_hash())


@pytest.fixture
def fake(monkeypatch):
    compiler = FakeCompiler()
    module = types.ModuleType("fvir.compiler")
    module.compile_model = compiler  # type: ignore[attr-defined]
    module.compile_errors = compile_errors  # type: ignore[attr-defined]  # the real one
    monkeypatch.setitem(sys.modules, "fvir.compiler", module)
    return compiler


def compile_ok(capsys, *argv) -> tuple[str, str]:
    assert main(["compile", *map(str, argv)]) == 0
    return capsys.readouterr()


def compile_error(capsys, *argv) -> str:
    """The one error line (stderr is no terminal here: no progress)."""
    assert main(["compile", *map(str, argv)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [error] = err.splitlines()
    assert error.startswith("fv compile: error: ")
    return error[len("fv compile: error: ") :]


def test_compile_a_zoo_model(tmp_path, capsys, fake):
    out_path = tmp_path / "gru.ifp"
    out, err = compile_ok(capsys, "gru", "-o", out_path, "--hw", "tiny")
    [call] = fake.calls
    # The command imports the model itself (and drops the proto): the compiler gets dnn IR.
    gru = zoo.build("gru")
    assert isinstance(call["model"], ImportedModel)
    assert call["model"].input_names == [vi.name for vi in graph_inputs(gru)]
    assert call["model"].output_names == [vi.name for vi in gru.graph.output]
    assert call["hw"] is TINY
    assert (call["calibration"], call["seed"]) == (None, 0)

    expected = make_package(TINY.core.config_hash())
    assert out_path.read_bytes() == to_bytes(expected)
    size = out_path.stat().st_size
    lines = out.splitlines()
    assert lines[0] == (
        f"wrote {out_path}: small for tiny (core {TINY.core.config_hash()[:12]}), "
        f"{size / 1e6:.1f} MB"
    )
    assert lines[1] == (
        "  3 layers (1 on the host), 3 frames, 12 instructions, 6 relocations, weights 2.0 MB"
    )
    assert lines[2] == "  MACs: none counted"  # the stand-in package records no MAC count
    assert lines[3] == "  on the host: softmax: softmax"  # host layer "softmax" runs dnn.softmax
    assert lines[4] == ("  estimated 5500 cycles on one core = 0.018 ms at 300 MHz (cost model, "
                        "every weight loaded; 'fv link' predicts and 'fv run' simulates)")
    assert re.fullmatch(r"  compiled in \d+\.\d\d s \(\d+\.\d\d s with loading and writing\)",
                        lines[5])
    assert err == ""  # not a terminal: no progress


def test_compile_an_onnx_file_with_shape_calib_and_seed(tmp_path, capsys, fake):
    src = tmp_path / "tiny.onnx"
    onnx.save(tiny_onnx(), src)
    calib = tmp_path / "calib.npy"
    np.save(calib, np.zeros((2, 1, 4, 8, 8), np.float32))
    out_path = tmp_path / "t.ifp"
    compile_ok(capsys, src, "-o", out_path, "--hw", "tiny", "--shape", "x=1x4x8x8",
               "--calib", calib, "--seed", "7")
    [call] = fake.calls
    [fn] = [op for op in call["model"].module.walk() if isinstance(op, FuncOp)]
    assert fn.function_type.inputs.data[0].get_shape() == (1, 4, 8, 8)
    assert call["calibration"] == [str(calib)]
    assert call["seed"] == 7
    assert read_package(out_path, core=TINY.core).name == "small"


def test_json_summary(tmp_path, capsys, fake):
    out, err = compile_ok(capsys, "gru", "-o", tmp_path / "g.ifp", "--hw", "tiny", "--json")
    summary = json.loads(out)
    assert err == ""  # --json: no progress
    assert set(summary) == {
        "output", "model", "hw", "core_hash", "layers", "host_layers", "host_ops", "frames",
        "instructions", "relocations", "weights_bytes", "package_bytes", "cost_cycles",
        "latency_ms", "compile_s", "total_s", "estimated_cycles", "clock_mhz",
        "accelerator_macs", "host_macs", "accelerator_mac_share", "macs_by_op",
    }
    assert summary["package_bytes"] == (tmp_path / "g.ifp").stat().st_size
    assert (summary["layers"], summary["host_layers"], summary["frames"]) == (3, 1, 3)
    assert summary["host_ops"] == {"softmax": ["softmax"]}
    assert (summary["instructions"], summary["cost_cycles"], summary["hw"]) == (12, 5500, "tiny")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["alexnet"], "'alexnet' is neither an ONNX file nor a zoo model (zoo: vgg16, resnet18, "
                      "resnet50, mobilenetv2, mobilenetv3, googlenet, efficientnet_b0, "
                      "regnety_400mf, resnext50, densenet121, convnext_tiny, unet, lstm, gru, "
                      "crnn, vit, bert)"),
        (["missing.onnx"], "cannot read 'missing.onnx': No such file or directory"),
        (["gru", "--hw", "u9000"],
         "unknown hardware 'u9000': not a preset (paper-u200, big-core, tiny) nor a .toml file"),
        (["gru", "--seed", "-1"], "--seed must be non-negative, got -1"),
        (["gru", "--calib", "nope.npy"], "--calib: no such file 'nope.npy'"),
        (["gru", "--shape", "X"], "bad --shape 'X': expected NAME=DIMS with dims separated by "
                                  "'x', e.g. data=1x3x224x224"),
        (["gru", "--shape", "nope=1x2"],
         "shape given for unknown input 'nope' (graph inputs: input)"),
        (["gru", "--shape", "input=1x2"],
         "shape 1x2 given for input 'input' has rank 2, but the model's input has rank 3"),
        (["gru", "--shape", "input=32x2x512"],
         "shape 32x2x512 given for input 'input' disagrees with the model's dim 1 = 1"),
    ],
)
def test_errors_are_one_line_and_compile_nothing(tmp_path, capsys, fake, monkeypatch, argv,
                                                  message):
    monkeypatch.chdir(tmp_path)
    assert compile_error(capsys, *argv, "-o", "out.ifp") == message
    assert fake.calls == []
    assert not (tmp_path / "out.ifp").exists()


def test_a_failing_pass_is_one_line(tmp_path, capsys, monkeypatch):
    from xdsl.utils.exceptions import PassFailedException

    def fail(model, hw, **kwargs):
        kwargs["progress"]("tile")
        raise PassFailedException("dnn.conv2d (%c): no tile of this conv layer fits the core")

    module = types.ModuleType("fvir.compiler")
    module.compile_model = fail  # type: ignore[attr-defined]
    module.compile_errors = compile_errors  # type: ignore[attr-defined]  # the real one
    monkeypatch.setitem(sys.modules, "fvir.compiler", module)
    assert compile_error(capsys, "gru", "-o", tmp_path / "g.ifp", "--hw", "tiny") == (
        "cannot compile gru for tiny: dnn.conv2d (%c): no tile of this conv layer fits the core"
    )
    assert not (tmp_path / "g.ifp").exists()


def test_missing_output_directory_fails_before_compiling(tmp_path, capsys, fake):
    target = tmp_path / "no" / "x.ifp"
    message = compile_error(capsys, "gru", "-o", target)
    assert message == f"cannot write '{target}': no such directory '{target.parent}'"
    assert fake.calls == []


def test_output_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compile", "gru"])
    assert info.value.code == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_each_stage_on_a_terminal_only():
    tty = Tty()
    with StageProgress("fv compile", stream=tty) as progress:
        progress("quantize")
        progress("tile", "layer 1/10")
        progress("tile", "layer 2/10")
        progress("emit", frames=12)
    text = tty.getvalue()
    for shown in ("fv compile", "quantize", "tile layer 1/10", "tile layer 2/10", "emit frames=12"):
        assert shown in text
    pipe = io.StringIO()  # not a terminal
    with StageProgress("fv compile", stream=pipe) as progress:
        progress("quantize")
    assert pipe.getvalue() == ""
    with StageProgress("fv compile", stream=tty, enabled=False) as progress:  # --json
        progress("quantize")
    assert tty.getvalue() == text


# ---------------------------------------------------------------------------------------------
# fvir.frontend.models


def test_load_onnx_or_zoo(tmp_path, monkeypatch):
    model, name = load_onnx_or_zoo("lstm")
    assert (name, model) == ("lstm", zoo.build("lstm"))
    onnx.save(tiny_onnx(), tmp_path / "m.onnx")
    model, name = load_onnx_or_zoo(str(tmp_path / "m.onnx"))
    assert (name, model.graph.name) == ("m", "tiny")
    # An existing file wins over a zoo name.
    monkeypatch.chdir(tmp_path)
    onnx.save(tiny_onnx(), tmp_path / "gru")
    assert load_onnx_or_zoo("gru")[0].graph.name == "tiny"
    (tmp_path / "lstm").mkdir()  # a directory is not a model file: the zoo name still works
    assert load_onnx_or_zoo("lstm")[1] == "lstm"
    (tmp_path / "junk.txt").write_text("hello")
    with pytest.raises(UserError, match=r"^'junk.txt' is not an ONNX model$"):
        load_onnx_or_zoo("junk.txt")


def test_parse_shapes():
    assert parse_shapes(["a=1x3x224x224", "b=7"]) == {"a": (1, 3, 224, 224), "b": (7,)}
    with pytest.raises(UserError, match="--shape gives input 'a' twice"):
        parse_shapes(["a=1", "a=2"])


def test_set_input_shapes_replaces_symbolic_dims_only():
    model = tiny_onnx()
    set_input_shapes(model, {"x": (2, 4, 8, 8)})
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [2, 4, 8, 8]
    with pytest.raises(UserError, match="disagrees with the model's dim 1 = 4"):
        set_input_shapes(tiny_onnx(), {"x": (1, 3, 8, 8)})


# ---------------------------------------------------------------------------------------------
# The real compiler, once it exists


@pytest.mark.skipif(importlib.util.find_spec("fvir.compiler") is None,
                    reason="fvir.compiler is not written yet")
def test_real_compile_then_inspect(tmp_path, capsys):
    src, out_path = tmp_path / "tiny.onnx", tmp_path / "tiny.ifp"
    onnx.save(tiny_onnx(1), src)
    compile_ok(capsys, src, "-o", out_path, "--hw", "tiny")
    package = read_package(out_path, core=TINY.core)
    assert package.name == "tiny"
    assert len(package.frames) >= 1
    assert main(["inspect", str(out_path), "--disasm", "--hw", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "disassembly:" in out


def lrn_onnx() -> onnx.ModelProto:
    """conv -> LRN -> 1x1 conv -> relu -> LRN: two host layers (LRN never runs on the
    accelerator) between and after accelerator layers."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.2
    w2 = rng.standard_normal((4, 4, 1, 1)).astype(np.float32) * 0.2
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("LRN", ["c"], ["n"], size=3),
            helper.make_node("Conv", ["n", "w2"], ["d"]),
            helper.make_node("Relu", ["d"], ["r"]),
            helper.make_node("LRN", ["r"], ["y"], size=3),
        ],
        "lrn2",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_host_ops_are_listed_by_compile_and_inspect(tmp_path, capsys):
    """The real compiler on a model with LRN: `fv compile` and `fv inspect` name each host
    layer's ops, in text and JSON; every frame's footprint fits tiny's buffers."""
    src, out_path = tmp_path / "lrn2.onnx", tmp_path / "lrn2.ifp"
    onnx.save(lrn_onnx(), src)
    out, _ = compile_ok(capsys, src, "-o", out_path, "--hw", "tiny")
    lines = out.splitlines()
    assert lines[1].startswith("  4 layers (2 on the host), ")
    assert lines[2].startswith("  MACs: ") and lines[2].endswith("100.0% on the accelerator")
    assert lines[3] == "  on the host: host0: LRN; host1: LRN"
    out, _ = compile_ok(capsys, src, "-o", out_path, "--hw", "tiny", "--json")
    assert json.loads(out)["host_ops"] == {"host0": ["LRN"], "host1": ["LRN"]}

    assert main(["inspect", str(out_path)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert "  host      host0: LRN; host1: LRN" in text
    assert main(["inspect", str(out_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["host_ops"] == {"host0": ["LRN"], "host1": ["LRN"]}
    assert [(x["name"], x["kind"], x["host_ops"]) for x in info["layers"]] == [
        ("c", "conv2d", []), ("host0", "host", ["LRN"]), ("d", "conv2d", []),
        ("host1", "host", ["LRN"]),
    ]
    caps = info["core_buffers"]
    assert caps == [TINY.core.fmap_buffer_bytes, TINY.core.weight_buffer_bytes,
                    TINY.core.bias_buffer_bytes]
    assert len(info["frames"]) == info["totals"]["frames"] > 0
    for f in info["frames"]:
        assert all(0 <= used <= cap for used, cap in zip(f["buffers"], caps, strict=True))
        assert f["buffers"][0] > 0  # every frame reads or writes feature maps
    assert info["totals"]["max_buffers"] == [max(f["buffers"][b] for f in info["frames"])
                                             for b in range(3)]


def test_fp32_shadow_only_on_request(fake, tmp_path, capsys):
    compile_ok(capsys, "resnet18", "-o", tmp_path / "a.ifp")
    compile_ok(capsys, "resnet18", "-o", tmp_path / "b.ifp", "--fp32")
    assert [c["fp32_shadow"] for c in fake.calls] == [False, True]
