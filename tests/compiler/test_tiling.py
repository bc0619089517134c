"""Tilings chosen by `dnn-tile` for random layers: the tiles cover the output exactly once, read
exactly the input their outputs need (recomputed here from the receptive field, element by
element), fit the core's buffers and balance the pool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from fvir.hw import PAPER_U200, TINY
from fvir.hw.config import PoolConfig
from fvir.hw.cost import core_bytes_per_cycle
from fvir.ir.tile import Geometry, TileKind, Unsupported
from fvir.passes.dnn_tile import SearchContext, balance_factor, choose_tiling, make_tiles


def context(pool: PoolConfig, min_tiles: int | None = None) -> SearchContext:
    return SearchContext(pool.core, core_bytes_per_cycle(pool),
                         pool.num_cores if min_tiles is None else min_tiles, pool.num_cores)


@st.composite
def layers(draw) -> Geometry:
    kind = draw(st.sampled_from([TileKind.CONV, TileKind.DWCONV, TileKind.POOL,
                                 TileKind.ELTWISE, TileKind.DENSE, TileKind.GPOOL]))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    c = draw(st.integers(1, 64))
    if kind == TileKind.DENSE:
        k = draw(st.integers(1, 3000))
        return Geometry(kind, (1, 1, k), (1, 1, draw(st.integers(1, 600))))
    if kind == TileKind.GPOOL:
        return Geometry(kind, (h, w, c), (1, 1, c), (h, w))
    if kind == TileKind.ELTWISE:
        return Geometry(kind, (h, w, c), (h, w, c), n_inputs=2)
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh = draw(st.integers(1, 2)) if kind == TileKind.CONV else 1
    dw = draw(st.integers(1, 2)) if kind == TileKind.CONV else 1
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    pt, pl = draw(st.integers(0, min(kh - 1, 3))), draw(st.integers(0, min(kw - 1, 3)))
    oh, ow = (h + 2 * pt - span_h) // sh + 1, (w + 2 * pl - span_w) // sw + 1
    assume(oh >= 1 and ow >= 1)
    pb = max(0, (oh - 1) * sh + span_h - h - pt)
    pr = max(0, (ow - 1) * sw + span_w - w - pl)
    oc = draw(st.integers(1, 64)) if kind == TileKind.CONV else c
    return Geometry(kind, (h, w, c), (oh, ow, oc), (kh, kw), (sh, sw), (dh, dw), (pt, pl, pb, pr))


def needed_inputs(geom: Geometry, lo: int, hi: int, axis: int) -> tuple[int, int, int, int]:
    """Input rows (axis 0) or columns (axis 1) that outputs [lo, hi) read, from every tap: the
    in-image range from the first to the last tap (a dilated kernel skips rows in between, but
    the window the compute instruction walks is contiguous) and the padding above / below."""
    taps = [o * geom.stride[axis] - geom.pads[axis] + geom.dilation[axis] * i
            for o in range(lo, hi) for i in range(geom.kernel[axis])]
    first, last, size = min(taps), max(taps), geom.in_shape[axis]
    return max(first, 0), min(last + 1, size), max(0, -first), max(0, last + 1 - size)


def check_tiles(geom: Geometry, pool: PoolConfig, tiles) -> None:
    core = pool.core
    oh, ow, oc = geom.out_shape
    count = np.zeros((oh, ow, oc), np.int64)
    for t in tiles:
        r0, r1, c0, c1, k0, k1 = t.out_box
        count[r0:r1, c0:c1, k0:k1] += 1
        wr0, wr1, wc0, wc1, wk0, wk1 = t.window_box
        pt, pl, pb, pr = t.pad_values
        if geom.kind == TileKind.DENSE:
            assert (wr0, wr1, wc0, wc1, wk0, wk1) == (0, 1, 0, 1, 0, geom.in_shape[2])
        else:
            assert (wr0, wr1, pt, pb) == needed_inputs(geom, r0, r1, 0)
            assert (wc0, wc1, pl, pr) == needed_inputs(geom, c0, c1, 1)
            whole = geom.kind == TileKind.CONV
            assert (wk0, wk1) == ((0, geom.in_shape[2]) if whole else (k0, k1))
        # The bytes the tile must hold at once, without alignment: they fit, and the recorded
        # footprint (aligned) covers them and fits too.
        win = (wr1 - wr0) * (wc1 - wc0) * (wk1 - wk0)
        out = (r1 - r0) * (c1 - c0) * (k1 - k0)
        g = k1 - k0
        in_place = geom.kind == TileKind.ELTWISE
        fmap = win * geom.n_inputs + (0 if in_place else out)
        weights = {TileKind.CONV: g * geom.kernel[0] * geom.kernel[1] * geom.in_shape[2],
                   TileKind.DWCONV: g * geom.kernel[0] * geom.kernel[1],
                   TileKind.DENSE: g * geom.in_shape[2]}.get(geom.kind, 0)
        bias = 4 * g if weights else 0
        fp = t.footprint
        assert fp[0] >= fmap and fp[1] == weights and fp[2] == bias
        assert fp[0] <= core.fmap_buffer_bytes
        assert fp[1] <= core.weight_buffer_bytes and fp[2] <= core.bias_buffer_bytes
        assert t.step_rows >= 1 and t.cycles > 0
    assert (count == 1).all(), "every output element computed by exactly one tile"


def smallest_footprint_fits(geom: Geometry, pool: PoolConfig) -> bool:
    """Whether a tile of one output element fits (computed here, not by the compiler)."""
    c = geom.in_shape[2]
    core = pool.core
    span = [min(geom.dilation[a] * (geom.kernel[a] - 1) + 1, geom.in_shape[a]) for a in (0, 1)]
    if geom.kind == TileKind.DENSE:
        return c + 1 <= core.fmap_buffer_bytes and c <= core.weight_buffer_bytes
    win_c = c if geom.kind == TileKind.CONV else 1
    fmap = span[0] * span[1] * win_c * geom.n_inputs + 1
    wgt = geom.kernel[0] * geom.kernel[1] * (c if geom.kind == TileKind.CONV else 1)
    return fmap <= core.fmap_buffer_bytes and wgt <= core.weight_buffer_bytes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geom=layers(), pool=st.sampled_from([TINY, PAPER_U200]))
# Once looped forever: narrowing 33 columns stepped from 2 back to 2.
@example(geom=Geometry(TileKind.CONV, (31, 39, 59), (13, 33, 1), (6, 4), (2, 1), (2, 2),
                       (2, 0, 2, 0)), pool=TINY)
def test_tiles_cover_each_output_once_and_fit(geom, pool):
    cx = context(pool)
    try:
        tiling = choose_tiling(geom, cx)
    except Unsupported:
        assert not smallest_footprint_fits(geom, pool)
        return
    tiles = make_tiles(geom, tiling, cx)
    assert len(tiles) == tiling.count
    check_tiles(geom, pool, tiles)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(16, 64), c=st.integers(8, 128), oc=st.integers(32, 256))
def test_big_layers_get_at_least_min_tiles(h, c, oc):
    # Enough rows and channels for 16 tiles: the tiling must offer the whole pool.
    geom = Geometry(TileKind.CONV, (h, h, c), (h, h, oc), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1))
    tiling = choose_tiling(geom, context(PAPER_U200))
    assert tiling.count >= PAPER_U200.num_cores


def test_min_tiles_option_is_a_floor():
    geom = Geometry(TileKind.CONV, (28, 28, 64), (28, 28, 64), (3, 3), (1, 1), (1, 1),
                    (1, 1, 1, 1))
    for n in (1, 16, 40, 64):
        assert choose_tiling(geom, context(PAPER_U200, n)).count >= n


def test_balance_factor_by_hand():
    # 16 tiles on 1..16 cores: perfect on 1, 2, 4, 8, 16; 15 cores need 2 rounds for 16 tiles.
    assert balance_factor(16, 1) == 1.0
    expected = sum(-(-16 // n) * n for n in range(1, 17)) / (16 * 16)
    assert balance_factor(16, 16) == pytest.approx(expected)
    assert balance_factor(1, 16) == pytest.approx(8.5)  # one tile: n - 1 cores idle
    assert balance_factor(64, 16) < balance_factor(16, 16) < balance_factor(8, 16)


def test_unfittable_layer_is_reported():
    # One channel of a 100 x 100 average pooling window exceeds the tiny core's 8 KiB fmap
    # (only global pools pool their window in parts).
    geom = Geometry(TileKind.POOL, (100, 100, 4), (1, 1, 4), (100, 100))
    with pytest.raises(Unsupported, match="fits the core's buffers"):
        choose_tiling(geom, context(TINY))


def test_a_layer_norm_beyond_the_bias_buffer_loads_its_scale_in_parts():
    # Rows of 384 channels: 1,536 bytes of int32 betas exceed the tiny core's 1 KiB bias
    # buffer; parts of a multiple of 16 channels, the fewest that fit: two of 192 (768 bytes).
    geom = Geometry(TileKind.LNORM, (1, 16, 384), (1, 16, 384))
    assert choose_tiling(geom, context(TINY)).chunk == 192


def test_a_global_pool_beyond_the_buffer_pools_its_rows_in_parts():
    # One channel of the 100 x 100 image (10,000 bytes) exceeds the tiny core's 8 KiB fmap:
    # one channel per tile, the window's rows in the fewest parts that fit: two of 50 rows
    # (5,000 bytes, then the output byte).
    geom = Geometry(TileKind.GPOOL, (100, 100, 4), (1, 1, 4), (100, 100))
    t = choose_tiling(geom, context(TINY))
    assert (t.chans, t.chunk) == (1, 50)


def test_a_dense_input_beyond_the_buffer_is_reduced_in_chunks():
    # 10,000 inputs (the tiny core's fmap holds 8 KiB): chunks of a multiple of ICP that fit
    # with their output vector; an image input (x_chw) is cut in whole rows of 3 x 64 bytes.
    geom = Geometry(TileKind.DENSE, (1, 1, 10000), (1, 1, 10))
    tiling = choose_tiling(geom, context(TINY))
    assert 0 < tiling.chunk < 10000 and tiling.chunk % TINY.core.icp == 0
    rows = choose_tiling(geom, context(TINY), reduce_unit=3 * 64)
    assert rows.chunk % (3 * 64) == 0


def test_global_pool_of_a_big_image_uses_fewer_lanes():
    # EfficientNet-B0's first squeeze-excitation pool: 8 channels (ICP) of 112 x 112 are
    # 100,352 bytes, more than the 64 KiB fmap buffer, so the tiles take fewer channels.
    geom = Geometry(TileKind.GPOOL, (112, 112, 32), (1, 1, 32), (112, 112))
    tiling = choose_tiling(geom, context(PAPER_U200))
    assert tiling.chans * 112 * 112 <= PAPER_U200.core.fmap_buffer_bytes < 8 * 112 * 112
    assert tiling.chans * tiling.grid[2] >= 32
    # a pool with ICP channels in the buffer keeps whole lanes
    small = Geometry(TileKind.GPOOL, (56, 56, 32), (1, 1, 32), (56, 56))
    assert choose_tiling(small, context(PAPER_U200)).chans % PAPER_U200.core.icp == 0
