"""The backend's side of zero points: CONV multiplies codes, so a conv's input zero point Z is
folded into its biases (sum w (q - Z) + b = sum w q + (b - Z sum w)) and its padding holds Z;
each bias is followed by its channel's requantization multiplier.
Checked on the package's bytes against that formula, and bit-exactly against the int8
reference, with the padded conv behind a relu (its input's Z near -128)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fvir.backend.functional import run_package
from fvir.hw import PAPER_U200
from fvir.ir import dnn
from fvir.isa.encoding import decode
from fvir.isa.spec import Buf, Opcode
from fvir.reference.int8 import run, run_host

from .models import compile_keeping_reference, random_input


def relu_conv() -> onnx.ModelProto:
    """x -> conv 3x3 (bias) -> relu -> conv 3x3, padded (no bias) -> y."""
    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("w1", rng.standard_normal((6, 3, 3, 3)) * 0.3), ("b1", rng.standard_normal(6) * 0.2),
        ("w2", rng.standard_normal((4, 6, 3, 3)) * 0.3))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["y"], pads=[1] * 4)]
    graph = helper.make_graph(
        nodes, "relu_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_the_input_zero_point_is_folded_into_the_biases():
    package, reference = compile_keeping_reference(relu_conv(), PAPER_U200)
    second = [op for op in reference.module.walk() if isinstance(op, dnn.Conv2dOp)][-1]
    z = dnn.fixed_zero(second.input)
    assert z < -64, "a relu output: its range [0, max] centred on the codes"
    wq = np.asarray(reference.weights[second.weight.owner.sym.data], np.int64)
    want = -z * wq.sum(axis=(1, 2, 3))  # no bias of its own
    layer = package.layers[-1]
    frame = package.frames[layer.frame_start]
    start = int(frame["instr_start"])
    instrs = decode(np.asarray(package.words, np.uint32).reshape(-1, 8)[
        start : start + int(frame["instr_count"])])
    load = next(i for i in instrs if i.op == Opcode.LOAD and i["buf"] == Buf.BIAS)
    (init,) = [i for i in instrs if i.op == Opcode.CONVINIT]
    assert init["in_zp"] == z and init["out_zp"] == dnn.fixed_zero(second.output)
    weights = np.asarray(package.weights, np.uint8)
    got = weights[load["off"] : load["off"] + load["chans"]].view("<i4")
    # with per-channel multipliers (the default) each bias is followed by its multiplier
    assert init["scaled"] == 1 and second.mul is not None
    assert got[0::2].tolist() == want[: got.size // 2].tolist()
    assert got[1::2].tolist() == list(dnn.ints(second.mul))[: got.size // 2]


def test_padding_with_the_zero_point_is_bit_exact():
    model = relu_conv()
    package, reference = compile_keeping_reference(model, PAPER_U200)
    x = random_input(model, seed=3)
    (want,) = run(reference.module, reference.weights, [x])
    (got,) = run_package(package, [x], PAPER_U200.core, "int8", host=run_host)
    np.testing.assert_array_equal(got, want)
