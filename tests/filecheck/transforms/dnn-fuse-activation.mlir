// RUN: fv-opt %s -p dnn-fuse-activation | filecheck %s

// Each activation op fuses into conv2d, dense and equal-shape add.

func.func @conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  %y = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %z = dnn.relu %y : tensor<1x4x8x8xf32>
  func.return %z : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @conv_relu
// CHECK-NEXT:    %y = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<relu> : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    func.return %y : tensor<1x4x8x8xf32>

func.func @conv_clip_depthwise(%x: tensor<1x4x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %y = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] group 4 : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
  %z = dnn.clip %y lo 0.0 hi 6.0 : tensor<1x4x8x8xf32>
  func.return %z : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @conv_clip_depthwise
// CHECK-NEXT:    %y = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] group 4 act #dnn.act<clip 0.0 6.0> :
// CHECK-NEXT:    func.return %y

func.func @dense_leaky_relu(%x: tensor<2x4xf32>, %w: tensor<10x4xf32>) -> tensor<2x10xf32> {
  %y = dnn.dense %x, %w trans_b : (tensor<2x4xf32>, tensor<10x4xf32>) -> tensor<2x10xf32>
  %z = dnn.leaky_relu %y alpha 0.1 : tensor<2x10xf32>
  func.return %z : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @dense_leaky_relu
// CHECK-NEXT:    %y = dnn.dense %x, %w trans_b act #dnn.act<leaky_relu 0.1> : (tensor<2x4xf32>, tensor<10x4xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:    func.return %y

func.func @dense_sigmoid(%x: tensor<2x4xf32>, %w: tensor<4x10xf32>) -> tensor<2x10xf32> {
  %y = dnn.dense %x, %w alpha 2.0 : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
  %z = dnn.sigmoid %y : tensor<2x10xf32>
  func.return %z : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @dense_sigmoid
// CHECK-NEXT:    %y = dnn.dense %x, %w alpha 2.000000e+00 act #dnn.act<sigmoid> :
// CHECK-NEXT:    func.return %y

func.func @add_tanh(%a: tensor<1x4x8x8xf32>, %b: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %y = dnn.add %a, %b : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %z = dnn.tanh %y : tensor<1x4x8x8xf32>
  func.return %z : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @add_tanh
// CHECK-NEXT:    %y = dnn.add %a, %b act #dnn.act<tanh> : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    func.return %y

// A residual block: conv+relu, conv, add+relu. Every activation finds its producer.
func.func @residual(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %c1 = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %r1 = dnn.relu %c1 : tensor<1x4x8x8xf32>
  %c2 = dnn.conv2d %r1, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %s = dnn.add %c2, %x : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %r2 = dnn.relu %s : tensor<1x4x8x8xf32>
  func.return %r2 : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @residual
// CHECK-NEXT:    %c1 = dnn.conv2d %x, %w {{.*}} act #dnn.act<relu> :
// CHECK-NEXT:    %c2 = dnn.conv2d %c1, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] :
// CHECK-NEXT:    %s = dnn.add %c2, %x act #dnn.act<relu> :
// CHECK-NEXT:    func.return %s

// Negative: the conv result has a second use, which needs the value before the relu.
func.func @multi_use(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) {
  %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %z = dnn.relu %y : tensor<1x4x6x6xf32>
  func.return %y, %z : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func.func @multi_use
// CHECK-NEXT:    %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    %z = dnn.relu %y : tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %y, %z

// Negative: two activations on one value; neither may be fused.
func.func @two_activations(%x: tensor<2x4xf32>, %w: tensor<4x10xf32>) -> (tensor<2x10xf32>, tensor<2x10xf32>) {
  %y = dnn.dense %x, %w : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
  %r = dnn.relu %y : tensor<2x10xf32>
  %t = dnn.tanh %y : tensor<2x10xf32>
  func.return %r, %t : tensor<2x10xf32>, tensor<2x10xf32>
}

// CHECK-LABEL: func.func @two_activations
// CHECK-NEXT:    %y = dnn.dense %x, %w : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:    %r = dnn.relu %y
// CHECK-NEXT:    %t = dnn.tanh %y
// CHECK-NEXT:    func.return %r, %t

// Negative: the producer already has an activation; relu(clip) stays as it is.
// The second relu then fuses into nothing either: its producer is an activation op.
func.func @act_already_present(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<clip -1.0 1.0> : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %z = dnn.relu %y : tensor<1x4x6x6xf32>
  %z2 = dnn.relu %z : tensor<1x4x6x6xf32>
  func.return %z2 : tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func.func @act_already_present
// CHECK-NEXT:    %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<clip -1.0 1.0> :
// CHECK-NEXT:    %z = dnn.relu %y
// CHECK-NEXT:    %z2 = dnn.relu %z
// CHECK-NEXT:    func.return %z2

// Negative: broadcast adds are not fused (the eltwise engine adds equal-shape tensors only),
// whichever operand is broadcast.
func.func @broadcast_add(%a: tensor<1x4x8x8xf32>, %b: tensor<4x1x1xf32>, %c: tensor<8xf32>, %d: tensor<4x1x1xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x8xf32>) {
  %s1 = dnn.add %a, %b : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %r1 = dnn.relu %s1 : tensor<1x4x8x8xf32>
  %s2 = dnn.add %b, %a : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %r2 = dnn.relu %s2 : tensor<1x4x8x8xf32>
  %s3 = dnn.add %d, %c : (tensor<4x1x1xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
  %r3 = dnn.sigmoid %s3 : tensor<4x1x8xf32>
  func.return %r1, %r2, %r3 : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x8xf32>
}

// CHECK-LABEL: func.func @broadcast_add
// CHECK-NEXT:    %s1 = dnn.add %a, %b : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    %r1 = dnn.relu %s1
// CHECK-NEXT:    %s2 = dnn.add %b, %a : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    %r2 = dnn.relu %s2
// CHECK-NEXT:    %s3 = dnn.add %d, %c : (tensor<4x1x1xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
// CHECK-NEXT:    %r3 = dnn.sigmoid %s3
// CHECK-NEXT:    func.return %r1, %r2, %r3

// Negative: producers without an `act` slot and non-activation consumers are untouched;
// unrelated dead ops are not erased by this pass.
func.func @not_fusable(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %m = dnn.mul %a, %b : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = dnn.relu %m : tensor<4x4xf32>
  %s = dnn.add %a, %b : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %sm = dnn.softmax %s axis 1 : tensor<4x4xf32>
  %dead = dnn.sub %a, %b : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %r, %sm : tensor<4x4xf32>, tensor<4x4xf32>
}

// CHECK-LABEL: func.func @not_fusable
// CHECK-NEXT:    %m = dnn.mul %a, %b
// CHECK-NEXT:    %r = dnn.relu %m
// CHECK-NEXT:    %s = dnn.add %a, %b :
// CHECK-NEXT:    %sm = dnn.softmax %s axis 1
// CHECK-NEXT:    %dead = dnn.sub %a, %b
// CHECK-NEXT:    func.return %r, %sm
