"""One pipeline: `fv-opt -p fvir-compile` on an imported model gives the package `compile_model`
gives (`fv compile`), and `fv passes --pipeline` names the same passes `fvir-compile` runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.parser import Parser

from fvir import zoo
from fvir.codegen.emit import emit_package
from fvir.compiler import compile_model
from fvir.frontend.onnx import import_model
from fvir.hw import TINY
from fvir.ir import get_all_dialects
from fvir.ir.weights import WeightStore
from fvir.passes.fvir_compile import compile_passes, pipeline_spec
from fvir.tools.fv import main as fv_main
from fvir.tools.fv_opt import main as fv_opt_main

from .models import MODELS


def fv_opt_package(model, tmp_path: Path, hw: str):
    imported = import_model(model)
    src, weights = tmp_path / "model.mlir", tmp_path / "model.npz"
    src.write_text(str(imported.module))
    imported.weights.save(weights)
    out, out_weights = tmp_path / "out.mlir", tmp_path / "out.npz"
    code = fv_opt_main([str(src), "--weights", str(weights), "--out-weights", str(out_weights),
                        "-p", f"fvir-compile{{hw={hw}}}", "-o", str(out)])
    assert code == 0
    ctx = Context()
    for factory in (*get_all_dialects().values(),):
        ctx.load_dialect(factory())
    for dialect in (Builtin, Func):
        ctx.load_dialect(dialect)
    module = Parser(ctx, out.read_text()).parse_module()
    return emit_package(module, WeightStore.load(out_weights), TINY.core)


@pytest.mark.parametrize("model", [MODELS["residual"](), MODELS["mobile"](), zoo.build("lstm")],
                         ids=["residual", "mobile", "lstm"])
def test_fv_opt_pipeline_equals_compile_model(model, tmp_path):
    want = compile_model(model, TINY)
    got = fv_opt_package(model, tmp_path, "tiny")
    for name in ("frames", "words", "relocs", "weights", "weights_f32"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
    assert got.layers == want.layers and got.tensors == want.tensors
    assert got.segments == want.segments
    assert len(want.frames) > 0


def test_fv_passes_pipeline_prints_the_pipeline(capsys):
    assert fv_main(["passes", "--pipeline"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == pipeline_spec()
    assert printed.split(",")[0] == "dnn-fold-batchnorm"
    assert [p.name for p in compile_passes()] == [s.split("{")[0] for s in printed.split(",")]
