// RUN: fv-opt %s --split-input-file -p dnn-unroll-rnn | filecheck %s

// dnn-unroll-rnn on plain RNN layers. ONNX RNN: h_t = f(x_t W^T + h_{t-1} R^T + Wb + Rb),
// f = tanh by default (sigmoid, relu have an int8 form too), h_{-1} = initial_h or 0.
// sequence_lens L_b: batch row b runs only its first L_b steps (a reverse direction
// L_b - 1 down to 0); Y is 0 past L_b and Y_h is the state after the row's last step.

// Forward, 3 steps, no h0, bias Wb + Rb = 1 + 0.5: step 0 is f(x_0 W^T + b) alone (no
// recurrent MVM), steps 1 and 2 add h_{t-1} R^T. Y_h = h_2 is the last block of Y (the host
// reads it: sizes 2 | 1, the second).

func.func @rnn(%x: tensor<3x1x1xf32>) -> (tensor<3x1x1x1xf32>, tensor<1x1x1xf32>) {
  %B = dnn.constant dense<[[1.0, 0.5]]> : tensor<1x2xf32>
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %W, %R bias %B {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<3x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> bias tensor<1x2xf32>) -> (tensor<3x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %yh : tensor<3x1x1x1xf32>, tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @rnn
// CHECK-NEXT:    %y.x = dnn.reshape %x : tensor<3x1x1xf32> -> tensor<3x1xf32>
// CHECK-NEXT:    %y.x.t0, %y.x.t1, %y.x.t2 = dnn.host "Split"(%y.x) attrs {axis = 0 : i64, split = array<i64: 1, 1, 1>}
// CHECK-NEXT:    %[[W:[0-9]+]] = dnn.constant dense<2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[B:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[R:[0-9]+]] = dnn.constant dense<-7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.p.t0 = dnn.dense %y.x.t0, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.p.t1 = dnn.dense %y.x.t1, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.p.t2 = dnn.dense %y.x.t2, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.h.t0 = dnn.tanh %y.p.t0
// CHECK-NEXT:    %y.r.t1 = dnn.dense %y.h.t0, %[[R]] trans_b : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x1xf32>
// CHECK-NEXT:    %y.a.t1 = dnn.add %y.p.t1, %y.r.t1
// CHECK-NEXT:    %y.h.t1 = dnn.tanh %y.a.t1
// CHECK-NEXT:    %y.r.t2 = dnn.dense %y.h.t1, %[[R]] trans_b
// CHECK-NEXT:    %y.a.t2 = dnn.add %y.p.t2, %y.r.t2
// CHECK-NEXT:    %y.h.t2 = dnn.tanh %y.a.t2
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1, %y.h.t2 axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x3xf32> -> tensor<3x1x1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}}, %[[LAST:[0-9]+]] = dnn.host "Split"(%[[Y]]) attrs {axis = 1 : i64, split = array<i64: 2, 1>} : (tensor<1x3xf32>) -> (tensor<1x2xf32>, tensor<1x1xf32>)
// CHECK-NEXT:    %yh = dnn.reshape %[[LAST]] : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh

// -----

// Reverse with h0 = 2 and relu; only Y_h is used. The chain walks t = 2, 1, 0, its first
// step (t = 2) reads h0; Y_h = h_0 (the state after the walk's last step) and no Y is built.

func.func @rnn_reverse(%x: tensor<3x1x1xf32>) -> tensor<1x1x1xf32> {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %H = dnn.constant dense<[[[2.0]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %W, %R h0 %H {hidden_size = 1 : i64, direction = #dnn<direction reverse>, activations = ["Relu"]} : (tensor<3x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> h0 tensor<1x1x1xf32>) -> (tensor<3x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %yh : tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @rnn_reverse
// CHECK:         %[[R:[0-9]+]] = dnn.constant dense<-7.500000e-01> : tensor<1x1xf32>
// CHECK:         %y.p.t2 = dnn.dense %y.x.t2
// CHECK-NEXT:    %[[ZERO:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[H0:[0-9]+]] = dnn.constant dense<2.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.h0 = dnn.dense %{{[^,]+}}, %[[ZERO]], %[[H0]] trans_b
// CHECK-NEXT:    %y.r.t2 = dnn.dense %y.h0, %[[R]] trans_b
// CHECK-NEXT:    %y.a.t2 = dnn.add %y.p.t2, %y.r.t2
// CHECK-NEXT:    %y.h.t2 = dnn.relu %y.a.t2
// CHECK-NEXT:    %y.r.t1 = dnn.dense %y.h.t2, %[[R]] trans_b
// CHECK-NEXT:    %y.a.t1 = dnn.add %y.p.t1, %y.r.t1
// CHECK-NEXT:    %y.h.t1 = dnn.relu %y.a.t1
// CHECK-NEXT:    %y.r.t0 = dnn.dense %y.h.t1, %[[R]] trans_b
// CHECK-NEXT:    %y.a.t0 = dnn.add %y.p.t0, %y.r.t0
// CHECK-NEXT:    %y.h.t0 = dnn.relu %y.a.t0
// CHECK-NEXT:    %yh = dnn.reshape %y.h.t0 : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %yh

// -----

// sequence_lens [2, 1], batch 2: the rows differ, so each is a chain of its own (X's rows are
// t-major: x(b0,t0), x(b1,t0), x(b0,t1), x(b1,t1)). Row 1 runs step 0 only: no projection of
// x(b1,t1), its Y block at t = 1 is zero (an MVM of its h by zero weights) and Y_h(b1) = its
// h at t = 0.

func.func @rnn_sequence_lens(%x: tensor<2x2x1xf32>) -> (tensor<2x1x2x1xf32>, tensor<1x2x1xf32>) {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %L = dnn.constant dense<[2, 1]> : tensor<2xi32>
  %y, %yh = dnn.rnn %x, %W, %R seq_lens %L {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x2x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> seq_lens tensor<2xi32>) -> (tensor<2x1x2x1xf32>, tensor<1x2x1xf32>)
  func.return %y, %yh : tensor<2x1x2x1xf32>, tensor<1x2x1xf32>
}

// CHECK-LABEL: func.func @rnn_sequence_lens
// CHECK-NEXT:    %y.x = dnn.reshape %x : tensor<2x2x1xf32> -> tensor<4x1xf32>
// CHECK-NEXT:    %y.x.b0.t0, %y.x.b1.t0, %y.x.b0.t1, %y.x.b1.t1 = dnn.host "Split"(%y.x) attrs {axis = 0 : i64, split = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT:    %[[W:[0-9]+]] = dnn.constant dense<2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[B:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[R:[0-9]+]] = dnn.constant dense<-7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.p.b0.t0 = dnn.dense %y.x.b0.t0, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.p.b0.t1 = dnn.dense %y.x.b0.t1, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.p.b1.t0 = dnn.dense %y.x.b1.t0, %[[W]], %[[B]] trans_b
// CHECK-NEXT:    %y.b0.h.t0 = dnn.tanh %y.p.b0.t0
// CHECK-NEXT:    %y.b1.h.t0 = dnn.tanh %y.p.b1.t0
// CHECK-NEXT:    %y.b0.r.t1 = dnn.dense %y.b0.h.t0, %[[R]] trans_b
// CHECK-NEXT:    %y.b0.a.t1 = dnn.add %y.p.b0.t1, %y.b0.r.t1
// CHECK-NEXT:    %y.b0.h.t1 = dnn.tanh %y.b0.a.t1
// CHECK-NEXT:    %[[ZERO:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %y.b1.pad.t1 = dnn.dense %y.b1.h.t0, %[[ZERO]] trans_b : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x1xf32>
// Y [seq, 1, batch, 1] in order (t, b): [h(b0,0), h(b1,0)], [h(b0,1), 0].
// CHECK-NEXT:    %y.step.t0 = dnn.concat %y.b0.h.t0, %y.b1.h.t0 axis 1
// CHECK-NEXT:    %y.step.t1 = dnn.concat %y.b0.h.t1, %y.b1.pad.t1 axis 1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.step.t0, %y.step.t1 axis 1 : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x4xf32> -> tensor<2x1x2x1xf32>
// CHECK-NEXT:    %[[YH:[0-9]+]] = dnn.concat %y.b0.h.t1, %y.b1.h.t0 axis 1
// CHECK-NEXT:    %yh = dnn.reshape %[[YH]] : tensor<1x2xf32> -> tensor<1x2x1xf32>
// CHECK-NEXT:    func.return %y, %yh

// -----

// sequence_lens [2, 1] in reverse: row 0 walks t = 1, 0; row 1 starts at its own last step,
// t = 0 (not at t = 1). Y_h = [h(b0,0), h(b1,0)]; Y(b1, t = 1) is zero.

func.func @rnn_reverse_sequence_lens(%x: tensor<2x2x1xf32>) -> (tensor<2x1x2x1xf32>, tensor<1x2x1xf32>) {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %L = dnn.constant dense<[2, 1]> : tensor<2xi32>
  %y, %yh = dnn.rnn %x, %W, %R seq_lens %L {hidden_size = 1 : i64, direction = #dnn<direction reverse>} : (tensor<2x2x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> seq_lens tensor<2xi32>) -> (tensor<2x1x2x1xf32>, tensor<1x2x1xf32>)
  func.return %y, %yh : tensor<2x1x2x1xf32>, tensor<1x2x1xf32>
}

// CHECK-LABEL: func.func @rnn_reverse_sequence_lens
// CHECK:         %[[R:[0-9]+]] = dnn.constant dense<-7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.p.b0.t0 = dnn.dense %y.x.b0.t0
// CHECK-NEXT:    %y.p.b0.t1 = dnn.dense %y.x.b0.t1
// CHECK-NEXT:    %y.p.b1.t0 = dnn.dense %y.x.b1.t0
// CHECK-NEXT:    %y.b0.h.t1 = dnn.tanh %y.p.b0.t1
// CHECK-NEXT:    %y.b1.h.t0 = dnn.tanh %y.p.b1.t0
// CHECK-NEXT:    %y.b0.r.t0 = dnn.dense %y.b0.h.t1, %[[R]] trans_b
// CHECK-NEXT:    %y.b0.a.t0 = dnn.add %y.p.b0.t0, %y.b0.r.t0
// CHECK-NEXT:    %y.b0.h.t0 = dnn.tanh %y.b0.a.t0
// CHECK-NEXT:    %[[ZERO:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %y.b1.pad.t1 = dnn.dense %y.b1.h.t0, %[[ZERO]] trans_b
// CHECK-NEXT:    %y.step.t0 = dnn.concat %y.b0.h.t0, %y.b1.h.t0 axis 1
// CHECK-NEXT:    %y.step.t1 = dnn.concat %y.b0.h.t1, %y.b1.pad.t1 axis 1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.step.t0, %y.step.t1 axis 1
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x4xf32> -> tensor<2x1x2x1xf32>
// CHECK-NEXT:    %[[YH:[0-9]+]] = dnn.concat %y.b0.h.t0, %y.b1.h.t0 axis 1
// CHECK-NEXT:    %yh = dnn.reshape %[[YH]] : tensor<1x2xf32> -> tensor<1x2x1xf32>
// CHECK-NEXT:    func.return %y, %yh

// -----

// clip = 2.5 bounds the input of the activation to [-2.5, 2.5] at every step.

func.func @rnn_clip(%x: tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>, clip = 2.5 : f64} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @rnn_clip
// CHECK:         %y.p.t1 = dnn.dense %y.x.t1
// CHECK-NEXT:    %[[C0:[^ ]+]] = dnn.clip %y.p.t0 lo -2.500000e+00 hi 2.500000e+00
// CHECK-NEXT:    %y.h.t0 = dnn.tanh %[[C0]]
// CHECK-NEXT:    %y.r.t1 = dnn.dense %y.h.t0
// CHECK-NEXT:    %y.a.t1 = dnn.add %y.p.t1, %y.r.t1
// CHECK-NEXT:    %[[C1:[^ ]+]] = dnn.clip %y.a.t1 lo -2.500000e+00 hi 2.500000e+00
// CHECK-NEXT:    %y.h.t1 = dnn.tanh %[[C1]]
