"""ONNX's LSTM / GRU / RNN node tests compiled for the accelerator and run on the simulator.

Every case of the `lstm`, `gru` and `rnn` groups of `test_node_conformance.py` (names
`test_lstm_*`, `test_gru_*`, `test_rnn_*`, `test_simple_rnn_*`). An accelerator takes its
weights at compile time, so each case's model is frozen first: every graph input but X (W, R,
B, sequence_lens, initial_h, initial_c, P) becomes an initializer holding the data set's value.
The frozen model is compiled once for paper-u200 (`quantize_model` + `package_model`: the
compiler's stages, `dnn-unroll-rnn` with one row per chain) and simulated on 1 and 2 cores:

- fp32 mode (the same frames on the float32 weight shadow) against ONNX's expected outputs:
  max |sim - expected| / max |expected| <= 1e-4 per output (the relative error of the output
  as a whole: elementwise relative error is meaningless on values near 0);
- int8 mode bit-exact with the int8 reference executor run on the quantized module.

`PLACEMENT` says where each case's recurrent layer runs: "accelerator" (unrolled into
dense / add / mul / sigmoid / tanh frames) or "host: <reason>" (left fused by
`dnn-unroll-rnn`, run in float on the host); the test checks the compiler agrees, so nothing
falls back silently.
"""

from __future__ import annotations

import functools

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from fvir.backend.machine import simulate_package
from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw import load_hw
from fvir.ir import dnn
from fvir.reference.int8 import run as run_reference
from fvir.reference.int8 import run_host

from .test_node_conformance import all_cases, group_of

MAX_REL = 1e-4
HW = "paper-u200"
CORES = (1, 2)

ACCEL = "accelerator"
PLACEMENT: dict[str, str] = {
    "test_gru_batchwise": ACCEL,  # layout 1: the transposes run on the host
    "test_gru_bidirectional": ACCEL,
    "test_gru_defaults": ACCEL,  # batch 3: one chain per batch row
    "test_gru_reverse": ACCEL,
    "test_gru_seq_length": ACCEL,
    "test_gru_with_initial_bias": ACCEL,
    "test_lstm_batchwise": ACCEL,
    "test_lstm_bidirectional": ACCEL,
    "test_lstm_defaults": ACCEL,
    "test_lstm_reverse": ACCEL,
    "test_lstm_with_initial_bias": ACCEL,
    "test_lstm_with_peepholes": ACCEL,  # sequence_lens = [1, 1] = seq: no masking needed
    "test_rnn_seq_length": ACCEL,
    "test_simple_rnn_batchwise": ACCEL,
    "test_simple_rnn_bidirectional": ACCEL,
    "test_simple_rnn_defaults": ACCEL,
    "test_simple_rnn_reverse": ACCEL,
    "test_simple_rnn_with_initial_bias": ACCEL,
}

_RECURRENT = (dnn.LstmOp, dnn.GruOp, dnn.RnnOp)


def rnn_cases() -> list[str]:
    return sorted(n for n in all_cases() if group_of(n) in ("lstm", "gru", "rnn"))


def freeze(model: onnx.ModelProto, inputs: list[np.ndarray]) -> onnx.ModelProto:
    """`model` with every graph input but the first (X) turned into an initializer."""
    frozen = onnx.ModelProto()
    frozen.CopyFrom(model)
    graph_inputs = list(frozen.graph.input)
    del frozen.graph.input[1:]
    for info, value in zip(graph_inputs[1:], inputs[1:], strict=True):
        frozen.graph.initializer.append(numpy_helper.from_array(np.asarray(value), info.name))
    return frozen


@functools.cache
def compiled(name: str):
    """(package, quantized module, weights, X, expected outputs, placement) of one case."""
    case = all_cases()[name]
    assert case.model is not None and case.data_sets is not None
    ((inputs, expected),) = case.data_sets
    frozen = freeze(case.model, list(inputs))
    hw = load_hw(HW)
    imported = quantize_model(import_model(frozen), hw)
    assert imported.output_names == [o.name for o in frozen.graph.output]
    quantized = imported.module.clone()
    left = [op for op in quantized.walk() if isinstance(op, _RECURRENT)]
    placement = ACCEL if not left else "host"
    package = package_model(imported, hw)
    return package, quantized, imported.weights, np.asarray(inputs[0]), list(expected), placement


def _simulate(name: str, mode: str, cores: int) -> list[np.ndarray]:
    package, _, _, x, _, _ = compiled(name)
    report = simulate_package(package, [x], load_hw(HW), cores=cores, mode=mode, host=run_host)
    (tenant,) = report.tenants.values()
    assert tenant.fault is None, f"{name} {mode} on {cores} cores: {tenant.fault}"
    assert tenant.outputs is not None
    return tenant.outputs


def test_placement_table_covers_every_case() -> None:
    assert sorted(PLACEMENT) == rnn_cases()


@pytest.mark.parametrize("name", rnn_cases())
def test_placement(name: str) -> None:
    """The recurrent layer runs where `PLACEMENT` says (fused ops run on the host)."""
    want = PLACEMENT[name]
    got = compiled(name)[5]
    assert got == want.split(":")[0], f"{name}: runs on the {got}, expected {want}"


@pytest.mark.parametrize("cores", CORES)
@pytest.mark.parametrize("name", rnn_cases())
def test_fp32_matches_expected(name: str, cores: int) -> None:
    expected = compiled(name)[4]
    got = _simulate(name, "fp32", cores)
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a.shape == b.shape, f"output {i}: shape {a.shape}, want {b.shape}"
        rel = float(np.abs(a - b).max() / np.abs(b).max())
        assert rel <= MAX_REL, f"output {i}: max relative error {rel:.2e}"


@pytest.mark.parametrize("cores", CORES)
@pytest.mark.parametrize("name", rnn_cases())
def test_int8_bit_exact_with_reference(name: str, cores: int) -> None:
    _, quantized, weights, x, _, _ = compiled(name)
    want = run_reference(quantized, weights, [x])
    got = _simulate(name, "int8", cores)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"output {i}")


@pytest.mark.parametrize("name", ["test_lstm_bidirectional", "test_gru_defaults"])
def test_onnx_backend_runs_recurrent_models_on_the_simulator(name: str) -> None:
    """The Backend API's SIM device takes an RNN model like a CNN: compile, link, simulate."""
    from fvir.onnx_backend import FvirBackend

    case = all_cases()[name]
    assert case.model is not None and case.data_sets is not None
    ((inputs, expected),) = case.data_sets
    rep = FvirBackend.prepare(freeze(case.model, list(inputs)), device="SIM", cores=2,
                              dtype="fp32")
    got = rep.run([np.asarray(inputs[0])])
    assert rep.last_report is not None and rep.last_report.cycles > 0
    for a, b in zip(got, expected, strict=True):
        assert float(np.abs(a - b).max() / np.abs(b).max()) <= MAX_REL
