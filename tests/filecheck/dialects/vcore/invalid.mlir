// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// vcore verifier errors: every field is checked against the ISA table (width, sign, enum), and
// no instruction names its own engine in its dependency masks.

"vcore.conv"() <{dpdon = 0 : i64, dpdby = 0 : i64, pad_t = 16 : i64, pad_l = 0 : i64, pad_b = 0 : i64, pad_r = 0 : i64, depthwise = 0 : i64, in_addr = 0 : i64, wgt_addr = 0 : i64, bias_addr = 0 : i64, out_addr = 0 : i64, rows = 1 : i64, cols = 1 : i64, ic = 1 : i64, oc = 1 : i64}> : () -> ()
// CHECK: CONV.pad_t = 16 does not fit its 4-bit unsigned field (range 0..15)

// -----

vcore.act func=tanh in_frac=-40 out_frac=7 in_addr=0 out_addr=0 length=1
// CHECK: ACT.in_frac = -40 does not fit its 6-bit signed field (range -32..31)

// -----

"vcore.load"() <{dpdon = 0 : i64, dpdby = 0 : i64, buf = 3 : i64, seg = 0 : i64, off = 0 : i64, addr = 0 : i64, rows = 1 : i64, cols = 1 : i64, chans = 1 : i64, buf_pix_stride = 1 : i64, ddr_row_stride = 1 : i64, ddr_pix_stride = 1 : i64, buf_row_stride = 1 : i64}> : () -> ()
// CHECK: LOAD.buf = 3 is not a valid Buf (fmap=0, weight=1, bias=2)

// -----

vcore.conv dpdon=C oc=1 ic=1 rows=1 cols=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=0
// CHECK: CONV.dpdon = C names its own engine (CONV); an instruction never waits on or signals that

// -----

vcore.save dpdby=S buf=fmap seg=0 off=0 addr=0 rows=1 cols=1 chans=1 buf_pix_stride=1 ddr_row_stride=1 ddr_pix_stride=1 buf_row_stride=1
// CHECK: SAVE.dpdby = S names its own engine (SAVE)

// -----

vcore.end dpdon=L
// CHECK: END.dpdon = L: END runs on the dispatcher as a full fence, its masks must be 0

// -----

"vcore.pool"() <{dpdon = 0 : i64, dpdby = 0 : i64, in_addr = @x, out_addr = 0 : i64, rows = 1 : i64, cols = 1 : i64, chans = 1 : i64}> : () -> ()
// CHECK: @x should be of base attribute integer
