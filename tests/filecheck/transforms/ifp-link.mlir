// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | fv-opt --hw tiny -p 'ifp-link{cores=2}' | filecheck %s --check-prefix=TWO
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | fv-opt --hw tiny -p 'ifp-link{cores=2}' | fv-opt | filecheck %s --check-prefix=TWO
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | fv-opt --hw tiny -p ifp-link | filecheck %s --check-prefix=ONE
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | fv-opt --hw tiny -p 'ifp-link{cores=2 resident=false}' | filecheck %s --check-prefix=STREAM
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | not fv-opt --hw tiny -p 'ifp-link{cores=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | not fv-opt --hw tiny -p 'ifp-link{cores=5}' 2>&1 | filecheck %s --check-prefix=FIVE
// RUN: fv-opt %s --hw tiny -p 'dnn-tile{min-tiles=4},tile-compile-frames' | not fv-opt --hw paper-u200 -p 'ifp-link{cores=2}' 2>&1 | filecheck %s --check-prefix=OTHER
// RUN: not fv-opt %s --hw tiny -p 'ifp-link{cores=2}' 2>&1 | filecheck %s --check-prefix=NOPKG

// Two quantized convs (8 -> 16 channels 3x3, then 16 -> 16 1x1, 8x8 pixels) tiled for `tiny`
// into 4 frames each, linked by the same `prepare` + `link` as `fv link`. Every accelerator
// layer is a phase followed by a barrier (SYNC id = phase, count = cores). The four equal-cost
// frames of a phase go to the cores in snake order (rank 0 -> core 0, 1 -> 1, 2 -> 1, 3 -> 0),
// so each core runs two frames per phase; `ifp.pos` is a frame's position in its core's stream
// across phases. The second TWO run re-parses the linked IR: the attributes round-trip.
//
// Weight residency: the 1x1 conv "d" is tiled by rows, so its four frames load the same 256
// bytes of weights and 64 of biases. The linker moves them to the top of tiny's 16 KiB weight
// buffer (offset 16384 - 256 = 16128) and 1 KiB bias buffer (1024 - 64 = 960) and empties
// the LOADs of every frame but the first on each core: with two cores frames 2 and 3 (640
// bytes skipped), with one core frames 1-3 (960 bytes). The 3x3 conv "c" is tiled by output
// channels: no two frames share weights, nothing moves.
// `resident=false` streams the weights as compiled.

builtin.module attributes {dnn.model = "two"} {
func.func @main(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> attributes {dnn.input_names = ["x"], dnn.output_names = ["y"]} {
  %q = dnn.quantize %x : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xi8, #dnn.fixed<5>>
  %w = dnn.weight "c1.w.q" : tensor<16x8x3x3xi8>
  %b = dnn.weight "c1.b.q" : tensor<16xi32>
  %c = dnn.conv2d %q, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] act #dnn.act<relu> shift [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9] : (tensor<1x8x8x8xi8, #dnn.fixed<5>>, tensor<16x8x3x3xi8>, tensor<16xi32>) -> tensor<1x16x8x8xi8, #dnn.fixed<4>>
  %w2 = dnn.weight "c2.w.q" : tensor<16x16x1x1xi8>
  %b2 = dnn.weight "c2.b.q" : tensor<16xi32>
  %d = dnn.conv2d %c, %w2, %b2 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] act #dnn.act<relu> shift [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8] : (tensor<1x16x8x8xi8, #dnn.fixed<4>>, tensor<16x16x1x1xi8>, tensor<16xi32>) -> tensor<1x16x8x8xi8, #dnn.fixed<4>>
  %y = dnn.dequantize %d : tensor<1x16x8x8xi8, #dnn.fixed<4>> -> tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}
}

// TWO:      ifp.package @two core "{{[0-9a-f]+}}" {{.*}} attributes {ifp.cores = 2 : i64, ifp.hw = "tiny", ifp.predicted_cycles = {{[0-9]+}} : i64, ifp.elided_bytes = 640 : i64} {
// TWO:      ifp.layer "c" conv2d ins [@q] outs [@c] attributes {ifp.phase = 0 : i64, ifp.barrier = 0 : i64, ifp.barrier_count = 2 : i64} {
// TWO-NEXT:   ifp.frame tile 0 cost [[C1:[0-9]+]] load {{[0-9]+}} save {{[0-9]+}} attributes {ifp.core = 0 : i64, ifp.pos = 0 : i64} {
// TWO:        ifp.frame tile 1 cost [[C1]] {{.*}} attributes {ifp.core = 1 : i64, ifp.pos = 0 : i64} {
// TWO:        ifp.frame tile 2 cost [[C1]] {{.*}} attributes {ifp.core = 1 : i64, ifp.pos = 1 : i64} {
// TWO:        ifp.frame tile 3 cost [[C1]] {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 1 : i64} {
// TWO:      ifp.layer "d" conv2d ins [@c] outs [@d] attributes {ifp.phase = 1 : i64, ifp.barrier = 1 : i64, ifp.barrier_count = 2 : i64} {
// TWO-NEXT:   ifp.frame tile 0 cost [[C2:[0-9]+]] {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 2 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64} {
// TWO:        ifp.frame tile 1 cost [[C2]] {{.*}} attributes {ifp.core = 1 : i64, ifp.pos = 2 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64} {
// TWO:        ifp.frame tile 2 cost [[C2]] {{.*}} attributes {ifp.core = 1 : i64, ifp.pos = 3 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64, ifp.elided} {
// TWO:        ifp.frame tile 3 cost [[C2]] {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 3 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64, ifp.elided} {

// ONE:      ifp.package @two {{.*}} attributes {ifp.cores = 1 : i64, ifp.hw = "tiny", ifp.predicted_cycles = {{[0-9]+}} : i64, ifp.elided_bytes = 960 : i64} {
// ONE:      ifp.layer "c" {{.*}} attributes {ifp.phase = 0 : i64, ifp.barrier = 0 : i64, ifp.barrier_count = 1 : i64} {
// ONE-NEXT:   ifp.frame tile 0 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 0 : i64} {
// ONE:        ifp.frame tile 1 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 1 : i64} {
// ONE:        ifp.frame tile 2 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 2 : i64} {
// ONE:        ifp.frame tile 3 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 3 : i64} {
// ONE:      ifp.layer "d" {{.*}} attributes {ifp.phase = 1 : i64, ifp.barrier = 1 : i64, ifp.barrier_count = 1 : i64} {
// ONE-NEXT:   ifp.frame tile 0 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 4 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64} {
// ONE:        ifp.frame tile 1 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 5 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64, ifp.elided} {
// ONE:        ifp.frame tile 3 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 7 : i64, ifp.wgt_offset = 16128 : i64, ifp.bias_offset = 960 : i64, ifp.elided} {

// STREAM:      ifp.package @two {{.*}} attributes {ifp.cores = 2 : i64, ifp.hw = "tiny", ifp.predicted_cycles = {{[0-9]+}} : i64, ifp.elided_bytes = 0 : i64} {
// STREAM:      ifp.layer "d"
// STREAM-NEXT:   ifp.frame tile 0 {{.*}} attributes {ifp.core = 0 : i64, ifp.pos = 2 : i64} {
// STREAM-NOT:  ifp.{{wgt_offset|bias_offset|elided}}

// ZERO:  ifp-link: cores must be in 1..4 (the cores of pool 'tiny'), got 0
// FIVE:  ifp-link: cores must be in 1..4 (the cores of pool 'tiny'), got 5
// OTHER: ifp-link: the package was compiled for another core than those of pool 'paper-u200' (core hash mismatch)
// NOPKG: ifp-link: expected one ifp.package (run tile-compile-frames first), found 0
