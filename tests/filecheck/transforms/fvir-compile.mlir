// RUN: python -c "import numpy as np; from fvir.ir.weights import WeightStore; r = np.random.default_rng(0); WeightStore({'conv.w': r.standard_normal((8, 4, 3, 3)).astype(np.float32) * 0.3, 'bn.s': np.full(8, 1.5, np.float32), 'bn.t': np.full(8, 0.1, np.float32), 'bn.m': np.zeros(8, np.float32), 'bn.v': np.ones(8, np.float32)}).save('%t.npz')"
// RUN: fv-opt %s --weights %t.npz -p 'fvir-compile{hw=tiny}' | filecheck %s
// RUN: fv-opt %s --weights %t.npz --hw tiny -p fvir-compile | filecheck %s
// RUN: fv-opt %s --weights %t.npz --out-weights %t.q.npz -p dnn-fold-batchnorm,dnn-quantize | filecheck %s --check-prefix=FOLDQ
// RUN: python -c "import numpy as np; print(sorted(np.load('%t.q.npz').files))" | filecheck %s --check-prefix=STORE
// RUN: not fv-opt %s -p fvir-compile 2>&1 | filecheck %s --check-prefix=NOSTORE

// The whole static pipeline on a float conv + batchnorm + relu: the batchnorm folds into the
// conv, the relu fuses, the conv is quantized, partitioned onto the accelerator, tiled for a
// tiny core and turned into instruction frames.

builtin.module attributes {dnn.model = "convbn"} {
func.func @main(%x: tensor<1x4x6x6xf32>) -> tensor<1x8x6x6xf32> attributes {dnn.input_names = ["x"], dnn.output_names = ["y"]} {
  %w = dnn.weight "conv.w" : tensor<8x4x3x3xf32>
  %c = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  %s = dnn.weight "bn.s" : tensor<8xf32>
  %t = dnn.weight "bn.t" : tensor<8xf32>
  %m = dnn.weight "bn.m" : tensor<8xf32>
  %v = dnn.weight "bn.v" : tensor<8xf32>
  %b = dnn.batchnorm %c, %s, %t, %m, %v : (tensor<1x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  %y = dnn.relu %b : tensor<1x8x6x6xf32>
  func.return %y : tensor<1x8x6x6xf32>
}
}

// CHECK:      ifp.package @convbn core
// CHECK:        ifp.layer
// CHECK:          ifp.frame
// CHECK:            vcore.load
// CHECK:            vcore.conv
// CHECK-SAME:         act=relu
// CHECK:            vcore.save
// CHECK-NOT:    dnn.batchnorm

// The folded weights are in the store the quantizer reads (fv-opt's --weights), and the
// quantized arrays are written out with them.
// FOLDQ:      dnn.weight "conv.w.bnfold.w.q"
// FOLDQ:      dnn.weight "conv.w.bnfold.b.q"
// FOLDQ:      dnn.conv2d
// FOLDQ-NOT:  dnn.batchnorm
// STORE: 'conv.w.bnfold.b', 'conv.w.bnfold.b.q', 'conv.w.bnfold.w', 'conv.w.bnfold.w.q'

// NOSTORE: fv-opt: error: dnn-quantize needs the weight store of a module with dnn.weight ops
