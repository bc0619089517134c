"""Transformer layers on the accelerator: compiled packages bit-exact with the int8 reference
(which implements docs/quantization.md's integer kernels independently of the backend), on
the functional simulator and on the Machine with 1 and 3 cores."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from fvir.backend import rows
from fvir.backend.functional import run_package
from fvir.backend.machine import Machine
from fvir.backend.misc import act_table
from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw import PAPER_U200, TINY
from fvir.isa.spec import ActFunc
from fvir.quant.nonlinear import i_gelu, isqrt, layernorm_eps, layernorm_rows, softmax_rows
from fvir.reference.int8 import run
from fvir.zoo.builder import GraphBuilder


def _gelu_block():
    b = GraphBuilder("gelu_block", seed=1)
    x = b.input("x", (1, 8, 64))
    return b.finish([x], [b.add(x, b.gelu(x), name="res")])


def _norm_block():
    """LayerNormalization, a softmax over the rows, a residual add and an opset-16 LayerNorm
    chain (fused by the importer)."""
    b = GraphBuilder("norm_block", seed=2)
    x = b.input("x", (1, 8, 64))
    s = b.softmax(b.layer_norm(x, name="ln"), name="sm")
    return b.finish([x], [b.layer_norm(b.add(x, s), decomposed=True, name="ln2")])


MODELS = {"gelu_block": _gelu_block, "norm_block": _norm_block}


def test_act_gelu_table_is_the_contract():
    q = np.arange(-128, 128).astype(np.int8)
    for fi in range(-8, 20):
        for fo in range(-8, 20):
            table = act_table(int(ActFunc.GELU), fi, fo)
            np.testing.assert_array_equal(table[q.view(np.uint8)], i_gelu(q, fi, fo))


def test_row_kernels_are_the_contract():
    rng = np.random.default_rng(4)
    for fx in range(-3, 10):
        for fy in (5, 7, 8):
            x = rng.integers(-128, 128, (6, 37)).astype(np.int64)
            np.testing.assert_array_equal(rows._softmax(x, fx, fy), softmax_rows(x, fx, fy))
    n = rng.integers(0, 2**61, 5000)
    np.testing.assert_array_equal(rows._isqrt(n), isqrt(n))
    for fx in range(0, 8):
        x = rng.integers(-128, 128, (4, 96)).astype(np.int64)
        g, b = rng.integers(-128, 128, 96), rng.integers(-(2**20), 2**20, 96)
        eps = layernorm_eps(1e-5, 96, fx)
        want = layernorm_rows(x, eps, g, b, 13)
        np.testing.assert_array_equal(rows._layernorm(x, eps, g, b, 13, slice(0, 96)), want)
        part = slice(32, 80)  # the backend's part of each row: whole-row statistics
        np.testing.assert_array_equal(rows._layernorm(x, eps, g[part], b[part], 13, part),
                                      want[:, part])


@pytest.mark.parametrize("hw", [TINY, PAPER_U200], ids=lambda h: h.name)
@pytest.mark.parametrize("name", list(MODELS))
def test_bit_exact_on_1_and_3_cores(name, hw):
    imported = quantize_model(import_model(MODELS[name]()), hw)
    module, weights = imported.module.clone(), imported.weights
    package = package_model(imported, hw)
    assert all(layer.kind != "host" for layer in package.layers)
    x = np.random.default_rng(3).standard_normal((1, 8, 64)).astype(np.float32)
    (want,) = run(module, weights, [x])
    np.testing.assert_array_equal(run_package(package, [x], hw.core, "int8")[0], want)
    for cores in ([0], [0, 1, 2]):
        m = Machine(hw)
        m.load("t", m.deploy("t", package, cores), [x])
        np.testing.assert_array_equal(m.run().tenants["t"].outputs[0], want)


@pytest.mark.parametrize("name", list(MODELS))
def test_fp32_mode_matches_onnxruntime(name):
    model = MODELS[name]()
    imported = quantize_model(import_model(model), TINY)
    package = package_model(imported, TINY)
    x = np.random.default_rng(5).standard_normal((1, 8, 64)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString())
    (want,) = session.run(None, {"x": x})
    got = run_package(package, [x], TINY.core, "fp32")[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


