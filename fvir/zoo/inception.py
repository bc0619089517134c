"""GoogLeNet / Inception-v1 (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
Table 1), laid out as the original Caffe model (BVLC `bvlc_googlenet`), without the two
training-only auxiliary classifiers.

Stem: 7x7/2 conv 64, 3x3/2 max pool, LRN, 1x1 conv 64, 3x3 conv 192, LRN, 3x3/2 max pool. Then
inception modules 3a-3b, pool, 4a-4e, pool, 5a-5b, each concatenating four branches: 1x1;
1x1 reduce -> 3x3; 1x1 reduce -> 5x5; 3x3/1 max pool -> 1x1 projection. Every conv has a bias
and a ReLU (no BatchNorm, as in the paper). Max pools round up (Caffe's ceil mode). 7x7 average
pool, FC-1000. The two LRNs (size 5, alpha 1e-4, beta 0.75) are ops the accelerator does not
run, so they exercise fvir's host-op partitioning. 224x224 input: 6,998,552 parameters (Table 1's
rounded per-layer figures sum to ~6.8M) and 1.58 GMACs (the paper quotes ~1.5G multiply-adds).
"""

import onnx

from fvir.zoo.builder import GraphBuilder

# name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), the paper's Table 1.
INCEPTION: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv_relu(b: GraphBuilder, x: str, ch: int, k: int, stride: int, name: str) -> str:
    return b.relu(b.conv(x, ch, k, stride, k // 2, name=name), name=f"{name}.relu")


def inception(b: GraphBuilder, x: str, name: str) -> str:
    c1, r3, c3, r5, c5, pp = INCEPTION[name]
    p = f"inception_{name}"
    y1 = _conv_relu(b, x, c1, 1, 1, f"{p}.1x1")
    y3 = _conv_relu(b, _conv_relu(b, x, r3, 1, 1, f"{p}.3x3_reduce"), c3, 3, 1, f"{p}.3x3")
    y5 = _conv_relu(b, _conv_relu(b, x, r5, 1, 1, f"{p}.5x5_reduce"), c5, 5, 1, f"{p}.5x5")
    yp = _conv_relu(b, b.maxpool(x, 3, 1, 1, name=f"{p}.pool"), pp, 1, 1, f"{p}.pool_proj")
    return b.concat([y1, y3, y5, yp], name=f"{p}.output")


def googlenet(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = _conv_relu(b, x, 64, 7, 2, "conv1")
    x = b.lrn(b.maxpool(x, 3, 2, ceil_mode=True, name="pool1"), name="norm1")
    x = _conv_relu(b, x, 64, 1, 1, "conv2_reduce")
    x = b.lrn(_conv_relu(b, x, 192, 3, 1, "conv2"), name="norm2")
    x = b.maxpool(x, 3, 2, ceil_mode=True, name="pool2")
    for stage, names in (("3", "ab"), ("4", "abcde"), ("5", "ab")):
        for n in names:
            x = inception(b, x, stage + n)
        if stage != "5":
            x = b.maxpool(x, 3, 2, ceil_mode=True, name=f"pool{stage}")
    x = b.flatten(b.avgpool(x, 7, 1, name="pool5"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])
