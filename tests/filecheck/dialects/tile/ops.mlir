// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// The tile dialect's ops in their custom syntax (printed back after a round trip through the
// generic form) and in the generic form: a conv layer in two row bands (the second reducing over
// chunks of 4 input channels), a global pooling layer (pooling its window in parts of 4 rows)
// and a
// copy written in place into a concat, a zero-copy view feeding a dense layer.

builtin.module attributes {tile.core = #tile.core<pp 4 icp 8 ocp 8 fmap 65536 weight 294912 bias 32768>} {
  func.func @main(%x: tensor<1x8x8x8xf32>) -> tensor<1x10xf32> {
    %c = tile.layer "conv" conv grid [2, 1, 1] cost 200 into [0, 24] (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
    ^bb0(%a: tensor<1x8x8x8xf32>):
      %w = dnn.weight "w" : tensor<16x8x3x3xf32>
      %r = dnn.conv2d %a, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x8x8xf32>
      tile.yield %r : tensor<1x16x8x8xf32>
    } tiles {
      tile.tile out [0:4, 0:8, 0:16] in [0:5, 0:8, 0:8] pads [1, 1, 0, 1] step 4 buffers [832, 1152, 64] cost 100
      tile.tile out [4:8, 0:8, 0:16] in [3:8, 0:8, 0:8] pads [0, 1, 1, 1] step 4 buffers [832, 1152, 64] cost 100 chunk 4 {note = "last band"}
    }
    %p = tile.layer "copy" copy grid [1, 1, 1] cost 50 into [16, 24] (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
    ^bb0(%b: tensor<1x8x8x8xf32>):
      tile.yield %b : tensor<1x8x8x8xf32>
    } tiles {
      tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 50
    }
    %j = tile.concat %c, %p : (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x24x8x8xf32>
    %g = tile.layer "gap" gpool grid [1, 1, 1] cost 30 (%j) : (tensor<1x24x8x8xf32>) -> tensor<1x24x1x1xf32> {
    ^bb0(%d: tensor<1x24x8x8xf32>):
      %r = dnn.global_pool avg %d : tensor<1x24x8x8xf32> -> tensor<1x24x1x1xf32>
      tile.yield %r : tensor<1x24x1x1xf32>
    } tiles {
      tile.tile out [0:1, 0:1, 0:24] in [0:8, 0:8, 0:24] pads [0, 0, 0, 0] step 1 buffers [808, 0, 96] cost 30 chunk 4
    }
    %f = tile.view %g : tensor<1x24x1x1xf32> -> tensor<1x24xf32>
    %y = tile.layer "fc" dense grid [1, 1, 2] cost 40 (%f) {tag} : (tensor<1x24xf32>) -> tensor<1x10xf32> {
    ^bb0(%e: tensor<1x24xf32>):
      %w = dnn.weight "fc.w" : tensor<10x24xf32>
      %r = dnn.dense %e, %w trans_b : (tensor<1x24xf32>, tensor<10x24xf32>) -> tensor<1x10xf32>
      tile.yield %r : tensor<1x10xf32>
    } tiles {
      tile.tile out [0:1, 0:1, 0:8] in [0:1, 0:1, 0:24] pads [0, 0, 0, 0] step 1 buffers [40, 192, 32] cost 20
      tile.tile out [0:1, 0:1, 8:10] in [0:1, 0:1, 0:24] pads [0, 0, 0, 0] step 1 buffers [34, 48, 8] cost 20
    }
    func.return %y : tensor<1x10xf32>
  }
}

// CHECK:      builtin.module attributes {tile.core = #tile.core<pp 4 icp 8 ocp 8 fmap 65536 weight 294912 bias 32768>} {
// CHECK:        %c = tile.layer "conv" conv grid [2, 1, 1] cost 200 into [0, 24] (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
// CHECK-NEXT:   ^bb0(%a: tensor<1x8x8x8xf32>):
// CHECK-NEXT:     %w = dnn.weight "w" : tensor<16x8x3x3xf32>
// CHECK-NEXT:     %r = dnn.conv2d %a, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x8x8xf32>
// CHECK-NEXT:     tile.yield %r : tensor<1x16x8x8xf32>
// CHECK-NEXT:   } tiles {
// CHECK-NEXT:     tile.tile out [0:4, 0:8, 0:16] in [0:5, 0:8, 0:8] pads [1, 1, 0, 1] step 4 buffers [832, 1152, 64] cost 100
// CHECK-NEXT:     tile.tile out [4:8, 0:8, 0:16] in [3:8, 0:8, 0:8] pads [0, 1, 1, 1] step 4 buffers [832, 1152, 64] cost 100 chunk 4 {note = "last band"}
// CHECK-NEXT:   }
// CHECK-NEXT:   %p = tile.layer "copy" copy grid [1, 1, 1] cost 50 into [16, 24] (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
// CHECK:        %j = tile.concat %c, %p : (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x24x8x8xf32>
// CHECK:        %g = tile.layer "gap" gpool grid [1, 1, 1] cost 30 (%j) : (tensor<1x24x8x8xf32>) -> tensor<1x24x1x1xf32> {
// CHECK:          tile.tile out [0:1, 0:1, 0:24] in [0:8, 0:8, 0:24] pads [0, 0, 0, 0] step 1 buffers [808, 0, 96] cost 30 chunk 4
// CHECK:        %f = tile.view %g : tensor<1x24x1x1xf32> -> tensor<1x24xf32>
// CHECK-NEXT:   %y = tile.layer "fc" dense grid [1, 1, 2] cost 40 (%f) {tag} : (tensor<1x24xf32>) -> tensor<1x10xf32> {
// CHECK:          tile.tile out [0:1, 0:1, 8:10] in [0:1, 0:1, 0:24] pads [0, 0, 0, 0] step 1 buffers [34, 48, 8] cost 20

// CHECK-GENERIC:      %c = "tile.layer"(%x) <{layer = "conv", kind = #tile<kind conv>, grid = array<i64: 2, 1, 1>, cost = 200 : i64, into = array<i64: 0, 24>}> ({
// CHECK-GENERIC:      "tile.yield"(%r) : (tensor<1x16x8x8xf32>) -> ()
// CHECK-GENERIC:      "tile.tile"() <{out = array<i64: 0, 4, 0, 8, 0, 16>, window = array<i64: 0, 5, 0, 8, 0, 8>, pads = array<i64: 1, 1, 0, 1>, step = 4 : i64, buffers = array<i64: 832, 1152, 64>, cost = 100 : i64, chunk = 0 : i64}> : () -> ()
// CHECK-GENERIC:      %j = "tile.concat"(%c, %p) : (tensor<1x16x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x24x8x8xf32>
// CHECK-GENERIC:      %f = "tile.view"(%g) : (tensor<1x24x1x1xf32>) -> tensor<1x24xf32>
