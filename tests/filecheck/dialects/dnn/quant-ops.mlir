// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// The int8 fixed-point forms of docs/quantization.md in their custom syntax, printed back after
// a round trip through the generic form (CHECK), and the generic form itself (CHECK-GENERIC).

%x = "test.op"() : () -> tensor<1x3x8x8xf32>
%q = dnn.quantize %x : tensor<1x3x8x8xf32> -> tensor<1x3x8x8xi8, #dnn.fixed<5>>
%n = "test.op"() : () -> tensor<2xi8, #dnn.fixed<-3>>
// CHECK:      %q = dnn.quantize %x : tensor<1x3x8x8xf32> -> tensor<1x3x8x8xi8, #dnn.fixed<5>>
// CHECK-NEXT: %n = "test.op"() : () -> tensor<2xi8, #dnn.fixed<-3>>
// CHECK-GENERIC: %q = "dnn.quantize"(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xi8, #dnn.fixed<5>>

// conv2d: i8 weight, i32 bias, one shift per output channel (or one for all).
%w = dnn.weight "conv.w.q" : tensor<4x3x3x3xi8>
%b = dnn.weight "conv.b.q" : tensor<4xi32>
%c = dnn.conv2d %q, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<clip 0.0 6.0> shift [9, 10, 9, 8] : (tensor<1x3x8x8xi8, #dnn.fixed<5>>, tensor<4x3x3x3xi8>, tensor<4xi32>) -> tensor<1x4x8x8xi8, #dnn.fixed<4>>
%dw = dnn.conv2d %c, %wd strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] group 4 shift [7] : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<4x1x3x3xi8>) -> tensor<1x4x4x4xi8, #dnn.fixed<3>>
%wd = dnn.weight "dw.w.q" : tensor<4x1x3x3xi8>
// CHECK:      %w = dnn.weight "conv.w.q" : tensor<4x3x3x3xi8>
// CHECK-NEXT: %b = dnn.weight "conv.b.q" : tensor<4xi32>
// CHECK-NEXT: %c = dnn.conv2d %q, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<clip 0.0 6.0> shift [9, 10, 9, 8] : (tensor<1x3x8x8xi8, #dnn.fixed<5>>, tensor<4x3x3x3xi8>, tensor<4xi32>) -> tensor<1x4x8x8xi8, #dnn.fixed<4>>
// CHECK-NEXT: %dw = dnn.conv2d %c, %wd strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] group 4 shift [7] : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<4x1x3x3xi8>) -> tensor<1x4x4x4xi8, #dnn.fixed<3>>
// CHECK-GENERIC: "dnn.conv2d"(%q, %w, %b) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, act = #dnn.act<clip 0.0 6.0>, shift = array<i64: 9, 10, 9, 8>, group = 1 : i64}>

// add / mul: alignment shifts (absent = 0) and the output shift.
%a = dnn.add %c, %c act #dnn.act<relu> shift 1 : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<1x4x8x8xi8, #dnn.fixed<4>>) -> tensor<1x4x8x8xi8, #dnn.fixed<3>>
%a2 = dnn.add %c, %a shift_b 1 shift 0 : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<1x4x8x8xi8, #dnn.fixed<3>>) -> tensor<1x4x8x8xi8, #dnn.fixed<4>>
%m = dnn.mul %c, %c shift 5 : (tensor<1x4x8x8xi8, #dnn.fixed<4>>, tensor<1x4x8x8xi8, #dnn.fixed<4>>) -> tensor<1x4x8x8xi8, #dnn.fixed<3>>
%m2 = dnn.mul %a, %a shift_a 2 shift_b 1 shift 0 : (tensor<1x4x8x8xi8, #dnn.fixed<3>>, tensor<1x4x8x8xi8, #dnn.fixed<3>>) -> tensor<1x4x8x8xi8, #dnn.fixed<9>>
// CHECK:      %a = dnn.add %c, %c act #dnn.act<relu> shift 1 :
// CHECK-NEXT: %a2 = dnn.add %c, %a shift_b 1 shift 0 :
// CHECK-NEXT: %m = dnn.mul %c, %c shift 5 :
// CHECK-NEXT: %m2 = dnn.mul %a, %a shift_a 2 shift_b 1 shift 0 :
// CHECK-GENERIC: "dnn.add"(%c, %a) <{shift_b = 1 : i64, shift = 0 : i64}>

// Pooling: max keeps the exponent; average multiplies and shifts (Fy may differ from Fx).
%p = dnn.pool2d avg %a kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] avg_mul 16384 avg_shift 16 : tensor<1x4x8x8xi8, #dnn.fixed<3>> -> tensor<1x4x4x4xi8, #dnn.fixed<3>>
%pm = dnn.pool2d max %a kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1] : tensor<1x4x8x8xi8, #dnn.fixed<3>> -> tensor<1x4x4x4xi8, #dnn.fixed<3>>
%g = dnn.global_pool avg %p avg_mul 32768 avg_shift 17 : tensor<1x4x4x4xi8, #dnn.fixed<3>> -> tensor<1x4x1x1xi8, #dnn.fixed<5>>
// CHECK:      %p = dnn.pool2d avg %a kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] avg_mul 16384 avg_shift 16 :
// CHECK-NEXT: %pm = dnn.pool2d max %a kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1] :
// CHECK-NEXT: %g = dnn.global_pool avg %p avg_mul 32768 avg_shift 17 : tensor<1x4x4x4xi8, #dnn.fixed<3>> -> tensor<1x4x1x1xi8, #dnn.fixed<5>>
// CHECK-GENERIC: "dnn.global_pool"(%p) <{kind = #dnn<pool_kind avg>, avg_mul = 32768 : i64, avg_shift = 17 : i64}>

// Lookup tables: the result type is printed only when it differs from the input's.
%s = dnn.sigmoid %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<7>>
%t = dnn.tanh %g : tensor<1x4x1x1xi8, #dnn.fixed<5>>
%sf = dnn.sigmoid %x {tag} : tensor<1x3x8x8xf32>
%hw = dnn.hardswish %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<4>>
%hs = dnn.hardsigmoid %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<6>>
%si = dnn.silu %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<5, -20>>
// CHECK:      %s = dnn.sigmoid %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<7>>
// CHECK-NEXT: %t = dnn.tanh %g : tensor<1x4x1x1xi8, #dnn.fixed<5>>
// CHECK-NEXT: %sf = dnn.sigmoid %x {tag} : tensor<1x3x8x8xf32>
// CHECK-NEXT: %hw = dnn.hardswish %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<4>>
// CHECK-NEXT: %hs = dnn.hardsigmoid %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<6>>
// CHECK-NEXT: %si = dnn.silu %g : tensor<1x4x1x1xi8, #dnn.fixed<5>> -> tensor<1x4x1x1xi8, #dnn.fixed<5, -20>>
// CHECK-GENERIC: %s = "dnn.sigmoid"(%g) : (tensor<1x4x1x1xi8, #dnn.fixed<5>>) -> tensor<1x4x1x1xi8, #dnn.fixed<7>>
// CHECK-GENERIC: %hw = "dnn.hardswish"(%g) : (tensor<1x4x1x1xi8, #dnn.fixed<5>>) -> tensor<1x4x1x1xi8, #dnn.fixed<4>>
// CHECK-GENERIC: %si = "dnn.silu"(%g) : (tensor<1x4x1x1xi8, #dnn.fixed<5>>) -> tensor<1x4x1x1xi8, #dnn.fixed<5, -20>>

// Exact ops keep the exponent.
%r = dnn.relu %s : tensor<1x4x1x1xi8, #dnn.fixed<7>>
%cl = dnn.clip %s lo 0.0 hi 0.5 : tensor<1x4x1x1xi8, #dnn.fixed<7>>
%f = dnn.flatten %r : tensor<1x4x1x1xi8, #dnn.fixed<7>> -> tensor<1x4xi8, #dnn.fixed<7>>
%cc = dnn.concat %f, %f axis 1 : (tensor<1x4xi8, #dnn.fixed<7>>, tensor<1x4xi8, #dnn.fixed<7>>) -> tensor<1x8xi8, #dnn.fixed<7>>
// CHECK:      %r = dnn.relu %s : tensor<1x4x1x1xi8, #dnn.fixed<7>>
// CHECK-NEXT: %cl = dnn.clip %s lo 0.000000e+00 hi 5.000000e-01 : tensor<1x4x1x1xi8, #dnn.fixed<7>>
// CHECK-NEXT: %f = dnn.flatten %r : tensor<1x4x1x1xi8, #dnn.fixed<7>> -> tensor<1x4xi8, #dnn.fixed<7>>
// CHECK-NEXT: %cc = dnn.concat %f, %f axis 1 :

// dense: x @ W^T (trans_b) + b, then back to float.
%fw = dnn.weight "fc.w.q" : tensor<2x8xi8>
%fb = dnn.weight "fc.b.q" : tensor<2xi32>
%d = dnn.dense %cc, %fw, %fb trans_b shift [12, 11] : (tensor<1x8xi8, #dnn.fixed<7>>, tensor<2x8xi8>, tensor<2xi32>) -> tensor<1x2xi8, #dnn.fixed<2>>
%o = dnn.dequantize %d : tensor<1x2xi8, #dnn.fixed<2>> -> tensor<1x2xf32>
// CHECK:      %d = dnn.dense %cc, %fw, %fb trans_b shift [12, 11] : (tensor<1x8xi8, #dnn.fixed<7>>, tensor<2x8xi8>, tensor<2xi32>) -> tensor<1x2xi8, #dnn.fixed<2>>
// CHECK-NEXT: %o = dnn.dequantize %d : tensor<1x2xi8, #dnn.fixed<2>> -> tensor<1x2xf32>
// CHECK-GENERIC: "dnn.dense"(%cc, %fw, %fb) <{trans_b, shift = array<i64: 12, 11>, alpha = 1.000000e+00 : f64, beta = 1.000000e+00 : f64}>
// CHECK-GENERIC: %o = "dnn.dequantize"(%d) : (tensor<1x2xi8, #dnn.fixed<2>>) -> tensor<1x2xf32>

// requantize: int8 to int8 in another encoding (a concat input keeping its own).
%rq = dnn.requantize %d : tensor<1x2xi8, #dnn.fixed<2>> -> tensor<1x2xi8, #dnn.fixed<1, -7>>
// CHECK-NEXT: %rq = dnn.requantize %d : tensor<1x2xi8, #dnn.fixed<2>> -> tensor<1x2xi8, #dnn.fixed<1, -7>>
// CHECK-GENERIC: %rq = "dnn.requantize"(%d) : (tensor<1x2xi8, #dnn.fixed<2>>) -> tensor<1x2xi8, #dnn.fixed<1, -7>>

// Zero points: #dnn.fixed<F, Z> holds (q - Z) * 2**-F; Z = 0 is not printed.
%zx = dnn.quantize %x : tensor<1x3x8x8xf32> -> tensor<1x3x8x8xi8, #dnn.fixed<5, -128>>
%zs = "test.op"() : () -> tensor<2xi8, #dnn.fixed<-3, 0>>
%zr = dnn.relu %zx : tensor<1x3x8x8xi8, #dnn.fixed<5, -128>>
// CHECK:      %zx = dnn.quantize %x : tensor<1x3x8x8xf32> -> tensor<1x3x8x8xi8, #dnn.fixed<5, -128>>
// CHECK-NEXT: %zs = "test.op"() : () -> tensor<2xi8, #dnn.fixed<-3>>
// CHECK-NEXT: %zr = dnn.relu %zx : tensor<1x3x8x8xi8, #dnn.fixed<5, -128>>
// CHECK-GENERIC: "dnn.quantize"(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xi8, #dnn.fixed<5, -128>>

// Per-channel requantization multipliers: one shift, one multiplier per output channel.
%mw = dnn.weight "m.w.q" : tensor<2x3x1x1xi8>
%mc = dnn.conv2d %q, %mw strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [29] mul [6340995, 12681990] : (tensor<1x3x8x8xi8, #dnn.fixed<5>>, tensor<2x3x1x1xi8>) -> tensor<1x2x8x8xi8, #dnn.fixed<4, -7>>
// CHECK:      %mc = dnn.conv2d %q, %mw strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [29] mul [6340995, 12681990] : (tensor<1x3x8x8xi8, #dnn.fixed<5>>, tensor<2x3x1x1xi8>) -> tensor<1x2x8x8xi8, #dnn.fixed<4, -7>>
// CHECK-GENERIC: shift = array<i64: 29>, mul = array<i64: 6340995, 12681990>
