"""Zero points (asymmetric int8, docs/quantization.md): the quantizer's choice and the
calibration error of an (F, Z) candidate.

Expected values are worked out here from the contract's definitions, not read from the code
under test. The backend's side (the input's zero point folded into the biases) is in
tests/compiler/test_zero_point_fold.py; bit-exactness of the simulator against the int8
reference with zero points is checked by every end-to-end test (they are the default).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fvir.calibration import quantization_errors
from fvir.frontend.onnx import import_model
from fvir.ir import dnn
from fvir.ir.functions import main_function
from fvir.passes.dnn_quantize import quantize

from .test_quantize_pass import ops_of, pipeline, small_cnn


def _relu_conv(pads: int) -> onnx.ModelProto:
    """x -> conv(3x3, bias) -> relu -> conv(3x3) -> y."""
    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("w1", rng.standard_normal((6, 3, 3, 3)) * 0.3), ("b1", rng.standard_normal(6) * 0.2),
        ("w2", rng.standard_normal((4, 6, 3, 3)) * 0.3))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[pads] * 4),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["y"], pads=[pads] * 4)]
    graph = helper.make_graph(
        nodes, "relu_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_one_sided_tensors_get_a_zero_point_and_a_finer_grid():
    m, w = pipeline(small_cnn())
    report = quantize(m, w)
    m.verify()
    # a relu output holds no negative value: centring [0, max] on the codes gives Z < 0 and
    # one bit more than symmetric codes (F0 = 7 - ceil(log2(max / 2)))
    (pool,) = ops_of(m, dnn.Pool2dOp)
    stat = next(t for t in report.tensors if t.name == pool.output.name_hint)
    assert stat.lo >= 0 and dnn.fixed_zero(pool.output) < -64
    assert dnn.fixed_frac(pool.output) >= 7 - int(np.ceil(np.log2(stat.hi)))
    # exact ops keep the encoding, zero point included
    (cat,) = ops_of(m, dnn.ConcatOp)
    assert len({(dnn.fixed_frac(v), dnn.fixed_zero(v)) for v in (*cat.inputs, cat.output)}) == 1
    assert dnn.fixed_zero(pool.input) == dnn.fixed_zero(pool.output)


def test_zero_points_can_be_turned_off():
    m, w = pipeline(small_cnn())
    quantize(m, w, zero_points=False)
    values = [v for op in m.walk() for v in (*op.operands, *op.results)]
    assert any(dnn.fixed_frac(v) is not None for v in values)
    assert all(dnn.fixed_zero(v) == 0 for v in values)


def test_calibration_error_of_an_asymmetric_candidate():
    imported = import_model(_relu_conv(1))
    arg = main_function(imported.module).args[0]
    x = np.zeros((1, 3, 8, 8), np.float32)
    x.flat[:4] = [1.5, -0.5, 0.25, 1.1]
    (c,) = quantization_errors(imported.module, imported.weights, [[x]],
                               {arg: [(6, -32), (6, 0), (7, 100)]}).values()
    # (6, -32): q = round(x 64) - 32 in [-128, 127] for x in [-1.5, 2.48]: only 1.1 is off the
    # grid (70.4 -> 70, error 0.4 / 64)
    assert np.isclose(c.sse[0], (0.4 / 64) ** 2, rtol=1e-5) and c.clipped[0] == 0
    # (6, 0): 1.5 -> 96 fits too; the same single error
    assert np.isclose(c.sse[1], (0.4 / 64) ** 2, rtol=1e-5)
    # (7, 100): codes reach only (127 - 100) / 128 = 0.2109 above zero: 0.25, 1.1 and 1.5 clip
    top = 27 / 128
    want = (1.5 - top) ** 2 + (0.25 - top) ** 2 + (1.1 - top) ** 2
    assert np.isclose(c.sse[2], want, rtol=1e-5) and c.clipped[2] == 3
