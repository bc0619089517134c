// RUN: fv-opt %s --split-input-file --parsing-diagnostics | filecheck %s

// Custom-syntax errors of vcore ops: a required field left out, a field given twice, a value
// that is not an integer, an enum member or engine letters.

vcore.mvm rows=1 cols=1 wgt_addr=0 vec_addr=0 bias_addr=0 out_addr=0
// CHECK: MVM.shift_cut is required (no default)

// -----

vcore.sync count=2 count=3 barrier=0
// CHECK: field 'count' given twice

// -----

vcore.poolinit pool_type=median stride_h=1 stride_w=1 kernel_h=2 kernel_w=2 in_row_stride=1 out_row_stride=1 in_pix_stride=1 out_pix_stride=1
// CHECK: 'median' is not a valid value for 'pool_type'

// -----

vcore.sync dpdon=XY count=2 barrier=0
// CHECK: 'XY' is not a valid value for 'dpdon'
