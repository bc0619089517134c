"""VGG-16 (configuration D of Simonyan & Zisserman, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", ICLR 2015, Table 1), as torchvision's `vgg16` without BatchNorm.

13 3x3 convolutions (pad 1, bias, ReLU) in five blocks of 64-128-256-512-512 channels, each
block ending in a 2x2/2 max pool, then FC-4096, FC-4096, FC-1000 (the dropouts are inference
no-ops and left out). 224x224 input: 138,357,544 parameters, 15.5 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

# Channels per conv; "M" is a 2x2/2 max pool (the paper's configuration D).
CONFIG_D: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def vgg16(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    block, idx = 1, 1
    for v in CONFIG_D:
        if v == "M":
            x = b.maxpool(x, 2, 2, name=f"pool{block}")
            block, idx = block + 1, 1
        else:
            assert isinstance(v, int)
            x = b.relu(b.conv(x, v, 3, 1, 1, name=f"conv{block}_{idx}"))
            idx += 1
    x = b.flatten(x)
    x = b.relu(b.gemm(x, 4096, name="fc6"))
    x = b.relu(b.gemm(x, 4096, name="fc7"))
    x = b.gemm(x, 1000, name="logits")
    return b.finish(["input"], [x])
