"""fvir's model zoo: ONNX builders for the DNN families a cloud FPGA accelerator serves (CNNs,
RNNs and a mix of both), with real layer shapes and seeded random weights.

No model hub is reachable from where fvir runs, so every model is constructed with
`onnx.helper` (see `fvir.zoo.builder`) from its published layer table: VGG-16, ResNet-18/50,
MobileNetV2, MobileNetV3-Small, GoogLeNet, EfficientNet-B0, RegNetY-400MF, ResNeXt-50,
DenseNet-121 and ConvNeXt-T at 224x224 (batch 1, 1000 classes), a U-Net, a stacked LSTM, a
stacked GRU, a CRNN (convolutions feeding bidirectional LSTMs), a small ViT and a BERT-like
encoder. Each family module's docstring names its source. Weights come from
`np.random.default_rng(seed)` with He / PyTorch-default scaling
and BatchNorm statistics calibrated on a probe input, so activations stay O(1) and the models
are numerically meaningful test inputs for the compiler and simulator. The same name and seed
give byte-identical models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from fvir.errors import UserError
from fvir.zoo import (
    convnext,
    densenet,
    efficientnet,
    inception,
    mobilenet,
    regnet,
    resnet,
    rnn,
    transformer,
    unet,
    vgg,
)
from fvir.zoo.builder import GraphBuilder

if TYPE_CHECKING:
    import onnx

Kind = Literal["cnn", "rnn", "mixed", "transformer"]


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model: its builder, a one-line description, its kind and its input shape."""

    name: str
    builder: Callable[[GraphBuilder], onnx.ModelProto]
    description: str
    kind: Kind
    input_shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelStats:
    """Size of a zoo model, counted while building it (without drawing any weights)."""

    params: int  # trainable parameters (BatchNorm running statistics excluded)
    macs: int  # multiply-accumulates of the Conv, Gemm, MatMul, LSTM and GRU layers


_IMAGE = (1, 3, 224, 224)

MODELS: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry("vgg16", vgg.vgg16, "VGG-16: 13 3x3 convs and 3 FCs, no BatchNorm", "cnn", _IMAGE),
        ZooEntry(
            "resnet18", resnet.resnet18, "ResNet-18: 2-2-2-2 basic residual blocks", "cnn", _IMAGE
        ),
        ZooEntry(
            "resnet50",
            resnet.resnet50,
            "ResNet-50 v1.5: 3-4-6-3 bottlenecks, stride on the 3x3",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "mobilenetv2",
            mobilenet.mobilenetv2,
            "MobileNetV2 1.0: inverted residuals, depthwise convs, ReLU6",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "mobilenetv3",
            mobilenet.mobilenetv3_small,
            "MobileNetV3-Small: depthwise bottlenecks, squeeze-excitation, hard-swish",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "googlenet",
            inception.googlenet,
            "GoogLeNet (Inception-v1): 9 inception modules, 2 LRNs (host ops), no aux heads",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "efficientnet_b0",
            efficientnet.efficientnet_b0,
            "EfficientNet-B0: MBConv blocks, depthwise convs, squeeze-excitation, SiLU",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "regnety_400mf",
            regnet.regnety_400mf,
            "RegNetY-400MF: grouped 3x3 bottlenecks (group width 8), squeeze-excitation",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "resnext50",
            resnet.resnext50_32x4d,
            "ResNeXt-50 32x4d: ResNet-50 with 32-group 3x3 convs, twice as wide",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "densenet121",
            densenet.densenet121,
            "DenseNet-121: 4 dense blocks (growth 32) concatenating every layer, BN-ReLU-conv",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "convnext_tiny",
            convnext.convnext_tiny,
            "ConvNeXt-T: 7x7 depthwise convs, channels-last LayerNorm, GELU MLPs, layer scale",
            "cnn",
            _IMAGE,
        ),
        ZooEntry(
            "unet",
            unet.unet,
            "U-Net (half width, 128x128): 4 max-pool downs, 4 transposed-conv ups with skips",
            "cnn",
            (1, 3, unet.IMAGE, unet.IMAGE),
        ),
        ZooEntry(
            "lstm",
            rnn.lstm,
            "2-layer LSTM, input 512, hidden 512, 32 steps",
            "rnn",
            (rnn.SEQ, rnn.BATCH, rnn.FEATURES),
        ),
        ZooEntry(
            "gru",
            rnn.gru,
            "2-layer GRU, input 512, hidden 512, 32 steps",
            "rnn",
            (rnn.SEQ, rnn.BATCH, rnn.FEATURES),
        ),
        ZooEntry(
            "crnn",
            rnn.crnn,
            "CRNN text recogniser: 6 conv+BN+ReLU layers, 2 biLSTM-256, 37 classes per step",
            "mixed",
            (1, 1, 32, 128),
        ),
        ZooEntry(
            "vit",
            transformer.vit,
            "small ViT: 96x96 image, 16x16 patches, 4 pre-LN blocks of 192 (3 heads), MLP 768",
            "transformer",
            (1, 3, transformer.VIT_IMAGE, transformer.VIT_IMAGE),
        ),
        ZooEntry(
            "bert",
            transformer.bert,
            "BERT-like encoder: 64 tokens, 4 post-LN layers of 256 (4 heads), FFN 1024",
            "transformer",
            (1, transformer.BERT_SEQ, transformer.BERT_DIM),
        ),
    )
}


def list_models() -> list[ZooEntry]:
    """The zoo's models, in registry order (CNNs first)."""
    return list(MODELS.values())


def _entry(name: str) -> ZooEntry:
    if name not in MODELS:
        raise UserError(f"unknown model '{name}' (available: {', '.join(MODELS)})")
    return MODELS[name]


def build(name: str, seed: int = 0) -> onnx.ModelProto:
    """Build zoo model `name` with weights drawn from `np.random.default_rng(seed)`."""
    entry = _entry(name)
    model = entry.builder(GraphBuilder(name, seed))
    model.doc_string = f"fvir.zoo {name} (seed {seed}): {entry.description}"
    return model


def stats(name: str) -> ModelStats:
    """Parameter and MAC counts of model `name`, without drawing its weights."""
    b = GraphBuilder(name, materialize=False)
    _entry(name).builder(b)
    return ModelStats(b.params, b.macs)


__all__ = ["MODELS", "GraphBuilder", "ModelStats", "ZooEntry", "build", "list_models", "stats"]
