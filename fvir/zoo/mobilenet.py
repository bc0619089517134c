"""MobileNetV2, width 1.0 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018, Table 2), laid out as torchvision's `mobilenet_v2`.

3x3/2 conv 32, then the inverted-residual table below (expansion t, output channels c, repeats n,
first stride s): each block is 1x1 expand (skipped when t = 1) + 3x3 depthwise + 1x1 linear
projection, every conv followed by BN, ReLU6 (ONNX Clip 0..6) after all but the projection, and
an identity residual when stride is 1 and the channel count is unchanged. Then 1x1 conv 1280,
global average pool, FC-1000. 224x224 input: 3,504,872 parameters, 0.30 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

# (t, c, n, s) rows of the paper's Table 2.
INVERTED_RESIDUALS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _conv_bn(
    b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str, *, groups: int = 1,
    relu6: bool = True,
) -> str:  # fmt: skip
    y = b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name)
    y = b.bn(y, name=f"{name}.bn")
    return b.relu6(y) if relu6 else y


def inverted_residual(b: GraphBuilder, x: str, t: int, out_ch: int, stride: int, name: str) -> str:
    in_ch = b.shape(x)[1]
    hidden = in_ch * t
    y = x if t == 1 else _conv_bn(b, x, hidden, 1, 1, f"{name}.expand")
    y = _conv_bn(b, y, hidden, 3, stride, f"{name}.dw", groups=hidden)
    y = _conv_bn(b, y, out_ch, 1, 1, f"{name}.project", relu6=False)  # linear bottleneck
    return b.add(x, y, name=f"{name}.out") if stride == 1 and in_ch == out_ch else y


def mobilenetv2(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_bn(b, x, 32, 3, 2, "conv_stem")
    i = 0
    for t, c, n, s in INVERTED_RESIDUALS:
        for j in range(n):
            x = inverted_residual(b, x, t, c, s if j == 0 else 1, f"block{i}")
            i += 1
    x = _conv_bn(b, x, 1280, 1, 1, "conv_head")
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])
