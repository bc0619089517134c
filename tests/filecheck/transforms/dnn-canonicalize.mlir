// RUN: fv-opt %s -p dnn-canonicalize | filecheck %s

func.func @identity_reshape(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = dnn.reshape %x : tensor<1x4xf32> -> tensor<1x4xf32>
  func.return %y : tensor<1x4xf32>
}

// CHECK-LABEL: func.func @identity_reshape
// CHECK-NEXT:    func.return %x : tensor<1x4xf32>

func.func @reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %a = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %b = dnn.reshape %a : tensor<6x4xf32> -> tensor<24xf32>
  %c = dnn.reshape %b : tensor<24xf32> -> tensor<4x6xf32>
  func.return %c : tensor<4x6xf32>
}

// CHECK-LABEL: func.func @reshape_of_reshape
// CHECK-NEXT:    %c = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT:    func.return %c

// A reshape chain back to the source type vanishes.
func.func @reshape_round_trip(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %b = dnn.reshape %a : tensor<6x4xf32> -> tensor<2x3x4xf32>
  func.return %b : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @reshape_round_trip
// CHECK-NEXT:    func.return %x : tensor<2x3x4xf32>

// The inner reshape keeps its other use.
func.func @reshape_chain_shared(%x: tensor<2x3x4xf32>) -> (tensor<6x4xf32>, tensor<24xf32>) {
  %a = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %b = dnn.reshape %a : tensor<6x4xf32> -> tensor<24xf32>
  func.return %a, %b : tensor<6x4xf32>, tensor<24xf32>
}

// CHECK-LABEL: func.func @reshape_chain_shared
// CHECK-NEXT:    %a = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    %b = dnn.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK-NEXT:    func.return %a, %b

// A flatten feeding a dense from an already 2-D tensor is an identity.
func.func @identity_flatten_dense(%x: tensor<2x4xf32>, %w: tensor<10x4xf32>) -> tensor<2x10xf32> {
  %f = dnn.flatten %x : tensor<2x4xf32> -> tensor<2x4xf32>
  %y = dnn.dense %f, %w trans_b : (tensor<2x4xf32>, tensor<10x4xf32>) -> tensor<2x10xf32>
  func.return %y : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @identity_flatten_dense
// CHECK-NEXT:    %y = dnn.dense %x, %w trans_b : (tensor<2x4xf32>, tensor<10x4xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:    func.return %y

// GlobalPool -> Reshape -> Dense: the canonical form of [N,C,1,1] -> [N,C] is a flatten.
func.func @pool_reshape_dense(%x: tensor<2x8x7x7xf32>, %w: tensor<10x8xf32>) -> tensor<2x10xf32> {
  %g = dnn.global_pool avg %x : tensor<2x8x7x7xf32> -> tensor<2x8x1x1xf32>
  %r = dnn.reshape %g : tensor<2x8x1x1xf32> -> tensor<2x8xf32>
  %y = dnn.dense %r, %w trans_b : (tensor<2x8xf32>, tensor<10x8xf32>) -> tensor<2x10xf32>
  func.return %y : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @pool_reshape_dense
// CHECK-NEXT:    %g = dnn.global_pool avg %x
// CHECK-NEXT:    %r = dnn.flatten %g : tensor<2x8x1x1xf32> -> tensor<2x8xf32>
// CHECK-NEXT:    %y = dnn.dense %r, %w trans_b
// CHECK-NEXT:    func.return %y

// A reshape/flatten chain from [N,C,1,1] into a dense becomes one flatten.
func.func @pool_chain_dense(%g: tensor<1x8x1x1xf32>, %w: tensor<10x8xf32>) -> tensor<1x10xf32> {
  %a = dnn.reshape %g : tensor<1x8x1x1xf32> -> tensor<1x8x1xf32>
  %f = dnn.flatten %a : tensor<1x8x1xf32> -> tensor<1x8xf32>
  %y = dnn.dense %f, %w trans_b : (tensor<1x8xf32>, tensor<10x8xf32>) -> tensor<1x10xf32>
  func.return %y : tensor<1x10xf32>
}

// CHECK-LABEL: func.func @pool_chain_dense
// CHECK-NEXT:    %f = dnn.flatten %g : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
// CHECK-NEXT:    %y = dnn.dense %f, %w trans_b
// CHECK-NEXT:    func.return %y

// The same tensor flattened at axis 0 gives the same [1, C]: written with axis 1.
func.func @flatten_axis_normalized(%g: tensor<1x8x1x1xf32>) -> tensor<1x8xf32> {
  %f = dnn.flatten %g axis 0 : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
  func.return %f : tensor<1x8xf32>
}

// CHECK-LABEL: func.func @flatten_axis_normalized
// CHECK-NEXT:    %f = dnn.flatten %g : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
// CHECK-NEXT:    func.return %f

// flatten(flatten(x)) stays a flatten when one flatten of x gives the result.
func.func @flatten_of_flatten(%x: tensor<2x3x4x5xf32>) -> tensor<2x60xf32> {
  %a = dnn.flatten %x axis 2 : tensor<2x3x4x5xf32> -> tensor<6x20xf32>
  %b = dnn.reshape %a : tensor<6x20xf32> -> tensor<2x3x20xf32>
  %c = dnn.flatten %b : tensor<2x3x20xf32> -> tensor<2x60xf32>
  func.return %c : tensor<2x60xf32>
}

// CHECK-LABEL: func.func @flatten_of_flatten
// CHECK-NEXT:    %c = dnn.flatten %x : tensor<2x3x4x5xf32> -> tensor<2x60xf32>
// CHECK-NEXT:    func.return %c

// Negative: ordinary flattens and reshapes are already canonical.
func.func @canonical_already(%x: tensor<1x512x7x7xf32>, %y: tensor<2x3x4xf32>) -> (tensor<1x25088xf32>, tensor<2x12xf32>, tensor<6x4xf32>) {
  %f = dnn.flatten %x : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
  %r = dnn.reshape %y : tensor<2x3x4xf32> -> tensor<2x12xf32>
  %g = dnn.flatten %y axis 2 : tensor<2x3x4xf32> -> tensor<6x4xf32>
  func.return %f, %r, %g : tensor<1x25088xf32>, tensor<2x12xf32>, tensor<6x4xf32>
}

// CHECK-LABEL: func.func @canonical_already
// CHECK-NEXT:    %f = dnn.flatten %x : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
// CHECK-NEXT:    %r = dnn.reshape %y : tensor<2x3x4xf32> -> tensor<2x12xf32>
// CHECK-NEXT:    %g = dnn.flatten %y axis 2 : tensor<2x3x4xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    func.return %f, %r, %g

func.func @identity_transpose(%x: tensor<1x3x4x5xf32>) -> tensor<1x3x4x5xf32> {
  %t = dnn.transpose %x perm [0, 1, 2, 3] : tensor<1x3x4x5xf32> -> tensor<1x3x4x5xf32>
  func.return %t : tensor<1x3x4x5xf32>
}

// CHECK-LABEL: func.func @identity_transpose
// CHECK-NEXT:    func.return %x : tensor<1x3x4x5xf32>

// Moving only size-1 dims (keeping 3, 4, 5 in order) does not move data: a reshape.
func.func @unit_dim_transpose(%x: tensor<1x3x4x5xf32>, %y: tensor<3x1x1xf32>) -> (tensor<3x4x1x5xf32>, tensor<3x1x1xf32>) {
  %t = dnn.transpose %x perm [1, 2, 0, 3] : tensor<1x3x4x5xf32> -> tensor<3x4x1x5xf32>
  %u = dnn.transpose %y perm [0, 2, 1] : tensor<3x1x1xf32> -> tensor<3x1x1xf32>
  func.return %t, %u : tensor<3x4x1x5xf32>, tensor<3x1x1xf32>
}

// CHECK-LABEL: func.func @unit_dim_transpose
// CHECK-NEXT:    %t = dnn.reshape %x : tensor<1x3x4x5xf32> -> tensor<3x4x1x5xf32>
// CHECK-NEXT:    func.return %t, %y

// NCHW -> NHWC -> NCHW is the identity; two other transposes compose into one.
func.func @transpose_of_transpose(%x: tensor<1x3x4x5xf32>) -> (tensor<1x3x4x5xf32>, tensor<5x1x4x3xf32>) {
  %a = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  %b = dnn.transpose %a perm [0, 3, 1, 2] : tensor<1x4x5x3xf32> -> tensor<1x3x4x5xf32>
  %c = dnn.transpose %a perm [2, 0, 1, 3] : tensor<1x4x5x3xf32> -> tensor<5x1x4x3xf32>
  func.return %b, %c : tensor<1x3x4x5xf32>, tensor<5x1x4x3xf32>
}

// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-NEXT:    %c = dnn.transpose %x perm [3, 0, 2, 1] : tensor<1x3x4x5xf32> -> tensor<5x1x4x3xf32>
// CHECK-NEXT:    func.return %x, %c

// Negative: a real transpose stays.
func.func @real_transpose(%x: tensor<1x3x4x5xf32>) -> tensor<1x4x5x3xf32> {
  %t = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  func.return %t : tensor<1x4x5x3xf32>
}

// CHECK-LABEL: func.func @real_transpose
// CHECK-NEXT:    %t = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
// CHECK-NEXT:    func.return %t

// SiLU as PyTorch exports it, x * sigmoid(x) (either operand order), is one dnn.silu.
func.func @silu(%x: tensor<1x8x4x4xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) {
  %s = dnn.sigmoid %x : tensor<1x8x4x4xf32>
  %y = dnn.mul %x, %s : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %s2 = dnn.sigmoid %y : tensor<1x8x4x4xf32>
  %z = dnn.mul %s2, %y : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %y, %z : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @silu
// CHECK-NEXT:    %y = dnn.silu %x : tensor<1x8x4x4xf32>
// CHECK-NEXT:    %z = dnn.silu %y : tensor<1x8x4x4xf32>
// CHECK-NEXT:    func.return %y, %z

// Negative: a sigmoid that something else uses stays (the mul would not save it), and so does
// a gate of another value (a squeeze-excitation's x * sigmoid(g)).
func.func @not_silu(%x: tensor<1x8x4x4xf32>, %g: tensor<1x8x4x4xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) {
  %s = dnn.sigmoid %x : tensor<1x8x4x4xf32>
  %y = dnn.mul %x, %s : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %sg = dnn.sigmoid %g : tensor<1x8x4x4xf32>
  %e = dnn.mul %x, %sg : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %y, %s, %e : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @not_silu
// CHECK-NEXT:    %s = dnn.sigmoid %x
// CHECK-NEXT:    %y = dnn.mul %x, %s
// CHECK-NEXT:    %sg = dnn.sigmoid %g
// CHECK-NEXT:    %e = dnn.mul %x, %sg
// CHECK-NEXT:    func.return %y, %s, %e

// Negative: int8 IR keeps its two roundings (the sigmoid's table, then the multiply's shift).
func.func @int8_not_silu(%x: tensor<4xi8, #dnn.fixed<5>>) -> tensor<4xi8, #dnn.fixed<5>> {
  %s = dnn.sigmoid %x : tensor<4xi8, #dnn.fixed<5>> -> tensor<4xi8, #dnn.fixed<7>>
  %y = dnn.mul %x, %s shift 7 : (tensor<4xi8, #dnn.fixed<5>>, tensor<4xi8, #dnn.fixed<7>>) -> tensor<4xi8, #dnn.fixed<5>>
  func.return %y : tensor<4xi8, #dnn.fixed<5>>
}

// CHECK-LABEL: func.func @int8_not_silu
// CHECK-NEXT:    %s = dnn.sigmoid %x
// CHECK-NEXT:    %y = dnn.mul %x, %s shift 7
