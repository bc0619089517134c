"""The zoo's recurrent models (LSTM, GRU, CRNN), compiled for paper-u200 and simulated: int8
outputs bit-exact with the int8 reference executor (the quantized module) on 1, 2, 3, 8 and 16
cores, hence identical to each other, with fewer cycles on more cores; fp32 mode (the same
package on its float32 weight shadow) within 1e-4 of onnxruntime on the float model, measured
as max |simulated - onnxruntime| / max |onnxruntime| over each output.

Each model compiles once for this module (a module-scoped fixture). The compile and the
reference input come from tests/backend/test_machine_zoo.py's `_compile`, which does the same
for the zoo CNNs. CRNN runs entirely on the accelerator but for its input transpose/split
and output reshapes (its bidirectional LSTMs unrolled, its classifier one dense per step).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from backend.test_machine_zoo import _compile, assert_bit_exact_on_cores

from fvir.backend.machine import simulate_package
from fvir.hw import PAPER_U200
from fvir.reference.int8 import run_host

CORES = (1, 2, 3, 8, 16)
MODELS = ("lstm", "gru", "crnn")


@pytest.fixture(scope="module", params=MODELS)
def compiled(request):
    return request.param, *_compile(request.param)


def test_int8_bit_exact_on_every_core_count(compiled):
    name, _, package, module, weights, x = compiled
    assert_bit_exact_on_cores(name, package, module, weights, x, CORES)


def test_fp32_matches_onnxruntime(compiled):
    name, model, package, _, _, x = compiled
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: x})
    report = simulate_package(package, [x], PAPER_U200, cores=3, mode="fp32", host=run_host)
    (tenant,) = report.tenants.values()
    assert tenant.fault is None, f"{name} fp32: {tenant.fault}"
    for got, ref in zip(tenant.outputs, want, strict=True):
        assert got.shape == ref.shape
        rel = np.abs(got - ref).max() / np.abs(ref).max()
        assert rel <= 1e-4, f"{name} fp32: max relative error {rel:.2e}"
