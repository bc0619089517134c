"""`dnn-tile`: cut every accelerator layer into tiles that one core can run (the `tile` dialect).

Why: the package is compiled once for one core and must run on any number of cores, so each
layer becomes independent tiles (frames) that fit one core's buffers, with enough of them that
any core count up to the pool size balances (docs/ARCHITECTURE.md, TRETS'22 IFPs).

Tiling rule. A layer's output (rows x cols x channels, NHWC) is cut into a grid of tiles along
output rows, output columns and output channels, never across cores along input channels (that
would need a cross-core reduction of partial sums). A conv none of whose tiles fits the buffers
with all its input channels (`tiny`'s 16 KiB of weights against ResNet's 3x3x512 kernels), or a
dense layer whose input does not fit (VGG-16's fc6 on `tiny`), reduces over chunks of its
inputs *within* a tile's frame: the largest multiple of ICP (a dense layer's image input: of
its rows) that fits, int32 partial sums in the bias buffer between chunks (acc_in/acc_out).
Row bands are multiples of PP rows (the conv engine's pixel parallelism; fewer only when even PP
rows cannot fit), channel groups multiples of OCP
(conv, dense) or ICP (depthwise, pooling, eltwise), and columns are split only when a full-width
band of PP rows does not fit (VGG's 224x224x64 layers). A tile must fit the core's buffers
(`tile_schedule.layout`: input window with halo + output block in the fmap buffer, weight slice
and biases in theirs; one frame at a time, not double-buffered). Dense layers split along output
features only; global pooling along channels only, in groups of fewer than ICP channels (idle
lanes) when ICP channels of the whole image overflow the fmap buffer (EfficientNet-B0's first
squeeze-excitation pool, 112 x 112 x 8 bytes > 64 KiB).

Algorithm, per accelerator op in program order:
1. Geometry (`fvir.hw.capability.lowering`, which rejects what the accelerator cannot run)
   and the requantization shifts per output channel.
2. Candidates: for every channel group size G (one per distinct count of groups), the
   narrowest column split that fits PP rows, and every row band height R (one per distinct
   count of bands) that fits. Each candidate is costed as T tiles x the cycles of an interior
   tile (`tile_schedule.tile_cycles`: the frame's pipelined loads, compute and saves at the
   per-core DDR share `bank bandwidth / cores per bank`).
3. Choose the candidate with at least `min-tiles` tiles (default: the pool size) and the lowest
   *balanced cost* = total cycles x mean over n = 1..pool size of ceil(T / n) * n / T, i.e.
   the work the pool really spends when n cores share T tiles (16 tiles balance 16 and 8 cores
   but waste half of 15). If no candidate reaches `min-tiles`, narrower column blocks are
   tried; a layer too small even for that gets the candidate with the most tiles.
4. Emit `tile.layer` wrapping the op and its weights, one `tile.tile` per tile with its exact
   window, pads, steps, footprint and cost.

Zero-copy ops:
- `dnn.concat` along channels becomes `tile.concat`; each input's producer saves straight into
  its channel slice (`into [offset, total]`: SAVE with the concat's pixel stride). An input
  that cannot be written in place (a model input, a host op's result, a value with host users
  or returned by the function, used twice, or already placed) gets a copy layer.
- `dnn.flatten` / `dnn.reshape` become `tile.view` (no data moves) when the NHWC byte order is
  the result's element order (1x1 images, vectors), or when every user is a dense layer: the
  flattening of an NHWC [1, C, H, W] is in (h, w, c) order, not ONNX's (c, h, w), so the dense
  layer records `x_chw [C, H, W]` and its weight columns are permuted at compile time.
  Any other reshape runs on the host (exactly: Fy = Fx).
Ops are accelerator ops when marked `dnn.target = "accel"` (after `dnn-partition`), or, in
unpartitioned IR, when the accelerator can run them; float IR is tiled as if int8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from math import prod

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from fvir.codegen import quant_params as qp
from fvir.codegen.tile_schedule import layout, step_rows, tile_cycles, worst_footprint
from fvir.hw import PoolConfig, capability
from fvir.hw.config import CoreConfig
from fvir.hw.cost import core_bytes_per_cycle
from fvir.ir import dnn, tile
from fvir.ir.tile import Geometry, TileKind, Unsupported
from fvir.isa.spec import ROW_PART_UNIT
from fvir.passes import context

TARGET_ATTR = "dnn.target"


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


# ---------------------------------------------------------------------------- the search


@dataclass(frozen=True)
class Tiling:
    """A grid tiling: tiles of rows x cols x chans outputs (the last of each axis smaller)."""

    rows: int
    cols: int
    chans: int
    grid: tuple[int, int, int]
    estimate: int  # estimated total cycles
    score: float  # balanced cost
    chunk: int = 0  # input channels per partial reduction (0: all at once)

    @property
    def count(self) -> int:
        return prod(self.grid)


@cache
def balance_factor(tiles: int, cores: int) -> float:
    """Mean over n = 1..cores of ceil(tiles / n) * n / tiles: how much work n cores spend on
    `tiles` equal tiles relative to a perfect split (1.0 = always perfect)."""
    return sum(_cdiv(tiles, n) * n for n in range(1, cores + 1)) / (tiles * cores)


def _sizes(total: int, unit: int) -> list[int]:
    """One block size per distinct block count: multiples of `unit` (or `total` itself),
    largest first."""
    out: list[int] = []
    for n in range(1, _cdiv(total, unit) + 1):
        size = min(total, _cdiv(_cdiv(total, n), unit) * unit)
        if not out or size < out[-1]:
            out.append(size)
    return out


@dataclass(frozen=True)
class SearchContext:
    """What the search needs besides the layer."""

    core: CoreConfig
    bytes_per_cycle: float
    min_tiles: int
    cores: int  # the pool size the tiling should balance for


def _fits(core: CoreConfig, fp: tuple[int, int, int]) -> bool:
    return (fp[0] <= core.fmap_buffer_bytes and fp[1] <= core.weight_buffer_bytes
            and fp[2] <= core.bias_buffer_bytes)


def _interior(n: int, size: int, total: int) -> tuple[int, int]:
    start = size if n >= 3 else 0
    return start, min(start + size, total)


def choose_tiling(geom: Geometry, cx: SearchContext, shifts: Sequence[int] | None = None,
                  reduce_unit: int = 0) -> Tiling:
    """The tiling of a layer (module docstring, steps 2-3); `Unsupported` if no tile fits.
    A split reduction's chunks are multiples of `reduce_unit` input bytes (default ICP).

    Columns are split only as far as the buffers need, unless no such tiling reaches
    `min_tiles`: then narrower column blocks are tried too. If even those cannot reach it,
    the tiling with the most tiles (the layer is too small for the pool)."""
    found = _search(geom, cx, shifts, 0)
    if found == (None, None) and geom.kind == TileKind.GPOOL:  # the window is the whole image
        found = _search(geom, cx, shifts, 0, unit=1)
        if found == (None, None):  # not even one channel of it: the window's rows in parts
            found = _in_parts(geom, cx, shifts, geom.in_shape[0], 1, unit=1)
    if found == (None, None) and geom.kind == TileKind.LNORM:  # scale and bias in parts
        found = _in_parts(geom, cx, shifts, geom.in_shape[2], ROW_PART_UNIT)
    if found == (None, None) and geom.all_input_channels:  # a reduction over chunks
        found = _in_parts(geom, cx, shifts, geom.in_shape[2], reduce_unit or cx.core.icp)
    if found[0] is None and capability.tile_facts(cx.core, geom.kind).spatial:
        for more in (1, 2, 3, 5, 7):
            widened = _search(geom, cx, shifts, more)
            found = (widened[0], max(found[1], widened[1], key=_most_tiles))  # type: ignore[arg-type]
            if found[0] is not None:
                break
    best, most = found
    if best is not None:
        return best
    if most is None:
        raise Unsupported(f"no tile of this {geom.kind} layer fits the core's buffers")
    return most


def _in_parts(geom: Geometry, cx: SearchContext, shifts: Sequence[int] | None, total: int,
              part_unit: int, unit: int | None = None) -> tuple[Tiling | None, Tiling | None]:
    """The search again for a layer none of whose tiles fits whole: each tile works through
    `chunk`-sized parts of `total` (a conv's or dense layer's input channels, a global pool's
    window rows, a LayerNorm's channels), multiples of `part_unit`, the fewest parts that fit;
    the partial results stay in the bias buffer between parts."""
    for chunk in _sizes(total, part_unit)[1:]:
        found = _search(geom, cx, shifts, 0, unit, chunk=chunk)
        if found != (None, None):
            return found
    return None, None


def _most_tiles(t: Tiling | None) -> tuple[int, float]:
    return (-1, 0.0) if t is None else (t.count, -t.score)


def _search(geom: Geometry, cx: SearchContext, shifts: Sequence[int] | None,
            more_cols: int, unit: int | None = None,
            chunk: int = 0) -> tuple[Tiling | None, Tiling | None]:
    """(the best tiling with at least min_tiles tiles, the tiling with the most tiles), with
    channel groups in multiples of `unit` (default: the kind's lane unit), reducing over
    `chunk` input channels at a time (0: all)."""
    core = cx.core
    oc = geom.out_shape[2]
    facts = capability.tile_facts(core, geom.kind)
    best: Tiling | None = None
    most: Tiling | None = None
    for g in _sizes(oc, unit or facts.channel_unit):
        n_c = _cdiv(oc, g)
        if not _fits(core, (0, *worst_footprint(geom, 1, 1, g, chunk)[1:])):
            continue
        if not facts.spatial:
            if not _fits(core, worst_footprint(geom, 1, 1, g, chunk)):
                continue
            cands = [(1, 1, 1, 1)]
        else:
            cands = _spatial_candidates(geom, core, g, more_cols, chunk)
        runs = _runs(geom, shifts, 0, g)
        for r, n_r, w, n_w in cands:
            t = _evaluate(geom, cx, r, n_r, w, n_w, g, n_c, runs, chunk)
            most = max(most, t, key=_most_tiles)
            if t.count >= cx.min_tiles and (best is None or t.score < best.score):
                best = t
    return best, most


def _spatial_candidates(
    geom: Geometry, core: CoreConfig, g: int, more_cols: int = 0, chunk: int = 0
) -> list[tuple[int, int, int, int]]:
    """(rows, row bands, cols, col bands) worth costing for channel groups of g: the narrowest
    column split that fits PP rows (usually none), with `more_cols` extra column blocks."""
    oh, ow, _ = geom.out_shape
    r_min = min(core.pp, oh)

    def fits(r: int, w: int) -> bool:
        return _fits(core, worst_footprint(geom, r, w, g, chunk))

    w = ow
    while not fits(r_min, w) and w > 1:
        # One more column block each step; strictly narrower, since ceil-division can
        # map a width back onto itself (33 wide: 2 -> 17 blocks -> 18 blocks -> 2).
        w = min(w - 1, _cdiv(ow, _cdiv(ow, w) + 1))
    if not fits(r_min, w):
        # Not even PP rows fit one column: take as many rows as fit.
        r_min = next((r for r in range(r_min - 1, 0, -1) if fits(r, w)), 0)
        if r_min == 0:
            return []
    if more_cols:
        w = _cdiv(ow, min(ow, _cdiv(ow, w) + more_cols))
    n_w = _cdiv(ow, w)
    # The tallest band that fits (footprints grow with the rows).
    lo, hi = r_min, oh
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid, w):
            lo = mid
        else:
            hi = mid - 1
    r_max = lo
    unit = core.pp if r_min >= core.pp else 1
    rows = [r for r in _sizes(oh, unit) if r <= r_max] or [r_min]
    return [(r, _cdiv(oh, r), w, n_w) for r in rows]


def _runs(geom: Geometry, shifts: Sequence[int] | None, lo: int,
          hi: int) -> tuple[tuple[int, ...], int]:
    period = geom.group_period
    if shifts is None and not period:
        return (hi - lo,), 1
    runs = qp.shift_runs(shifts or [0] * hi, lo, hi, period)
    return tuple(b - a for a, b, _ in runs), len({s for _, _, s in runs})


def _evaluate(geom: Geometry, cx: SearchContext, r: int, n_r: int, w: int, n_w: int, g: int,
              n_c: int, runs: tuple[tuple[int, ...], int], chunk: int = 0) -> Tiling:
    oh, ow, _ = geom.out_shape
    rr, cc = _interior(n_r, r, oh), _interior(n_w, w, ow)
    box = (*rr, *cc, 0, g)
    window = geom.window(box)
    cycles = tile_cycles(geom, box, window.as_list(), _step(cx.core, rr[1] - rr[0], chunk),
                         cx.core, cx.bytes_per_cycle, runs[0], runs[1], chunk=chunk)
    count = n_r * n_w * n_c
    total = cycles * count
    return Tiling(r, w, g, (n_r, n_w, n_c), total, total * balance_factor(count, cx.cores),
                  chunk)


def _step(core: CoreConfig, rows: int, chunk: int) -> int:
    """Rows per compute step; a split reduction computes all its rows in one step."""
    return rows if chunk else step_rows(core, rows)


def make_tiles(geom: Geometry, tiling: Tiling, cx: SearchContext,
               shifts: Sequence[int] | None = None) -> list[tile.TileOp]:
    """The `tile.tile` ops of a tiling, rows outermost, channels innermost."""
    oh, ow, oc = geom.out_shape
    costs: dict[tuple, int] = {}
    out: list[tile.TileOp] = []
    for r0 in range(0, oh, tiling.rows):
        r1 = min(r0 + tiling.rows, oh)
        step = _step(cx.core, r1 - r0, tiling.chunk)
        for c0 in range(0, ow, tiling.cols):
            c1 = min(c0 + tiling.cols, ow)
            for k0 in range(0, oc, tiling.chans):
                k1 = min(k0 + tiling.chans, oc)
                box = (r0, r1, c0, c1, k0, k1)
                win = geom.window(box)
                wl = win.as_list()
                runs = _runs(geom, shifts, k0, k1)
                key = (r1 - r0, c1 - c0, wl[1] - wl[0], wl[3] - wl[2], wl[5] - wl[4],
                       win.pads, runs)
                if key not in costs:
                    costs[key] = tile_cycles(geom, box, wl, step, cx.core, cx.bytes_per_cycle,
                                             runs[0], runs[1], chunk=tiling.chunk)
                fp = layout(geom, box, wl, tiling.chunk).footprint
                out.append(tile.TileOp(box, wl, win.pads, step, fp, costs[key], tiling.chunk))
    return out


# ------------------------------------------------------------------------------ the pass


def _target(op: Operation) -> str | None:
    attr = op.attributes.get(TARGET_ATTR)
    return attr.data if isinstance(attr, StringAttr) else None


_CONST_OPS = (dnn.WeightOp, dnn.ConstantOp)


def is_accelerator_op(op: Operation) -> bool:
    """Whether `op` runs on the accelerator: its `dnn.target`, or (unpartitioned IR) whether
    the accelerator can run it (`fvir.hw.capability`)."""
    target = _target(op)
    if target is not None:
        return target == "accel"
    return capability.problem(op) is None


def _weight_operands(op: Operation) -> set[int]:
    if isinstance(op, dnn.Conv2dOp | dnn.DenseOp | dnn.LayerNormOp):
        return {i for i in (1, 2) if i < len(op.operands)}
    return set()


def _unique(base: str, used: set[str]) -> str:
    name, n = base, 0
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


class _Tiler:
    def __init__(self, pool: PoolConfig, min_tiles: int | None):
        core = pool.core
        self.cx = SearchContext(core, core_bytes_per_cycle(pool),
                                pool.num_cores if min_tiles is None else min_tiles,
                                pool.num_cores)
        self.names: set[str] = set()

    # -- layers

    def wrap(self, op: Operation) -> tile.LayerOp:
        """The tile.layer replacing accelerator op `op` (not yet inserted)."""
        geom = capability.lowering(op)
        shifts = None
        if capability.tile_facts(self.cx.core, geom.kind).channel_shifts:
            shifts = qp.channel_shifts(op, geom.out_shape[2])
        qp.activation(op, qp.frac_bits(op.results[0].type))  # reject unsupported acts early
        x_chw = None
        if geom.kind == TileKind.DENSE and isinstance(view := op.operands[0].owner, tile.ViewOp):
            s = dnn.shape_of(view.input)
            if len(s) == 4 and s[2] * s[3] > 1:
                x_chw = (s[1], s[2], s[3])
        # A dense layer's input image loads in whole rows: its chunks too.
        tiling = choose_tiling(geom, self.cx, shifts, x_chw[0] * x_chw[2] if x_chw else 0)
        tiles = make_tiles(geom, tiling, self.cx, shifts)
        weights = _weight_operands(op)
        inputs = [v for i, v in enumerate(op.operands) if i not in weights]
        block = Block(arg_types=[v.type for v in inputs])
        mapping: dict[SSAValue, SSAValue] = dict(zip(inputs, block.args, strict=True))
        for i in sorted(weights):
            w = op.operands[i]
            if not isinstance(w.owner, dnn.WeightOp):
                # The package's weights segment is filled from the WeightStore by name.
                raise Unsupported(f"{op.name}: weights must be dnn.weight ops")
            clone = w.owner.clone()
            block.add_op(clone)
            mapping[w] = clone.results[0]
        inner = op.clone(value_mapper=mapping)
        for key in (TARGET_ATTR, "dnn.segment"):
            inner.attributes.pop(key, None)
        block.add_ops([inner, tile.YieldOp(inner.results[0])])
        name = _unique(op.results[0].name_hint or op.name.removeprefix("dnn."), self.names)
        layer = tile.LayerOp(name, geom.kind, inputs, op.results[0].type, Region(block), tiles,
                             tiling.grid, x_chw=x_chw)
        layer.results[0].name_hint = op.results[0].name_hint
        return layer

    def copy_layer(self, value: SSAValue, name: str) -> tile.LayerOp:
        geom = tile.copy_geometry(value.type)
        tiling = choose_tiling(geom, self.cx)
        block = Block(arg_types=[value.type])
        block.add_op(tile.YieldOp(block.args[0]))
        return tile.LayerOp(_unique(name, self.names), TileKind.COPY, [value], value.type,
                            Region(block), make_tiles(geom, tiling, self.cx), tiling.grid)


def _only_accelerator_users(value: SSAValue) -> bool:
    for use in value.uses:
        user = use.operation
        if isinstance(user, tile.LayerOp | tile.ConcatOp | tile.ViewOp):
            continue
        if isinstance(user, dnn.ConcatOp | dnn.FlattenOp | dnn.ReshapeOp):
            if _target(user) == "host":
                return False
            continue
        if isinstance(user, func.ReturnOp) or not is_accelerator_op(user):
            return False
    return True


def _channel_axis(op: dnn.ConcatOp) -> bool:
    rank = len(dnn.shape_of(op.output))
    axis = op.axis.value.data % rank
    return (rank == 4 and axis == 1) or (rank == 2 and axis == 1)


def _place(owner: tile.LayerOp | tile.ConcatOp, offset: int, total: int) -> None:
    owner.into = dnn.i64_array([offset, total])
    if isinstance(owner, tile.ConcatOp):
        inner = 0
        for v in owner.inputs:
            producer = v.owner
            assert isinstance(producer, tile.LayerOp | tile.ConcatOp)
            _place(producer, offset + inner, total)
            inner += tile.hwc(v.type)[2]  # type: ignore[index]


def _orders_match(op: dnn.FlattenOp | dnn.ReshapeOp) -> bool:
    """Whether the NHWC bytes of the input are already in the result's element order."""
    a, b = dnn.shape_of(op.input), dnn.shape_of(op.output)
    flat = [d for d in a if d != 1] == [d for d in b if d != 1]
    return flat and _nhwc_is_logical(a) and _nhwc_is_logical(b)


def _nhwc_is_logical(shape: tuple[int, ...]) -> bool:
    """Whether a tensor's bytes (NHWC for 4-D images, row-major otherwise) are in its logical
    row-major order: [M, K] rows are, a 4-D image only when C or H x W is 1."""
    return len(shape) != 4 or shape[2] * shape[3] == 1 or shape[1] == 1


@dataclass(frozen=True)
class DnnTilePass(ModulePass):
    """Cuts every accelerator layer into tiles for one core (`tile.layer` / `tile.tile`)."""

    name = "dnn-tile"

    min_tiles: int | None = None

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # One line in fv-opt: the pass, then the op that failed.
        try:
            tile_module(op, context.target(ctx), self.min_tiles)
        except PassFailedException as exc:
            raise PassFailedException(f"{self.name}: {exc}") from None


def tile_module(module: builtin.ModuleOp, pool: PoolConfig, min_tiles: int | None = None) -> None:
    """Apply `dnn-tile` to `module` for `pool` (the in-process entry point)."""
    core = pool.core
    module.attributes["tile.core"] = tile.CoreAttr(
        core.pp, core.icp, core.ocp, core.fmap_buffer_bytes, core.weight_buffer_bytes,
        core.bias_buffer_bytes,
    )
    module.attributes["tile.hw"] = StringAttr(pool.name)
    tiler = _Tiler(pool, min_tiles)
    for fn in [o for o in module.ops if isinstance(o, func.FuncOp)]:
        if len(fn.body.blocks) != 1:
            raise PassFailedException(f"@{fn.sym_name.data} has {len(fn.body.blocks)} blocks; "
                                      "dnn-tile takes functions of one block")
        for op in list(fn.body.block.ops):
            try:
                _rewrite(tiler, op)
            except (Unsupported, qp.QuantError) as exc:
                raise PassFailedException(f"{op.name} ({_describe(op)}): {exc}") from None
        for op in reversed(list(fn.body.block.ops)):
            if isinstance(op, _CONST_OPS) and not op.results[0].uses:
                Rewriter.erase_op(op)


def _describe(op: Operation) -> str:
    return f"%{op.results[0].name_hint}" if op.results and op.results[0].name_hint else "op"


_LAYOUT = (dnn.TransposeOp, dnn.ReshapeOp, dnn.FlattenOp)


def _rewrite(tiler: _Tiler, op: Operation) -> None:
    if isinstance(op, _LAYOUT) and _view_of_chain(op):
        return
    if isinstance(op, _CONST_OPS) or not op.results or not is_accelerator_op(op):
        return
    if isinstance(op, dnn.FlattenOp | dnn.ReshapeOp):
        users = [u.operation for u in op.output.uses]
        to_dense = bool(users) and all(
            isinstance(u, dnn.DenseOp) and is_accelerator_op(u) and u.input == op.output
            for u in users
        ) and len(dnn.shape_of(op.output)) == 2
        same_order = _orders_match(op) and _only_accelerator_users(op.output)
        if tile.hwc(op.input.type) is not None and (same_order or to_dense):
            view = tile.ViewOp(op.input, op.output.type)
            view.results[0].name_hint = op.output.name_hint
            Rewriter.replace_op(op, view)
        else:
            op.attributes[TARGET_ATTR] = StringAttr("host")  # data must really move: host
        return
    if isinstance(op, dnn.ConcatOp):
        _concat(tiler, op)
        return
    layer = tiler.wrap(op)
    Rewriter.replace_op(op, layer)


def _view_of_chain(op: dnn.TransposeOp | dnn.ReshapeOp | dnn.FlattenOp) -> bool:
    """Replace `op`, the end of a chain of layout ops (transposes, reshapes, flattens) from
    an accelerator tensor, by a `tile.view` of that tensor when the chain moves no byte of
    it in DDR (`tile.moves_no_bytes`: ConvNeXt's NCHW <-> rows permutes around LayerNorm,
    whose NHWC bytes already are the rows) and only accelerator compute ops read the result.
    Chain ops left without users go. Returns whether it did."""
    chain: list[Operation] = [op]
    root = op.input
    while isinstance(root.owner, _LAYOUT):
        chain.insert(0, root.owner)
        root = root.owner.input
    if not isinstance(root.owner, tile.LayerOp | tile.ConcatOp | tile.ViewOp):
        return False
    if any(isinstance(u.operation, dnn.ConcatOp | tile.ConcatOp) for u in root.uses):
        return False  # its storage may become a slice of the concat's
    if tile.hwc(root.type) is None or tile.hwc(op.output.type) is None:
        return False
    users = [u.operation for u in op.output.uses]
    if not users or not all(is_accelerator_op(u) and not isinstance(u, (*_LAYOUT, dnn.ConcatOp))
                            for u in users):
        return False  # layout users may still go to the host; the chain ends later
    steps = [("transpose", dnn.ints(o.perm)) if isinstance(o, dnn.TransposeOp)
             else ("reshape", dnn.shape_of(o.output)) for o in chain]
    if not tile.moves_no_bytes(dnn.shape_of(root), steps, dnn.shape_of(op.output)):
        return False
    view = tile.ViewOp(root, op.output.type)
    view.results[0].name_hint = op.output.name_hint
    Rewriter.replace_op(op, view)
    for dead in reversed(chain[:-1]):
        if not dead.results[0].uses:
            Rewriter.erase_op(dead)
    return True


def _concat(tiler: _Tiler, op: dnn.ConcatOp) -> None:
    if not _channel_axis(op) or any(tile.hwc(v.type) is None for v in op.inputs):
        op.attributes[TARGET_ATTR] = StringAttr("host")
        return
    total = tile.hwc(op.output.type)[2]  # type: ignore[index]
    values: list[SSAValue] = []
    offset = 0
    seen: set[SSAValue] = set()
    for v in op.inputs:
        owner = v.owner
        in_place = (
            isinstance(owner, tile.LayerOp | tile.ConcatOp)
            and owner.parent_block() is op.parent_block()
            and owner.placement is None
            and v not in seen
            and _only_accelerator_users(v)
        )
        seen.add(v)
        if in_place:
            _place(owner, offset, total)  # type: ignore[arg-type]
            values.append(v)
        else:
            name = f"{op.output.name_hint or 'concat'}.copy{len(values)}"
            copy = tiler.copy_layer(v, name)
            copy.into = dnn.i64_array([offset, total])
            Rewriter.insert_op(copy, InsertPoint.before(op))
            values.append(copy.results[0])
        offset += tile.hwc(v.type)[2]  # type: ignore[index]
    new = tile.ConcatOp(values, op.output.type)
    new.results[0].name_hint = op.output.name_hint
    Rewriter.replace_op(op, new)
