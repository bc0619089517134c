// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// The tile dialect's verifier errors, each with its exact message.

// Two tiles cover the same rows.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [2, 1, 1] cost 2 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:5, 0:8, 0:8] in [0:5, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [1, 0, 0] cost 1
  tile.tile out [4:8, 0:8, 0:8] in [4:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [1, 0, 0] cost 1
}
// CHECK: output element (row, col, chan) [4, 0, 0] is covered more than once

// -----

// A gap: channels 4-7 of rows 4-7 are computed by no tile.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [2, 1, 1] cost 2 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:4, 0:8, 0:8] in [0:4, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [1, 0, 0] cost 1
  tile.tile out [4:8, 0:8, 0:4] in [4:8, 0:8, 0:4] pads [0, 0, 0, 0] step 4 buffers [1, 0, 0] cost 1
}
// CHECK: output element (row, col, chan) [4, 0, 4] is covered by no tile

// -----

// A tile outside the output.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:9, 0:8, 0:8] in [0:9, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [1, 0, 0] cost 1
}
// CHECK: tile 0 [0:9, 0:8, 0:8] lies outside the output [8, 8, 8]

// -----

// The window of a 3x3 conv band must include its halo: rows [0, 5), not [0, 4).
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" conv grid [2, 1, 1] cost 2 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  %w = dnn.weight "w" : tensor<16x8x3x3xf32>
  %r = dnn.conv2d %a, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x8x8xf32>
  tile.yield %r : tensor<1x16x8x8xf32>
} tiles {
  tile.tile out [0:4, 0:8, 0:16] in [0:4, 0:8, 0:8] pads [1, 1, 0, 1] step 4 buffers [832, 1152, 64] cost 1
  tile.tile out [4:8, 0:8, 0:16] in [3:8, 0:8, 0:8] pads [0, 1, 1, 1] step 4 buffers [832, 1152, 64] cost 1
}
// CHECK: tile 0: window [0:4, 0:8, 0:8] pads [1, 1, 0, 1] should be [0:5, 0:8, 0:8] pads [1, 1, 0, 1] for output [0:4, 0:8, 0:16]

// -----

// A tile needing more fmap buffer than the module's core has.
builtin.module attributes {tile.core = #tile.core<pp 4 icp 8 ocp 8 fmap 1024 weight 4096 bias 256>} {
  %x = "test.op"() : () -> tensor<1x8x8x8xf32>
  %y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  ^bb0(%a: tensor<1x8x8x8xf32>):
    tile.yield %a : tensor<1x8x8x8xf32>
  } tiles {
    tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [2048, 0, 0] cost 1
  }
}
// CHECK: tile 0 needs 2048 bytes of the fmap buffer, the core has 1024

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [2, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: grid [2, 1, 1] does not match the 1 tiles

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 7 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: layer cost must equal the sum of its tiles' costs

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" pool grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: kind pool does not match the body (copy)

// -----

%x = "test.op"() : () -> tensor<2x8x8x8xf32>
%y = tile.layer "c" conv grid [1, 1, 1] cost 1 (%x) : (tensor<2x8x8x8xf32>) -> tensor<2x8x8x8xf32> {
^bb0(%a: tensor<2x8x8x8xf32>):
  %w = dnn.weight "w" : tensor<8x4x1x1xf32>
  %r = dnn.conv2d %a, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 : (tensor<2x8x8x8xf32>, tensor<8x4x1x1xf32>) -> tensor<2x8x8x8xf32>
  tile.yield %r : tensor<2x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: conv2d input must be a batch-1 4-D, [1, S, D] or [M, K] tensor

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 into [4, 8] (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: into [4, 8] does not hold 8 channels

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 16, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: pads must be in 0..15, got [0, 0, 16, 0]

// -----

%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 4:4, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: 'out' ranges must be non-empty, got [0:8, 4:4, 0:8]

// -----

// A concat input must have been written in place by its producer.
%a, %b = "test.op"() : () -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>)
%c = tile.concat %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x16x4x4xf32>
// CHECK: input 0 must be written in place at channel 0 of 16 (its producer needs into [0, 16])

// -----

%a = "test.op"() : () -> tensor<1x8x4x4xf32>
%f = tile.view %a : tensor<1x8x4x4xf32> -> tensor<1x100xf32>
// CHECK: tile.view changes the element count: [1, 8, 4, 4] -> [1, 100]

// -----

"test.op"() {core = #tile.core<pp 0 icp 8 ocp 8 fmap 1 weight 1 bias 4>} : () -> ()
// CHECK: #tile.core pp must be positive, got 0

// -----

// tile.yield ends a tile.layer body and nothing else.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
"test.op"() ({
  tile.yield %x : tensor<1x8x8x8xf32>
}) : () -> ()
// CHECK: 'tile.yield' expects parent op 'tile.layer'

// -----

// tile.yield must be the last op of the body.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
  "test.op"() : () -> ()
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: 'tile.yield' must be the last operation in its parent block

// -----

// The yielded value has the layer's result type.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xi8> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1
}
// CHECK: tile.yield type tensor<1x8x8x8xf32> differs from the result type tensor<1x8x8x8xi8>

// -----

// A split reduction's chunk must leave more than one chunk of the window's input channels.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "c" copy grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  tile.yield %a : tensor<1x8x8x8xf32>
} tiles {
  tile.tile out [0:8, 0:8, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 4 buffers [512, 0, 0] cost 1 chunk 8
}
// CHECK: chunk must be below the window's 8 input channels, got 8

// -----

// A global pool split over its window's rows must leave more than one part of them.
%x = "test.op"() : () -> tensor<1x8x8x8xf32>
%y = tile.layer "g" gpool grid [1, 1, 1] cost 1 (%x) : (tensor<1x8x8x8xf32>) -> tensor<1x8x1x1xf32> {
^bb0(%a: tensor<1x8x8x8xf32>):
  %r = dnn.global_pool avg %a : tensor<1x8x8x8xf32> -> tensor<1x8x1x1xf32>
  tile.yield %r : tensor<1x8x1x1xf32>
} tiles {
  tile.tile out [0:1, 0:1, 0:8] in [0:8, 0:8, 0:8] pads [0, 0, 0, 0] step 1 buffers [520, 0, 32] cost 1 chunk 8
}
// CHECK: chunk must be below the window's 8 rows, got 8
