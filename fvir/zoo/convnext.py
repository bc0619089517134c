"""ConvNeXt-T (Liu et al., "A ConvNet for the 2020s", CVPR 2022), laid out as torchvision's
`convnext_tiny` exported by `torch.onnx.export` at opset 17.

Stem: 4x4/4 conv 96 with bias + LayerNorm2d. Four stages of depths 3-3-9-3 and widths
96-192-384-768; between stages a LayerNorm2d and a 2x2/2 conv with bias. Each block: 7x7
depthwise conv (pad 3, bias), a permute to channels-last (Transpose 0,2,3,1), LayerNorm over
the channels, Linear to 4x the width, GELU (the erf form), Linear back, a permute to
channels-first (Transpose 0,3,1,2), the layer scale (Mul by a learned [C, 1, 1]) and the
residual add; stochastic depth is an inference no-op. Head: global average pool, LayerNorm2d,
Flatten, Linear 1000. LayerNorm2d is torchvision's channels-first LayerNorm and exports as
Transpose, LayerNormalization over the last axis, Transpose; every LayerNorm has eps 1e-6.
224x224 input: 28,589,128 parameters, 4.46 GMACs.

Layer scale: torchvision initialises it to 1e-6, which with random weights makes every block
an identity (a trained network has grown it). Here it is drawn near 0.4: a block's branch ends
in a LayerNorm'd, unit-gain Linear pair (std ~0.66), so each block adds a std of ~0.27 to a
stream of std 1.0-1.7 (0.16-0.26 of it, measured on a standard-normal input): every block
changes the output, and the stream grows only as the square root of the depth.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

DEPTHS = (3, 3, 9, 3)
DIMS = (96, 192, 384, 768)
LAYER_SCALE = 0.4
EPS = 1e-6


def layer_norm_2d(b: GraphBuilder, x: str, name: str) -> str:
    """LayerNorm over the channels of [N, C, H, W], as torchvision's LayerNorm2d exports."""
    y = b.transpose(x, (0, 2, 3, 1), name=f"{name}.to_nhwc")
    y = b.layer_norm(y, eps=EPS, name=name)
    return b.transpose(y, (0, 3, 1, 2), name=f"{name}.to_nchw")


def block(b: GraphBuilder, x: str, name: str) -> str:
    dim = b.shape(x)[1]
    y = b.conv(x, dim, 7, 1, 3, groups=dim, name=f"{name}.dwconv")
    y = b.transpose(y, (0, 2, 3, 1), name=f"{name}.to_nhwc")
    y = b.layer_norm(y, eps=EPS, name=f"{name}.norm")
    y = b.linear(b.gelu(b.linear(y, 4 * dim, name=f"{name}.fc1")), dim, name=f"{name}.fc2")
    y = b.transpose(y, (0, 3, 1, 2), name=f"{name}.to_nchw")
    y = b.mul_param(y, (dim, 1, 1), LAYER_SCALE, name=f"{name}.layer_scale")
    return b.add(x, y, name=f"{name}.out")


def convnext_tiny(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = layer_norm_2d(b, b.conv(x, DIMS[0], 4, 4, name="stem"), "stem.norm")
    for stage, (dim, depth) in enumerate(zip(DIMS, DEPTHS, strict=True)):
        if stage:
            x = layer_norm_2d(b, x, f"downsample{stage}.norm")
            x = b.conv(x, dim, 2, 2, name=f"downsample{stage}")
        for i in range(depth):
            x = block(b, x, f"stage{stage}.{i}")
    x = layer_norm_2d(b, b.global_avgpool(x, name="avgpool"), "head.norm")
    return b.finish(["input"], [b.gemm(b.flatten(x), 1000, name="logits")])
