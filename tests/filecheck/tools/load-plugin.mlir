// RUN: fv-opt %s --load-plugin %S/../../../examples/plugin/fvir_example_plugin.py -p dnn-annotate-macs | filecheck %s
// RUN: fv-opt %s --load-plugin %S/../../../examples/plugin/fvir_example_plugin.py -p 'dnn-annotate-macs{min-macs=3000}' | filecheck %s --check-prefix=MIN

func.func @main(%x: tensor<1x3x8x8xf32>) -> tensor<1x10xf32> {
  %w = dnn.weight "conv.w" : tensor<4x3x3x3xf32>
  %y = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  %f = dnn.flatten %y : tensor<1x4x8x8xf32> -> tensor<1x256xf32>
  %fw = dnn.weight "fc.w" : tensor<10x256xf32>
  %d = dnn.dense %f, %fw trans_b : (tensor<1x256xf32>, tensor<10x256xf32>) -> tensor<1x10xf32>
  func.return %d : tensor<1x10xf32>
}

// 1x4x8x8 outputs x 3x3x3 kernel = 6912 MACs; 10 outputs x 256 inputs = 2560 MACs.
// CHECK: builtin.module attributes {dnn.total_macs = 9472 : i64}
// CHECK: dnn.conv2d {{.*}} {dnn.macs = 6912 : i64}
// CHECK: dnn.dense {{.*}} {dnn.macs = 2560 : i64}

// MIN: builtin.module attributes {dnn.total_macs = 9472 : i64}
// MIN: dnn.conv2d {{.*}} {dnn.macs = 6912 : i64}
// MIN: dnn.dense %f, %fw trans_b :
// MIN-NOT: dnn.macs
