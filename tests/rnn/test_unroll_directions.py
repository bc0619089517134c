"""dnn-unroll-rnn beyond the forward cell: reverse and bidirectional layers, batches unrolled
row by row (`max_batch=1`, what the compiler does), clip, LSTM peepholes and input_forget,
a constant full-length sequence_lens. fp32 against onnxruntime; compiled int8 bit-exact with
the int8 reference on one core and on the Machine."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir.backend.functional import run_package
from fvir.backend.machine import Machine
from fvir.calibration import random_inputs
from fvir.compiler import package_model, quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw.toml import load_hw
from fvir.ir import dnn
from fvir.passes.dnn_unroll_rnn import unroll
from fvir.reference.int8 import run, run_host

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def rnn_model(op_type: str, seq: int, batch: int, inp: int, hid: int, *, layers: int = 1,
              direction: str = "forward", states: bool = False, peepholes: bool = False,
              seq_lens: bool = False, outputs: str = "y", seed: int = 0,
              **attrs: object) -> onnx.ModelProto:
    """`layers` stacked layers (each Y reshaped to [seq, batch, dirs * hid] for the next);
    `outputs`: which of the last layer's results are model outputs ("y", "yh", "yc")."""
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op_type]

    def arr(name: str, scale: float, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, scale, shape).astype(np.float32), name)

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])
    nodes, inits, cur, width = [], [], "x", inp
    n_out = 3 if op_type == "LSTM" else 2
    for k in range(layers):
        inits += [arr(f"W{k}", 0.4, dirs, g * hid, width), arr(f"R{k}", 0.4, dirs, g * hid, hid),
                  arr(f"B{k}", 0.2, dirs, 2 * g * hid)]
        ins = [cur, f"W{k}", f"R{k}", f"B{k}", "", "", "", ""][: 8 if op_type == "LSTM" else 6]
        if seq_lens:
            inits.append(numpy_helper.from_array(np.full(batch, seq, np.int32), f"L{k}"))
            ins[4] = f"L{k}"
        if states:
            inits.append(arr(f"h{k}", 0.5, dirs, batch, hid))
            ins[5] = f"h{k}"
            if op_type == "LSTM":
                inits.append(arr(f"c{k}", 0.5, dirs, batch, hid))
                ins[6] = f"c{k}"
        if peepholes:
            inits.append(arr(f"P{k}", 0.3, dirs, 3 * hid))
            ins[7] = f"P{k}"
        while ins[-1] == "":
            ins.pop()
        outs = [f"y{k}", f"yh{k}", f"yc{k}"][:n_out]
        nodes.append(helper.make_node(op_type, ins, outs, hidden_size=hid, direction=direction,
                                      **attrs))
        if k < layers - 1:
            inits.append(numpy_helper.from_array(np.array([seq, batch, dirs * hid], np.int64),
                                                 f"s{k}"))
            nodes.append(helper.make_node("Reshape", [f"y{k}", f"s{k}"], [f"z{k}"]))
            cur, width = f"z{k}", dirs * hid
    names = {"y": f"y{layers - 1}", "yh": f"yh{layers - 1}", "yc": f"yc{layers - 1}"}
    shapes = {"y": [seq, dirs, batch, hid], "yh": [dirs, batch, hid], "yc": [dirs, batch, hid]}
    outs = [helper.make_tensor_value_info(names[o], TensorProto.FLOAT, shapes[o])
            for o in outputs.split(",")]
    graph = helper.make_graph(nodes, "rnn", [x], outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def check_fp32(model: onnx.ModelProto, seq: int, batch: int, inp: int, **kw: object) -> None:
    imported = import_model(model)
    m, w = imported.module, imported.weights
    assert unroll(m, w, **kw) == []  # type: ignore[arg-type]
    m.verify()
    assert not any(isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp) for op in m.walk())
    x = np.random.default_rng(1).normal(size=(seq, batch, inp)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got = run(m, w, {"x": x})
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=3e-6)


CELLS = [("LSTM", {}), ("GRU", {}), ("GRU", {"linear_before_reset": 1}), ("RNN", {})]
ALL_OUT = {"LSTM": "y,yh,yc", "GRU": "y,yh", "RNN": "y,yh"}


@pytest.mark.parametrize("max_batch", [None, 1])
@pytest.mark.parametrize("direction", ["reverse", "bidirectional"])
@pytest.mark.parametrize(("op_type", "attrs"), CELLS)
@pytest.mark.parametrize(("seq", "batch", "layers", "states"),
                         [(1, 1, 1, False), (4, 1, 2, False), (3, 2, 2, True)])
def test_directions_match_onnxruntime(op_type, attrs, direction, seq, batch, layers, states,
                                      max_batch):
    model = rnn_model(op_type, seq, batch, 3, 4, layers=layers, direction=direction,
                      states=states, outputs=ALL_OUT[op_type], **attrs)
    check_fp32(model, seq, batch, 3, max_batch=max_batch)


def test_gemm_projection_bidirectional():
    model = rnn_model("LSTM", 4, 2, 3, 4, layers=2, direction="bidirectional", states=True,
                      outputs="y,yh,yc")
    check_fp32(model, 4, 2, 3, gemm=True)


@pytest.mark.parametrize("max_batch", [None, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize(("op_type", "attrs"), [
    ("LSTM", {"clip": 0.7}),
    ("GRU", {"clip": 0.5, "linear_before_reset": 1}),
    ("RNN", {"clip": 0.4, "activations": ["Sigmoid"]}),
    ("LSTM", {"input_forget": 1}),
    ("LSTM", {"activations": ["Sigmoid", "Relu", "Tanh"]}),
])
def test_clip_input_forget_activations(op_type, attrs, direction, max_batch):
    if op_type == "LSTM" and direction == "bidirectional" and "activations" in attrs:
        attrs = {"activations": attrs["activations"] * 2}  # type: ignore[operator]
    if op_type == "RNN" and direction == "bidirectional":
        attrs = {**attrs, "activations": ["Sigmoid", "Relu"]}
    model = rnn_model(op_type, 3, 2, 3, 4, layers=2, direction=direction, states=True,
                      outputs=ALL_OUT[op_type], **attrs)
    check_fp32(model, 3, 2, 3, max_batch=max_batch)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_peepholes_and_full_sequence_lens(direction):
    for states in (False, True):
        model = rnn_model("LSTM", 3, 2, 3, 4, layers=2, direction=direction, states=states,
                          peepholes=True, seq_lens=True, outputs="y,yh,yc")
        check_fp32(model, 3, 2, 3, max_batch=1)


def test_unsupported_variants_stay_fused():
    model = rnn_model("LSTM", 3, 2, 3, 4, seq_lens=True)
    model.graph.initializer[-1].CopyFrom(numpy_helper.from_array(np.array([3, 0], np.int32),
                                                                 "L0"))
    imported = import_model(model)
    assert [why for _, why in unroll(imported.module, imported.weights)] == [
        "sequence_lens with an empty batch row"  # shorter rows: tests/rnn/test_unroll_seq_lens
    ]
    model = rnn_model("GRU", 3, 1, 3, 4, activations=["Tanh", "Tanh"])
    imported = import_model(model)
    assert [why for _, why in unroll(imported.module, imported.weights)] == [
        "activations ['tanh', 'tanh']"
    ]


def _compiled(model: onnx.ModelProto, seed: int = 3):
    hw = load_hw("paper-u200")
    imported = quantize_model(model, hw)
    quantized = imported.module.clone()
    assert not any(isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp)
                   for op in quantized.walk())
    (x,) = random_inputs(quantized, seed, 1)
    want = run(quantized, imported.weights, x)
    return hw, package_model(imported, hw), x["x"], want


def assert_bit_exact_on_one_and_three_cores(hw, package, x, want) -> None:
    """The package's int8 outputs equal the reference's, run alone and on 3 Machine cores."""
    for a, b in zip(want, run_package(package, [x], hw.core, "int8", host=run_host), strict=True):
        np.testing.assert_array_equal(a, b)
    m = Machine(hw, host=run_host)
    m.load("a", m.deploy("a", package, [0, 1, 2]), [x])
    for a, b in zip(want, m.run().tenants["a"].outputs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("op_type", "direction", "batch", "outputs", "attrs"), [
    ("LSTM", "bidirectional", 1, "y", {}),
    ("LSTM", "reverse", 1, "y,yh,yc", {}),
    ("LSTM", "bidirectional", 2, "y,yh,yc", {}),
    ("GRU", "bidirectional", 1, "y,yh", {"linear_before_reset": 1}),
    ("GRU", "reverse", 3, "yh", {}),
    ("RNN", "bidirectional", 2, "y,yh", {}),
    ("LSTM", "forward", 1, "y", {"clip": 0.8, "input_forget": 1}),  # clips run on the host
])
def test_compiled_directions_are_bit_exact(op_type, direction, batch, outputs, attrs):
    model = rnn_model(op_type, 3, batch, 8, 16, layers=2, direction=direction, states=True,
                      outputs=outputs, **attrs)
    assert_bit_exact_on_one_and_three_cores(*_compiled(model))


def test_dense_over_all_steps_runs_per_step():
    """A per-step classifier over a bidirectional Y ([seq, 2H] rows, CRNN's) becomes one dense
    per step on the accelerator, bit-exact."""
    seq, hid, n = 4, 16, 5
    model = rnn_model("LSTM", seq, 1, 8, hid, layers=2, direction="bidirectional")
    rng = np.random.default_rng(2)
    g = model.graph
    g.initializer.extend([
        numpy_helper.from_array(np.array([seq, 2 * hid], np.int64), "flat"),
        numpy_helper.from_array(rng.normal(0, 0.3, (n, 2 * hid)).astype(np.float32), "Wc"),
        numpy_helper.from_array(rng.normal(0, 0.1, (n,)).astype(np.float32), "Bc"),
    ])
    g.node.extend([helper.make_node("Reshape", ["y1", "flat"], ["f"]),
                   helper.make_node("Gemm", ["f", "Wc", "Bc"], ["logits"], transB=1)])
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, [seq, n]))
    imported = import_model(model)
    assert unroll(imported.module, imported.weights, max_batch=1) == []
    denses = [op for op in imported.module.walk() if isinstance(op, dnn.DenseOp)]
    assert all(dnn.shape_of(op.output)[0] == 1 for op in denses)
    x = np.random.default_rng(1).normal(size=(seq, 1, 8)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    np.testing.assert_allclose(run(imported.module, imported.weights, {"x": x})[0], want[0],
                               rtol=0, atol=3e-6)
    hw, package, x8, want8 = _compiled(model)
    got8 = run_package(package, [x8], hw.core, "int8", host=run_host)[0]
    np.testing.assert_array_equal(got8, want8[0])
