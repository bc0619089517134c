"""Compiled packages run by the functional simulator (`fvir.backend.functional.run_package`):
int8 mode bit for bit equal to the int8 reference executor on the quantized module, fp32 mode
close to onnxruntime on the float model, on three core shapes, and independent of the order
in which a layer's frames run (any core count, any assignment)."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.parser import Parser

from fvir import zoo
from fvir.backend.functional import run_package
from fvir.compiler import compile_model, package_model
from fvir.frontend.onnx import ImportedModel
from fvir.hw import BIG_CORE, PAPER_U200, TINY
from fvir.ifp.package import Package
from fvir.ir.dnn import DNN
from fvir.passes.dnn_partition import partition
from fvir.reference.int8 import run, run_host

from .models import MODELS, compile_keeping_reference, random_input

HW = {"tiny": TINY, "paper-u200": PAPER_U200, "big-core": BIG_CORE}


def onnxruntime_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString())
    return session.run(None, {session.get_inputs()[0].name: x})


@pytest.fixture(scope="module")
def compiled():
    cache: dict = {}

    def get(name: str, hw: str):
        if (name, hw) not in cache:
            model = MODELS[name]()
            cache[name, hw] = (model, *compile_keeping_reference(model, HW[hw]))
        return cache[name, hw]

    return get


@pytest.mark.parametrize("hw", list(HW))
@pytest.mark.parametrize("name", list(MODELS))
def test_int8_bit_exact_with_reference(compiled, name, hw):
    model, package, reference = compiled(name, hw)
    x = random_input(model)
    got = run_package(package, [x], HW[hw].core, "int8", host=run_host)
    want = run(reference.module, reference.weights, [x])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("hw", ["tiny", "paper-u200"])
@pytest.mark.parametrize("name", list(MODELS))
def test_fp32_mode_matches_onnxruntime(compiled, name, hw):
    model, package, _ = compiled(name, hw)
    x = random_input(model, seed=11)
    got = run_package(package, [x], HW[hw].core, "fp32", host=run_host)
    want = onnxruntime_outputs(model, x)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


def shuffled_frames(package: Package, seed: int) -> Package:
    """The package with every layer's frames in another order (as on another core count)."""
    rng = np.random.default_rng(seed)
    frames = package.frames.copy()
    for layer in package.layers:
        start, n = layer.frame_start, layer.frame_count
        frames[start : start + n] = frames[start : start + n][rng.permutation(n)]
    return dataclasses.replace(package, frames=frames)


@pytest.mark.parametrize("name", ["residual", "inception", "mobile"])
def test_frame_order_does_not_matter(compiled, name):
    model, package, _ = compiled(name, "tiny")
    x = random_input(model)
    first = run_package(package, [x], TINY.core, "int8", host=run_host)
    for seed in (1, 2):
        again = run_package(shuffled_frames(package, seed), [x], TINY.core, "int8", host=run_host)
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)


def test_compile_model_reports_stages_and_takes_calibration_files(tmp_path):
    model = MODELS["classifier"]()
    x = random_input(model)
    np.save(tmp_path / "calib.npy", np.stack([x, 2 * x]))
    stages: list[str] = []
    package = compile_model(model, TINY, calibration=[str(tmp_path / "calib.npy")],
                            progress=stages.append)
    assert stages == ["import", "dnn-fold-batchnorm", "dnn-fuse-activation", "dnn-canonicalize",
                      "dnn-unroll-rnn", "dnn-quantize", "dnn-partition", "dnn-tile", "frames",
                      "emit"]
    assert package.core_hash == TINY.core.config_hash()
    assert package.meta["hw"] == "tiny"
    assert [layer.kind for layer in package.layers] == [  # softmax: ROW (transformers)
        "conv2d", "pool2d", "dense", "dense", "softmax"]
    assert package.input_names == ["x"] and package.output_names == ["probs"]
    probs = run_package(package, [x], TINY.core, "int8", host=run_host)[0]
    assert probs.shape == (1, 10)
    # each of the 10 probabilities is rounded to the int8 output's grid (F >= 7): half a step
    np.testing.assert_allclose(probs.sum(), 1.0, atol=probs.size * 2.0**-8)


@pytest.mark.parametrize("hw", list(HW))
@pytest.mark.parametrize("name", list(MODELS))
def test_frame_footprints_fit_the_core(compiled, name, hw):
    """The frame table's on-chip footprint never exceeds the core the package is for."""
    _, package, _ = compiled(name, hw)
    core = HW[hw].core
    caps = np.array([core.fmap_buffer_bytes, core.weight_buffer_bytes, core.bias_buffer_bytes],
                    np.uint64)
    assert len(package.frames) and (package.frames["buffers"] <= caps).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2"])
def test_zoo_models_bit_exact_on_paper_u200(name):
    model = zoo.build(name)
    package, reference = compile_keeping_reference(model, PAPER_U200)
    x = random_input(model, seed=3)
    got = run_package(package, [x], PAPER_U200.core, "int8", host=run_host)
    want = run(reference.module, reference.weights, [x])
    np.testing.assert_array_equal(got[0], want[0])
    caps = [PAPER_U200.core.fmap_buffer_bytes, PAPER_U200.core.weight_buffer_bytes,
            PAPER_U200.core.bias_buffer_bytes]
    assert (package.frames["buffers"] <= np.array(caps, np.uint64)).all()
    # Enough frames for the pool: every accelerator layer has at least 16 unless too small.
    counts = [layer.frame_count for layer in package.layers if layer.kind != "host"]
    assert np.median(counts) >= PAPER_U200.num_cores


def test_standalone_clip_bounds_on_the_int8_grid():
    """A clip whose lower bound rounds to 0 on the int8 grid and whose upper bound saturates
    (hi_q = sat8(round(20 * 2**5)) = 127) runs on the accelerator, bit-exact."""
    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    text = """
      func.func @main(%x: tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32> {
        %q = dnn.quantize %x : tensor<1x8x6x6xf32> -> tensor<1x8x6x6xi8, #dnn.fixed<5>>
        %c = dnn.clip %q lo 0.001 hi HI : tensor<1x8x6x6xi8, #dnn.fixed<5>>
        %y = dnn.dequantize %c : tensor<1x8x6x6xi8, #dnn.fixed<5>> -> tensor<1x8x6x6xf32>
        func.return %y : tensor<1x8x6x6xf32>
      }"""
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32) * 3
    for hi in ("20.0", "1.5"):
        module = Parser(ctx, text.replace("HI", hi)).parse_module()
        want = run(module, {}, [x])[0]
        partition(module)
        package = package_model(ImportedModel(module, {}, ["x"], ["y"]), TINY)
        assert [layer.kind for layer in package.layers] == ["clip"]
        got = run_package(package, [x], TINY.core, "int8", host=run_host)[0]
        np.testing.assert_array_equal(got, want)
