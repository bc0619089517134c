// RUN: fv-opt %s | fv-opt --print-op-generic | fv-opt | filecheck %s
// CHECK: dnn.lstm
func.func @main(%x: tensor<1x3x8x8xf32>) -> tensor<1x10xf32> {
  %w = dnn.weight "conv.w" : tensor<4x3x3x3xf32>
  %b = dnn.weight "conv.b" : tensor<4xf32>
  %y = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<clip 0.0 6.0> : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %p = dnn.pool2d max %y kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] ceil_mode : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  %g = dnn.global_pool avg %p : tensor<1x4x4x4xf32> -> tensor<1x4x1x1xf32>
  %f = dnn.flatten %g : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
  %fw = dnn.weight "fc.w" : tensor<10x4xf32>
  %d = dnn.dense %f, %fw trans_b alpha 2.0 : (tensor<1x4xf32>, tensor<10x4xf32>) -> tensor<1x10xf32>
  %r = dnn.relu %d : tensor<1x10xf32>
  %c = dnn.clip %r lo 0.0 hi 6.0 : tensor<1x10xf32>
  %l = dnn.leaky_relu %c alpha 0.1 : tensor<1x10xf32>
  %s = dnn.softmax %l axis 1 : tensor<1x10xf32>
  %a = dnn.add %s, %l act #dnn.act<relu> : (tensor<1x10xf32>, tensor<1x10xf32>) -> tensor<1x10xf32>
  %sum = dnn.sum %a, %s, %l : (tensor<1x10xf32>, tensor<1x10xf32>, tensor<1x10xf32>) -> tensor<1x10xf32>
  %k = dnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %h = dnn.host "LRN" (%y) attrs {size = 5 : i64} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %h2 = dnn.host "Foo" (%y) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %t = dnn.transpose %h perm [0, 2, 3, 1] : tensor<1x4x8x8xf32> -> tensor<1x8x8x4xf32>
  %sc, %bi, %me, %va = "test.op"() : () -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  %bn = dnn.batchnorm %y, %sc, %bi, %me, %va epsilon 1.0e-03 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %X, %W, %R, %B = "test.op"() : () -> (tensor<5x1x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>, tensor<1x32xf32>)
  %Y, %Yh, %Yc = dnn.lstm %X, %W, %R bias %B {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x1x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>, bias tensor<1x32xf32>) -> (tensor<5x1x1x4xf32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>)
  %rs = dnn.reshape %Yh : tensor<1x1x4xf32> -> tensor<4xf32>
  %mm = dnn.matmul %Y, %rs : (tensor<5x1x1x4xf32>, tensor<4xf32>) -> tensor<5x1x1xf32>
  func.return %sum : tensor<1x10xf32>
}
