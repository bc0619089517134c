"""Convolutions beyond the ISA's kernel, stride and pad fields (a ViT's 16x16/16 patch
embedding, large kernels, wide strides and pads) import as one convolution within the fields
(`fvir.frontend.translate.wide_conv`) that computes what onnxruntime computes for the original
node; convolutions the rewrite cannot take are left unchanged."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.frontend.onnx import import_model
from fvir.frontend.values import shape_of
from fvir.hw.capability import CONV_DILATION, CONV_KERNEL, CONV_PADS, CONV_STRIDE
from fvir.ir import dnn
from fvir.reference.int8 import run


def conv_model(x_shape, w_shape, seed: int = 0, bias: bool = True, **attrs) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal(w_shape).astype(np.float32), "w")]
    inputs = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(w_shape[0]).astype(np.float32),
                                             "b"))
        inputs.append("b")
    node = helper.make_node("Conv", inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def convs(model: onnx.ModelProto) -> list[dnn.Conv2dOp]:
    imported = import_model(model)
    return [op for op in imported.module.walk() if isinstance(op, dnn.Conv2dOp)]


def fits(op: dnn.Conv2dOp) -> bool:
    kernel = shape_of(op.weight)[2:]
    return (
        all(CONV_KERNEL.lo <= k <= CONV_KERNEL.hi for k in kernel)
        and all(CONV_STRIDE.lo <= s <= CONV_STRIDE.hi for s in dnn.ints(op.strides))
        and all(CONV_PADS.lo <= p <= CONV_PADS.hi for p in dnn.ints(op.pads))
        and all(CONV_DILATION.lo <= d <= CONV_DILATION.hi for d in dnn.ints(op.dilations))
    )


CASES = {
    "vit patch 16x16/16": ((1, 3, 32, 48), (8, 3, 16, 16), {"strides": [16, 16]}),
    "17x17, pad 8": ((1, 4, 20, 18), (6, 4, 17, 17), {"pads": [8, 8, 8, 8]}),
    "31x31 / 2, pad 15": ((1, 2, 23, 21), (3, 2, 31, 31), {"strides": [2, 2], "pads": [15] * 4}),
    "3x20 / (1, 3), asymmetric pads": (
        (1, 3, 9, 40), (4, 3, 3, 20), {"strides": [1, 3], "pads": [1, 9, 0, 4]}),
    "stride 16": ((1, 4, 40, 37), (5, 4, 3, 3), {"strides": [16, 16], "pads": [1, 1, 1, 1]}),
    "stride 17, kernel 20, ragged": ((1, 2, 45, 50), (3, 2, 20, 20), {"strides": [17, 17]}),
    "pads 16": ((1, 2, 5, 6), (3, 2, 3, 3), {"pads": [16, 0, 2, 17]}),
    "kernel 17, dilation 2": ((1, 2, 40, 36), (3, 2, 17, 5), {"dilations": [2, 1]}),
    "same_upper 18x18": ((1, 2, 19, 20), (3, 2, 18, 18), {"auto_pad": "SAME_UPPER"}),
    "1-D kernel 20": ((1, 3, 50), (4, 3, 20), {"strides": [2], "pads": [3, 9]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rewritten_conv_fits_the_fields_and_matches_onnxruntime(case: str) -> None:
    x_shape, w_shape, attrs = CASES[case]
    model = conv_model(x_shape, w_shape, bias=case != "pads 16", **attrs)
    ops = convs(model)
    assert len(ops) == 1 and fits(ops[0])
    x = np.random.default_rng(1).standard_normal(x_shape).astype(np.float32)
    imported = import_model(model)
    (got,) = run(imported.module, imported.weights, [x])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "attrs"),
    [
        ((1, 4, 20, 20), (4, 1, 17, 17), {"group": 4, "pads": [8] * 4}),  # grouped
        ((1, 2, 40, 40), (3, 2, 3, 3), {"dilations": [16, 1]}),  # dilation beyond the field
        ((1, 2, 40, 40), (3, 2, 17, 3), {"dilations": [2, 1], "strides": [2, 1]}),
        ((2, 2, 20, 20), (3, 2, 17, 17), {}),  # batch 2: not an accelerator layer anyway
        ((1, 1, 70, 70), (1, 1, 61, 61), {}),  # 25 stacked copies: more than MAX_COPIES
    ],
)
def test_convs_the_rewrite_cannot_take_stay_as_they_are(x_shape, w_shape, attrs) -> None:
    (op,) = convs(conv_model(x_shape, w_shape, **attrs))
    assert tuple(shape_of(op.weight)) == w_shape and not fits(op)


def test_convs_within_the_fields_are_not_rewritten() -> None:
    (op,) = convs(conv_model((1, 3, 20, 20), (4, 3, 15, 15), strides=[15, 15], pads=[15] * 4))
    assert tuple(shape_of(op.weight)) == (4, 3, 15, 15)
