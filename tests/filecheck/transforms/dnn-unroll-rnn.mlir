// RUN: fv-opt %s -p dnn-unroll-rnn | filecheck %s

// A forward LSTM (2 steps, hidden 1) unrolls into per-gate dense (input projection per step,
// recurrent MVM from the second step), add, sigmoid / tanh and mul; Y is a channel concat of
// the h_t (batch 1) reshaped to [seq, 1, batch, H]. Per-gate weights become constants.

func.func @main(%x: tensor<2x1x1xf32>) -> tensor<2x1x1xf32> {
  %B0 = dnn.constant dense<[[0.5, 0.25, -0.5, 0.125, 0.0, 0.0, 0.0, 0.0]]> : tensor<1x8xf32>
  %W0 = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]]]> : tensor<1x4x1xf32>
  %R0 = dnn.constant dense<[[[-0.25], [0.125], [0.5], [0.375]]]> : tensor<1x4x1xf32>
  %y0, %yh0, %yc0 = dnn.lstm %x, %W0, %R0 bias %B0 {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32> bias tensor<1x8xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>)
  %z0 = dnn.reshape %y0 : tensor<2x1x1x1xf32> -> tensor<2x1x1xf32>
  func.return %z0 : tensor<2x1x1xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-NOT:     dnn.lstm
// CHECK:         %{{.*}} = dnn.reshape %x : tensor<2x1x1xf32> -> tensor<2x1xf32>
// CHECK:         dnn.host "Split"
// CHECK:         dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK:         %{{.*}} = dnn.dense %{{.*}}, %{{.*}}, %{{.*}} trans_b
// CHECK:         %{{.*}} = dnn.sigmoid
// CHECK:         %{{.*}} = dnn.tanh
// CHECK:         %{{.*}} = dnn.mul
// CHECK:         %{{.*}} = dnn.dense %{{.*}}, %{{.*}} trans_b
// CHECK:         %{{.*}} = dnn.add
// CHECK:         %{{.*}} = dnn.concat %{{.*}}, %{{.*}} axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %y0 = dnn.reshape %{{.*}} : tensor<1x2xf32> -> tensor<2x1x1x1xf32>
// CHECK:         %z0 = dnn.reshape %y0 : tensor<2x1x1x1xf32> -> tensor<2x1x1xf32>
// CHECK-NEXT:    func.return %z0
