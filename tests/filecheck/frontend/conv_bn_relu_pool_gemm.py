# RUN: python %s | filecheck %s
"""Import a tiny conv+bn+relu+pool+gemm model: the printed IR names values after the ONNX
values, refers to weights by their initializer names and carries static shapes."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from fvir.frontend.onnx import import_model


def init(name, *shape):
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


nodes = [
    helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["conv1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"],
                     ["bn1"], epsilon=1e-3),
    helper.make_node("Relu", ["bn1"], ["relu1"]),
    helper.make_node("MaxPool", ["relu1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Flatten", ["pool1"], ["flat"]),
    helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1),
]
graph = helper.make_graph(
    nodes,
    "tiny",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
    [
        init("conv1.weight", 4, 3, 3, 3), init("conv1.bias", 4),
        init("bn1.scale", 4), init("bn1.bias", 4), init("bn1.mean", 4), init("bn1.var", 4),
        init("fc.weight", 10, 64), init("fc.bias", 10),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
print(import_model(model).module)

# CHECK:      builtin.module attributes {dnn.model = "tiny"} {
# CHECK-NEXT:   func.func @main(%input: tensor<1x3x8x8xf32>) -> tensor<1x10xf32> attributes {dnn.input_names = ["input"], dnn.output_names = ["logits"]} {
# CHECK-NEXT:     %conv1.weight = dnn.weight "conv1.weight" : tensor<4x3x3x3xf32>
# CHECK-NEXT:     %conv1.bias = dnn.weight "conv1.bias" : tensor<4xf32>
# CHECK-NEXT:     %conv1 = dnn.conv2d %input, %conv1.weight, %conv1.bias strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
# CHECK-NEXT:     %bn1.scale = dnn.weight "bn1.scale" : tensor<4xf32>
# CHECK-NEXT:     %bn1.bias = dnn.weight "bn1.bias" : tensor<4xf32>
# CHECK-NEXT:     %bn1.mean = dnn.weight "bn1.mean" : tensor<4xf32>
# CHECK-NEXT:     %bn1.var = dnn.weight "bn1.var" : tensor<4xf32>
# CHECK-NEXT:     %bn1 = dnn.batchnorm %conv1, %bn1.scale, %bn1.bias, %bn1.mean, %bn1.var epsilon 1.000000e-03 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
# CHECK-NEXT:     %relu1 = dnn.relu %bn1 : tensor<1x4x8x8xf32>
# CHECK-NEXT:     %pool1 = dnn.pool2d max %relu1 kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
# CHECK-NEXT:     %flat = dnn.flatten %pool1 : tensor<1x4x4x4xf32> -> tensor<1x64xf32>
# CHECK-NEXT:     %fc.weight = dnn.weight "fc.weight" : tensor<10x64xf32>
# CHECK-NEXT:     %fc.bias = dnn.weight "fc.bias" : tensor<10xf32>
# CHECK-NEXT:     %logits = dnn.dense %flat, %fc.weight, %fc.bias trans_b : (tensor<1x64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<1x10xf32>
# CHECK-NEXT:     func.return %logits : tensor<1x10xf32>
# CHECK-NEXT:   }
# CHECK-NEXT: }
