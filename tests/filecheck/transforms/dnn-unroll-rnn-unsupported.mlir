// RUN: fv-opt %s --split-input-file -p dnn-unroll-rnn | filecheck %s

// Layers outside the subset dnn-unroll-rnn can express with int8-capable ops stay fused (float,
// run on the host), untouched and without an error; a supported layer next to them is
// unrolled. Each chunk checks the layer is still there and nothing was built for it.

// An activation without an int8 form (LeakyRelu), next to a supported tanh RNN.
func.func @leaky_relu(%x: tensor<2x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<2x1x1x1xf32>) {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>, activations = ["LeakyRelu"]} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  %t, %th = dnn.rnn %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>, activations = ["Tanh"]} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %t : tensor<2x1x1x1xf32>, tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @leaky_relu
// CHECK-NEXT:    %W = dnn.constant dense<2.500000e-01> : tensor<1x1x1xf32>
// CHECK-NEXT:    %R = dnn.constant dense<-7.500000e-01> : tensor<1x1x1xf32>
// CHECK-NEXT:    %y, %yh = dnn.rnn %x, %W, %R {{{.*}}activations = ["LeakyRelu"]}
// CHECK-NEXT:    %t.x = dnn.reshape %x
// CHECK:         %t.h.t0 = dnn.tanh
// CHECK:         %t.h.t1 = dnn.tanh
// CHECK:         func.return %y, %t

// -----

// An initial state computed at run time (a function argument).
func.func @runtime_h0(%x: tensor<2x1x1xf32>, %h: tensor<1x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %W, %R h0 %h {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> h0 tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @runtime_h0
// CHECK-NEXT:    %W = dnn.constant
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %y, %yh = dnn.rnn %x, %W, %R h0 %h
// CHECK-NEXT:    func.return %y

// -----

// Weights computed at run time.
func.func @runtime_weights(%x: tensor<2x1x1xf32>, %w: tensor<1x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %y, %yh = dnn.rnn %x, %w, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @runtime_weights
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %y, %yh = dnn.rnn %x, %w, %R
// CHECK-NEXT:    func.return %y

// -----

// sequence_lens with an empty row (L = 0): onnxruntime's Y_h there (0) differs from the fused
// reference's (initial_h), so the layer stays fused.
func.func @empty_row(%x: tensor<2x2x1xf32>) -> tensor<2x1x2x1xf32> {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %L = dnn.constant dense<[2, 0]> : tensor<2xi32>
  %y, %yh = dnn.rnn %x, %W, %R seq_lens %L {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x2x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> seq_lens tensor<2xi32>) -> (tensor<2x1x2x1xf32>, tensor<1x2x1xf32>)
  func.return %y : tensor<2x1x2x1xf32>
}

// CHECK-LABEL: func.func @empty_row
// CHECK-NEXT:    %W = dnn.constant
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %L = dnn.constant dense<[2, 0]> : tensor<2xi32>
// CHECK-NEXT:    %y, %yh = dnn.rnn %x, %W, %R seq_lens %L
// CHECK-NEXT:    func.return %y

// -----

// sequence_lens past seq (3 > 2 steps).
func.func @too_long(%x: tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %W = dnn.constant dense<[[[0.25]]]> : tensor<1x1x1xf32>
  %R = dnn.constant dense<[[[-0.75]]]> : tensor<1x1x1xf32>
  %L = dnn.constant dense<[3]> : tensor<1xi32>
  %y, %yh = dnn.rnn %x, %W, %R seq_lens %L {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32> seq_lens tensor<1xi32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @too_long
// CHECK-NEXT:    %W = dnn.constant
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %L = dnn.constant dense<3> : tensor<1xi32>
// CHECK-NEXT:    %y, %yh = dnn.rnn %x, %W, %R seq_lens %L
// CHECK-NEXT:    func.return %y

// -----

// A GRU whose gate activation f is not sigmoid: 1 - f(z) = f(-z) only holds for sigmoid.
func.func @gru_tanh_gates(%x: tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %W = dnn.constant dense<[[[0.25], [0.5], [0.75]]]> : tensor<1x3x1xf32>
  %R = dnn.constant dense<[[[0.25], [0.5], [0.75]]]> : tensor<1x3x1xf32>
  %y, %yh = dnn.gru %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>, activations = ["Tanh", "Tanh"]} : (tensor<2x1x1xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @gru_tanh_gates
// CHECK-NEXT:    %W = dnn.constant
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %y, %yh = dnn.gru %x, %W, %R {{{.*}}activations = ["Tanh", "Tanh"]}
// CHECK-NEXT:    func.return %y

// -----

// An LSTM with input_forget (f = 1 - i) whose f is not sigmoid, for the same reason.
func.func @lstm_input_forget_tanh(%x: tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %W = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]]]> : tensor<1x4x1xf32>
  %R = dnn.constant dense<[[[-0.25], [0.125], [0.75], [0.375]]]> : tensor<1x4x1xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction forward>, activations = ["Tanh", "Tanh", "Tanh"], input_forget} : (tensor<2x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @lstm_input_forget_tanh
// CHECK-NEXT:    %W = dnn.constant
// CHECK-NEXT:    %R = dnn.constant
// CHECK-NEXT:    %y, %yh, %yc = dnn.lstm %x, %W, %R {{{.*}}input_forget}
// CHECK-NEXT:    func.return %y
