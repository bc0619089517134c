"""The compiled CONV product kernels (fvir/backend/_conv_kernel.c), both of them, against an
exact numpy int64 reference: seeded random geometries (kernel sizes, strides, dilations,
padding on any side, all-padding blocks, pixel strides larger or smaller than ic, ic and oc
not multiples of 4/16/64, extreme bytes) read back as raw products through acc_out, and a
K large enough to overflow a naive int32 sum, read through the requantization."""

from __future__ import annotations

import numpy as np
import pytest

from fvir.backend import _engine

NAMES = _engine.param_names("conv")  # the parameter vector's entries, in order
P = {name: i for i, name in enumerate(NAMES)}


@pytest.fixture(params=["portable", "avx512-vnni"])
def kernel(request: pytest.FixtureRequest):
    previous = _engine.kernel()
    try:
        _engine.kernel(request.param)
    except ValueError:
        pytest.skip(f"{request.param} is not available on this CPU")
    yield request.param
    _engine.kernel(previous)


def params(**fields: int) -> np.ndarray:
    p = np.zeros(len(NAMES), np.int64)
    p[P["mul_max"]] = 1
    for name, value in fields.items():
        p[P[name]] = value
    return p


def reference(fm: np.ndarray, w: np.ndarray, g: dict) -> np.ndarray:
    """acc[y, x, o] in int64 from the padded block, as in docs/isa.md's CONV."""
    rows, cols, ic, oc = g["rows"], g["cols"], g["ic"], g["oc"]
    kh, kw, sh, sw, dh, dw = g["kh"], g["kw"], g["sh"], g["sw"], g["dh"], g["dw"]
    ph, pw = (rows - 1) * sh + (kh - 1) * dh + 1, (cols - 1) * sw + (kw - 1) * dw + 1
    pt, pl = g["pad_t"], g["pad_l"]
    padded = np.full((ph + pt + g["in_rows"], pw + pl + g["in_cols"], ic), g["in_zp"], np.int64)
    yy, xx, ii = np.ix_(range(g["in_rows"]), range(g["in_cols"]), range(ic))
    x = fm.view(np.int8)[g["in_addr"] + yy * g["in_row_stride"] + xx * g["in_pix_stride"] + ii]
    padded[pt : pt + g["in_rows"], pl : pl + g["in_cols"]] = x
    y, xo, ky, kx = np.ix_(range(rows), range(cols), range(kh), range(kw))
    patches = padded[y * sh + ky * dh, xo * sw + kx * dw]  # [rows, cols, kh, kw, ic]
    n = oc * kh * kw * ic
    wm = w.view(np.int8)[g["wgt_addr"] : g["wgt_addr"] + n].astype(np.int64)
    return np.einsum("yxabi,oabi->yxo", patches, wm.reshape(oc, kh, kw, ic))


def products(fm: np.ndarray, w: np.ndarray, g: dict) -> np.ndarray:
    """The raw products, through acc_out with zero biases (int32, exact here)."""
    m, oc = g["rows"] * g["cols"], g["oc"]
    bias = np.zeros(4 * oc + 4 * m * oc, np.uint8)
    code = _engine.conv_int8(fm, w, bias, params(**g, psum_addr=4 * oc, acc_out=1))
    assert code == 0
    return bias[4 * oc :].view(np.int32).reshape(g["rows"], g["cols"], oc)


def random_geometry(rng: np.random.Generator) -> dict:
    kh, kw = (int(v) for v in rng.choice([1, 1, 2, 3, 3, 5, 7], 2))
    sh, sw, dh, dw = (int(v) for v in rng.choice([1, 1, 2, 3], 4))
    rows, cols = int(rng.integers(1, 11)), int(rng.integers(1, 11))
    ic = int(rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 31, 32, 33, 36, 64, 65, 100, 128, 192, 260]))
    oc = int(rng.choice([1, 2, 3, 4, 5, 8, 9, 16, 17, 24, 33, 48, 64, 70]))
    ph, pw = (rows - 1) * sh + (kh - 1) * dh + 1, (cols - 1) * sw + (kw - 1) * dw + 1
    pad_t = int(rng.choice([0, 1, int(rng.integers(0, ph + 1))]))
    pad_l = int(rng.choice([0, 1, int(rng.integers(0, pw + 1))]))
    # rows / columns past the window are legal too; 0: all padding
    in_rows = int(rng.integers(0, ph - pad_t + 2)) if pad_t < ph else 0
    in_cols = int(rng.integers(0, pw - pad_l + 2)) if pad_l < pw else 0
    wider, overlapping = ic + int(rng.integers(1, 9)), max(1, ic - int(rng.integers(1, 4)))
    ps = int(rng.choice([ic, ic, wider, overlapping]))
    rs = int(rng.choice([in_cols * ps, in_cols * ps + int(rng.integers(1, 70)), ps + 1]))
    return dict(in_addr=int(rng.integers(0, 70)), in_rows=in_rows, in_cols=in_cols, ic=ic,
                in_row_stride=rs, in_pix_stride=ps, pad_t=pad_t, pad_l=pad_l, kh=kh, kw=kw,
                sh=sh, sw=sw, dh=dh, dw=dw, rows=rows, cols=cols, oc=oc,
                wgt_addr=int(rng.integers(0, 70)),
                in_zp=int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))])))


def random_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 6)
    if kind == 0:
        return np.full(n, 0x80, np.uint8)  # -128
    if kind == 1:
        return np.full(n, 0x7F, np.uint8)
    return rng.integers(0, 256, n, dtype=np.uint8)


def test_random_geometries(kernel: str) -> None:
    rng = np.random.default_rng(20240607)
    for _ in range(400):
        g = random_geometry(rng)
        x_end = g["in_addr"] + g["ic"]
        if g["in_rows"] and g["in_cols"]:
            x_end += ((g["in_rows"] - 1) * g["in_row_stride"]
                      + (g["in_cols"] - 1) * g["in_pix_stride"])
        fm = random_bytes(rng, x_end)  # the block ends where the fmap ends
        w = random_bytes(rng, g["wgt_addr"] + g["oc"] * g["kh"] * g["kw"] * g["ic"])
        np.testing.assert_array_equal(products(fm, w, g), reference(fm, w, g), err_msg=str(g))


def test_resnet_like_shapes(kernel: str) -> None:
    """The shapes that matter: 1x1 and 3x3 over ic 64..512, small and large oc, edge tiles."""
    rng = np.random.default_rng(7)
    for kh, ic, oc, rows, cols, pad in [(1, 256, 32, 2, 28, 0), (3, 64, 16, 4, 56, 1),
                                        (3, 256, 8, 4, 14, 1), (1, 64, 88, 3, 21, 0),
                                        (3, 512, 40, 1, 7, 1), (7, 3, 8, 2, 40, 3)]:
        sh = 2 if kh == 7 else 1
        in_rows, in_cols = (rows - 1) * sh + kh - pad, (cols - 1) * sh + kh - pad
        g = dict(in_addr=5, in_rows=in_rows, in_cols=in_cols, ic=ic, in_row_stride=in_cols * ic,
                 in_pix_stride=ic, pad_t=pad, pad_l=pad, kh=kh, kw=kh, sh=sh, sw=sh, dh=1, dw=1,
                 rows=rows, cols=cols, oc=oc, wgt_addr=3, in_zp=-7)
        fm = rng.integers(0, 256, 5 + in_rows * in_cols * ic, dtype=np.uint8)
        w = rng.integers(0, 256, 3 + oc * kh * kh * ic, dtype=np.uint8)
        np.testing.assert_array_equal(products(fm, w, g), reference(fm, w, g), err_msg=str(g))


@pytest.mark.parametrize("ic", [4000, 3999])
def test_large_k_is_exact_in_int64(kernel: str, ic: int) -> None:
    """K = 6 * 6 * ic > 131072: with every byte -128 the sums pass 2**31; the requantization
    (shift_cut 25) reads their high bits."""
    kh = 6
    k = kh * kh * ic
    g = dict(in_addr=0, in_rows=kh - 1, in_cols=kh, ic=ic, in_row_stride=kh * ic,
             in_pix_stride=ic, pad_t=1, pad_l=0, kh=kh, kw=kh, sh=1, sw=1, dh=1, dw=1, rows=1,
             cols=1, oc=3, wgt_addr=0, in_zp=-128)
    out_addr = (kh - 1) * kh * ic
    fm = np.full(out_addr + 3, 0x80, np.uint8)
    w = np.full(3 * k, 0x80, np.uint8)
    bias = np.zeros(12, np.uint8)
    p = params(**g, shift_cut=25, out_addr=out_addr, out_pix_stride=3)
    assert _engine.conv_int8(fm, w, bias, p) == 0
    exact = k * 128 * 128
    assert exact > 2**31
    expected = min(127, (exact + (1 << 24)) >> 25)
    assert list(fm[out_addr:].view(np.int8)) == [expected] * 3
    # random bytes, raw products: the int32 sums of every chunk added exactly
    rng = np.random.default_rng(ic)
    fm = rng.integers(0, 256, out_addr, dtype=np.uint8)
    w = rng.integers(0, 256, 3 * k, dtype=np.uint8)
    np.testing.assert_array_equal(products(fm, w, g), reference(fm, w, g))
