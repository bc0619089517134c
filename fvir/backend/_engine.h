/* Shared by fvir's compiled instruction semantics (_engine.c) and its CONV product kernels
 * (_conv_kernel.c). */
#ifndef FVIR_ENGINE_H
#define FVIR_ENGINE_H

#include <stdint.h>
#include <stdlib.h>

/* A CONV's parameter vector: the P_* entries by name. Python builds vectors by these names
 * (`param_names`), so the order is written only here. */
#define CONV_PARAMS(X) \
    X(IN_ADDR, in_addr) X(IN_ROWS, in_rows) X(IN_COLS, in_cols) X(IC, ic) \
    X(IN_ROW_STRIDE, in_row_stride) X(IN_PIX_STRIDE, in_pix_stride) X(PAD_T, pad_t) \
    X(PAD_L, pad_l) X(KH, kh) X(KW, kw) X(SH, sh) X(SW, sw) X(DH, dh) X(DW, dw) X(ROWS, rows) \
    X(COLS, cols) X(OC, oc) X(WGT_ADDR, wgt_addr) X(IN_ZP, in_zp) X(DEPTHWISE, depthwise) \
    X(BIAS_ADDR, bias_addr) X(PSUM_ADDR, psum_addr) X(ACC_IN, acc_in) X(ACC_OUT, acc_out) \
    X(SCALED, scaled) X(SHIFT_BIAS, shift_bias) X(SHIFT_CUT, shift_cut) X(ACT, act) \
    X(ACT_ARG, act_arg) X(OUT_ZP, out_zp) X(OUT_ADDR, out_addr) \
    X(OUT_ROW_STRIDE, out_row_stride) X(OUT_PIX_STRIDE, out_pix_stride) X(MUL_MAX, mul_max)
#define P_ENUM(NAME, name) P_##NAME,
enum { CONV_PARAMS(P_ENUM) P_COUNT };

enum { OK = 0, NO_MEMORY = -2 };

/* The exact products of one non-depthwise int8 CONV with the parameters p:
 * acc[(y * cols + x) * oc + o] = sum over ky, kx, i of P[y * sh + ky * dh, x * sw + kx * dw, i]
 *   * WGT[wgt_addr + ((o * kh + ky) * kw + kx) * ic + i], where P is the input block at
 * FMAP[in_addr] (row and pixel strides from p) padded with in_zp (docs/isa.md, CONV).
 * The caller has bounds-checked the block. `kernel`: one of KERNEL_*. Returns OK or NO_MEMORY. */
enum { KERNEL_PORTABLE = 0, KERNEL_VNNI = 1 };
int conv_products(const int8_t *fm, const int8_t *wgt, const int64_t *p, int64_t *acc,
                  int kernel);

/* Per-thread work memory, grown on demand (64-byte aligned) and kept: the compiled code runs
 * without the GIL, on several host threads at once. NULL when out of memory. */
struct scratch {
    void *p;
    size_t n;
};

static inline void *grow(struct scratch *b, size_t n)
{
    if (n > b->n) {
        size_t cap = (n + n / 2 + 63) / 64 * 64;
        free(b->p);
        b->p = aligned_alloc(64, cap);
        b->n = b->p ? cap : 0;
    }
    return b->p;
}

/* The fastest kernel this CPU runs. */
int best_kernel(void);

#endif
