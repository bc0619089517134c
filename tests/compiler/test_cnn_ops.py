"""Today's CNN building blocks compiled and run on the simulator (issue 17): grouped
convolutions of any group count, HardSwish / HardSigmoid and constant per-channel arithmetic
(1x1 depthwise convs), standalone batchnorms, squeeze-excitation (an image times a
per-channel vector: ELEW's bcast_b), ConvTranspose as a conv of the zero-inserted input, a
dense over many rows as a conv over the rows, windows beyond the ISA's fields as convs within
them, ConvNeXt's channels-last LayerNorm on rows: every MAC on the accelerator (the host only
moves data). Each model is compiled for a core; int8 mode must equal the int8 reference bit
for bit on one core (`run_package`) and on several Machine cores, and fp32 mode must match
onnxruntime on the float model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from fvir.backend.functional import run_package
from fvir.backend.machine import Machine, simulate_package
from fvir.hw import PAPER_U200, TINY
from fvir.hw.cost import core_bytes_per_cycle
from fvir.isa import Opcode
from fvir.isa.encoding import columns
from fvir.reference.int8 import run, run_host
from fvir.tools.mac_share import mac_fields
from fvir.zoo.builder import GraphBuilder

from .models import compile_keeping_reference, random_input

HW = {"tiny": TINY, "paper-u200": PAPER_U200}


def grouped() -> onnx.ModelProto:
    """ResNeXt / RegNet blocks: 3x3 convs of 4 and 3 groups (one strided), a 1x1 of 6 groups
    and a strided 1x1 of 16 groups with 2 outputs per group (3 inputs each), and a channel
    multiplier (group = input channels, 2 outputs each)."""
    b = GraphBuilder("grouped", seed=8)
    x = b.input("x", (1, 16, 10, 10))
    y = b.relu(b.bn(b.conv(x, 24, 3, 1, 1, groups=4, bias=False)))
    y = b.relu(b.conv(y, 24, 3, 2, 1, groups=3))
    y = b.conv(y, 48, 1, 1, 0, groups=6)
    y = b.conv(y, 32, 1, 2, 0, groups=16)
    return b.finish([x], [b.conv(y, 64, 3, 1, 1, groups=32, name="out")])


def _unary(b: GraphBuilder, op: str, x: str, **attrs: object) -> str:
    return b._node(op, [x], b._fresh(op, None), b.shapes[x], **attrs)


def _scaled(b: GraphBuilder, op: str, x: str, values: list[float]) -> str:
    """x op c for a constant c of one value per channel ([C, 1, 1]) or a scalar."""
    c = np.array(values, np.float32)
    c = c.reshape(-1, 1, 1) if c.size > 1 else c.reshape(())
    name = b._fresh("const", None)
    b._init(name, c.shape, lambda: c, trainable=False)
    return b._node(op, [x, name], b._fresh(op, None), b.shapes[x])


def hard_activations() -> onnx.ModelProto:
    """MobileNetV3's activations and constant per-channel arithmetic: HardSwish after a conv
    and after a depthwise conv, HardSigmoid with ONNX's default slope, a per-channel Mul, Add
    and Sub and a scalar Div (each a 1x1 depthwise conv)."""
    b = GraphBuilder("hard", seed=9)
    x = b.input("x", (1, 8, 9, 9))
    y = _unary(b, "HardSwish", b.conv(x, 16, 3, 1, 1))
    y = _unary(b, "HardSwish", b.conv(y, 16, 3, 2, 1, groups=16))
    y = _scaled(b, "Mul", y, [0.5 + 0.1 * i for i in range(16)])
    y = _scaled(b, "Add", y, [0.2 * i - 1.5 for i in range(16)])
    y = _unary(b, "HardSigmoid", y)
    y = _scaled(b, "Sub", b.conv(y, 8, 1), [0.1 * i for i in range(8)])
    return b.finish([x], [_scaled(b, "Div", y, [4.0])])


def dense_block() -> onnx.ModelProto:
    """DenseNet's pre-activation layers: batchnorm + relu on a block input (no conv to fold
    into: a 1x1 depthwise conv with the relu fused), a concat, and another such layer."""
    b = GraphBuilder("dense_block", seed=3)
    x = b.input("x", (1, 8, 9, 9))
    y = b.conv(b.relu(b.bn(x)), 8, 3, 1, 1)
    y = b.concat([x, y])
    return b.finish([x], [b.conv(b.relu(b.bn(y)), 8, 1, name="out")])


def squeeze_excite() -> onnx.ModelProto:
    """MobileNetV3 / EfficientNet / RegNetY's squeeze-excitation: global average pooling (as
    ReduceMean over H and W, what PyTorch exports), two 1x1 convs, a HardSigmoid gate and the
    image times the gate (ELEW with a broadcast vector, the gate first as PyTorch writes it
    in places), then a residual add of a per-channel vector."""
    b = GraphBuilder("se", seed=10)
    x = b.input("x", (1, 16, 7, 7))
    y = b.relu(b.conv(x, 16, 3, 1, 1))
    s = b._node("ReduceMean", [y], "squeeze", (1, 16, 1, 1), axes=[2, 3], keepdims=1)
    s = b.relu(b.conv(s, 4, 1))
    s = _unary(b, "HardSigmoid", b.conv(s, 16, 1), alpha=1 / 6)
    y = b._node("Mul", [s, y], "excite", b.shapes[y])
    t = b.conv(b.global_avgpool(y), 16, 1)
    y = b._node("Add", [y, t], "shifted", b.shapes[y])
    return b.finish([x], [b.conv(y, 8, 1, name="out")])


def _conv_transpose(
    b: GraphBuilder,
    x: str,
    out_ch: int,
    k: int,
    s: int,
    p: int = 0,
    extra: int = 0,
    groups: int = 1,
) -> str:
    n, c, h, w = b.shapes[x]
    wt = b._normal(b._fresh("ct.w", None), (c, out_ch // groups, k, k), (2 / (c * k)) ** 0.5)
    bias = b._uniform(b._fresh("ct.b", None), (out_ch,), 0.1)
    size = [(d - 1) * s - 2 * p + k + extra for d in (h, w)]
    return b._node(
        "ConvTranspose",
        [x, wt, bias],
        b._fresh("ConvTranspose", None),
        (n, out_ch, *size),
        strides=[s, s],
        pads=[p, p, p, p],
        output_padding=[extra, extra],
        group=groups,
    )


def unet_decoder() -> onnx.ModelProto:
    """A U-Net decoder: 2x2/2 up-convolution concatenated with the encoder's skip, a 3x3/2
    one with output_padding 1 and 2 groups, a 4x4/2 one with pad 1 and a stride-1 one: each a
    host zero insertion (Reshape, Pad, Reshape) and a conv on the accelerator."""
    b = GraphBuilder("unet", seed=11)
    x = b.input("x", (1, 8, 12, 12))
    skip = b.relu(b.conv(x, 8, 3, 1, 1))
    y = b.relu(b.conv(b.maxpool(skip, 2), 16, 3, 1, 1))
    y = b.concat([_conv_transpose(b, y, 8, 2, 2), skip])
    y = b.relu(b.conv(y, 8, 3, 2, 1))
    y = _conv_transpose(b, y, 8, 3, 2, 1, extra=1, groups=2)
    y = _conv_transpose(b, y, 4, 4, 2, 1)
    return b.finish([x], [_conv_transpose(b, y, 4, 3, 1, 1)])


def per_step_head() -> onnx.ModelProto:
    """A language model's per-step head: a Gemm over 6 time steps (rows), a relu and a
    MatMul of [1, 6, 12] by constant weights: each a 1x1 conv over the rows."""
    b = GraphBuilder("head", seed=12)
    x = b.input("x", (6, 16))
    y = b.relu(b.gemm(x, 12))
    y = b.reshape(y, (1, 6, 12))
    w = b._normal(b._fresh("proj.w", None), (12, 10), 0.3)
    return b.finish([x], [b._node("MatMul", [y, w], "out", (1, 6, 10))])


def wide_windows() -> onnx.ModelProto:
    """Windows beyond the ISA's fields, imported as convs within them: a ViT's 16x16/16 patch
    embedding (space-to-depth), a 17x17 kernel (two blocks of taps per axis, stacked on
    channels) and a 3x3 conv at stride 16."""
    b = GraphBuilder("wide", seed=14)
    x = b.input("x", (1, 3, 32, 32))
    patches = b.relu(b.conv(x, 8, 16, 16))
    y = b.conv(b.relu(b.conv(x, 4, 17, 1, 8)), 8, 3, 16, 1)
    return b.finish([x], [b.conv(b.concat([patches, y]), 8, 1, name="out")])


def convnext_block() -> onnx.ModelProto:
    """ConvNeXt as PyTorch exports it: a 4x4/4 stem, then a block of a 7x7 depthwise conv,
    a permute to channels-last, LayerNorm over channels (its rows [H*W, C] on ROW), Linear,
    GELU, Linear (convs over the rows), a permute back and the residual add."""
    b = GraphBuilder("convnext", seed=15)
    x = b.input("x", (1, 3, 32, 32))
    s = b.conv(x, 16, 4, 4)
    y = b.transpose(b.conv(s, 16, 7, 1, 3, groups=16), (0, 2, 3, 1))
    y = b.linear(b.gelu(b.linear(b.layer_norm(y, eps=1e-6), 64)), 16)
    return b.finish([x], [b.add(s, b.transpose(y, (0, 3, 1, 2)), name="out")])


def wide_reduction() -> onnx.ModelProto:
    """A 3x3 conv over 512 channels: on `tiny` the weights of even OCP = 4 output channels
    (4 x 4608 bytes) overflow the 16 KiB weight buffer, so each tile reduces over chunks of
    input channels with int32 partial sums in the bias buffer."""
    b = GraphBuilder("wide_reduction", seed=16)
    x = b.input("x", (1, 512, 6, 6))
    y = b.relu(b.bn(b.conv(x, 16, 3, 1, 1, bias=False)))
    return b.finish([x], [b.conv(y, 8, 1, name="out")])


def wide_dense() -> onnx.ModelProto:
    """VGG's classifier in small: a [1, 64, 12, 12] image (9 KiB) flattened into a Gemm, on
    `tiny` more than the 8 KiB fmap buffer holds, so each MVM reduces over whole image rows at
    a time; then a Gemm on a plain vector."""
    b = GraphBuilder("wide_dense", seed=17)
    x = b.input("x", (1, 64, 12, 12))
    y = b.relu(b.gemm(b.flatten(b.relu(b.conv(x, 64, 1))), 32))
    return b.finish([x], [b.gemm(y, 10, name="out")])


def wide_pool() -> onnx.ModelProto:
    """EfficientNet-B0's first squeeze-excitation pool in small: a global average pool of a
    100 x 100 image, one channel of which (10,000 bytes) is more than `tiny`'s 8 KiB fmap
    buffer, so each tile pools the window's rows in parts, keeping partial sums in the bias
    buffer (on paper-u200 it fits one channel at a time)."""
    b = GraphBuilder("wide_pool", seed=19)
    x = b.input("x", (1, 8, 100, 100))
    y = b.global_avgpool(b.relu(b.conv(x, 8, 1)))
    return b.finish([x], [b.gemm(b.flatten(y), 10, name="out")])


def wide_norm() -> onnx.ModelProto:
    """ConvNeXt-T's stage-3 LayerNorm in small: rows of 384 channels, whose 1,536 bytes of
    int32 betas exceed `tiny`'s 1 KiB bias buffer, so each tile loads the scale and bias in
    parts and writes each part of every row with a ROW of its own (whole-row statistics)."""
    b = GraphBuilder("wide_norm", seed=20)
    x = b.input("x", (1, 384, 4, 4))
    y = b.transpose(b.conv(x, 384, 3, 1, 1, groups=384), (0, 2, 3, 1))
    y = b.linear(b.layer_norm(y, eps=1e-6), 16)
    return b.finish([x], [b.add(b.conv(x, 16, 1), b.transpose(y, (0, 3, 1, 2)), name="out")])


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "wide_reduction": wide_reduction,
    "wide_dense": wide_dense,
    "wide_pool": wide_pool,
    "wide_norm": wide_norm,
    "convnext": convnext_block,
    "wide": wide_windows,
    "head": per_step_head,
    "unet": unet_decoder,
    "se": squeeze_excite,
    "grouped": grouped,
    "hard": hard_activations,
    "dense_block": dense_block,
}


@pytest.fixture(scope="module")
def compiled():
    cache: dict = {}

    def get(name: str, hw: str):
        if (name, hw) not in cache:
            model = MODELS[name]()
            cache[name, hw] = (model, *compile_keeping_reference(model, HW[hw]))
        return cache[name, hw]

    return get


def host_layers(package) -> list[str]:
    return [layer.name for layer in package.layers if layer.kind == "host"]


@pytest.mark.parametrize("hw", list(HW))
@pytest.mark.parametrize("name", list(MODELS))
def test_runs_on_the_accelerator_bit_exactly(compiled, name: str, hw: str) -> None:
    model, package, reference = compiled(name, hw)
    assert mac_fields(package)["host_macs"] == 0  # a U-Net's zero insertion: host, no MACs
    assert host_layers(package) == [] or name in ("unet", "head", "wide", "convnext")  # layout
    x = random_input(model)
    want = run(reference.module, reference.weights, [x])
    for got in (run_package(package, [x], HW[hw].core, "int8", host=run_host),):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("cores", [[0], [0, 1, 2]])
@pytest.mark.parametrize("name", list(MODELS))
def test_bit_exact_on_machine_cores(compiled, name: str, cores: list[int]) -> None:
    model, package, reference = compiled(name, "paper-u200")
    x = random_input(model, seed=5)
    want = run(reference.module, reference.weights, [x])
    m = Machine(PAPER_U200, host=run_host)
    m.load("a", m.deploy("a", package, cores), [x])
    for g, w in zip(m.run().tenants["a"].outputs, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name", list(MODELS))
def test_fp32_mode_matches_onnxruntime(compiled, name: str) -> None:
    model, package, _ = compiled(name, "tiny")
    x = random_input(model, seed=11)
    got = run_package(package, [x], TINY.core, "fp32", host=run_host)
    session = ort.InferenceSession(model.SerializeToString())
    want = session.run(None, {session.get_inputs()[0].name: x})
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


def test_channels_last_layer_norm_runs_on_row(compiled) -> None:
    """ConvNeXt's LayerNorm over the last axis of [1, H, W, C] runs on its rows on the
    accelerator, and the permutes between the NCHW image and the rows, which move no byte of
    the NHWC tensors, are views: nothing runs on the host."""
    _, package, _ = compiled("convnext", "paper-u200")
    assert package.host_ops() == {}
    assert "layer_norm" in {layer.kind for layer in package.layers}


def test_split_reductions_only_where_the_weights_do_not_fit(compiled) -> None:
    """On `tiny` the 512-channel conv's frames reduce over input-channel chunks (CONVs with
    acc_out, then acc_in); on paper-u200 its weights fit and no CONV splits."""
    def flags(hw: str) -> set[tuple[int, int]]:
        _, package, _ = compiled("wide_reduction", hw)
        _, conv = columns(package.words, Opcode.CONV)
        return set(zip(conv["acc_in"].tolist(), conv["acc_out"].tolist(), strict=True))

    assert {(0, 1), (1, 0), (0, 0)} <= flags("tiny")  # first and last chunks; the 1x1 whole
    assert flags("paper-u200") == {(0, 0)}


def test_dense_split_reductions_on_tiny(compiled) -> None:
    """The 9,216-input Gemm reduces over chunks on `tiny` (MVMs with acc_out, then acc_in)."""
    _, package, _ = compiled("wide_dense", "tiny")
    _, mvm = columns(package.words, Opcode.MVM)
    assert {(0, 1), (1, 0), (0, 0)} <= set(zip(mvm["acc_in"].tolist(), mvm["acc_out"].tolist(),
                                               strict=True))


def lstm_language_model() -> onnx.ModelProto:
    """An LSTM language model as PyTorch exports one: 2 LSTM layers of 128 over 24 steps of
    64-wide inputs (embeddings), then nn.Linear over every step to a 500-word vocabulary
    (MatMul by [128, 500] plus Add on [24, 1, 128])."""
    b = GraphBuilder("lstm_lm", seed=18)
    x = b.input("x", (24, 1, 64))
    y = b.lstm(b.lstm(x, 128), 128)
    return b.finish([x], [b.linear(y, 500, name="logits")])


def test_lstm_language_model_runs_on_the_accelerator() -> None:
    """Issue 17's LSTM language model: >= 95% of its MACs on the accelerator (the recurrent
    steps as MVMs, the per-step head as a conv over the rows), bit-exact on 1 and 3 cores."""
    model = lstm_language_model()
    package, reference = compile_keeping_reference(model, PAPER_U200)
    share = mac_fields(package)["accelerator_mac_share"]
    assert share >= 0.95, share
    x = random_input(model, seed=3)
    want = run(reference.module, reference.weights, [x])
    for cores in ([0], [0, 1, 2]):
        m = Machine(PAPER_U200, host=run_host)
        m.load("a", m.deploy("a", package, cores), [x])
        for g, w in zip(m.run().tenants["a"].outputs, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_global_pool_split_over_rows_on_tiny(compiled) -> None:
    """The 100 x 100 average pool pools parts of its rows on `tiny` (POOLs with acc_out, then
    acc_in) and does not on paper-u200."""
    def flags(hw: str) -> set[tuple[int, int]]:
        _, package, _ = compiled("wide_pool", hw)
        _, pool = columns(package.words, Opcode.POOL)
        return set(zip(pool["acc_in"].tolist(), pool["acc_out"].tolist(), strict=True))

    assert {(0, 1), (1, 0)} <= flags("tiny")
    assert flags("paper-u200") == {(0, 0)}


def test_layer_norm_scale_in_parts_on_tiny(compiled) -> None:
    """The 384-channel LayerNorm writes its rows in parts on `tiny` (ROWs with part_len) and
    whole on paper-u200."""
    def parts(hw: str) -> set[int]:
        _, package, _ = compiled("wide_norm", hw)
        _, row = columns(package.words, Opcode.ROW)
        return set(row["part_len"].tolist())

    assert parts("tiny") - {0} and parts("paper-u200") == {0}


@pytest.mark.parametrize("name", ["wide_reduction", "wide_dense", "wide_pool", "wide_norm"])
def test_split_reduction_frames_cost_what_they_simulate(compiled, name: str) -> None:
    """The compiler's closed-form cost of the layers whose frames reduce over chunks (chunks
    back to back) against the event-driven schedule, on one tiny core at the DDR share the
    compiler assumes: within 2%, like the zoo's frames on paper-u200
    (tests/backend/test_machine_zoo.py)."""
    model, package, _ = compiled(name, "tiny")
    report = simulate_package(package, [random_input(model)], TINY, functional=False,
                              port_bytes_per_cycle=core_bytes_per_cycle(TINY))
    (tenant,) = report.tenants.values()
    frame_of = np.searchsorted(package.frames["instr_start"].astype(np.int64),
                               np.arange(len(package.words)), "right") - 1
    split = set()
    for op, field in ((Opcode.CONV, "acc_out"), (Opcode.MVM, "acc_out"), (Opcode.POOL, "acc_out"),
                      (Opcode.ROW, "part_len")):
        idx, f = columns(package.words, op)
        split |= set(package.frames["layer"][frame_of[idx[f[field] > 0]]].tolist())
    assert split
    for i in split:
        closed_form = int(package.frames["cost"][package.frames["layer"] == i].sum())
        simulated = tenant.layer_cycles[package.layers[i].name]
        assert abs(simulated - closed_form) <= 0.02 * closed_form, (simulated, closed_form)
