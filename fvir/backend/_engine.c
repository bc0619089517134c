/* fvir's compiled instruction semantics: int8 CONV and ELEW, LOAD/SAVE's copy, and the frame
 * loop that runs them in program order (docs/isa.md has the pseudo-code of each).
 *
 * These are the only definitions of that arithmetic. The Python steps (fvir.backend.conv,
 * dma, misc) check an instruction's bounds and call these functions; the frame loop
 * (`run_spans`, driven by fvir.backend.engine) calls the same functions after the same
 * checks, and stops, leaving the instruction to Python, where a check fails or where it
 * does not run the instruction. fp32 mode (a different meaning, see
 * fvir.backend.semantics) stays in numpy.
 *
 * 1. CONV: the exact products (_conv_kernel.c; depthwise here, a direct multiply-accumulate
 *    in int32), then acc += BIAS32[psum] (acc_in) or BIAS32[bias] << shift_bias; with acc_out
 *    the int32 partial sums go back to the bias buffer; otherwise, after checking every
 *    multiplier (scaled) and the activation, requant(acc * mul, shift_cut, act, act_arg,
 *    out_zp) in int64, stored pixel by pixel in loop order (where the output block overlaps
 *    itself the later write wins, as in the sequential pseudo-code). Nothing is written
 *    before the checks.
 * 2. ELEW: (a - zp_a) << shift_a (+ or *) (b - zp_b) << shift_b, requantized like CONV, in
 *    int64; all operands are read before any result is written.
 * 3. LOAD/SAVE: runs of `chans` elements in loop order.
 * 4. POOL: window maxima or sums (with the partial results of a window split over rows),
 *    requantized; MVM: a 1 x 1 CONV of one pixel; ACT: each byte through the instruction's
 *    256-entry table (the tables are built in Python from the real functions).
 * 5. The frame loop: instruction rows [opcode, fields in the ISA table's order]; the columns
 *    of the fields it reads are given at import (`configure`), so the ISA table stays the
 *    one source of field positions. CONVINIT and ELEWINIT latch their rows into an array the
 *    Python side shares. The GIL is released while it runs.
 *
 * Arithmetic on int64 wraps (done in uint64), as numpy's int64 does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#include "_engine.h"

enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKY = 3 };
enum { BAD_ACT = -1 };  /* > 0: 1 + the channel of a bad multiplier */

static inline int64_t rshift_round(int64_t x, int64_t s)
{
    if (s <= 0)
        return x;
    return (int64_t)((uint64_t)x + ((uint64_t)1 << (s - 1))) >> s;  /* wraps like numpy */
}

static inline int32_t load_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);  /* little-endian hosts: BIAS32 is little-endian */
    return v;
}

/* The padded input P[py, px, c] as a byte (in_zp outside the block X). */
static inline int8_t padded_at(const int8_t *fm, const int64_t *p, int64_t py, int64_t px,
                               int64_t c)
{
    int64_t y = py - p[P_PAD_T], x = px - p[P_PAD_L];
    if (y < 0 || y >= p[P_IN_ROWS] || x < 0 || x >= p[P_IN_COLS])
        return (int8_t)p[P_IN_ZP];
    return fm[p[P_IN_ADDR] + y * p[P_IN_ROW_STRIDE] + x * p[P_IN_PIX_STRIDE] + c];
}

static int KERNEL;  /* the product kernel in use (best_kernel unless a test asks) */

/* acc [M x oc] of a depthwise CONV (weights [kh][kw][oc]). */
static void depthwise_products(const int8_t *fm, const int8_t *wgt, const int64_t *p,
                               int64_t *acc)
{
    const int64_t rows = p[P_ROWS], cols = p[P_COLS], oc = p[P_OC];
    const int64_t kh = p[P_KH], kw = p[P_KW];
    const int8_t *wsrc = wgt + p[P_WGT_ADDR];
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++) {
            int64_t *out = acc + (y * cols + x) * oc;
            memset(out, 0, sizeof(int64_t) * (size_t)oc);
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++) {
                    int64_t py = y * p[P_SH] + ky * p[P_DH], px = x * p[P_SW] + kx * p[P_DW];
                    const int8_t *wr = wsrc + (ky * kw + kx) * oc;
                    for (int64_t o = 0; o < oc; o++)
                        out[o] += (int32_t)padded_at(fm, p, py, px, o) * (int32_t)wr[o];
                }
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Requantization (docs/isa.md, Pseudo-code helpers) */

static inline int8_t requant(int64_t v, int64_t s, int64_t act, int64_t arg, int64_t zp)
{
    int64_t y = rshift_round(v, s);
    if (act == ACT_RELU)
        y = y > 0 ? y : 0;
    else if (act == ACT_RELU6)
        y = y > 0 ? (y < arg ? y : arg) : (0 < arg ? 0 : arg);
    else if (act == ACT_LEAKY && y < 0)
        y = rshift_round((int64_t)((uint64_t)y * (uint64_t)arg), 8);
    y += zp;
    return (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
}

/* out[o] = requant((acc[o] + base[o]) * mul[o], s, act, arg, zp) for o < n (mul NULL: 1; y:
 * n int64 of work memory): the
 * loop of every CONV output pixel, specialized by activation so that it vectorizes; cloned
 * for x86-64-v4 (AVX-512: 64-bit multiplies in vectors) and chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "default")))
#endif
static void requant_pixel(const int64_t *restrict acc, const int64_t *restrict base,
                          const int64_t *restrict mul, int64_t n, int64_t s, int64_t act,
                          int64_t arg, int64_t zp, int64_t *restrict y, uint8_t *restrict out)
{
    const uint64_t half = s > 0 ? (uint64_t)1 << (s - 1) : 0;
    const int64_t lo = -128 - zp, hi = 127 - zp;  /* sat8(y + zp) = clip(y, lo, hi) + zp */
    for (int64_t o = 0; o < n; o++) {
        uint64_t v = (uint64_t)acc[o] + (uint64_t)base[o];
        if (mul)
            v *= (uint64_t)mul[o];
        y[o] = (int64_t)(v + half) >> s;
    }
    switch (act) {
    case ACT_RELU:
        for (int64_t o = 0; o < n; o++)
            y[o] = y[o] > 0 ? y[o] : 0;
        break;
    case ACT_RELU6:
        for (int64_t o = 0; o < n; o++)
            y[o] = y[o] > 0 ? (y[o] < arg ? y[o] : arg) : (0 < arg ? 0 : arg);
        break;
    case ACT_LEAKY:
        for (int64_t o = 0; o < n; o++)
            if (y[o] < 0)
                y[o] = rshift_round((int64_t)((uint64_t)y[o] * (uint64_t)arg), 8);
        break;
    default:
        break;
    }
    for (int64_t o = 0; o < n; o++)
        out[o] = (uint8_t)(int8_t)((y[o] < lo ? lo : y[o] > hi ? hi : y[o]) + zp);
}

static _Thread_local struct scratch ACC, CHANNELS;

static int conv_int8(uint8_t *fmap, const uint8_t *weight, uint8_t *bias, const int64_t *p)
{
    const int64_t m = p[P_ROWS] * p[P_COLS], oc = p[P_OC], cols = p[P_COLS];
    const int64_t bstride = p[P_SCALED] ? 8 : 4;
    const int acc_in = p[P_ACC_IN] != 0, acc_out = p[P_ACC_OUT] != 0;
    if (!acc_out) {  /* checked before anything is written */
        if (p[P_SCALED])
            for (int64_t o = 0; o < oc; o++) {
                int64_t mul = load_i32(bias + p[P_BIAS_ADDR] + 8 * o + 4);
                if (mul < 1 || mul > p[P_MUL_MAX])
                    return (int)(1 + o);
            }
        if (p[P_ACT] < ACT_NONE || p[P_ACT] > ACT_LEAKY)
            return BAD_ACT;
    }
    int64_t *acc = grow(&ACC, sizeof(int64_t) * (size_t)(m * oc + 1));
    int64_t *chan = grow(&CHANNELS, sizeof(int64_t) * (size_t)(3 * oc + 1));
    if (!acc || !chan)
        return NO_MEMORY;
    const int8_t *fm = (const int8_t *)fmap, *wgt = (const int8_t *)weight;
    if (p[P_DEPTHWISE])
        depthwise_products(fm, wgt, p, acc);
    else if (conv_products(fm, wgt, p, acc, KERNEL) != OK)
        return NO_MEMORY;
    /* per channel: BIAS32[b] << shift_bias (0 with acc_in: the partial sums replace it), and
     * the multiplier; read only where the pseudo-code reads them (the caller checked those) */
    int64_t *bias_term = chan, *mul = p[P_SCALED] && !acc_out ? chan + oc : NULL;
    for (int64_t o = 0; o < oc; o++) {
        bias_term[o] = acc_in ? 0 : (int64_t)((uint64_t)(int64_t)load_i32(
                                         bias + p[P_BIAS_ADDR] + bstride * o) << p[P_SHIFT_BIAS]);
        if (mul)
            mul[o] = load_i32(bias + p[P_BIAS_ADDR] + 8 * o + 4);
    }
    if (acc_in)
        for (int64_t i = 0; i < m * oc; i++)
            acc[i] = (int64_t)((uint64_t)acc[i] + (uint64_t)(int64_t)load_i32(
                                   bias + p[P_PSUM_ADDR] + 4 * i));
    if (acc_out) {
        for (int64_t i = 0; i < m * oc; i++) {
            uint64_t v = (uint64_t)acc[i] + (uint64_t)bias_term[i % oc];
            int32_t w = (int32_t)(uint32_t)v;
            memcpy(bias + p[P_PSUM_ADDR] + 4 * i, &w, 4);
        }
        return OK;
    }
    for (int64_t i = 0; i < m; i++) {
        uint8_t *out = fmap + p[P_OUT_ADDR] + (i / cols) * p[P_OUT_ROW_STRIDE]
                       + (i % cols) * p[P_OUT_PIX_STRIDE];
        requant_pixel(acc + i * oc, bias_term, mul, oc, p[P_SHIFT_CUT], p[P_ACT], p[P_ACT_ARG],
                      p[P_OUT_ZP], chan + 2 * oc, out);
    }
    return OK;
}

/* ---------------------------------------------------------------------------------------- */
/* The frame loop: LOAD, SAVE, the INITs, CONV, ELEW, POOL, MVM, ACT, SYNC and END of clean
 * frames */

/* The fields it reads. Their columns in a program row come from the ISA table at import
 * (`configure`): this file names fields, it never numbers them. */
#define DMA_FIELDS(X, OP) X(OP, buf) X(OP, seg) X(OP, off) X(OP, addr) X(OP, rows) X(OP, cols) \
    X(OP, chans) X(OP, buf_pix_stride) X(OP, ddr_row_stride) X(OP, ddr_pix_stride)         \
    X(OP, buf_row_stride)
#define FIELDS(X)                                                                          \
    DMA_FIELDS(X, LOAD) DMA_FIELDS(X, SAVE)                                                \
    X(CONVINIT, act) X(CONVINIT, shift_cut) X(CONVINIT, shift_bias) X(CONVINIT, act_arg)   \
    X(CONVINIT, kernel_h) X(CONVINIT, kernel_w) X(CONVINIT, stride_h) X(CONVINIT, stride_w) \
    X(CONVINIT, dilation_h) X(CONVINIT, dilation_w) X(CONVINIT, in_row_stride)             \
    X(CONVINIT, out_row_stride) X(CONVINIT, in_pix_stride) X(CONVINIT, out_pix_stride)     \
    X(CONVINIT, in_zp) X(CONVINIT, out_zp) X(CONVINIT, scaled)                             \
    X(CONV, pad_t) X(CONV, pad_l) X(CONV, pad_b) X(CONV, pad_r) X(CONV, depthwise)         \
    X(CONV, acc_in) X(CONV, acc_out) X(CONV, in_addr) X(CONV, wgt_addr) X(CONV, bias_addr) \
    X(CONV, out_addr) X(CONV, rows) X(CONV, cols) X(CONV, ic) X(CONV, oc) X(CONV, psum_addr) \
    X(ELEWINIT, elew_type) X(ELEWINIT, act) X(ELEWINIT, shift_a) X(ELEWINIT, shift_b)      \
    X(ELEWINIT, shift_out) X(ELEWINIT, act_arg) X(ELEWINIT, bcast_b)                       \
    X(ELEWINIT, in_row_stride) X(ELEWINIT, out_row_stride) X(ELEWINIT, in_pix_stride)      \
    X(ELEWINIT, out_pix_stride) X(ELEWINIT, zp_a) X(ELEWINIT, zp_b) X(ELEWINIT, zp_out)    \
    X(ELEW, chans) X(ELEW, in_a) X(ELEW, in_b) X(ELEW, out_addr) X(ELEW, rows) X(ELEW, cols) \
    X(POOLINIT, pool_type) X(POOLINIT, avg_shift) X(POOLINIT, stride_h) X(POOLINIT, stride_w) \
    X(POOLINIT, kernel_h) X(POOLINIT, kernel_w) X(POOLINIT, avg_mul)                      \
    X(POOLINIT, in_row_stride) X(POOLINIT, out_row_stride) X(POOLINIT, in_pix_stride)     \
    X(POOLINIT, out_pix_stride) X(POOLINIT, in_zp) X(POOLINIT, out_zp)                    \
    X(POOL, pad_t) X(POOL, pad_l) X(POOL, pad_b) X(POOL, pad_r) X(POOL, in_addr)          \
    X(POOL, out_addr) X(POOL, rows) X(POOL, cols) X(POOL, chans) X(POOL, acc_in)          \
    X(POOL, acc_out) X(POOL, psum_addr)                                                    \
    X(MVM, act) X(MVM, shift_cut) X(MVM, shift_bias) X(MVM, acc_in) X(MVM, acc_out)        \
    X(MVM, act_arg) X(MVM, wgt_addr) X(MVM, vec_addr) X(MVM, bias_addr) X(MVM, out_addr)   \
    X(MVM, rows) X(MVM, cols) X(MVM, psum_addr) X(MVM, out_zp) X(MVM, scaled)              \
    X(ACT, in_addr) X(ACT, out_addr) X(ACT, length)
#define OPS(X) X(LOAD) X(SAVE) X(CONVINIT) X(CONV) X(ELEWINIT) X(ELEW) X(POOLINIT) X(POOL) \
    X(MVM) X(ACT) X(SYNC) X(END)
#define POOL_MAX 0  /* PoolType.MAX */
#define ELEW_ADD 0  /* ElewType.ADD */

#define AS_ENUM(op, f) F_##op##_##f,
#define AS_NAME(op, f) #op "." #f,
#define OP_ENUM(op) OP_##op,
#define OP_NAME(op) #op,
enum { FIELDS(AS_ENUM) F_COUNT };
enum { OPS(OP_ENUM) OP_COUNT };
static const char *FIELD_NAMES[] = {FIELDS(AS_NAME)};
static const char *OP_NAMES[] = {OPS(OP_NAME)};
static int64_t COLUMN[F_COUNT];  /* a field's column in a program row */
static int64_t OPCODE[OP_COUNT];  /* an instruction's opcode value */
static int64_t MUL_MAX;           /* REQUANT_MUL_MAX */
static int64_t ROW_MIN;           /* columns a row needs: one past the largest in COLUMN */
static int64_t TABLE_COLUMN;      /* an ACT row's table (its index in the loop's tables) */
static int CONFIGURED;

/* A latched configuration, a row of `width` int64: [generation (0: none), then the *INIT
 * row's columns 1.. (so a field is at the same column as in the row)]. */
enum { LATCH_CONV = 0, LATCH_ELEW = 1, LATCH_POOL = 2, LATCHES = 3 };

#define MAX_REGIONS 64  /* base registers the loop can take (the ISA has NUM_SEGMENTS) */

typedef struct {
    uint8_t *ptr;
    int64_t size;
    int writable;
} Region;

typedef struct {
    uint8_t *buf[3];  /* FMAP, WEIGHT, BIAS */
    int64_t size[3];
    Region seg[MAX_REGIONS];
    int64_t nregions;
    int64_t *latched;  /* [LATCHES][width] */
    const int8_t *tables;  /* ACT's 256-entry tables */
    int64_t ntables;
    int64_t width;     /* columns of a program row */
} Core;

#define F(row, op, name) ((row)[COLUMN[F_##op##_##name]])
#define STOP 1  /* the instruction is not run here (unsupported, or it faults): Python runs it */

static inline int64_t block_end(int64_t start, int64_t rows, int64_t rs, int64_t cols,
                                int64_t ps, int64_t chans)
{
    return start + (rows - 1) * rs + (cols - 1) * ps + chans;
}

/* LOAD and SAVE's copy of a (rows, cols, chans) block between a buffer and a DDR region,
 * `elem` bytes per element (1 in int8 mode, 4 in fp32 mode), in loop order (where the
 * destination overlaps itself the later write wins). d: the D_* vector, in elements. */
#define DMA_PARAMS(X) X(ADDR, addr) X(OFF, off) X(ROWS, rows) X(COLS, cols) X(CHANS, chans) \
    X(BRS, buf_row_stride) X(BPS, buf_pix_stride) X(DRS, ddr_row_stride) X(DPS, ddr_pix_stride)
#define D_ENUM(NAME, name) D_##NAME,
enum { DMA_PARAMS(D_ENUM) D_COUNT };

static void dma_copy(uint8_t *buf, uint8_t *ddr, const int64_t *d, int load, int64_t elem)
{
    const size_t run = (size_t)(d[D_CHANS] * elem);
    for (int64_t y = 0; y < d[D_ROWS]; y++)
        for (int64_t x = 0; x < d[D_COLS]; x++) {
            uint8_t *b = buf + (d[D_ADDR] + y * d[D_BRS] + x * d[D_BPS]) * elem;
            uint8_t *m = ddr + (d[D_OFF] + y * d[D_DRS] + x * d[D_DPS]) * elem;
            if (load)
                memcpy(b, m, run);
            else
                memcpy(m, b, run);
        }
}

/* ELEW in int8 mode over the E_* vector (docs/isa.md, ELEW): a (+ or *) b of the inputs
 * minus their zero points and shifted left, then requant(., shift_out, act, act_arg, zp_out);
 * operands are read before results are written, results stored in loop order. The caller
 * has checked the bounds and the activation. */
#define ELEW_PARAMS(X) X(A, in_a) X(B, in_b) X(OUT, out_addr) X(ROWS, rows) X(COLS, cols)     \
    X(CHANS, chans) X(IRS, in_row_stride) X(IPS, in_pix_stride) X(BRS, b_row_stride)          \
    X(BPS, b_pix_stride) X(ORS, out_row_stride) X(OPS, out_pix_stride) X(ADD, add)            \
    X(SA, shift_a) X(SB, shift_b) X(SOUT, shift_out) X(ACT, act) X(ARG, act_arg) X(ZPA, zp_a) \
    X(ZPB, zp_b) X(ZPOUT, zp_out)
#define E_ENUM(NAME, name) E_##NAME,
enum { ELEW_PARAMS(E_ENUM) E_COUNT };

static _Thread_local struct scratch ELEW_OUT;

static int elew_int8(uint8_t *fmap, const int64_t *e)
{
    const int64_t rows = e[E_ROWS], cols = e[E_COLS], chans = e[E_CHANS];
    int8_t *out = grow(&ELEW_OUT, (size_t)(rows * cols * chans) + 1);
    if (!out)
        return NO_MEMORY;
    const int8_t *fm = (const int8_t *)fmap;
    int8_t *q = out;
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++) {
            const int8_t *pa = fm + e[E_A] + y * e[E_IRS] + x * e[E_IPS];
            const int8_t *pb = fm + e[E_B] + y * e[E_BRS] + x * e[E_BPS];
            for (int64_t i = 0; i < chans; i++) {
                uint64_t va = (uint64_t)((int64_t)pa[i] - e[E_ZPA]) << e[E_SA];
                uint64_t vb = (uint64_t)((int64_t)pb[i] - e[E_ZPB]) << e[E_SB];
                int64_t v = (int64_t)(e[E_ADD] ? va + vb : va * vb);
                *q++ = requant(v, e[E_SOUT], e[E_ACT], e[E_ARG], e[E_ZPOUT]);
            }
        }
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++)
            memcpy(fmap + e[E_OUT] + y * e[E_ORS] + x * e[E_OPS], out + (y * cols + x) * chans,
                   (size_t)chans);
    return OK;
}

/* POOL in int8 mode over the Q_* vector (docs/isa.md, POOL): per output pixel and channel the
 * maximum of the window's codes (padding below every code) or its sum minus kh * kw * in_zp
 * (padding counts as in_zp), combined with the partial results (acc_in: their maximum or
 * sum), kept as int32 partial results (acc_out) or requantized: MAX moves the code from
 * in_zp to out_zp, AVG is sat8(rshift_round(acc * avg_mul, avg_shift) + out_zp). The caller
 * checked the input and output blocks; this checks, before writing anything, that no MAX
 * window lies entirely in the padding (POOL_ALL_PADDING) and then the partial results' bytes
 * (POOL_PSUM_BOUNDS). */
enum { Q_IN_ADDR, Q_IN_ROWS, Q_IN_COLS, Q_CHANS, Q_IRS, Q_IPS, Q_PAD_T, Q_PAD_L, Q_KH, Q_KW,
       Q_SH, Q_SW, Q_ROWS, Q_COLS, Q_MAX, Q_IN_ZP, Q_OUT_ZP, Q_AVG_MUL, Q_AVG_SHIFT, Q_ACC_IN,
       Q_ACC_OUT, Q_PSUM, Q_OUT_ADDR, Q_ORS, Q_OPS, Q_COUNT };
enum { POOL_ALL_PADDING = 1, POOL_PSUM_BOUNDS = 2 };
#define NO_VALUE (-(1 << 15))

static _Thread_local struct scratch POOL_ACC;

static int pool_int8(uint8_t *fmap, uint8_t *bias, int64_t bias_size, const int64_t *q)
{
    const int64_t rows = q[Q_ROWS], cols = q[Q_COLS], chans = q[Q_CHANS], n = rows * cols * chans;
    const int is_max = q[Q_MAX] != 0;
    int64_t *acc = grow(&POOL_ACC, sizeof(int64_t) * (size_t)(n + 1));
    if (!acc)
        return NO_MEMORY;
    const int8_t *fm = (const int8_t *)fmap;
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++) {
            int64_t *a = acc + (y * cols + x) * chans;
            for (int64_t i = 0; i < chans; i++)
                a[i] = is_max ? NO_VALUE : 0;
            for (int64_t ky = 0; ky < q[Q_KH]; ky++)
                for (int64_t kx = 0; kx < q[Q_KW]; kx++) {
                    int64_t iy = y * q[Q_SH] + ky - q[Q_PAD_T], ix = x * q[Q_SW] + kx - q[Q_PAD_L];
                    int inside = iy >= 0 && iy < q[Q_IN_ROWS] && ix >= 0 && ix < q[Q_IN_COLS];
                    if (!inside) {
                        if (!is_max)
                            for (int64_t i = 0; i < chans; i++)
                                a[i] += q[Q_IN_ZP];
                        continue;
                    }
                    const int8_t *v = fm + q[Q_IN_ADDR] + iy * q[Q_IRS] + ix * q[Q_IPS];
                    if (is_max)
                        for (int64_t i = 0; i < chans; i++)
                            a[i] = v[i] > a[i] ? v[i] : a[i];
                    else
                        for (int64_t i = 0; i < chans; i++)
                            a[i] += v[i];
                }
        }
    if (is_max) {
        for (int64_t j = 0; j < n; j++)
            if (acc[j] == NO_VALUE)
                return POOL_ALL_PADDING;
    } else if (q[Q_IN_ZP]) {
        for (int64_t j = 0; j < n; j++)
            acc[j] -= q[Q_IN_ZP] * q[Q_KH] * q[Q_KW];
    }
    if ((q[Q_ACC_IN] || q[Q_ACC_OUT]) && q[Q_PSUM] + 4 * n > bias_size)
        return POOL_PSUM_BOUNDS;
    if (q[Q_ACC_IN])
        for (int64_t j = 0; j < n; j++) {
            int64_t before = load_i32(bias + q[Q_PSUM] + 4 * j);
            acc[j] = is_max ? (before > acc[j] ? before : acc[j])
                            : (int64_t)((uint64_t)acc[j] + (uint64_t)before);
        }
    if (q[Q_ACC_OUT]) {
        for (int64_t j = 0; j < n; j++) {
            int32_t w = (int32_t)(uint32_t)(uint64_t)acc[j];
            memcpy(bias + q[Q_PSUM] + 4 * j, &w, 4);
        }
        return OK;
    }
    const int64_t shift = q[Q_OUT_ZP] - q[Q_IN_ZP];
    for (int64_t y = 0; y < rows; y++)  /* loop order: where the block overlaps, later wins */
        for (int64_t x = 0; x < cols; x++) {
            const int64_t *a = acc + (y * cols + x) * chans;
            uint8_t *out = fmap + q[Q_OUT_ADDR] + y * q[Q_ORS] + x * q[Q_OPS];
            for (int64_t i = 0; i < chans; i++) {
                int64_t v = a[i];
                if (is_max) {
                    if (shift)
                        v = v + shift < -128 ? -128 : v + shift > 127 ? 127 : v + shift;
                } else {
                    v = rshift_round((int64_t)((uint64_t)v * (uint64_t)q[Q_AVG_MUL]),
                                     q[Q_AVG_SHIFT]) + q[Q_OUT_ZP];
                    v = v < -128 ? -128 : v > 127 ? 127 : v;
                }
                out[i] = (uint8_t)(int8_t)v;
            }
        }
    return OK;
}

static _Thread_local struct scratch ACT_IN;

/* ACT in int8 mode: FMAP[out + i] = table[FMAP[in + i] as a byte] for i < n, every input read
 * before any output is written (the blocks may overlap). The caller checked the bounds. */
static int act_int8(uint8_t *fmap, const int8_t *table, int64_t in, int64_t out, int64_t n)
{
    const uint8_t *src = fmap + in;
    if (in < out + n && out < in + n) {
        uint8_t *copy = grow(&ACT_IN, (size_t)n);
        if (!copy)
            return NO_MEMORY;
        memcpy(copy, src, (size_t)n);
        src = copy;
    }
    for (int64_t i = 0; i < n; i++)
        fmap[out + i] = (uint8_t)table[src[i]];
    return OK;
}

static int dma(const int64_t *r, int load, Core *c)
{
#define D(name) (load ? F(r, LOAD, name) : F(r, SAVE, name))
    int64_t buf = D(buf), seg = D(seg), off = D(off), addr = D(addr);
    int64_t rows = D(rows), cols = D(cols), chans = D(chans);
    int64_t drs = D(ddr_row_stride), dps = D(ddr_pix_stride);
    int64_t brs = D(buf_row_stride), bps = D(buf_pix_stride);
#undef D
    if (rows == 0 || cols == 0 || chans == 0)
        return OK;
    if (buf < 0 || buf > 2 || seg < 0 || seg >= c->nregions)
        return STOP;
    Region *g = &c->seg[seg];
    if (!g->ptr || off < 0 || block_end(off, rows, drs, cols, dps, chans) > g->size
        || (!load && !g->writable) || block_end(addr, rows, brs, cols, bps, chans) > c->size[buf])
        return STOP;
    const int64_t d[D_COUNT] = {addr, off, rows, cols, chans, brs, bps, drs, dps};
    dma_copy(c->buf[buf], g->ptr, d, load, 1);
    return OK;
}

static void latch(Core *c, int which, const int64_t *r)
{
    int64_t *l = c->latched + which * c->width;
    l[0] += 1;
    memcpy(l + 1, r + 1, sizeof(int64_t) * (size_t)(c->width - 1));
}

static const int64_t *latched(const Core *c, int which)
{
    const int64_t *l = c->latched + which * c->width;
    return l[0] ? l : NULL;
}

static int conv_row(const int64_t *r, Core *c)
{
    const int64_t *k = latched(c, LATCH_CONV);
    if (!k)
        return STOP;
#define K(name) (k[COLUMN[F_CONVINIT_##name]])
    int64_t rows = F(r, CONV, rows), cols = F(r, CONV, cols), ic = F(r, CONV, ic);
    int64_t oc = F(r, CONV, oc), dw_ = F(r, CONV, depthwise);
    if (dw_ && ic != oc)
        return STOP;
    if (rows == 0 || cols == 0 || oc == 0)
        return OK;
    int64_t p[P_COUNT];
    p[P_PAD_T] = F(r, CONV, pad_t), p[P_PAD_L] = F(r, CONV, pad_l);
    p[P_KH] = K(kernel_h), p[P_KW] = K(kernel_w), p[P_SH] = K(stride_h), p[P_SW] = K(stride_w);
    p[P_DH] = K(dilation_h), p[P_DW] = K(dilation_w);
    p[P_IN_ROWS] = (rows - 1) * p[P_SH] + (p[P_KH] - 1) * p[P_DH] + 1 - p[P_PAD_T]
                   - F(r, CONV, pad_b);
    p[P_IN_COLS] = (cols - 1) * p[P_SW] + (p[P_KW] - 1) * p[P_DW] + 1 - p[P_PAD_L]
                   - F(r, CONV, pad_r);
    if (p[P_IN_ROWS] < 0 || p[P_IN_COLS] < 0)
        return STOP;
    p[P_IN_ADDR] = F(r, CONV, in_addr), p[P_IC] = ic;
    p[P_IN_ROW_STRIDE] = K(in_row_stride), p[P_IN_PIX_STRIDE] = K(in_pix_stride);
    p[P_ROWS] = rows, p[P_COLS] = cols, p[P_OC] = oc, p[P_WGT_ADDR] = F(r, CONV, wgt_addr);
    p[P_IN_ZP] = K(in_zp), p[P_DEPTHWISE] = dw_, p[P_BIAS_ADDR] = F(r, CONV, bias_addr);
    p[P_PSUM_ADDR] = F(r, CONV, psum_addr), p[P_ACC_IN] = F(r, CONV, acc_in);
    p[P_ACC_OUT] = F(r, CONV, acc_out), p[P_SCALED] = K(scaled);
    p[P_SHIFT_BIAS] = K(shift_bias), p[P_SHIFT_CUT] = K(shift_cut), p[P_ACT] = K(act);
    p[P_ACT_ARG] = K(act_arg), p[P_OUT_ZP] = K(out_zp), p[P_OUT_ADDR] = F(r, CONV, out_addr);
    p[P_OUT_ROW_STRIDE] = K(out_row_stride), p[P_OUT_PIX_STRIDE] = K(out_pix_stride);
    p[P_MUL_MAX] = MUL_MAX;
#undef K
    /* the bounds checks of fvir.backend.conv (a failing one: Python raises the fault) */
    int64_t n_wgt = dw_ ? p[P_KH] * p[P_KW] * oc : oc * p[P_KH] * p[P_KW] * ic;
    int64_t b_end = p[P_BIAS_ADDR] + (p[P_SCALED] ? 8 : 4) * oc;
    int reads_bias = !p[P_ACC_IN] || (p[P_SCALED] && !p[P_ACC_OUT]);
    if ((p[P_IN_ROWS] && p[P_IN_COLS] && ic
         && block_end(p[P_IN_ADDR], p[P_IN_ROWS], p[P_IN_ROW_STRIDE], p[P_IN_COLS],
                      p[P_IN_PIX_STRIDE], ic) > c->size[0])
        || (n_wgt && p[P_WGT_ADDR] + n_wgt > c->size[1])
        || (reads_bias && b_end > c->size[2])
        || ((p[P_ACC_IN] || p[P_ACC_OUT]) && p[P_PSUM_ADDR] + 4 * rows * cols * oc > c->size[2])
        || (!p[P_ACC_OUT] && block_end(p[P_OUT_ADDR], rows, p[P_OUT_ROW_STRIDE], cols,
                                       p[P_OUT_PIX_STRIDE], oc) > c->size[0]))
        return STOP;
    int code = conv_int8(c->buf[0], c->buf[1], c->buf[2], p);
    if (code == NO_MEMORY)
        return NO_MEMORY;
    return code ? STOP : OK;
}

static int elew_row(const int64_t *r, Core *c)
{
    const int64_t *e = latched(c, LATCH_ELEW);
    if (!e)
        return STOP;
#define E(name) (e[COLUMN[F_ELEWINIT_##name]])
    int64_t rows = F(r, ELEW, rows), cols = F(r, ELEW, cols), chans = F(r, ELEW, chans);
    if (rows == 0 || cols == 0 || chans == 0)
        return OK;
    int64_t irs = E(in_row_stride), ips = E(in_pix_stride);
    int64_t ors = E(out_row_stride), ops = E(out_pix_stride);
    int64_t brs = E(bcast_b) ? 0 : irs, bps = E(bcast_b) ? 0 : ips;
    int64_t a0 = F(r, ELEW, in_a), b0 = F(r, ELEW, in_b), o0 = F(r, ELEW, out_addr);
    int64_t act = E(act);
    if (block_end(a0, rows, irs, cols, ips, chans) > c->size[0]
        || block_end(b0, rows, brs, cols, bps, chans) > c->size[0]
        || block_end(o0, rows, ors, cols, ops, chans) > c->size[0] || act < ACT_NONE
        || act > ACT_LEAKY)
        return STOP;
    const int64_t v[E_COUNT] = {a0, b0, o0, rows, cols, chans, irs, ips, brs, bps, ors, ops,
                                E(elew_type) == ELEW_ADD, E(shift_a), E(shift_b), E(shift_out),
                                act, E(act_arg), E(zp_a), E(zp_b), E(zp_out)};
#undef E
    return elew_int8(c->buf[0], v);
}

static int convinit_row(const int64_t *r, Core *c)
{
    if (F(r, CONVINIT, kernel_h) < 1 || F(r, CONVINIT, kernel_w) < 1
        || F(r, CONVINIT, stride_h) < 1 || F(r, CONVINIT, stride_w) < 1
        || F(r, CONVINIT, dilation_h) < 1 || F(r, CONVINIT, dilation_w) < 1)
        return STOP;
    latch(c, LATCH_CONV, r);
    return OK;
}

static int poolinit_row(const int64_t *r, Core *c)
{
    if (F(r, POOLINIT, kernel_h) < 1 || F(r, POOLINIT, kernel_w) < 1
        || F(r, POOLINIT, stride_h) < 1 || F(r, POOLINIT, stride_w) < 1)
        return STOP;
    latch(c, LATCH_POOL, r);
    return OK;
}

/* The Q_* vector of POOL row r under POOLINIT row k. */
static void pool_params(const int64_t *r, const int64_t *k, int64_t *q)
{
#define K(name) (k[COLUMN[F_POOLINIT_##name]])
    const int64_t rows = F(r, POOL, rows), cols = F(r, POOL, cols);
    q[Q_ROWS] = rows, q[Q_COLS] = cols, q[Q_CHANS] = F(r, POOL, chans);
    q[Q_KH] = K(kernel_h), q[Q_KW] = K(kernel_w), q[Q_SH] = K(stride_h), q[Q_SW] = K(stride_w);
    q[Q_PAD_T] = F(r, POOL, pad_t), q[Q_PAD_L] = F(r, POOL, pad_l);
    q[Q_IN_ROWS] = (rows - 1) * q[Q_SH] + q[Q_KH] - q[Q_PAD_T] - F(r, POOL, pad_b);
    q[Q_IN_COLS] = (cols - 1) * q[Q_SW] + q[Q_KW] - q[Q_PAD_L] - F(r, POOL, pad_r);
    q[Q_IN_ADDR] = F(r, POOL, in_addr), q[Q_IRS] = K(in_row_stride), q[Q_IPS] = K(in_pix_stride);
    q[Q_MAX] = K(pool_type) == POOL_MAX, q[Q_IN_ZP] = K(in_zp), q[Q_OUT_ZP] = K(out_zp);
    q[Q_AVG_MUL] = K(avg_mul), q[Q_AVG_SHIFT] = K(avg_shift);
    q[Q_ACC_IN] = F(r, POOL, acc_in), q[Q_ACC_OUT] = F(r, POOL, acc_out);
    q[Q_PSUM] = F(r, POOL, psum_addr), q[Q_OUT_ADDR] = F(r, POOL, out_addr);
    q[Q_ORS] = K(out_row_stride), q[Q_OPS] = K(out_pix_stride);
#undef K
}

static int pool_row(const int64_t *r, Core *c)
{
    const int64_t *k = latched(c, LATCH_POOL);
    if (!k)
        return STOP;
    int64_t q[Q_COUNT];
    pool_params(r, k, q);
    const int64_t rows = q[Q_ROWS], cols = q[Q_COLS], chans = q[Q_CHANS];
    if (rows == 0 || cols == 0 || chans == 0)
        return OK;
    if (q[Q_IN_ROWS] < 0 || q[Q_IN_COLS] < 0
        || (q[Q_IN_ROWS] && q[Q_IN_COLS]
            && block_end(q[Q_IN_ADDR], q[Q_IN_ROWS], q[Q_IRS], q[Q_IN_COLS], q[Q_IPS], chans)
                   > c->size[0])
        || block_end(q[Q_OUT_ADDR], rows, q[Q_ORS], cols, q[Q_OPS], chans) > c->size[0])
        return STOP;
    int code = pool_int8(c->buf[0], c->buf[2], c->size[2], q);
    return code == NO_MEMORY ? NO_MEMORY : code ? STOP : OK;
}

/* MVM is a 1 x 1 CONV of one pixel (weights [rows][cols] are [oc][ic]): its pseudo-code's
 * partial sums, bias, multipliers and requantization are CONV's with one output pixel. */
static void mvm_params(const int64_t *r, int64_t *p)
{
    memset(p, 0, sizeof(int64_t) * P_COUNT);
    p[P_IN_ROWS] = p[P_IN_COLS] = p[P_KH] = p[P_KW] = p[P_SH] = p[P_SW] = p[P_DH] = p[P_DW] = 1;
    p[P_ROWS] = p[P_COLS] = 1;
    p[P_IN_ADDR] = F(r, MVM, vec_addr), p[P_IC] = F(r, MVM, cols), p[P_OC] = F(r, MVM, rows);
    p[P_WGT_ADDR] = F(r, MVM, wgt_addr), p[P_BIAS_ADDR] = F(r, MVM, bias_addr);
    p[P_PSUM_ADDR] = F(r, MVM, psum_addr), p[P_ACC_IN] = F(r, MVM, acc_in);
    p[P_ACC_OUT] = F(r, MVM, acc_out), p[P_SCALED] = F(r, MVM, scaled);
    p[P_SHIFT_BIAS] = F(r, MVM, shift_bias), p[P_SHIFT_CUT] = F(r, MVM, shift_cut);
    p[P_ACT] = F(r, MVM, act), p[P_ACT_ARG] = F(r, MVM, act_arg), p[P_OUT_ZP] = F(r, MVM, out_zp);
    p[P_OUT_ADDR] = F(r, MVM, out_addr), p[P_MUL_MAX] = MUL_MAX;
}

static int mvm_row(const int64_t *r, Core *c)
{
    int64_t p[P_COUNT];
    mvm_params(r, p);
    const int64_t rows = p[P_OC], cols = p[P_IC];
    if (rows == 0)
        return OK;
    const int in = p[P_ACC_IN] != 0, out = p[P_ACC_OUT] != 0, scaled = p[P_SCALED] != 0;
    int reads_bias = !in || (scaled && !out);
    if (p[P_WGT_ADDR] + rows * cols > c->size[1] || p[P_IN_ADDR] + cols > c->size[0]
        || ((in || out) && p[P_PSUM_ADDR] + 4 * rows > c->size[2])
        || (reads_bias && p[P_BIAS_ADDR] + (scaled ? 8 : 4) * rows > c->size[2])
        || (!out && p[P_OUT_ADDR] + rows > c->size[0]))
        return STOP;
    int code = conv_int8(c->buf[0], c->buf[1], c->buf[2], p);
    return code == NO_MEMORY ? NO_MEMORY : code ? STOP : OK;
}

static int act_row(const int64_t *r, Core *c)
{
    int64_t t = r[TABLE_COLUMN], n = F(r, ACT, length);
    int64_t in = F(r, ACT, in_addr), out = F(r, ACT, out_addr);
    if (t < 0 || t >= c->ntables)  /* a function or zero points ACT faults on */
        return STOP;
    if (n == 0)
        return OK;
    if (in + n > c->size[0] || out + n > c->size[0])
        return STOP;
    return act_int8(c->buf[0], c->tables + 256 * t, in, out, n);
}

/* Rows [*row, end) of one clean frame; on STOP, *row is the instruction Python runs. */
static int run_rows(const int64_t *table, int64_t *row, int64_t end, Core *c)
{
    for (int64_t i = *row; i < end; i++) {
        const int64_t *r = table + i * c->width;
        int64_t op = r[0];
        int code;
        if (op == OPCODE[OP_LOAD])
            code = dma(r, 1, c);
        else if (op == OPCODE[OP_SAVE])
            code = dma(r, 0, c);
        else if (op == OPCODE[OP_CONV])
            code = conv_row(r, c);
        else if (op == OPCODE[OP_ELEW])
            code = elew_row(r, c);
        else if (op == OPCODE[OP_CONVINIT])
            code = convinit_row(r, c);
        else if (op == OPCODE[OP_ELEWINIT])
            latch(c, LATCH_ELEW, r), code = OK;
        else if (op == OPCODE[OP_POOL])
            code = pool_row(r, c);
        else if (op == OPCODE[OP_POOLINIT])
            code = poolinit_row(r, c);
        else if (op == OPCODE[OP_MVM])
            code = mvm_row(r, c);
        else if (op == OPCODE[OP_ACT])
            code = act_row(r, c);
        else if (op == OPCODE[OP_SYNC] || op == OPCODE[OP_END])
            code = OK;  /* a clean frame's fences: nothing to do in program order */
        else
            code = STOP;
        if (code != OK) {
            *row = i;
            return code;
        }
    }
    *row = end;
    return OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Python binding */

/* A binding's result: an int code, MemoryError for NO_MEMORY, or the exception already set
 * (BAD_ARGS). */
enum { BAD_ARGS = -100 };

static PyObject *result(int code)
{
    if (code == BAD_ARGS)
        return NULL;
    if (code == NO_MEMORY)
        return PyErr_NoMemory();
    return PyLong_FromLong(code);
}

static PyObject *py_conv_int8(PyObject *self, PyObject *args)
{
    Py_buffer fmap, weight, bias, params;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*y*w*y*", &fmap, &weight, &bias, &params))
        return NULL;
    int code = BAD_ARGS;
    if (params.len != (Py_ssize_t)(P_COUNT * sizeof(int64_t))) {
        PyErr_SetString(PyExc_ValueError, "conv_int8: wrong parameter vector");
    } else {
        Py_BEGIN_ALLOW_THREADS
        code = conv_int8(fmap.buf, weight.buf, bias.buf, params.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&fmap);
    PyBuffer_Release(&weight);
    PyBuffer_Release(&bias);
    PyBuffer_Release(&params);
    return result(code);
}

static PyObject *py_dma(PyObject *self, PyObject *args)
{
    PyObject *buf_obj, *ddr_obj;
    Py_buffer buf, ddr, d;
    int load;
    Py_ssize_t elem;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOy*pn", &buf_obj, &ddr_obj, &d, &load, &elem))
        return NULL;
    if (d.len != (Py_ssize_t)(D_COUNT * sizeof(int64_t))) {
        PyBuffer_Release(&d);
        PyErr_SetString(PyExc_ValueError, "dma: wrong parameter vector");
        return NULL;
    }
    if (PyObject_GetBuffer(buf_obj, &buf, load ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&d);
        return NULL;
    }
    if (PyObject_GetBuffer(ddr_obj, &ddr, load ? PyBUF_SIMPLE : PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&buf);
        PyBuffer_Release(&d);
        return NULL;
    }
    dma_copy(buf.buf, ddr.buf, d.buf, load, elem);
    PyBuffer_Release(&ddr);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&d);
    Py_RETURN_NONE;
}

static PyObject *py_elew_int8(PyObject *self, PyObject *args)
{
    Py_buffer fmap, e;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*y*", &fmap, &e))
        return NULL;
    int code = BAD_ARGS;
    if (e.len != (Py_ssize_t)(E_COUNT * sizeof(int64_t)))
        PyErr_SetString(PyExc_ValueError, "elew_int8: wrong parameter vector");
    else
        code = elew_int8(fmap.buf, e.buf);
    PyBuffer_Release(&fmap);
    PyBuffer_Release(&e);
    return result(code);
}

static PyObject *py_act_int8(PyObject *self, PyObject *args)
{
    Py_buffer fmap, table;
    long long in, out, n;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*y*LLL", &fmap, &table, &in, &out, &n))
        return NULL;
    int code = BAD_ARGS;
    if (table.len != 256)
        PyErr_SetString(PyExc_ValueError, "act_int8: a 256-byte table");
    else
        code = act_int8(fmap.buf, table.buf, in, out, n);
    PyBuffer_Release(&fmap);
    PyBuffer_Release(&table);
    return result(code);
}

/* Whether `b` holds an instruction row (else a ValueError is set). */
static int as_row(Py_buffer *b, const char *what)
{
    if (!CONFIGURED || b->len < (Py_ssize_t)(ROW_MIN * sizeof(int64_t))) {
        PyErr_Format(PyExc_ValueError, "%s: an instruction row (after configure)", what);
        return 0;
    }
    return 1;
}

static PyObject *py_pool_int8(PyObject *self, PyObject *args)
{
    Py_buffer fmap, bias, row, init;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*w*y*y*", &fmap, &bias, &row, &init))
        return NULL;
    int code = BAD_ARGS;
    if (as_row(&row, "pool_int8") && as_row(&init, "pool_int8")) {
        int64_t q[Q_COUNT];
        pool_params(row.buf, init.buf, q);
        code = pool_int8(fmap.buf, bias.buf, bias.len, q);
    }
    PyBuffer_Release(&fmap);
    PyBuffer_Release(&bias);
    PyBuffer_Release(&row);
    PyBuffer_Release(&init);
    return result(code);
}

static PyObject *py_mvm_int8(PyObject *self, PyObject *args)
{
    Py_buffer fmap, weight, bias, row;
    (void)self;
    if (!PyArg_ParseTuple(args, "w*y*w*y*", &fmap, &weight, &bias, &row))
        return NULL;
    int code = BAD_ARGS;
    if (as_row(&row, "mvm_int8")) {
        int64_t p[P_COUNT];
        mvm_params(row.buf, p);
        code = p[P_OC] ? conv_int8(fmap.buf, weight.buf, bias.buf, p) : OK;
    }
    PyBuffer_Release(&fmap);
    PyBuffer_Release(&weight);
    PyBuffer_Release(&bias);
    PyBuffer_Release(&row);
    return result(code);
}

static PyObject *names(const char **list, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++)
        PyTuple_SET_ITEM(t, i, PyUnicode_FromString(list[i]));
    return t;
}

#define PARAM_NAME(NAME, name) #name,
static const char *CONV_PARAM_NAMES[] = {CONV_PARAMS(PARAM_NAME)};
static const char *DMA_PARAM_NAMES[] = {DMA_PARAMS(PARAM_NAME)};
static const char *ELEW_PARAM_NAMES[] = {ELEW_PARAMS(PARAM_NAME)};

static PyObject *py_param_names(PyObject *self, PyObject *args)
{
    const char *kind;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &kind))
        return NULL;
    if (!strcmp(kind, "conv"))
        return names(CONV_PARAM_NAMES, P_COUNT);
    if (!strcmp(kind, "dma"))
        return names(DMA_PARAM_NAMES, D_COUNT);
    if (!strcmp(kind, "elew"))
        return names(ELEW_PARAM_NAMES, E_COUNT);
    PyErr_Format(PyExc_ValueError, "no parameter vector '%s' (conv, dma, elew)", kind);
    return NULL;
}

static PyObject *py_field_names(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    return names(FIELD_NAMES, F_COUNT);
}

static PyObject *py_op_names(PyObject *self, PyObject *args)
{
    (void)self, (void)args;
    return names(OP_NAMES, OP_COUNT);
}

static PyObject *py_configure(PyObject *self, PyObject *args)
{
    Py_buffer cols, ops;
    long long mul_max, table_column;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*LL", &cols, &ops, &mul_max, &table_column))
        return NULL;
    int ok = cols.len == (Py_ssize_t)sizeof(COLUMN) && ops.len == (Py_ssize_t)sizeof(OPCODE);
    if (ok) {
        memcpy(COLUMN, cols.buf, sizeof(COLUMN));
        ROW_MIN = 1;
        for (int f = 0; f < F_COUNT; f++)
            ROW_MIN = COLUMN[f] + 1 > ROW_MIN ? COLUMN[f] + 1 : ROW_MIN;
        memcpy(OPCODE, ops.buf, sizeof(OPCODE));
        MUL_MAX = mul_max;
        TABLE_COLUMN = table_column;
        ROW_MIN = ROW_MIN > TABLE_COLUMN + 1 ? ROW_MIN : TABLE_COLUMN + 1;
        CONFIGURED = 1;
    }
    PyBuffer_Release(&cols);
    PyBuffer_Release(&ops);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "configure: one column per field_names(), one "
                                          "opcode per op_names()");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_run_spans(PyObject *self, PyObject *args)
{
    Py_buffer table, spans, bufs[3], latched, tables, segs[MAX_REGIONS];
    PyObject *regions;
    Py_ssize_t span, row;
    int held[MAX_REGIONS] = {0};
    (void)self;
    if (!CONFIGURED) {
        PyErr_SetString(PyExc_RuntimeError, "run_spans before configure");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*y*nnw*w*w*w*y*O!", &table, &spans, &span, &row, &bufs[0],
                          &bufs[1], &bufs[2], &latched, &tables, &PyTuple_Type, &regions))
        return NULL;
    Core c;
    int code = OK;
    const char *problem = NULL;
    Py_ssize_t nspans = spans.len / (Py_ssize_t)(2 * sizeof(int64_t));
    c.width = latched.len / (Py_ssize_t)(LATCHES * sizeof(int64_t));
    c.latched = latched.buf;
    c.tables = tables.buf, c.ntables = tables.len / 256;
    for (int b = 0; b < 3; b++)
        c.buf[b] = bufs[b].buf, c.size[b] = bufs[b].len;
    c.nregions = PyTuple_GET_SIZE(regions);
    if (c.nregions > MAX_REGIONS || c.width < ROW_MIN || table.len % (c.width * 8))
        problem = "run_spans: at most 64 regions, and a [3, width] latch array for [n, width] rows";
    for (int g = 0; !problem && g < c.nregions; g++) {
        PyObject *item = PyTuple_GET_ITEM(regions, g);
        c.seg[g].ptr = NULL, c.seg[g].size = 0, c.seg[g].writable = 0;
        if (item == Py_None)
            continue;
        int writable = 0;
        PyObject *arr;
        if (!PyArg_ParseTuple(item, "Op", &arr, &writable)
            || PyObject_GetBuffer(arr, &segs[g], writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) {
            code = BAD_ARGS;
            break;
        }
        held[g] = 1;
        c.seg[g].ptr = segs[g].buf, c.seg[g].size = segs[g].len, c.seg[g].writable = writable;
    }
    int64_t r = row;
    if (!problem && code == OK) {
        const int64_t *tab = table.buf, *sp = spans.buf;
        int64_t nrows = table.len / (c.width * 8);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t first = span; span < nspans; span++) {
            int64_t a = sp[2 * span], b = sp[2 * span + 1];
            if (span != first || r < a)  /* resuming inside the first span, else its start */
                r = a;
            if (b > nrows)
                b = nrows;
            code = run_rows(tab, &r, b, &c);
            if (code != OK)
                break;
        }
        Py_END_ALLOW_THREADS
    }
    for (int g = 0; g < MAX_REGIONS; g++)
        if (held[g])
            PyBuffer_Release(&segs[g]);
    for (int b = 0; b < 3; b++)
        PyBuffer_Release(&bufs[b]);
    PyBuffer_Release(&latched);
    PyBuffer_Release(&tables);
    PyBuffer_Release(&spans);
    PyBuffer_Release(&table);
    if (code == BAD_ARGS)
        return NULL;
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    if (code == NO_MEMORY)
        return PyErr_NoMemory();
    return Py_BuildValue("nn", span, (Py_ssize_t)r);
}

static const char *KERNEL_NAMES[] = {"portable", "avx512-vnni"};

static PyObject *py_kernel(PyObject *self, PyObject *args)
{
    const char *name = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "|s", &name))
        return NULL;
    if (name) {
        int k = -1;
        for (int i = 0; i < 2; i++)
            if (!strcmp(name, KERNEL_NAMES[i]))
                k = i;
        if (k < 0 || k > best_kernel()) {
            PyErr_Format(PyExc_ValueError, "kernel '%s' is not available on this CPU", name);
            return NULL;
        }
        KERNEL = k;
    }
    return PyUnicode_FromString(KERNEL_NAMES[KERNEL]);
}

static PyMethodDef METHODS[] = {
    {"conv_int8", py_conv_int8, METH_VARARGS,
     "conv_int8(fmap, weight, bias, params) -> 0, -1 (unknown activation) or 1 + the channel "
     "of a multiplier out of range; the block is bounds-checked by the caller."},
    {"dma", py_dma, METH_VARARGS,
     "dma(buffer, region, params, load, elem): LOAD's or SAVE's copy of the block in params "
     "(addr, off, rows, cols, chans, buffer row/pixel strides, DDR row/pixel strides; in "
     "elements of `elem` bytes); bounds-checked by the caller."},
    {"elew_int8", py_elew_int8, METH_VARARGS,
     "elew_int8(fmap, params): an int8 ELEW (the E_* vector of _engine.c); bounds and "
     "activation checked by the caller."},
    {"pool_int8", py_pool_int8, METH_VARARGS,
     "pool_int8(fmap, bias, row, init) -> 0, 1 (a MAX window entirely in the padding) or 2 (the "
     "partial results' bytes leave the bias buffer): the int8 POOL of instruction row `row` "
     "under the POOLINIT row `init`; the input and output blocks are checked by the caller."},
    {"act_int8", py_act_int8, METH_VARARGS,
     "act_int8(fmap, table, in_addr, out_addr, length): an int8 ACT through its 256-byte "
     "table, bounds-checked by the caller."},
    {"mvm_int8", py_mvm_int8, METH_VARARGS,
     "mvm_int8(fmap, weight, bias, row) -> conv_int8's result for the int8 MVM of instruction "
     "row `row` (a 1 x 1 CONV of one pixel), bounds-checked by the caller."},
    {"param_names", py_param_names, METH_VARARGS,
     "param_names(kind) -> the entries of the 'conv' (conv_int8), 'dma' or 'elew' (elew_int8) "
     "parameter vector, in order."},
    {"field_names", py_field_names, METH_NOARGS,
     "The fields the frame loop reads, as 'OPCODE.field'."},
    {"op_names", py_op_names, METH_NOARGS, "The instructions the frame loop runs."},
    {"configure", py_configure, METH_VARARGS,
     "configure(columns, opcodes, mul_max, table_column): the column of every field_names() "
     "entry in a program row, the value of every op_names() opcode, REQUANT_MUL_MAX, and the "
     "column of an ACT row's table index."},
    {"run_spans", py_run_spans, METH_VARARGS,
     "run_spans(table, spans, span, row, fmap, weight, bias, latched, tables, regions) -> "
     "(span, row): "
     "run the clean frames' rows spans[span:] (from row) until the end (span == len(spans)) or "
     "an instruction Python must run (its row)."},
    {"kernel", py_kernel, METH_VARARGS,
     "kernel([name]) -> the CONV product kernel in use; with a name (\"portable\" or "
     "\"avx512-vnni\"), use that one from now on (tests compare them)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_engine", "fvir's compiled instruction semantics (int8 CONV).", -1,
    METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    KERNEL = best_kernel();
    return PyModule_Create(&MODULE);
}
