/* The exact int8 products of CONV (see _engine.h for the contract).
 *
 * 1. The input block, padded with in_zp, is gathered into an im2col matrix A [M x Kp] of
 *    bytes a ^ 0x80 (that is, a + 128 as an unsigned byte), K ordered (ky, kx, i) like the
 *    weights, rows padded with zeros to Kp, a multiple of 64; the weights into W [oc x Kp].
 * 2. sum_k (a + 128) * w in int32 over chunks of at most CHUNK terms (each partial sum is then
 *    below 2**31 in magnitude), the chunks added in int64, and 128 * sum_k w taken off: exactly
 *    sum_k a * w. KERNEL_VNNI: `vpdpbusd` dot products over 64 bytes of K, 4 rows x 4 channels
 *    at a time; KERNEL_PORTABLE: plain loops that the compiler vectorizes. Both give the same
 *    integers.
 */
#include <stdlib.h>
#include <string.h>

#include "_engine.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_VNNI_KERNEL 1
#endif

#define CHUNK 65536  /* terms per int32 partial sum: 65536 * 255 * 128 < 2**31 */
static void dot_plain(const uint8_t *a, int64_t m, const int8_t *w, int64_t n, int64_t kp,
                      int64_t k0, int64_t k1, int64_t *acc)
{
    for (int64_t i = 0; i < m; i++) {
        const uint8_t *ar = a + i * kp;
        for (int64_t o = 0; o < n; o++) {
            const int8_t *wr = w + o * kp;
            int32_t s = 0;
            for (int64_t k = k0; k < k1; k++)
                s += (int32_t)ar[k] * (int32_t)wr[k];
            acc[i * n + o] += s;
        }
    }
}

#ifdef HAVE_VNNI_KERNEL
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

VNNI static void dot_vnni(const uint8_t *a, int64_t m, const int8_t *w, int64_t n, int64_t kp,
                          int64_t k0, int64_t k1, int64_t *acc)
{
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
        int64_t o = 0;
        for (; o + 4 <= n; o += 4) {
            __m512i s[4][4];
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    s[r][c] = _mm512_setzero_si512();
            for (int64_t k = k0; k < k1; k += 64) {
                __m512i wv[4], av;
                for (int c = 0; c < 4; c++)
                    wv[c] = _mm512_loadu_si512((const void *)(w + (o + c) * kp + k));
                for (int r = 0; r < 4; r++) {
                    av = _mm512_loadu_si512((const void *)(a + (i + r) * kp + k));
                    for (int c = 0; c < 4; c++)
                        s[r][c] = _mm512_dpbusd_epi32(s[r][c], av, wv[c]);
                }
            }
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    acc[(i + r) * n + o + c] += _mm512_reduce_add_epi32(s[r][c]);
        }
        for (; o < n; o++) {
            __m512i s[4];
            for (int r = 0; r < 4; r++)
                s[r] = _mm512_setzero_si512();
            for (int64_t k = k0; k < k1; k += 64) {
                __m512i wv = _mm512_loadu_si512((const void *)(w + o * kp + k));
                for (int r = 0; r < 4; r++)
                    s[r] = _mm512_dpbusd_epi32(
                        s[r], _mm512_loadu_si512((const void *)(a + (i + r) * kp + k)), wv);
            }
            for (int r = 0; r < 4; r++)
                acc[(i + r) * n + o] += _mm512_reduce_add_epi32(s[r]);
        }
    }
    for (; i < m; i++)
        for (int64_t o = 0; o < n; o++) {
            __m512i s = _mm512_setzero_si512();
            for (int64_t k = k0; k < k1; k += 64)
                s = _mm512_dpbusd_epi32(s, _mm512_loadu_si512((const void *)(a + i * kp + k)),
                                        _mm512_loadu_si512((const void *)(w + o * kp + k)));
            acc[i * n + o] += _mm512_reduce_add_epi32(s);
        }
}
#endif

int best_kernel(void)
{
#ifdef HAVE_VNNI_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        return KERNEL_VNNI;
#endif
    return KERNEL_PORTABLE;
}

int conv_products(const int8_t *fm, const int8_t *wgt, const int64_t *p, int64_t *acc, int kernel)
{
    const int64_t rows = p[P_ROWS], cols = p[P_COLS], ic = p[P_IC], oc = p[P_OC];
    const int64_t kh = p[P_KH], kw = p[P_KW], m = rows * cols, k = kh * kw * ic;
    const int64_t kp = (k + 63) / 64 * 64;
    uint8_t *a = malloc((size_t)(m * kp) + 1);
    int8_t *w = malloc((size_t)(oc * kp) + 1);
    int64_t *wsum = malloc(sizeof(int64_t) * (size_t)(oc + 1));
    if (!a || !w || !wsum) {
        free(a), free(w), free(wsum);
        return NO_MEMORY;
    }
    const int8_t *wsrc = wgt + p[P_WGT_ADDR];
    for (int64_t o = 0; o < oc; o++) {
        int64_t s = 0;
        for (int64_t j = 0; j < k; j++)
            s += wsrc[o * k + j];
        wsum[o] = s;
        memcpy(w + o * kp, wsrc + o * k, (size_t)k);
        memset(w + o * kp + k, 0, (size_t)(kp - k));
    }
    const uint8_t zp_byte = (uint8_t)((int8_t)p[P_IN_ZP]) ^ 0x80;
    for (int64_t y = 0; y < rows; y++)
        for (int64_t x = 0; x < cols; x++) {
            uint8_t *row = a + (y * cols + x) * kp;
            for (int64_t ky = 0; ky < kh; ky++) {
                int64_t py = y * p[P_SH] + ky * p[P_DH], iy = py - p[P_PAD_T];
                for (int64_t kx = 0; kx < kw; kx++) {
                    int64_t px = x * p[P_SW] + kx * p[P_DW], ix = px - p[P_PAD_L];
                    uint8_t *dst = row + (ky * kw + kx) * ic;
                    if (iy < 0 || iy >= p[P_IN_ROWS] || ix < 0 || ix >= p[P_IN_COLS]) {
                        memset(dst, zp_byte, (size_t)ic);
                        continue;
                    }
                    const uint8_t *src = (const uint8_t *)fm + p[P_IN_ADDR]
                                         + iy * p[P_IN_ROW_STRIDE] + ix * p[P_IN_PIX_STRIDE];
                    for (int64_t c = 0; c < ic; c++)
                        dst[c] = src[c] ^ 0x80;
                }
            }
            memset(row + k, 0, (size_t)(kp - k));
        }
    memset(acc, 0, sizeof(int64_t) * (size_t)(m * oc));
    for (int64_t k0 = 0; k0 < kp; k0 += CHUNK)
    {
        int64_t k1 = k0 + CHUNK < kp ? k0 + CHUNK : kp;
#ifdef HAVE_VNNI_KERNEL
        if (kernel == KERNEL_VNNI) {
            dot_vnni(a, m, w, oc, kp, k0, k1, acc);
            continue;
        }
#endif
        dot_plain(a, m, w, oc, kp, k0, k1, acc);
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t o = 0; o < oc; o++)
            acc[i * oc + o] -= 128 * wsum[o];
    free(a), free(w), free(wsum);
    return OK;
}

