// RUN: fv-opt %s --split-input-file -p dnn-unroll-rnn | filecheck %s

// dnn-unroll-rnn on GRU layers. ONNX GRU (gate order z, r, h in W, R; B = [Wb, Rb]):
//   z = sigmoid(x W_z^T + h R_z^T + Wb_z + Rb_z)          r likewise
//   linear_before_reset = 0:  n = tanh(x W_h^T + (r * h) R_h^T + Rb_h + Wb_h)
//   linear_before_reset = 1:  n = tanh(x W_h^T + r * (h R_h^T + Rb_h) + Wb_h)
//   h_t = (1 - z) * n + z * h_{t-1}
// The contract has no subtraction: 1 - z = sigmoid(-(z's pre-activation)), an extra gate "zn"
// with negated W_z, R_z and bias. h_0 is the initial state or 0 (an MVM by zero weights: the
// reset term needs h_0 as a tensor). Weights are exact binary fractions (hand-computed sums).

// linear_before_reset = 0, bias Wb = [1, 2, 4], Rb = [0.5, 0.25, 0.125]: the projections'
// biases are z 1.5, zn -1.5, r 2.25 and h 4.125 (both h biases: Rb_h is outside the reset).

func.func @gru(%x: tensor<2x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>) {
  %B = dnn.constant dense<[[1.0, 2.0, 4.0, 0.5, 0.25, 0.125]]> : tensor<1x6xf32>
  %W = dnn.constant dense<[[[0.5], [-0.25], [0.75]]]> : tensor<1x3x1xf32>
  %R = dnn.constant dense<[[[0.375], [-0.125], [-0.625]]]> : tensor<1x3x1xf32>
  %y, %yh = dnn.gru %x, %W, %R bias %B {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32> bias tensor<1x6xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %yh : tensor<2x1x1x1xf32>, tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @gru
// CHECK-NEXT:    %y.x = dnn.reshape %x : tensor<2x1x1xf32> -> tensor<2x1xf32>
// CHECK-NEXT:    %y.x.t0, %y.x.t1 = dnn.host "Split"(%y.x) attrs {axis = 0 : i64, split = array<i64: 1, 1>}
// CHECK-NEXT:    %[[WZ:[0-9]+]] = dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BZ:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RZ:[0-9]+]] = dnn.constant dense<3.750000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pz.t0 = dnn.dense %y.x.t0, %[[WZ]], %[[BZ]] trans_b
// CHECK-NEXT:    %y.pz.t1 = dnn.dense %y.x.t1, %[[WZ]], %[[BZ]] trans_b
// CHECK-NEXT:    %[[WZN:[0-9]+]] = dnn.constant dense<-5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BZN:[0-9]+]] = dnn.constant dense<-1.500000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RZN:[0-9]+]] = dnn.constant dense<-3.750000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pzn.t0 = dnn.dense %y.x.t0, %[[WZN]], %[[BZN]] trans_b
// CHECK-NEXT:    %y.pzn.t1 = dnn.dense %y.x.t1, %[[WZN]], %[[BZN]] trans_b
// CHECK-NEXT:    %[[WR:[0-9]+]] = dnn.constant dense<-2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BR:[0-9]+]] = dnn.constant dense<2.250000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RR:[0-9]+]] = dnn.constant dense<-1.250000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pr.t0 = dnn.dense %y.x.t0, %[[WR]], %[[BR]] trans_b
// CHECK-NEXT:    %y.pr.t1 = dnn.dense %y.x.t1, %[[WR]], %[[BR]] trans_b
// CHECK-NEXT:    %[[WH:[0-9]+]] = dnn.constant dense<7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BH:[0-9]+]] = dnn.constant dense<4.125000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RH:[0-9]+]] = dnn.constant dense<-6.250000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.ph.t0 = dnn.dense %y.x.t0, %[[WH]], %[[BH]] trans_b
// CHECK-NEXT:    %y.ph.t1 = dnn.dense %y.x.t1, %[[WH]], %[[BH]] trans_b
// h_0 = 0: x_0 times zero weights, no bias.
// CHECK-NEXT:    %[[ZERO:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %y.h0 = dnn.dense %y.x.t0, %[[ZERO]] trans_b : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x1xf32>
// CHECK-NEXT:    %y.rz.t0 = dnn.dense %y.h0, %[[RZ]] trans_b
// CHECK-NEXT:    %y.az.t0 = dnn.add %y.pz.t0, %y.rz.t0
// CHECK-NEXT:    %y.z.t0 = dnn.sigmoid %y.az.t0
// CHECK-NEXT:    %y.rzn.t0 = dnn.dense %y.h0, %[[RZN]] trans_b
// CHECK-NEXT:    %y.azn.t0 = dnn.add %y.pzn.t0, %y.rzn.t0
// CHECK-NEXT:    %y.zn.t0 = dnn.sigmoid %y.azn.t0
// CHECK-NEXT:    %y.rr.t0 = dnn.dense %y.h0, %[[RR]] trans_b
// CHECK-NEXT:    %y.ar.t0 = dnn.add %y.pr.t0, %y.rr.t0
// CHECK-NEXT:    %y.r.t0 = dnn.sigmoid %y.ar.t0
// Reset before the recurrent MVM, which has no bias.
// CHECK-NEXT:    %y.rh.t0 = dnn.mul %y.r.t0, %y.h0
// CHECK-NEXT:    %y.rrh.t0 = dnn.dense %y.rh.t0, %[[RH]] trans_b : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x1xf32>
// CHECK-NEXT:    %y.ah.t0 = dnn.add %y.ph.t0, %y.rrh.t0
// CHECK-NEXT:    %y.n.t0 = dnn.tanh %y.ah.t0
// h_0' = z * h + (1 - z) * n
// CHECK-NEXT:    %y.zh.t0 = dnn.mul %y.z.t0, %y.h0
// CHECK-NEXT:    %y.zn_n.t0 = dnn.mul %y.zn.t0, %y.n.t0
// CHECK-NEXT:    %y.h.t0 = dnn.add %y.zn_n.t0, %y.zh.t0
// Step 1: the same on step 0's h.
// CHECK-NEXT:    %y.rz.t1 = dnn.dense %y.h.t0, %[[RZ]] trans_b
// CHECK-NEXT:    %y.az.t1 = dnn.add %y.pz.t1, %y.rz.t1
// CHECK-NEXT:    %y.z.t1 = dnn.sigmoid %y.az.t1
// CHECK-NEXT:    %y.rzn.t1 = dnn.dense %y.h.t0, %[[RZN]] trans_b
// CHECK-NEXT:    %y.azn.t1 = dnn.add %y.pzn.t1, %y.rzn.t1
// CHECK-NEXT:    %y.zn.t1 = dnn.sigmoid %y.azn.t1
// CHECK-NEXT:    %y.rr.t1 = dnn.dense %y.h.t0, %[[RR]] trans_b
// CHECK-NEXT:    %y.ar.t1 = dnn.add %y.pr.t1, %y.rr.t1
// CHECK-NEXT:    %y.r.t1 = dnn.sigmoid %y.ar.t1
// CHECK-NEXT:    %y.rh.t1 = dnn.mul %y.r.t1, %y.h.t0
// CHECK-NEXT:    %y.rrh.t1 = dnn.dense %y.rh.t1, %[[RH]] trans_b
// CHECK-NEXT:    %y.ah.t1 = dnn.add %y.ph.t1, %y.rrh.t1
// CHECK-NEXT:    %y.n.t1 = dnn.tanh %y.ah.t1
// CHECK-NEXT:    %y.zh.t1 = dnn.mul %y.z.t1, %y.h.t0
// CHECK-NEXT:    %y.zn_n.t1 = dnn.mul %y.zn.t1, %y.n.t1
// CHECK-NEXT:    %y.h.t1 = dnn.add %y.zn_n.t1, %y.zh.t1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1 axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x2xf32> -> tensor<2x1x1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}}, %[[LAST:[0-9]+]] = dnn.host "Split"(%[[Y]]) attrs {axis = 1 : i64, split = array<i64: 1, 1>}
// CHECK-NEXT:    %yh = dnn.reshape %[[LAST]] : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh

// -----

// linear_before_reset = 1, same weights: the h projection's bias is Wb_h = 4 alone; Rb_h =
// 0.125 is the bias of the recurrent MVM, whose result the reset gate multiplies.

func.func @gru_linear_before_reset(%x: tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32> {
  %B = dnn.constant dense<[[1.0, 2.0, 4.0, 0.5, 0.25, 0.125]]> : tensor<1x6xf32>
  %W = dnn.constant dense<[[[0.5], [-0.25], [0.75]]]> : tensor<1x3x1xf32>
  %R = dnn.constant dense<[[[0.375], [-0.125], [-0.625]]]> : tensor<1x3x1xf32>
  %y, %yh = dnn.gru %x, %W, %R bias %B {hidden_size = 1 : i64, direction = #dnn<direction forward>, linear_before_reset} : (tensor<2x1x1xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32> bias tensor<1x6xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y : tensor<2x1x1x1xf32>
}

// CHECK-LABEL: func.func @gru_linear_before_reset
// CHECK:         %[[BZ:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1xf32>
// CHECK:         %[[BZN:[0-9]+]] = dnn.constant dense<-1.500000e+00> : tensor<1xf32>
// CHECK:         %[[BR:[0-9]+]] = dnn.constant dense<2.250000e+00> : tensor<1xf32>
// CHECK:         %[[WH:[0-9]+]] = dnn.constant dense<7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BH:[0-9]+]] = dnn.constant dense<4.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RH:[0-9]+]] = dnn.constant dense<-6.250000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.ph.t0 = dnn.dense %y.x.t0, %[[WH]], %[[BH]] trans_b
// CHECK-NEXT:    %y.ph.t1 = dnn.dense %y.x.t1, %[[WH]], %[[BH]] trans_b
// CHECK-NEXT:    %[[RBH:[0-9]+]] = dnn.constant dense<1.250000e-01> : tensor<1xf32>
// CHECK:         %y.h0 = dnn.dense %y.x.t0, %{{[0-9]+}} trans_b
// CHECK:         %y.r.t0 = dnn.sigmoid %y.ar.t0
// CHECK-NEXT:    %y.rh.t0 = dnn.dense %y.h0, %[[RH]], %[[RBH]] trans_b : (tensor<1x1xf32>, tensor<1x1xf32>, tensor<1xf32>) -> tensor<1x1xf32>
// CHECK-NEXT:    %y.rrh.t0 = dnn.mul %y.r.t0, %y.rh.t0
// CHECK-NEXT:    %y.ah.t0 = dnn.add %y.ph.t0, %y.rrh.t0
// CHECK-NEXT:    %y.n.t0 = dnn.tanh %y.ah.t0
// CHECK-NEXT:    %y.zh.t0 = dnn.mul %y.z.t0, %y.h0
// CHECK-NEXT:    %y.zn_n.t0 = dnn.mul %y.zn.t0, %y.n.t0
// CHECK-NEXT:    %y.h.t0 = dnn.add %y.zn_n.t0, %y.zh.t0
// CHECK:         %y.r.t1 = dnn.sigmoid %y.ar.t1
// CHECK-NEXT:    %y.rh.t1 = dnn.dense %y.h.t0, %[[RH]], %[[RBH]] trans_b
// CHECK-NEXT:    %y.rrh.t1 = dnn.mul %y.r.t1, %y.rh.t1
// CHECK-NEXT:    %y.ah.t1 = dnn.add %y.ph.t1, %y.rrh.t1
// CHECK:         %y.h.t1 = dnn.add %y.zn_n.t1, %y.zh.t1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1 axis 1
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x2xf32> -> tensor<2x1x1x1xf32>
// CHECK-NEXT:    func.return %y

// -----

// Bidirectional with h0 = [2, -2] (per direction): each chain starts from its own row of
// h0 (made by a zero-weight MVM with the state as bias), the forward one at t = 0 with W[0],
// R[0], the backward one at t = 1 with W[1], R[1]. Y = [[h_fw(0), h_bw(0)], [h_fw(1),
// h_bw(1)]], Y_h = [h_fw(1), h_bw(0)].

func.func @gru_bidirectional(%x: tensor<2x1x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x1x1xf32>) {
  %W = dnn.constant dense<[[[0.5], [-0.25], [0.75]], [[1.5], [-1.25], [1.75]]]> : tensor<2x3x1xf32>
  %R = dnn.constant dense<[[[0.375], [-0.125], [-0.625]], [[0.0625], [-0.1875], [0.3125]]]> : tensor<2x3x1xf32>
  %H = dnn.constant dense<[[[2.0]], [[-2.0]]]> : tensor<2x1x1xf32>
  %y, %yh = dnn.gru %x, %W, %R h0 %H {hidden_size = 1 : i64, direction = #dnn<direction bidirectional>} : (tensor<2x1x1xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32> h0 tensor<2x1x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x1x1xf32>)
  func.return %y, %yh : tensor<2x2x1x1xf32>, tensor<2x1x1xf32>
}

// CHECK-LABEL: func.func @gru_bidirectional
// CHECK:         %[[FWZ:[0-9]+]] = dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[FWRZ:[0-9]+]] = dnn.constant dense<3.750000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.fw.pz.t0 = dnn.dense %y.x.t0, %[[FWZ]]
// CHECK:         %[[FWH0:[0-9]+]] = dnn.constant dense<2.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.fw.h0 = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[FWH0]] trans_b
// CHECK-NEXT:    %[[BWZ:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[BWRZ:[0-9]+]] = dnn.constant dense<6.250000e-02> : tensor<1x1xf32>
// CHECK-NEXT:    %y.bw.pz.t0 = dnn.dense %y.x.t0, %[[BWZ]]
// CHECK:         %[[BWH0:[0-9]+]] = dnn.constant dense<-2.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.bw.h0 = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[BWH0]] trans_b
// Forward step 0 from the forward h0, then backward step 1 from the backward h0.
// CHECK-NEXT:    %y.fw.rz.t0 = dnn.dense %y.fw.h0, %[[FWRZ]] trans_b
// CHECK-NEXT:    %y.fw.az.t0 = dnn.add %y.fw.pz.t0, %y.fw.rz.t0
// CHECK:         %y.fw.rh.t0 = dnn.mul %y.fw.r.t0, %y.fw.h0
// CHECK:         %y.fw.zh.t0 = dnn.mul %y.fw.z.t0, %y.fw.h0
// CHECK:         %y.fw.h.t0 = dnn.add
// CHECK-NEXT:    %y.bw.rz.t1 = dnn.dense %y.bw.h0, %[[BWRZ]] trans_b
// CHECK-NEXT:    %y.bw.az.t1 = dnn.add %y.bw.pz.t1, %y.bw.rz.t1
// CHECK:         %y.bw.rh.t1 = dnn.mul %y.bw.r.t1, %y.bw.h0
// CHECK:         %y.bw.zh.t1 = dnn.mul %y.bw.z.t1, %y.bw.h0
// CHECK:         %y.bw.h.t1 = dnn.add
// CHECK-NEXT:    %y.fw.rz.t1 = dnn.dense %y.fw.h.t0, %[[FWRZ]] trans_b
// CHECK:         %y.fw.h.t1 = dnn.add
// CHECK-NEXT:    %y.bw.rz.t0 = dnn.dense %y.bw.h.t1, %[[BWRZ]] trans_b
// CHECK-NEXT:    %y.bw.az.t0 = dnn.add %y.bw.pz.t0, %y.bw.rz.t0
// CHECK:         %y.bw.zh.t0 = dnn.mul %y.bw.z.t0, %y.bw.h.t1
// CHECK:         %y.bw.h.t0 = dnn.add
// CHECK-NEXT:    %y.step.t0 = dnn.concat %y.fw.h.t0, %y.bw.h.t0 axis 1
// CHECK-NEXT:    %y.step.t1 = dnn.concat %y.fw.h.t1, %y.bw.h.t1 axis 1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.step.t0, %y.step.t1 axis 1 : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x4xf32> -> tensor<2x2x1x1xf32>
// CHECK-NEXT:    %[[YH:[0-9]+]] = dnn.concat %y.fw.h.t1, %y.bw.h.t0 axis 1
// CHECK-NEXT:    %yh = dnn.reshape %[[YH]] : tensor<1x2xf32> -> tensor<2x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh
