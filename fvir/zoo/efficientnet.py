"""EfficientNet-B0 (Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019, Table 1), laid out as torchvision's `efficientnet_b0`.

A 3x3/2 conv 32 + BN + SiLU, then the MBConv table below (expansion, kernel, stride, input
channels, output channels, repeats; the stride applies to a stage's first block): each block is
a 1x1 expand + BN + SiLU (skipped at expansion 1), a kxk depthwise conv + BN + SiLU, a
squeeze-excitation gate (global average pool, 1x1 conv with bias to max(1, block input / 4),
SiLU, 1x1 conv with bias back, sigmoid, channel-wise multiply) and a 1x1 linear projection + BN,
with an identity residual at stride 1 when the channel count is unchanged (stochastic depth is
the identity at inference). Then 1x1 conv 1280 + BN + SiLU, global average pool, Linear 1000
(dropout is the identity at inference). Convs before a BN have no bias; the BNs use PyTorch's
default eps 1e-5, as torchvision's V1 models do (its V2 models use 1e-3). SiLU is exported as
Sigmoid and Mul. 224x224 input: 5,288,548 parameters, 0.39 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

# (expansion, kernel, stride, input channels, output channels, repeats) rows of Table 1.
MBCONV_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def _conv_bn(b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str, *,
             groups: int = 1, silu: bool = True) -> str:
    y = b.bn(b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name), name=f"{name}.bn")
    return b.silu(y) if silu else y


def mbconv(b: GraphBuilder, x: str, expansion: int, k: int, stride: int, out_ch: int,
           name: str) -> str:
    in_ch = b.shape(x)[1]
    hidden = in_ch * expansion
    y = x if expansion == 1 else _conv_bn(b, x, hidden, 1, 1, f"{name}.expand")
    y = _conv_bn(b, y, hidden, k, stride, f"{name}.dw", groups=hidden)
    y = b.squeeze_excitation(y, max(1, in_ch // 4), b.silu, b.sigmoid, name=f"{name}.se")
    y = _conv_bn(b, y, out_ch, 1, 1, f"{name}.project", silu=False)
    return b.add(x, y, name=f"{name}.out") if stride == 1 and in_ch == out_ch else y


def efficientnet_b0(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_bn(b, x, 32, 3, 2, "conv_stem")
    i = 0
    for expansion, k, stride, _, out_ch, n in MBCONV_STAGES:
        for j in range(n):
            x = mbconv(b, x, expansion, k, stride if j == 0 else 1, out_ch, f"block{i}")
            i += 1
    x = _conv_bn(b, x, 1280, 1, 1, "conv_head")
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])
