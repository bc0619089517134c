"""The cycle cost model (`fvir.hw.cost`) and the cost of a tile's frame
(`fvir.codegen.tile_schedule.tile_cycles`), against hand arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fvir.codegen.tile_schedule import tile_cycles
from fvir.hw import PAPER_U200, TINY
from fvir.hw.cost import (
    DEFAULT_TIMING,
    Step,
    Timing,
    act_cycles,
    conv_cycles,
    core_bytes_per_cycle,
    dwconv_cycles,
    elew_cycles,
    mvm_cycles,
    pipeline_cycles,
    pool_cycles,
    transfer_cycles,
)
from fvir.ir.tile import Geometry, TileKind

B512 = PAPER_U200.core  # PP 4, ICP 8, OCP 8


def test_conv_cycles_by_hand():
    # 4 rows = 1 PP group, 56 columns, 64 / 8 = 8 input groups, 8 / 8 = 1 output group, 9 taps.
    assert conv_cycles(B512, 4, 56, 64, 8, 3, 3) == 1 * 56 * 8 * 1 * 9
    # Odd shapes round up to whole lanes: 5 rows need 2 PP groups, 3 channels a whole ICP group.
    assert conv_cycles(B512, 5, 10, 3, 9, 7, 7) == 2 * 10 * 1 * 2 * 49
    # A full tile at peak: rows*cols*ic*oc*taps MACs at 256 MACs per cycle.
    macs = 8 * 56 * 64 * 64 * 9
    assert conv_cycles(B512, 8, 56, 64, 64, 3, 3) == macs // B512.macs_per_cycle


def test_other_instructions_by_hand():
    assert dwconv_cycles(B512, 4, 28, 32, 3, 3) == 1 * 28 * 4 * 9  # OCP unused
    assert pool_cycles(B512, 8, 56, 16, 3, 3) == 2 * 56 * 2 * 9
    assert elew_cycles(B512, 7, 7, 100) == 2 * 7 * 13
    assert mvm_cycles(B512, 1000, 2048) == 125 * 256  # PP idle: a quarter of the array
    assert act_cycles(B512, 100) == 13


def test_transfer_and_bandwidth_share():
    assert transfer_cycles(1600, 16) == 100
    assert transfer_cycles(1601, 16) == 101
    assert transfer_cycles(1600, 16, latency=64) == 164
    assert transfer_cycles(0, 16, latency=64) == 0
    with pytest.raises(ValueError, match="positive"):
        transfer_cycles(10, 0)
    # U200: 19.25 GB/s per bank at 300 MHz, four cores per bank.
    assert core_bytes_per_cycle(PAPER_U200) == pytest.approx(19.25e9 / 300e6 / 4)
    # A lone core is bounded by its own port (two 128-bit AXI masters: 32 B/cycle), no longer
    # by the whole bank (19.25e9 / 300e6 = 64.2): the port is the assumption that changed.
    assert core_bytes_per_cycle(PAPER_U200, sharing=1) == 32.0
    assert core_bytes_per_cycle(PAPER_U200, sharing=2) == 32.0
    assert core_bytes_per_cycle(PAPER_U200, sharing=3) == pytest.approx(19.25e9 / 300e6 / 3)
    with pytest.raises(ValueError, match="at least 1"):
        core_bytes_per_cycle(PAPER_U200, sharing=0)


def test_pipeline_by_hand():
    t = Timing(instr_cycles=0, dma_latency=0, frame_cycles=5)
    # Prologue 10; two steps of (load 5, compute 20, save 3):
    # load ends 15, compute 15..35, save 35..38; load ends 20, compute 35..55, save 55..58.
    assert pipeline_cycles(10, [Step(5, 20, 3), Step(5, 20, 3)], t) == 58 + 5
    # Memory-bound steps: loads back to back, compute waits for each.
    assert pipeline_cycles(0, [Step(50, 1, 1), Step(50, 1, 1)], t) == 50 + 50 + 1 + 1 + 5
    # Overlap never makes a frame cheaper than its busiest engine, nor dearer than the sum.
    steps = [Step(7, 11, 2), Step(13, 3, 5), Step(1, 17, 19)]
    total = pipeline_cycles(4, steps, t) - 5
    assert max(4 + sum(s.load for s in steps), sum(s.compute for s in steps),
               sum(s.save for s in steps)) <= total <= 4 + sum(s.load + s.compute + s.save
                                                               for s in steps)


def _conv_geom(h: int, w: int, c: int, oc: int, k: int, s: int, p: int) -> Geometry:
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return Geometry(TileKind.CONV, (h, w, c), (oh, ow, oc), (k, k), (s, s), (1, 1),
                    (p, p, p, p))


def _cost(geom: Geometry, box, core, bpc, timing=DEFAULT_TIMING) -> int:
    win = geom.window(box)
    return tile_cycles(geom, box, win.as_list(), 4, core, bpc, timing=timing)


def test_compute_bound_tile_costs_its_compute():
    # A 3x3, 256 -> 64 conv on 8 rows of 14 columns at 16 B/cycle: the weights (64 x 9 x 256 =
    # 147456 bytes, 9216 cycles) must be in before the first CONV, then the compute
    # (2 steps x 1 x 14 x 32 x 8 x 9 = 64512 cycles) hides the input rows of step 2 and the
    # save of step 1; what remains is the first step's input (5 x 14 x 256 bytes, 1120 cycles)
    # and the last step's output (4 x 14 x 64 bytes, 224 cycles).
    geom = _conv_geom(14, 14, 256, 64, 3, 1, 1)
    box = (0, 8, 0, 14, 0, 64)
    t = Timing(instr_cycles=0, dma_latency=0, frame_cycles=0)
    compute = conv_cycles(B512, 8, 14, 256, 64, 3, 3)
    assert compute == 64512
    assert _cost(geom, box, B512, 16.0, t) == 9216 + 16 + 1120 + compute + 224
    # Overheads (latency, issue) add a little, never a lot.
    assert _cost(geom, box, B512, 16.0) <= 1.01 * (9216 + 16 + 1120 + compute + 224)


def test_memory_bound_tile_costs_its_transfers():
    # A 1x1, 8 -> 8 conv on 8 x 56 pixels at 1 byte per cycle: 3584 bytes in, 3584 out, few
    # MACs (2 * 56 = 112 compute cycles): the transfers decide, and loads and saves share the
    # bandwidth, so they take their sum.
    geom = _conv_geom(56, 56, 8, 8, 1, 1, 0)
    box = (0, 8, 0, 56, 0, 8)
    bytes_moved = 8 * 56 * 8 * 2 + 8 * 8 + 8 * 4  # input, output, weights, biases
    t = Timing(instr_cycles=0, dma_latency=0, frame_cycles=0)
    cycles = _cost(geom, box, B512, 1.0, t)
    assert bytes_moved <= cycles <= bytes_moved + conv_cycles(B512, 8, 56, 8, 8, 1, 1)


def test_more_bandwidth_never_costs_more():
    geom = _conv_geom(28, 28, 64, 64, 3, 1, 1)
    box = (4, 12, 0, 28, 0, 32)
    costs = [_cost(geom, box, B512, bpc) for bpc in (0.5, 1, 2, 4, 8, 16, 64)]
    assert costs == sorted(costs, reverse=True)
    assert costs[0] > costs[-1]


@given(
    rows=st.integers(1, 24), cols=st.integers(1, 30), chans=st.integers(1, 40),
    extra=st.sampled_from(["rows", "cols", "chans"]),
)
def test_bigger_tiles_never_cost_less(rows, cols, chans, extra):
    geom = _conv_geom(32, 32, 16, 48, 3, 1, 1)
    grow = {"rows": (1, 0, 0), "cols": (0, 1, 0), "chans": (0, 0, 1)}[extra]
    r2, c2, k2 = rows + grow[0], cols + grow[1], chans + grow[2]
    if r2 > 32 or c2 > 32 or k2 > 48:
        return
    small = _cost(geom, (0, rows, 0, cols, 0, chans), TINY.core, 4.0)
    big = _cost(geom, (0, r2, 0, c2, 0, k2), TINY.core, 4.0)
    assert big >= small
