# RUN: python %s %t.onnx && fv import %t.onnx | filecheck %s
"""`fv import` on the patterns PyTorch exports for a transformer layer at opset 16: the
LayerNorm chain (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) becomes one
dnn.layer_norm, the erf-form GELU one dnn.gelu, a projection MatMul + Add one 1x1 conv with
its bias over the rows (all positions), and attention's Div by sqrt(d) moves into the Q
projection's weights (no dnn.div is left), leaving dnn.matmul, dnn.softmax, dnn.matmul."""

import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S, D = 4, 8
rng = np.random.default_rng(0)


def init(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def scalar(name, v):
    return numpy_helper.from_array(np.array(v, np.float32), name)


n = helper.make_node
nodes = [
    n("ReduceMean", ["x"], ["m"], axes=[-1]),
    n("Sub", ["x", "m"], ["d"]),
    n("Pow", ["d", "two"], ["p"]),
    n("ReduceMean", ["p"], ["v"], axes=[-1]),
    n("Add", ["v", "eps"], ["ve"]),
    n("Sqrt", ["ve"], ["s"]),
    n("Div", ["d", "s"], ["nrm"]),
    n("Mul", ["nrm", "g"], ["gm"]),
    n("Add", ["gm", "b"], ["h"]),
    n("MatMul", ["h", "q.w"], ["qm"]),
    n("Add", ["qm", "q.b"], ["q"]),
    n("MatMul", ["h", "k.w"], ["km"]),
    n("Add", ["km", "k.b"], ["k"]),
    n("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
    n("MatMul", ["q", "kt"], ["qk"]),
    n("Div", ["qk", "sqrt_d"], ["scores"]),
    n("Softmax", ["scores"], ["probs"], axis=-1),
    n("MatMul", ["probs", "h"], ["ctx"]),
    n("Div", ["ctx", "sqrt2"], ["u"]),
    n("Erf", ["u"], ["e"]),
    n("Add", ["e", "one"], ["e1"]),
    n("Mul", ["ctx", "e1"], ["xe"]),
    n("Mul", ["xe", "half"], ["y"]),
]
graph = helper.make_graph(
    nodes,
    "layer",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, S, D])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, S, D])],
    [
        scalar("two", 2.0), scalar("eps", 1e-5), scalar("sqrt_d", math.sqrt(D)),
        scalar("sqrt2", math.sqrt(2)), scalar("one", 1.0), scalar("half", 0.5),
        init("g", D), init("b", D), init("q.w", D, D), init("q.b", D), init("k.w", D, D),
        init("k.b", D),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])

# CHECK:      %h = dnn.layer_norm %x, %g, %b : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
# CHECK:      %q.rows = dnn.flatten %h axis -1 : tensor<1x4x8xf32> -> tensor<4x8xf32>
# CHECK:      = dnn.weight "q.gemm.rows_w" : tensor<8x8x1x1xf32>
# CHECK:      = dnn.weight "q.gemm.rows_b" : tensor<8xf32>
# CHECK:      = dnn.conv2d %{{.*}}, %{{.*}}, %{{.*}} strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x8x4x1xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x4x1xf32>
# CHECK:      %q = dnn.reshape %q.gemm : tensor<4x8xf32> -> tensor<1x4x8xf32>
# CHECK-NOT:  dnn.div
# CHECK:      %k.gemm = dnn.transpose
# CHECK-NOT:  dnn.div
# CHECK:      %kt = dnn.transpose %k perm [0, 2, 1] : tensor<1x4x8xf32> -> tensor<1x8x4xf32>
# CHECK-NEXT: %qk = dnn.matmul %q, %kt : (tensor<1x4x8xf32>, tensor<1x8x4xf32>) -> tensor<1x4x4xf32>
# CHECK-NEXT: %probs = dnn.softmax %qk axis -1 : tensor<1x4x4xf32>
# CHECK-NEXT: %ctx = dnn.matmul %probs, %h : (tensor<1x4x4xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
# CHECK-NEXT: %y = dnn.gelu %ctx : tensor<1x4x8xf32>
# CHECK-NEXT: func.return %y : tensor<1x4x8xf32>
