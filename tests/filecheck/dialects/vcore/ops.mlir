// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// Every vcore op (one per ISA instruction) in the assembler-like custom syntax: fields as
// name=value in layout order, enums by name, DDR offsets in hex, dependency masks as engine
// letters; fields equal to their spec default are left out (dilation_w=1, shift_bias=0, ...).
// `seg` names an ifp.segment symbol or a base-register number. The generic form has every
// property, defaults included.

"test.op"() ({
  vcore.load dpdby=C buf=fmap seg=@activations off=0x400 addr=0 rows=4 cols=56 chans=64 buf_pix_stride=64 ddr_row_stride=3584 ddr_pix_stride=64 buf_row_stride=3584
  vcore.save dpdon=C buf=fmap seg=3 off=0x10 addr=4096 rows=4 cols=56 chans=8 buf_pix_stride=8 ddr_row_stride=14336 ddr_pix_stride=256 buf_row_stride=448
  vcore.convinit act=relu6 shift_cut=9 act_arg=96 kernel_h=3 kernel_w=3 stride_h=2 stride_w=2 dilation_h=2 in_row_stride=3584 out_row_stride=448 in_pix_stride=64 out_pix_stride=8
  vcore.conv dpdon=L dpdby=S pad_t=1 pad_l=1 depthwise=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=4096 rows=4 cols=56 ic=8 oc=8
  vcore.conv dpdon=L dpdby=L acc_in=1 acc_out=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=4096 rows=2 cols=7 ic=64 oc=4 psum_addr=64
  vcore.poolinit pool_type=avg avg_shift=16 stride_h=1 stride_w=1 kernel_h=7 kernel_w=7 avg_mul=1337 in_row_stride=56 out_row_stride=8 in_pix_stride=8 out_pix_stride=8
  vcore.pool dpdon=L dpdby=S pad_b=2 pad_r=2 in_addr=0 out_addr=512 rows=1 cols=1 chans=8
  vcore.poolinit pool_type=max stride_h=1 stride_w=1 kernel_h=50 kernel_w=100 in_row_stride=100 out_row_stride=1 in_pix_stride=1 out_pix_stride=1 window_h=100
  vcore.pool dpdon=L dpdby=L in_addr=0 out_addr=5008 rows=1 cols=1 chans=1 acc_out=1 psum_addr=64
  vcore.elewinit elew_type=mul act=leaky shift_a=1 shift_out=7 act_arg=26 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
  vcore.elew dpdon=L dpdby=S chans=8 in_a=0 in_b=512 out_addr=0 rows=8 cols=8
  vcore.mvm dpdon=L dpdby=S act=relu shift_cut=12 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=2048 rows=24 cols=2048
  vcore.act dpdon=L dpdby=S func=sigmoid in_frac=-3 out_frac=7 in_addr=0 out_addr=0 length=100
  vcore.row dpdon=L dpdby=S func=layernorm in_frac=4 shift=14 in_addr=0 out_addr=0 rows=16 length=768 eps_lo=1000000 eps_hi=2
  vcore.row dpdon=L dpdby=L func=layernorm in_frac=4 shift=14 in_addr=0 out_addr=8192 rows=8 length=384 part_start=12 part_len=12 eps_lo=1000000 eps_hi=2
  vcore.sync count=16 barrier=3
  vcore.end {comment = "stream end"}
  "test.termop"() : () -> ()
}) : () -> ()

// CHECK:      "test.op"() ({
// CHECK-NEXT:   vcore.load dpdby=C buf=fmap seg=@activations off=0x400 addr=0 rows=4 cols=56 chans=64 buf_pix_stride=64 ddr_row_stride=3584 ddr_pix_stride=64 buf_row_stride=3584
// CHECK-NEXT:   vcore.save dpdon=C buf=fmap seg=3 off=0x10 addr=4096 rows=4 cols=56 chans=8 buf_pix_stride=8 ddr_row_stride=14336 ddr_pix_stride=256 buf_row_stride=448
// CHECK-NEXT:   vcore.convinit act=relu6 shift_cut=9 act_arg=96 kernel_h=3 kernel_w=3 stride_h=2 stride_w=2 dilation_h=2 in_row_stride=3584 out_row_stride=448 in_pix_stride=64 out_pix_stride=8
// CHECK-NEXT:   vcore.conv dpdon=L dpdby=S pad_t=1 pad_l=1 depthwise=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=4096 rows=4 cols=56 ic=8 oc=8
// CHECK-NEXT: vcore.conv dpdon=L dpdby=L acc_in=1 acc_out=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=4096 rows=2 cols=7 ic=64 oc=4 psum_addr=64
// CHECK-NEXT:   vcore.poolinit pool_type=avg avg_shift=16 stride_h=1 stride_w=1 kernel_h=7 kernel_w=7 avg_mul=1337 in_row_stride=56 out_row_stride=8 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:   vcore.pool dpdon=L dpdby=S pad_b=2 pad_r=2 in_addr=0 out_addr=512 rows=1 cols=1 chans=8
// CHECK-NEXT:   vcore.poolinit pool_type=max stride_h=1 stride_w=1 kernel_h=50 kernel_w=100 in_row_stride=100 out_row_stride=1 in_pix_stride=1 out_pix_stride=1 window_h=100
// CHECK-NEXT:   vcore.pool dpdon=L dpdby=L in_addr=0 out_addr=5008 rows=1 cols=1 chans=1 acc_out=1 psum_addr=64
// CHECK-NEXT:   vcore.elewinit elew_type=mul act=leaky shift_a=1 shift_out=7 act_arg=26 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:   vcore.elew dpdon=L dpdby=S chans=8 in_a=0 in_b=512 out_addr=0 rows=8 cols=8
// CHECK-NEXT:   vcore.mvm dpdon=L dpdby=S act=relu shift_cut=12 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=2048 rows=24 cols=2048
// CHECK-NEXT:   vcore.act dpdon=L dpdby=S func=sigmoid in_frac=-3 out_frac=7 in_addr=0 out_addr=0 length=100
// CHECK-NEXT:   vcore.row dpdon=L dpdby=S func=layernorm in_frac=4 shift=14 in_addr=0 out_addr=0 rows=16 length=768 eps_lo=1000000 eps_hi=2
// CHECK-NEXT:   vcore.row dpdon=L dpdby=L func=layernorm in_frac=4 shift=14 in_addr=0 out_addr=8192 rows=8 length=384 part_start=12 part_len=12 eps_lo=1000000 eps_hi=2
  vcore.row dpdon=L dpdby=L func=layernorm in_frac=4 shift=14 in_addr=0 out_addr=8192 rows=8 length=384 part_start=12 part_len=12 eps_lo=1000000 eps_hi=2
// CHECK-NEXT:   vcore.sync count=16 barrier=3
// CHECK-NEXT:   vcore.end {comment = "stream end"}

// CHECK-GENERIC:      "test.op"() ({
// CHECK-GENERIC-NEXT:   "vcore.load"() <{dpdon = 0 : i64, dpdby = 2 : i64, buf = 0 : i64, seg = @activations, off = 1024 : i64, addr = 0 : i64, rows = 4 : i64, cols = 56 : i64, chans = 64 : i64, buf_pix_stride = 64 : i64, ddr_row_stride = 3584 : i64, ddr_pix_stride = 64 : i64, buf_row_stride = 3584 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.save"() <{dpdon = 2 : i64, dpdby = 0 : i64, buf = 0 : i64, seg = 3 : i64, off = 16 : i64, addr = 4096 : i64, rows = 4 : i64, cols = 56 : i64, chans = 8 : i64, buf_pix_stride = 8 : i64, ddr_row_stride = 14336 : i64, ddr_pix_stride = 256 : i64, buf_row_stride = 448 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.convinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, act = 2 : i64, shift_cut = 9 : i64, shift_bias = 0 : i64, act_arg = 96 : i64, kernel_h = 3 : i64, kernel_w = 3 : i64, stride_h = 2 : i64, stride_w = 2 : i64, dilation_h = 2 : i64, dilation_w = 1 : i64, in_row_stride = 3584 : i64, out_row_stride = 448 : i64, in_pix_stride = 64 : i64, out_pix_stride = 8 : i64, in_zp = 0 : i64, out_zp = 0 : i64, scaled = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.conv"() <{dpdon = 1 : i64, dpdby = 8 : i64, pad_t = 1 : i64, pad_l = 1 : i64, pad_b = 0 : i64, pad_r = 0 : i64, depthwise = 1 : i64, acc_in = 0 : i64, acc_out = 0 : i64, in_addr = 0 : i64, wgt_addr = 0 : i64, bias_addr = 0 : i64, out_addr = 4096 : i64, rows = 4 : i64, cols = 56 : i64, ic = 8 : i64, oc = 8 : i64, psum_addr = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.conv"() <{dpdon = 1 : i64, dpdby = 1 : i64, pad_t = 0 : i64, pad_l = 0 : i64, pad_b = 0 : i64, pad_r = 0 : i64, depthwise = 0 : i64, acc_in = 1 : i64, acc_out = 1 : i64, in_addr = 0 : i64, wgt_addr = 0 : i64, bias_addr = 0 : i64, out_addr = 4096 : i64, rows = 2 : i64, cols = 7 : i64, ic = 64 : i64, oc = 4 : i64, psum_addr = 64 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.poolinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, pool_type = 1 : i64, avg_shift = 16 : i64, stride_h = 1 : i64, stride_w = 1 : i64, kernel_h = 7 : i64, kernel_w = 7 : i64, avg_mul = 1337 : i64, in_row_stride = 56 : i64, out_row_stride = 8 : i64, in_pix_stride = 8 : i64, out_pix_stride = 8 : i64, window_h = 0 : i64, in_zp = 0 : i64, out_zp = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.pool"() <{dpdon = 1 : i64, dpdby = 8 : i64, pad_t = 0 : i64, pad_l = 0 : i64, pad_b = 2 : i64, pad_r = 2 : i64, in_addr = 0 : i64, out_addr = 512 : i64, rows = 1 : i64, cols = 1 : i64, chans = 8 : i64, acc_in = 0 : i64, acc_out = 0 : i64, psum_addr = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.poolinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, pool_type = 0 : i64, avg_shift = 0 : i64, stride_h = 1 : i64, stride_w = 1 : i64, kernel_h = 50 : i64, kernel_w = 100 : i64, avg_mul = 0 : i64, in_row_stride = 100 : i64, out_row_stride = 1 : i64, in_pix_stride = 1 : i64, out_pix_stride = 1 : i64, window_h = 100 : i64, in_zp = 0 : i64, out_zp = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.pool"() <{dpdon = 1 : i64, dpdby = 1 : i64, pad_t = 0 : i64, pad_l = 0 : i64, pad_b = 0 : i64, pad_r = 0 : i64, in_addr = 0 : i64, out_addr = 5008 : i64, rows = 1 : i64, cols = 1 : i64, chans = 1 : i64, acc_in = 0 : i64, acc_out = 1 : i64, psum_addr = 64 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.elewinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, elew_type = 1 : i64, act = 3 : i64, shift_a = 1 : i64, shift_b = 0 : i64, shift_out = 7 : i64, act_arg = 26 : i64, bcast_b = 0 : i64, in_row_stride = 64 : i64, out_row_stride = 64 : i64, in_pix_stride = 8 : i64, out_pix_stride = 8 : i64, zp_a = 0 : i64, zp_b = 0 : i64, zp_out = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.elew"() <{dpdon = 1 : i64, dpdby = 8 : i64, chans = 8 : i64, in_a = 0 : i64, in_b = 512 : i64, out_addr = 0 : i64, rows = 8 : i64, cols = 8 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.mvm"() <{dpdon = 1 : i64, dpdby = 8 : i64, act = 1 : i64, shift_cut = 12 : i64, shift_bias = 0 : i64, acc_in = 0 : i64, acc_out = 0 : i64, act_arg = 0 : i64, wgt_addr = 0 : i64, vec_addr = 0 : i64, bias_addr = 0 : i64, out_addr = 2048 : i64, rows = 24 : i64, cols = 2048 : i64, psum_addr = 0 : i64, out_zp = 0 : i64, scaled = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.act"() <{dpdon = 1 : i64, dpdby = 8 : i64, func = 2 : i64, in_frac = -3 : i64, out_frac = 7 : i64, in_addr = 0 : i64, out_addr = 0 : i64, length = 100 : i64, in_zp = 0 : i64, out_zp = 0 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.row"() <{dpdon = 1 : i64, dpdby = 8 : i64, func = 1 : i64, in_frac = 4 : i64, out_frac = 0 : i64, shift = 14 : i64, in_addr = 0 : i64, out_addr = 0 : i64, rows = 16 : i64, length = 768 : i64, gamma_addr = 0 : i64, part_start = 0 : i64, beta_addr = 0 : i64, part_len = 0 : i64, eps_lo = 1000000 : i64, eps_hi = 2 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.row"() <{dpdon = 1 : i64, dpdby = 1 : i64, func = 1 : i64, in_frac = 4 : i64, out_frac = 0 : i64, shift = 14 : i64, in_addr = 0 : i64, out_addr = 8192 : i64, rows = 8 : i64, length = 384 : i64, gamma_addr = 0 : i64, part_start = 12 : i64, beta_addr = 0 : i64, part_len = 12 : i64, eps_lo = 1000000 : i64, eps_hi = 2 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.sync"() <{dpdon = 0 : i64, dpdby = 0 : i64, count = 16 : i64, barrier = 3 : i64}> : () -> ()
// CHECK-GENERIC-NEXT:   "vcore.end"() <{dpdon = 0 : i64, dpdby = 0 : i64}> {comment = "stream end"} : () -> ()
