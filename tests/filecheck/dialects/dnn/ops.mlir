// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// Every dnn op in its custom syntax, printed back after a round trip through the generic
// form (CHECK) and in the generic form itself (CHECK-GENERIC), with every optional part.

// weights, constants, #dnn.act

%w = dnn.weight "conv1.weight" : tensor<8x3x3x3xf32>
%w2 = dnn.weight "fc.w" {origin = "onnx"} : tensor<10x4xf32>
%c = dnn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
%c2 = dnn.constant dense<5.000000e-01> : tensor<2x2xf32> {tag}
"test.op"() {a = #dnn.act<relu>, b = #dnn.act<clip 0.0 6.0>, c = #dnn.act<leaky_relu 0.1>, d = #dnn.act<sigmoid>, e = #dnn.act<tanh>} : () -> ()
// Integers are accepted and printed as floats; a float printed with an exponent still parses.
"test.op"() {f = #dnn.act<clip -1 6>, g = #dnn.act<leaky_relu 1.0e-05>, h = #dnn.act<clip -2.5e+20 2.5e+20>} : () -> ()

// CHECK:      %w = dnn.weight "conv1.weight" : tensor<8x3x3x3xf32>
// CHECK-NEXT: %w2 = dnn.weight "fc.w" {origin = "onnx"} : tensor<10x4xf32>
// CHECK-NEXT: %c = dnn.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: %c2 = dnn.constant dense<5.000000e-01> : tensor<2x2xf32> {tag}
// CHECK-NEXT: "test.op"() {a = #dnn.act<relu>, b = #dnn.act<clip 0.0 6.0>, c = #dnn.act<leaky_relu 0.1>, d = #dnn.act<sigmoid>, e = #dnn.act<tanh>} : () -> ()
// CHECK-NEXT: "test.op"() {f = #dnn.act<clip -1.0 6.0>, g = #dnn.act<leaky_relu 1.0e-05>, h = #dnn.act<clip -2.5e+20 2.5e+20>} : () -> ()

// CHECK-GENERIC:      %w = "dnn.weight"() <{sym = "conv1.weight"}> : () -> tensor<8x3x3x3xf32>
// CHECK-GENERIC-NEXT: %w2 = "dnn.weight"() <{sym = "fc.w"}> {origin = "onnx"} : () -> tensor<10x4xf32>
// CHECK-GENERIC-NEXT: %c = "dnn.constant"() <{value = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>}> : () -> tensor<2xf32>
// CHECK-GENERIC-NEXT: %c2 = "dnn.constant"() <{value = dense<5.000000e-01> : tensor<2x2xf32>}> {tag} : () -> tensor<2x2xf32>
// CHECK-GENERIC-NEXT: "test.op"() {a = #dnn.act<relu>, b = #dnn.act<clip 0.0 6.0>, c = #dnn.act<leaky_relu 0.1>, d = #dnn.act<sigmoid>, e = #dnn.act<tanh>} : () -> ()
// CHECK-GENERIC-NEXT: "test.op"() {f = #dnn.act<clip -1.0 6.0>, g = #dnn.act<leaky_relu 1.0e-05>, h = #dnn.act<clip -2.5e+20 2.5e+20>} : () -> ()

// -----

// conv2d

%x, %w, %b, %x4, %wg, %wd = "test.op"() : () -> (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<4x1x3x3xf32>)
%c0 = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
%c1 = dnn.conv2d %x, %w strides [2, 2] pads [0, 1, 1, 0] dilations [1, 1] act #dnn.act<clip 0.0 6.0> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x4x4xf32>
%c2 = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [2, 2] act #dnn.act<relu> {tag = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
%c3 = dnn.conv2d %x4, %wg strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x6x6xf32>
%c4 = dnn.conv2d %x4, %wd strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] group 4 act #dnn.act<leaky_relu 0.2> : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
// `group 1` is the default: accepted, and elided when printing.
%c5 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 1 : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>

// CHECK:      %c0 = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CHECK-NEXT: %c1 = dnn.conv2d %x, %w strides [2, 2] pads [0, 1, 1, 0] dilations [1, 1] act #dnn.act<clip 0.0 6.0> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT: %c2 = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [2, 2] act #dnn.act<relu> {tag = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT: %c3 = dnn.conv2d %x4, %wg strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] group 2 : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK-NEXT: %c4 = dnn.conv2d %x4, %wd strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] group 4 act #dnn.act<leaky_relu 0.2> : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %c5 = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>

// CHECK-GENERIC:      %c0 = "dnn.conv2d"(%x, %w, %b) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CHECK-GENERIC-NEXT: %c1 = "dnn.conv2d"(%x, %w) <{strides = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, dilations = array<i64: 1, 1>, act = #dnn.act<clip 0.0 6.0>, group = 1 : i64}> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x4x4xf32>
// CHECK-GENERIC-NEXT: %c2 = "dnn.conv2d"(%x, %w, %b) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, act = #dnn.act<relu>, group = 1 : i64}> {tag = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CHECK-GENERIC-NEXT: %c3 = "dnn.conv2d"(%x4, %wg) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x6x6xf32>
// CHECK-GENERIC-NEXT: %c4 = "dnn.conv2d"(%x4, %wd) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64, act = #dnn.act<leaky_relu 0.2>}> : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %c5 = "dnn.conv2d"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>

// -----

// pooling

%x, %y = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<1x1x5x5xf32>)
%p0 = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
%p1 = dnn.pool2d avg %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] count_include_pad : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
%p2 = dnn.pool2d max %x kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
%p3 = dnn.pool2d max %x kernel [2, 2] strides [1, 1] pads [0, 0, 0, 0] dilations [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x6x6xf32>
%p4 = dnn.pool2d avg %x kernel [2, 2] strides [2, 2] pads [1, 0, 1, 0] dilations [1, 2] ceil_mode count_include_pad {tag} : tensor<1x4x8x8xf32> -> tensor<1x4x5x4xf32>
// ceil_mode drops the last window when it would start in the trailing padding: 3, not 4.
%p5 = dnn.pool2d max %y kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
%g0 = dnn.global_pool avg %x : tensor<1x4x8x8xf32> -> tensor<1x4x1x1xf32>
%g1 = dnn.global_pool max %x : tensor<1x4x8x8xf32> -> tensor<1x4x1x1xf32>
%z = "test.op"() : () -> tensor<2x3x7xf32>
%g2 = dnn.global_pool avg %z : tensor<2x3x7xf32> -> tensor<2x3x1xf32>

// CHECK:      %p0 = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %p1 = dnn.pool2d avg %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] count_include_pad : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %p2 = dnn.pool2d max %x kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %p3 = dnn.pool2d max %x kernel [2, 2] strides [1, 1] pads [0, 0, 0, 0] dilations [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x6x6xf32>
// CHECK-NEXT: %p4 = dnn.pool2d avg %x kernel [2, 2] strides [2, 2] pads [1, 0, 1, 0] dilations [1, 2] ceil_mode count_include_pad {tag} : tensor<1x4x8x8xf32> -> tensor<1x4x5x4xf32>
// CHECK-NEXT: %p5 = dnn.pool2d max %y kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
// CHECK-NEXT: %g0 = dnn.global_pool avg %x : tensor<1x4x8x8xf32> -> tensor<1x4x1x1xf32>
// CHECK-NEXT: %g1 = dnn.global_pool max %x : tensor<1x4x8x8xf32> -> tensor<1x4x1x1xf32>
// CHECK-NEXT: %z = "test.op"() : () -> tensor<2x3x7xf32>
// CHECK-NEXT: %g2 = dnn.global_pool avg %z : tensor<2x3x7xf32> -> tensor<2x3x1xf32>

// CHECK-GENERIC:      %p0 = "dnn.pool2d"(%x) <{kind = #dnn<pool_kind max>, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
// CHECK-GENERIC-NEXT: %p1 = "dnn.pool2d"(%x) <{kind = #dnn<pool_kind avg>, kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, count_include_pad, dilations = array<i64: 1, 1>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %p2 = "dnn.pool2d"(%x) <{kind = #dnn<pool_kind max>, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode, dilations = array<i64: 1, 1>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
// CHECK-GENERIC-NEXT: %p3 = "dnn.pool2d"(%x) <{kind = #dnn<pool_kind max>, kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x6x6xf32>
// CHECK-GENERIC-NEXT: %p4 = "dnn.pool2d"(%x) <{kind = #dnn<pool_kind avg>, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 1, 0>, dilations = array<i64: 1, 2>, ceil_mode, count_include_pad}> {tag} : (tensor<1x4x8x8xf32>) -> tensor<1x4x5x4xf32>
// CHECK-GENERIC-NEXT: %p5 = "dnn.pool2d"(%y) <{kind = #dnn<pool_kind max>, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, ceil_mode, dilations = array<i64: 1, 1>}> : (tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32>
// CHECK-GENERIC-NEXT: %g0 = "dnn.global_pool"(%x) <{kind = #dnn<pool_kind avg>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
// CHECK-GENERIC-NEXT: %g1 = "dnn.global_pool"(%x) <{kind = #dnn<pool_kind max>}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
// CHECK-GENERIC-NEXT: %z = "test.op"() : () -> tensor<2x3x7xf32>
// CHECK-GENERIC-NEXT: %g2 = "dnn.global_pool"(%z) <{kind = #dnn<pool_kind avg>}> : (tensor<2x3x7xf32>) -> tensor<2x3x1xf32>

// -----

// dense / matmul

%a, %wt, %wn, %b, %bm, %at = "test.op"() : () -> (tensor<2x4xf32>, tensor<10x4xf32>, tensor<4x10xf32>, tensor<10xf32>, tensor<2x10xf32>, tensor<4x2xf32>)
%d0 = dnn.dense %a, %wt, %b trans_b act #dnn.act<relu> : (tensor<2x4xf32>, tensor<10x4xf32>, tensor<10xf32>) -> tensor<2x10xf32>
%d1 = dnn.dense %a, %wn : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
%d2 = dnn.dense %at, %wt, %bm trans_a trans_b alpha 5.000000e-01 beta 2.000000e+00 : (tensor<4x2xf32>, tensor<10x4xf32>, tensor<2x10xf32>) -> tensor<2x10xf32>
%d3 = dnn.dense %a, %wn beta 0.000000e+00 act #dnn.act<sigmoid> {tag} : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>

// CHECK:      %d0 = dnn.dense %a, %wt, %b trans_b act #dnn.act<relu> : (tensor<2x4xf32>, tensor<10x4xf32>, tensor<10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT: %d1 = dnn.dense %a, %wn : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT: %d2 = dnn.dense %at, %wt, %bm trans_a trans_b alpha 5.000000e-01 beta 2.000000e+00 : (tensor<4x2xf32>, tensor<10x4xf32>, tensor<2x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT: %d3 = dnn.dense %a, %wn beta 0.000000e+00 act #dnn.act<sigmoid> {tag} : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>

// CHECK-GENERIC:      %d0 = "dnn.dense"(%a, %wt, %b) <{trans_b, act = #dnn.act<relu>, alpha = 1.000000e+00 : f64, beta = 1.000000e+00 : f64}> : (tensor<2x4xf32>, tensor<10x4xf32>, tensor<10xf32>) -> tensor<2x10xf32>
// CHECK-GENERIC-NEXT: %d1 = "dnn.dense"(%a, %wn) <{alpha = 1.000000e+00 : f64, beta = 1.000000e+00 : f64}> : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>
// CHECK-GENERIC-NEXT: %d2 = "dnn.dense"(%at, %wt, %bm) <{trans_a, trans_b, alpha = 5.000000e-01 : f64, beta = 2.000000e+00 : f64}> : (tensor<4x2xf32>, tensor<10x4xf32>, tensor<2x10xf32>) -> tensor<2x10xf32>
// CHECK-GENERIC-NEXT: %d3 = "dnn.dense"(%a, %wn) <{beta = 0.000000e+00 : f64, act = #dnn.act<sigmoid>, alpha = 1.000000e+00 : f64}> {tag} : (tensor<2x4xf32>, tensor<4x10xf32>) -> tensor<2x10xf32>

%m0, %m1, %m2, %v = "test.op"() : () -> (tensor<3x4xf32>, tensor<2x1x3x4xf32>, tensor<5x4x6xf32>, tensor<4xf32>)
%mm0 = dnn.matmul %m0, %v : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
%mm1 = dnn.matmul %m1, %m2 : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
%mm2 = dnn.matmul %v, %m2 : (tensor<4xf32>, tensor<5x4x6xf32>) -> tensor<5x6xf32>
%mm3 = dnn.matmul %v, %v {tag} : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>

// CHECK:      %mm0 = dnn.matmul %m0, %v : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
// CHECK-NEXT: %mm1 = dnn.matmul %m1, %m2 : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
// CHECK-NEXT: %mm2 = dnn.matmul %v, %m2 : (tensor<4xf32>, tensor<5x4x6xf32>) -> tensor<5x6xf32>
// CHECK-NEXT: %mm3 = dnn.matmul %v, %v {tag} : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>

// CHECK-GENERIC:      %mm0 = "dnn.matmul"(%m0, %v) : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3xf32>
// CHECK-GENERIC-NEXT: %mm1 = "dnn.matmul"(%m1, %m2) : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
// CHECK-GENERIC-NEXT: %mm2 = "dnn.matmul"(%v, %m2) : (tensor<4xf32>, tensor<5x4x6xf32>) -> tensor<5x6xf32>
// CHECK-GENERIC-NEXT: %mm3 = "dnn.matmul"(%v, %v) {tag} : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>

// -----

// eltwise

%x, %y, %s, %r = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x1xf32>, tensor<8xf32>)
%a0 = dnn.add %x, %y : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
%a1 = dnn.add %x, %y act #dnn.act<relu> : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
%a2 = dnn.add %s, %x act #dnn.act<clip 0.0 6.0> {tag} : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
%s0 = dnn.sub %x, %r : (tensor<1x4x8x8xf32>, tensor<8xf32>) -> tensor<1x4x8x8xf32>
%m0 = dnn.mul %s, %r : (tensor<4x1x1xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
%q0 = dnn.div %x, %s {tag} : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
%u0 = dnn.sum %x : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
%u1 = dnn.sum %x, %y, %s : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>

// CHECK:      %a0 = dnn.add %x, %y : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %a1 = dnn.add %x, %y act #dnn.act<relu> : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %a2 = dnn.add %s, %x act #dnn.act<clip 0.0 6.0> {tag} : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %s0 = dnn.sub %x, %r : (tensor<1x4x8x8xf32>, tensor<8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %m0 = dnn.mul %s, %r : (tensor<4x1x1xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
// CHECK-NEXT: %q0 = dnn.div %x, %s {tag} : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %u0 = dnn.sum %x : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %u1 = dnn.sum %x, %y, %s : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>

// CHECK-GENERIC:      %a0 = "dnn.add"(%x, %y) : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %a1 = "dnn.add"(%x, %y) <{act = #dnn.act<relu>}> : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %a2 = "dnn.add"(%s, %x) <{act = #dnn.act<clip 0.0 6.0>}> {tag} : (tensor<4x1x1xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %s0 = "dnn.sub"(%x, %r) : (tensor<1x4x8x8xf32>, tensor<8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %m0 = "dnn.mul"(%s, %r) : (tensor<4x1x1xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
// CHECK-GENERIC-NEXT: %q0 = "dnn.div"(%x, %s) {tag} : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %u0 = "dnn.sum"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %u1 = "dnn.sum"(%x, %y, %s) : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>

// -----

// activations, softmax, BN

%x, %sc, %bi, %me, %va = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
%r = dnn.relu %x : tensor<1x4x8x8xf32>
%s = dnn.sigmoid %x : tensor<1x4x8x8xf32>
%t = dnn.tanh %x {tag} : tensor<1x4x8x8xf32>
%hw = dnn.hardswish %x : tensor<1x4x8x8xf32>
%hs = dnn.hardsigmoid %x {tag} : tensor<1x4x8x8xf32>
%si = dnn.silu %x : tensor<1x4x8x8xf32>
%c = dnn.clip %x lo 0.000000e+00 hi 6.000000e+00 : tensor<1x4x8x8xf32>
%c2 = dnn.clip %x lo -1.500000e+00 hi -1.500000e+00 : tensor<1x4x8x8xf32>
%l = dnn.leaky_relu %x alpha 1.000000e-01 : tensor<1x4x8x8xf32>
%sm = dnn.softmax %x axis 1 : tensor<1x4x8x8xf32>
%sm2 = dnn.softmax %x axis -1 : tensor<1x4x8x8xf32>
%bn = dnn.batchnorm %x, %sc, %bi, %me, %va : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
%bn2 = dnn.batchnorm %x, %sc, %bi, %me, %va epsilon 1.000000e-03 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>

// CHECK:      %r = dnn.relu %x : tensor<1x4x8x8xf32>
// CHECK-NEXT: %s = dnn.sigmoid %x : tensor<1x4x8x8xf32>
// CHECK-NEXT: %t = dnn.tanh %x {tag} : tensor<1x4x8x8xf32>
// CHECK-NEXT: %hw = dnn.hardswish %x : tensor<1x4x8x8xf32>
// CHECK-NEXT: %hs = dnn.hardsigmoid %x {tag} : tensor<1x4x8x8xf32>
// CHECK-NEXT: %si = dnn.silu %x : tensor<1x4x8x8xf32>
// CHECK-NEXT: %c = dnn.clip %x lo 0.000000e+00 hi 6.000000e+00 : tensor<1x4x8x8xf32>
// CHECK-NEXT: %c2 = dnn.clip %x lo -1.500000e+00 hi -1.500000e+00 : tensor<1x4x8x8xf32>
// CHECK-NEXT: %l = dnn.leaky_relu %x alpha 1.000000e-01 : tensor<1x4x8x8xf32>
// CHECK-NEXT: %sm = dnn.softmax %x axis 1 : tensor<1x4x8x8xf32>
// CHECK-NEXT: %sm2 = dnn.softmax %x axis -1 : tensor<1x4x8x8xf32>
// CHECK-NEXT: %bn = dnn.batchnorm %x, %sc, %bi, %me, %va : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %bn2 = dnn.batchnorm %x, %sc, %bi, %me, %va epsilon 1.000000e-03 : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>

// CHECK-GENERIC:      %r = "dnn.relu"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %s = "dnn.sigmoid"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %t = "dnn.tanh"(%x) {tag} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %hw = "dnn.hardswish"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %hs = "dnn.hardsigmoid"(%x) {tag} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %si = "dnn.silu"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %c = "dnn.clip"(%x) <{lo = 0.000000e+00 : f64, hi = 6.000000e+00 : f64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %c2 = "dnn.clip"(%x) <{lo = -1.500000e+00 : f64, hi = -1.500000e+00 : f64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %l = "dnn.leaky_relu"(%x) <{alpha = 1.000000e-01 : f64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %sm = "dnn.softmax"(%x) <{axis = 1 : i64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %sm2 = "dnn.softmax"(%x) <{axis = -1 : i64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %bn = "dnn.batchnorm"(%x, %sc, %bi, %me, %va) <{epsilon = 1.000000e-05 : f64}> : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %bn2 = "dnn.batchnorm"(%x, %sc, %bi, %me, %va) <{epsilon = 1.000000e-03 : f64}> : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>

// -----

// data movement

%a, %b, %g = "test.op"() : () -> (tensor<1x4x2x2xf32>, tensor<1x6x2x2xf32>, tensor<1x4x1x1xf32>)
%k0 = dnn.concat %a, %b axis 1 : (tensor<1x4x2x2xf32>, tensor<1x6x2x2xf32>) -> tensor<1x10x2x2xf32>
%k1 = dnn.concat %a, %a, %a axis -1 {tag} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x6xf32>
%k2 = dnn.concat %a axis 0 : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
%r0 = dnn.reshape %g : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
%r1 = dnn.reshape %a {tag} : tensor<1x4x2x2xf32> -> tensor<16xf32>
%f0 = dnn.flatten %a : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
%f1 = dnn.flatten %a axis 0 : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
%f2 = dnn.flatten %a axis 4 : tensor<1x4x2x2xf32> -> tensor<16x1xf32>
%f3 = dnn.flatten %a axis -1 : tensor<1x4x2x2xf32> -> tensor<8x2xf32>
%t0 = dnn.transpose %a perm [0, 2, 3, 1] : tensor<1x4x2x2xf32> -> tensor<1x2x2x4xf32>
%t1 = dnn.transpose %b perm [1, 0, 3, 2] {tag} : tensor<1x6x2x2xf32> -> tensor<6x1x2x2xf32>

// CHECK:      %k0 = dnn.concat %a, %b axis 1 : (tensor<1x4x2x2xf32>, tensor<1x6x2x2xf32>) -> tensor<1x10x2x2xf32>
// CHECK-NEXT: %k1 = dnn.concat %a, %a, %a axis -1 {tag} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x6xf32>
// CHECK-NEXT: %k2 = dnn.concat %a axis 0 : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK-NEXT: %r0 = dnn.reshape %g : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %r1 = dnn.reshape %a {tag} : tensor<1x4x2x2xf32> -> tensor<16xf32>
// CHECK-NEXT: %f0 = dnn.flatten %a : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
// CHECK-NEXT: %f1 = dnn.flatten %a axis 0 : tensor<1x4x2x2xf32> -> tensor<1x16xf32>
// CHECK-NEXT: %f2 = dnn.flatten %a axis 4 : tensor<1x4x2x2xf32> -> tensor<16x1xf32>
// CHECK-NEXT: %f3 = dnn.flatten %a axis -1 : tensor<1x4x2x2xf32> -> tensor<8x2xf32>
// CHECK-NEXT: %t0 = dnn.transpose %a perm [0, 2, 3, 1] : tensor<1x4x2x2xf32> -> tensor<1x2x2x4xf32>
// CHECK-NEXT: %t1 = dnn.transpose %b perm [1, 0, 3, 2] {tag} : tensor<1x6x2x2xf32> -> tensor<6x1x2x2xf32>

// CHECK-GENERIC:      %k0 = "dnn.concat"(%a, %b) <{axis = 1 : i64}> : (tensor<1x4x2x2xf32>, tensor<1x6x2x2xf32>) -> tensor<1x10x2x2xf32>
// CHECK-GENERIC-NEXT: %k1 = "dnn.concat"(%a, %a, %a) <{axis = -1 : i64}> {tag} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x6xf32>
// CHECK-GENERIC-NEXT: %k2 = "dnn.concat"(%a) <{axis = 0 : i64}> : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK-GENERIC-NEXT: %r0 = "dnn.reshape"(%g) : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
// CHECK-GENERIC-NEXT: %r1 = "dnn.reshape"(%a) {tag} : (tensor<1x4x2x2xf32>) -> tensor<16xf32>
// CHECK-GENERIC-NEXT: %f0 = "dnn.flatten"(%a) <{axis = 1 : i64}> : (tensor<1x4x2x2xf32>) -> tensor<1x16xf32>
// CHECK-GENERIC-NEXT: %f1 = "dnn.flatten"(%a) <{axis = 0 : i64}> : (tensor<1x4x2x2xf32>) -> tensor<1x16xf32>
// CHECK-GENERIC-NEXT: %f2 = "dnn.flatten"(%a) <{axis = 4 : i64}> : (tensor<1x4x2x2xf32>) -> tensor<16x1xf32>
// CHECK-GENERIC-NEXT: %f3 = "dnn.flatten"(%a) <{axis = -1 : i64}> : (tensor<1x4x2x2xf32>) -> tensor<8x2xf32>
// CHECK-GENERIC-NEXT: %t0 = "dnn.transpose"(%a) <{perm = array<i64: 0, 2, 3, 1>}> : (tensor<1x4x2x2xf32>) -> tensor<1x2x2x4xf32>
// CHECK-GENERIC-NEXT: %t1 = "dnn.transpose"(%b) <{perm = array<i64: 1, 0, 3, 2>}> {tag} : (tensor<1x6x2x2xf32>) -> tensor<6x1x2x2xf32>

// -----

// recurrent

%X, %W, %R, %B, %L, %H, %C, %P = "test.op"() : () -> (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>, tensor<2x32xf32>, tensor<2xi32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x12xf32>)
%W1, %R1 = "test.op"() : () -> (tensor<1x16x3xf32>, tensor<1x16x4xf32>)
// Every optional operand and property.
%Y, %Yh, %Yc = dnn.lstm %X, %W, %R bias %B seq_lens %L h0 %H c0 %C peepholes %P {hidden_size = 4 : i64, direction = #dnn<direction bidirectional>, activations = ["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"], activation_alpha = [1.000000e+00 : f64], activation_beta = [0.000000e+00 : f64], clip = 3.000000e+00 : f64, input_forget} : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32> bias tensor<2x32xf32> seq_lens tensor<2xi32> h0 tensor<2x2x4xf32> c0 tensor<2x2x4xf32> peepholes tensor<2x12xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// No optional operand.
%Y1, %Yh1, %Yc1 = dnn.lstm %X, %W1, %R1 {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// A subset: c0 without h0 or bias.
%Y2, %Yh2, %Yc2 = dnn.lstm %X, %W, %R c0 %C {hidden_size = 4 : i64, direction = #dnn<direction bidirectional>} : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32> c0 tensor<2x2x4xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)

// CHECK:      %Y, %Yh, %Yc = dnn.lstm %X, %W, %R bias %B seq_lens %L h0 %H c0 %C peepholes %P {hidden_size = 4 : i64, direction = #dnn<direction bidirectional>, activations = ["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"], activation_alpha = [1.000000e+00 : f64], activation_beta = [0.000000e+00 : f64], clip = 3.000000e+00 : f64, input_forget} : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32> bias tensor<2x32xf32> seq_lens tensor<2xi32> h0 tensor<2x2x4xf32> c0 tensor<2x2x4xf32> peepholes tensor<2x12xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK-NEXT: %Y1, %Yh1, %Yc1 = dnn.lstm %X, %W1, %R1 {hidden_size = 4 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK-NEXT: %Y2, %Yh2, %Yc2 = dnn.lstm %X, %W, %R c0 %C {hidden_size = 4 : i64, direction = #dnn<direction bidirectional>} : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32> c0 tensor<2x2x4xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)

// CHECK-GENERIC:      %Y, %Yh, %Yc = "dnn.lstm"(%X, %W, %R, %B, %L, %H, %C, %P) <{hidden_size = 4 : i64, direction = #dnn<direction bidirectional>, activations = ["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"], activation_alpha = [1.000000e+00 : f64], activation_beta = [0.000000e+00 : f64], clip = 3.000000e+00 : f64, input_forget, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>}> : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>, tensor<2x32xf32>, tensor<2xi32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x12xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
// CHECK-GENERIC-NEXT: %Y1, %Yh1, %Yc1 = "dnn.lstm"(%X, %W1, %R1) <{hidden_size = 4 : i64, direction = #dnn<direction forward>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>}> : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>) -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK-GENERIC-NEXT: %Y2, %Yh2, %Yc2 = "dnn.lstm"(%X, %W, %R, %C) <{hidden_size = 4 : i64, direction = #dnn<direction bidirectional>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 1, 0>}> : (tensor<5x2x3xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>, tensor<2x2x4xf32>) -> (tensor<5x2x2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)

%GW, %GR, %GB, %GH = "test.op"() : () -> (tensor<1x9x3xf32>, tensor<1x9x3xf32>, tensor<1x18xf32>, tensor<1x2x3xf32>)
%GY, %GYh = dnn.gru %X, %GW, %GR bias %GB h0 %GH {hidden_size = 3 : i64, direction = #dnn<direction reverse>, activations = ["Sigmoid", "Tanh"], linear_before_reset} : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32> bias tensor<1x18xf32> h0 tensor<1x2x3xf32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)
%GY1, %GYh1 = dnn.gru %X, %GW, %GR seq_lens %L {hidden_size = 3 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32> seq_lens tensor<2xi32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)

// CHECK-NEXT: %GW, %GR, %GB, %GH = "test.op"()
// CHECK-NEXT: %GY, %GYh = dnn.gru %X, %GW, %GR bias %GB h0 %GH {hidden_size = 3 : i64, direction = #dnn<direction reverse>, activations = ["Sigmoid", "Tanh"], linear_before_reset} : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32> bias tensor<1x18xf32> h0 tensor<1x2x3xf32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)
// CHECK-NEXT: %GY1, %GYh1 = dnn.gru %X, %GW, %GR seq_lens %L {hidden_size = 3 : i64, direction = #dnn<direction forward>} : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32> seq_lens tensor<2xi32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)

// CHECK-GENERIC:      %GY, %GYh = "dnn.gru"(%X, %GW, %GR, %GB, %GH) <{hidden_size = 3 : i64, direction = #dnn<direction reverse>, activations = ["Sigmoid", "Tanh"], linear_before_reset, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1>}> : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32>, tensor<1x18xf32>, tensor<1x2x3xf32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)
// CHECK-GENERIC-NEXT: %GY1, %GYh1 = "dnn.gru"(%X, %GW, %GR, %L) <{hidden_size = 3 : i64, direction = #dnn<direction forward>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>}> : (tensor<5x2x3xf32>, tensor<1x9x3xf32>, tensor<1x9x3xf32>, tensor<2xi32>) -> (tensor<5x1x2x3xf32>, tensor<1x2x3xf32>)

%RW, %RR, %RB, %RH, %RR1 = "test.op"() : () -> (tensor<2x6x3xf32>, tensor<2x6x6xf32>, tensor<2x12xf32>, tensor<2x2x6xf32>, tensor<1x16x16xf32>)
%RY, %RYh = dnn.rnn %X, %RW, %RR bias %RB seq_lens %L h0 %RH {hidden_size = 6 : i64, direction = #dnn<direction bidirectional>, activations = ["Relu", "Tanh"], clip = 1.000000e+01 : f64} : (tensor<5x2x3xf32>, tensor<2x6x3xf32>, tensor<2x6x6xf32> bias tensor<2x12xf32> seq_lens tensor<2xi32> h0 tensor<2x2x6xf32>) -> (tensor<5x2x2x6xf32>, tensor<2x2x6xf32>)
%RY1, %RYh1 = dnn.rnn %X, %W1, %RR1 {hidden_size = 16 : i64, direction = #dnn<direction reverse>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x16xf32>) -> (tensor<5x1x2x16xf32>, tensor<1x2x16xf32>)

// CHECK-NEXT: %RW, %RR, %RB, %RH, %RR1 = "test.op"()
// CHECK-NEXT: %RY, %RYh = dnn.rnn %X, %RW, %RR bias %RB seq_lens %L h0 %RH {hidden_size = 6 : i64, direction = #dnn<direction bidirectional>, activations = ["Relu", "Tanh"], clip = 1.000000e+01 : f64} : (tensor<5x2x3xf32>, tensor<2x6x3xf32>, tensor<2x6x6xf32> bias tensor<2x12xf32> seq_lens tensor<2xi32> h0 tensor<2x2x6xf32>) -> (tensor<5x2x2x6xf32>, tensor<2x2x6xf32>)
// CHECK-NEXT: %RY1, %RYh1 = dnn.rnn %X, %W1, %RR1 {hidden_size = 16 : i64, direction = #dnn<direction reverse>} : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x16xf32>) -> (tensor<5x1x2x16xf32>, tensor<1x2x16xf32>)

// CHECK-GENERIC:      %RY, %RYh = "dnn.rnn"(%X, %RW, %RR, %RB, %L, %RH) <{hidden_size = 6 : i64, direction = #dnn<direction bidirectional>, activations = ["Relu", "Tanh"], clip = 1.000000e+01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>}> : (tensor<5x2x3xf32>, tensor<2x6x3xf32>, tensor<2x6x6xf32>, tensor<2x12xf32>, tensor<2xi32>, tensor<2x2x6xf32>) -> (tensor<5x2x2x6xf32>, tensor<2x2x6xf32>)
// CHECK-GENERIC-NEXT: %RY1, %RYh1 = "dnn.rnn"(%X, %W1, %RR1) <{hidden_size = 16 : i64, direction = #dnn<direction reverse>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>}> : (tensor<5x2x3xf32>, tensor<1x16x3xf32>, tensor<1x16x16xf32>) -> (tensor<5x1x2x16xf32>, tensor<1x2x16xf32>)

// -----

// host

%x, %y = "test.op"() : () -> (tensor<1x4x8x8xf32>, tensor<2xi64>)
%h0 = dnn.host "LRN"(%x) attrs {size = 5 : i64, alpha = 1.000000e-04 : f64, mode = "across", pads = array<i64: 1, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
%h1, %h2 = dnn.host "TopK"(%x, %y) {tag} : (tensor<1x4x8x8xf32>, tensor<2xi64>) -> (tensor<1x4x8x2xf32>, tensor<1x4x8x2xi64>)
%h3 = dnn.host "RandomNormal"() attrs {shape = array<i64: 2, 2>} : () -> tensor<2x2xf32>

// CHECK:      %h0 = dnn.host "LRN"(%x) attrs {size = 5 : i64, alpha = 1.000000e-04 : f64, mode = "across", pads = array<i64: 1, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %h1, %h2 = dnn.host "TopK"(%x, %y) {tag} : (tensor<1x4x8x8xf32>, tensor<2xi64>) -> (tensor<1x4x8x2xf32>, tensor<1x4x8x2xi64>)
// CHECK-NEXT: %h3 = dnn.host "RandomNormal"() attrs {shape = array<i64: 2, 2>} : () -> tensor<2x2xf32>

// CHECK-GENERIC:      %h0 = "dnn.host"(%x) <{op_type = "LRN", attrs = {size = 5 : i64, alpha = 1.000000e-04 : f64, mode = "across", pads = array<i64: 1, 2>}}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
// CHECK-GENERIC-NEXT: %h1, %h2 = "dnn.host"(%x, %y) <{op_type = "TopK", attrs = {}}> {tag} : (tensor<1x4x8x8xf32>, tensor<2xi64>) -> (tensor<1x4x8x2xf32>, tensor<1x4x8x2xi64>)
// CHECK-GENERIC-NEXT: %h3 = "dnn.host"() <{op_type = "RandomNormal", attrs = {shape = array<i64: 2, 2>}}> : () -> tensor<2x2xf32>
