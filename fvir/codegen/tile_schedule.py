"""How one tile uses a core: its on-chip buffer layout, its compute steps and its cost.

Shared by `dnn-tile` (which needs footprints and costs to choose a tiling) and
`tile-compile-frames` (which emits exactly this layout and these steps), so the tiling is
chosen on the frame that will really run.

Buffer layout (per frame; nothing is shared with the previous frame on the core, which may be
any layer's):
- fmap buffer: the input window at 0 (rows x cols x window channels, HWC, channels innermost),
  then for an eltwise layer the second input (a channel vector: the tile's channels only),
  then the output block (rows x cols x tile
  channels); each region starts at a multiple of `ALIGN`. Eltwise, ACT and copy tiles compute
  in place (the output overwrites the first input), so they need no output region. Dense: the
  input vector, then the output vector.
- weight buffer: the tile's weights at 0 (its output channels' slice of the layer's block in
  the weights segment); bias buffer: its int32 biases at 0.
The whole tile stays resident: frames are not double-buffered against each other (the next
frame on a core is unknown, see `frame_plan`), and within a frame every step has its own rows,
so steps never overwrite each other.

Steps: the output rows are cut into steps of `step` rows (a multiple of PP). Step k loads the
input rows that no earlier step loaded, computes its rows and saves them, so loads, compute and
saves of successive steps overlap (`fvir.hw.cost.pipeline_cycles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fvir.hw import cost
from fvir.hw.config import CoreConfig
from fvir.ir.tile import Geometry, TileKind

ALIGN = 16  # bytes: regions of the fmap buffer start at multiples of this
MAX_STEPS = 4  # compute steps per frame: enough to overlap load/compute/save


def align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass(frozen=True)
class Layout:
    """Addresses (bytes) of a tile's operands in the core's buffers, and their strides."""

    inputs: tuple[int, ...]  # fmap address of each input region
    out: int  # fmap address of the output block
    in_pix: int  # bytes per input pixel (the window's channels)
    in_row: int  # bytes per input row
    out_pix: int
    out_row: int
    footprint: tuple[int, int, int]  # fmap, weight, bias bytes used
    psum: int = 0  # bias-buffer address of a split reduction's int32 partial sums


def chunks(channels: int, chunk: int) -> list[tuple[int, int]]:
    """The input-channel ranges of a split reduction (`chunk` channels each; 0: one range);
    a split global pool's ranges of window rows likewise."""
    step = chunk or channels
    return [(a, min(a + step, channels)) for a in range(0, channels, step)]


def layout(geom: Geometry, out: Sequence[int], window: Sequence[int], chunk: int = 0) -> Layout:
    """The buffer layout of the tile with output box `out` and input window `window`; with a
    split reduction (`chunk` input channels at a time) the window and weights of one chunk,
    and the int32 partial sums after the biases (`Layout.psum`)."""
    r0, r1, c0, c1, k0, k1 = out
    wr0, wr1, wc0, wc1, wk0, wk1 = window
    g = k1 - k0
    if chunk and geom.kind == TileKind.LNORM:  # scale and bias in parts of `chunk`: out of place
        in_pix = wk1 - wk0
        in_bytes = (wr1 - wr0) * (wc1 - wc0) * in_pix
        out_addr = align(in_bytes)
        out_row = (c1 - c0) * g
        return Layout((0,), out_addr, in_pix, (wc1 - wc0) * in_pix, g, out_row,
                      (out_addr + (r1 - r0) * out_row, chunk, 4 * chunk))
    if chunk and geom.kind == TileKind.GPOOL:  # `chunk` rows of the window at a time
        in_pix = wk1 - wk0
        in_bytes = chunk * (wc1 - wc0) * in_pix
        out_addr = align(in_bytes)
        return Layout((0,), out_addr, in_pix, (wc1 - wc0) * in_pix, g, g,
                      (out_addr + g, 0, 4 * g), 0)
    in_pix = chunk or wk1 - wk0
    in_row = (wc1 - wc0) * in_pix
    in_bytes = (wr1 - wr0) * in_row
    out_pix, out_row = g, (c1 - c0) * g
    out_bytes = (r1 - r0) * out_row
    kh, kw = geom.kernel
    wgt = g * (kh * kw * chunk if chunk else geom.weight_bytes_per_channel)
    bias = psum = geom.bias_bytes_per_channel * g if geom.has_weights else 0
    if chunk:
        psum = align(bias)
        bias = psum + 4 * (r1 - r0) * (c1 - c0) * g
    if geom.broadcast:  # the vector of the tile's channels after the block
        fmap = align(in_bytes) + g
        return Layout((0, align(in_bytes)), 0, in_pix, in_row, in_pix, in_row, (fmap, wgt, bias))
    if geom.kind in (TileKind.ELTWISE, TileKind.ACT, TileKind.COPY) or geom.kind.whole_rows:
        inputs = tuple(i * align(in_bytes) for i in range(geom.n_inputs))
        fmap = align(in_bytes) * (geom.n_inputs - 1) + in_bytes
        return Layout(inputs, 0, in_pix, in_row, in_pix, in_row, (fmap, wgt, bias))
    out_addr = align(in_bytes)
    return Layout((0,), out_addr, in_pix, in_row, out_pix, out_row,
                  (out_addr + out_bytes, wgt, bias), psum)


def worst_footprint(geom: Geometry, rows: int, cols: int, chans: int,
                    chunk: int = 0) -> tuple[int, int, int]:
    """The largest footprint of a tile of rows x cols x chans outputs anywhere in the layer
    (its window unclipped by the image edges, but never larger than the image), reducing over
    `chunk` input channels at a time (0: all)."""
    h, w, c = geom.in_shape
    win_r = min((rows - 1) * geom.stride[0] + geom.span(0), h)
    win_c = min((cols - 1) * geom.stride[1] + geom.span(1), w)
    if geom.kind == TileKind.DENSE:
        win_r = win_c = 1
    win_k = c if geom.all_input_channels else chans
    if geom.kind == TileKind.CONV and geom.groups > 1:  # the groups a tile may straddle
        cin, cout = geom.group_channels
        win_k = min(c, (-(-(chans - 1) // cout) + 1) * cin)
    box, window = (0, rows, 0, cols, 0, chans), (0, win_r, 0, win_c, 0, win_k)
    return layout(geom, box, window, chunk).footprint


@dataclass(frozen=True)
class StepPlan:
    """One compute step of a tile: output rows [rows), the input rows it reads from
    `in_start`, the new input rows it loads (`load`, empty when earlier steps loaded them all),
    and the zero rows its compute instruction adds above and below."""

    rows: tuple[int, int]
    in_start: int
    load: tuple[int, int]
    pad_t: int
    pad_b: int


def steps(geom: Geometry, out: Sequence[int], window: Sequence[int], step: int) -> list[StepPlan]:
    """The compute steps of a tile (one step for dense and global pooling)."""
    r0, r1 = out[0], out[1]
    if geom.kind in (TileKind.DENSE, TileKind.GPOOL):
        return [StepPlan((r0, r1), window[0], (window[0], window[1]), 0, 0)]
    plans: list[StepPlan] = []
    loaded = window[0]
    for a in range(r0, r1, step):
        b = min(a + step, r1)
        lo, hi, pt, pb = geom._axis(0, a, b)
        plans.append(StepPlan((a, b), lo, (loaded, max(hi, loaded)), pt, pb))
        loaded = max(hi, loaded)
    return plans


def step_rows(core: CoreConfig, rows: int) -> int:
    """Rows per compute step for a tile of `rows` output rows: a multiple of PP giving at most
    MAX_STEPS steps (all rows in one step when the tile has fewer than PP)."""
    if rows <= core.pp:
        return rows
    groups = -(-rows // core.pp)
    return core.pp * -(-groups // MAX_STEPS)


def tile_cycles(
    geom: Geometry,
    out: Sequence[int],
    window: Sequence[int],
    step: int,
    core: CoreConfig,
    bytes_per_cycle: float,
    runs: Sequence[int] | None = None,
    distinct: int = 1,
    timing: cost.Timing = cost.DEFAULT_TIMING,
    chunk: int = 0,
) -> int:
    """Cycles of the frame of one tile (`fvir.hw.cost.pipeline_cycles` over its steps), with
    the instructions `tile-compile-frames` emits for it. `runs` are the channel counts of the
    tile's runs of equal requantization shift, cut at a grouped conv's group boundaries (one
    compute instruction each; default one run)
    and `distinct` the number of different shifts among them (one INIT each). A split
    reduction (`chunk` > 0) runs its chunks one after the other: each chunk's LOADs wait for
    the previous chunk's CONVs, which read the same buffers."""
    _, _, c0, c1, k0, k1 = out
    g, cols = k1 - k0, c1 - c0
    win_cols, win_ch = window[3] - window[2], window[5] - window[4]
    kh, kw = geom.kernel
    t_i = timing.instr_cycles
    sizes = list(runs) if runs is not None else [g]

    def xfer(nbytes: int, n: int = 1) -> int:  # n LOAD/SAVE instructions moving nbytes
        return cost.transfer_cycles(nbytes, bytes_per_cycle) + n * (timing.dma_latency + t_i)

    if chunk and geom.kind == TileKind.LNORM:  # per part: its scale and bias, then a ROW
        pixels = (out[1] - out[0]) * cols
        total = xfer(pixels * win_ch)
        for a, b in chunks(g, chunk):  # its LOADs wait for the previous ROW
            total += xfer(b - a) + xfer(4 * (b - a)) + t_i + cost.row_cycles(core, pixels, g)
        return total + xfer(pixels * g) + t_i + timing.frame_cycles
    if chunk and geom.kind == TileKind.GPOOL:  # the window's rows in parts, one after another
        win_rows = window[1] - window[0]
        total = 0
        for a, b in chunks(win_rows, chunk):
            # its LOAD waits for the previous POOL; its POOLINIT runs during the LOAD
            total += xfer((b - a) * win_cols * win_ch) + t_i
            total += cost.pool_cycles(core, 1, 1, g, b - a, kw)
        return total + xfer(g) + t_i + timing.frame_cycles
    if chunk:
        rows, win_rows = out[1] - out[0], window[1] - window[0]
        parts = chunks(win_ch, chunk)
        dense = geom.kind == TileKind.DENSE
        total = xfer(geom.bias_bytes_per_channel * g)
        for a, b in parts:
            total += xfer(g * kh * kw * (b - a)) + xfer(win_rows * win_cols * (b - a))
            total += len(sizes) * t_i + sum(
                cost.mvm_cycles(core, n, b - a) if dense
                else cost.conv_cycles(core, rows, cols, b - a, n, kh, kw) for n in sizes)
        inits = 0 if dense else (len(parts) - 1 + distinct) * t_i  # a CONVINIT per chunk
        return total + inits + xfer(rows * cols * g) + t_i + timing.frame_cycles
    prologue = 0
    if geom.has_weights:
        prologue = (xfer(g * geom.weight_bytes_per_channel)
                    + xfer(geom.bias_bytes_per_channel * g))
    if geom.broadcast:  # the channel vector, loaded once
        prologue = xfer(g)
    block_inputs = 1 if geom.broadcast else geom.n_inputs
    kind = geom.kind
    if kind == TileKind.DENSE:
        compute = sum(cost.mvm_cycles(core, n, win_ch) for n in sizes) + len(sizes) * t_i
        return cost.pipeline_cycles(
            prologue + xfer(win_ch), [cost.Step(0, compute, xfer(g))], timing
        ) + t_i
    plans = steps(geom, out, window, step)
    inits = distinct if kind in (TileKind.CONV, TileKind.DWCONV) else 1
    per_step_inits = inits if inits > 1 else 0
    stages: list[cost.Step] = []
    for s in plans:
        rows = s.rows[1] - s.rows[0]
        new_rows = s.load[1] - s.load[0]
        load = xfer(new_rows * win_cols * win_ch, block_inputs) if new_rows else 0
        if kind == TileKind.CONV:  # a grouped conv's runs lie within one group each
            ic = geom.group_channels[0] if geom.groups > 1 else win_ch
            c = sum(cost.conv_cycles(core, rows, cols, ic, oc, kh, kw) for oc in sizes)
        elif kind == TileKind.DWCONV:
            c = sum(cost.dwconv_cycles(core, rows, cols, n, kh, kw) for n in sizes)
        elif kind in (TileKind.POOL, TileKind.GPOOL):
            c = cost.pool_cycles(core, rows, cols, g, kh, kw)
        elif kind == TileKind.ELTWISE:
            c = cost.elew_cycles(core, rows, cols, g)
        elif kind == TileKind.ACT:
            c = cost.act_cycles(core, rows * cols * g)
        elif kind.whole_rows:
            c = cost.row_cycles(core, rows * cols, g)
        else:  # COPY: the data goes straight from the load to the save
            c = 0
        n_compute = 0 if kind == TileKind.COPY else len(sizes) + per_step_inits
        stages.append(cost.Step(load, c + n_compute * t_i, xfer(rows * cols * g)))
    head = (inits if per_step_inits == 0 and kind != TileKind.COPY else 0) * t_i
    # The closing fence is one more (empty) LOAD.
    return cost.pipeline_cycles(prologue + head, stages, timing) + t_i

