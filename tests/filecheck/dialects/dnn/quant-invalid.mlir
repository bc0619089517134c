// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// Verifier errors of the int8 fixed-point forms (docs/quantization.md), one per chunk.

// #dnn.fixed, dnn.quantize, dnn.dequantize

%x = "test.op"() : () -> tensor<4xi16, #dnn.fixed<3>>
%y = dnn.relu %x : tensor<4xi16, #dnn.fixed<3>>
// CHECK: #dnn.fixed applies to i8 tensors, got tensor<4xi16, #dnn.fixed<3>>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%q = dnn.quantize %x : tensor<4xf32> -> tensor<4xi8>
// CHECK: result must be an int8 fixed-point tensor, got tensor<4xi8>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%q = dnn.quantize %x : tensor<4xf32> -> tensor<5xi8, #dnn.fixed<2>>
// CHECK: expected result shape 4, got 5

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.dequantize %x : tensor<4xf32> -> tensor<4xf32>
// CHECK: input must be an int8 fixed-point tensor, got tensor<4xf32>

// -----

%x = "test.op"() : () -> tensor<4xf32>
%y = dnn.requantize %x : tensor<4xf32> -> tensor<4xi8, #dnn.fixed<2>>
// CHECK: input must be an int8 fixed-point tensor, got tensor<4xf32>

// -----

%x = "test.op"() : () -> tensor<4xi8, #dnn.fixed<3>>
%y = dnn.requantize %x : tensor<4xi8, #dnn.fixed<3>> -> tensor<4xf32>
// CHECK: result must be an int8 fixed-point tensor, got tensor<4xf32>

// -----

%x = "test.op"() : () -> tensor<4xi8, #dnn.fixed<3>>
%y = dnn.requantize %x : tensor<4xi8, #dnn.fixed<3>> -> tensor<2x2xi8, #dnn.fixed<2>>
// CHECK: expected result shape 4, got 2x2

// -----

// dnn.conv2d

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xf32>
// CHECK: operands and result must be all int8 fixed-point or all not, got tensor<1x3x4x4xf32> among #dnn.fixed tensors

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: int8 fixed-point dnn.conv2d needs 'shift'

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7, 7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: 'shift' must have 1 or 3 (output channels) entries, got 2

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7, 64, 7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: 'shift' must be in 0..63, got 64

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [-1] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: 'shift' must be in 0..63, got -1

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7] : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xf32>
// CHECK: 'shift' applies to int8 fixed-point dnn.conv2d only

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xf32>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: int8 fixed-point dnn.conv2d needs a plain i8 weight, got tensor<3x2x1x1xf32>

// -----

%x, %w, %b = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>, tensor<3xi8>)
%y = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>, tensor<3xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: int8 fixed-point dnn.conv2d needs an i32 bias (at the accumulator's scale), got tensor<3xi8>

// -----

// Fused activations on int8 outputs

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<sigmoid> shift [7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: #dnn.act<sigmoid> cannot be fused into an int8 fixed-point op (it is a separate dnn.sigmoid lookup table)

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<clip -1.0 1.0> shift [7] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<3>>
// CHECK: an int8 fixed-point op realises clip as RELU6, which needs lo = 0, got clip -1.0 1.0

// -----

%x, %w = "test.op"() : () -> (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>)
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<clip 0.0 6.0> shift [0] : (tensor<1x2x4x4xi8, #dnn.fixed<4>>, tensor<3x2x1x1xi8>) -> tensor<1x3x4x4xi8, #dnn.fixed<6>>
// CHECK: RELU6 act_arg = round(6.0 * 2**6) = 384 exceeds 255

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.add %a, %a act #dnn.act<leaky_relu 1.5> shift 0 : (tensor<4xi8, #dnn.fixed<4>>, tensor<4xi8, #dnn.fixed<4>>) -> tensor<4xi8, #dnn.fixed<4>>
// CHECK: LEAKY act_arg = round(1.5 * 256) = 384 is outside 0..255

// -----

// dnn.add, dnn.mul

%a, %b = "test.op"() : () -> (tensor<4xi8, #dnn.fixed<5>>, tensor<4xi8, #dnn.fixed<4>>)
%y = dnn.add %a, %b shift 1 : (tensor<4xi8, #dnn.fixed<5>>, tensor<4xi8, #dnn.fixed<4>>) -> tensor<4xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.add needs Fa + shift_a == Fb + shift_b == Fy + shift, got 5 + 0, 4 + 0, 4 + 1

// -----

%a, %b = "test.op"() : () -> (tensor<4xi8, #dnn.fixed<4>>, tensor<1xi8, #dnn.fixed<4>>)
%y = dnn.add %a, %b shift 0 : (tensor<4xi8, #dnn.fixed<4>>, tensor<1xi8, #dnn.fixed<4>>) -> tensor<4xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.add needs equal shapes (or rhs [1, C, 1, 1] of an image), got {{\[\[}}4], [1], [4]]

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.add %a, %a : (tensor<4xi8, #dnn.fixed<4>>, tensor<4xi8, #dnn.fixed<4>>) -> tensor<4xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.add needs 'shift'

// -----

%a = "test.op"() : () -> tensor<4xf32>
%y = dnn.add %a, %a shift_a 1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: 'shift_a' applies to int8 fixed-point dnn.add only

// -----

%a, %b = "test.op"() : () -> (tensor<4xi8, #dnn.fixed<6>>, tensor<4xi8, #dnn.fixed<7>>)
%y = dnn.mul %a, %b shift 6 : (tensor<4xi8, #dnn.fixed<6>>, tensor<4xi8, #dnn.fixed<7>>) -> tensor<4xi8, #dnn.fixed<6>>
// CHECK: int8 fixed-point dnn.mul needs Fa + shift_a + Fb + shift_b == Fy + shift, got 6 + 0 + 7 + 0 != 6 + 6

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.mul %a, %a shift_b 64 shift 0 : (tensor<4xi8, #dnn.fixed<4>>, tensor<4xi8, #dnn.fixed<4>>) -> tensor<4xi8, #dnn.fixed<4>>
// CHECK: 'shift_b' must be in 0..63, got 64

// -----

// dnn.dense

%x, %w = "test.op"() : () -> (tensor<1x4xi8, #dnn.fixed<4>>, tensor<2x4xi8>)
%y = dnn.dense %x, %w trans_b alpha 0.5 shift [3] : (tensor<1x4xi8, #dnn.fixed<4>>, tensor<2x4xi8>) -> tensor<1x2xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.dense computes x @ W + b: no trans_a, alpha = beta = 1 (the quantizer folds them into the weights)

// -----

%x, %w, %b = "test.op"() : () -> (tensor<1x4xi8, #dnn.fixed<4>>, tensor<2x4xi8>, tensor<1x2xi32>)
%y = dnn.dense %x, %w, %b trans_b shift [3] : (tensor<1x4xi8, #dnn.fixed<4>>, tensor<2x4xi8>, tensor<1x2xi32>) -> tensor<1x2xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.dense needs a bias of shape [2], got [1, 2]

// -----

// dnn.pool2d, dnn.global_pool

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x2x2xi8, #dnn.fixed<5>>
// CHECK: int8 fixed-point dnn.pool2d needs one exponent for its inputs and result, got #dnn.fixed<4> ... #dnn.fixed<5> ([4, 5])

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] avg_mul 1 avg_shift 2 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x2x2xi8, #dnn.fixed<4>>
// CHECK: 'avg_mul' applies to int8 average pooling only

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.pool2d avg %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] avg_mul 7282 avg_shift 16 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
// CHECK: int8 average pooling divides by the whole window: padding must count (count_include_pad) or pads must be 0

// -----

%x = "test.op"() : () -> tensor<1x2x5x5xi8, #dnn.fixed<4>>
%y = dnn.pool2d avg %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] ceil_mode avg_mul 16384 avg_shift 16 : tensor<1x2x5x5xi8, #dnn.fixed<4>> -> tensor<1x2x3x3xi8, #dnn.fixed<4>>
// CHECK: int8 average pooling divides by the whole window, which a ceil_mode window reaching past the padding does not cover

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.pool2d avg %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] count_include_pad avg_mul 7000 avg_shift 16 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
// CHECK: 'avg_mul' must be round(2**(16 + 4 - 4) / 9) = 7282, got 7000

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.global_pool avg %x avg_mul 4096 avg_shift 64 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x1x1xi8, #dnn.fixed<4>>
// CHECK: 'avg_shift' must be in 0..63, got 64

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.global_pool avg %x avg_mul 4096 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x1x1xi8, #dnn.fixed<6>>
// CHECK: int8 fixed-point dnn.global_pool needs 'avg_shift'

// -----

%x = "test.op"() : () -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
%y = dnn.global_pool avg %x avg_mul 8192 avg_shift 16 : tensor<1x2x4x4xi8, #dnn.fixed<4>> -> tensor<1x2x1x1xi8, #dnn.fixed<6>>
// CHECK: 'avg_mul' must be round(2**(16 + 6 - 4) / 16) = 16384, got 8192

// -----

// Exact ops share one exponent; lookup tables need ACT's exponent range.

%a, %b = "test.op"() : () -> (tensor<1x2xi8, #dnn.fixed<4>>, tensor<1x2xi8, #dnn.fixed<3>>)
%y = dnn.concat %a, %b axis 1 : (tensor<1x2xi8, #dnn.fixed<4>>, tensor<1x2xi8, #dnn.fixed<3>>) -> tensor<1x4xi8, #dnn.fixed<3>>
// CHECK: int8 fixed-point dnn.concat needs one exponent for its inputs and result, got #dnn.fixed<4> ... #dnn.fixed<3> ([4, 3, 3])

// -----

%a = "test.op"() : () -> tensor<1x2xi8, #dnn.fixed<4>>
%y = dnn.reshape %a : tensor<1x2xi8, #dnn.fixed<4>> -> tensor<2xi8, #dnn.fixed<2>>
// CHECK: int8 fixed-point dnn.reshape needs one exponent for its inputs and result

// -----

%a = "test.op"() : () -> tensor<1x2xi8, #dnn.fixed<4>>
%y = dnn.flatten %a : tensor<1x2xi8, #dnn.fixed<4>> -> tensor<1x2xf32>
// CHECK: operands and result must be all int8 fixed-point or all not, got tensor<1x2xf32> among #dnn.fixed tensors

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<40>>
%y = dnn.tanh %a : tensor<4xi8, #dnn.fixed<40>> -> tensor<4xi8, #dnn.fixed<7>>
// CHECK: int8 fixed-point dnn.tanh needs exponents in -32..31 (ACT in_frac/out_frac), got 40

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.sigmoid %a : tensor<4xi8, #dnn.fixed<4>> -> tensor<2x2xi8, #dnn.fixed<7>>
// CHECK: result shape [2, 2] differs from input shape [4]

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.hardsigmoid %a : tensor<4xi8, #dnn.fixed<4>> -> tensor<4xi8, #dnn.fixed<40>>
// CHECK: int8 fixed-point dnn.hardsigmoid needs exponents in {{.*}} (ACT in_frac/out_frac), got 40

// -----

%a = "test.op"() : () -> tensor<4xf32>
%y = dnn.sigmoid %a : tensor<4xf32> -> tensor<4xf16>
// CHECK: attribute tensor<4xf32> expected from variable 'T', but got tensor<4xf16>

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.hardswish %a : tensor<4xi8, #dnn.fixed<4>> -> tensor<4xi8, #dnn.fixed<-40>>
// CHECK: int8 fixed-point dnn.hardswish needs exponents in {{.*}} (ACT in_frac/out_frac), got -40

// -----

%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4>>
%y = dnn.silu %a : tensor<4xi8, #dnn.fixed<4>> -> tensor<4xi8, #dnn.fixed<40>>
// CHECK: int8 fixed-point dnn.silu needs exponents in {{.*}} (ACT in_frac/out_frac), got 40

// -----

// A zero point is an int8 code.
%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4, 128>>
// CHECK: a zero point is an int8, got 128

// -----

// Exact ops keep the zero point as they keep the exponent.
%a = "test.op"() : () -> tensor<4xi8, #dnn.fixed<4, -10>>
%y = dnn.reshape %a : tensor<4xi8, #dnn.fixed<4, -10>> -> tensor<2x2xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.reshape needs one zero point for its inputs and result, got [-10, 0]

// -----

%x = "test.op"() : () -> tensor<1x3x4x4xi8, #dnn.fixed<5>>
%w = "test.op"() : () -> tensor<2x3x1x1xi8>
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [20] mul [7] : (tensor<1x3x4x4xi8, #dnn.fixed<5>>, tensor<2x3x1x1xi8>) -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
// CHECK: 'mul' must have 2 (output channels) entries, got 1

// -----

%x = "test.op"() : () -> tensor<1x3x4x4xi8, #dnn.fixed<5>>
%w = "test.op"() : () -> tensor<2x3x1x1xi8>
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [20] mul [7, 16777216] : (tensor<1x3x4x4xi8, #dnn.fixed<5>>, tensor<2x3x1x1xi8>) -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
// CHECK: 'mul' must be in 1..16777215, got 16777216

// -----

%x = "test.op"() : () -> tensor<1x3x4x4xi8, #dnn.fixed<5>>
%w = "test.op"() : () -> tensor<2x3x1x1xi8>
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [20, 21] mul [7, 9] : (tensor<1x3x4x4xi8, #dnn.fixed<5>>, tensor<2x3x1x1xi8>) -> tensor<1x2x4x4xi8, #dnn.fixed<4>>
// CHECK: with 'mul' the layer has one 'shift'

// -----

%x = "test.op"() : () -> tensor<1x3x4x4xf32>
%w = "test.op"() : () -> tensor<2x3x1x1xf32>
%y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] mul [7, 9] : (tensor<1x3x4x4xf32>, tensor<2x3x1x1xf32>) -> tensor<1x2x4x4xf32>
// CHECK: 'mul' applies to int8 fixed-point dnn.conv2d only
