"""The model zoo: valid ONNX, runnable in onnxruntime with sane activations, the published sizes.

Expected parameter counts and MACs are the published ones (torchvision's model cards and the
papers), or for the recurrent models the textbook formulas, never values read off the code.
Each model is built once per session (VGG-16 alone is 553 MB of weights).
"""

import functools
import itertools
import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, shape_inference

from fvir import zoo
from fvir.errors import UserError
from fvir.zoo.builder import GraphBuilder

ort = pytest.importorskip("onnxruntime")

IMAGENET = ["vgg16", "resnet18", "resnet50", "mobilenetv2", "mobilenetv3", "googlenet",
            "efficientnet_b0", "regnety_400mf", "resnext50", "densenet121", "convnext_tiny"]
CNNS = [*IMAGENET, "unet"]
NAMES = [*CNNS, "lstm", "gru", "crnn"]
TRANSFORMERS = ["vit", "bert"]  # sizes and import: tests/zoo/test_transformer_zoo.py


def _lstm_params(inp: int, hidden: int, dirs: int = 1) -> int:
    return dirs * 4 * hidden * (inp + hidden + 2)  # W, R and two bias vectors per gate


def _gru_params(inp: int, hidden: int) -> int:
    return 3 * hidden * (inp + hidden + 2)


def _crnn_params() -> int:
    # Six bias-free 3x3 convs with BN (scale + bias), two biLSTM-256 and an FC to 37 classes.
    chans = [1, 64, 128, 256, 256, 512, 512]
    convs = sum(9 * a * b + 2 * b for a, b in itertools.pairwise(chans))
    return convs + 2 * _lstm_params(512, 256, dirs=2) + 512 * 37 + 37


def _unet_params(base: int, classes: int = 2) -> int:
    # milesial's UNet: DoubleConv = two bias-free 3x3 convs, each with BN (scale + bias);
    # an Up is a 2x2 transposed conv (with bias) halving the channels, then a DoubleConv.
    def double(a: int, b: int) -> int:
        return 9 * a * b + 2 * b + 9 * b * b + 2 * b

    widths = [base << i for i in range(5)]
    down = double(3, base) + sum(double(a, b) for a, b in itertools.pairwise(widths))
    up = sum(4 * w * (w // 2) + w // 2 + double(w, w // 2) for w in widths[:0:-1])
    return down + up + base * classes + classes


# (expected parameters, relative tolerance); torchvision's exact counts where the layout is the
# same, the paper's range for GoogLeNet (torchvision 6.6M with 3x3 "5x5" branches and BN; the
# original with 5x5 convs and biases is ~7.0M).
PUBLISHED_PARAMS = {
    "vgg16": (138_357_544, 0.001),
    "resnet18": (11_689_512, 0.001),
    "resnet50": (25_557_032, 0.001),
    "mobilenetv2": (3_504_872, 0.001),
    "mobilenetv3": (2_542_856, 0.001),  # torchvision mobilenet_v3_small
    "efficientnet_b0": (5_288_548, 0.0),  # torchvision's exact counts from here on
    "regnety_400mf": (4_344_144, 0.0),
    "resnext50": (25_028_904, 0.0),  # resnext50_32x4d
    "densenet121": (7_978_856, 0.0),
    "convnext_tiny": (28_589_128, 0.0),
    "unet": (_unet_params(32), 0.0),
    "googlenet": (6_800_000, 0.03),  # 6.6M..7.0M
    "lstm": (2 * _lstm_params(512, 512), 0.0),
    "gru": (2 * _gru_params(512, 512), 0.0),
    "crnn": (_crnn_params(), 0.0),
}

# Multiply-accumulates at 224x224, batch 1: torchvision's GFLOPS column (which counts MACs) and
# the MobileNetV2 / GoogLeNet papers (300M; "1.5 billion multiply-adds", with 5x5 convs 1.58G).
PUBLISHED_MACS = {
    "vgg16": (15.47e9, 0.01),
    "resnet18": (1.81e9, 0.01),
    "resnet50": (4.09e9, 0.01),
    "mobilenetv2": (300e6, 0.01),
    "mobilenetv3": (0.06e9, 0.1),  # torchvision: "0.06" GFLOPS, two digits
    "googlenet": (1.5e9, 0.06),
    "efficientnet_b0": (0.39e9, 0.02),  # torchvision's GFLOPS, two digits from here on
    "regnety_400mf": (0.40e9, 0.02),
    "resnext50": (4.23e9, 0.002),
    "densenet121": (2.83e9, 0.002),
    "convnext_tiny": (4.46e9, 0.002),
    "lstm": (2 * 32 * 4 * 512 * (512 + 512), 0.0),
    "gru": (2 * 32 * 3 * 512 * (512 + 512), 0.0),
}

OUTPUT_SHAPES = {name: (1, 1000) for name in IMAGENET} | {
    "unet": (1, 2, 128, 128),
    "lstm": (32, 1, 512),
    "gru": (32, 1, 512),
    "crnn": (32, 1, 37),
}
INPUT_SHAPES = {name: (1, 3, 224, 224) for name in IMAGENET} | {
    "unet": (1, 3, 128, 128),
    "lstm": (32, 1, 512),
    "gru": (32, 1, 512),
    "crnn": (1, 1, 32, 128),
    "vit": (1, 3, 96, 96),
    "bert": (1, 64, 256),
}


@functools.cache
def model(name: str) -> onnx.ModelProto:
    return zoo.build(name)


def run_with_probes(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the model in onnxruntime, also returning a few intermediate activations."""
    m = onnx.ModelProto()
    m.CopyFrom(model(name))
    acts = [n.output[0] for n in m.graph.node if n.op_type in ("Relu", "Clip", "Add", "Concat")]
    probes = [acts[len(acts) * k // 4] for k in (1, 2, 3)] if acts else []
    for p in probes:
        m.graph.output.append(helper.make_tensor_value_info(p, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(123).standard_normal(INPUT_SHAPES[name], dtype=np.float32)
    out, *rest = sess.run(None, {"input": x})
    return out, dict(zip(probes, rest, strict=True))


def trainable_params(m: onnx.ModelProto) -> int:
    """Initializer elements minus BN running statistics, Clip / Reshape operands and scalars
    (the exported graph's constants: GELU's sqrt 2, 1 and 0.5)."""
    skip = set()
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            skip |= {n.input[3], n.input[4]}
        elif n.op_type in ("Clip", "Reshape"):
            skip |= set(n.input[1:])
    return sum(math.prod(t.dims) for t in m.graph.initializer if t.name not in skip and t.dims)


def counted_macs(m: onnx.ModelProto) -> int:
    """MACs of Conv, ConvTranspose, Gemm, MatMul by a weight, LSTM and GRU from onnx's own
    shape inference."""
    # The same graph without the weights (only their shapes); the Reshape targets stay constant.
    graph = onnx.GraphProto(name=m.graph.name)
    graph.node.extend(m.graph.node)
    graph.input.extend(m.graph.input)
    graph.output.extend(m.graph.output)
    graph.initializer.extend(t for t in m.graph.initializer if t.data_type == TensorProto.INT64)
    graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
        for t in m.graph.initializer
        if t.data_type != TensorProto.INT64
    )
    inferred = shape_inference.infer_shapes(helper.make_model(graph, opset_imports=m.opset_import))
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    }
    weights = {t.name for t in m.graph.initializer}
    macs = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            _, cg, kh, kw = shapes[n.input[1]]
            macs += math.prod(shapes[n.output[0]]) * cg * kh * kw
        elif n.op_type == "ConvTranspose":  # every input pixel meets [C_out / g, kh, kw]
            _, cg, kh, kw = shapes[n.input[1]]
            macs += math.prod(shapes[n.input[0]]) * cg * kh * kw
        elif n.op_type == "MatMul" and n.input[1] in weights:
            macs += math.prod(shapes[n.output[0]]) * shapes[n.input[1]][0]
        elif n.op_type == "Gemm":
            (rows, k), (out, _) = shapes[n.input[0]], shapes[n.input[1]]
            macs += rows * k * out
        elif n.op_type in ("LSTM", "GRU"):
            seq, batch, _ = shapes[n.input[0]]
            dirs, gh, inp = shapes[n.input[1]]
            macs += seq * batch * dirs * gh * (inp + shapes[n.input[2]][2])
    return macs


def test_registry_names():
    assert sorted(zoo.MODELS) == sorted(NAMES + TRANSFORMERS)
    assert [e.name for e in zoo.list_models()] == list(zoo.MODELS)
    for name, e in zoo.MODELS.items():
        assert e.kind == (
            "rnn" if name in ("lstm", "gru") else "mixed" if name == "crnn"
            else "transformer" if name in TRANSFORMERS else "cnn"
        )
        assert e.input_shape == INPUT_SHAPES[name]
        assert e.description and "\n" not in e.description


@pytest.mark.parametrize("name", NAMES)
def test_checker_full(name):
    m = model(name)
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == 17
    assert [i.name for i in m.graph.input] == ["input"]


@pytest.mark.parametrize("name", NAMES)
def test_runs_in_onnxruntime_with_sane_activations(name):
    out, probes = run_with_probes(name)
    assert out.shape == OUTPUT_SHAPES[name]
    assert np.isfinite(out).all()
    assert 1e-2 <= out.std() <= 1e3, out.std()
    if name in CNNS or name == "crnn":
        assert len(probes) == 3
    for tensor, v in probes.items():
        assert np.isfinite(v).all(), tensor
        assert 1e-2 <= v.std() <= 1e3, (tensor, v.std())


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count_matches_published(name):
    expected, tol = PUBLISHED_PARAMS[name]
    got = trainable_params(model(name))
    assert abs(got - expected) <= tol * expected, (got, expected)
    assert zoo.stats(name).params == got  # `fv zoo list` counts without building


@pytest.mark.parametrize("name", NAMES)
def test_macs_match_published_and_shape_inference(name):
    got = zoo.stats(name).macs
    assert got == counted_macs(model(name))
    if name in PUBLISHED_MACS:
        expected, tol = PUBLISHED_MACS[name]
        assert abs(got - expected) <= tol * expected, (got, expected)


def test_googlenet_has_the_original_lrns():
    ops = [n.op_type for n in model("googlenet").graph.node]
    assert ops.count("LRN") == 2
    assert ops.count("Concat") == 9  # nine inception modules


def test_topology_details():
    ops = {name: [n.op_type for n in model(name).graph.node] for name in NAMES}
    assert ops["vgg16"].count("Conv") == 13 and ops["vgg16"].count("Gemm") == 3
    # ResNet-50: 1 + 16 * 3 convs + 4 projections; ResNet-18: 1 + 8 * 2 + 3 projections.
    assert ops["resnet50"].count("Conv") == 53 and ops["resnet50"].count("Add") == 16
    assert ops["resnet18"].count("Conv") == 20 and ops["resnet18"].count("Add") == 8
    # MobileNetV2: 17 inverted residuals, 10 of them with a residual add; all ReLU6 are Clips.
    assert ops["mobilenetv2"].count("Add") == 10 and "Relu" not in ops["mobilenetv2"]
    assert ops["lstm"].count("LSTM") == 2 and ops["gru"].count("GRU") == 2
    assert ops["crnn"].count("LSTM") == 2 and ops["crnn"].count("Conv") == 6


def test_resnet50_is_v1_5():
    """The stride-2 of a downsampling bottleneck is on its 3x3 conv, not on the first 1x1."""
    convs = [n for n in model("resnet50").graph.node if n.op_type == "Conv"]
    strides = {n.name: helper.get_node_attr_value(n, "strides") for n in convs}
    assert strides["layer2.0.conv1"] == [1, 1]
    assert strides["layer2.0.conv2"] == [2, 2]
    assert strides["layer2.0.downsample"] == [2, 2]


def test_rnn_attributes():
    lstm = [n for n in model("crnn").graph.node if n.op_type == "LSTM"]
    assert all(helper.get_node_attr_value(n, "direction") == b"bidirectional" for n in lstm)
    gru = [n for n in model("gru").graph.node if n.op_type == "GRU"]
    assert all(helper.get_node_attr_value(n, "hidden_size") == 512 for n in gru)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name):
    assert zoo.build(name).SerializeToString() == model(name).SerializeToString()


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2", "lstm", "crnn"])
def test_other_seed_other_weights(name):
    a, b = model(name), zoo.build(name, seed=1)
    assert [n.SerializeToString() for n in a.graph.node] == [
        n.SerializeToString() for n in b.graph.node
    ]
    assert a.graph.initializer[0].raw_data != b.graph.initializer[0].raw_data


def test_unknown_model_is_a_user_error():
    with pytest.raises(UserError, match=r"^unknown model 'vgg19' \(available: vgg16, "):
        zoo.build("vgg19")


def test_builder_rejects_duplicate_names():
    b = GraphBuilder("t")
    x = b.input("input", (1, 3, 8, 8))
    b.conv(x, 4, 3, name="c")
    with pytest.raises(ValueError, match="duplicate tensor name 'c'"):
        b.conv(x, 4, 3, name="c")


@pytest.mark.parametrize(
    ("name", "tensor", "bn"),
    [
        ("resnet18", "layer2.1.out", "layer3.0.conv2.bn"),
        ("mobilenetv2", "block5.out", "block9.dw.bn"),
    ],
)
def test_calibration_probe_agrees_with_onnxruntime(name, tensor, bn):
    """The numpy probe that measures BatchNorm statistics computes what onnxruntime does, and
    each BN really normalises its input: on the probe, its output's per-channel mean is the
    BN bias and the std the BN scale."""
    b = GraphBuilder(name)
    m = zoo.MODELS[name].builder(b)
    for t in (tensor, bn):
        m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    _, got, y = sess.run(None, {"input": b.value("input")})
    np.testing.assert_allclose(got, b.value(tensor), rtol=1e-3, atol=1e-3)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), inits[f"{bn}.bias"], atol=2e-2)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), inits[f"{bn}.weight"], rtol=2e-2)
