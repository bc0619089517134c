// RUN: fv-opt %s --split-input-file -p dnn-partition | filecheck %s

// A quantized chain: conversions, the host op, softmax and the transpose run on the host; the
// int8 conv (dense and depthwise), pools, flatten and dense on the accelerator. Segments are
// maximal runs of one target in program order; weights are data and get no mark.
func.func @main(%x: tensor<1x4x8x8xf32>) -> tensor<1x8xf32> {
  %x.q = dnn.quantize %x : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xi8, #dnn.fixed<5>>
  %w = dnn.weight "c.w.q" : tensor<4x4x3x3xi8>
  %c = dnn.conv2d %x.q, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<relu> shift [8] : (tensor<1x4x8x8xi8, #dnn.fixed<5>>, tensor<4x4x3x3xi8>) -> tensor<1x4x8x8xi8, #dnn.fixed<4>>
  %wd = dnn.weight "d.w.q" : tensor<4x1x3x3xi8>
  %d = dnn.conv2d %c, %wd strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] group 4 shift [7] : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<4x1x3x3xi8>) -> tensor<1x4x4x4xi8, #dnn.fixed<4>>
  %d.f = dnn.dequantize %d : tensor<1x4x4x4xi8, #dnn.fixed<4>> -> tensor<1x4x4x4xf32>
  %n = dnn.host "LRN"(%d.f) attrs {size = 3 : i64} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %n.q = dnn.quantize %n : tensor<1x4x4x4xf32> -> tensor<1x4x4x4xi8, #dnn.fixed<4>>
  %p = dnn.pool2d max %n.q kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x4x4x4xi8, #dnn.fixed<4>> -> tensor<1x4x2x2xi8, #dnn.fixed<4>>
  %t = dnn.transpose %p perm [0, 1, 3, 2] : tensor<1x4x2x2xi8, #dnn.fixed<4>> -> tensor<1x4x2x2xi8, #dnn.fixed<4>>
  %g = dnn.global_pool avg %t avg_mul 16384 avg_shift 16 : tensor<1x4x2x2xi8, #dnn.fixed<4>> -> tensor<1x4x1x1xi8, #dnn.fixed<4>>
  %f = dnn.flatten %g : tensor<1x4x1x1xi8, #dnn.fixed<4>> -> tensor<1x4xi8, #dnn.fixed<4>>
  %fw = dnn.weight "fc.w.q" : tensor<8x4xi8>
  %y = dnn.dense %f, %fw trans_b shift [9] : (tensor<1x4xi8, #dnn.fixed<4>>, tensor<8x4xi8>) -> tensor<1x8xi8, #dnn.fixed<3>>
  %y.f = dnn.dequantize %y : tensor<1x8xi8, #dnn.fixed<3>> -> tensor<1x8xf32>
  %s = dnn.softmax %y.f axis 1 : tensor<1x8xf32>
  func.return %s : tensor<1x8xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x {dnn.target = "host", dnn.segment = 0 : i64}
// CHECK-NEXT:    %w = dnn.weight "c.w.q" : tensor<4x4x3x3xi8>
// CHECK-NEXT:    %c = dnn.conv2d {{.*}} shift [8] {dnn.target = "accel", dnn.segment = 1 : i64}
// CHECK-NEXT:    %wd = dnn.weight "d.w.q" : tensor<4x1x3x3xi8>
// CHECK-NEXT:    %d = dnn.conv2d {{.*}} group 4 shift [7] {dnn.target = "accel", dnn.segment = 1 : i64}
// CHECK-NEXT:    %d.f = dnn.dequantize %d {dnn.target = "host", dnn.segment = 2 : i64}
// CHECK-NEXT:    %n = dnn.host "LRN"(%d.f) attrs {size = 3 : i64} {dnn.target = "host", dnn.segment = 2 : i64}
// CHECK-NEXT:    %n.q = dnn.quantize %n {dnn.target = "host", dnn.segment = 2 : i64}
// CHECK-NEXT:    %p = dnn.pool2d max {{.*}} {dnn.target = "accel", dnn.segment = 3 : i64}
// CHECK-NEXT:    %t = dnn.transpose {{.*}} {dnn.target = "host", dnn.segment = 4 : i64}
// CHECK-NEXT:    %g = dnn.global_pool avg {{.*}} {dnn.target = "accel", dnn.segment = 5 : i64}
// CHECK-NEXT:    %f = dnn.flatten %g {dnn.target = "accel", dnn.segment = 5 : i64}
// CHECK-NEXT:    %fw = dnn.weight "fc.w.q" : tensor<8x4xi8>
// CHECK-NEXT:    %y = dnn.dense {{.*}} {dnn.target = "accel", dnn.segment = 5 : i64}
// CHECK-NEXT:    %y.f = dnn.dequantize %y {dnn.target = "host", dnn.segment = 6 : i64}
// CHECK-NEXT:    %s = dnn.softmax %y.f axis 1 {dnn.target = "host", dnn.segment = 6 : i64}
// CHECK-NEXT:    func.return %s : tensor<1x8xf32>

// -----

// Configurations outside the ISA's fields go to the host: 4-bit conv kernel, stride, dilation
// and pads; POOL has no dilation and an 8-bit kernel; a clip whose int8 lower bound is not 0.
// A grouped convolution runs (one CONV per group). Float ops are host ops.
func.func @main(%x: tensor<1x4x40x40xi8, #dnn.fixed<4>>, %xf: tensor<1x4x8x8xf32>) -> () {
  %w16 = dnn.weight "w16" : tensor<4x4x16x1xi8>
  %w = dnn.weight "w" : tensor<4x4x3x3xi8>
  %wg = dnn.weight "wg" : tensor<4x2x3x3xi8>
  %wf = dnn.weight "wf" : tensor<4x4x3x3xf32>
  %k = dnn.conv2d %x, %w16 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x4x16x1xi8>) -> tensor<1x4x25x40xi8, #dnn.fixed<4>>
  %s = dnn.conv2d %x, %w strides [16, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x4x3x3xi8>) -> tensor<1x4x3x38xi8, #dnn.fixed<4>>
  %d = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [16, 1] shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x4x3x3xi8>) -> tensor<1x4x8x38xi8, #dnn.fixed<4>>
  %p = dnn.conv2d %x, %w strides [1, 1] pads [16, 0, 0, 0] dilations [1, 1] shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x4x3x3xi8>) -> tensor<1x4x54x38xi8, #dnn.fixed<4>>
  %ok = dnn.conv2d %x, %w strides [15, 15] pads [15, 15, 15, 15] dilations [15, 15] shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x4x3x3xi8>) -> tensor<1x4x3x3xi8, #dnn.fixed<4>>
  %g = dnn.conv2d %x, %wg strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 shift [8] : (tensor<1x4x40x40xi8, #dnn.fixed<4>>, tensor<4x2x3x3xi8>) -> tensor<1x4x38x38xi8, #dnn.fixed<4>>
  %pd = dnn.pool2d max %x kernel [2, 2] strides [1, 1] pads [0, 0, 0, 0] dilations [2, 2] : tensor<1x4x40x40xi8, #dnn.fixed<4>> -> tensor<1x4x38x38xi8, #dnn.fixed<4>>
  %pk = dnn.pool2d max %x kernel [40, 40] strides [1, 1] pads [0, 0, 0, 0] : tensor<1x4x40x40xi8, #dnn.fixed<4>> -> tensor<1x4x1x1xi8, #dnn.fixed<4>>
  %c0 = dnn.clip %x lo 0.0 hi 2.0 : tensor<1x4x40x40xi8, #dnn.fixed<4>>
  %c1 = dnn.clip %x lo -1.0 hi 2.0 : tensor<1x4x40x40xi8, #dnn.fixed<4>>
  %fl = dnn.conv2d %xf, %wf strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}

// CHECK-LABEL: func.func @main
// CHECK:         %k = dnn.conv2d {{.*}} {dnn.target = "host", dnn.segment = 0 : i64}
// CHECK-NEXT:    %s = dnn.conv2d {{.*}} {dnn.target = "host", dnn.segment = 0 : i64}
// CHECK-NEXT:    %d = dnn.conv2d {{.*}} {dnn.target = "host", dnn.segment = 0 : i64}
// CHECK-NEXT:    %p = dnn.conv2d {{.*}} {dnn.target = "host", dnn.segment = 0 : i64}
// CHECK-NEXT:    %ok = dnn.conv2d {{.*}} {dnn.target = "accel", dnn.segment = 1 : i64}
// CHECK-NEXT:    %g = dnn.conv2d {{.*}} group 2 {{.*}} {dnn.target = "accel", dnn.segment = 1 : i64}
// CHECK-NEXT:    %pd = dnn.pool2d max {{.*}} {dnn.target = "host", dnn.segment = 2 : i64}
// CHECK-NEXT:    %pk = dnn.pool2d max {{.*}} {dnn.target = "accel", dnn.segment = 3 : i64}
// CHECK-NEXT:    %c0 = dnn.clip {{.*}} {dnn.target = "accel", dnn.segment = 3 : i64}
// CHECK-NEXT:    %c1 = dnn.clip {{.*}} {dnn.target = "host", dnn.segment = 4 : i64}
// CHECK-NEXT:    %fl = dnn.conv2d {{.*}} {dnn.target = "host", dnn.segment = 4 : i64}
// CHECK-NEXT:    func.return
