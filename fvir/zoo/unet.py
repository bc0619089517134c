"""U-Net (Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015), laid out as the common PyTorch implementation
(milesial/Pytorch-UNet, `UNet(n_channels=3, n_classes=2, bilinear=False)`), at half its width
and on a 128x128 image so that it stays cheap to compile and simulate in tests.

DoubleConv: (3x3 conv pad 1 without bias + BN + ReLU) x 2. Encoder: a DoubleConv of 32
channels, then four Downs (2x2/2 max pool + DoubleConv) to 64, 128, 256 and 512. Decoder:
four Ups, each a 2x2/2 transposed conv halving the channels, concatenated after the encoder's
skip of the same size (`torch.cat([x2, x1], dim=1)`) and a DoubleConv to the halved width
(milesial's F.pad that aligns odd sizes is a no-op at 128x128 and left out). OutConv: 1x1
conv with bias to 2 classes, logits [1, 2, 128, 128]. 7,763,074 parameters (31,037,698 at
full width), 3.02 GMACs.
"""

import onnx

from fvir.zoo.builder import GraphBuilder

IMAGE, BASE, LEVELS, CLASSES = 128, 32, 4, 2


def double_conv(b: GraphBuilder, x: str, ch: int, name: str) -> str:
    for i in (1, 2):
        x = b.conv(x, ch, 3, 1, 1, bias=False, name=f"{name}.conv{i}")
        x = b.relu(b.bn(x, name=f"{name}.conv{i}.bn"), name=f"{name}.conv{i}.relu")
    return x


def down(b: GraphBuilder, x: str, ch: int, name: str) -> str:
    return double_conv(b, b.maxpool(x, 2, name=f"{name}.pool"), ch, name)


def up(b: GraphBuilder, x: str, skip: str, name: str) -> str:
    ch = b.shape(x)[1] // 2
    y = b.conv_transpose(x, ch, 2, 2, name=f"{name}.up")
    return double_conv(b, b.concat([skip, y], name=f"{name}.cat"), ch, name)


def unet(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, IMAGE, IMAGE))
    skips = [double_conv(b, x, BASE, "inc")]
    for i in range(1, LEVELS + 1):
        skips.append(down(b, skips[-1], BASE << i, f"down{i}"))
    y = skips.pop()
    for i in range(1, LEVELS + 1):
        y = up(b, y, skips.pop(), f"up{i}")
    return b.finish(["input"], [b.conv(y, CLASSES, 1, name="outc")])
