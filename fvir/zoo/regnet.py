"""RegNetY-400MF (Radosavovic et al., "Designing Network Design Spaces", CVPR 2020), laid out as
torchvision's `regnet_y_400mf`.

Stem: 3x3/2 conv 32 + BN + ReLU. Four stages of 1-3-6-6 residual bottleneck blocks with widths
48-104-208-440 (torchvision's quantised-linear widths for depth 16, w_0 48, w_a 27.89, w_m
2.09), group width 8, bottleneck multiplier 1, the stride 2 on each stage's first block. A block
is a 1x1 conv + BN + ReLU, a 3x3 grouped conv (width / 8 groups, the block's stride) + BN +
ReLU, a squeeze-excitation gate (global average pool, 1x1 conv with bias to round(0.25 * block
input width), ReLU, 1x1 conv with bias back, sigmoid, channel-wise multiply) and a 1x1 conv +
BN; the shortcut is a 1x1 conv with the block's stride + BN when the width or the resolution
changes, the identity otherwise, and ReLU follows the sum. Convs before a BN have no bias; BN
eps 1e-5. Global average pool, Linear 1000. 224x224 input: 4,344,144 parameters, 0.40 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

# (depth, width) of the four stages.
STAGES: tuple[tuple[int, int], ...] = ((1, 48), (3, 104), (6, 208), (6, 440))
GROUP_WIDTH = 8
SE_RATIO = 0.25


def _conv_bn(b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str, *,
             groups: int = 1, relu: bool) -> str:
    y = b.bn(b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name), name=f"{name}.bn")
    return b.relu(y) if relu else y


def res_bottleneck(b: GraphBuilder, x: str, width: int, stride: int, name: str) -> str:
    in_ch = b.shape(x)[1]
    y = _conv_bn(b, x, width, 1, 1, f"{name}.a", relu=True)
    y = _conv_bn(b, y, width, 3, stride, f"{name}.b", groups=width // GROUP_WIDTH, relu=True)
    y = b.squeeze_excitation(y, round(SE_RATIO * in_ch), b.relu, b.sigmoid, name=f"{name}.se")
    y = _conv_bn(b, y, width, 1, 1, f"{name}.c", relu=False)
    if stride != 1 or in_ch != width:
        x = _conv_bn(b, x, width, 1, stride, f"{name}.proj", relu=False)
    return b.relu(b.add(x, y), name=f"{name}.out")


def regnety_400mf(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_bn(b, x, 32, 3, 2, "stem", relu=True)
    for stage, (depth, width) in enumerate(STAGES, 1):
        for i in range(depth):
            x = res_bottleneck(b, x, width, 2 if i == 0 else 1, f"block{stage}.{i}")
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])
