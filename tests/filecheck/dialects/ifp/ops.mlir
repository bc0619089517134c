// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// An instruction frame package in the ifp dialect: segments, tensors, weight blocks, an
// accelerator layer with one frame of vcore instructions and a host layer.

ifp.package @small core "c0ffee" buffers [65536, 294912, 32768] inputs [@q] outputs [@out] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 1216
  ifp.segment @input input size 512
  ifp.segment @output output size 64
  ifp.segment @activations activation size 1024
  ifp.tensor @q in @input at 0x0 shape [1, 8, 8, 8] int8 frac 5 nhwc
  ifp.tensor @c in @activations at 0x0 shape [1, 16, 8, 8] int8 frac 4 zero -128 nhwc
  ifp.tensor @out in @output at 0x0 shape [1, 16] float32 frac 0 flat
  ifp.const "conv.w.q" in @weights at 0x0 size 1152 ohwi
  ifp.const "conv.b.q" in @weights at 0x480 size 64 bias params [-3, 0] fold "conv.w.q"
  ifp.const "dw.w.q" in @weights at 0x0 size 18 dw params [0, 1, 2]
  ifp.layer "c" conv2d ins [@q] outs [@c] {
    ifp.frame tile 0 cost 542 load 1664 save 1024 {
      vcore.load buf=weight seg=@weights off=0x0 addr=0 rows=16 cols=1 chans=72 buf_pix_stride=72 ddr_row_stride=72 ddr_pix_stride=72 buf_row_stride=72
      vcore.load buf=bias seg=@weights off=0x480 addr=0 rows=1 cols=1 chans=64 buf_pix_stride=64 ddr_row_stride=64 ddr_pix_stride=64 buf_row_stride=64
      vcore.convinit act=relu shift_cut=9 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=128 in_pix_stride=8 out_pix_stride=16
      vcore.load dpdby=C buf=fmap seg=@input off=0x0 addr=0 rows=8 cols=8 chans=8 buf_pix_stride=8 ddr_row_stride=64 ddr_pix_stride=8 buf_row_stride=64
      vcore.conv dpdon=L dpdby=S pad_t=1 pad_l=1 pad_b=1 pad_r=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=512 rows=8 cols=8 ic=8 oc=16
      vcore.save dpdon=C dpdby=L buf=fmap seg=@activations off=0x0 addr=512 rows=8 cols=8 chans=16 buf_pix_stride=16 ddr_row_stride=128 ddr_pix_stride=16 buf_row_stride=128
      vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
    }
  }
  ifp.layer "host0" host ins [@c] outs [@out] ir "func.func @main(%0: tensor<1x16x8x8xf32>) -> tensor<1x16xf32> {...}"
}

// CHECK:      ifp.package @small core "c0ffee" buffers [65536, 294912, 32768] inputs [@q] outputs [@out] input_names ["x"] output_names ["y"] {
// CHECK-NEXT: ifp.segment @weights weights size 1216
// CHECK-NEXT: ifp.segment @input input size 512
// CHECK-NEXT: ifp.segment @output output size 64
// CHECK-NEXT: ifp.segment @activations activation size 1024
// CHECK-NEXT: ifp.tensor @q in @input at 0x0 shape [1, 8, 8, 8] int8 frac 5 nhwc
// CHECK-NEXT: ifp.tensor @c in @activations at 0x0 shape [1, 16, 8, 8] int8 frac 4 zero -128 nhwc
// CHECK-NEXT: ifp.tensor @out in @output at 0x0 shape [1, 16] float32 frac 0 flat
// CHECK-NEXT: ifp.const "conv.w.q" in @weights at 0x0 size 1152 ohwi
// CHECK-NEXT: ifp.const "conv.b.q" in @weights at 0x480 size 64 bias params [-3, 0] fold "conv.w.q"
// CHECK-NEXT: ifp.const "dw.w.q" in @weights at 0x0 size 18 dw params [0, 1, 2]
// CHECK-NEXT: ifp.layer "c" conv2d ins [@q] outs [@c] {
// CHECK-NEXT: ifp.frame tile 0 cost 542 load 1664 save 1024 {
// CHECK-NEXT: vcore.load buf=weight seg=@weights off=0x0 addr=0 rows=16 cols=1 chans=72 buf_pix_stride=72 ddr_row_stride=72 ddr_pix_stride=72 buf_row_stride=72
// CHECK-NEXT: vcore.load buf=bias seg=@weights off=0x480 addr=0 rows=1 cols=1 chans=64 buf_pix_stride=64 ddr_row_stride=64 ddr_pix_stride=64 buf_row_stride=64
// CHECK-NEXT: vcore.convinit act=relu shift_cut=9 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=128 in_pix_stride=8 out_pix_stride=16
// CHECK-NEXT: vcore.load dpdby=C buf=fmap seg=@input off=0x0 addr=0 rows=8 cols=8 chans=8 buf_pix_stride=8 ddr_row_stride=64 ddr_pix_stride=8 buf_row_stride=64
// CHECK-NEXT: vcore.conv dpdon=L dpdby=S pad_t=1 pad_l=1 pad_b=1 pad_r=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=512 rows=8 cols=8 ic=8 oc=16
// CHECK-NEXT: vcore.save dpdon=C dpdby=L buf=fmap seg=@activations off=0x0 addr=512 rows=8 cols=8 chans=16 buf_pix_stride=16 ddr_row_stride=128 ddr_pix_stride=16 buf_row_stride=128
// CHECK-NEXT: vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: ifp.layer "host0" host ins [@c] outs [@out] ir "func.func @main(%0: tensor<1x16x8x8xf32>) -> tensor<1x16xf32> {...}"
// CHECK-NEXT: }
// CHECK-NEXT: }

// CHECK-GENERIC: "ifp.package"() <{sym_name = "small", core = "c0ffee", buffers = array<i64: 65536, 294912, 32768>, inputs = [@q], outputs = [@out], input_names = ["x"], output_names = ["y"]}> ({
// CHECK-GENERIC: "ifp.segment"() <{sym_name = "weights", kind = "weights", size = 1216 : i64}> : () -> ()
// CHECK-GENERIC: "ifp.segment"() <{sym_name = "activations", kind = "activation", size = 1024 : i64}> : () -> ()
// CHECK-GENERIC: "ifp.tensor"() <{sym_name = "q", segment = @input, offset = 0 : i64, shape = array<i64: 1, 8, 8, 8>, dtype = "int8", frac_bits = 5 : i64, layout = "nhwc"}> : () -> ()
// CHECK-GENERIC: "ifp.tensor"() <{sym_name = "c", segment = @activations, offset = 0 : i64, shape = array<i64: 1, 16, 8, 8>, dtype = "int8", frac_bits = 4 : i64, layout = "nhwc", zero_point = -128 : i64}> : () -> ()
// CHECK-GENERIC: "ifp.tensor"() <{sym_name = "out", segment = @output, offset = 0 : i64, shape = array<i64: 1, 16>, dtype = "float32", frac_bits = 0 : i64, layout = "flat"}> : () -> ()
// CHECK-GENERIC: "ifp.const"() <{source = "conv.w.q", segment = @weights, offset = 0 : i64, size = 1152 : i64, transform = "ohwi", params = array<i64>}> : () -> ()
// CHECK-GENERIC: "ifp.const"() <{source = "conv.b.q", segment = @weights, offset = 1152 : i64, size = 64 : i64, transform = "bias", params = array<i64: -3, 0>, fold = "conv.w.q"}> : () -> ()
// CHECK-GENERIC: "ifp.const"() <{source = "dw.w.q", segment = @weights, offset = 0 : i64, size = 18 : i64, transform = "dw", params = array<i64: 0, 1, 2>}> : () -> ()
// CHECK-GENERIC: "ifp.layer"() <{layer = "c", kind = "conv2d", ins = [@q], outs = [@c]}> ({
// CHECK-GENERIC: "ifp.frame"() <{tile = 0 : i64, cost = 542 : i64, load_bytes = 1664 : i64, save_bytes = 1024 : i64}> ({
// CHECK-GENERIC: "ifp.layer"() <{layer = "host0", kind = "host", ins = [@c], outs = [@out], host_ir = "func.func @main(%0: tensor<1x16x8x8xf32>) -> tensor<1x16xf32> {...}"}> ({
