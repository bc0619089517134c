"""Small ONNX models covering every layer kind the compiler lowers, built with the zoo's
`GraphBuilder` (seeded weights, batchnorm statistics calibrated on a probe input), and helpers
to compile them the way `fvir.compiler.compile_model` does while keeping the quantized module
for the int8 reference executor."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package
from fvir.zoo.builder import GraphBuilder


def _softmax(b: GraphBuilder, x: str) -> str:
    return b._node("Softmax", [x], "probs", b.shapes[x], axis=1)


def residual() -> onnx.ModelProto:
    """7x7/2 conv + bn + relu, 3x3/2 max pool, a strided residual block (3x3/2 and a 1x1/2
    projection), global average pooling, flatten, dense."""
    b = GraphBuilder("residual", seed=1)
    x = b.input("x", (1, 3, 32, 32))
    y = b.relu(b.bn(b.conv(x, 16, 7, 2, 3, bias=False)))
    y = b.maxpool(y, 3, 2, 1)
    a = b.relu(b.bn(b.conv(y, 24, 3, 2, 1, bias=False)))
    a = b.bn(b.conv(a, 32, 3, 1, 1, bias=False))
    s = b.bn(b.conv(y, 32, 1, 2, 0, bias=False))
    y = b.relu(b.add(a, s))
    y = b.flatten(b.global_avgpool(y))
    return b.finish([x], [b.gemm(y, 10, name="logits")])


def mobile() -> onnx.ModelProto:
    """An inverted residual: 1x1 expand + relu6, 3x3 depthwise (stride 1 and 2) + relu6, 1x1
    project, residual add, then a strided depthwise block."""
    b = GraphBuilder("mobile", seed=2)
    x = b.input("x", (1, 8, 20, 20))
    e = b.relu6(b.bn(b.conv(x, 48, 1, bias=False)))
    d = b.relu6(b.bn(b.conv(e, 48, 3, 1, 1, groups=48, bias=False)))
    p = b.bn(b.conv(d, 8, 1, bias=False))
    y = b.add(x, p)
    d2 = b.relu6(b.bn(b.conv(y, 8, 3, 2, 1, groups=8, bias=False)))
    return b.finish([x], [b.conv(d2, 16, 1, name="out")])


def inception() -> onnx.ModelProto:
    """Branches (1x1, 3x3, 5x5, 3x3 max pool + 1x1) concatenated with the block input itself
    (which needs a copy), then ceil-mode pooling and a 1x1 conv."""
    b = GraphBuilder("inception", seed=3)
    x = b.input("x", (1, 12, 15, 15))
    p1 = b.relu(b.conv(x, 8, 1))
    p3 = b.relu(b.conv(b.relu(b.conv(x, 6, 1)), 10, 3, 1, 1))
    p5 = b.relu(b.conv(x, 4, 5, 1, 2))
    pp = b.relu(b.conv(b.maxpool(x, 3, 1, 1), 6, 1))
    y = b.concat([p1, p3, x, p5, pp])
    y = b.maxpool(y, 3, 2, 0, ceil_mode=True)
    return b.finish([x], [b.conv(y, 16, 1, name="out")])


def classifier() -> onnx.ModelProto:
    """VGG's tail: conv, 2x2 max pool, flatten of a 4x4 image (NHWC-permuted dense weights),
    two dense layers, average pooling of a side branch, and a host softmax."""
    b = GraphBuilder("classifier", seed=4)
    x = b.input("x", (1, 16, 8, 8))
    y = b.maxpool(b.relu(b.conv(x, 32, 3, 1, 1)), 2)
    y = b.relu(b.gemm(b.flatten(y), 64))
    y = b.gemm(y, 10)
    return b.finish([x], [_softmax(b, y)])


def host_middle() -> onnx.ModelProto:
    """A host op (LRN) between accelerator layers, and an average pooling."""
    b = GraphBuilder("host_middle", seed=5)
    x = b.input("x", (1, 8, 12, 12))
    y = b.lrn(b.relu(b.conv(x, 16, 3, 1, 1)))
    y = b.avgpool(b.relu(b.conv(y, 16, 3, 1, 1)), 2)
    return b.finish([x], [b.conv(y, 8, 1, name="out")])


def activations() -> onnx.ModelProto:
    """Activations that cannot be fused: clip(0, 6) and relu after pooling (a unit-weight 1x1
    depthwise conv with RELU6, an ACT relu), sigmoid and tanh (ACT lookup tables), and a
    swish-like product y * sigmoid(y) (ELEW mul)."""
    b = GraphBuilder("activations", seed=6)
    x = b.input("x", (1, 8, 12, 12))
    y = b.relu6(b.maxpool(b.conv(x, 16, 3, 1, 1), 2))
    y = b.conv(y, 16, 3, 1, 1)
    s = b._node("Sigmoid", [y], "gate", b.shapes[y])
    y = b._node("Mul", [y, s], "swish", b.shapes[y])
    y = b.relu(b.maxpool(y, 2))
    t = b._node("Tanh", [b.conv(y, 8, 1)], "out", (1, 8, 3, 3))
    return b.finish([x], [t])


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "residual": residual,
    "mobile": mobile,
    "inception": inception,
    "classifier": classifier,
    "host_middle": host_middle,
    "activations": activations,
}


def random_input(model: onnx.ModelProto, seed: int = 7) -> np.ndarray:
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)


def compile_keeping_reference(model: onnx.ModelProto, hw: PoolConfig,
                              min_tiles: int | None = None) -> tuple[Package, ImportedModel]:
    """The package of `model` and its quantized, partitioned module (a copy, untiled)."""
    imported = quantize_model(import_model(model), hw)
    reference = ImportedModel(imported.module.clone(), imported.weights, imported.input_names,
                              imported.output_names)
    return package_model(imported, hw, min_tiles=min_tiles), reference
