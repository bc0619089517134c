"""`dnn-quantize` end to end on small ONNX models: import -> fold-bn -> fuse -> canonicalize ->
quantize, then the fp32 and int8 reference executors on a fresh input.

Small, shallow models are well conditioned, so int8 must track fp32 closely (cosine >= 0.99).
The structural checks (which ops became int8, shared exponents, `.q` weights) follow from the
contract (docs/quantization.md), not from the pass's output.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, f32

from fvir.calibration import load_calibration, random_inputs
from fvir.errors import UserError
from fvir.frontend.onnx import import_model
from fvir.ir import dnn
from fvir.ir.weights import WeightStore
from fvir.passes.context import FvirContext
from fvir.passes.dnn_canonicalize import DnnCanonicalizePass
from fvir.passes.dnn_fold_batchnorm import fold_batchnorm
from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
from fvir.passes.dnn_quantize import DnnQuantizePass, quantize
from fvir.quant.accuracy import compare
from fvir.reference.int8 import run

from .helpers import module, plain

RNG = np.random.default_rng(3)


def init(name: str, *shape: int, scale: float = 1.0) -> onnx.TensorProto:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    data = RNG.standard_normal(shape) * scale * np.sqrt(2 / fan_in)
    return numpy_helper.from_array(data.astype(np.float32), name)


def bn(prefix: str, c: int) -> list[onnx.TensorProto]:
    """Scale, bias, mean and variance of a BatchNormalization, near the identity."""
    values = {
        "s": 1 + 0.1 * RNG.standard_normal(c),
        "b": 0.1 * RNG.standard_normal(c),
        "m": 0.1 * RNG.standard_normal(c),
        "v": 1 + 0.1 * RNG.random(c),
    }
    return [
        numpy_helper.from_array(v.astype(np.float32), f"{prefix}.{k}") for k, v in values.items()
    ]


def pipeline(model) -> tuple[ModuleOp, WeightStore]:
    imported = import_model(model)
    m, w = imported.module, imported.weights
    fold_batchnorm(m, w)
    DnnFuseActivationPass().apply(Context(), m)
    DnnCanonicalizePass().apply(Context(), m)
    return m, w


def small_cnn():
    """conv-bn-relu -> maxpool -> residual conv-bn + add + relu -> concat with a sigmoid
    branch -> global avg pool -> flatten -> gemm -> softmax."""
    nodes = [
        helper.make_node("Conv", ["x", "c1.w"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], ["b1"]),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.w"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2.s", "bn2.b", "bn2.m", "bn2.v"], ["b2"]),
        helper.make_node("Add", ["b2", "p1"], ["a"]),
        helper.make_node("Relu", ["a"], ["r2"]),
        helper.make_node("Conv", ["r2", "c3.w", "c3.b"], ["c3"]),
        helper.make_node("Sigmoid", ["c3"], ["s3"]),
        helper.make_node("Concat", ["r2", "s3"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    inits = [
        init("c1.w", 8, 3, 3, 3),
        *bn("bn1", 8),
        init("c2.w", 8, 8, 3, 3),
        *bn("bn2", 8),
        init("c3.w", 4, 8, 1, 1),
        numpy_helper.from_array((0.1 * RNG.standard_normal(4)).astype(np.float32), "c3.b"),
        init("fc.w", 10, 12),
        numpy_helper.from_array((0.1 * RNG.standard_normal(10)).astype(np.float32), "fc.b"),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def ops_of(m: ModuleOp, cls: type) -> list:
    return [op for op in m.walk() if isinstance(op, cls)]


def test_small_cnn_int8_tracks_fp32():
    m, w = pipeline(small_cnn())
    float_m = m.clone()
    report = quantize(m, w)
    m.verify()
    (x,) = random_inputs(float_m, seed=99, samples=1)  # not a calibration input (seed 0)
    acc = compare(run(float_m, w, x), run(m, w, x))
    assert acc.cosine >= 0.99
    assert report.samples == 4

    # compute ops are int8, the softmax too (the ROW reduction); the model keeps f32 I/O
    for cls in (dnn.Conv2dOp, dnn.DenseOp, dnn.AddOp, dnn.Pool2dOp, dnn.SigmoidOp):
        assert all(dnn.is_fixed_op(op) for op in ops_of(m, cls)), cls
    (softmax,) = ops_of(m, dnn.SoftmaxOp)
    assert dnn.is_fixed_op(softmax) and isinstance(softmax.input.owner, dnn.DenseOp)
    assert all(isinstance(u.operation, dnn.DequantizeOp) for u in softmax.output.uses)
    assert report.float_ops == []


def test_shared_exponents_and_int8_weights():
    m, w = pipeline(small_cnn())
    quantize(m, w)
    (cat,) = ops_of(m, dnn.ConcatOp)
    fracs = {dnn.fixed_frac(v) for v in (*cat.inputs, cat.output)}
    assert len(fracs) == 1, "concat inputs and result share one exponent"
    (pool,) = ops_of(m, dnn.Pool2dOp)
    assert dnn.fixed_frac(pool.input) == dnn.fixed_frac(pool.output)
    # the sigmoid fused into c3 was split back out into a lookup table of its own exponent
    (sig,) = ops_of(m, dnn.SigmoidOp)
    assert isinstance(sig.input.owner, dnn.Conv2dOp) and sig.input.owner.act is None
    # .q weights: i8 weights, i32 biases, next to the float originals
    for op in ops_of(m, dnn.WeightOp):
        assert op.sym.data.endswith(".q"), op.sym.data
        assert op.sym.data.removesuffix(".q") in w
        assert w[op.sym.data].dtype in (np.int8, np.int32)
    convs = ops_of(m, dnn.Conv2dOp)
    assert all(w[c.bias.owner.sym.data].dtype == np.int32 for c in convs if c.bias is not None)


def test_report_matches_the_ir():
    m, w = pipeline(small_cnn())
    report = quantize(m, w)
    in_ir = {
        r.name_hint: dnn.fixed_frac(r)
        for op in m.walk()
        for r in op.results
        if dnn.fixed_frac(r) is not None and not isinstance(op, dnn.QuantizeOp)
    }
    reported = {t.name: t.frac for t in report.tensors}
    for name, frac in in_ir.items():
        assert reported[name] == frac, name
    assert all(0 <= t.clipped < 0.01 for t in report.tensors)
    assert len(report.layers) == 4  # 3 convs + 1 dense
    assert "float ops: 0" in report.format()


def test_per_tensor_option_gives_single_shifts():
    m, w = pipeline(small_cnn())
    quantize(m, w, per_channel=False)
    for op in [*ops_of(m, dnn.Conv2dOp), *ops_of(m, dnn.DenseOp)]:
        assert len(dnn.ints(op.shift)) == 1


def test_calibration_changes_nothing_but_exponents():
    """Different calibration data may pick other exponents, never another structure."""
    a, wa = pipeline(small_cnn())
    b, wb = pipeline(small_cnn())
    quantize(a, wa, seed=0)
    quantize(b, wb, calibration=random_inputs(b, seed=5, samples=2))
    assert [op.name for op in a.walk()] == [op.name for op in b.walk()]


# --------------------------------------------------------------- exact hand-made cases


def dense_module() -> tuple[ModuleOp, dict[str, np.ndarray]]:
    """x [1, 4] -> dense(trans_b) -> y: the numbers of tests/filecheck/transforms/dnn-quantize.mlir
    (chunk 4), whose exponents and weights are derived by hand there."""
    w = np.array([[0.375, 0, 0, 0], [0, 0.25, 0, 0.375], [-0.75, 0, 0.875, 0]], np.float32)
    b = np.array([0, 0.25, 0.125], np.float32)

    def body(x):
        return dnn.DenseOp(
            x,
            dnn.WeightOp("fc.w", plain((3, 4), f32)),
            dnn.WeightOp("fc.b", plain((3,), f32)),
            trans_b=True,
        )

    return module([plain((1, 4), f32)], body), {"fc.w": w, "fc.b": b}


def test_int8_result_is_exact_where_the_values_are_representable():
    m, store = dense_module()
    x = np.array([[1.5, -0.5, 0.25, 1.0]], np.float32)
    quantize(m, store, [{"0": x}])
    (y,) = run(m, store, [x])
    # W x + b = [0.5625, 0.5, -0.78125]: multiples of 2**-7, exactly representable at F = 7
    assert y.tolist() == [[0.5625, 0.5, -0.78125]]


def test_dense_folds_alpha_and_beta():
    """Gemm's alpha and beta go into the int8 weights and bias: the int8 form has neither."""
    rng = np.random.default_rng(11)
    w = rng.standard_normal((6, 5)).astype(np.float32)  # [K, N]: no trans_b
    b = rng.standard_normal(5).astype(np.float32)

    def body(x):
        wv = dnn.WeightOp("w", plain((6, 5), f32))
        bv = dnn.WeightOp("b", plain((5,), f32))
        return dnn.DenseOp(x, wv, bv, alpha=0.25, beta=3.0)

    m = module([plain((1, 6), f32)], body)
    float_m, store = m.clone(), {"w": w, "b": b}
    quantize(m, store)
    (dense,) = ops_of(m, dnn.DenseOp)
    assert (dense.alpha.value.data, dense.beta.value.data) == (1.0, 1.0)
    x = rng.standard_normal((1, 6)).astype(np.float32)
    want = 0.25 * (x @ w) + 3.0 * b  # Gemm's definition, computed here
    np.testing.assert_allclose(run(float_m, store, [x])[0], want, rtol=1e-5, atol=1e-5)
    assert compare([want], run(m, store, [x])).cosine >= 0.999


def test_fused_clip_becomes_relu_when_its_bound_is_beyond_int8():
    """clip(0, 6) on outputs below 0.5: F >= 8, so act_arg = 6 * 2**F > 255. The clamp then
    lies above int8's 127 and relu is the same after saturation."""
    w = np.full((2, 2, 1, 1), 0.05, np.float32)

    def body(x):
        wv = dnn.WeightOp("w", plain((2, 2, 1, 1), f32))
        return dnn.Conv2dOp(x, wv, act=dnn.ActivationAttr("clip", (0, 6)))

    m = module([plain((1, 2, 3, 3), f32)], body)
    store = {"w": w}
    quantize(m, store)
    (conv,) = ops_of(m, dnn.Conv2dOp)
    assert 6 * 2 ** dnn.fixed_frac(conv.output) > 255  # the RELU6 act_arg would not fit u8
    assert conv.act == dnn.ActivationAttr("relu")


def test_mul_moves_a_negative_shift_to_the_input():
    """a = [100, 0.01], b = [0.01, 100]: Fa = Fb = 0 while a*b = [1, 1] wants Fy = 7 or so:
    Fa + Fb - Fy < 0 becomes shift_a, with shift 0."""
    a = np.array([[100.0, 0.01]], np.float32)
    b = np.array([[0.01, 100.0]], np.float32)
    m = module([plain((1, 2), f32)] * 2, lambda x, y: dnn.MulOp(x, y))
    quantize(m, {}, [{"0": a, "1": b}])
    (mul,) = ops_of(m, dnn.MulOp)
    fa, fb, fy = (dnn.fixed_frac(v) for v in (mul.lhs, mul.rhs, mul.output))
    assert fa + fb < fy
    assert mul.shift_a.value.data == fy - fa - fb and mul.shift.value.data == 0


def test_broadcasting_add_stays_float():
    one = DenseIntOrFPElementsAttr.from_list(plain((1,), f32), [1.0])
    m = module([plain((2, 3), f32)], lambda x: dnn.AddOp(x, dnn.ConstantOp(one)))
    report = quantize(m, {})
    (add,) = ops_of(m, dnn.AddOp)
    assert not dnn.is_fixed_op(add)
    assert not ops_of(m, dnn.QuantizeOp)
    assert [why for op, why in report.float_ops if op.startswith("dnn.add")] == [
        "broadcasting eltwise op"
    ]


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "group", "why"),
    [
        ((1, 2, 20, 20), (4, 2, 17, 1), 1, "kernel [17, 1] outside the ISA's 1..15"),
        ((2, 2, 6, 6), (4, 2, 3, 3), 1,
         "conv2d input must be a batch-1 4-D, [1, S, D] or [M, K] tensor"),
    ],
)
def test_ops_the_accelerator_cannot_run_stay_float(x_shape, w_shape, group, why):
    """The host computes in float: an int8 conv there would lose its integer semantics."""
    w = np.random.default_rng(2).standard_normal(w_shape).astype(np.float32)
    m = module([plain(x_shape, f32)],
               lambda x: dnn.Conv2dOp(x, dnn.WeightOp("w", plain(w_shape, f32)), group=group))
    report = quantize(m, {"w": w})
    (conv,) = ops_of(m, dnn.Conv2dOp)
    assert not dnn.is_fixed_op(conv)
    [(op, reason)] = report.float_ops
    assert op.startswith("dnn.conv2d") and reason.startswith("no accelerator lowering: " + why)


def test_grouped_conv_is_quantized():
    """A grouped conv runs on the accelerator as one CONV per group."""
    w = np.random.default_rng(2).standard_normal((6, 2, 3, 3)).astype(np.float32)
    m = module([plain((1, 4, 6, 6), f32)],
               lambda x: dnn.Conv2dOp(x, dnn.WeightOp("w", plain((6, 2, 3, 3), f32)), group=2))
    report = quantize(m, {"w": w})
    (conv,) = ops_of(m, dnn.Conv2dOp)
    assert dnn.is_fixed_op(conv) and not report.float_ops


def test_lstm_stays_float():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 1, 4])
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=5)]
    inits = [init("W", 1, 20, 4), init("R", 1, 20, 5)]
    graph = helper.make_graph(
        nodes, "l", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits
    )
    m, w = pipeline(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    before = str(m)
    report = quantize(m, w)
    assert str(m) == before  # nothing to quantize
    assert any(op.startswith("dnn.lstm") for op, _ in report.float_ops)


# ------------------------------------------------------------------------------ errors


def test_errors():
    m, w = pipeline(small_cnn())
    with pytest.raises(UserError, match="needs the weight store"):
        quantize(m.clone(), None)
    quantize(m, w)
    with pytest.raises(UserError, match="already quantized"):
        quantize(m, w)
    with pytest.raises(UserError, match="at least one"):
        quantize(dense_module()[0], dense_module()[1], [])


def test_calibration_files(tmp_path):
    m, _ = dense_module()
    batch = np.arange(8, dtype=np.float32).reshape(2, 1, 4)
    np.save(tmp_path / "one.npy", batch[0])
    np.save(tmp_path / "two.npy", batch)
    np.savez(tmp_path / "named.npz", **{"0": batch})
    samples = load_calibration([tmp_path / "one.npy", tmp_path / "two.npy"], m)
    assert [s["0"].tolist() for s in samples] == [
        [[0, 1, 2, 3]],
        [[0, 1, 2, 3]],
        [[4, 5, 6, 7]],
    ]
    assert len(load_calibration([tmp_path / "named.npz"], m)) == 2
    np.save(tmp_path / "bad.npy", np.zeros((3, 3), np.float32))
    with pytest.raises(UserError, match="expected"):
        load_calibration([tmp_path / "bad.npy"], m)
    with pytest.raises(UserError, match="cannot read"):
        load_calibration([tmp_path / "missing.npy"], m)


def test_module_pass_reads_and_writes_the_contexts_store(tmp_path):
    m, store = dense_module()
    np.save(tmp_path / "cal.npy", np.array([[1.5, -0.5, 0.25, 1.0]], np.float32))
    out = WeightStore(store)
    ctx = FvirContext(weights=out, calibration=[str(tmp_path / "cal.npy")])
    DnnQuantizePass(channel_group=1, float_weights=False).apply(ctx, m)
    assert sorted(out) == ["fc.b", "fc.b.q", "fc.w", "fc.w.q"]
    assert out["fc.w.q"].tolist() == [[96, 0, 0, 0], [0, 64, 0, 96], [-96, 0, 112, 0]]
