"""Transformer layers on the accelerator: compiled packages bit-exact with the int8 reference
(which implements docs/quantization.md's integer kernels independently of the backend), on
the functional simulator and on the Machine with 1 and 3 cores."""

from __future__ import annotations

import numpy as np
import pytest

from fvir.backend.functional import run_package
from fvir.backend.machine import Machine
from fvir.backend.misc import act_table
from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw import PAPER_U200, TINY
from fvir.isa.spec import ActFunc
from fvir.quant.nonlinear import i_gelu
from fvir.reference.int8 import run
from fvir.zoo.builder import GraphBuilder


def _gelu_block():
    b = GraphBuilder("gelu_block", seed=1)
    x = b.input("x", (1, 8, 64))
    return b.finish([x], [b.add(x, b.gelu(x), name="res")])


MODELS = {"gelu_block": _gelu_block}


def test_act_gelu_table_is_the_contract():
    q = np.arange(-128, 128).astype(np.int8)
    for fi in range(-8, 20):
        for fo in range(-8, 20):
            table = act_table(int(ActFunc.GELU), fi, fo)
            np.testing.assert_array_equal(table[q.view(np.uint8)], i_gelu(q, fi, fo))


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


