"""dnn-fold-batchnorm is numerically exact: conv/dense + BatchNormalization run by onnxruntime
equals the folded conv/dense (also run by onnxruntime) on the same input."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects import test as xdsl_test
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, TensorType, f32
from xdsl.ir import Operation, SSAValue

from fvir.ir import dnn
from fvir.passes.dnn_fold_batchnorm import (
    FOLD_ATTR,
    DnnFoldBatchnormPass,
    fold_batchnorm,
    materialize_folds,
)

ort = pytest.importorskip("onnxruntime")

EPS = 0.1  # large enough that forgetting epsilon shows


def run_onnx(nodes, inputs: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> np.ndarray:
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape))
            for k, v in inputs.items()
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in params.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


def bn_params(rng: np.random.Generator, c: int) -> dict[str, np.ndarray]:
    return {
        "bn.scale": rng.normal(size=c),
        "bn.bias": rng.normal(size=c),
        "bn.mean": rng.normal(size=c),
        "bn.var": rng.uniform(0.05, 2.0, size=c),
    }


BN_INPUTS = ["bn.scale", "bn.bias", "bn.mean", "bn.var"]


def tensor(a: np.ndarray) -> TensorType:
    return TensorType(f32, list(a.shape))


def source(name: str, a: np.ndarray, as_constant: bool) -> Operation:
    if as_constant:
        attr = DenseIntOrFPElementsAttr.from_list(tensor(a), a.astype(np.float32).ravel().tolist())
        return dnn.ConstantOp(attr)
    return dnn.WeightOp(name, tensor(a))


def build(producer, x_shape, params: dict[str, np.ndarray], as_constant=False) -> ModuleOp:
    """x -> producer(x, weights...) -> batchnorm, with every parameter a weight or constant."""
    x = xdsl_test.TestOp(result_types=[TensorType(f32, list(x_shape))])
    srcs = {k: source(k, v, as_constant) for k, v in params.items()}
    values = {k: op.results[0] for k, op in srcs.items()}
    p = producer(x.results[0], values)
    bn = dnn.BatchNormOp(p, *(values[k] for k in BN_INPUTS), epsilon=EPS)
    return ModuleOp([x, *srcs.values(), p, bn])


def array(value: SSAValue, store: dict[str, np.ndarray]) -> np.ndarray:
    op = value.owner
    if isinstance(op, dnn.ConstantOp):
        return np.asarray(op.value.get_values(), np.float32).reshape(op.value.get_shape())
    assert isinstance(op, dnn.WeightOp)
    return store[op.sym.data]


def only(module: ModuleOp, cls):
    found = [op for op in module.walk() if isinstance(op, cls)]
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------------------ conv

CONV = {"strides": (2, 1), "pads": (1, 0, 2, 1), "dilations": (1, 2), "group": 2}


def conv_case(rng, with_bias=True):
    x = rng.normal(size=(2, 4, 9, 8)).astype(np.float32)
    params = {"conv.w": rng.normal(size=(6, 2, 3, 3))}
    if with_bias:
        params["conv.b"] = rng.normal(size=6)
    params.update(bn_params(rng, 6))
    return x, params


def onnx_conv_attrs():
    return {
        "strides": list(CONV["strides"]),
        "pads": list(CONV["pads"]),
        "dilations": list(CONV["dilations"]),
        "group": CONV["group"],
    }


def reference_conv_bn(x, params) -> np.ndarray:
    conv_in = ["x", "conv.w"] + (["conv.b"] if "conv.b" in params else [])
    nodes = [
        helper.make_node("Conv", conv_in, ["c"], **onnx_conv_attrs()),
        helper.make_node("BatchNormalization", ["c", *BN_INPUTS], ["y"], epsilon=EPS),
    ]
    return run_onnx(nodes, {"x": x}, params)


def run_folded_conv(module: ModuleOp, x: np.ndarray, store) -> np.ndarray:
    conv = only(module, dnn.Conv2dOp)
    assert conv.bias is not None
    w, b = array(conv.weight, store), array(conv.bias, store)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **onnx_conv_attrs())
    return run_onnx([node], {"x": x}, {"w": w, "b": b})


def make_conv(x, v):
    return dnn.Conv2dOp(x, v["conv.w"], v.get("conv.b"), **CONV)


@pytest.mark.parametrize("with_bias", [True, False])
def test_conv_bn_with_store(with_bias):
    rng = np.random.default_rng(1)
    x, params = conv_case(rng, with_bias)
    module = build(make_conv, x.shape, params)
    store = {k: v.astype(np.float32) for k, v in params.items()}

    assert fold_batchnorm(module, store) == 1
    module.verify()
    assert not any(isinstance(op, dnn.BatchNormOp) for op in module.walk())
    conv = only(module, dnn.Conv2dOp)
    assert isinstance(conv.weight.owner, dnn.WeightOp)
    assert conv.weight.owner.sym.data == "conv.w.bnfold.w"
    assert store["conv.w.bnfold.w"].dtype == np.float32
    np.testing.assert_allclose(
        run_folded_conv(module, x, store), reference_conv_bn(x, params), rtol=1e-4, atol=1e-5
    )


def test_conv_bn_recipe_then_materialize():
    rng = np.random.default_rng(2)
    x, params = conv_case(rng)
    module = build(make_conv, x.shape, params)

    # What `fv-opt -p dnn-fold-batchnorm` does: no store, so a recipe on each new weight.
    DnnFoldBatchnormPass().apply(Context(), module)
    module.verify()
    conv = only(module, dnn.Conv2dOp)
    assert FOLD_ATTR in conv.weight.owner.attributes
    store = {k: v.astype(np.float32) for k, v in params.items()}
    assert materialize_folds(module, store) == 2
    assert FOLD_ATTR not in conv.weight.owner.attributes
    np.testing.assert_allclose(
        run_folded_conv(module, x, store), reference_conv_bn(x, params), rtol=1e-4, atol=1e-5
    )


def test_conv_bn_constants():
    rng = np.random.default_rng(3)
    x, params = conv_case(rng)
    module = build(make_conv, x.shape, params, as_constant=True)

    assert fold_batchnorm(module) == 1
    module.verify()
    conv = only(module, dnn.Conv2dOp)
    assert isinstance(conv.weight.owner, dnn.ConstantOp)
    assert isinstance(conv.bias.owner, dnn.ConstantOp)
    # Only the two folded constants are left.
    assert sum(isinstance(op, dnn.ConstantOp) for op in module.walk()) == 2
    np.testing.assert_allclose(
        run_folded_conv(module, x, {}), reference_conv_bn(x, params), rtol=1e-4, atol=1e-5
    )


def test_conv_bn_with_weight_store_class():
    weights = pytest.importorskip("fvir.ir.weights")
    rng = np.random.default_rng(4)
    x, params = conv_case(rng)
    module = build(make_conv, x.shape, params)
    store = weights.WeightStore()
    for k, v in params.items():
        store.add(k, v.astype(np.float32))

    assert fold_batchnorm(module, store) == 1
    store.check(module)  # every dnn.weight names an array of its type
    np.testing.assert_allclose(
        run_folded_conv(module, x, store), reference_conv_bn(x, params), rtol=1e-4, atol=1e-5
    )


# ------------------------------------------------------------------------------------ dense


def test_dense_bn_with_store():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 7)).astype(np.float32)
    params = {"fc.w": rng.normal(size=(5, 7)), "fc.b": rng.normal(size=5), **bn_params(rng, 5)}
    module = build(
        lambda a, v: dnn.DenseOp(a, v["fc.w"], v["fc.b"], trans_b=True, alpha=0.5),
        x.shape,
        params,
    )
    store = {k: v.astype(np.float32) for k, v in params.items()}

    assert fold_batchnorm(module, store) == 1
    module.verify()
    dense = only(module, dnn.DenseOp)
    assert dense.bias is not None
    w, b = array(dense.weight, store), array(dense.bias, store)
    folded = run_onnx(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5)],
        {"x": x},
        {"w": w, "b": b},
    )
    reference = run_onnx(
        [
            helper.make_node("Gemm", ["x", "fc.w", "fc.b"], ["d"], transB=1, alpha=0.5),
            helper.make_node("BatchNormalization", ["d", *BN_INPUTS], ["y"], epsilon=EPS),
        ],
        {"x": x},
        params,
    )
    np.testing.assert_allclose(folded, reference, rtol=1e-4, atol=1e-5)


def test_store_names_do_not_clash():
    rng = np.random.default_rng(6)
    x, params = conv_case(rng)
    module = build(make_conv, x.shape, params)
    store = {k: v.astype(np.float32) for k, v in params.items()}
    store["conv.w.bnfold.w"] = np.zeros(1, np.float32)  # taken by someone else

    fold_batchnorm(module, store)
    conv = only(module, dnn.Conv2dOp)
    assert conv.weight.owner.sym.data == "conv.w.bnfold1.w"
    assert store["conv.w.bnfold.w"].shape == (1,)
