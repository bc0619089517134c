// RUN: fv-opt %s --split-input-file -p dnn-unroll-rnn | filecheck %s

// dnn-unroll-rnn on LSTM layers (GRU, RNN, stored weights and the layers that stay fused are
// in dnn-unroll-rnn-*.mlir). ONNX LSTM (gate order i, o, f, c in W, R and B = [Wb, Rb]):
//   i = sigmoid(x W_i^T + h R_i^T + Wb_i + Rb_i)    o, f likewise;  g = tanh(x W_c^T + h R_c^T + ...)
//   c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
// Y [seq, dirs, batch, H] holds h_t at t (a reverse direction computes t = seq - 1 first);
// Y_h / Y_c the states after each direction's last step. Weights are exact binary fractions,
// so the per-gate constants below are hand-computed values.

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

// -----

// Initial states h0 = 3, c0 = -3 and a bias: every step, the first included, has the
// recurrent MVM of the previous h and the forget term f * c_{t-1}. Per gate the projection's
// bias is Wb + Rb: i 1 + 0.5, o 2 + 0.25, f 4 + 0.125, c 8 + 0.0625.

func.func @lstm_states(%x: tensor<2x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>) {
  %B = dnn.constant dense<[[1.0, 2.0, 4.0, 8.0, 0.5, 0.25, 0.125, 0.0625]]> : tensor<1x8xf32>
  %W = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]]]> : tensor<1x4x1xf32>
  %R = dnn.constant dense<[[[-0.25], [0.125], [0.75], [0.375]]]> : tensor<1x4x1xf32>
  %H = dnn.constant dense<[[[3.0]]]> : tensor<1x1x1xf32>
  %C = dnn.constant dense<[[[-3.0]]]> : tensor<1x1x1xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R bias %B h0 %H c0 %C {hidden_size = 1 : i64, direction = #dnn<direction forward>} : (tensor<2x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32> bias tensor<1x8xf32> h0 tensor<1x1x1xf32> c0 tensor<1x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %yh, %yc : tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>
}

// The original constants are gone (erased with the layer): the body starts with X's reshape.
// CHECK-LABEL: func.func @lstm_states
// CHECK-NEXT:    %y.x = dnn.reshape %x : tensor<2x1x1xf32> -> tensor<2x1xf32>
// CHECK-NEXT:    %y.x.t0, %y.x.t1 = dnn.host "Split"(%y.x) attrs {axis = 0 : i64, split = array<i64: 1, 1>}
// CHECK-NEXT:    %[[WI:[0-9]+]] = dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BI:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RI:[0-9]+]] = dnn.constant dense<-2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pi.t0 = dnn.dense %y.x.t0, %[[WI]], %[[BI]] trans_b
// CHECK-NEXT:    %y.pi.t1 = dnn.dense %y.x.t1, %[[WI]], %[[BI]] trans_b
// CHECK-NEXT:    %[[WO:[0-9]+]] = dnn.constant dense<-5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BO:[0-9]+]] = dnn.constant dense<2.250000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RO:[0-9]+]] = dnn.constant dense<1.250000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.po.t0 = dnn.dense %y.x.t0, %[[WO]], %[[BO]] trans_b
// CHECK-NEXT:    %y.po.t1 = dnn.dense %y.x.t1, %[[WO]], %[[BO]] trans_b
// CHECK-NEXT:    %[[WF:[0-9]+]] = dnn.constant dense<2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BF:[0-9]+]] = dnn.constant dense<4.125000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RF:[0-9]+]] = dnn.constant dense<7.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pf.t0 = dnn.dense %y.x.t0, %[[WF]], %[[BF]] trans_b
// CHECK-NEXT:    %y.pf.t1 = dnn.dense %y.x.t1, %[[WF]], %[[BF]] trans_b
// CHECK-NEXT:    %[[WC:[0-9]+]] = dnn.constant dense<1.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BC:[0-9]+]] = dnn.constant dense<8.062500e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RC:[0-9]+]] = dnn.constant dense<3.750000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pc.t0 = dnn.dense %y.x.t0, %[[WC]], %[[BC]] trans_b
// CHECK-NEXT:    %y.pc.t1 = dnn.dense %y.x.t1, %[[WC]], %[[BC]] trans_b
// The states as [1, H] tensors: an MVM of some [1, K] step tensor by zero weights, the state
// as its bias.
// CHECK-NEXT:    %[[Z0:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[H0:[0-9]+]] = dnn.constant dense<3.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.h0 = dnn.dense %{{[^,]+}}, %[[Z0]], %[[H0]] trans_b
// CHECK-NEXT:    %[[Z1:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[C0:[0-9]+]] = dnn.constant dense<-3.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.c0 = dnn.dense %{{[^,]+}}, %[[Z1]], %[[C0]] trans_b
// Step 0 reads h0 and c0.
// CHECK-NEXT:    %y.ri.t0 = dnn.dense %y.h0, %[[RI]] trans_b
// CHECK-NEXT:    %y.zi.t0 = dnn.add %y.pi.t0, %y.ri.t0
// CHECK-NEXT:    %y.ro.t0 = dnn.dense %y.h0, %[[RO]] trans_b
// CHECK-NEXT:    %y.zo.t0 = dnn.add %y.po.t0, %y.ro.t0
// CHECK-NEXT:    %y.rf.t0 = dnn.dense %y.h0, %[[RF]] trans_b
// CHECK-NEXT:    %y.zf.t0 = dnn.add %y.pf.t0, %y.rf.t0
// CHECK-NEXT:    %y.rc.t0 = dnn.dense %y.h0, %[[RC]] trans_b
// CHECK-NEXT:    %y.zc.t0 = dnn.add %y.pc.t0, %y.rc.t0
// CHECK-NEXT:    %y.i.t0 = dnn.sigmoid %y.zi.t0
// CHECK-NEXT:    %y.o.t0 = dnn.sigmoid %y.zo.t0
// CHECK-NEXT:    %y.f.t0 = dnn.sigmoid %y.zf.t0
// CHECK-NEXT:    %y.g.t0 = dnn.tanh %y.zc.t0
// CHECK-NEXT:    %y.ig.t0 = dnn.mul %y.i.t0, %y.g.t0
// CHECK-NEXT:    %y.fc.t0 = dnn.mul %y.f.t0, %y.c0
// CHECK-NEXT:    %y.c.t0 = dnn.add %y.fc.t0, %y.ig.t0
// CHECK-NEXT:    %y.tc.t0 = dnn.tanh %y.c.t0
// CHECK-NEXT:    %y.h.t0 = dnn.mul %y.o.t0, %y.tc.t0
// Step 1 reads step 0's h and c.
// CHECK-NEXT:    %y.ri.t1 = dnn.dense %y.h.t0, %[[RI]] trans_b
// CHECK-NEXT:    %y.zi.t1 = dnn.add %y.pi.t1, %y.ri.t1
// CHECK-NEXT:    %y.ro.t1 = dnn.dense %y.h.t0, %[[RO]] trans_b
// CHECK-NEXT:    %y.zo.t1 = dnn.add %y.po.t1, %y.ro.t1
// CHECK-NEXT:    %y.rf.t1 = dnn.dense %y.h.t0, %[[RF]] trans_b
// CHECK-NEXT:    %y.zf.t1 = dnn.add %y.pf.t1, %y.rf.t1
// CHECK-NEXT:    %y.rc.t1 = dnn.dense %y.h.t0, %[[RC]] trans_b
// CHECK-NEXT:    %y.zc.t1 = dnn.add %y.pc.t1, %y.rc.t1
// CHECK-NEXT:    %y.i.t1 = dnn.sigmoid %y.zi.t1
// CHECK-NEXT:    %y.o.t1 = dnn.sigmoid %y.zo.t1
// CHECK-NEXT:    %y.f.t1 = dnn.sigmoid %y.zf.t1
// CHECK-NEXT:    %y.g.t1 = dnn.tanh %y.zc.t1
// CHECK-NEXT:    %y.ig.t1 = dnn.mul %y.i.t1, %y.g.t1
// CHECK-NEXT:    %y.fc.t1 = dnn.mul %y.f.t1, %y.c.t0
// CHECK-NEXT:    %y.c.t1 = dnn.add %y.fc.t1, %y.ig.t1
// CHECK-NEXT:    %y.tc.t1 = dnn.tanh %y.c.t1
// CHECK-NEXT:    %y.h.t1 = dnn.mul %y.o.t1, %y.tc.t1
// Y = [h_0, h_1]; Y_h = h_1, read by the host from Y's concat (sizes 1 | 1, the second);
// Y_c = c_1.
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1 axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x2xf32> -> tensor<2x1x1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}}, %[[LAST:[0-9]+]] = dnn.host "Split"(%[[Y]]) attrs {axis = 1 : i64, split = array<i64: 1, 1>}
// CHECK-NEXT:    %yh = dnn.reshape %[[LAST]] : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    %yc = dnn.reshape %y.c.t1 : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh, %yc

// -----

// Reverse, 3 steps, h0 = 3 and no c0: the chain walks t = 2, 1, 0. Step 2 (the first) has the
// recurrent MVM of h0 but no forget term (c_{-1} = 0: c_2 = i * g); Y stays in time order
// [h_0, h_1, h_2] and Y_h is h_0 (the first block of Y: sizes 1 | 2).

func.func @lstm_reverse(%x: tensor<3x1x1xf32>) -> (tensor<3x1x1x1xf32>, tensor<1x1x1xf32>) {
  %W = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]]]> : tensor<1x4x1xf32>
  %R = dnn.constant dense<[[[-0.25], [0.125], [0.75], [0.375]]]> : tensor<1x4x1xf32>
  %H = dnn.constant dense<[[[3.0]]]> : tensor<1x1x1xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R h0 %H {hidden_size = 1 : i64, direction = #dnn<direction reverse>} : (tensor<3x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32> h0 tensor<1x1x1xf32>) -> (tensor<3x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %yh : tensor<3x1x1x1xf32>, tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @lstm_reverse
// CHECK:         %y.x.t0, %y.x.t1, %y.x.t2 = dnn.host "Split"(%y.x)
// CHECK-NEXT:    %[[WI:[0-9]+]] = dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %[[BI:[0-9]+]] = dnn.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RI:[0-9]+]] = dnn.constant dense<-2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pi.t0 = dnn.dense %y.x.t0, %[[WI]], %[[BI]] trans_b
// CHECK-NEXT:    %y.pi.t1 = dnn.dense %y.x.t1, %[[WI]], %[[BI]] trans_b
// CHECK-NEXT:    %y.pi.t2 = dnn.dense %y.x.t2, %[[WI]], %[[BI]] trans_b
// CHECK:         %[[H0:[0-9]+]] = dnn.constant dense<3.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.h0 = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[H0]] trans_b
// CHECK-NOT:     %y.c0
// CHECK-NEXT:    %y.ri.t2 = dnn.dense %y.h0, %[[RI]] trans_b
// CHECK-NEXT:    %y.zi.t2 = dnn.add %y.pi.t2, %y.ri.t2
// CHECK:         %y.g.t2 = dnn.tanh %y.zc.t2
// CHECK-NEXT:    %y.c.t2 = dnn.mul %y.i.t2, %y.g.t2
// CHECK-NEXT:    %y.tc.t2 = dnn.tanh %y.c.t2
// CHECK-NEXT:    %y.h.t2 = dnn.mul %y.o.t2, %y.tc.t2
// CHECK-NEXT:    %y.ri.t1 = dnn.dense %y.h.t2, %[[RI]] trans_b
// CHECK-NEXT:    %y.zi.t1 = dnn.add %y.pi.t1, %y.ri.t1
// CHECK:         %y.fc.t1 = dnn.mul %y.f.t1, %y.c.t2
// CHECK-NEXT:    %y.c.t1 = dnn.add %y.fc.t1, %y.ig.t1
// CHECK:         %y.h.t1 = dnn.mul %y.o.t1, %y.tc.t1
// CHECK-NEXT:    %y.ri.t0 = dnn.dense %y.h.t1, %[[RI]] trans_b
// CHECK:         %y.fc.t0 = dnn.mul %y.f.t0, %y.c.t1
// CHECK:         %y.h.t0 = dnn.mul %y.o.t0, %y.tc.t0
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1, %y.h.t2 axis 1 : ({{.*}}) -> tensor<1x3xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x3xf32> -> tensor<3x1x1x1xf32>
// CHECK-NEXT:    %[[FIRST:[0-9]+]], %{{[0-9]+}} = dnn.host "Split"(%[[Y]]) attrs {axis = 1 : i64, split = array<i64: 1, 2>}
// CHECK-NEXT:    %yh = dnn.reshape %[[FIRST]] : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh

// -----

// Bidirectional, no initial states: the forward chain (W[0], R[0]) walks t = 0, 1, the
// backward one (W[1], R[1]) t = 1, 0; each chain's first step has no recurrent MVM and no
// forget term. Their steps are interleaved. Y [seq, 2, 1, 1] is the concat of per-step
// concats [h_fw(t), h_bw(t)]; Y_h = [h_fw(1), h_bw(0)], Y_c likewise.

func.func @lstm_bidirectional(%x: tensor<2x1x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x1x1xf32>, tensor<2x1x1xf32>) {
  %W = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]], [[2.0], [-2.0], [1.5], [-1.5]]]> : tensor<2x4x1xf32>
  %R = dnn.constant dense<[[[-0.25], [0.125], [0.75], [0.375]], [[0.0625], [-0.0625], [0.875], [-0.875]]]> : tensor<2x4x1xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R {hidden_size = 1 : i64, direction = #dnn<direction bidirectional>} : (tensor<2x1x1xf32>, tensor<2x4x1xf32>, tensor<2x4x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  func.return %y, %yh, %yc : tensor<2x2x1x1xf32>, tensor<2x1x1xf32>, tensor<2x1x1xf32>
}

// CHECK-LABEL: func.func @lstm_bidirectional
// CHECK:         %[[FWI:[0-9]+]] = dnn.constant dense<5.000000e-01> : tensor<1x1xf32>
// CHECK:         %[[FWRI:[0-9]+]] = dnn.constant dense<-2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.fw.pi.t0 = dnn.dense %y.x.t0, %[[FWI]], %{{[0-9]+}} trans_b
// CHECK-NEXT:    %y.fw.pi.t1 = dnn.dense %y.x.t1, %[[FWI]], %{{[0-9]+}} trans_b
// CHECK:         %[[FWRC:[0-9]+]] = dnn.constant dense<3.750000e-01> : tensor<1x1xf32>
// CHECK:         %[[BWI:[0-9]+]] = dnn.constant dense<2.000000e+00> : tensor<1x1xf32>
// CHECK:         %[[BWRI:[0-9]+]] = dnn.constant dense<6.250000e-02> : tensor<1x1xf32>
// CHECK-NEXT:    %y.bw.pi.t0 = dnn.dense %y.x.t0, %[[BWI]], %{{[0-9]+}} trans_b
// CHECK-NEXT:    %y.bw.pi.t1 = dnn.dense %y.x.t1, %[[BWI]], %{{[0-9]+}} trans_b
// CHECK:         %[[BWO:[0-9]+]] = dnn.constant dense<-2.000000e+00> : tensor<1x1xf32>
// CHECK:         %[[BWF:[0-9]+]] = dnn.constant dense<1.500000e+00> : tensor<1x1xf32>
// CHECK:         %[[BWC:[0-9]+]] = dnn.constant dense<-1.500000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[BWRC:[0-9]+]] = dnn.constant dense<-8.750000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.bw.pc.t0 = dnn.dense %y.x.t0, %[[BWC]]
// CHECK-NEXT:    %y.bw.pc.t1 = dnn.dense %y.x.t1, %[[BWC]]
// Forward step 0: no recurrence, c_0 = i * g.
// CHECK-NEXT:    %y.fw.i.t0 = dnn.sigmoid %y.fw.pi.t0
// CHECK-NEXT:    %y.fw.o.t0 = dnn.sigmoid %y.fw.po.t0
// CHECK-NEXT:    %y.fw.f.t0 = dnn.sigmoid %y.fw.pf.t0
// CHECK-NEXT:    %y.fw.g.t0 = dnn.tanh %y.fw.pc.t0
// CHECK-NEXT:    %y.fw.c.t0 = dnn.mul %y.fw.i.t0, %y.fw.g.t0
// CHECK-NEXT:    %y.fw.tc.t0 = dnn.tanh %y.fw.c.t0
// CHECK-NEXT:    %y.fw.h.t0 = dnn.mul %y.fw.o.t0, %y.fw.tc.t0
// Backward step 1 (its first): the same on x_1.
// CHECK-NEXT:    %y.bw.i.t1 = dnn.sigmoid %y.bw.pi.t1
// CHECK-NEXT:    %y.bw.o.t1 = dnn.sigmoid %y.bw.po.t1
// CHECK-NEXT:    %y.bw.f.t1 = dnn.sigmoid %y.bw.pf.t1
// CHECK-NEXT:    %y.bw.g.t1 = dnn.tanh %y.bw.pc.t1
// CHECK-NEXT:    %y.bw.c.t1 = dnn.mul %y.bw.i.t1, %y.bw.g.t1
// CHECK-NEXT:    %y.bw.tc.t1 = dnn.tanh %y.bw.c.t1
// CHECK-NEXT:    %y.bw.h.t1 = dnn.mul %y.bw.o.t1, %y.bw.tc.t1
// Forward step 1 reads the forward h_0, c_0 with the forward R.
// CHECK-NEXT:    %y.fw.ri.t1 = dnn.dense %y.fw.h.t0, %[[FWRI]] trans_b
// CHECK:         %y.fw.rc.t1 = dnn.dense %y.fw.h.t0, %[[FWRC]] trans_b
// CHECK:         %y.fw.fc.t1 = dnn.mul %y.fw.f.t1, %y.fw.c.t0
// CHECK:         %y.fw.h.t1 = dnn.mul
// Backward step 0 reads the backward h_1, c_1 with the backward R.
// CHECK-NEXT:    %y.bw.ri.t0 = dnn.dense %y.bw.h.t1, %[[BWRI]] trans_b
// CHECK-NEXT:    %y.bw.zi.t0 = dnn.add %y.bw.pi.t0, %y.bw.ri.t0
// CHECK:         %y.bw.rc.t0 = dnn.dense %y.bw.h.t1, %[[BWRC]] trans_b
// CHECK:         %y.bw.fc.t0 = dnn.mul %y.bw.f.t0, %y.bw.c.t1
// CHECK-NEXT:    %y.bw.c.t0 = dnn.add %y.bw.fc.t0, %y.bw.ig.t0
// CHECK:         %y.bw.h.t0 = dnn.mul
// CHECK-NEXT:    %y.step.t0 = dnn.concat %y.fw.h.t0, %y.bw.h.t0 axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %y.step.t1 = dnn.concat %y.fw.h.t1, %y.bw.h.t1 axis 1 : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.step.t0, %y.step.t1 axis 1 : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x4xf32> -> tensor<2x2x1x1xf32>
// CHECK-NEXT:    %[[YH:[0-9]+]] = dnn.concat %y.fw.h.t1, %y.bw.h.t0 axis 1
// CHECK-NEXT:    %yh = dnn.reshape %[[YH]] : tensor<1x2xf32> -> tensor<2x1x1xf32>
// CHECK-NEXT:    %[[YC:[0-9]+]] = dnn.concat %y.fw.c.t1, %y.bw.c.t0 axis 1
// CHECK-NEXT:    %yc = dnn.reshape %[[YC]] : tensor<1x2xf32> -> tensor<2x1x1xf32>
// CHECK-NEXT:    func.return %y, %yh, %yc

// -----

// Peepholes P = [P_i, P_o, P_f] = [1.25, 2.5, -1.75], c0 = -3, no h0, and input_forget
// (f = 1 - i = sigmoid(-z_i)): the f gate is the i gate negated (W_f = -W_i, R_f = -R_i,
// P_f = -P_i = -1.25; the given P_f is unused). i and f add P * c_{t-1}; o adds P_o * c_t, so
// it follows c_t. The peephole vectors are [1, H] tensors made like the states.

func.func @lstm_peepholes(%x: tensor<2x1x1xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>) {
  %W = dnn.constant dense<[[[0.5], [-0.5], [0.25], [1.0]]]> : tensor<1x4x1xf32>
  %R = dnn.constant dense<[[[-0.25], [0.125], [0.75], [0.375]]]> : tensor<1x4x1xf32>
  %C = dnn.constant dense<[[[-3.0]]]> : tensor<1x1x1xf32>
  %P = dnn.constant dense<[[1.25, 2.5, -1.75]]> : tensor<1x3xf32>
  %y, %yh, %yc = dnn.lstm %x, %W, %R c0 %C peepholes %P {hidden_size = 1 : i64, direction = #dnn<direction forward>, input_forget} : (tensor<2x1x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32> c0 tensor<1x1x1xf32> peepholes tensor<1x3xf32>) -> (tensor<2x1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>)
  func.return %y, %yc : tensor<2x1x1x1xf32>, tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @lstm_peepholes
// CHECK:         %[[RI:[0-9]+]] = dnn.constant dense<-2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pi.t0 = dnn.dense %y.x.t0
// CHECK:         %y.po.t1 = dnn.dense %y.x.t1
// CHECK-NEXT:    %[[WF:[0-9]+]] = dnn.constant dense<-5.000000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<-0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %[[RF:[0-9]+]] = dnn.constant dense<2.500000e-01> : tensor<1x1xf32>
// CHECK-NEXT:    %y.pf.t0 = dnn.dense %y.x.t0, %[[WF]]
// CHECK:         %y.pc.t1 = dnn.dense %y.x.t1
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[PI:[0-9]+]] = dnn.constant dense<1.250000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.pi = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[PI]] trans_b
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[PO:[0-9]+]] = dnn.constant dense<2.500000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.po = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[PO]] trans_b
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[PF:[0-9]+]] = dnn.constant dense<-1.250000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.pf = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[PF]] trans_b
// CHECK-NEXT:    %{{[0-9]+}} = dnn.constant dense<0.000000e+00> : tensor<1x1xf32>
// CHECK-NEXT:    %[[C0:[0-9]+]] = dnn.constant dense<-3.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %y.c0 = dnn.dense %{{[^,]+}}, %{{[0-9]+}}, %[[C0]] trans_b
// Step 0 (h_{-1} = 0: no recurrent MVM).
// CHECK-NEXT:    %y.pic.t0 = dnn.mul %y.pi, %y.c0
// CHECK-NEXT:    %y.zip.t0 = dnn.add %y.pi.t0, %y.pic.t0
// CHECK-NEXT:    %y.pfc.t0 = dnn.mul %y.pf, %y.c0
// CHECK-NEXT:    %y.zfp.t0 = dnn.add %y.pf.t0, %y.pfc.t0
// CHECK-NEXT:    %y.i.t0 = dnn.sigmoid %y.zip.t0
// CHECK-NEXT:    %y.f.t0 = dnn.sigmoid %y.zfp.t0
// CHECK-NEXT:    %y.g.t0 = dnn.tanh %y.pc.t0
// CHECK-NEXT:    %y.ig.t0 = dnn.mul %y.i.t0, %y.g.t0
// CHECK-NEXT:    %y.fc.t0 = dnn.mul %y.f.t0, %y.c0
// CHECK-NEXT:    %y.c.t0 = dnn.add %y.fc.t0, %y.ig.t0
// CHECK-NEXT:    %y.poc.t0 = dnn.mul %y.po, %y.c.t0
// CHECK-NEXT:    %y.zop.t0 = dnn.add %y.po.t0, %y.poc.t0
// CHECK-NEXT:    %y.o.t0 = dnn.sigmoid %y.zop.t0
// CHECK-NEXT:    %y.tc.t0 = dnn.tanh %y.c.t0
// CHECK-NEXT:    %y.h.t0 = dnn.mul %y.o.t0, %y.tc.t0
// Step 1: recurrent MVMs (f's R negated), then the peephole terms on c_0 and c_1.
// CHECK-NEXT:    %y.ri.t1 = dnn.dense %y.h.t0, %[[RI]] trans_b
// CHECK-NEXT:    %y.zi.t1 = dnn.add %y.pi.t1, %y.ri.t1
// CHECK-NEXT:    %y.ro.t1 = dnn.dense %y.h.t0
// CHECK-NEXT:    %y.zo.t1 = dnn.add %y.po.t1, %y.ro.t1
// CHECK-NEXT:    %y.rf.t1 = dnn.dense %y.h.t0, %[[RF]] trans_b
// CHECK-NEXT:    %y.zf.t1 = dnn.add %y.pf.t1, %y.rf.t1
// CHECK-NEXT:    %y.rc.t1 = dnn.dense %y.h.t0
// CHECK-NEXT:    %y.zc.t1 = dnn.add %y.pc.t1, %y.rc.t1
// CHECK-NEXT:    %y.pic.t1 = dnn.mul %y.pi, %y.c.t0
// CHECK-NEXT:    %y.zip.t1 = dnn.add %y.zi.t1, %y.pic.t1
// CHECK-NEXT:    %y.pfc.t1 = dnn.mul %y.pf, %y.c.t0
// CHECK-NEXT:    %y.zfp.t1 = dnn.add %y.zf.t1, %y.pfc.t1
// CHECK-NEXT:    %y.i.t1 = dnn.sigmoid %y.zip.t1
// CHECK-NEXT:    %y.f.t1 = dnn.sigmoid %y.zfp.t1
// CHECK-NEXT:    %y.g.t1 = dnn.tanh %y.zc.t1
// CHECK-NEXT:    %y.ig.t1 = dnn.mul %y.i.t1, %y.g.t1
// CHECK-NEXT:    %y.fc.t1 = dnn.mul %y.f.t1, %y.c.t0
// CHECK-NEXT:    %y.c.t1 = dnn.add %y.fc.t1, %y.ig.t1
// CHECK-NEXT:    %y.poc.t1 = dnn.mul %y.po, %y.c.t1
// CHECK-NEXT:    %y.zop.t1 = dnn.add %y.zo.t1, %y.poc.t1
// CHECK-NEXT:    %y.o.t1 = dnn.sigmoid %y.zop.t1
// CHECK-NEXT:    %y.tc.t1 = dnn.tanh %y.c.t1
// CHECK-NEXT:    %y.h.t1 = dnn.mul %y.o.t1, %y.tc.t1
// CHECK-NEXT:    %[[Y:[0-9]+]] = dnn.concat %y.h.t0, %y.h.t1 axis 1
// CHECK-NEXT:    %y = dnn.reshape %[[Y]] : tensor<1x2xf32> -> tensor<2x1x1x1xf32>
// CHECK-NEXT:    %yc = dnn.reshape %y.c.t1 : tensor<1x1xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT:    func.return %y, %yc
