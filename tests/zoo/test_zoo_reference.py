"""Every zoo model imports into dnn IR, and the reference executor matches onnxruntime on it.

The error measure is the maximum absolute difference divided by the largest magnitude of the
onnxruntime output (a relative error that stays meaningful for outputs near zero).
"""

import numpy as np
import pytest

from fvir import zoo
from fvir.frontend.onnx import import_model
from fvir.reference.int8 import run

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name", sorted(zoo.MODELS))
def test_reference_matches_onnxruntime(name):
    model = zoo.build(name)
    imported = import_model(model)
    imported.module.verify()
    rng = np.random.default_rng(1)
    feeds = {}
    for vi in model.graph.input:
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rng.standard_normal(shape, dtype=np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options)
    expected = session.run(None, feeds)
    ours = run(imported.module, imported.weights, [feeds[n] for n in imported.input_names])
    assert len(ours) == len(expected)
    for got, want in zip(ours, expected, strict=True):
        assert got.shape == want.shape
        rel = np.abs(got - want).max() / np.abs(want).max()
        assert rel <= 1e-4, f"{name}: max relative error {rel:.2e}"
