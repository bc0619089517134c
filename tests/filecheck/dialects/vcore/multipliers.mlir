// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// Per-output-channel requantization multipliers: `scaled` (1 bit, default 0), the last field of
// CONVINIT and of MVM, printed after every other field (zero points included) and left out
// when 0.

"test.op"() ({
  vcore.convinit act=relu shift_cut=30 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 scaled=1
  vcore.convinit shift_cut=9 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 in_zp=-3 out_zp=7 scaled=1
  vcore.convinit shift_cut=9 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 scaled=0
  vcore.mvm shift_cut=31 wgt_addr=0 vec_addr=0 bias_addr=64 out_addr=2048 rows=24 cols=64 scaled=1
  vcore.mvm act=relu shift_cut=31 acc_in=1 wgt_addr=0 vec_addr=0 bias_addr=64 out_addr=2048 rows=24 cols=64 psum_addr=512 out_zp=-128 scaled=1
  "test.termop"() : () -> ()
}) : () -> ()

// CHECK:      "test.op"() ({
// CHECK-NEXT:   vcore.convinit act=relu shift_cut=30 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 scaled=1
// CHECK-NEXT:   vcore.convinit shift_cut=9 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 in_zp=-3 out_zp=7 scaled=1
// CHECK-NEXT:   vcore.convinit shift_cut=9 kernel_h=1 kernel_w=1 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8{{$}}
// CHECK-NEXT:   vcore.mvm shift_cut=31 wgt_addr=0 vec_addr=0 bias_addr=64 out_addr=2048 rows=24 cols=64 scaled=1
// CHECK-NEXT:   vcore.mvm act=relu shift_cut=31 acc_in=1 wgt_addr=0 vec_addr=0 bias_addr=64 out_addr=2048 rows=24 cols=64 psum_addr=512 out_zp=-128 scaled=1

// CHECK-GENERIC:      "vcore.convinit"() <{{.*}}, in_zp = 0 : i64, out_zp = 0 : i64, scaled = 1 : i64}>
// CHECK-GENERIC-NEXT: "vcore.convinit"() <{{.*}}, in_zp = -3 : i64, out_zp = 7 : i64, scaled = 1 : i64}>
// CHECK-GENERIC-NEXT: "vcore.convinit"() <{{.*}}, in_zp = 0 : i64, out_zp = 0 : i64, scaled = 0 : i64}>
// CHECK-GENERIC-NEXT: "vcore.mvm"() <{{.*}}, psum_addr = 0 : i64, out_zp = 0 : i64, scaled = 1 : i64}>
// CHECK-GENERIC-NEXT: "vcore.mvm"() <{{.*}}, acc_in = 1 : i64, {{.*}}, psum_addr = 512 : i64, out_zp = -128 : i64, scaled = 1 : i64}>
