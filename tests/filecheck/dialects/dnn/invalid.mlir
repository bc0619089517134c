// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// One or more verifier errors per dnn op and for #dnn.act, each with its exact message.

// #dnn.act

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.add %x, %x act #dnn.act<gelu> : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: unknown activation 'gelu' (expected one of relu, clip, leaky_relu, sigmoid, tanh)

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.add %x, %x act #dnn.act<relu 1.0> : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: activation 'relu' takes 0 parameters, got 1

// -----

"test.op"() {a = #dnn.act<clip 6.0>} : () -> ()
// CHECK: activation 'clip' takes 2 parameters, got 1

// -----

"test.op"() {a = #dnn.act<leaky_relu>} : () -> ()
// CHECK: activation 'leaky_relu' takes 1 parameters, got 0

// -----

"test.op"() {a = #dnn.act<clip 6.0 0.0>} : () -> ()
// CHECK: clip bounds must satisfy lo <= hi, got [6.0, 0.0]

// -----

// dnn.weight, dnn.constant

%w = dnn.weight "" : tensor<4xf32>
// CHECK: weight name must not be empty

// -----

%c = "dnn.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<3xf32>
// CHECK: value type tensor<2xf32> != result type tensor<3xf32>

// -----

// dnn.conv2d

%x, %w = "test.op"() : () -> (tensor<3x8x8xf32>, tensor<8x3x3x3xf32>)
%y = "dnn.conv2d"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}> : (tensor<3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK: expected 4-D input and weight, got ranks 3 and 4

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x2x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK: input channels (3) != weight channels (2) * group (1)

// -----

%x, %w = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 0 : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK: group must be positive, got 0

// -----

%x, %w = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<5x2x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 : (tensor<1x4x8x8xf32>, tensor<5x2x3x3xf32>) -> tensor<1x5x6x6xf32>
// CHECK: output channels (5) not divisible by group (2)

// -----

%x, %w, %b = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<4xf32>)
%y = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<4xf32>) -> tensor<1x8x6x6xf32>
// CHECK: bias must have shape [8] (output channels), got [4]

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK: 'strides' must have 2 elements, got 3

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [-1, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x5x6xf32>
// CHECK: 'pads' must be non-negative, got [-1, 0, 0, 0]

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [0, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK: 'dilations' must be positive, got [0, 1]

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
// CHECK: expected result shape 1x8x6x6, got 1x8x8x8

// -----

%x, %w = "test.op"() : () -> (tensor<1x3x2x2xf32>, tensor<8x3x3x3xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x2x2xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x1x1xf32>
// CHECK: convolution window larger than padded input [1, 3, 2, 2]

// -----

// dnn.pool2d, dnn.global_pool

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [2, 0, 0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x5x4xf32>
// CHECK: pads [2, 0, 0, 0] must be smaller than the kernel [2, 2]

// -----

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] count_include_pad : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK: 'count_include_pad' applies to average pooling only

// -----

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.pool2d avg %x kernel [2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK: 'kernel' must have 2 elements, got 1

// -----

%x = "test.op"() : () -> tensor<4x8x8xf32>
%y = dnn.pool2d avg %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
// CHECK: expected a 4-D input, got rank 3

// -----

// ceil_mode never starts a window in the trailing padding (ONNX, PyTorch): 3 windows, not 4.
%x = "test.op"() : () -> tensor<1x1x5x5xf32>
%y = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode : tensor<1x1x5x5xf32> -> tensor<1x1x4x4xf32>
// CHECK: expected result shape 1x1x3x3, got 1x1x4x4

// -----

%x = "test.op"() : () -> tensor<1x4xf32>
%y = dnn.global_pool avg %x : tensor<1x4xf32> -> tensor<1x4xf32>
// CHECK: expected an input of rank >= 3, got rank 2

// -----

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.global_pool max %x : tensor<1x4x8x8xf32> -> tensor<1x4xf32>
// CHECK: expected result shape 1x4x1x1, got 1x4

// -----

// dnn.dense

%x, %w = "test.op"() : () -> (tensor<2x4xf32>, tensor<5x10xf32>)
%y = dnn.dense %x, %w : (tensor<2x4xf32>, tensor<5x10xf32>) -> tensor<2x10xf32>
// CHECK: inner dimensions differ: 4 != 5

// -----

// trans_b expects the weight as [N, K].
%x, %w = "test.op"() : () -> (tensor<2x4xf32>, tensor<4x10xf32>)
%y = dnn.dense %x, %w trans_b : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x4xf32>
// CHECK: inner dimensions differ: 4 != 10

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4xf32>, tensor<4x10xf32>)
%y = dnn.dense %x, %w : (tensor<1x2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
// CHECK: expected 2-D operands, got ranks 3 and 2

// -----

%x, %w, %b = "test.op"() : () -> (tensor<2x4xf32>, tensor<4x10xf32>, tensor<1x2x10xf32>)
%y = dnn.dense %x, %w, %b : (tensor<2x4xf32>, tensor<4x10xf32>, tensor<1x2x10xf32>) -> tensor<2x10xf32>
// CHECK: bias of shape [1, 2, 10] does not broadcast to [2, 10]

// -----

%x, %w, %b = "test.op"() : () -> (tensor<2x4xf32>, tensor<4x10xf32>, tensor<3x10xf32>)
%y = dnn.dense %x, %w, %b : (tensor<2x4xf32>, tensor<4x10xf32>, tensor<3x10xf32>) -> tensor<2x10xf32>
// CHECK: shapes [[3, 10], [2, 10]] do not broadcast

// -----

%x, %w = "test.op"() : () -> (tensor<2x4xf32>, tensor<4x10xf32>)
%y = dnn.dense %x, %w trans_a : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
// CHECK: inner dimensions differ: 2 != 4

// -----

// dnn.matmul

%a, %b = "test.op"() : () -> (tensor<2x4xf32>, tensor<3x5xf32>)
%y = dnn.matmul %a, %b : (tensor<2x4xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
// CHECK: inner dimensions differ: 4 != 3

// -----

%a, %b = "test.op"() : () -> (tensor<2x3x4xf32>, tensor<5x4x6xf32>)
%y = dnn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x3x6xf32>
// CHECK: shapes [[2], [5]] do not broadcast

// -----

%a, %b = "test.op"() : () -> (tensor<f32>, tensor<4xf32>)
%y = dnn.matmul %a, %b : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: matmul operands must have rank >= 1

// -----

%a = "test.op"() : () -> tensor<4xf32>
%y = dnn.matmul %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<1xf32>
// CHECK: expected result shape scalar, got 1

// -----

// dnn.add, dnn.sub, dnn.mul, dnn.div, dnn.sum

%a, %b = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<3xf32>)
%y = dnn.add %a, %b : (tensor<1x4x8x8xf32>, tensor<3xf32>) -> tensor<1x4x8x8xf32>
// CHECK: shapes [[1, 4, 8, 8], [3]] do not broadcast

// -----

%a, %b = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>)
%y = dnn.add %a, %b act #dnn.act<relu> : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<4x8x8xf32>
// CHECK: expected result shape 1x4x8x8, got 4x8x8

// -----

%a, %b = "test.op"() : () -> (tensor<2x3xf32>, tensor<3xf32>)
%y = dnn.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK: expected result shape 2x3, got 3

// -----

%a, %b = "test.op"() : () -> (tensor<2x1xf32>, tensor<3xf32>)
%y = dnn.mul %a, %b : (tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x1xf32>
// CHECK: expected result shape 2x3, got 2x1

// -----

%a, %b = "test.op"() : () -> (tensor<2x3xf32>, tensor<2xf32>)
%y = dnn.div %a, %b : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
// CHECK: shapes [[2, 3], [2]] do not broadcast

// -----

%a, %b = "test.op"() : () -> (tensor<2x3xf32>, tensor<4x1x3xf32>)
%y = dnn.sum %a, %b, %a : (tensor<2x3xf32>, tensor<4x1x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: expected result shape 4x2x3, got 2x3

// -----

%y = "dnn.sum"() : () -> tensor<4xf32>
// CHECK: dnn.sum needs at least one input

// -----

// dnn.relu, dnn.sigmoid, dnn.tanh, dnn.clip, dnn.leaky_relu, dnn.softmax

%x = "test.op"() : () -> tensor<4xf32>
%y = "dnn.relu"(%x) : (tensor<4xf32>) -> tensor<5xf32>
// CHECK: attribute tensor<4xf32> expected from variable 'T', but got tensor<5xf32>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = "dnn.sigmoid"(%x) : (tensor<4xf32>) -> tensor<4xf16>
// CHECK: attribute tensor<4xf32> expected from variable 'T', but got tensor<4xf16>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = "dnn.tanh"(%x) : (tensor<4xf32>) -> tensor<2x2xf32>
// CHECK: attribute tensor<4xf32> expected from variable 'T', but got tensor<2x2xf32>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.clip %x lo 6.0 hi 0.0 : tensor<4xf32>
// CHECK: clip bounds must satisfy lo <= hi, got 6.0 > 0.0

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = "dnn.leaky_relu"(%x) <{alpha = 0.1 : f64}> : (tensor<4xf32>) -> tensor<8xf32>
// CHECK: attribute tensor<4xf32> expected from variable 'T', but got tensor<8xf32>

// -----

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.softmax %x axis 4 : tensor<1x4x8x8xf32>
// CHECK: axis 4 out of range for rank 4

// -----

%x = "test.op"() : () -> tensor<1x4x8x8xf32>
%y = dnn.softmax %x axis -5 : tensor<1x4x8x8xf32>
// CHECK: axis -5 out of range for rank 4

// -----

// dnn.batchnorm

%x, %s, %b, %m, %v = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
%y = dnn.batchnorm %x, %s, %b, %m, %v : (tensor<1x4x8x8xf32>, tensor<3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK: 'scale' must have shape 4 (channels), got [3]

// -----

%x, %s, %v = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<1x4xf32>)
%y = dnn.batchnorm %x, %s, %s, %s, %v : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1x4xf32>) -> tensor<1x4x8x8xf32>
// CHECK: 'var' must have shape 4 (channels), got [1, 4]

// -----

%x, %s = "test.op"() : () -> (tensor<4xf32>, tensor<4xf32>)
%y = dnn.batchnorm %x, %s, %s, %s, %s : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: expected an input of rank >= 2, got rank 1

// -----

%x, %s = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<4xf32>)
%y = dnn.batchnorm %x, %s, %s, %s, %s : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
// CHECK: expected result shape 1x4x8x8, got 1x4x4x4

// -----

// dnn.concat, dnn.reshape, dnn.flatten, dnn.transpose

%a, %b = "test.op"() : () -> (tensor<1x4x2x2xf32>, tensor<1x4x3x2xf32>)
%y = dnn.concat %a, %b axis 1 : (tensor<1x4x2x2xf32>, tensor<1x4x3x2xf32>) -> tensor<1x8x2x2xf32>
// CHECK: inputs [[1, 4, 2, 2], [1, 4, 3, 2]] differ outside the concat axis 1

// -----

%a, %b = "test.op"() : () -> (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>)
%y = dnn.concat %a, %b axis 1 : (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>) -> tensor<1x8x2x2xf32>
// CHECK: inputs [[1, 4, 2, 2], [1, 4, 2]] differ outside the concat axis 1

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.concat %a, %a axis -5 : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<2x4x2x2xf32>
// CHECK: axis -5 out of range for rank 4

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.concat %a, %a axis -3 : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<2x4x2x2xf32>
// CHECK: expected result shape 1x8x2x2, got 2x4x2x2

// -----

%y = "dnn.concat"() <{axis = 0 : i64}> : () -> tensor<4xf32>
// CHECK: dnn.concat needs at least one input

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.reshape %a : tensor<1x4x2x2xf32> -> tensor<1x15xf32>
// CHECK: reshape changes the element count: [1, 4, 2, 2] (16) -> [1, 15] (15)

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.flatten %a axis 5 : tensor<1x4x2x2xf32> -> tensor<16x1xf32>
// CHECK: axis 5 out of range for rank 4

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.flatten %a axis -5 : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
// CHECK: axis -5 out of range for rank 4

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.flatten %a axis 2 : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
// CHECK: expected result shape 4x4, got 1x16

// -----

%a = "test.op"() : () -> tensor<1x4x2x2xf32>
%y = dnn.transpose %a perm [0, 1, 1, 3] : tensor<1x4x2x2xf32> -> tensor<1x4x4x2xf32>
// CHECK: perm [0, 1, 1, 3] is not a permutation of 0..3

// -----

%a = "test.op"() : () -> tensor<1x4x2x3xf32>
%y = dnn.transpose %a perm [0, 2, 3, 1] : tensor<1x4x2x3xf32> -> tensor<1x3x2x4xf32>
// CHECK: expected result shape 1x2x3x4, got 1x3x2x4

// -----

// dnn.lstm, dnn.gru, dnn.rnn

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x12x3xf32>, tensor<1x16x4xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x12x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: 'w' must have shape [1, 16, 3], got [1, 12, 3]

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: X must be [seq, batch, input], got [5, 3]

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x0x3xf32>, tensor<1x0x0xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R {hidden_size = 0 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x0x3xf32>, tensor<1x0x0xf32>) -> (tensor<5x1x2x0xf32>, tensor<1x2x0xf32>, tensor<1x2x0xf32>)
// CHECK: hidden_size must be positive, got 0

// -----

%X, %W, %R, %C = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>, tensor<1x2x4xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R c0 %C {hidden_size = 4 : i64, direction = #dnn<direction bidirectional>} : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32> c0 tensor<1x2x4xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK: 'initial_c' must have shape [2, 2, 4], got [1, 2, 4]

// -----

%X, %W, %R, %P = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>, tensor<1x16xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R peepholes %P {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32> peepholes tensor<1x16xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: 'p' must have shape [1, 12], got [1, 16]

// -----

%X, %W, %R, %L = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>, tensor<2xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R seq_lens %L {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32> seq_lens tensor<2xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: 'sequence_lens' must hold integers (ONNX: int32), got f32

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R {hidden_size = 4 : i64, direction = #dnn<direction forward>, activations = ["Sigmoid", "Tanh"]} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK: expected 3 activations, got 2

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>)
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<2x2x4xf32>)
// CHECK: expected result shape 1x2x4, got 2x2x4

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<2x9x3xf32>, tensor<2x9x4xf32>)
%Y, %Yh = dnn.gru %X, %W, %R {hidden_size = 3 : i64, direction = #dnn<direction bidirectional>} : (tensor<5x2x3xf32>, tensor<2x9x3xf32>, tensor<2x9x4xf32>) -> (tensor<5x2x2x3xf32>, tensor<2x2x3xf32>)
// CHECK: 'r' must have shape [2, 9, 3], got [2, 9, 4]

// -----

%X, %W, %R, %B = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32>, tensor<1x9xf32>)
%Y, %Yh = dnn.gru %X, %W, %R bias %B {hidden_size = 3 : i64, direction = #dnn<direction reverse>} : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32> bias tensor<1x9xf32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)
// CHECK: 'b' must have shape [1, 18], got [1, 9]

// -----

// Bidirectional layers take one list of activations per direction.
%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<2x9x3xf32>, tensor<2x9x3xf32>)
%Y, %Yh = dnn.gru %X, %W, %R {hidden_size = 3 : i64, direction = #dnn<direction bidirectional>, activations = ["Sigmoid", "Tanh"]} : (tensor<5x2x3xf32>, tensor<2x9x3xf32>, tensor<2x9x3xf32>) -> (tensor<5x2x2x3xf32>, tensor<2x2x3xf32>)
// CHECK: expected 4 activations, got 2

// -----

%X, %W, %R, %H = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x6x3xf32>, tensor<1x6x6xf32>, tensor<1x1x6xf32>)
%Y, %Yh = dnn.rnn %X, %W, %R h0 %H {hidden_size = 6 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x6x3xf32>, tensor<1x6x6xf32> h0 tensor<1x1x6xf32>) -> (tensor<5x1x2x6xf32>, tensor<1x2x6xf32>)
// CHECK: 'initial_h' must have shape [1, 2, 6], got [1, 1, 6]

// -----

%X, %W, %R = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<1x6x3xf32>, tensor<1x6x6xf32>)
%Y, %Yh = dnn.rnn %X, %W, %R {hidden_size = 6 : i64, direction = #dnn<direction reverse>} : (tensor<5x2x3xf32>, tensor<1x6x3xf32>, tensor<1x6x6xf32>) -> (tensor<5x2x6xf32>, tensor<1x2x6xf32>)
// CHECK: expected result shape 5x1x2x6, got 5x2x6

// -----

// dnn.host

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.host ""(%x) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: host op type must not be empty

// -----

%x = "test.op"() : () -> tensor<4xf32>
dnn.host "Print"(%x) : (tensor<4xf32>) -> ()
// CHECK: a host op must produce at least one result

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.host "Foo"(%x) attrs {t = dense<1.0> : tensor<2xf32>} : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: unsupported host attribute dense<1.000000e+00> : tensor<2xf32>
