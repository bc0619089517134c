// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// Verifier errors of the transformer ops, one per chunk.

%x = "test.op"() : () -> tensor<4x16xf32>
%y = dnn.gelu %x : tensor<4x16xf32> -> tensor<4x8xf32>
// CHECK: result type tensor<4x8xf32> differs from input type tensor<4x16xf32>

// -----

%q = "test.op"() : () -> tensor<4x16xi8, #dnn.fixed<4>>
%y = dnn.gelu %q : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<40>>
// CHECK: int8 fixed-point dnn.gelu needs exponents in -32..31, got 40

// -----

%q = "test.op"() : () -> tensor<4x16xi8, #dnn.fixed<4>>
%y = dnn.softmax %q axis 0 : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<7>>
// CHECK: int8 fixed-point dnn.softmax works along the last axis, got axis 0

// -----

%x, %g = "test.op"() : () -> (tensor<4x16xf32>, tensor<8xf32>)
%y = dnn.layer_norm %x, %g : (tensor<4x16xf32>, tensor<8xf32>) -> tensor<4x16xf32>
// CHECK: 'scale' of shape [8] does not broadcast to the normalized shape [16]

// -----

%q, %g = "test.op"() : () -> (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>)
%y = dnn.layer_norm %q, %g : (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>) -> tensor<4x16xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.layer_norm needs 'shift'

// -----

%a, %b = "test.op"() : () -> (tensor<2x3xi8, #dnn.fixed<5>>, tensor<3x2xi8, #dnn.fixed<5>>)
%y = dnn.matmul %a, %b shift 3 : (tensor<2x3xi8, #dnn.fixed<5>>, tensor<3x2xi8, #dnn.fixed<5>>) -> tensor<2x2xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.matmul needs Fa + Fb == Fy + shift, got 5 + 5 != 4 + 3

// -----

%a, %b = "test.op"() : () -> (tensor<2x3xf32>, tensor<3x2xf32>)
%y = dnn.matmul %a, %b shift 3 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
// CHECK: 'shift' applies to int8 fixed-point dnn.matmul only

// -----

// The transformer's integer kernels take symmetric codes only.
%a = "test.op"() : () -> tensor<2x3xi8, #dnn.fixed<5, -20>>
%b = "test.op"() : () -> tensor<3x2xi8, #dnn.fixed<5>>
%y = dnn.matmul %a, %b shift 6 : (tensor<2x3xi8, #dnn.fixed<5, -20>>, tensor<3x2xi8, #dnn.fixed<5>>) -> tensor<2x2xi8, #dnn.fixed<4>>
// CHECK: int8 fixed-point dnn.matmul takes no zero point, got tensor<2x3xi8, #dnn.fixed<5, -20>>

// -----

%x = "test.op"() : () -> tensor<4x16xi8, #dnn.fixed<4, 3>>
%y = dnn.softmax %x axis 1 : tensor<4x16xi8, #dnn.fixed<4, 3>> -> tensor<4x16xi8, #dnn.fixed<7>>
// CHECK: int8 fixed-point dnn.softmax takes no zero point, got tensor<4x16xi8, #dnn.fixed<4, 3>>
