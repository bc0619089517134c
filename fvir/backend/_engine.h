/* Shared by fvir's compiled instruction semantics (_engine.c) and its CONV product kernels
 * (_conv_kernel.c). */
#ifndef FVIR_ENGINE_H
#define FVIR_ENGINE_H

#include <stdint.h>
#include <stdlib.h>

/* The parameter vector's layout: fvir.backend.conv builds it in this order (CONV_PARAMS). */
enum {
    P_IN_ADDR, P_IN_ROWS, P_IN_COLS, P_IC, P_IN_ROW_STRIDE, P_IN_PIX_STRIDE,
    P_PAD_T, P_PAD_L, P_KH, P_KW, P_SH, P_SW, P_DH, P_DW,
    P_ROWS, P_COLS, P_OC, P_WGT_ADDR, P_IN_ZP, P_DEPTHWISE,
    P_BIAS_ADDR, P_PSUM_ADDR, P_ACC_IN, P_ACC_OUT, P_SCALED, P_SHIFT_BIAS, P_SHIFT_CUT,
    P_ACT, P_ACT_ARG, P_OUT_ZP, P_OUT_ADDR, P_OUT_ROW_STRIDE, P_OUT_PIX_STRIDE, P_MUL_MAX,
    P_COUNT
};

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
