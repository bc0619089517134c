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
// CHECK:       %y = tile.layer "y" gpool grid [1, 1, 4]
// CHECK:       tile.tile out [0:1, 0:1, 0:1] in [0:100, 0:100, 0:1] pads [0, 0, 0, 0] step 1 buffers [5009, 0, 4] cost {{[0-9]+}} chunk 50
// CHECK-NEXT:  tile.tile out [0:1, 0:1, 1:2] in [0:100, 0:100, 1:2] {{.*}} chunk 50
