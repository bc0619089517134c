// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// The transformer ops (docs/quantization.md, "Transformers"): float and int8 forms.

%x, %g, %b = "test.op"() : () -> (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>)
%q, %gq, %bq = "test.op"() : () -> (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>, tensor<16xi32>)
%a, %k = "test.op"() : () -> (tensor<2x3x4xi8, #dnn.fixed<5>>, tensor<2x4x5xi8, #dnn.fixed<6>>)
%ge = dnn.gelu %x : tensor<4x16xf32>
%geq = dnn.gelu %q : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<5>>
%smq = dnn.softmax %q axis -1 : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<7>>
%ln = dnn.layer_norm %x, %g, %b epsilon 1.000000e-06 : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
%ln2 = dnn.layer_norm %x, %g axis 1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
%lnq = dnn.layer_norm %q, %gq, %bq shift 14 : (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>, tensor<16xi32>) -> tensor<4x16xi8, #dnn.fixed<4>>
%mm = dnn.matmul %a, %k shift 9 : (tensor<2x3x4xi8, #dnn.fixed<5>>, tensor<2x4x5xi8, #dnn.fixed<6>>) -> tensor<2x3x5xi8, #dnn.fixed<2>>

// CHECK:      %ge = dnn.gelu %x : tensor<4x16xf32>
// CHECK-NEXT: %geq = dnn.gelu %q : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<5>>
// CHECK-NEXT: %smq = dnn.softmax %q axis -1 : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<7>>
// CHECK-NEXT: %ln = dnn.layer_norm %x, %g, %b epsilon 1.000000e-06 : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %ln2 = dnn.layer_norm %x, %g axis 1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %lnq = dnn.layer_norm %q, %gq, %bq shift 14 : (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>, tensor<16xi32>) -> tensor<4x16xi8, #dnn.fixed<4>>
// CHECK-NEXT: %mm = dnn.matmul %a, %k shift 9 : (tensor<2x3x4xi8, #dnn.fixed<5>>, tensor<2x4x5xi8, #dnn.fixed<6>>) -> tensor<2x3x5xi8, #dnn.fixed<2>>

// CHECK-GENERIC:      %ge = "dnn.gelu"(%x) : (tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-GENERIC-NEXT: %geq = "dnn.gelu"(%q) : (tensor<4x16xi8, #dnn.fixed<4>>) -> tensor<4x16xi8, #dnn.fixed<5>>
// CHECK-GENERIC-NEXT: %smq = "dnn.softmax"(%q) <{axis = -1 : i64}> : (tensor<4x16xi8, #dnn.fixed<4>>) -> tensor<4x16xi8, #dnn.fixed<7>>
// CHECK-GENERIC-NEXT: %ln = "dnn.layer_norm"(%x, %g, %b) <{epsilon = 1.000000e-06 : f64, axis = -1 : i64}> : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-GENERIC-NEXT: %ln2 = "dnn.layer_norm"(%x, %g) <{axis = 1 : i64, epsilon = 1.000000e-05 : f64}> : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-GENERIC-NEXT: %lnq = "dnn.layer_norm"(%q, %gq, %bq) <{shift = 14 : i64, axis = -1 : i64, epsilon = 1.000000e-05 : f64}> : (tensor<4x16xi8, #dnn.fixed<4>>, tensor<16xi8>, tensor<16xi32>) -> tensor<4x16xi8, #dnn.fixed<4>>
// CHECK-GENERIC-NEXT: %mm = "dnn.matmul"(%a, %k) <{shift = 9 : i64}> : (tensor<2x3x4xi8, #dnn.fixed<5>>, tensor<2x4x5xi8, #dnn.fixed<6>>) -> tensor<2x3x5xi8, #dnn.fixed<2>>
