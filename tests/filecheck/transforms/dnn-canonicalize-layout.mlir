// RUN: fv-opt %s -p dnn-canonicalize | filecheck %s

// dnn-canonicalize on layout chains that reach through transposes, and elementwise activations
// moved above the layout op that feeds them.

// A channels-last Linear's output (a [1, C, HW, 1] conv) back to NCHW: rows -> transpose ->
// NHWC -> transpose leaves the elements in the conv's order, so it is one reshape.
func.func @chain_to_reshape(%x: tensor<1x4x6x1xf32>) -> tensor<1x4x2x3xf32> {
  %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
  %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %c = dnn.reshape %b : tensor<6x4xf32> -> tensor<1x2x3x4xf32>
  %d = dnn.transpose %c perm [0, 3, 1, 2] : tensor<1x2x3x4xf32> -> tensor<1x4x2x3xf32>
  func.return %d : tensor<1x4x2x3xf32>
}

// CHECK-LABEL: func.func @chain_to_reshape
// CHECK-NEXT:    %d = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<1x4x2x3xf32>
// CHECK-NEXT:    func.return %d

// A chain back to its source's type vanishes.
func.func @chain_round_trip(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %a = dnn.reshape %x : tensor<1x2x3x4xf32> -> tensor<6x4xf32>
  %b = dnn.transpose %a perm [1, 0] : tensor<6x4xf32> -> tensor<4x6xf32>
  %c = dnn.reshape %b : tensor<4x6xf32> -> tensor<1x4x2x3xf32>
  %d = dnn.transpose %c perm [0, 2, 3, 1] : tensor<1x4x2x3xf32> -> tensor<1x2x3x4xf32>
  func.return %d : tensor<1x2x3x4xf32>
}

// CHECK-LABEL: func.func @chain_round_trip
// CHECK-NEXT:    func.return %x : tensor<1x2x3x4xf32>

// The chain keeps the elements of %v in order, not those of %x (the first transpose really
// moves data): the result is %v itself.
func.func @chain_from_inner_value(%x: tensor<4x6xf32>) -> tensor<6x4xf32> {
  %v = dnn.transpose %x perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %a = dnn.reshape %v : tensor<6x4xf32> -> tensor<3x2x2x2xf32>
  %b = dnn.transpose %a perm [0, 1, 3, 2] : tensor<3x2x2x2xf32> -> tensor<3x2x2x2xf32>
  %c = dnn.reshape %b : tensor<3x2x2x2xf32> -> tensor<6x2x2xf32>
  %d = dnn.transpose %c perm [0, 2, 1] : tensor<6x2x2xf32> -> tensor<6x2x2xf32>
  %e = dnn.reshape %d : tensor<6x2x2xf32> -> tensor<6x4xf32>
  func.return %e : tensor<6x4xf32>
}

// CHECK-LABEL: func.func @chain_from_inner_value
// CHECK-NEXT:    %v = dnn.transpose %x perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    func.return %v : tensor<6x4xf32>

// An intermediate value with another use stays for it; the chain still collapses.
func.func @chain_shared(%x: tensor<1x4x6x1xf32>) -> (tensor<6x4xf32>, tensor<1x4x2x3xf32>) {
  %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
  %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %c = dnn.reshape %b : tensor<6x4xf32> -> tensor<1x2x3x4xf32>
  %d = dnn.transpose %c perm [0, 3, 1, 2] : tensor<1x2x3x4xf32> -> tensor<1x4x2x3xf32>
  func.return %b, %d : tensor<6x4xf32>, tensor<1x4x2x3xf32>
}

// CHECK-LABEL: func.func @chain_shared
// CHECK-NEXT:    %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
// CHECK-NEXT:    %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    %d = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<1x4x2x3xf32>
// CHECK-NEXT:    func.return %b, %d

// Negative: this chain swaps H and W, so it moves data and stays.
func.func @chain_permutes(%x: tensor<1x4x6x1xf32>) -> tensor<1x4x3x2xf32> {
  %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
  %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %c = dnn.reshape %b : tensor<6x4xf32> -> tensor<1x2x3x4xf32>
  %d = dnn.transpose %c perm [0, 3, 2, 1] : tensor<1x2x3x4xf32> -> tensor<1x4x3x2xf32>
  func.return %d : tensor<1x4x3x2xf32>
}

// CHECK-LABEL: func.func @chain_permutes
// CHECK-NEXT:    %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
// CHECK-NEXT:    %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    %c = dnn.reshape %b : tensor<6x4xf32> -> tensor<1x2x3x4xf32>
// CHECK-NEXT:    %d = dnn.transpose %c perm [0, 3, 2, 1] : tensor<1x2x3x4xf32> -> tensor<1x4x3x2xf32>
// CHECK-NEXT:    func.return %d

// ConvNeXt's MLP between two channels-last Linears: GELU moves above the rows -> NHWC chain,
// the chains on its two sides meet and undo each other: GELU on the first conv's output.
func.func @gelu_between_linears(%x: tensor<1x4x6x1xf32>) -> tensor<1x4x6x1xf32> {
  %a = dnn.reshape %x : tensor<1x4x6x1xf32> -> tensor<4x6xf32>
  %b = dnn.transpose %a perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  %c = dnn.reshape %b : tensor<6x4xf32> -> tensor<1x2x3x4xf32>
  %g = dnn.gelu %c : tensor<1x2x3x4xf32>
  %rows = dnn.flatten %g axis 3 : tensor<1x2x3x4xf32> -> tensor<6x4xf32>
  %t = dnn.transpose %rows perm [1, 0] : tensor<6x4xf32> -> tensor<4x6xf32>
  %y = dnn.reshape %t : tensor<4x6xf32> -> tensor<1x4x6x1xf32>
  func.return %y : tensor<1x4x6x1xf32>
}

// CHECK-LABEL: func.func @gelu_between_linears
// CHECK-NEXT:    %g = dnn.gelu %x : tensor<1x4x6x1xf32>
// CHECK-NEXT:    func.return %g : tensor<1x4x6x1xf32>

// Every elementwise activation moves above a single-use reshape, flatten or transpose, with its
// parameters; the layout op keeps its own.
func.func @hoist_each(%x: tensor<1x3x4x5xf32>) -> (tensor<1x4x5x3xf32>, tensor<1x60xf32>, tensor<3x20xf32>, tensor<1x4x5x3xf32>, tensor<1x60xf32>, tensor<3x20xf32>, tensor<1x4x5x3xf32>, tensor<1x60xf32>) {
  %t0 = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  %relu = dnn.relu %t0 : tensor<1x4x5x3xf32>
  %f1 = dnn.flatten %x : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
  %clip = dnn.clip %f1 lo 0.0 hi 6.0 : tensor<1x60xf32>
  %r2 = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
  %leaky = dnn.leaky_relu %r2 alpha 0.1 : tensor<3x20xf32>
  %t3 = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  %sigmoid = dnn.sigmoid %t3 : tensor<1x4x5x3xf32>
  %f4 = dnn.flatten %x : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
  %tanh = dnn.tanh %f4 : tensor<1x60xf32>
  %r5 = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
  %hswish = dnn.hardswish %r5 : tensor<3x20xf32>
  %t6 = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  %hsigmoid = dnn.hardsigmoid %t6 : tensor<1x4x5x3xf32>
  %f7 = dnn.flatten %x : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
  %gelu = dnn.gelu %f7 : tensor<1x60xf32>
  func.return %relu, %clip, %leaky, %sigmoid, %tanh, %hswish, %hsigmoid, %gelu : tensor<1x4x5x3xf32>, tensor<1x60xf32>, tensor<3x20xf32>, tensor<1x4x5x3xf32>, tensor<1x60xf32>, tensor<3x20xf32>, tensor<1x4x5x3xf32>, tensor<1x60xf32>
}

// CHECK-LABEL: func.func @hoist_each
// CHECK-NEXT:    %relu = dnn.relu %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %t0 = dnn.transpose %relu perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
// CHECK-NEXT:    %clip = dnn.clip %x lo 0.000000e+00 hi 6.000000e+00 : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %f1 = dnn.flatten %clip : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
// CHECK-NEXT:    %leaky = dnn.leaky_relu %x alpha 1.000000e-01 : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %r2 = dnn.reshape %leaky : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
// CHECK-NEXT:    %sigmoid = dnn.sigmoid %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %t3 = dnn.transpose %sigmoid perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
// CHECK-NEXT:    %tanh = dnn.tanh %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %f4 = dnn.flatten %tanh : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
// CHECK-NEXT:    %hswish = dnn.hardswish %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %r5 = dnn.reshape %hswish : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
// CHECK-NEXT:    %hsigmoid = dnn.hardsigmoid %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %t6 = dnn.transpose %hsigmoid perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
// CHECK-NEXT:    %gelu = dnn.gelu %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %f7 = dnn.flatten %gelu : tensor<1x3x4x5xf32> -> tensor<1x60xf32>
// CHECK-NEXT:    func.return %t0, %f1, %r2, %t3, %f4, %r5, %t6, %f7

// An activation climbs a whole single-use chain; the chain then merges.
func.func @hoist_up_chain(%x: tensor<1x3x4x5xf32>) -> tensor<12x5xf32> {
  %a = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
  %b = dnn.reshape %a : tensor<3x20xf32> -> tensor<12x5xf32>
  %r = dnn.relu %b : tensor<12x5xf32>
  func.return %r : tensor<12x5xf32>
}

// CHECK-LABEL: func.func @hoist_up_chain
// CHECK-NEXT:    %r = dnn.relu %x : tensor<1x3x4x5xf32>
// CHECK-NEXT:    %b = dnn.reshape %r : tensor<1x3x4x5xf32> -> tensor<12x5xf32>
// CHECK-NEXT:    func.return %b

// On int8 fixed-point IR the activation keeps its own result exponent; the layout op, which
// keeps its input's, now carries that one.
func.func @hoist_int8(%x: tensor<2x8xi8, #dnn.fixed<4>>) -> tensor<16xi8, #dnn.fixed<5>> {
  %r = dnn.reshape %x : tensor<2x8xi8, #dnn.fixed<4>> -> tensor<16xi8, #dnn.fixed<4>>
  %g = dnn.gelu %r : tensor<16xi8, #dnn.fixed<4>> -> tensor<16xi8, #dnn.fixed<5>>
  func.return %g : tensor<16xi8, #dnn.fixed<5>>
}

// CHECK-LABEL: func.func @hoist_int8
// CHECK-NEXT:    %g = dnn.gelu %x : tensor<2x8xi8, #dnn.fixed<4>> -> tensor<2x8xi8, #dnn.fixed<5>>
// CHECK-NEXT:    %r = dnn.reshape %g : tensor<2x8xi8, #dnn.fixed<5>> -> tensor<16xi8, #dnn.fixed<5>>
// CHECK-NEXT:    func.return %r

// Negative: a reshape with another use would stay, so the activation does not move past it.
func.func @no_hoist_multi_use(%x: tensor<1x3x4x5xf32>) -> (tensor<3x20xf32>, tensor<3x20xf32>) {
  %r = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
  %g = dnn.gelu %r : tensor<3x20xf32>
  func.return %r, %g : tensor<3x20xf32>, tensor<3x20xf32>
}

// CHECK-LABEL: func.func @no_hoist_multi_use
// CHECK-NEXT:    %r = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x20xf32>
// CHECK-NEXT:    %g = dnn.gelu %r : tensor<3x20xf32>
// CHECK-NEXT:    func.return %r, %g

// Negative: on a batch-4 image the accelerator could not run the sigmoid that it runs on
// [1, 24]; it stays below the reshape.
func.func @no_hoist_to_batch(%x: tensor<4x2x3x1xf32>) -> tensor<1x24xf32> {
  %r = dnn.reshape %x : tensor<4x2x3x1xf32> -> tensor<1x24xf32>
  %s = dnn.sigmoid %r : tensor<1x24xf32>
  func.return %s : tensor<1x24xf32>
}

// CHECK-LABEL: func.func @no_hoist_to_batch
// CHECK-NEXT:    %r = dnn.reshape %x : tensor<4x2x3x1xf32> -> tensor<1x24xf32>
// CHECK-NEXT:    %s = dnn.sigmoid %r : tensor<1x24xf32>
// CHECK-NEXT:    func.return %s

// Negative: softmax reads along an axis, so it does not commute with data movement.
func.func @no_hoist_softmax(%x: tensor<1x3x4xf32>) -> tensor<3x4xf32> {
  %r = dnn.reshape %x : tensor<1x3x4xf32> -> tensor<3x4xf32>
  %s = dnn.softmax %r axis -1 : tensor<3x4xf32>
  func.return %s : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @no_hoist_softmax
// CHECK-NEXT:    %r = dnn.reshape %x : tensor<1x3x4xf32> -> tensor<3x4xf32>
// CHECK-NEXT:    %s = dnn.softmax %r axis -1 : tensor<3x4xf32>
// CHECK-NEXT:    func.return %s
