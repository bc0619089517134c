"""Whole transformers on the pool (issue 18's acceptance): the zoo's ViT (16x16 patches) and
BERT-like encoder (the opset-16 LayerNorm chain), and PyTorch's nn.TransformerEncoderLayer as
torch.onnx exports it (seq-first [S, B, D], one fused in_proj split by Gather, the attention
scale as sqrt(scale) on q and on k^T, a Gemm out_proj), at opset 17 and with the opset-16
LayerNorm chain. Built with onnx.helper (torch stays out of the test extra). Each runs with at
least 95 % of its MACs on the accelerator, bit-exact against the int8 reference on 1, 3 and 16
cores, fp32 mode within 1e-4 of onnxruntime, and int8 within cosine 0.99 of fp32."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fvir import zoo
from fvir.backend.functional import run_package
from fvir.backend.machine import Machine
from fvir.hw import PAPER_U200
from fvir.quant.accuracy import compare
from fvir.reference.int8 import run, run_host
from fvir.tools.mac_share import mac_fields

from .models import compile_keeping_reference


def encoder_layer(*, seq: int = 32, dim: int = 128, heads: int = 4, ffn: int = 512,
                  opset: int = 17, seed: int = 0) -> onnx.ModelProto:
    """nn.TransformerEncoderLayer(dim, heads, ffn) in eval mode (post-norm, ReLU, batch 1,
    batch_first=False) in the node pattern torch.onnx emits; at opset < 17 each LayerNorm is
    the ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add chain."""
    rng = np.random.default_rng(seed)
    d = dim // heads
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def c(name: str, value, dtype=np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def n(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def layer_norm(x: str, name: str) -> str:
        w = c(f"{name}.weight", 1 + 0.1 * rng.standard_normal(dim))
        b = c(f"{name}.bias", 0.1 * rng.standard_normal(dim))
        if opset >= 17:
            return n("LayerNormalization", [x, w, b], name, axis=-1, epsilon=1e-5)
        mean = n("ReduceMean", [x], f"{name}.mean", axes=[-1])
        diff = n("Sub", [x, mean], f"{name}.sub")
        var = n("ReduceMean", [n("Pow", [diff, c(f"{name}.two", 2.0)], f"{name}.pow")],
                f"{name}.var", axes=[-1])
        std = n("Sqrt", [n("Add", [var, c(f"{name}.eps", 1e-5)], f"{name}.add_eps")],
                f"{name}.sqrt")
        return n("Add", [n("Mul", [n("Div", [diff, std], f"{name}.div"), w], f"{name}.mul"), b],
                 name)

    def linear(x: str, k: int, m: int, name: str) -> str:
        w = c(f"{name}.weight_t", rng.standard_normal((k, m)) * k**-0.5)
        return n("Add", [n("MatMul", [x, w], f"{name}.mm"),
                         c(f"{name}.bias", 0.02 * rng.standard_normal(m))], name)

    x = "src"
    qkv = n("Reshape", [linear(x, dim, 3 * dim, "in_proj"),
                        c("unflatten", [seq, 1, 3, dim], np.int64)], "qkv")
    qkv = n("Unsqueeze", [qkv, c("axis0", [0], np.int64)], "qkv.unsqueeze")
    qkv = n("Transpose", [qkv], "qkv.transpose", perm=[3, 1, 2, 0, 4])
    qkv = n("Squeeze", [qkv, c("axis3", [3], np.int64)], "qkv.squeeze")
    split = {}
    for i, name in enumerate("qkv"):
        t = n("Gather", [qkv, c(f"{name}.index", i, np.int64)], name, axis=0)
        t = n("Reshape", [t, c(f"{name}.heads", [seq, heads, d], np.int64)], f"{name}.view")
        t = n("Transpose", [t], f"{name}.bh", perm=[1, 0, 2])
        split[name] = n("Reshape", [t, c(f"{name}.4d", [1, heads, seq, d], np.int64)],
                        f"{name}.4d_view")
    root_scale = c("sqrt_scale", np.sqrt(1 / np.sqrt(d)))
    q = n("Mul", [split["q"], root_scale], "q.scaled")
    kt = n("Mul", [n("Transpose", [split["k"]], "k.t", perm=[0, 1, 3, 2]), root_scale],
           "k.scaled")
    attn = n("Softmax", [n("MatMul", [q, kt], "scores")], "attn", axis=-1)
    ctx = n("Transpose", [n("MatMul", [attn, split["v"]], "ctx")], "ctx.t", perm=[2, 0, 1, 3])
    ctx = n("Reshape", [ctx, c("rows", [seq, dim], np.int64)], "ctx.rows")
    out = n("Gemm", [ctx, c("out_proj.weight", rng.standard_normal((dim, dim)) * dim**-0.5),
                     c("out_proj.bias", 0.02 * rng.standard_normal(dim))], "out_proj", transB=1)
    out = n("Reshape", [out, c("seq_first", [seq, 1, dim], np.int64)], "sa")
    y = layer_norm(n("Add", [x, out], "res1"), "norm1")
    f = linear(n("Relu", [linear(y, dim, ffn, "linear1")], "relu"), ffn, dim, "linear2")
    y = layer_norm(n("Add", [y, f], "res2"), "norm2")
    graph = helper.make_graph(
        nodes, "encoder_layer", [helper.make_tensor_value_info(x, TensorProto.FLOAT,
                                                               (seq, 1, dim))],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, (seq, 1, dim))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "vit": lambda: zoo.build("vit"),
    "bert": lambda: zoo.build("bert"),
    "encoder_layer": encoder_layer,
    "encoder_layer_opset16": lambda: encoder_layer(opset=16),
}


@pytest.fixture(scope="module")
def compiled():
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            model = MODELS[name]()
            cache[name] = (model, *compile_keeping_reference(model, PAPER_U200))
        return cache[name]

    return get


def random_input(model: onnx.ModelProto, seed: int) -> np.ndarray:
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)


def onnxruntime_outputs(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


@pytest.mark.parametrize("name", list(MODELS))
def test_mac_share_and_int8_accuracy(compiled, name: str) -> None:
    model, package, reference = compiled(name)
    assert mac_fields(package)["accelerator_mac_share"] >= 0.95
    x = random_input(model, 1234)
    got = run(reference.module, reference.weights, [x])
    assert compare(onnxruntime_outputs(model, x), got).cosine >= 0.99


@pytest.mark.parametrize("cores", [1, 3, 16])
@pytest.mark.parametrize("name", list(MODELS))
def test_bit_exact_on_machine_cores(compiled, name: str, cores: int) -> None:
    model, package, reference = compiled(name)
    x = random_input(model, 5)
    want = run(reference.module, reference.weights, [x])
    m = Machine(PAPER_U200, host=run_host)
    m.load("t", m.deploy("t", package, list(range(cores))), [x])
    for g, w in zip(m.run().tenants["t"].outputs, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name", list(MODELS))
def test_fp32_mode_matches_onnxruntime(compiled, name: str) -> None:
    model, package, _ = compiled(name)
    x = random_input(model, 11)
    got = run_package(package, [x], PAPER_U200.core, "fp32", host=run_host)
    for g, w in zip(got, onnxruntime_outputs(model, x), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())
