// RUN: python -c "import numpy as np; from fvir.ir.weights import WeightStore; WeightStore({'lstm.W': np.arange(1, 9, dtype=np.float32).reshape(1, 8, 1), 'lstm.R': np.arange(16, dtype=np.float32).reshape(1, 8, 2) / 16, 'lstm.B': np.array([[1, 2, 3, 4, 5, 6, 7, 8, 100, 200, 300, 400, 500, 600, 700, 800]], np.float32), 'rnn.W': np.array([[[0.5]], [[-0.5]]], np.float32), 'rnn.R': np.array([[[0.25]], [[-0.25]]], np.float32)}).save('%t.npz')"
// RUN: fv-opt %s --weights %t.npz --out-weights %t.out.npz -p dnn-unroll-rnn | filecheck %s
// RUN: python -c "import numpy as np; d = np.load('%t.out.npz'); [print(k, d[k].tolist()) for k in sorted(d.files)]" | filecheck %s --check-prefix=STORE
// RUN: not fv-opt %s -p dnn-unroll-rnn 2>&1 | filecheck %s --check-prefix=NOSTORE
// RUN: not fv-opt %s --weights %t.missing.npz -p dnn-unroll-rnn 2>&1 | filecheck %s --check-prefix=MISSING

// Layers whose weights are dnn.weight ops read them from the store (`--weights`) and put their
// per-gate arrays there as new dnn.weight "<W>.<gate>", "<W>.<gate>.b" (Wb + Rb), "<R>.<gate>"
// (`.fw` / `.bw` before the gate for a bidirectional layer); `--out-weights` writes the store.
// An LSTM with hidden 2 (W rows 1..8, R rows k/16, B = [1..8, 100..800]) and a
// bidirectional RNN with hidden 1 share x.

func.func @main(%x: tensor<2x1x1xf32>) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>, tensor<2x2x1x1xf32>) {
  %W = dnn.weight "lstm.W" : tensor<1x8x1xf32>
  %R = dnn.weight "lstm.R" : tensor<1x8x2xf32>
  %B = dnn.weight "lstm.B" : tensor<1x16xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R bias %B {hidden_size = 2 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x8x1xf32>, tensor<1x8x2xf32> bias tensor<1x16xf32>) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>)
  %Wr = dnn.weight "rnn.W" : tensor<2x1x1xf32>
  %Rr = dnn.weight "rnn.R" : tensor<2x1x1xf32>
  %s, %sh = dnn.rnn %x, %Wr, %Rr {hidden_size = 1 : i64, direction = #dnn<direction bidirectional>} : (tensor<2x1x1xf32>, tensor<2x1x1xf32>, tensor<2x1x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x1x1xf32>)
  func.return %y, %yc, %s : tensor<2x1x1x2xf32>, tensor<1x1x2xf32>, tensor<2x2x1x1xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NOT:     dnn.lstm
// CHECK:         %[[WI:[0-9]+]] = dnn.weight "lstm.W.i" : tensor<2x1xf32>
// CHECK-NEXT:    %[[BI:[0-9]+]] = dnn.weight "lstm.W.i.b" : tensor<2xf32>
// CHECK-NEXT:    %[[RI:[0-9]+]] = dnn.weight "lstm.R.i" : tensor<2x2xf32>
// CHECK-NEXT:    %y.pi.t0 = dnn.dense %y.x.t0, %[[WI]], %[[BI]] trans_b : (tensor<1x1xf32>, tensor<2x1xf32>, tensor<2xf32>) -> tensor<1x2xf32>
// CHECK:         dnn.weight "lstm.W.o" : tensor<2x1xf32>
// CHECK:         dnn.weight "lstm.W.f" : tensor<2x1xf32>
// CHECK:         dnn.weight "lstm.W.c" : tensor<2x1xf32>
// CHECK:         %y.ri.t1 = dnn.dense %y.h.t0, %[[RI]] trans_b : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
// CHECK:         %y = dnn.reshape %{{[0-9]+}} : tensor<1x4xf32> -> tensor<2x1x1x2xf32>
// CHECK-NEXT:    %yc = dnn.reshape %y.c.t1 : tensor<1x2xf32> -> tensor<1x1x2xf32>
// CHECK-NOT:     dnn.rnn
// CHECK:         %[[FW:[0-9]+]] = dnn.weight "rnn.W.fw.i" : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.weight "rnn.W.fw.i.b" : tensor<1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.weight "rnn.R.fw.i" : tensor<1x1xf32>
// CHECK-NEXT:    %s.fw.p.t0 = dnn.dense %s.x.t0, %[[FW]]
// CHECK:         %[[BW:[0-9]+]] = dnn.weight "rnn.W.bw.i" : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.weight "rnn.W.bw.i.b" : tensor<1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.weight "rnn.R.bw.i" : tensor<1x1xf32>
// CHECK-NEXT:    %s.bw.p.t0 = dnn.dense %s.x.t0, %[[BW]]
// CHECK:         func.return %y, %yc, %s

// The arrays, by hand: gate k of the LSTM (order i, o, f, c) is rows 2k, 2k + 1 of W and R,
// its bias B[2k:2k+2] + B[8+2k:8+2k+2]; the RNN's directions are W[0], W[1]; no bias: zeros.
// STORE:      lstm.B
// STORE-NEXT: lstm.R
// STORE-NEXT: lstm.R.c {{\[\[}}0.75, 0.8125], [0.875, 0.9375]]
// STORE-NEXT: lstm.R.f {{\[\[}}0.5, 0.5625], [0.625, 0.6875]]
// STORE-NEXT: lstm.R.i {{\[\[}}0.0, 0.0625], [0.125, 0.1875]]
// STORE-NEXT: lstm.R.o {{\[\[}}0.25, 0.3125], [0.375, 0.4375]]
// STORE-NEXT: lstm.W
// STORE-NEXT: lstm.W.c {{\[\[}}7.0], [8.0]]
// STORE-NEXT: lstm.W.c.b [707.0, 808.0]
// STORE-NEXT: lstm.W.f {{\[\[}}5.0], [6.0]]
// STORE-NEXT: lstm.W.f.b [505.0, 606.0]
// STORE-NEXT: lstm.W.i {{\[\[}}1.0], [2.0]]
// STORE-NEXT: lstm.W.i.b [101.0, 202.0]
// STORE-NEXT: lstm.W.o {{\[\[}}3.0], [4.0]]
// STORE-NEXT: lstm.W.o.b [303.0, 404.0]
// STORE-NEXT: rnn.R
// STORE-NEXT: rnn.R.bw.i {{\[\[}}-0.25]]
// STORE-NEXT: rnn.R.fw.i {{\[\[}}0.25]]
// STORE-NEXT: rnn.W
// STORE-NEXT: rnn.W.bw.i {{\[\[}}-0.5]]
// STORE-NEXT: rnn.W.bw.i.b [0.0]
// STORE-NEXT: rnn.W.fw.i {{\[\[}}0.5]]
// STORE-NEXT: rnn.W.fw.i.b [0.0]
// STORE-NOT:  {{.}}

// Without the store the pass stops at the first stored weight: one line, no traceback.
// NOSTORE:      {{^}}fv-opt: error: dnn-unroll-rnn needs the weight store for 'lstm.W' (fv-opt: --weights model.npz){{$}}
// NOSTORE-NOT:  {{.}}

// MISSING:      {{^}}fv-opt: error: cannot read '{{.*}}missing.npz': No such file or directory{{$}}
// MISSING-NOT:  {{.}}
