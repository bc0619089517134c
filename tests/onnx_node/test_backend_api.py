"""The ONNX Backend API surface of `fvir.onnx_backend`: devices, input binding, output order,
run-time import for dynamic shapes and shape-deciding inputs, and user errors. Expected
values come from onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from fvir import onnx_backend
from fvir.errors import UserError
from fvir.onnx_backend import FvirBackend


def _model(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _two_outputs() -> onnx.ModelProto:
    """y = sigmoid(relu(x) @ w), z = relu(x), declared as outputs (z, y)."""
    w = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    return _model(
        [
            helper.make_node("Relu", ["x"], ["z"]),
            helper.make_node("MatMul", ["z", "w"], ["m"]),
            helper.make_node("Sigmoid", ["m"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4]),
        ],
        [onnx.numpy_helper.from_array(w, "w")],
    )


X = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)


def test_devices() -> None:
    assert FvirBackend.supports_device("CPU")
    assert onnx_backend.supports_device("CPU:0")
    assert not onnx_backend.supports_device("CUDA")
    with pytest.raises(UserError, match="unsupported device 'CUDA'"):
        onnx_backend.prepare(_two_outputs(), device="CUDA")


@pytest.mark.parametrize("how", ["list", "dict", "array"])
def test_run_outputs_in_onnx_order(how: str) -> None:
    model = _two_outputs()
    rep = onnx_backend.prepare(model)
    inputs = {"list": [X], "dict": {"x": X}, "array": X}[how]
    got = rep.run(inputs)
    want = _ort(model, {"x": X})
    assert len(got) == 2
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)
    np.testing.assert_array_equal(got["y"], got[1])  # also by output name


def test_run_model() -> None:
    model = _two_outputs()
    got = onnx_backend.run_model(model, [X])
    np.testing.assert_allclose(got[1], _ort(model, {"x": X})[1], rtol=1e-5)


def test_dynamic_batch_is_imported_per_shape() -> None:
    model = _model(
        [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    )
    rep = onnx_backend.prepare(model)
    for batch in (1, 4, 1):
        x = np.random.default_rng(batch).standard_normal((batch, 3)).astype(np.float32)
        (got,) = rep.run([x])
        np.testing.assert_allclose(got, _ort(model, {"x": x})[0], rtol=1e-5)


def test_shape_input_is_specialized_per_value() -> None:
    model = _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])],
    )
    rep = onnx_backend.prepare(model)
    for shape in ([3, 2], [1, 6], [3, 2]):
        (got,) = rep.run([X, np.array(shape, np.int64)])
        np.testing.assert_array_equal(got, X.reshape(shape))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([X, X], "takes 1 input"),
        ({"nope": X}, "missing model input"),
        ({"x": X, "nope": X}, "unknown model input"),
        ([X.astype(np.float64)], "dtype float64"),
        ([X[:1]], "shape 1x3"),
    ],
)
def test_input_errors(inputs, message: str) -> None:
    with pytest.raises(UserError, match=message):
        onnx_backend.prepare(_two_outputs()).run(inputs)


def test_option_and_model_errors() -> None:
    with pytest.raises(UserError, match="unknown backend option"):
        onnx_backend.prepare(_two_outputs(), fast=True)
    with pytest.raises(UserError, match="unknown run option"):
        onnx_backend.prepare(_two_outputs()).run([X], fast=True)
    bad = _two_outputs()
    bad.graph.node[1].input[1] = "undefined"
    with pytest.raises(UserError, match="invalid ONNX model"):
        onnx_backend.prepare(bad)


def test_tensorproto_inputs_are_converted() -> None:
    """ONNX's own test data holds some inputs as TensorProto (Cast's special values)."""
    (z, y) = onnx_backend.prepare(_two_outputs()).run([onnx.numpy_helper.from_array(X)])
    want_z, want_y = _ort(_two_outputs(), {"x": X})
    np.testing.assert_allclose(y, want_y, rtol=1e-5)
    np.testing.assert_array_equal(z, want_z)


def test_sequence_input_is_a_user_error() -> None:
    ragged = [np.zeros((2, 3), np.float32), np.zeros(4, np.float32)]
    with pytest.raises(UserError, match="input 'x' is not a tensor"):
        onnx_backend.prepare(_two_outputs()).run([ragged])


def test_sim_device_keeps_output_types_and_reports_compile_limits() -> None:
    """The SIM device returns each output in its model type, as the CPU device does, and a
    model the compiler cannot fit to the hardware is a one-line UserError."""
    x = np.arange(6, dtype=np.float64).reshape(1, 6)
    model = _model([helper.make_node("Relu", ["x"], ["y"]),
                    helper.make_node("ArgMax", ["y"], ["a"], axis=1)],
                   [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 6])],
                   [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, 6]),
                    helper.make_tensor_value_info("a", TensorProto.INT64, [1, 1])])
    sim = FvirBackend.prepare(model, "SIM", hw="tiny").run([x])
    cpu = FvirBackend.prepare(model, "CPU").run([x])
    for got, want, ort_out in zip(sim, cpu, _ort(model, {"x": x}), strict=True):
        assert got.dtype == want.dtype == ort_out.dtype
        np.testing.assert_array_equal(got, ort_out)
    # One channel of a 100 x 100 average pooling window exceeds tiny's 8 KiB fmap buffer.
    big = _model([helper.make_node("Relu", ["x"], ["r"]),
                  helper.make_node("AveragePool", ["r"], ["y"], kernel_shape=[100, 100])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 100, 100])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1, 1])])
    rep = FvirBackend.prepare(big, "SIM", hw="tiny")
    with pytest.raises(UserError, match=r"cannot compile the model for tiny: .*fits the core"):
        rep.run([np.zeros((1, 4, 100, 100), np.float32)])
