// RUN: fv-opt %s --split-input-file --verify-diagnostics | filecheck %s

// ifp verifier errors: token discipline per frame, DDR and buffer bounds, references.

// A frame whose SAVE waits for a token no earlier instruction signals.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: instruction 1 (vcore.save) waits for a LOAD token that no earlier instruction of the frame signals

// -----

// A frame that leaves a token behind (the LOAD signals the SAVE, which never takes it).
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: the frame leaves dependency tokens behind (LOAD->SAVE): every token a frame signals must be consumed within it

// -----

// The linker, not the compiler, inserts barriers.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.sync count=2 barrier=0
    }
  }
}
// CHECK: instruction 2: vcore.sync does not belong in a frame (the linker inserts SYNC and END)

// -----

// A SAVE reaching past its segment (64 bytes; 4 rows of 32 bytes).
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=32 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: layer "copy" frame 0 instruction 1: bytes [0, 112) exceed segment @output of 64 bytes

// -----

// A LOAD past the end of the fmap buffer (1024 bytes).
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=1000 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: layer "copy" frame 0 instruction 0: bytes up to 1064 exceed the fmap buffer of 1024 bytes

// -----

// A tensor outside its segment.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @z in @input at 0x20 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: tensor @z: bytes [32, 96) exceed segment @input of 64 bytes

// -----

// A reference to a tensor that does not exist.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@nope] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: layer "copy": @nope is not a tensor

// -----

// A weight block outside the weights segment.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.const "w" in @input at 0x0 size 16 ohwi
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 0 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: weight block "w" must be in a weights segment

// -----

// Frames of a layer are its tiles 0..n-1.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "copy" copy ins [@x] outs [@y] {
    ifp.frame tile 3 cost 1 load 64 save 64 {
      vcore.load dpdby=S buf=fmap seg=@input off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
      vcore.save dpdon=L buf=fmap seg=@output off=0x0 addr=0 rows=4 cols=4 chans=4 buf_pix_stride=4 ddr_row_stride=16 ddr_pix_stride=4 buf_row_stride=16
    }
  }
}
// CHECK: frame tiles must be 0..0, got [3]

// -----

// A host layer has its function and no frames.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.layer "h" host ins [@x] outs [@y]
}
// CHECK: a host layer has an ir and no frames

// -----

// Names are unique per kind.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @input activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
}
// CHECK: segment @input defined twice

// -----

// Unknown enumerations.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int4 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
}
// CHECK: dtype must be one of int8, float32, got 'int4'

// -----

// A weight block with a layout the emitter does not know.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size 64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.const "w" in @weights at 0x0 size 64 zip
}
// CHECK: transform must be one of ohwi, dw, rows, bias, scaled, zeros, ones, got 'zip'

// -----

// Sizes are non-negative.
ifp.package @p core "" buffers [1024, 1024, 64] inputs [@x] outputs [@y] input_names ["x"] output_names ["y"] {
  ifp.segment @weights weights size -64
  ifp.segment @input input size 64
  ifp.segment @output output size 64
  ifp.segment @activations activation size 0
  ifp.tensor @x in @input at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
  ifp.tensor @y in @output at 0x0 shape [1, 4, 4, 4] int8 frac 0 nhwc
}
// CHECK: segment size must be non-negative

// -----

// Segments and weight blocks live in a package.
ifp.segment @weights weights size 64
// CHECK: 'ifp.segment' expects parent op 'ifp.package'

// -----

ifp.const "w" in @weights at 0x0 size 64 ohwi
// CHECK: 'ifp.const' expects parent op 'ifp.package'
