"""int8 accuracy against fp32: the `compare` measure, and every zoo CNN through the whole
static pipeline (import, fold-bn, fuse, canonicalize, quantize with seeded calibration) on a
fresh input the calibration never saw.

The target is cosine >= 0.99. MobileNetV2 and ResNet-50 miss it, for a measured reason that
`test_zoo_sensitivity` pins down: in fp32, quantizing the model *input* alone to int8 at its best
exponent already costs them ~0.008 of cosine (ResNet-18, VGG-16, GoogLeNet: < 0.0002), because
these random-weight, BatchNorm-calibrated models amplify input perturbations ~13-fold. They are
expected failures of the target (strict: one that reaches it must leave the list) with a floor
that still catches regressions. docs/quantization.md has the figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from fvir.quant.accuracy import compare
from fvir.tools.accuracy import zoo_accuracy

TARGET = 0.99
BELOW_TARGET = {"mobilenetv2": 0.96, "mobilenetv3": 0.975, "resnet50": 0.975}
# measured: 0.967, 0.980 and 0.980
CNNS = ["vgg16", "resnet18", "resnet50", "mobilenetv2", "mobilenetv3", "googlenet"]


def test_compare():
    a = [np.array([1.0, 2.0]), np.array([[3.0]])]
    assert compare(a, [np.array([2.0, 4.0]), np.array([[6.0]])]).cosine == pytest.approx(1.0)
    acc = compare(a, [np.array([2.0, 4.0]), np.array([[6.0]])])
    assert acc.max_abs_err == 3.0  # |3 - 6|
    assert acc["cosine"] == acc.cosine
    orthogonal = compare([np.array([1.0, 0.0])], [np.array([0.0, 1.0])])
    assert orthogonal.cosine == 0.0 and orthogonal.max_abs_err == 1.0
    # cos(45 degrees) between [1, 0] and [1, 1]
    assert compare([np.array([1.0, 0.0])], [np.array([1.0, 1.0])]).cosine == pytest.approx(2**-0.5)
    assert compare([np.zeros(3)], [np.zeros(3)]).cosine == 1.0
    assert compare([np.zeros(3)], [np.ones(3)]).cosine == 0.0
    with pytest.raises(ValueError, match="outputs"):
        compare([np.zeros(3)], [np.zeros(3), np.zeros(1)])


@pytest.mark.parametrize("name", CNNS)
def test_zoo_int8_accuracy(name):
    result = zoo_accuracy(name)
    cosine = result.accuracy.cosine
    print(f"{name}: cosine {cosine:.5f}, max abs error {result.accuracy.max_abs_err:.4f}")
    if name not in BELOW_TARGET:
        assert cosine >= TARGET
        return
    assert cosine >= BELOW_TARGET[name], "int8 accuracy regressed"
    assert cosine < TARGET, f"{name} meets the target now: drop it from BELOW_TARGET"
    pytest.xfail(f"{name}: cosine {cosine:.4f} < {TARGET} (see test_zoo_sensitivity)")


@pytest.mark.parametrize(("name", "sensitive"), [("resnet18", False), ("mobilenetv2", True)])
def test_zoo_sensitivity(name, sensitive):
    """fp32 only: round the input to int8 at F = 5 (0.9 % relative error) and compare."""
    from xdsl.context import Context

    from fvir import zoo
    from fvir.frontend.onnx import import_model
    from fvir.passes.dnn_fold_batchnorm import fold_batchnorm
    from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
    from fvir.reference.int8 import run

    imported = import_model(zoo.build(name))
    fold_batchnorm(imported.module, imported.weights)
    DnnFuseActivationPass().apply(Context(), imported.module)
    x = np.random.default_rng(1234).standard_normal((1, 3, 224, 224)).astype(np.float32)
    xq = (np.clip(np.floor(x * 32 + 0.5), -128, 127) / 32).astype(np.float32)
    cosine = compare(
        run(imported.module, imported.weights, [x]), run(imported.module, imported.weights, [xq])
    ).cosine
    if sensitive:
        assert cosine < 0.995  # measured 0.9933: the int8 input alone uses most of the budget
    else:
        assert cosine > 0.9998  # measured 0.9999
