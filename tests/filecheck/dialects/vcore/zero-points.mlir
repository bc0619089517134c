// RUN: FV_ROUNDTRIP
// RUN: FV_GENERIC_ROUNDTRIP

// Zero points (8-bit signed, default 0, the last fields of their instruction) at both ends of
// their range: printed in layout order after every other field, left out when 0.

"test.op"() ({
  vcore.convinit act=relu shift_cut=9 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 in_zp=-128 out_zp=127
  vcore.mvm shift_cut=12 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=2048 rows=24 cols=64 out_zp=-128
  vcore.poolinit pool_type=max stride_h=2 stride_w=2 kernel_h=2 kernel_w=2 in_row_stride=64 out_row_stride=32 in_pix_stride=8 out_pix_stride=8 in_zp=127 out_zp=-3
  vcore.elewinit elew_type=add shift_out=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 zp_a=-128 zp_b=127 zp_out=5
  vcore.act func=sigmoid in_frac=4 out_frac=7 in_addr=0 out_addr=0 length=100 in_zp=-7 out_zp=-128
  vcore.act func=hardswish in_frac=4 out_frac=4 in_addr=0 out_addr=0 length=100 out_zp=127
  "test.termop"() : () -> ()
}) : () -> ()

// CHECK:      "test.op"() ({
// CHECK-NEXT:   vcore.convinit act=relu shift_cut=9 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 in_zp=-128 out_zp=127
// CHECK-NEXT:   vcore.mvm shift_cut=12 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=2048 rows=24 cols=64 out_zp=-128
// CHECK-NEXT:   vcore.poolinit pool_type=max stride_h=2 stride_w=2 kernel_h=2 kernel_w=2 in_row_stride=64 out_row_stride=32 in_pix_stride=8 out_pix_stride=8 in_zp=127 out_zp=-3
// CHECK-NEXT:   vcore.elewinit elew_type=add shift_out=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8 zp_a=-128 zp_b=127 zp_out=5
// CHECK-NEXT:   vcore.act func=sigmoid in_frac=4 out_frac=7 in_addr=0 out_addr=0 length=100 in_zp=-7 out_zp=-128
// CHECK-NEXT:   vcore.act func=hardswish in_frac=4 out_frac=4 in_addr=0 out_addr=0 length=100 out_zp=127

// CHECK-GENERIC:      "vcore.convinit"() <{{.*}}, out_pix_stride = 8 : i64, in_zp = -128 : i64, out_zp = 127 : i64, scaled = 0 : i64}>
// CHECK-GENERIC-NEXT: "vcore.mvm"() <{{.*}}, psum_addr = 0 : i64, out_zp = -128 : i64, scaled = 0 : i64}>
// CHECK-GENERIC-NEXT: "vcore.poolinit"() <{{.*}}, window_h = 0 : i64, in_zp = 127 : i64, out_zp = -3 : i64}>
// CHECK-GENERIC-NEXT: "vcore.elewinit"() <{{.*}}, out_pix_stride = 8 : i64, zp_a = -128 : i64, zp_b = 127 : i64, zp_out = 5 : i64}>
// CHECK-GENERIC-NEXT: "vcore.act"() <{{.*}}, length = 100 : i64, in_zp = -7 : i64, out_zp = -128 : i64}>
// CHECK-GENERIC-NEXT: "vcore.act"() <{{.*}}, length = 100 : i64, in_zp = 0 : i64, out_zp = 127 : i64}>
