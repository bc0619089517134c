"""DenseNet-121 (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017, Table 1),
laid out as torchvision's `densenet121`.

Stem: 7x7/2 conv 64 + BN + ReLU, 3x3/2 max pool (pad 1). Four dense blocks of 6-12-24-16
layers with growth rate 32: each layer is BN + ReLU + 1x1 conv 128 (bn_size 4 x growth) + BN +
ReLU + 3x3 conv 32, and its output is concatenated to the block's features, so every layer sees
all earlier ones (torchvision concatenates the whole list before each layer; the ONNX graph here
appends one layer's output at a time, the same tensors). Between blocks, a transition halves the
channels and the resolution: BN + ReLU + 1x1 conv + 2x2/2 average pool. Then BN, ReLU, global
average pool, Linear 1000. Convs have no bias; BN eps 1e-5. 224x224 input: 7,978,856
parameters, 2.83 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

BLOCKS = (6, 12, 24, 16)  # layers per dense block
GROWTH = 32
BN_SIZE = 4


def _bn_relu_conv(b: GraphBuilder, x: str, ch: int, k: int, name: str) -> str:
    y = b.relu(b.bn(x, name=f"{name}.norm"))
    return b.conv(y, ch, k, 1, k // 2, bias=False, name=name)


def dense_layer(b: GraphBuilder, x: str, name: str) -> str:
    y = _bn_relu_conv(b, x, BN_SIZE * GROWTH, 1, f"{name}.conv1")
    y = _bn_relu_conv(b, y, GROWTH, 3, f"{name}.conv2")
    return b.concat([x, y], name=f"{name}.out")


def transition(b: GraphBuilder, x: str, name: str) -> str:
    y = _bn_relu_conv(b, x, b.shape(x)[1] // 2, 1, f"{name}.conv")
    return b.avgpool(y, 2, name=f"{name}.pool")


def densenet121(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, 224, 224))
    x = b.relu(b.bn(b.conv(x, 64, 7, 2, 3, bias=False, name="conv0"), name="norm0"))
    x = b.maxpool(x, 3, 2, 1, name="pool0")
    for i, n in enumerate(BLOCKS, 1):
        for j in range(n):
            x = dense_layer(b, x, f"denseblock{i}.layer{j}")
        if i < len(BLOCKS):
            x = transition(b, x, f"transition{i}")
    x = b.relu(b.bn(x, name="norm5"))
    x = b.flatten(b.global_avgpool(x, name="avgpool"))
    return b.finish(["input"], [b.gemm(x, 1000, name="logits")])
