// RUN: fv-opt %s -p dnn-fold-batchnorm | filecheck %s

// dnn.weight sources and no weight store (fv-opt): the IR is rewritten and the new weights
// carry the recipe that `materialize_folds` computes later.
func.func @conv_bn_weights(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = dnn.weight "conv1.w" : tensor<4x3x3x3xf32>
  %b = dnn.weight "conv1.b" : tensor<4xf32>
  %s = dnn.weight "bn1.scale" : tensor<4xf32>
  %t = dnn.weight "bn1.bias" : tensor<4xf32>
  %m = dnn.weight "bn1.mean" : tensor<4xf32>
  %v = dnn.weight "bn1.var" : tensor<4xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %y = dnn.batchnorm %c, %s, %t, %m, %v epsilon 1.0e-03 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @conv_bn_weights
// CHECK-NEXT:    %{{.*}} = dnn.weight "conv1.w.bnfold.w" {dnn.fold = {weight = "conv1.w", bias = "conv1.b", bn_scale = "bn1.scale", bn_bias = "bn1.bias", bn_mean = "bn1.mean", bn_var = "bn1.var", epsilon = 1.000000e-03 : f64, out = "w"}} : tensor<4x3x3x3xf32>
// CHECK-NEXT:    %{{.*}} = dnn.weight "conv1.w.bnfold.b" {dnn.fold = {weight = "conv1.w", bias = "conv1.b", bn_scale = "bn1.scale", bn_bias = "bn1.bias", bn_mean = "bn1.mean", bn_var = "bn1.var", epsilon = 1.000000e-03 : f64, out = "b"}} : tensor<4xf32>
// CHECK-NEXT:    %y = dnn.conv2d %x, %{{.*}}, %{{.*}} strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    func.return %y : tensor<1x4x8x8xf32>

// No producer bias: the recipe has no `bias` entry. Strides, pads, group and extra attributes
// of the conv are kept.
func.func @conv_no_bias(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = dnn.weight "dw.w" : tensor<4x1x3x3xf32>
  %s = dnn.weight "bn.s" : tensor<4xf32>
  %t = dnn.weight "bn.t" : tensor<4xf32>
  %m = dnn.weight "bn.m" : tensor<4xf32>
  %v = dnn.weight "bn.v" : tensor<4xf32>
  %c = dnn.conv2d %x, %w strides [2, 2] pads [1, 1, 0, 0] dilations [1, 1] group 4 {tag = "dw"} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  %y = dnn.batchnorm %c, %s, %t, %m, %v : (tensor<1x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @conv_no_bias
// CHECK-NEXT:    %[[W:.*]] = dnn.weight "dw.w.bnfold.w" {dnn.fold = {weight = "dw.w", bn_scale = "bn.s", bn_bias = "bn.t", bn_mean = "bn.m", bn_var = "bn.v", epsilon = 1.000000e-05 : f64, out = "w"}} : tensor<4x1x3x3xf32>
// CHECK-NEXT:    %[[B:.*]] = dnn.weight "dw.w.bnfold.b" {{.*}} : tensor<4xf32>
// CHECK-NEXT:    %y = dnn.conv2d %x, %[[W]], %[[B]] strides [2, 2] pads [1, 1, 0, 0] dilations [1, 1] group 4 {tag = "dw"} :
// CHECK-NEXT:    func.return %y

// Dense with trans_b (weight [N, K]) folds like a 1x1 conv; alpha and trans_a are kept.
func.func @dense_bn(%x: tensor<3x2xf32>) -> tensor<2x5xf32> {
  %w = dnn.weight "fc.w" : tensor<5x3xf32>
  %b = dnn.weight "fc.b" : tensor<5xf32>
  %s = dnn.weight "bn.s" : tensor<5xf32>
  %t = dnn.weight "bn.t" : tensor<5xf32>
  %m = dnn.weight "bn.m" : tensor<5xf32>
  %v = dnn.weight "bn.v" : tensor<5xf32>
  %d = dnn.dense %x, %w, %b trans_a trans_b alpha 0.5 : (tensor<3x2xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %y = dnn.batchnorm %d, %s, %t, %m, %v : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  func.return %y : tensor<2x5xf32>
}

// CHECK-LABEL: func.func @dense_bn
// CHECK-NEXT:    %[[W:.*]] = dnn.weight "fc.w.bnfold.w" {dnn.fold = {weight = "fc.w", bias = "fc.b", {{.*}}, out = "w"}} : tensor<5x3xf32>
// CHECK-NEXT:    %[[B:.*]] = dnn.weight "fc.w.bnfold.b" {dnn.fold = {weight = "fc.w", bias = "fc.b", {{.*}}, out = "b"}} : tensor<5xf32>
// CHECK-NEXT:    %y = dnn.dense %x, %[[W]], %[[B]] trans_a trans_b alpha 5.000000e-01 : (tensor<3x2xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<2x5xf32>
// CHECK-NEXT:    func.return %y

// All constants: folded numerically. s = scale / sqrt(var + eps) = [3 / 2, 1 / 0.5] = [1.5, 2];
// w' = w * s = [1.5, 4]; b' = (b - mean) * s + bias = [(1 - 1) * 1.5 + 0.5, (-1 - 2) * 2 + 1].
func.func @conv_bn_constants(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = dnn.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %b = dnn.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %s = dnn.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %t = dnn.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %m = dnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = dnn.constant dense<[3.75, 0.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %y = dnn.batchnorm %c, %s, %t, %m, %v epsilon 0.25 : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// CHECK-LABEL: func.func @conv_bn_constants
// CHECK-NEXT:    %[[W:.*]] = dnn.constant dense<{{\[+}}1.500000e+00{{\]+}}, {{\[+}}4.000000e+00{{\]+}}> : tensor<2x1x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = dnn.constant dense<[5.000000e-01, -5.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %y = dnn.conv2d %x, %[[W]], %[[B]] strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] :
// CHECK-NEXT:    func.return %y

// Sources that are still used elsewhere stay; a shared conv weight gets distinct fold names.
func.func @shared_sources(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<2xf32>) {
  %w = dnn.weight "w" : tensor<2x2x1x1xf32>
  %s = dnn.weight "s" : tensor<2xf32>
  %c1 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y1 = dnn.batchnorm %c1, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %c2 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y2 = dnn.batchnorm %c2, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %y1, %y2, %s : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<2xf32>
}

// CHECK-LABEL: func.func @shared_sources
// CHECK-NEXT:    %s = dnn.weight "s" : tensor<2xf32>
// CHECK-NEXT:    dnn.weight "w.bnfold.w"
// CHECK-NEXT:    dnn.weight "w.bnfold.b"
// CHECK-NEXT:    %y1 = dnn.conv2d
// CHECK-NEXT:    dnn.weight "w.bnfold1.w"
// CHECK-NEXT:    dnn.weight "w.bnfold1.b"
// CHECK-NEXT:    %y2 = dnn.conv2d
// CHECK-NEXT:    func.return %y1, %y2, %s

// Negative cases: nothing changes.
func.func @not_foldable(%x: tensor<1x2x4x4xf32>, %arg: tensor<2xf32>, %a: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = dnn.weight "w" : tensor<2x2x1x1xf32>
  %s = dnn.weight "s" : tensor<2xf32>
  %k = dnn.constant dense<1.0> : tensor<2xf32>
  // The conv result has another use.
  %c1 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y1 = dnn.batchnorm %c1, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  // The conv has a fused activation, which applies after the conv and before the batchnorm.
  %c2 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y2 = dnn.batchnorm %c2, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  // A batchnorm parameter is a function argument, not a weight or constant.
  %c3 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y3 = dnn.batchnorm %c3, %s, %s, %arg, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  // Constants mixed with weights and no store: neither a constant fold nor a recipe.
  %c4 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y4 = dnn.batchnorm %c4, %s, %s, %s, %k : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  // The producer is not a conv or dense.
  %p = dnn.add %x, %a : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y5 = dnn.batchnorm %p, %s, %s, %s, %s : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %c1, %y1, %y2, %y3, %y4, %y5 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// CHECK-LABEL: func.func @not_foldable
// CHECK-NOT:     bnfold
// CHECK:         %y1 = dnn.batchnorm %c1,
// CHECK:         %y2 = dnn.batchnorm %c2,
// CHECK:         %y3 = dnn.batchnorm %c3,
// CHECK:         %y4 = dnn.batchnorm %c4,
// CHECK:         %y5 = dnn.batchnorm %p,
// CHECK-NOT:     bnfold
// CHECK:         func.return

// Negative: dense without trans_b ([K, N] weight), with beta != 1, or with a [1, N] bias.
func.func @dense_not_foldable(%x: tensor<2x3xf32>) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>) {
  %wkn = dnn.weight "wkn" : tensor<3x5xf32>
  %wnk = dnn.weight "wnk" : tensor<5x3xf32>
  %b2 = dnn.weight "b2" : tensor<1x5xf32>
  %s = dnn.weight "s" : tensor<5xf32>
  %d1 = dnn.dense %x, %wkn : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  %y1 = dnn.batchnorm %d1, %s, %s, %s, %s : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %d2 = dnn.dense %x, %wnk, %s trans_b beta 2.0 : (tensor<2x3xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %y2 = dnn.batchnorm %d2, %s, %s, %s, %s : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %d3 = dnn.dense %x, %wnk, %b2 trans_b : (tensor<2x3xf32>, tensor<5x3xf32>, tensor<1x5xf32>) -> tensor<2x5xf32>
  %y3 = dnn.batchnorm %d3, %s, %s, %s, %s : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  func.return %y1, %y2, %y3 : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>
}

// CHECK-LABEL: func.func @dense_not_foldable
// CHECK-NOT:     bnfold
// CHECK:         %y1 = dnn.batchnorm %d1,
// CHECK:         %y2 = dnn.batchnorm %d2,
// CHECK:         %y3 = dnn.batchnorm %d3,
// CHECK-NEXT:    func.return

// A batchnorm of an image with no producer to fold into: a 1x1 depthwise conv whose w' and b'
// are folded from unit weights (constants: s = [3 / 2, 1 / 0.5], w' = s, b' = -mean * s +
// bias = [-1.5 + 0.5, -4 + 1]). Without a store, dnn.weight parameters leave it a batchnorm.
func.func @standalone(%x: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %s = dnn.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %t = dnn.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %m = dnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = dnn.constant dense<[3.75, 0.0]> : tensor<2xf32>
  %y = dnn.batchnorm %x, %s, %t, %m, %v epsilon 0.25 : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %ws = dnn.weight "s" : tensor<2xf32>
  %z = dnn.batchnorm %x, %ws, %ws, %ws, %ws : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %y, %z : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// CHECK-LABEL: func.func @standalone
// CHECK-NEXT:    %[[W:.*]] = dnn.constant dense<{{\[+}}1.500000e+00{{\]+}}, {{\[+}}2.000000e+00{{\]+}}> : tensor<2x1x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = dnn.constant dense<[-1.000000e+00, -3.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %y = dnn.conv2d %x, %[[W]], %[[B]] strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 :
// CHECK-NEXT:    %ws = dnn.weight "s"
// CHECK-NEXT:    %z = dnn.batchnorm %x, %ws, %ws, %ws, %ws
