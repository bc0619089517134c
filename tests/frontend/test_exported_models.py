"""Real exported models that ship, offline, in the onnx wheel, imported and run by fvir.

`light/*.onnx`: nine ImageNet CNNs (Caffe2 exports at opset 9: Conv, BatchNormalization, Sum,
LRN, Dropout, Reshape, Concat, Transpose, ...). ONNX replaced every large weight by
ConstantOfShape(0.02) to keep the wheel small, so as shipped their outputs are constant (the
softmax is 1/1000 everywhere, DenseNet's pooled features are all 0.461) and matching them shows
little. So each model is checked three ways:

1. as shipped, against onnxruntime on a seeded random input and against ONNX's stored expected
   output (for the input ONNX's runner feeds: arange(n) / n);
2. structurally: the imported compute ops, kind by kind, match the ONNX graph's nodes;
3. with every ConstantOfShape weight replaced by a seeded random one (He-scaled), against
   onnxruntime, asserting the outputs vary; the logits before the final Softmax are compared
   too, as a saturated softmax would only check the arg max.

`pytorch-converted/` and `pytorch-operator/`: PyTorch's opset 6-9 exports of single modules and
operators, each with an input and PyTorch's output, run through fvir's ONNX Backend API. The
cases fvir does not support are listed with why; they must fail with a one-line UserError.

Errors are max |fvir - reference| / max |reference| (<= 1e-4) for the light models, and
assert_allclose (rtol 1e-4, atol 1e-6) against PyTorch's outputs.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from fvir import onnx_backend
from fvir.errors import UserError
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.ir import dnn
from fvir.reference.int8 import run

DATA = Path(onnx.__file__).parent / "backend/test/data"
LIGHT = sorted((DATA / "light").glob("light_*.onnx"))
MAX_REL_ERROR = 1e-4

# The two with the largest classifiers (VGG-19: 0.5 GB of float32 weights) run under the `slow`
# marker; the other seven take about 25 s.
SLOW = {"light_vgg19", "light_zfnet512"}

# ONNX op -> the dnn op it imports as (a host op as "dnn.host:<OpType>"); ops that import as
# nothing or as shape bookkeeping (Dropout, Reshape, Unsqueeze, ConstantOfShape) are not counted.
DNN_OP = {
    "Conv": "dnn.conv2d",
    "Gemm": "dnn.dense",
    "MaxPool": "dnn.pool2d",
    "AveragePool": "dnn.pool2d",
    "GlobalAveragePool": "dnn.global_pool",
    "BatchNormalization": "dnn.batchnorm",
    "Relu": "dnn.relu",
    "LRN": "dnn.host:LRN",
    "Concat": "dnn.concat",
    "Sum": "dnn.sum",
    "Mul": "dnn.mul",
    "Add": "dnn.add",
    "Transpose": "dnn.transpose",
    "Softmax": "dnn.softmax",
}

_3D_CONV = "3-D convolution: dnn.conv2d covers 1-D and 2-D only"
_3D_POOL = "3-D pooling: dnn.pool2d covers 1-D and 2-D windows only"
UNSUPPORTED: dict[str, str] = {
    "pytorch-converted/test_AvgPool3d": _3D_POOL,
    "pytorch-converted/test_AvgPool3d_stride": _3D_POOL,
    "pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input": _3D_POOL,
    "pytorch-converted/test_MaxPool3d": _3D_POOL,
    "pytorch-converted/test_MaxPool3d_stride": _3D_POOL,
    "pytorch-converted/test_MaxPool3d_stride_padding": _3D_POOL,
    "pytorch-converted/test_Conv3d": _3D_CONV,
    "pytorch-converted/test_Conv3d_dilated": _3D_CONV,
    "pytorch-converted/test_Conv3d_dilated_strided": _3D_CONV,
    "pytorch-converted/test_Conv3d_groups": _3D_CONV,
    "pytorch-converted/test_Conv3d_no_bias": _3D_CONV,
    "pytorch-converted/test_Conv3d_stride": _3D_CONV,
    "pytorch-converted/test_Conv3d_stride_padding": _3D_CONV,
}
"""PyTorch cases fvir knowingly does not run, with why."""

PYTORCH = sorted(
    f"{p.parent.parent.name}/{p.parent.name}"
    for kind in ("pytorch-converted", "pytorch-operator")
    for p in (DATA / kind).glob("*/model.onnx")
)


# ------------------------------------------------------------------------------ helpers


def rel_error(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape and got.dtype == want.dtype
    return float(np.abs(got - want).max() / np.abs(want).max())


def graph_inputs(m: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The real inputs (these IR-3 models also list every initializer as an input)."""
    initializers = {t.name for t in m.graph.initializer}
    return [i for i in m.graph.input if i.name not in initializers]


def shape_of(info: onnx.ValueInfoProto) -> tuple[int, ...]:
    return tuple(d.dim_value for d in info.type.tensor_type.shape.dim)


def fvir_run(m: onnx.ModelProto | ImportedModel, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    imported = m if isinstance(m, ImportedModel) else import_model(m)
    return list(run(imported.module, imported.weights, [feeds[n] for n in imported.input_names]))


def ort_run(m: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # unused initializers in the Caffe2 exports: noise
    sess = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def random_feeds(m: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i.name: rng.random(shape_of(i), np.float32) for i in graph_inputs(m)}


def random_weights(m: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """`m` with each ConstantOfShape weight replaced by a seeded random initializer: He-scaled
    normal for weights (rank >= 2, fan-in = the product of all but the first dim), uniform in
    [0.5, 1.5] for vectors (biases and BatchNormalization parameters, variances positive)."""
    rng = np.random.default_rng(seed)
    shapes = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    kept, weights = [], []
    for node in m.graph.node:
        if node.op_type != "ConstantOfShape":
            kept.append(node)
            continue
        shape = tuple(int(d) for d in shapes[node.input[0]])
        if len(shape) >= 2:
            std = np.float32(math.sqrt(2 / math.prod(shape[1:])))
            value = rng.standard_normal(shape, dtype=np.float32) * std
        else:
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        weights.append(numpy_helper.from_array(value, node.output[0]))
    out = onnx.ModelProto()
    out.CopyFrom(m)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    out.graph.initializer.extend(weights)
    # IR version 3: every initializer is also a graph input.
    out.graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in weights
    )
    return out


def with_logits(m: onnx.ModelProto) -> onnx.ModelProto:
    """`m` with the input of the Softmax that makes its output as a second output."""
    (output,) = [o.name for o in m.graph.output]
    softmax = [n for n in m.graph.node if n.op_type == "Softmax" and n.output[0] == output]
    if not softmax:
        return m
    out = onnx.ModelProto()
    out.CopyFrom(m)
    out.graph.output.append(onnx.ValueInfoProto(name=softmax[0].input[0]))
    return out


def light_params(slow: set[str]) -> list:
    return [
        pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in slow else [])
        for p in LIGHT
    ]


# -------------------------------------------------------------------------- light models


def test_all_light_models_are_found() -> None:
    assert [p.stem for p in LIGHT] == [
        "light_bvlc_alexnet",
        "light_densenet121",
        "light_inception_v1",
        "light_inception_v2",
        "light_resnet50",
        "light_shufflenet",
        "light_squeezenet",
        "light_vgg19",
        "light_zfnet512",
    ]


def assert_close_given_logits(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    """`got` matches `want` (outputs of a `with_logits` model) within MAX_REL_ERROR, except that
    a Softmax output may differ by what its logits' difference explains.

    Softmax's Jacobian p_i (delta_ij - p_j) bounds |dp| by 2 max p max|dz| to first order, so
    probabilities are held to MAX_REL_ERROR + 2 max|dz|. The as-shipped weights drive some
    logits to ~1e10, where two float32 accumulation orders differ by thousands: there the
    probabilities are not determined by float32 arithmetic at all, and only the logits (checked
    to MAX_REL_ERROR) say whether the network was computed right.
    """
    assert len(got) == len(want)
    for ours, theirs in zip(got[1:], want[1:], strict=True):
        assert rel_error(ours, theirs) <= MAX_REL_ERROR
    slack = 2 * max((float(np.abs(o - t).max()) for o, t in zip(got[1:], want[1:], strict=True)),
                    default=0.0)
    assert rel_error(got[0], want[0]) <= MAX_REL_ERROR + slack


@pytest.mark.parametrize("path", light_params(SLOW))
def test_light_model_as_shipped(path: Path) -> None:
    m = with_logits(onnx.load(path))
    assert m.opset_import[0].version == 9
    imported = import_model(m)
    feeds = random_feeds(m, seed=0)
    assert_close_given_logits(fvir_run(imported, feeds), ort_run(m, feeds))

    # ONNX's stored output, for the input its backend runner generates for these models; its
    # logits are not stored, so onnxruntime's stand in for them.
    (info,) = graph_inputs(m)
    n = math.prod(shape_of(info))
    x = (np.arange(n).reshape(shape_of(info)) / n).astype(np.float32)
    stored = numpy_helper.to_array(onnx.load_tensor(path.with_name(f"{path.stem}_output_0.pb")))
    want = [stored, *ort_run(m, {info.name: x})[1:]]
    assert_close_given_logits(fvir_run(imported, {info.name: x}), want)


@pytest.mark.parametrize("path", light_params(SLOW))
def test_light_model_imports_every_layer(path: Path) -> None:
    m = onnx.load(path)
    imported = import_model(m)
    (fn,) = imported.module.body.block.ops
    ops = Counter(
        f"dnn.host:{op.op_type.data}" if isinstance(op, dnn.HostOp) else op.name
        for op in fn.body.block.ops
    )
    want = Counter(DNN_OP[n.op_type] for n in m.graph.node if n.op_type in DNN_OP)
    # An image times (plus) a constant of one value per channel is a 1x1 depthwise conv: such
    # a Mul or Add counts as the extra convs.
    extra = ops["dnn.conv2d"] - want["dnn.conv2d"]
    assert 0 <= extra <= want["dnn.mul"] + want["dnn.add"]
    assert ops["dnn.mul"] + ops["dnn.add"] + extra == want["dnn.mul"] + want["dnn.add"]
    for k in ("dnn.conv2d", "dnn.mul", "dnn.add"):
        want.pop(k, None)
    assert {k: ops[k] for k in want} == dict(want)
    assert ops["dnn.weight"] >= sum(n.op_type == "ConstantOfShape" for n in m.graph.node)


@pytest.mark.parametrize("path", light_params(SLOW))
def test_light_model_with_random_weights(path: Path) -> None:
    m = with_logits(random_weights(onnx.load(path), seed=1))
    feeds = random_feeds(m, seed=2)
    got, want = fvir_run(m, feeds), ort_run(m, feeds)
    assert len(got) == len(want) == len(m.graph.output)
    for ours, theirs in zip(got, want, strict=True):
        assert np.ptp(theirs) > 0.1 * np.abs(theirs).max()  # not a constant output
        assert rel_error(ours, theirs) <= MAX_REL_ERROR


# ----------------------------------------------------------------------- PyTorch exports


def load_case(case: str) -> tuple[onnx.ModelProto, list[np.ndarray], list[np.ndarray]]:
    folder = DATA / case
    data = folder / "test_data_set_0"

    def tensors(prefix: str) -> list[np.ndarray]:
        paths = sorted(data.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        return [numpy_helper.to_array(onnx.load_tensor(p)) for p in paths]

    return onnx.load(folder / "model.onnx"), tensors("input"), tensors("output")


def test_pytorch_exclusions_are_real_cases() -> None:
    assert len(PYTORCH) == 117
    assert set(UNSUPPORTED) <= set(PYTORCH)


@pytest.mark.parametrize("case", PYTORCH)
def test_pytorch_export(case: str) -> None:
    m, inputs, expected = load_case(case)
    if case in UNSUPPORTED:
        with pytest.raises(UserError) as info:
            onnx_backend.prepare(m, device="CPU").run(inputs)
        assert "\n" not in str(info.value)
        return
    outputs = onnx_backend.prepare(m, device="CPU").run(inputs)
    assert len(outputs) == len(expected)
    for i, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        got = np.asarray(got)
        assert got.dtype == want.dtype and got.shape == want.shape, f"output {i}"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=f"output {i}")
