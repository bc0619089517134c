"""ResNet-18 and ResNet-50 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
Table 1) and ResNeXt-50 32x4d (Xie et al., "Aggregated Residual Transformations for Deep Neural
Networks", CVPR 2017, Table 1), laid out as torchvision's `resnet18` / `resnet50` /
`resnext50_32x4d`.

Stem: 7x7/2 conv 64 + BN + ReLU, 3x3/2 max pool. Four stages of 64-128-256-512 base channels;
ResNet-18 stacks 2-2-2-2 basic blocks (two 3x3 convs), ResNet-50 3-4-6-3 bottlenecks
(1x1 -> 3x3 -> 1x1 with 4x expansion). The first block of a stage that changes the shape gets a
projection shortcut (1x1 conv with the block's stride + BN, the paper's option B). ResNet-50 is
"v1.5": the stride-2 sits on the bottleneck's 3x3 conv, not on its first 1x1. Convs before a BN
have no bias. ResNeXt-50 32x4d is ResNet-50 with a grouped 3x3 conv in every bottleneck: 32
groups of 4 channels in the first stage, so the bottlenecks are twice as wide (128-256-512-1024)
with the same outputs (4x the base channels). Global average pool, FC-1000. 224x224 input:
ResNet-18 11,689,512 parameters and 1.8 GMACs, ResNet-50 25,557,032 parameters and 4.1 GMACs,
ResNeXt-50 25,028,904 parameters and 4.2 GMACs.
"""

from collections.abc import Callable
from functools import partial

import onnx

from fvir.zoo.builder import GraphBuilder

Block = Callable[[GraphBuilder, str, int, int, str], str]


def _conv_bn(
    b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str, *, relu: bool,
    groups: int = 1,
) -> str:  # fmt: skip
    y = b.bn(b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name), name=f"{name}.bn")
    return b.relu(y) if relu else y


def _shortcut(b: GraphBuilder, x: str, out_ch: int, stride: int, name: str) -> str:
    if stride == 1 and b.shape(x)[1] == out_ch:
        return x
    return _conv_bn(b, x, out_ch, 1, stride, f"{name}.downsample", relu=False)


def basic_block(b: GraphBuilder, x: str, planes: int, stride: int, name: str) -> str:
    y = _conv_bn(b, x, planes, 3, stride, f"{name}.conv1", relu=True)
    y = _conv_bn(b, y, planes, 3, 1, f"{name}.conv2", relu=False)
    return b.relu(b.add(y, _shortcut(b, x, planes, stride, name)), name=f"{name}.out")


def bottleneck(b: GraphBuilder, x: str, planes: int, stride: int, name: str, *, groups: int = 1,
               width_per_group: int = 64) -> str:
    """torchvision's Bottleneck: a 1x1 conv to planes * width_per_group / 64 * groups channels,
    a 3x3 conv with `groups` groups, a 1x1 conv to planes * 4."""
    width = planes * width_per_group // 64 * groups
    y = _conv_bn(b, x, width, 1, 1, f"{name}.conv1", relu=True)
    y = _conv_bn(b, y, width, 3, stride, f"{name}.conv2", relu=True, groups=groups)  # v1.5
    y = _conv_bn(b, y, planes * 4, 1, 1, f"{name}.conv3", relu=False)
    return b.relu(b.add(y, _shortcut(b, x, planes * 4, stride, name)), name=f"{name}.out")


def _resnet(b: GraphBuilder, block: Block, depths: tuple[int, int, int, int]) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_bn(b, x, 64, 7, 2, "conv1", relu=True)
    x = b.maxpool(x, 3, 2, 1, name="maxpool")
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), depths, strict=True), 1):
        for i in range(n):
            stride = 2 if stage > 1 and i == 0 else 1
            x = block(b, x, planes, stride, f"layer{stage}.{i}")
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])


def resnet18(b: GraphBuilder) -> onnx.ModelProto:
    return _resnet(b, basic_block, (2, 2, 2, 2))


def resnet50(b: GraphBuilder) -> onnx.ModelProto:
    return _resnet(b, bottleneck, (3, 4, 6, 3))


def resnext50_32x4d(b: GraphBuilder) -> onnx.ModelProto:
    return _resnet(b, partial(bottleneck, groups=32, width_per_group=4), (3, 4, 6, 3))
