"""`fv run --check`'s fp32 verdict (fvir.reference.check): a mismatch on a well-conditioned
model fails; on a model whose output one ulp of input rounding already moves (a Softmax over
logits of ~1e10, as in the light SqueezeNet), it is reported as ill-conditioned, not a failure.
The expected outputs are onnxruntime's and numpy's own arithmetic, not fvir's."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from fvir.reference.check import FP32_MAX_REL_ERR, check_outputs


def _softmax_model(scale: float, spread: float = 1.0) -> tuple:
    """Softmax(x @ w) with w's 8 columns a shared column times `scale` plus noise of
    `spread`: with a large scale and a small spread, the logits are large and ulps apart."""
    rng = np.random.default_rng(3)
    shared = rng.standard_normal((64, 1)) * scale
    w = (shared + rng.standard_normal((64, 8)) * spread * scale).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["l"]),
         helper.make_node("Softmax", ["l"], ["y"], axis=-1)],
        "sm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.standard_normal((1, 64)).astype(np.float32)
    return model, w, x


def _numpy_softmax(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    logits = (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32)
    e = np.exp(logits - logits.max())
    return (e / e.sum()).astype(np.float32)


def test_a_well_conditioned_mismatch_fails():
    model, w, x = _softmax_model(0.1)
    wrong = _numpy_softmax(x, w) * np.float32(1.01)
    check = check_outputs("fp32", [wrong], {"x": x}, model, None)
    assert not check["ok"] and "ill_conditioned" not in check
    assert check["failure"].startswith("fp32 outputs differ from onnxruntime")


def test_a_well_conditioned_match_passes():
    model, w, x = _softmax_model(0.1)
    check = check_outputs("fp32", [_numpy_softmax(x, w)], {"x": x}, model, None)
    assert check["ok"] and check["max_rel_err"] <= FP32_MAX_REL_ERR


def test_an_ill_conditioned_model_is_reported_not_failed():
    model, w, x = _softmax_model(1e9, 1e-7)  # logits ~1e10, a few ulps (~1000) apart
    got = _numpy_softmax(x, w)  # float64 accumulation: another rounding of the same sums
    check = check_outputs("fp32", [got], {"x": x}, model, None)
    assert check["ok"] and check["ill_conditioned"] is True
    assert check["sensitivity"] >= 0.1 * FP32_MAX_REL_ERR
