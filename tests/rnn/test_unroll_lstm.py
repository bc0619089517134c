"""dnn-unroll-rnn: unrolled forward LSTMs equal the fused op (fp32, against onnxruntime), keep
int8 accuracy on the zoo LSTM, and compile to frames that match the int8 reference bit-exactly."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir import zoo
from fvir.backend.functional import run_package
from fvir.backend.machine import Machine
from fvir.calibration import random_inputs
from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw.toml import load_hw
from fvir.ir import dnn
from fvir.passes.dnn_quantize import quantize
from fvir.passes.dnn_unroll_rnn import unroll
from fvir.quant.accuracy import compare
from fvir.reference.int8 import run, run_host

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def lstm_model(seq: int, batch: int, inp: int, hid: int, *, layers: int = 1,
               states: bool = False, seed: int = 0, op_type: str = "LSTM",
               **attrs: object) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)

    def arr(name: str, scale: float, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, scale, shape).astype(np.float32), name)

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])
    nodes, inits, cur, width = [], [], "x", inp
    for k in range(layers):
        names = [f"W{k}", f"R{k}", f"B{k}"]
        g = GATES[op_type]
        inits += [arr(names[0], 0.4, 1, g * hid, width), arr(names[1], 0.4, 1, g * hid, hid),
                  arr(names[2], 0.2, 1, 2 * g * hid)]
        ins = [cur, *names]
        if states:
            inits += [arr(f"h{k}", 0.5, 1, batch, hid)]
            ins += ["", f"h{k}"]
            if op_type == "LSTM":
                inits += [arr(f"c{k}", 0.5, 1, batch, hid)]
                ins += [f"c{k}"]
        outs = [f"y{k}", f"yh{k}", f"yc{k}"][: 3 if op_type == "LSTM" else 2]
        nodes.append(helper.make_node(op_type, ins, outs, hidden_size=hid, **attrs))
        inits.append(numpy_helper.from_array(np.array([seq, batch, hid], np.int64), f"s{k}"))
        nodes.append(helper.make_node("Reshape", [f"y{k}", f"s{k}"], [f"z{k}"]))
        cur, width = f"z{k}", hid
    last = (cur, f"yh{layers - 1}", f"yc{layers - 1}")[: 3 if op_type == "LSTM" else 2]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in last]
    graph = helper.make_graph(nodes, "lstm", [x], outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("gemm", [False, True])
@pytest.mark.parametrize(("seq", "batch", "layers", "states"),
                         [(1, 1, 1, False), (5, 1, 2, False), (4, 3, 1, True), (6, 2, 2, True)])
def test_unrolled_lstm_matches_onnxruntime(seq, batch, layers, states, gemm):
    model = lstm_model(seq, batch, 4, 5, layers=layers, states=states)
    imported = import_model(model)
    m, w = imported.module, imported.weights
    assert unroll(m, w, gemm=gemm) == []
    m.verify()
    assert not any(isinstance(op, dnn.LstmOp) for op in m.walk())
    x = np.random.default_rng(1).normal(size=(seq, batch, 4)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got = run(m, w, {"x": x})
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-6)


CELLS = [("GRU", {}), ("GRU", {"linear_before_reset": 1}), ("RNN", {}),
         ("RNN", {"activations": ["Relu"]})]


@pytest.mark.parametrize("gemm", [False, True])
@pytest.mark.parametrize(("op_type", "attrs"), CELLS)
@pytest.mark.parametrize(("seq", "batch", "layers", "states"),
                         [(1, 1, 1, False), (5, 1, 2, False), (4, 3, 2, True)])
def test_unrolled_gru_and_rnn_match_onnxruntime(op_type, attrs, seq, batch, layers, states, gemm):
    model = lstm_model(seq, batch, 4, 5, layers=layers, states=states, op_type=op_type, **attrs)
    imported = import_model(model)
    m, w = imported.module, imported.weights
    assert unroll(m, w, gemm=gemm) == []
    m.verify()
    x = np.random.default_rng(1).normal(size=(seq, batch, 4)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got = run(m, w, {"x": x})
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-6)


def test_unsupported_variants_stay_fused():
    model = lstm_model(3, 1, 4, 5, activations=["HardSigmoid", "Tanh", "Tanh"])
    imported = import_model(model)
    left = unroll(imported.module, imported.weights)
    assert [why for _, why in left] == ["activations ['hardsigmoid', 'tanh', 'tanh']"]


def test_zoo_lstm_int8_accuracy():
    imported = import_model(zoo.build("lstm"))
    m, w = imported.module, imported.weights
    ref = m.clone()
    unroll(m, w)
    quantize(m, w)
    (x,) = random_inputs(ref, 1234, 1)
    acc = compare(run(ref, w, x), run(m, w, x))
    assert acc.cosine > 0.998 and acc.max_abs_err < 0.05  # measured 0.99917, 0.027


@pytest.fixture(scope="module")
def compiled_lstm():
    hw = load_hw("paper-u200")
    model = lstm_model(4, 1, 24, 16, layers=2)
    del model.graph.output[1:]  # Y only, like the zoo (Y_h / Y_c are views of h, c: see docs)
    imported = quantize_model(model, hw)
    quantized = imported.module.clone()
    (x,) = random_inputs(quantized, 7, 1)
    want = run(quantized, imported.weights, x)
    return hw, package_model(imported, hw), x["x"], want


def test_compiled_lstm_is_bit_exact(compiled_lstm):
    hw, package, x, want = compiled_lstm
    got = run_package(package, [x], hw.core, "int8", host=run_host)
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_compiled_lstm_on_the_machine(compiled_lstm, cores):
    hw, package, x, want = compiled_lstm
    m = Machine(hw, host=run_host)
    exe = m.deploy("a", package, list(range(cores)))
    m.load("a", exe, [x])
    got = m.run().tenants["a"].outputs
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("op_type", "batch"), [("LSTM", 1), ("LSTM", 2), ("GRU", 2)])
def test_compiled_with_final_states_and_batch(op_type, batch):
    """Y_h / Y_c as model outputs and batch > 1 (Y assembled on the host) compile too."""
    hw = load_hw("paper-u200")
    imported = quantize_model(lstm_model(3, batch, 8, 16, layers=2, op_type=op_type), hw)
    quantized = imported.module.clone()
    (x,) = random_inputs(quantized, 3, 1)
    want = run(quantized, imported.weights, x)
    got = run_package(package_model(imported, hw), [x["x"]], hw.core, "int8", host=run_host)
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)
