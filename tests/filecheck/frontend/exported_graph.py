# RUN: python %s %t.onnx && fv import %t.onnx --shape input.1=2x3x8x8 | filecheck %s
"""`fv import` on a graph shaped like a PyTorch export: a symbolic batch dim fixed with
--shape, value names with '/' and '::', a zero Pad folded into the Conv, Dropout removed, a
scalar Constant inlined, LRN as a host op and `x.view(x.size(0), -1)` as the Shape -> Gather ->
Unsqueeze -> Concat -> Reshape chain, which folds to a static dnn.reshape."""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def const(name, value):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(value)))


nodes = [
    helper.make_node("Pad", ["input.1", "/pad/Constant_output_0"], ["/pad/Pad_output_0"]),
    helper.make_node("Conv", ["/pad/Pad_output_0", "onnx::Conv_12"], ["/conv/Conv_output_0"]),
    helper.make_node("LRN", ["/conv/Conv_output_0"], ["/lrn/LRN_output_0"], size=3),
    helper.make_node("Dropout", ["/lrn/LRN_output_0"], ["/drop/Dropout_output_0"]),
    const("/Constant_output_0", np.float32(0.5)),
    helper.make_node("Mul", ["/drop/Dropout_output_0", "/Constant_output_0"], ["/Mul_output_0"]),
    helper.make_node("Shape", ["/Mul_output_0"], ["/Shape_output_0"]),
    const("/Constant_1_output_0", np.int64(0)),
    helper.make_node("Gather", ["/Shape_output_0", "/Constant_1_output_0"], ["/Gather_output_0"]),
    const("/Constant_2_output_0", np.array([0], np.int64)),
    helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_2_output_0"], ["/Unsqueeze_output_0"]),
    const("/Constant_3_output_0", np.array([-1], np.int64)),
    helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_3_output_0"], ["/Concat_output_0"], axis=0),
    helper.make_node("Reshape", ["/Mul_output_0", "/Concat_output_0"], ["output"]),
]
graph = helper.make_graph(
    nodes,
    "main_graph",
    [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["batch", 3, 8, 8])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 256])],
    [
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "/pad/Constant_output_0"),
        numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "onnx::Conv_12"),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])

# CHECK:      func.func @main(%input.1: tensor<2x3x8x8xf32>) -> tensor<2x256xf32> attributes {dnn.input_names = ["input.1"], dnn.output_names = ["output"]} {
# CHECK-NEXT:   %onnx__Conv.12 = dnn.weight "onnx::Conv_12" : tensor<4x3x3x3xf32>
# CHECK-NEXT:   %conv_Conv_output.0 = dnn.conv2d %input.1, %onnx__Conv.12 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
# CHECK-NEXT:   %lrn_LRN_output.0 = dnn.host "LRN"(%conv_Conv_output.0) attrs {size = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
# CHECK-NEXT:   %Constant_output.0 = dnn.constant dense<5.000000e-01> : tensor<f32>
# CHECK-NEXT:   %Mul_output.0 = dnn.mul %lrn_LRN_output.0, %Constant_output.0 : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
# CHECK-NEXT:   %output = dnn.reshape %Mul_output.0 : tensor<2x4x8x8xf32> -> tensor<2x256xf32>
# CHECK-NEXT:   func.return %output : tensor<2x256xf32>
