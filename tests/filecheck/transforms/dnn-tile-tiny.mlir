// RUN: fv-opt %s --hw tiny -p dnn-tile | filecheck %s

// Layers that fit the small `tiny` core (fmap 8 KiB, weights 16 KiB, bias 1 KiB) only in parts.

// A global pool of a 100 x 100 image: one channel (10,000 bytes) is more than the fmap
// buffer, so each tile pools its window's rows in parts (`chunk` 50: 5,000 bytes at a time),
// keeping its partial sums (4 bytes a channel) in the bias buffer.
func.func @wide_pool(%x: tensor<1x4x100x100xf32>) -> tensor<1x4x1x1xf32> {
  %y = dnn.global_pool avg %x : tensor<1x4x100x100xf32> -> tensor<1x4x1x1xf32>
  func.return %y : tensor<1x4x1x1xf32>
}
// CHECK-LABEL: func.func @wide_pool
// CHECK:       %y = tile.layer "{{y[_0-9]*}}" gpool grid [1, 1, 4]
// CHECK:       tile.tile out [0:1, 0:1, 0:1] in [0:100, 0:100, 0:1] pads [0, 0, 0, 0] step 1 buffers [5009, 0, 4] cost {{[0-9]+}} chunk 50
// CHECK-NEXT:  tile.tile out [0:1, 0:1, 1:2] in [0:100, 0:100, 1:2] {{.*}} chunk 50

// LayerNorm rows of 384 channels: their 384 int32 betas (1,536 bytes) exceed the 1 KiB bias
// buffer, so each tile loads the scale and bias in parts of 192 channels (`chunk`) and writes
// each part of its rows with a ROW of its own, out of place (fmap: 8 rows in, 8 rows out).
func.func @wide_norm(%x: tensor<16x384xf32>) -> tensor<16x384xf32> {
  %g = dnn.weight "g" : tensor<384xf32>
  %b = dnn.weight "b" : tensor<384xf32>
  %y = dnn.layer_norm %x, %g, %b epsilon 1.000000e-06 : (tensor<16x384xf32>, tensor<384xf32>, tensor<384xf32>) -> tensor<16x384xf32>
  func.return %y : tensor<16x384xf32>
}
// CHECK-LABEL: func.func @wide_norm
// CHECK:       %y = tile.layer "{{y[_0-9]*}}" lnorm grid [1, 2, 1]
// CHECK:       tile.tile out [0:1, 0:8, 0:384] in [0:1, 0:8, 0:384] pads [0, 0, 0, 0] step 1 buffers [6144, 192, 768] cost {{[0-9]+}} chunk 192
// CHECK-NEXT:  tile.tile out [0:1, 8:16, 0:384] in [0:1, 8:16, 0:384] {{.*}} chunk 192
