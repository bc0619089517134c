// RUN: fv-opt %s --split-input-file --verify-diagnostics --hw tiny -p dnn-tile | filecheck %s
// RUN: not fv-opt %s --hw tiny -p dnn-tile 2>&1 | filecheck %s --check-prefix=ONE-LINE
// RUN: not fv-opt %s --hw nope -p dnn-tile 2>&1 | filecheck %s --check-prefix=HW

// dnn-tile's errors: one line naming the pass and the op (its result), never a traceback.
// With --verify-diagnostics each chunk's error is printed and fv-opt exits 0.

// An unknown hardware preset (and no such TOML file) in the `hw` option.
// HW: fv-opt: error: unknown hardware 'nope': not a preset (paper-u200, big-core, tiny) nor a .toml file
// HW-NOT: Traceback

// A layer no tiling fits: one channel of a 100 x 100 average pooling window (10,000 bytes)
// exceeds the tiny core's 8 KiB fmap buffer; only a global pool pools its window in parts.
func.func @too_wide(%x: tensor<1x4x100x100xf32>) -> tensor<1x4x1x1xf32> {
  %y = dnn.pool2d avg %x kernel [100, 100] strides [1, 1] pads [0, 0, 0, 0] : tensor<1x4x100x100xf32> -> tensor<1x4x1x1xf32>
  func.return %y : tensor<1x4x1x1xf32>
}
// CHECK: dnn-tile: dnn.pool2d (%y): no tile of this pool layer fits the core's buffers

// Without --split-input-file the first chunk's error ends the run: one line on stderr.
// ONE-LINE:      {{^}}fv-opt: error: dnn-tile: dnn.pool2d (%y): no tile of this pool layer fits the core's buffers{{$}}
// ONE-LINE-NOT:  {{.}}

// -----

// A fused activation the conv engine's requantization cannot apply.
func.func @fused_sigmoid(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w = dnn.weight "w" : tensor<8x8x3x3xf32>
  %c = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<sigmoid> : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  func.return %c : tensor<1x8x4x4xf32>
}
// CHECK: dnn-tile: dnn.conv2d (%c): dnn.conv2d: a fused sigmoid cannot run on the accelerator (split it out)

// -----

// An op marked for the accelerator that has no lowering (a batch of two images).
func.func @batch2(%x: tensor<2x8x4x4xf32>) -> tensor<2x8x4x4xf32> {
  %w = dnn.weight "w" : tensor<8x4x1x1xf32>
  %g = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 {dnn.target = "accel"} : (tensor<2x8x4x4xf32>, tensor<8x4x1x1xf32>) -> tensor<2x8x4x4xf32>
  func.return %g : tensor<2x8x4x4xf32>
}
// CHECK: dnn-tile: dnn.conv2d (%g): conv2d input must be a batch-1 4-D, [1, S, D] or [M, K] tensor
