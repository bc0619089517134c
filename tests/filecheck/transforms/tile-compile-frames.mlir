// RUN: fv-opt %s --split-input-file -p 'dnn-tile{min-tiles=2},tile-compile-frames' | filecheck %s
// RUN: not fv-opt %s --split-input-file -p tile-compile-frames 2>&1 | filecheck %s --check-prefix=UNTILED

// A small quantized conv (8 -> 16 channels, 3x3, pad 1, 8x8) with per-channel shifts: channels
// 0-11 shift 9, 12-15 shift 8. Tiled into 2 row bands x 2 channel groups of 8; each tile is one
// frame. The second tile of the first band (channels 8-15) shows the whole sequence:
//   weights: 8 output channels x [3][3][8] = 8 rows of 72 bytes, from byte 8 * 72 = 0x240 of the
//            OHWI block; biases: 8 x int32 from 0x480 + 4 * 8;
//   input:   rows [0, 5) (4 output rows + halo, the top halo row is padding) x 8 cols x 8 chans
//            (the whole NHWC row is contiguous: 64 bytes), signalling the conv engine;
//   compute: one CONVINIT per distinct shift, one CONV per run of equal shift: channels 8-11
//            (oc=4, weights at 0, biases at 0, output at 320 = the fmap after the 5x64-byte
//            window) and channels 12-15 (weights at 4 * 72 = 288, biases at 16, output at 324);
//            the first CONV waits for the load, the last signals the save;
//   save:    4 rows x 8 cols x 8 channels to byte 8 (channel 8) of the 16-channel output, pixel
//            stride 16, row stride 128; it signals the closing fence, an empty LOAD that waits
//            for it, so that the next frame on the core cannot overwrite buffers still in use.

builtin.module attributes {dnn.model = "small"} {
func.func @main(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {dnn.input_names = ["x"], dnn.output_names = ["y"]} {
  %q = dnn.quantize %x : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xi8, #dnn.fixed<5>>
  %w = dnn.weight "conv.w.q" : tensor<16x8x3x3xi8>
  %b = dnn.weight "conv.b.q" : tensor<16xi32>
  %c = dnn.conv2d %q, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<relu> shift [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8] : (tensor<1x8x8x8xi8, #dnn.fixed<5>>, tensor<16x8x3x3xi8>, tensor<16xi32>) -> tensor<1x16x8x8xi8, #dnn.fixed<4>>
  %y = dnn.dequantize %c : tensor<1x16x8x8xi8, #dnn.fixed<4>> -> tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}
}

// CHECK:      ifp.package @small core
// CHECK:      ifp.segment @weights weights size 1216
// CHECK:      ifp.segment @input input size 512
// CHECK:      ifp.segment @output output size 1024
// CHECK:      ifp.segment @activations activation size 0
// CHECK:      ifp.tensor @q in @input at 0x0 shape [1, 8, 8, 8] int8 frac 5 nhwc
// CHECK:      ifp.tensor @c in @output at 0x0 shape [1, 16, 8, 8] int8 frac 4 nhwc
// CHECK:      ifp.const "conv.w.q" in @weights at 0x0 size 1152 ohwi
// CHECK:      ifp.const "conv.b.q" in @weights at 0x480 size 64 bias
// CHECK:      ifp.layer "c" conv2d ins [@q] outs [@c] {
// CHECK:      ifp.frame tile 1 cost {{[0-9]+}} load 928 save 256 {
// CHECK-NEXT:   vcore.load buf=weight seg=@weights off=0x240 addr=0 rows=8 cols=1 chans=72 buf_pix_stride=72 ddr_row_stride=72 ddr_pix_stride=72 buf_row_stride=72
// CHECK-NEXT:   vcore.load buf=bias seg=@weights off=0x4a0 addr=0 rows=1 cols=1 chans=32 buf_pix_stride=32 ddr_row_stride=32 ddr_pix_stride=32 buf_row_stride=32
// CHECK-NEXT:   vcore.load dpdby=C buf=fmap seg=@input off=0x0 addr=0 rows=5 cols=8 chans=8 buf_pix_stride=8 ddr_row_stride=64 ddr_pix_stride=8 buf_row_stride=64
// CHECK-NEXT:   vcore.convinit act=relu shift_cut=9 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:   vcore.conv dpdon=L pad_t=1 pad_l=1 pad_r=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=320 rows=4 cols=8 ic=8 oc=4
// CHECK-NEXT:   vcore.convinit act=relu shift_cut=8 kernel_h=3 kernel_w=3 stride_h=1 stride_w=1 in_row_stride=64 out_row_stride=64 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:   vcore.conv dpdby=S pad_t=1 pad_l=1 pad_r=1 in_addr=0 wgt_addr=288 bias_addr=16 out_addr=324 rows=4 cols=8 ic=8 oc=4
// CHECK-NEXT:   vcore.save dpdon=C dpdby=L buf=fmap seg=@output off=0x8 addr=320 rows=4 cols=8 chans=8 buf_pix_stride=8 ddr_row_stride=128 ddr_pix_stride=16 buf_row_stride=64
// CHECK-NEXT:   vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
// CHECK:      ifp.frame tile 3

// -----

// Pooling, a residual add, a flatten into a dense layer and a host leaky_relu, in float IR
// (tiled as if int8: frac 0, shifts 0). Pool: POOLINIT, then LOAD rows -> POOL -> SAVE. Add:
// both inputs loaded (the second LOAD signals), ELEW in place. Dense: weights, the vector (the
// flatten moved no data: the 2x2x8 NHWC block of %s is loaded as 32 contiguous bytes, and the
// weights' columns were permuted to (h, w, c): params [0, 8, 2, 2]), biases (signalling), one
// MVM, and the SAVE of 8 outputs. The leaky_relu becomes a host layer whose ir is a float32 func.

builtin.module attributes {dnn.model = "head"} {
func.func @main(%x: tensor<1x8x4x4xf32>, %r: tensor<1x8x2x2xf32>) -> tensor<1x10xf32> {
  %p = dnn.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  %s = dnn.add %p, %r act #dnn.act<relu> : (tensor<1x8x2x2xf32>, tensor<1x8x2x2xf32>) -> tensor<1x8x2x2xf32>
  %f = dnn.flatten %s : tensor<1x8x2x2xf32> -> tensor<1x32xf32>
  %w = dnn.weight "fc.w" : tensor<10x32xf32>
  %b = dnn.weight "fc.b" : tensor<10xf32>
  %y = dnn.dense %f, %w, %b trans_b : (tensor<1x32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %z = dnn.leaky_relu %y alpha 1.000000e-01 : tensor<1x10xf32>
  func.return %z : tensor<1x10xf32>
}
}

// CHECK:      ifp.package @head
// CHECK:      ifp.tensor @x in @input at 0x0 shape [1, 8, 4, 4] int8 frac 0 nhwc
// CHECK:      ifp.tensor @r in @input at 0x80 shape [1, 8, 2, 2] int8 frac 0 nhwc
// CHECK:      ifp.tensor @z in @output at 0x0 shape [1, 10] float32 frac 0 flat
// CHECK:      ifp.const "fc.w" in @weights at 0x0 size 320 rows params [0, 8, 2, 2]
// CHECK:      ifp.const "fc.b" in @weights at 0x140 size 40 bias
// CHECK:      ifp.layer "p" pool2d ins [@x] outs [@p] {
// CHECK-NEXT:   ifp.frame tile 0
// CHECK-NEXT:     vcore.poolinit pool_type=max stride_h=2 stride_w=2 kernel_h=2 kernel_w=2 in_row_stride=32 out_row_stride=16 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:     vcore.load dpdby=M buf=fmap seg=@input off=0x0 addr=0 rows=2 cols=4 chans=8 buf_pix_stride=8 ddr_row_stride=32 ddr_pix_stride=8 buf_row_stride=32
// CHECK-NEXT:     vcore.pool dpdon=L dpdby=S in_addr=0 out_addr=64 rows=1 cols=2 chans=8
// CHECK-NEXT:     vcore.save dpdon=M dpdby=L buf=fmap seg=@activations off=0x0 addr=64 rows=1 cols=2 chans=8 buf_pix_stride=8 ddr_row_stride=16 ddr_pix_stride=8 buf_row_stride=16
// CHECK-NEXT:     vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
// CHECK:      ifp.layer "s" add ins [@p, @r] outs [@s] {
// CHECK-NEXT:   ifp.frame tile 0
// CHECK-NEXT:     vcore.elewinit elew_type=add act=relu shift_out=0 in_row_stride=16 out_row_stride=16 in_pix_stride=8 out_pix_stride=8
// CHECK-NEXT:     vcore.load buf=fmap seg=@activations off=0x0 addr=0 rows=1 cols=2 chans=8 buf_pix_stride=8 ddr_row_stride=16 ddr_pix_stride=8 buf_row_stride=16
// CHECK-NEXT:     vcore.load dpdby=M buf=fmap seg=@input off=0x80 addr=16 rows=1 cols=2 chans=8 buf_pix_stride=8 ddr_row_stride=16 ddr_pix_stride=8 buf_row_stride=16
// CHECK-NEXT:     vcore.elew dpdon=L dpdby=S chans=8 in_a=0 in_b=16 out_addr=0 rows=1 cols=2
// CHECK-NEXT:     vcore.save dpdon=M dpdby=L buf=fmap seg=@activations off=0x40 addr=0 rows=1 cols=2 chans=8 buf_pix_stride=8 ddr_row_stride=16 ddr_pix_stride=8 buf_row_stride=16
// CHECK-NEXT:     vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
// CHECK:      ifp.layer "y" dense ins [@s] outs [@y] {
// CHECK-NEXT:   ifp.frame tile 0
// CHECK-NEXT:     vcore.load buf=weight seg=@weights off=0x0 addr=0 rows=8 cols=1 chans=32 buf_pix_stride=32 ddr_row_stride=32 ddr_pix_stride=32 buf_row_stride=32
// CHECK-NEXT:     vcore.load buf=fmap seg=@activations off=0x40 addr=0 rows=2 cols=2 chans=8 buf_pix_stride=8 ddr_row_stride=16 ddr_pix_stride=8 buf_row_stride=16
// CHECK-NEXT:     vcore.load dpdby=C buf=bias seg=@weights off=0x140 addr=0 rows=1 cols=1 chans=32 buf_pix_stride=32 ddr_row_stride=32 ddr_pix_stride=32 buf_row_stride=32
// CHECK-NEXT:     vcore.mvm dpdon=L dpdby=S shift_cut=0 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=32 rows=8 cols=32
// CHECK-NEXT:     vcore.save dpdon=C dpdby=L buf=fmap seg=@activations off=0x0 addr=32 rows=1 cols=1 chans=8 buf_pix_stride=8 ddr_row_stride=10 ddr_pix_stride=10 buf_row_stride=8
// CHECK-NEXT:     vcore.load dpdon=S buf=fmap seg=@weights off=0x0 addr=0 rows=0 cols=0 chans=0 buf_pix_stride=0 ddr_row_stride=0 ddr_pix_stride=0 buf_row_stride=0
// CHECK:      ifp.layer "host0" host ins [@y] outs [@z] ir "func.func @main(%0: tensor<1x10xf32>) -> tensor<1x10xf32> {\0A  %z = dnn.leaky_relu %0 alpha 1.000000e-01 : tensor<1x10xf32>\0A  func.return %z : tensor<1x10xf32>\0A}"

// Without dnn-tile first, the module has no tile.core: one line naming the pass, no traceback.
// UNTILED:     {{^}}fv-opt: error: tile-compile-frames: the module is not tiled (no tile.core attribute): run dnn-tile first{{$}}
// UNTILED-NOT: {{.}}

// -----

// A requantize (1x8x2x2, from #dnn.fixed<5, -128> to #dnn.fixed<4, 5>) is an ACT with the
// identity table: its exponents and zero points are the two types', in place over each tile
// (2 row bands of 1 row x 2 cols x 8 channels = 16 bytes).

builtin.module attributes {dnn.model = "rq"} {
func.func @main(%x: tensor<1x8x2x2xf32>) -> tensor<1x8x2x2xf32> attributes {dnn.input_names = ["x"], dnn.output_names = ["y"]} {
  %q = dnn.quantize %x : tensor<1x8x2x2xf32> -> tensor<1x8x2x2xi8, #dnn.fixed<5, -128>>
  %r = dnn.requantize %q : tensor<1x8x2x2xi8, #dnn.fixed<5, -128>> -> tensor<1x8x2x2xi8, #dnn.fixed<4, 5>>
  %y = dnn.dequantize %r : tensor<1x8x2x2xi8, #dnn.fixed<4, 5>> -> tensor<1x8x2x2xf32>
  func.return %y : tensor<1x8x2x2xf32>
}
}

// CHECK:      ifp.package @rq
// CHECK:      ifp.layer "r" requantize ins [@q] outs [@r] {
// CHECK-NEXT:   ifp.frame tile 0
// CHECK-NEXT:     vcore.load dpdby=M buf=fmap seg=@input off=0x0 addr=0 rows=1 cols=2 chans=8
// CHECK-NEXT:     vcore.act dpdon=L dpdby=S func=identity in_frac=5 out_frac=4 in_addr=0 out_addr=0 length=16 in_zp=-128 out_zp=5
// CHECK-NEXT:     vcore.save dpdon=M dpdby=L buf=fmap seg=@output off=0x0 addr=0 rows=1 cols=2 chans=8
// CHECK:        ifp.frame tile 1
// CHECK-NEXT:     vcore.load dpdby=M buf=fmap seg=@input off=0x10
// CHECK-NEXT:     vcore.act dpdon=L dpdby=S func=identity in_frac=5 out_frac=4 in_addr=0 out_addr=0 length=16 in_zp=-128 out_zp=5
