"""Float per-channel weight scales and the requantization multipliers that carry them
(docs/quantization.md, "Weights"); expected values worked out by hand here."""

from __future__ import annotations

import numpy as np

from fvir.ir import dnn
from fvir.isa import REQUANT_MUL_MAX
from fvir.passes.dnn_quantize import quantize
from fvir.quant import rules

from .test_quantize_pass import ops_of, pipeline, small_cnn


def test_multipliers_take_the_most_precise_shift():
    # 3 * 2**29 / 127 = 12681990.04 fits 24 bits, 3 * 2**30 / 127 does not
    shift, muls = rules.requant_multipliers(np.array([1.5, 3.0]) / 127, REQUANT_MUL_MAX)
    assert (shift, muls) == (29, [6340995, 12681990])
    # a multiplier never rounds to 0: the smallest channel keeps 1
    assert rules.requant_multipliers(np.array([1.0, 2.0**-40]), REQUANT_MUL_MAX) == (23, [
        2**23, 1])
    # far below one: the shift stops at 63
    assert rules.requant_multipliers(np.array([2.0**-50]), REQUANT_MUL_MAX) == (63, [2**13])


def test_weight_scales():
    w = np.array([[0.5, -1.27], [0.0, 0.0], [2.54, 1.0]])
    np.testing.assert_allclose(rules.weight_scales(w, 0, True), [0.01, 1.0, 0.02])
    np.testing.assert_allclose(rules.weight_scales(w, 0, False), [0.02] * 3)
    q, saturated = rules.quantize_weight_by(w, 1 / rules.weight_scales(w, 0, True), 0)
    assert q.tolist() == [[50, -127], [0, 0], [127, 50]] and saturated == 0


def test_every_conv_and_dense_gets_multipliers_and_one_shift():
    m, w = pipeline(small_cnn())
    quantize(m, w)
    layers = [*ops_of(m, dnn.Conv2dOp), *ops_of(m, dnn.DenseOp)]
    assert layers
    for op in layers:
        channels = dnn.shape_of(op.output)[1 if isinstance(op, dnn.Conv2dOp) else -1]
        assert op.mul is not None and len(dnn.ints(op.shift)) == 1
        assert len(dnn.ints(op.mul)) == channels
        assert all(abs(v) <= 127 for v in np.asarray(w[op.weight.owner.sym.data]).ravel())


def test_power_of_two_weights_on_request():
    m, w = pipeline(small_cnn())
    quantize(m, w, float_weights=False)
    assert all(op.mul is None for op in [*ops_of(m, dnn.Conv2dOp), *ops_of(m, dnn.DenseOp)])
