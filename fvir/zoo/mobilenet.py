"""MobileNetV2 and MobileNetV3-Small, laid out as torchvision's `mobilenet_v2` and
`mobilenet_v3_small`.

MobileNetV2, width 1.0 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018, Table 2):
3x3/2 conv 32, then the inverted-residual table below (expansion t, output channels c, repeats n,
first stride s): each block is 1x1 expand (skipped when t = 1) + 3x3 depthwise + 1x1 linear
projection, every conv followed by BN, ReLU6 (ONNX Clip 0..6) after all but the projection, and
an identity residual when stride is 1 and the channel count is unchanged. Then 1x1 conv 1280,
global average pool, FC-1000. 224x224 input: 3,504,872 parameters, 0.30 GMACs.

MobileNetV3-Small (Howard et al., "Searching for MobileNetV3", ICCV 2019, Table 2): a 3x3/2
conv 16 with hard-swish, then the bottleneck table below (kernel, expanded channels, output
channels, squeeze-excitation, activation, stride): 1x1 expand (skipped when the expansion
equals the input), kxk depthwise, an SE gate (global average pool, 1x1 conv to
make_divisible(expanded / 4, 8), ReLU, 1x1 conv back, hard-sigmoid, channel-wise multiply),
1x1 linear projection; BN (eps 0.001) after every conv of the block, an identity residual at
stride 1 with the channel count unchanged. Then 1x1 conv 576 + BN + hard-swish, global average
pool, Linear 1024 + hard-swish, Linear 1000. 224x224 input: 2,542,856 parameters, ~0.06 GMACs.
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


# (kernel, expanded, out, SE, activation, stride) rows of the MobileNetV3 paper's Table 2.
SMALL_BOTTLENECKS: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "RE", 2),
    (3, 72, 24, False, "RE", 2),
    (3, 88, 24, False, "RE", 1),
    (5, 96, 40, True, "HS", 2),
    (5, 240, 40, True, "HS", 1),
    (5, 240, 40, True, "HS", 1),
    (5, 120, 48, True, "HS", 1),
    (5, 144, 48, True, "HS", 1),
    (5, 288, 96, True, "HS", 2),
    (5, 576, 96, True, "HS", 1),
    (5, 576, 96, True, "HS", 1),
)


def _conv_bn(
    b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str, *, groups: int = 1,
    relu6: bool = True,
) -> str:  # fmt: skip
    y = b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name)
    y = b.bn(y, name=f"{name}.bn")
    return b.relu6(y) if relu6 else y


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's channel rounding: to a multiple of `divisor`, never 10 % below `v`."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _conv_bn_act(b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str,
                 act: str | None, *, groups: int = 1) -> str:
    y = b.bn(b.conv(x, ch, k, stride, k // 2, groups, bias=False, name=name),
             name=f"{name}.bn", eps=1e-3)
    if act == "HS":
        return b.hardswish(y)
    return b.relu(y) if act == "RE" else y


def v3_bottleneck(b: GraphBuilder, x: str, k: int, expanded: int, out_ch: int, se: bool,
                  act: str, stride: int, name: str) -> str:
    in_ch = b.shape(x)[1]
    y = x if expanded == in_ch else _conv_bn_act(b, x, expanded, 1, 1, f"{name}.expand", act)
    y = _conv_bn_act(b, y, expanded, k, stride, f"{name}.dw", act, groups=expanded)
    if se:
        y = b.squeeze_excitation(y, _make_divisible(expanded // 4), b.relu, b.hardsigmoid,
                                 name=f"{name}.se")
    y = _conv_bn_act(b, y, out_ch, 1, 1, f"{name}.project", None)
    return b.add(x, y, name=f"{name}.out") if stride == 1 and in_ch == out_ch else y


def mobilenetv3_small(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_bn_act(b, x, 16, 3, 2, "conv_stem", "HS")
    for i, row in enumerate(SMALL_BOTTLENECKS):
        x = v3_bottleneck(b, x, *row, name=f"block{i}")
    x = _conv_bn_act(b, x, 576, 1, 1, "conv_head", "HS")
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    x = b.hardswish(b.gemm(x, 1024, name="classifier.0"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])


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
