// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// vcore verifier errors: every field is checked against the ISA table (width, sign, enum), and
// no instruction names its own engine in its dependency masks.

"vcore.conv"() <{dpdon = 0 : i64, dpdby = 0 : i64, pad_t = 16 : i64, pad_l = 0 : i64, pad_b = 0 : i64, pad_r = 0 : i64, depthwise = 0 : i64, in_addr = 0 : i64, wgt_addr = 0 : i64, bias_addr = 0 : i64, out_addr = 0 : i64, rows = 1 : i64, cols = 1 : i64, ic = 1 : i64, oc = 1 : i64}> : () -> ()
// CHECK: CONV.pad_t = 16 does not fit its 4-bit unsigned field (range 0..15)

// -----

vcore.act func=tanh in_frac=-40 out_frac=7 in_addr=0 out_addr=0 length=1
// CHECK: ACT.in_frac = -40 does not fit its 6-bit signed field (range -32..31)

// -----

vcore.row func=softmax in_frac=3 out_frac=7 in_addr=0 out_addr=0 rows=1 length=70000
// CHECK: ROW.length = 70000 does not fit its 16-bit unsigned field (range 0..65535)

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

// -----

// The INIT instructions: a value outside its field, and an enumeration value with no name.

vcore.convinit shift_cut=64 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
// CHECK: CONVINIT.shift_cut = 64 does not fit its 6-bit unsigned field (range 0..63)

// -----

"vcore.convinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, act = 7 : i64, shift_cut = 9 : i64, shift_bias = 0 : i64, act_arg = 0 : i64, kernel_h = 3 : i64, kernel_w = 3 : i64, stride_h = 1 : i64, stride_w = 1 : i64, dilation_h = 1 : i64, dilation_w = 1 : i64, in_row_stride = 64 : i64, out_row_stride = 64 : i64, in_pix_stride = 8 : i64, out_pix_stride = 8 : i64}> : () -> ()
// CHECK: CONVINIT.act = 7 is not a valid Act (none=0, relu=1, relu6=2, leaky=3)

// -----

"vcore.poolinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, pool_type = 3 : i64, avg_shift = 0 : i64, stride_h = 1 : i64, stride_w = 1 : i64, kernel_h = 2 : i64, kernel_w = 2 : i64, avg_mul = 0 : i64, in_row_stride = 16 : i64, out_row_stride = 8 : i64, in_pix_stride = 8 : i64, out_pix_stride = 8 : i64}> : () -> ()
// CHECK: POOLINIT.pool_type = 3 is not a valid PoolType (max=0, avg=1)

// -----

"vcore.elewinit"() <{dpdon = 0 : i64, dpdby = 0 : i64, elew_type = 3 : i64, act = 0 : i64, shift_a = 0 : i64, shift_b = 0 : i64, shift_out = 7 : i64, act_arg = 0 : i64, in_row_stride = 64 : i64, out_row_stride = 64 : i64, in_pix_stride = 8 : i64, out_pix_stride = 8 : i64}> : () -> ()
// CHECK: ELEWINIT.elew_type = 3 is not a valid ElewType (add=0, mul=1)

// -----

vcore.elewinit elew_type=add shift_a=64 shift_out=7 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
// CHECK: ELEWINIT.shift_a = 64 does not fit its 6-bit unsigned field (range 0..63)

// -----

// Compute instructions: a buffer address past its 24-bit field, and a wait on the engine the
// instruction itself runs on (ELEW on MISC, MVM on CONV).

vcore.elew dpdon=L dpdby=S chans=8 in_a=0 in_b=16777216 out_addr=0 rows=8 cols=8
// CHECK: ELEW.in_b = 16777216 does not fit its 24-bit unsigned field (range 0..16777215)

// -----

vcore.elew dpdon=M chans=8 in_a=0 in_b=0 out_addr=0 rows=8 cols=8
// CHECK: ELEW.dpdon = M names its own engine (MISC); an instruction never waits on or signals that

// -----

vcore.mvm dpdon=C shift_cut=12 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=0 rows=8 cols=8
// CHECK: MVM.dpdon = C names its own engine (CONV); an instruction never waits on or signals that

// -----

// SYNC: an 8-bit core count; like END, it runs on the dispatcher and takes no masks.

vcore.sync count=256 barrier=0
// CHECK: SYNC.count = 256 does not fit its 8-bit unsigned field (range 0..255)

// -----

vcore.sync dpdby=S count=1 barrier=0
// CHECK: SYNC.dpdby = S: SYNC runs on the dispatcher as a full fence, its masks must be 0
