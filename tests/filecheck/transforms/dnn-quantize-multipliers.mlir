// dnn-quantize's default weights: a float scale per output channel, s[c] = max |w_c| / 127, and
// a requantization multiplier per channel with one shift for the layer (docs/quantization.md):
// y = requant((sum (x - Zx) w_q + b_q) * mul[c], shift), mul[c] / 2**shift ~ s[c] 2**(Fy - Fx),
// the largest shift whose multipliers stay below 2**24. Calibration: one sample
// x = [[1.5, -0.5], [0.25, 1.0]]; the activations' encodings are those of
// dnn-quantize-zero-points.mlir (x: F 6, Z -32; y: F 7, Z -112).
// RUN: python -c "import numpy as np; np.save('%t.cal.npy', np.array([[[[1.5, -0.5]], [[0.25, 1.0]]]], np.float32))"
// RUN: fv-opt %s --calibration %t.cal.npy -p dnn-quantize | filecheck %s

// s = [0.75, 1.5] / 127: w_q = [[127, round(0.5 / s0) = 85], [round(-0.25 / s1) = -21, 127]];
// b_q = round(b / (2**-6 s[c])) = [5419, -5419]; s[c] 2**(7 - 6) = [1.5, 3] / 127: at shift 29
// the multipliers are round(3 2**29 / 127) = 12681990 (< 2**24; at 30 it would not be) and
// round(1.5 2**29 / 127) = 6340995.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32> {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %b = dnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  func.return %c : tensor<1x2x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>
// CHECK-NEXT:    %w.q = dnn.constant dense<{{\[\[\[\[}}127]], {{\[\[}}85]]], {{\[\[\[}}-21]], {{\[\[}}127]]]]> : tensor<2x2x1x1xi8>
// CHECK-NEXT:    %b.q = dnn.constant dense<[5419, -5419]> : tensor<2xi32>
// CHECK-NEXT:    %c = dnn.conv2d %x.q, %w.q, %b.q strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> shift [29] mul [6340995, 12681990] : (tensor<1x2x1x2xi8, #dnn.fixed<6, -32>>, tensor<2x2x1x1xi8>, tensor<2xi32>) -> tensor<1x2x1x2xi8, #dnn.fixed<7, -112>>
