// Calibration data: one sample x = [[1.5, -0.5], [0.25, 1.0]] (channels x width), shared by every
// chunk, so each exponent below follows by hand from docs/quantization.md: F0 = 7 - ceil(log2
// max|x|), then the candidate in F0-1 .. F0+3 with the least squared error (ties: larger F).
// Symmetric codes and power-of-two weights only (zero-points=false float-weights=false):
// dnn-quantize-zero-points.mlir and dnn-quantize-multipliers.mlir have the defaults.
// RUN: python -c "import numpy as np; np.save('%t.cal.npy', np.array([[[[1.5, -0.5]], [[0.25, 1.0]]]], np.float32))"
// RUN: python -c "import numpy as np; from fvir.ir.weights import WeightStore; WeightStore({'fc.w': np.array([[0.375, 0, 0, 0], [0, 0.25, 0, 0.375], [-0.75, 0, 0.875, 0]], np.float32), 'fc.b': np.array([0, 0.25, 0.125], np.float32)}).save('%t.npz')"
// RUN: fv-opt %s --split-input-file --calibration %t.cal.npy --weights %t.npz --out-weights %t.q.npz -p 'dnn-quantize{channel-group=1 zero-points=false float-weights=false}' | filecheck %s
// RUN: python -c "import numpy as np; d = np.load('%t.q.npz'); print(sorted(d.files)); print(d['fc.w.q'].dtype, d['fc.w.q'].tolist()); print(d['fc.b.q'].dtype, d['fc.b.q'].tolist())" | filecheck %s --check-prefix=STORE
// RUN: not fv-opt %s --split-input-file --calibration %t.cal.npy -p dnn-quantize 2>&1 | filecheck %s --check-prefix=NOSTORE
// RUN: not fv-opt %s --split-input-file --weights %t.missing.npz -p dnn-quantize 2>&1 | filecheck %s --check-prefix=MISSING

// conv2d + relu -> max pool -> softmax (float). x: max 1.5, F0 = 6; exact at 5 and 6, 1.5 * 2**7
// saturates: F = 6. Weights per channel: max 0.75 -> Fw 7 ([96, 64]), max 1.5 -> Fw 6
// ([-16, 96]). y = relu(w x + b) = [[1.75, 0.625], [0, 0.625]]: F0 = 6, exact at 5 and 6: F = 6;
// shift = 6 + Fw - 6 = [7, 6]; b_q = [0.5 * 2**13, -1.0 * 2**12]. The max pool shares y's
// exponent; softmax stays float behind a dequantize.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x1xf32> {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %b = dnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %c = dnn.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  %p = dnn.pool2d max %c kernel [1, 2] strides [1, 1] pads [0, 0, 0, 0] : tensor<1x2x1x2xf32> -> tensor<1x2x1x1xf32>
  %s = dnn.softmax %p axis 1 : tensor<1x2x1x1xf32>
  func.return %s : tensor<1x2x1x1xf32>
}

// CHECK-LABEL: func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x1xf32> {
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %w.q = dnn.constant dense<{{\[\[\[\[}}96]], {{\[\[}}64]]], {{\[\[\[}}-16]], {{\[\[}}96]]]]> : tensor<2x2x1x1xi8>
// CHECK-NEXT:    %b.q = dnn.constant dense<[4096, -4096]> : tensor<2xi32>
// CHECK-NEXT:    %c = dnn.conv2d %x.q, %w.q, %b.q strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> shift [7, 6] : (tensor<1x2x1x2xi8, #dnn.fixed<6>>, tensor<2x2x1x1xi8>, tensor<2xi32>) -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %p = dnn.pool2d max %c kernel [1, 2] strides [1, 1] pads [0, 0, 0, 0] : tensor<1x2x1x2xi8, #dnn.fixed<6>> -> tensor<1x2x1x1xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %p.f = dnn.dequantize %p : tensor<1x2x1x1xi8, #dnn.fixed<6>> -> tensor<1x2x1x1xf32>
// CHECK-NEXT:    %s = dnn.softmax %p.f axis 1 : tensor<1x2x1x1xf32>
// CHECK-NEXT:    func.return %s : tensor<1x2x1x1xf32>

// -----

// A fused sigmoid is split into a lookup-table op. z = w x = [[0.625, 0.0625], [1.0, -0.875]]:
// F0 = 7 saturates 1.0, F0 - 1 = 6 is exact: F = 6; Fw = [8, 7], shift = 6 + Fw - 6 = [8, 7].
// sigmoid(z) (max 0.731): F = 7 has the least error (F = 8 saturates). The average of 2 values
// from F 7 to F 7: avg_shift 16, avg_mul = 2**16 / 2.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x1xf32> {
  %w = dnn.constant dense<[[[[0.375]], [[0.25]]], [[[0.75]], [[-0.5]]]]> : tensor<2x2x1x1xf32>
  %c = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<sigmoid> : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x2xf32>
  %g = dnn.global_pool avg %c : tensor<1x2x1x2xf32> -> tensor<1x2x1x1xf32>
  func.return %g : tensor<1x2x1x1xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %w.q = dnn.constant dense<{{\[\[\[\[}}96]], {{\[\[}}64]]], {{\[\[\[}}96]], {{\[\[}}-64]]]]> : tensor<2x2x1x1xi8>
// CHECK-NEXT:    %c.pre = dnn.conv2d %x.q, %w.q strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [8, 7] : (tensor<1x2x1x2xi8, #dnn.fixed<6>>, tensor<2x2x1x1xi8>) -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %c = dnn.sigmoid %c.pre : tensor<1x2x1x2xi8, #dnn.fixed<6>> -> tensor<1x2x1x2xi8, #dnn.fixed<7>>
// CHECK-NEXT:    %g = dnn.global_pool avg %c avg_mul 32768 avg_shift 16 : tensor<1x2x1x2xi8, #dnn.fixed<7>> -> tensor<1x2x1x1xi8, #dnn.fixed<7>>
// CHECK-NEXT:    %g.f = dnn.dequantize %g : tensor<1x2x1x1xi8, #dnn.fixed<7>> -> tensor<1x2x1x1xf32>
// CHECK-NEXT:    func.return %g.f

// -----

// Ops outside the contract stay float: a host op (dequantized input), a relu between float ops
// (no int8 input or user: no round trip), a broadcasting add.
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32> {
  %w = dnn.constant dense<[[[[0.75]], [[0.5]]], [[[-0.25]], [[1.5]]]]> : tensor<2x2x1x1xf32>
  %c = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x2x1x2xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x1x2xf32>
  %n = dnn.host "LRN"(%c) attrs {size = 3 : i64} : (tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
  %r = dnn.relu %n : tensor<1x2x1x2xf32>
  %k = dnn.constant dense<1.0> : tensor<1x1x1x2xf32>
  %a = dnn.add %r, %k : (tensor<1x2x1x2xf32>, tensor<1x1x1x2xf32>) -> tensor<1x2x1x2xf32>
  func.return %a : tensor<1x2x1x2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK:         %c = dnn.conv2d %x.q, %w.q strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] shift [{{[0-9]+}}, {{[0-9]+}}] : (tensor<1x2x1x2xi8, #dnn.fixed<6>>, tensor<2x2x1x1xi8>) -> tensor<1x2x1x2xi8, #dnn.fixed<{{-?[0-9]+}}>>
// CHECK-NEXT:    %c.f = dnn.dequantize %c
// CHECK-NEXT:    %n = dnn.host "LRN"(%c.f) attrs {size = 3 : i64} : (tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
// CHECK-NEXT:    %r = dnn.relu %n : tensor<1x2x1x2xf32>
// CHECK-NEXT:    %k = dnn.constant dense<1.000000e+00> : tensor<1x1x1x2xf32>
// CHECK-NEXT:    %a = dnn.add %r, %k : (tensor<1x2x1x2xf32>, tensor<1x1x1x2xf32>) -> tensor<1x2x1x2xf32>
// CHECK-NEXT:    func.return %a

// -----

// dnn.weight sources: `.q` weights go to the store. x -> flatten (int8: its user is) -> dense.
// y = W x + b = [0.5625, 0.5, -0.78125]: F0 = 7, exact at 6 and 7: F = 7. Fw per output row
// [8, 8, 7], shift = 6 + Fw - 7 = [7, 7, 6], b_q = [0, 0.25 * 2**14, 0.125 * 2**13].
func.func @main(%x: tensor<1x2x1x2xf32>) -> tensor<1x3xf32> {
  %f = dnn.flatten %x : tensor<1x2x1x2xf32> -> tensor<1x4xf32>
  %w = dnn.weight "fc.w" : tensor<3x4xf32>
  %b = dnn.weight "fc.b" : tensor<3xf32>
  %y = dnn.dense %f, %w, %b trans_b : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  func.return %y : tensor<1x3xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %x.q = dnn.quantize %x : tensor<1x2x1x2xf32> -> tensor<1x2x1x2xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %f = dnn.flatten %x.q : tensor<1x2x1x2xi8, #dnn.fixed<6>> -> tensor<1x4xi8, #dnn.fixed<6>>
// CHECK-NEXT:    %w.q = dnn.weight "fc.w.q" : tensor<3x4xi8>
// CHECK-NEXT:    %b.q = dnn.weight "fc.b.q" : tensor<3xi32>
// CHECK-NEXT:    %y = dnn.dense %f, %w.q, %b.q trans_b shift [7, 7, 6] : (tensor<1x4xi8, #dnn.fixed<6>>, tensor<3x4xi8>, tensor<3xi32>) -> tensor<1x3xi8, #dnn.fixed<7>>
// CHECK-NEXT:    %y.f = dnn.dequantize %y : tensor<1x3xi8, #dnn.fixed<7>> -> tensor<1x3xf32>
// CHECK-NEXT:    func.return %y.f

// STORE:      ['fc.b', 'fc.b.q', 'fc.w', 'fc.w.q']
// STORE-NEXT: int8 {{\[\[}}96, 0, 0, 0], [0, 64, 0, 96], [-96, 0, 112, 0]]
// STORE-NEXT: int32 [0, 4096, 1024]

// NOSTORE: fv-opt: error: dnn-quantize needs the weight store of a module with dnn.weight ops

// MISSING: fv-opt: error: cannot read '{{.*}}missing.npz'
