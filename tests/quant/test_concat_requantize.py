"""Per-input requantization at concats (docs/quantization.md, "Concats"): a concat input that
something else also uses keeps its own encoding, and a `dnn.requantize` (the ACT instruction's
identity table) brings it into the concat's.

Expected codes are worked out here with Python integers from the contract's definition
(q' = sat8(floor((q - Z) * 2**(F' - F) + 1/2) + Z')), not read from the code under test; the
backend's side is checked bit-exactly against the int8 reference on several core counts.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.ir import Block

from fvir.backend.machine import simulate_package
from fvir.compiler import package_model, quantize_model
from fvir.hw import PAPER_U200
from fvir.ir import dnn
from fvir.ir.functions import main_function
from fvir.reference.int8 import INT8_OPS, run_host
from fvir.reference.int8 import run as run_reference


def _by_hand(q: int, f_in: int, z_in: int, f_out: int, z_out: int) -> int:
    scaled = (q - z_in) * 2**f_out  # exact as a fraction over 2**f_in
    return max(-128, min(127, math.floor(scaled / 2**f_in + 0.5) + z_out))


@pytest.mark.parametrize("enc", [(5, -128, 4, 5), (3, 0, 6, -10), (2, 7, 2, -7), (0, 0, -2, 0)])
def test_requantize_codes_by_hand(enc):
    f_in, z_in, f_out, z_out = enc
    block = Block(arg_types=[dnn.fixed_type((256,), f_in, z_in)])
    op = dnn.RequantizeOp(block.args[0], f_out, z_out)
    op.verify()
    codes = np.arange(-128, 128, dtype=np.int8)
    (got,) = INT8_OPS[dnn.RequantizeOp](op, lambda v: codes)
    want = [_by_hand(int(q), f_in, z_in, f_out, z_out) for q in codes]
    assert got.dtype == np.int8 and got.tolist() == want


CHANNELS = {"x": 3, "skip": 8, "up": 8}


def _skip_model(cat: tuple[str, ...] = ("skip", "up")) -> onnx.ModelProto:
    """A U-Net-like stage: conv (the skip) -> relu -> max pool -> conv -> 2x nearest
    upsampling -> concat(skip, up) -> conv. The skip is used twice; the upsampled branch's
    weights are 8x larger, so its range is too."""
    rng = np.random.default_rng(11)
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("w1", rng.standard_normal((8, 3, 3, 3)) * 0.3), ("b1", rng.standard_normal(8) * 0.2),
        ("w2", rng.standard_normal((8, 8, 3, 3)) * 1.6), ("b2", rng.standard_normal(8) * 0.2),
        ("w3", rng.standard_normal((4, sum(CHANNELS[n] for n in cat), 3, 3)) * 0.2),
        ("scales", np.array([1, 1, 2, 2])))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["skip"], pads=[1] * 4),
        helper.make_node("Relu", ["skip"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w2", "b2"], ["c2"], pads=[1] * 4),
        helper.make_node("Resize", ["c2", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Concat", list(cat), ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w3"], ["y"], pads=[1] * 4),
    ]
    graph = helper.make_graph(
        nodes, "skip", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _assert_bit_exact(imported) -> None:
    module = imported.module.clone()
    package = package_model(imported, PAPER_U200)
    x = np.random.default_rng(3).standard_normal((1, 3, 16, 16), dtype=np.float32)
    (want,) = run_reference(module, imported.weights, [x])
    for cores in (1, 3):
        report = simulate_package(package, [x], PAPER_U200, cores=cores, host=run_host)
        (tenant,) = report.tenants.values()
        assert tenant.fault is None
        np.testing.assert_array_equal(tenant.outputs[0], want, err_msg=f"{cores} cores")


@pytest.mark.parametrize("cat", [("skip", "up"), ("skip", "up", "skip")])
def test_a_shared_concat_input_keeps_its_encoding_and_runs_bit_exact(cat):
    imported = quantize_model(_skip_model(cat), PAPER_U200)
    ops = list(main_function(imported.module).body.block.ops)
    (concat,) = [op for op in ops if isinstance(op, dnn.ConcatOp)]
    (req,) = [op for op in ops if isinstance(op, dnn.RequantizeOp)]  # one per value
    assert [v is req.output for v in concat.inputs] == [n == "skip" for n in cat]
    # the skip's own encoding is finer than the concat's, which must hold the wider upsampled
    # branch as well
    assert dnn.fixed_frac(req.input) > dnn.fixed_frac(concat.output)
    assert (dnn.fixed_frac(req.output), dnn.fixed_zero(req.output)) == (
        dnn.fixed_frac(concat.output), dnn.fixed_zero(concat.output))
    _assert_bit_exact(imported)


def test_a_shared_float_input_is_quantized_straight_into_the_concat_encoding():
    """The network's input, used by the first conv and the concat, is quantized twice (once
    per encoding: one rounding each) rather than requantized."""
    imported = quantize_model(_skip_model(("x", "up")), PAPER_U200)
    ops = list(main_function(imported.module).body.block.ops)
    (concat,) = [op for op in ops if isinstance(op, dnn.ConcatOp)]
    (x,) = main_function(imported.module).args
    quantizes = [op for op in ops if isinstance(op, dnn.QuantizeOp) and op.input is x]
    assert not [op for op in ops if isinstance(op, dnn.RequantizeOp)]
    assert len(quantizes) == 2 and concat.inputs[0] in [q.output for q in quantizes]
    assert len({(dnn.fixed_frac(q.output), dnn.fixed_zero(q.output)) for q in quantizes}) == 2
    _assert_bit_exact(imported)
