// dnn-quantize's default: a zero point on every tensor whose class no symmetric-only op touches
// (docs/quantization.md). Calibration: one sample x = [[1.5, -0.5], [0.25, 1.0]] (channels x
// width), so every encoding follows by hand: the range [lo, hi] (holding 0) is centred on the
// codes, F0 = 7 - ceil(log2((hi - lo) / 2)), and the candidate (F0 - 1 .. F0 + 3, each with the
// centred Z = -round((lo + hi) / 2 * 2**F); above F0 also the Z keeping lo at -128 or hi at 127)
// with the least squared error wins (ties: the later, larger F).
// RUN: python -c "import numpy as np; np.save('%t.cal.npy', np.array([[[[1.5, -0.5]], [[0.25, 1.0]]]], np.float32))"
// RUN: fv-opt %s --split-input-file --calibration %t.cal.npy -p 'dnn-quantize{channel-group=1 float-weights=false}' | filecheck %s

// x in [-0.5, 1.5]: centre 0.5, half-range 1.0, F0 = 7. F = 6, Z = -32 is exact (1.5 -> 64,
// -0.5 -> -64, 0.25 -> -16, 1.0 -> 32); at F = 7, Z = -64, 1.5 -> 128 saturates; above, more.
// y = relu(w x + b) = [[1.75, 0.625], [0, 0.625]] in [0, 1.75]: centre 0.875, F0 = 7, Z = -112
// is exact (F = 6, Z = -56 too; the tie goes to F = 7). Weights per channel: Fw = [7, 6] as in
// dnn-quantize.mlir; shift = 6 + Fw - 7 = [6, 5]; the bias is unchanged (b_q = b 2**(Fx + Fw):
// [4096, -4096]): the input's zero point is the backend's to fold.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32> {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %b = dnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  func.return %c : tensor<1x2x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK-NEXT:    %w.q = dnn.constant dense<{{\[\[\[\[}}96]], {{\[\[}}64]]], {{\[\[\[}}-16]], {{\[\[}}96]]]]> : tensor<2x2x1x1xi8>
// CHECK-NEXT:    %b.q = dnn.constant dense<[4096, -4096]> : tensor<2xi32>
// CHECK-NEXT:    %c = dnn.conv2d %x.q, %w.q, %b.q strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> shift [6, 5] : (tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>, tensor<2x2x1x1xi8>, tensor<2xi32>) -> tensor<1x2x1x2xi8, #dnn.fixed<7, -112>>
// CHECK-NEXT:    %c.f = dnn.dequantize %c : tensor<1x2x1x2xi8, #dnn.fixed<7, -112>> -> tensor<1x2x1x2xf32>

// -----

// A softmax's integer kernel takes symmetric codes: its input's class (x and the exact reshape)
// keeps Z = 0 (max |x| 1.5, F = 6 is exact, as in dnn-quantize.mlir), and so does its result.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<2x2xf32> {
  %r = dnn.reshape %x : tensor<1x2x1x2xf32> -> tensor<2x2xf32>
  %s = dnn.softmax %r axis 1 : tensor<2x2xf32>
  func.return %s : tensor<2x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %r = dnn.reshape %x.q : tensor<1x2x1x2xi8, #dnn.fixed<6>> -> tensor<2x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %s = dnn.softmax %r axis 1 : tensor<2x2xi8, #dnn.fixed<6>> -> tensor<2x2xi8, #dnn.fixed<{{[0-9]+}}>>

// -----

// A concat input that something else also uses keeps its own encoding, where that buys
// resolution, and is requantized into the concat's on its way in. x (used by the conv and the
// concat) and c (also returned) have their own F0 = 7 (as in the first case) and 6 in the
// concat's class, so they keep the encodings of the first case: (6, -32) and (7, -112). x,
// a float value, is quantized a second time, straight into the concat's encoding (one
// rounding); c, an int8 result, is requantized. The concat's values are x's and c's,
// [-0.5, 1.75]: centre 0.625, half-range 1.125, F0 = 6; at F = 6, Z = -40 every value is exact
// (1.75 -> 72, -0.5 -> -72), at F = 5, Z = -20 too (the tie goes to F = 6); from F = 7 on
// 1.75 or -0.5 saturates whatever the zero point.
func.func @main(%x: tensor<1x2x1x2xf32>) -> (tensor<1x4x1x2xf32>, tensor<1x2x1x2xf32>) {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %b = dnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  %cat = dnn.concat %x, %c axis 1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x4x1x2xf32>
  func.return %cat, %c : tensor<1x4x1x2xf32>, tensor<1x2x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK:         %c = dnn.conv2d {{.*}} -> tensor<1x2x1x2xi8, #dnn.fixed<7, -112>>
// CHECK:         %x.r = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>
// CHECK-NEXT:    %c.r = dnn.requantize %c : tensor<1x2x1x2xi8, #dnn.fixed<7, -112>> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>
// CHECK-NEXT:    %cat = dnn.concat %x.r, %c.r axis 1 : (tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>, tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>) -> tensor<1x4x1x2xi8, #dnn.fixed<6, -40>>
// CHECK-NEXT:    %cat.f = dnn.dequantize %cat

// -----

// An input that only the concat uses takes the concat's encoding: no requantize. Here the
// conv's result joins the concat's class; x keeps (6, -32) as above (and is quantized once
// more for the concat); the class of c and the concat holds the same values as above, so
// (6, -40) again.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x4x1x2xf32> {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %b = dnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  %cat = dnn.concat %x, %c axis 1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x4x1x2xf32>
  func.return %cat : tensor<1x4x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK:         %c = dnn.conv2d {{.*}} -> tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>
// CHECK-NEXT:    %x.r = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>
// CHECK-NEXT:    %cat = dnn.concat %x.r, %c axis 1 : (tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>, tensor<1x2x1x2xi8, #dnn.fixed<6, -40>>) -> tensor<1x4x1x2xi8, #dnn.fixed<6, -40>>

// -----

// A shared concat input whose own F0 is no finer than the concat's joins the concat's class:
// x in [-0.5, 1.5] (F0 = 7) and the conv's 0.25 x (only the concat uses it), so the class's
// range is x's: (6, -32) as in the first case (F = 7 saturates 1.5 or -0.5 whatever Z), exact
// for 0.25 x too; no requantize.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x4x1x2xf32> {
  %w = dnn.constant dense<[[[[0.25]], [[0.0]]], [[[0.0]], [[0.25]]]]> : tensor<2x2x1x1xf32>
  %c = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x2xf32>
  %cat = dnn.concat %x, %c axis 1 : (tensor<1x2x1x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x4x1x2xf32>
  func.return %cat : tensor<1x4x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK:         %c = dnn.conv2d {{.*}} -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK-NEXT:    %cat = dnn.concat %x.q, %c axis 1 : (tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>, tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>) -> tensor<1x4x1x2xi8, #dnn.fixed<6, -32>>
