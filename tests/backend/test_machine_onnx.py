"""The ONNX Backend API's "SIM" device (`fvir.onnx_backend`): compiles and simulates; fp32 mode
matches onnxruntime, int8 mode agrees with fvir's int8 reference; options are per device."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from fvir import onnx_backend
from fvir.compiler import quantize_model
from fvir.errors import UserError
from fvir.hw import TINY
from fvir.reference.int8 import run as run_reference

from .test_machine import tiny_cnn


def _ort(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


X = np.random.default_rng(2).standard_normal((1, 3, 16, 16), dtype=np.float32)


def test_sim_device_fp32_matches_onnxruntime():
    model = tiny_cnn()
    assert onnx_backend.supports_device("SIM") and onnx_backend.supports_device("sim:0")
    rep = onnx_backend.prepare(model, device="SIM", cores=3, hw="tiny", dtype="fp32")
    (y,) = rep.run([X])
    (want,) = _ort(model, X)
    assert np.abs(y - want).max() <= 1e-5 * np.abs(want).max()
    report = rep.last_report
    assert report.mode == "fp32" and report.cycles > 0
    assert sorted(report.cores) == [0, 1, 2]


def test_sim_device_int8_is_the_quantized_model():
    model = tiny_cnn()
    rep = onnx_backend.prepare(model, device="SIM", hw=TINY, cores=2)
    (y,) = rep.run({"x": X})
    imported = quantize_model(model, TINY)  # as compile_model does
    (want,) = run_reference(imported.module, imported.weights, [X])
    np.testing.assert_array_equal(y, want)
    # compiled once per input shape: a second run reuses the package
    (package,) = rep.compiled.values()
    rep.run([X])
    assert list(rep.compiled.values()) == [package]


def test_options_are_per_device():
    with pytest.raises(UserError, match=r"unknown backend option\(s\) \['cores'\] for device "
                                        r"'CPU'"):
        onnx_backend.prepare(tiny_cnn(), device="CPU", cores=2)
    with pytest.raises(UserError, match=r"unknown backend option\(s\) \['threads'\]"):
        onnx_backend.prepare(tiny_cnn(), device="SIM", threads=2)
    with pytest.raises(UserError, match="dtype must be 'int8' or 'fp32'"):
        onnx_backend.prepare(tiny_cnn(), device="SIM", dtype="fp16")
