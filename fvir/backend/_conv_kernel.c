/* The exact int8 products of CONV (see _engine.h for the contract).
 *
 * 1. A (one row per output pixel, K ordered (ky, kx, i) like the weights) is a table of
 *    segment pointers, not a copy: direct (ic a multiple of 4, >= 32): for each (ky, kx) and
 *    output pixel, the ic input bytes in the fmap, or a row of ic in_zp bytes in the padding;
 *    otherwise, segments of the padded input block P copied once (kernel rows of kw * ic
 *    bytes when dw = 1).
 * 2. KERNEL_VNNI: the weights + 128 (unsigned) are packed (16 x 16 transposes) so that one
 *    64-byte vector holds 16 / G channels x 4G consecutive bytes of K (G = 1, 2 or 4: small oc
 *    takes more of K per vector instead of empty lanes; segments padded to 4G bytes with zero
 *    weights), and `vpdpbusd` multiplies them by 4G bytes of an A row broadcast to every
 *    channel: blocks of up to 8 rows x 3 vectors of int32 sums, no horizontal sums. Taking off
 *    128 * sum_k a (row sums from the sums of the input pixels, or of the segments) leaves
 *    exactly sum_k a * w.
 *    KERNEL_PORTABLE: plain loops over the same segments, with the weights as they are.
 * 3. Each int32 sum covers at most CHUNK bytes of K (so stays below 2**31 in magnitude); the
 *    chunks are added in int64, so both kernels give the same exact integers for any K.
 * Work memory is per thread, grown on demand and kept, not allocated per call.
 */
#include <stdlib.h>
#include <string.h>

#include "_engine.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_VNNI_KERNEL 1
#endif

#define CHUNK 65536  /* bytes of K per int32 sum: 65536 * 255 * 128 < 2**31 */
#define MAX_ROWS 8   /* rows per VNNI block: one address register each */
#define MAX_VECS 3   /* channel vectors per VNNI block: up to 24 accumulators */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

static _Thread_local struct scratch work;

/* A [m x k] as nseg segments of seg bytes: row i's bytes s * seg.. are at ptr[s * m + i].
 * KERNEL_VNNI reads segp >= seg bytes there (multiplied by zero weights past seg). */
struct rows {
    int64_t m, oc, nseg, seg, segp, k, kp;  /* k = nseg * seg, kp = nseg * segp */
    const int8_t **ptr;
    const int64_t *rsum;  /* KERNEL_VNNI: sum_k a of each row */
};

/* acc = the products (plain C; weights [oc][k] as given). */
static void dot_plain(const struct rows *a, const int8_t *w, int64_t *acc)
{
    const int64_t m = a->m, oc = a->oc, k = a->k, seg = a->seg;
    for (int64_t i = 0; i < m; i++)
        for (int64_t o = 0; o < oc; o++) {
            int64_t total = 0;
            for (int64_t k0 = 0; k0 < k; k0 += CHUNK) {
                const int64_t k1 = min64(k0 + CHUNK, k);
                int32_t s32 = 0;  /* |a * w| <= 2**14, at most CHUNK terms */
                for (int64_t s = k0 / seg; s * seg < k1; s++) {
                    const int64_t b0 = max64(k0 - s * seg, 0), b1 = min64(k1 - s * seg, seg);
                    const int8_t *ar = a->ptr[s * m + i], *wr = w + o * k + s * seg;
                    for (int64_t b = b0; b < b1; b++)
                        s32 += (int32_t)ar[b] * (int32_t)wr[b];
                }
                total += s32;
            }
            acc[i * oc + o] = total;
        }
}

#ifdef HAVE_VNNI_KERNEL
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))

/* s + the sums of a + 128 over the n signed bytes a at p, in eight 64-bit lanes; zero bytes
 * up to a multiple of 64 count 128 each. */
VNNI INLINE __m512i add_bytes(__m512i s, const int8_t *p, int64_t n)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
    int64_t j = 0;
    for (; j + 64 <= n; j += 64)
        s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512(p + j), flip),
                                                zero));
    if (j < n)
        s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_xor_si512(_mm512_maskz_loadu_epi8(
                                                    (1ULL << (n - j)) - 1, p + j), flip), zero));
    return s;
}

/* out[iy * cols + ix] = the sum of the n bytes at x + iy * rs + ix * ps. */
VNNI static void pixel_sums(const int8_t *x, int64_t rows, int64_t cols, int64_t rs, int64_t ps,
                            int64_t n, int64_t *out)
{
    for (int64_t iy = 0; iy < rows; iy++)
        for (int64_t ix = 0; ix < cols; ix++)
            *out++ = _mm512_reduce_add_epi64(add_bytes(_mm512_setzero_si512(),
                                                       x + iy * rs + ix * ps, n))
                     - 128 * round_up(n, 64);
}

/* a->rsum[i] = the sum of row i of A. */
VNNI static void row_sums(const struct rows *a, int64_t *rsum)
{
    for (int64_t i = 0; i < a->m; i++) {
        __m512i s = _mm512_setzero_si512();
        for (int64_t sg = 0; sg < a->nseg; sg++)
            s = add_bytes(s, a->ptr[sg * a->m + i], a->seg);
        rsum[i] = _mm512_reduce_add_epi64(s) - 128 * a->nseg * round_up(a->seg, 64);
    }
}

/* Y_j = lane j of x0..x3 (128-bit lanes), in place. */
VNNI INLINE void transpose_lanes(__m512i *x0, __m512i *x1, __m512i *x2, __m512i *x3)
{
    const __m512i p0 = _mm512_shuffle_i32x4(*x0, *x1, 0x88);
    const __m512i p1 = _mm512_shuffle_i32x4(*x0, *x1, 0xdd);
    const __m512i p2 = _mm512_shuffle_i32x4(*x2, *x3, 0x88);
    const __m512i p3 = _mm512_shuffle_i32x4(*x2, *x3, 0xdd);
    *x0 = _mm512_shuffle_i32x4(p0, p2, 0x88), *x2 = _mm512_shuffle_i32x4(p0, p2, 0xdd);
    *x1 = _mm512_shuffle_i32x4(p1, p3, 0x88), *x3 = _mm512_shuffle_i32x4(p1, p3, 0xdd);
}

/* r[0..16/g): 16/g rows of 16/g units of 4g bytes -> out[j] = unit j of every row. */
VNNI INLINE void transpose_units(__m512i *r, int g, __m512i *out)
{
    __m512i t[16];
    if (g == 1) {  /* dwords, then qwords: r[4q + f] lane L = column 4L + f of rows 4q.. */
        for (int i = 0; i < 16; i += 2)
            t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]),
            t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
        for (int q = 0; q < 16; q += 4)
            for (int e = 0; e < 2; e++)
                r[q + 2 * e] = _mm512_unpacklo_epi64(t[q + e], t[q + 2 + e]),
                r[q + 2 * e + 1] = _mm512_unpackhi_epi64(t[q + e], t[q + 2 + e]);
    } else if (g == 2) {  /* qwords: r[2p + e] lane L = column 2L + e of rows 2p.. */
        for (int i = 0; i < 8; i += 2)
            t[i] = _mm512_unpacklo_epi64(r[i], r[i + 1]),
            t[i + 1] = _mm512_unpackhi_epi64(r[i], r[i + 1]);
        for (int i = 0; i < 8; i++)
            r[i] = t[i];
    }
    const int f = 4 / g;  /* then the 128-bit lanes of each group r[f * q + e] */
    for (int e = 0; e < f; e++) {
        __m512i x0 = r[e], x1 = r[f + e], x2 = r[2 * f + e], x3 = r[3 * f + e];
        transpose_lanes(&x0, &x1, &x2, &x3);
        out[e] = x0, out[f + e] = x1, out[2 * f + e] = x2, out[3 * f + e] = x3;
    }
}

/* Weights [oc][k] -> (w + 128) as bytes, vector v of channels v * 16/g.., step t of 4g bytes
 * of K at wp + (v * kp / (4g) + t) * 64, dword c * g + j holding channel c's bytes
 * 4j..4j+3 of the step; zero beyond oc and k. 64 bytes of K of 16/g channels at a time. */
VNNI INLINE void pack_weights_g(const int8_t *w, int64_t oc, int64_t k, int g, uint8_t *wp)
{
    const int64_t cw = 16 / g, steps = k / (4 * g);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int64_t v = 0; v * cw < oc; v++)
        for (int64_t t = 0; t < steps; t += cw) {
            const int64_t n = min64(k - t * 4 * g, 64);
            const __mmask64 mk = n >= 64 ? ~0ULL : n > 0 ? (1ULL << n) - 1 : 0;
            __m512i r[16], out[16];
            for (int c = 0; c < cw; c++) {
                const int64_t o = v * cw + c;
                r[c] = o < oc ? _mm512_maskz_mov_epi8(mk, _mm512_xor_si512(flip,
                                      _mm512_maskz_loadu_epi8(mk, w + o * k + t * 4 * g)))
                              : _mm512_setzero_si512();
            }
            transpose_units(r, g, out);
            for (int64_t j = 0; j < cw && t + j < steps; j++)
                _mm512_store_si512((void *)(wp + (v * steps + t + j) * 64), out[j]);
        }
}

VNNI static void pack_weights(const int8_t *w, int64_t oc, int64_t k, int g, uint8_t *wp)
{
    if (g == 1)
        pack_weights_g(w, oc, k, 1, wp);
    else if (g == 2)
        pack_weights_g(w, oc, k, 2, wp);
    else
        pack_weights_g(w, oc, k, 4, wp);
}

/* 4g bytes at p in every lane group. */
VNNI INLINE __m512i bcast(const int8_t *p, int g)
{
    if (g == 1) {
        int32_t d;
        memcpy(&d, p, 4);
        return _mm512_set1_epi32(d);
    }
    if (g == 2) {
        long long q;
        memcpy(&q, p, 8);
        return _mm512_set1_epi64(q);
    }
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)p));
}

/* acc[0..n) = base + the channel sums of the int32 lanes s (groups of g), n <= 16 / g; base:
 * acc[0..n) itself, or first_base on the first chunk. */
VNNI INLINE void add_sums(int64_t *acc, __m512i s, int g, int64_t n, int first,
                          __m512i first_base)
{
    if (g == 1) {
        const __mmask8 lo = (__mmask8)((1u << min64(n, 8)) - 1);
        const __mmask8 hi = (__mmask8)((1u << max64(n - 8, 0)) - 1);
        __m512i l = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(s));
        __m512i h = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(s, 1));
        __m512i bl = first ? first_base : _mm512_maskz_loadu_epi64(lo, acc);
        __m512i bh = first ? first_base : _mm512_maskz_loadu_epi64(hi, acc + 8);
        _mm512_mask_storeu_epi64(acc, lo, _mm512_add_epi64(bl, l));
        _mm512_mask_storeu_epi64(acc + 8, hi, _mm512_add_epi64(bh, h));
        return;
    }
    /* pairs of int32 lanes -> int64 */
    __m512i q = _mm512_add_epi64(_mm512_srai_epi64(s, 32),
                                 _mm512_srai_epi64(_mm512_slli_epi64(s, 32), 32));
    if (g == 4)  /* pairs of int64 lanes, then the even lanes */
        q = _mm512_maskz_compress_epi64(0x55, _mm512_add_epi64(
                                                  q, _mm512_shuffle_epi32(q, _MM_PERM_BADC)));
    const __mmask8 mk = (__mmask8)((1u << n) - 1);
    __m512i b = first ? first_base : _mm512_maskz_loadu_epi64(mk, acc);
    _mm512_mask_storeu_epi64(acc, mk, _mm512_add_epi64(b, q));
}

/* acc[rows i..i+r) x [channel vectors v..v+c) = the products (g, r, c constants). */
VNNI INLINE void block(const struct rows *a, const uint8_t *wp, int64_t i, int64_t v, int g,
                       int r, int c, int64_t *acc)
{
    const int64_t m = a->m, oc = a->oc, kp = a->kp, seg = a->segp, step = 4 * g;
    const int64_t vstride = kp / step * 64, cw = 16 / g;
    for (int64_t k0 = 0; k0 < kp; k0 += CHUNK) {
        const int64_t k1 = min64(k0 + CHUNK, kp);
        __m512i s[MAX_ROWS][MAX_VECS];
        for (int y = 0; y < r; y++)
            for (int x = 0; x < c; x++)
                s[y][x] = _mm512_setzero_si512();
        for (int64_t sg = k0 / seg; sg * seg < k1; sg++) {
            const int64_t b0 = max64(k0 - sg * seg, 0), b1 = min64(k1 - sg * seg, seg);
            const int8_t *ar[MAX_ROWS];
            for (int y = 0; y < r; y++)
                ar[y] = a->ptr[sg * m + i + y];
            const uint8_t *w = wp + v * vstride + (sg * seg + b0) / step * 64;
            for (int64_t b = b0; b < b1; b += step, w += 64) {
                __m512i wv[MAX_VECS];
                for (int x = 0; x < c; x++)
                    wv[x] = _mm512_load_si512((const void *)(w + x * vstride));
                for (int y = 0; y < r; y++) {
                    const __m512i av = bcast(ar[y] + b, g);
                    for (int x = 0; x < c; x++)
                        s[y][x] = _mm512_dpbusd_epi32(s[y][x], wv[x], av);
                }
            }
        }
        for (int y = 0; y < r; y++) {
            const __m512i corr = _mm512_set1_epi64(-128 * a->rsum[i + y]);
            for (int x = 0; x < c; x++)
                add_sums(acc + (i + y) * oc + (v + x) * cw, s[y][x], g,
                         min64(oc - (v + x) * cw, cw), k0 == 0, corr);
        }
    }
}

#define ROWS_CASES(G, C)                                                                     \
    switch (r) {                                                                             \
    case 8: block(a, wp, i, v, G, 8, C, acc); break;                                         \
    case 7: block(a, wp, i, v, G, 7, C, acc); break;                                         \
    case 6: block(a, wp, i, v, G, 6, C, acc); break;                                         \
    case 5: block(a, wp, i, v, G, 5, C, acc); break;                                         \
    case 4: block(a, wp, i, v, G, 4, C, acc); break;                                         \
    case 3: block(a, wp, i, v, G, 3, C, acc); break;                                         \
    case 2: block(a, wp, i, v, G, 2, C, acc); break;                                         \
    default: block(a, wp, i, v, G, 1, C, acc); break;                                        \
    }

VNNI static void block_g1(const struct rows *a, const uint8_t *wp, int64_t i, int64_t v, int r,
                          int c, int64_t *acc)
{
    if (c == 3)
        ROWS_CASES(1, 3)
    else if (c == 2)
        ROWS_CASES(1, 2)
    else
        ROWS_CASES(1, 1)
}

VNNI static void block_g2(const struct rows *a, const uint8_t *wp, int64_t i, int64_t v, int r,
                          int64_t *acc)
{
    ROWS_CASES(2, 1)
}

VNNI static void block_g4(const struct rows *a, const uint8_t *wp, int64_t i, int64_t v, int r,
                          int64_t *acc)
{
    ROWS_CASES(4, 1)
}

/* acc = the products, blocks of MAX_ROWS rows x up to MAX_VECS channel vectors. */
VNNI static void dot_vnni(const struct rows *a, const uint8_t *wp, int g, int64_t *acc)
{
    const int64_t cw = 16 / g, nv = (a->oc + cw - 1) / cw, nb = (nv + MAX_VECS - 1) / MAX_VECS;
    for (int64_t i = 0; i < a->m; i += MAX_ROWS) {
        const int r = (int)min64(a->m - i, MAX_ROWS);
        if (g == 2)
            block_g2(a, wp, i, 0, r, acc);
        else if (g == 4)
            block_g4(a, wp, i, 0, r, acc);
        else
            for (int64_t b = 0, v = 0; b < nb; b++) {
                const int c = (int)(nv / nb + (b < nv % nb));
                block_g1(a, wp, i, v, r, c, acc);
                v += c;
            }
    }
}
#endif

int best_kernel(void)
{
#ifdef HAVE_VNNI_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl"))
        return KERNEL_VNNI;
#endif
    return KERNEL_PORTABLE;
}

int conv_products(const int8_t *fm, const int8_t *wgt, const int64_t *p, int64_t *acc, int kernel)
{
    const int64_t rows = p[P_ROWS], cols = p[P_COLS], ic = p[P_IC], oc = p[P_OC];
    const int64_t kh = p[P_KH], kw = p[P_KW], m = rows * cols, k = kh * kw * ic;
    const int64_t in_rows = p[P_IN_ROWS], in_cols = p[P_IN_COLS];
    const int64_t rs = p[P_IN_ROW_STRIDE], ps = p[P_IN_PIX_STRIDE];
    const int64_t sh = p[P_SH], sw = p[P_SW], dh = p[P_DH], dw = p[P_DW];
    const int64_t pad_t = p[P_PAD_T], pad_l = p[P_PAD_L];
    const int8_t zp = (int8_t)p[P_IN_ZP], *x = fm + p[P_IN_ADDR], *w = wgt + p[P_WGT_ADDR];
    if (m <= 0 || oc <= 0)
        return OK;
    if (k <= 0) {
        memset(acc, 0, sizeof(int64_t) * (size_t)(m * oc));
        return OK;
    }
    /* direct: segments of ic bytes in the fmap; copy: in the padded copy P of the input block,
     * kernel rows of kw * ic bytes (dw = 1) */
    const int direct = ic % 4 == 0 && ic >= 32, runs = !direct && dw == 1;
    const int64_t ph = (rows - 1) * sh + (kh - 1) * dh + 1;
    const int64_t pw = (cols - 1) * sw + (kw - 1) * dw + 1;
    const int64_t psize = direct ? 0 : ph * pw * ic;
    struct rows a = {.m = m, .oc = oc, .k = k, .nseg = runs ? kh : kh * kw};
    a.seg = k / a.nseg;
    int g = 1;
#ifdef HAVE_VNNI_KERNEL
    const int vnni = kernel == KERNEL_VNNI;
    if (vnni)  /* small oc: more of K per vector; direct: 4g bytes must divide a segment */
        for (g = oc <= 4 ? 4 : oc <= 8 ? 2 : 1; direct && a.seg % (4 * g); g /= 2)
            ;
#else
    const int vnni = 0;
#endif
    a.segp = round_up(a.seg, 4 * g), a.kp = a.nseg * a.segp;
    /* work, 64-byte aligned regions: ptr, row sums, pixel sums (direct), the zp row (direct) or
     * P with slack for reads past a segment (copy), the weights with padded segments, the
     * packed weights */
    const int64_t n_ptr = round_up(8 * a.nseg * m, 64), n_rsum = vnni ? round_up(8 * m, 64) : 0;
    const int64_t n_sums = vnni && direct ? round_up(8 * in_rows * in_cols, 64) : 0;
    const int64_t n_bytes = round_up(direct ? ic : psize + 64, 64);
    const int64_t n_wpad = vnni && a.segp != a.seg ? round_up(oc * a.kp, 64) : 0;
    const int64_t n_wpack = vnni ? round_up(oc, 16 / g) * a.kp : 0;
    char *base = grow(&work, (size_t)(n_ptr + n_rsum + n_sums + n_bytes + n_wpad + n_wpack));
    if (!base)
        return NO_MEMORY;
    a.ptr = (const int8_t **)(void *)base;
    int64_t *rsum = (int64_t *)(void *)(base + n_ptr), *sums = rsum + n_rsum / 8;
    int8_t *bytes = (int8_t *)(sums + n_sums / 8);
    a.rsum = rsum;
    if (direct) {
        memset(bytes, zp, (size_t)ic);
#ifdef HAVE_VNNI_KERNEL
        if (vnni) {
            memset(rsum, 0, sizeof(int64_t) * (size_t)m);
            pixel_sums(x, in_rows, in_cols, rs, ps, ic, sums);
        }
#endif
        for (int64_t y = 0; y < rows; y++)
            for (int64_t ky = 0; ky < kh; ky++) {
                const int64_t iy = y * sh + ky * dh - pad_t;
                const int row_in = iy >= 0 && iy < in_rows;
                for (int64_t kx = 0; kx < kw; kx++) {
                    const int8_t **ptr = a.ptr + (ky * kw + kx) * m + y * cols;
                    int64_t *rs_y = rsum + y * cols;
                    for (int64_t xx = 0, ix = kx * dw - pad_l; xx < cols; xx++, ix += sw) {
                        const int in = row_in && ix >= 0 && ix < in_cols;
                        ptr[xx] = in ? x + iy * rs + ix * ps : bytes;
                        if (vnni)
                            rs_y[xx] += in ? sums[iy * in_cols + ix] : zp * ic;
                    }
                }
            }
    } else {
        for (int64_t py = 0; py < ph; py++) {
            const int64_t iy = py - pad_t;
            int8_t *dst = bytes + py * pw * ic;
            for (int64_t px = 0; px < pw; px++) {
                const int64_t ix = px - pad_l;
                if (iy < 0 || iy >= in_rows || ix < 0 || ix >= in_cols) {
                    memset(dst + px * ic, zp, (size_t)ic);
                    continue;
                }
                /* neighbouring pixels that are one run of bytes: one copy */
                const int64_t n = ps == ic ? min64(pw - px, in_cols - ix) : 1;
                memcpy(dst + px * ic, x + iy * rs + ix * ps, (size_t)(n * ic));
                px += n - 1;
            }
        }
        memset(bytes + psize, 0, 64);
        const int64_t nkx = runs ? 1 : kw;
        for (int64_t y = 0; y < rows; y++)
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < nkx; kx++) {
                    const int8_t **ptr = a.ptr + (ky * nkx + kx) * m + y * cols;
                    const int64_t q = (y * sh + ky * dh) * pw + kx * dw;
                    for (int64_t xx = 0; xx < cols; xx++)
                        ptr[xx] = bytes + (q + xx * sw) * ic;
                }
#ifdef HAVE_VNNI_KERNEL
        if (vnni)
            row_sums(&a, rsum);
#endif
    }
#ifdef HAVE_VNNI_KERNEL
    if (vnni) {
        int8_t *wpad = bytes + n_bytes;
        uint8_t *wpack = (uint8_t *)(wpad + n_wpad);
        if (n_wpad) {  /* -128: packed as 0 */
            for (int64_t o = 0; o < oc; o++)
                for (int64_t s = 0; s < a.nseg; s++) {
                    int8_t *d = wpad + o * a.kp + s * a.segp;
                    memcpy(d, w + o * k + s * a.seg, (size_t)a.seg);
                    memset(d + a.seg, -128, (size_t)(a.segp - a.seg));
                }
            w = wpad;
        }
        pack_weights(w, oc, a.kp, g, wpack);
        dot_vnni(&a, wpack, g, acc);
        return OK;
    }
#endif
    dot_plain(&a, w, acc);
    return OK;
}
