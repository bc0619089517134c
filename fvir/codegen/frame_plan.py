"""From tiled IR to a frame plan: DDR tensors, the weights segment's layout and every frame's
instructions. The one generator behind both sinks: `tile-compile-frames` turns a `Plan` into
`ifp`/`vcore` IR (for inspection and FileCheck), `fvir.codegen.emit.build_package` turns it (or IR
read back into a `Plan`) into a `Package`, so the IR and the fast path never disagree on an
instruction.

Segments (fixed ids, the `seg` field of LOAD/SAVE): 0 WEIGHTS (the int8 weights and int32
biases, laid out here), 1 INPUT (model inputs, after the host's quantize), 2 OUTPUT (model
outputs, before the host's dequantize), 3 ACTIVATION (every other tensor).

DDR tensors. Every int8 activation is NHWC with channels innermost. A `tile.concat` result is
one tensor and its inputs are channel slices of it (their producers save there with the
concat's pixel stride); a `tile.view` is its input's bytes. ACTIVATION offsets are allocated
with reuse: walking the layers in order, a tensor's bytes are freed after the last layer that
reads it, and each new tensor takes the first free block that fits (first fit, 64-byte
aligned). This assumes layers run in package order, each after the previous one finished (the
linker's barrier between layers), which the package's "layers run in order" states.

Host layers. A maximal run of consecutive host ops becomes one `host` layer whose `host_ir` is
the MLIR text of a `func.func @main` over float32 tensors: the runtime dequantizes its int8
inputs (with the tensor's frac_bits) and quantizes results stored as int8 tensors
(q = sat8(floor(x * 2**F + 0.5)), the dnn.quantize rule), so `dnn.quantize` /
`dnn.dequantize` at a host segment's boundary are not in the function. A model input read only
by `dnn.quantize` is an int8 INPUT tensor; a model output that is `dnn.dequantize` of an
accelerator result is that int8 tensor, in OUTPUT. The weights a host layer reads stay
`dnn.weight` references (`LayerPlan.host_weights`); the package carries them as binary arrays.

Weights segment (one block per layer operand, 64-byte aligned, `ConstPlan.transform`):
- `ohwi`: conv weights [O][I][kh][kw] -> [O][kh][kw][I], the CONV layout; any range of output
  channels is one contiguous slice.
- `dw`: depthwise weights [C][1][kh][kw] -> one [kh][kw][n] block per run of channels (the
  runs of every tile, cut where the shift changes), the depthwise CONV layout; channels
  [a, b) still start at byte a*kh*kw.
- `rows`: dense weights -> row-major [N][K] (transposed if the op's weight is [K, N]); with
  `x_chw` = (C, H, W) the columns are permuted from ONNX's (c, h, w) flattening to the
  (h, w, c) order of the NHWC input: W'[n, (h*W + w)*C + c] = W[n, (c*H + h)*W + w].
- `bias`: int32 little-endian, one per output channel; `zeros` when the op has no bias.
- `ones`: int8 ones, the weights of a standalone `dnn.clip(0, hi)`, which runs as a 1x1
  depthwise conv by 1 (exact) with the RELU6 clamp of the conv engine's requantization.

Frames (one per tile; `docs/isa.md` for the token rules), by kind (masks as dpdon/dpdby):
- conv, depthwise, clip: LOAD weights, LOAD biases, CONVINIT; per step: LOAD the new input rows
  (-/C), CONV (L/S), SAVE (C/-). With per-channel shifts, per step one CONVINIT per distinct
  shift, each followed by one CONV per run of channels with that shift (the first CONV waits
  for the load, the last signals the save).
- conv or dense reducing over chunks of its inputs (`tile.tile ... chunk N`): LOAD biases;
  per chunk: LOAD its weights (waiting for the previous chunk's compute: C/-), LOAD its input
  window or vector slice (-/C), then (conv) CONVINIT and one CONV per run of equal shift (L/L;
  the last chunk: one CONVINIT per shift, L/S) or (dense) one MVM per run, adding to the
  int32 partial sums after the biases; SAVE (C/L).
- pool, global pool: POOLINIT; per step: LOAD (-/M), POOL (L/S), SAVE (M/-).
- eltwise: ELEWINIT; per step: LOAD a, LOAD b (-/M), ELEW in place (L/S), SAVE (M/-); a
  per-channel vector b is loaded once, before the first step (bcast_b).
- act: per step: LOAD (-/M), ACT in place (L/S), SAVE (M/-).
- dense: LOAD weights, LOAD the input vector, LOAD biases (-/C); one MVM per run of equal
  shift (L/S on the first/last); SAVE (C/-).
- copy: per step: LOAD (-/S), SAVE (L/-).
The frame's last SAVE also signals L, and the frame ends with a fence: an empty LOAD (0 rows)
that waits for it (S/-). Program order is itself a valid schedule (each wait finds its token
already signalled) and every token is consumed within the frame. The fence is needed because
engines run concurrently: without it the next frame's LOADs, which wait for nothing, could
overwrite buffers this frame's compute or SAVEs still read, and frames cannot synchronize
otherwise (counters must balance per frame). So frames do not overlap on a core; within a
frame, step k+1's LOAD and step k's SAVE overlap step k's and k+1's compute.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import StringIO

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter

from fvir.codegen import quant_params as qp
from fvir.codegen.tile_schedule import chunks, layout, steps
from fvir.hw import capability
from fvir.ir import dnn, tile
from fvir.ir.functions import main_function
from fvir.ir.tile import Geometry, TileKind
from fvir.isa import ActFunc, Buf, ElewType, Engine, Instruction, Opcode, PoolType
from fvir.isa.spec import ROW_PART_UNIT, SPECS, RowFunc, SegmentKind
from fvir.isa.spec import field as isa_field
from fvir.quant.nonlinear import layernorm_eps

DDR_ALIGN = 64
MAX_COUNT = min(isa_field(Opcode.LOAD, n).hi for n in ("rows", "cols", "chans"))

SEGMENTS = (
    ("weights", SegmentKind.WEIGHTS),
    ("input", SegmentKind.INPUT),
    ("output", SegmentKind.OUTPUT),
    ("activations", SegmentKind.ACTIVATION),
)
SEG_WEIGHTS, SEG_INPUT, SEG_OUTPUT, SEG_ACT = range(4)

L, C, M, S = (e.bit for e in (Engine.LOAD, Engine.CONV, Engine.MISC, Engine.SAVE))


class PlanError(ValueError):
    """Tiled IR the backend cannot lay out (the message says what and where)."""


def _ddr_align(n: int) -> int:
    return -(-n // DDR_ALIGN) * DDR_ALIGN


# ---------------------------------------------------------------------------- the plan


@dataclass
class TensorPlan:
    name: str
    segment: int
    offset: int
    shape: tuple[int, ...]
    dtype: str  # "int8" or "float32"
    frac_bits: int = 0
    layout: str = "nhwc"
    zero_point: int = 0

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n * (4 if self.dtype == "float32" else 1)


@dataclass
class ConstPlan:
    """A block of the weights segment: `transform` of WeightStore array `source`."""

    source: str
    offset: int
    size: int
    transform: str  # ohwi | dw | rows | bias | scaled | zeros | ones
    params: tuple[int, ...] = ()
    # bias with params (Z, axis): minus Z times the sums of int8 weight `fold` over every
    # axis but `axis` (axis -1, no `fold`: weights of 1); `source` "": a zero bias. scaled:
    # the same with params (Z, axis, mul...), each channel's bias followed by its int32
    # requantization multiplier (8 bytes per output channel)
    fold: str = ""


@dataclass
class FramePlan:
    tile: int
    cost: int
    instrs: list[Instruction]
    load_bytes: int = 0
    save_bytes: int = 0


@dataclass
class LayerPlan:
    name: str
    kind: str  # the dnn op name without "dnn." ("conv2d", ...), "copy" or "host"
    inputs: list[int]
    outputs: list[int]
    frames: list[FramePlan] = field(default_factory=list)
    host_ir: str = ""
    host_weights: list[str] = field(default_factory=list)  # the weights host_ir reads


@dataclass
class Plan:
    name: str
    segment_sizes: list[int]
    tensors: list[TensorPlan]
    consts: list[ConstPlan]
    layers: list[LayerPlan]
    inputs: list[int]
    outputs: list[int]
    input_names: list[str]
    output_names: list[str]

    @property
    def num_instructions(self) -> int:
        return sum(len(f.instrs) for layer in self.layers for f in layer.frames)


# --------------------------------------------------------------------- instruction helpers

_DEFAULTS = {op: {f.name: f.default for f in s.fields if f.default is not None}
             for op, s in SPECS.items()}


def instr(op: Opcode, dpdon: int = 0, dpdby: int = 0, **fields: int) -> Instruction:
    """An instruction with the spec's defaults filled in (ranges are checked when encoding)."""
    values = dict(_DEFAULTS[op])
    values.update(fields)
    return Instruction(op, values, dpdon, dpdby)


@dataclass(frozen=True)
class View:
    """Where a value's NHWC image lives in DDR: element (h, w, c) is at byte
    offset + h * row + w * pix + c of segment `segment` (row = w_ * pix unless subsampled)."""

    tensor: int
    segment: int
    offset: int
    h: int
    w: int
    c: int
    pix: int
    row: int = 0

    def __post_init__(self) -> None:
        if not self.row:
            object.__setattr__(self, "row", self.w * self.pix)

    def subsampled(self, sh: int, sw: int) -> View:
        """Every sh-th row and sw-th column (what a strided 1x1 conv reads)."""
        return View(self.tensor, self.segment, self.offset, -(-self.h // sh), -(-self.w // sw),
                    self.c, self.pix * sw, self.row * sh)


def _dma(op: Opcode, buf: Buf, view: View, rows: tuple[int, int], cols: tuple[int, int],
         chans: tuple[int, int], addr: int, buf_row: int, dpdon: int = 0,
         dpdby: int = 0) -> Instruction:
    return instr(
        op, dpdon, dpdby, buf=int(buf), seg=view.segment,
        off=view.offset + rows[0] * view.row + cols[0] * view.pix + chans[0], addr=addr,
        rows=rows[1] - rows[0], cols=cols[1] - cols[0], chans=chans[1] - chans[0],
        buf_pix_stride=chans[1] - chans[0], ddr_row_stride=view.row,
        ddr_pix_stride=view.pix, buf_row_stride=buf_row,
    )


def _contiguous(buf: Buf, offset: int, nbytes: int, row: int, dpdby: int = 0) -> list[Instruction]:
    """LOADs of nbytes contiguous bytes of the weights segment to address 0 of `buf`, as rows
    of `row` bytes when that fits the 16-bit counts (one instruction almost always)."""
    if row > MAX_COUNT or nbytes % row:
        row = next(d for d in range(min(MAX_COUNT, nbytes), 0, -1) if nbytes % d == 0)
    rows = nbytes // row
    out: list[Instruction] = []
    for start in range(0, rows, MAX_COUNT):
        n = min(MAX_COUNT, rows - start)
        out.append(instr(Opcode.LOAD, 0, 0, buf=int(buf), seg=SEG_WEIGHTS,
                         off=offset + start * row, addr=start * row, rows=n, cols=1, chans=row,
                         buf_pix_stride=row, ddr_row_stride=row, ddr_pix_stride=row,
                         buf_row_stride=row))
    last = out[-1]
    out[-1] = Instruction(last.op, last.fields, last.dpdon, dpdby)
    return out


def _fence() -> Instruction:
    """The empty LOAD closing a frame: waits for its last SAVE (module docstring)."""
    return instr(Opcode.LOAD, S, 0, buf=int(Buf.FMAP), seg=SEG_WEIGHTS, off=0, addr=0, rows=0,
                 cols=0, chans=0, buf_pix_stride=0, ddr_row_stride=0, ddr_pix_stride=0,
                 buf_row_stride=0)


def _with_deps(ins: Instruction, dpdon: int = 0, dpdby: int = 0) -> Instruction:
    return Instruction(ins.op, ins.fields, ins.dpdon | dpdon, ins.dpdby | dpdby)


def _bytes_moved(ins: Instruction) -> int:
    return ins.fields["rows"] * ins.fields["cols"] * ins.fields["chans"]


# ------------------------------------------------------------------------ frames per kind


@dataclass
class LayerInfo:
    """What the frame generator needs about one accelerator layer."""

    geom: Geometry
    op: Operation | None  # the wrapped dnn op (None: copy)
    inputs: list[View]
    output: View
    weight_offset: int = 0
    bias_offset: int = 0
    shifts: list[int] = field(default_factory=list)


def layer_frames(info: LayerInfo, tiles: Sequence[tile.TileOp]) -> list[FramePlan]:
    """One frame per tile of a layer."""
    frames = []
    for index, t in enumerate(tiles):
        instrs = _TileFrame(info, t.out_box, t.window_box, t.pad_values, t.step_rows,
                            t.chunk_channels).build()
        loads = sum(_bytes_moved(i) for i in instrs if i.op == Opcode.LOAD)
        saves = sum(_bytes_moved(i) for i in instrs if i.op == Opcode.SAVE)
        frames.append(FramePlan(index, t.cycles, instrs, loads, saves))
    return frames


_INITS = (Opcode.CONVINIT, Opcode.POOLINIT, Opcode.ELEWINIT)


class _TileFrame:
    """The instructions of one tile's frame (module docstring)."""

    def __init__(self, info: LayerInfo, out: Sequence[int], window: Sequence[int],
                 pads: Sequence[int], step: int, chunk: int = 0):
        self.info, self.geom, self.op = info, info.geom, info.op
        self.out, self.window, self.pads, self.step = out, window, pads, step
        self.chunk = chunk
        self.lay = layout(info.geom, out, window, chunk)
        self.out_frac = qp.frac_bits(self.op.results[0].type) if self.op is not None else None
        # Zero points of the input and output; the input's of a conv or dense is folded into
        # its biases (`_weights`), so CONV needs it only as its padding value.
        self.in_zp, self.out_zp = ((qp.zero_point(self.op.operands[0].type),
                                    qp.zero_point(self.op.results[0].type))
                                   if self.op is not None else (0, 0))
        kind = self.geom.kind
        self.engine = (C if kind in (TileKind.CONV, TileKind.DWCONV, TileKind.DENSE)
                       else 0 if kind == TileKind.COPY else M)

    def build(self) -> list[Instruction]:
        if self.chunk and self.geom.kind == TileKind.GPOOL:
            return self._split_window()
        if self.chunk and self.geom.kind == TileKind.LNORM:
            return self._split_scale()
        k0, k1 = self.out[4], self.out[5]
        runs = qp.shift_runs(self.info.shifts or [0] * k1, k0, k1, self.geom.group_period)
        if self.chunk:
            return self._split_reduction(runs)
        code: list[Instruction] = []
        g = k1 - k0
        geom, info = self.geom, self.info
        if geom.has_weights:
            wpc = geom.weight_bytes_per_channel
            row = g * wpc if geom.kind == TileKind.DWCONV else wpc
            code += _contiguous(Buf.WEIGHT, info.weight_offset + k0 * wpc, g * wpc, row)
            if geom.kind == TileKind.DENSE:  # the vector, before the bias LOAD that signals
                x = info.inputs[0]
                code.append(_dma(Opcode.LOAD, Buf.FMAP, x, (0, x.h), (0, x.w), (0, x.c),
                                 self.lay.inputs[0], x.w * x.c))
            signal = C if geom.kind == TileKind.DENSE else 0
            bb = geom.bias_bytes_per_channel
            code += _contiguous(Buf.BIAS, info.bias_offset + bb * k0, bb * g, bb * g, signal)
        if geom.kind == TileKind.DENSE:
            code += self._dense(runs)
        else:
            code += self._stepped(runs)
        code.append(_fence())
        return code

    # -- a conv or dense layer reducing over chunks of its inputs

    def _split_reduction(self, runs: list[tuple[int, int, int]]) -> list[Instruction]:
        """LOAD biases; per chunk of inputs: LOAD its weights and inputs (after the previous
        chunk's compute, which reads the same buffers), one CONV or MVM per run of equal
        shift adding to the int32 partial sums after the biases (`Layout.psum`), the last
        chunk's requantizing (one CONVINIT per shift); SAVE; fence."""
        geom, info, lay = self.geom, self.info, self.lay
        r0, r1, c0, c1, k0, k1 = self.out
        wr0, wr1, wc0, wc1, wk0, wk1 = self.window
        g, rows, cols = k1 - k0, r1 - r0, c1 - c0
        (kh, kw), wpc = geom.kernel, geom.weight_bytes_per_channel
        distinct = list(dict.fromkeys(s for _, _, s in runs))
        init = self._init()
        act, arg = qp.activation(self.op, self.out_frac)  # type: ignore[arg-type]
        psum, bb = lay.psum, geom.bias_bytes_per_channel
        code = _contiguous(Buf.BIAS, info.bias_offset + bb * k0, bb * g, bb * g)
        parts = chunks(wk1 - wk0, self.chunk)
        dense = geom.kind == TileKind.DENSE
        for j, (a, b) in enumerate(parts):
            n, last = b - a, j == len(parts) - 1
            code.append(instr(
                Opcode.LOAD, C if j else 0, 0, buf=int(Buf.WEIGHT), seg=SEG_WEIGHTS,
                off=info.weight_offset + k0 * wpc + a, addr=0, rows=g, cols=kh * kw, chans=n,
                buf_pix_stride=n, ddr_row_stride=wpc, ddr_pix_stride=wpc // (kh * kw),
                buf_row_stride=kh * kw * n))
            code.append(self._chunk_input(a, b) if dense else _dma(
                Opcode.LOAD, Buf.FMAP, info.inputs[0], (wr0, wr1), (wc0, wc1),
                (wk0 + a, wk0 + b), lay.inputs[0], (wc1 - wc0) * n, dpdby=C))
            if dense:
                mvms = [instr(Opcode.MVM, act=int(act), shift_cut=shift, shift_bias=0,
                              act_arg=arg, acc_in=int(j > 0), acc_out=int(not last),
                              out_zp=self.out_zp, scaled=int(geom.scaled),
                              wgt_addr=(ra - k0) * n, vec_addr=lay.inputs[0],
                              bias_addr=bb * (ra - k0), out_addr=lay.out + ra - k0,
                              psum_addr=psum + 4 * (ra - k0), rows=rb - ra, cols=n)
                        for ra, rb, shift in runs]
                mvms[0] = _with_deps(mvms[0], dpdon=L)
                mvms[-1] = _with_deps(mvms[-1], dpdby=S if last else L)
                code += mvms
                continue
            compute: list[Instruction] = []
            for s in distinct if last else distinct[:1]:
                compute.append(init(s, n))
                compute += [instr(
                    Opcode.CONV, pad_t=self.pads[0], pad_l=self.pads[1], pad_b=self.pads[2],
                    pad_r=self.pads[3], in_addr=lay.inputs[0], wgt_addr=(ra - k0) * kh * kw * n,
                    bias_addr=bb * (ra - k0), out_addr=lay.out + ra - k0, rows=rows, cols=cols,
                    ic=n, oc=rb - ra, acc_in=int(j > 0), acc_out=int(not last),
                    psum_addr=psum + 4 * rows * cols * (ra - k0))
                    for ra, rb, shift in runs if not last or shift == s]
            first = next(i for i, ins in enumerate(compute) if ins.op != Opcode.CONVINIT)
            compute[first] = _with_deps(compute[first], dpdon=L)
            compute[-1] = _with_deps(compute[-1], dpdby=S if last else L)
            code += compute
        code.append(_dma(Opcode.SAVE, Buf.FMAP, info.output, (r0, r1), (c0, c1), (k0, k1),
                         lay.out, lay.out_row, dpdon=C, dpdby=L))
        code.append(_fence())
        return code

    # -- a LayerNorm whose scale and bias do not fit: parts of its channels

    def _split_scale(self) -> list[Instruction]:
        """LOAD the rows; per part of the channels: LOAD its scale and bias (after the
        previous part's ROW, which read the same buffers) and one ROW writing that part of
        every row, out of place (`part_start`, `part_len`); SAVE; fence."""
        info, lay = self.info, self.lay
        r0, r1, c0, c1, k0, k1 = self.out
        wr0, wr1, wc0, wc1, wk0, wk1 = self.window
        n, pixels = k1 - k0, (r1 - r0) * (c1 - c0)
        code = [_dma(Opcode.LOAD, Buf.FMAP, info.inputs[0], (wr0, wr1), (wc0, wc1), (wk0, wk1),
                     lay.inputs[0], lay.in_row)]
        parts = chunks(n, self.chunk)
        row = self._row(lay.inputs[0], pixels, n)
        for j, (a, b) in enumerate(parts):
            gamma = _contiguous(Buf.WEIGHT, info.weight_offset + k0 + a, b - a, b - a)
            if j:
                gamma[0] = _with_deps(gamma[0], dpdon=M)
            code += gamma
            code += _contiguous(Buf.BIAS, info.bias_offset + 4 * (k0 + a), 4 * (b - a),
                                4 * (b - a), M)
            code.append(Instruction(
                Opcode.ROW, {**row.fields, "out_addr": lay.out,
                             "part_start": a // ROW_PART_UNIT,
                             "part_len": -(-(b - a) // ROW_PART_UNIT)},
                L, S if j == len(parts) - 1 else L))
        code.append(_dma(Opcode.SAVE, Buf.FMAP, info.output, (r0, r1), (c0, c1), (k0, k1),
                         lay.out, lay.out_row, dpdon=M, dpdby=L))
        code.append(_fence())
        return code

    # -- a global pool whose window does not fit: parts of its rows

    def _split_window(self) -> list[Instruction]:
        """Per part of the window's rows: LOAD them (after the previous part's POOL, which
        read the same bytes), a POOLINIT with their height (and the whole window's avg_mul,
        avg_shift) and a POOL keeping the partial maxima or sums in the bias buffer
        (`acc_out`, `acc_in` from the second part on; the last part writes the output);
        SAVE; fence."""
        lay, x = self.lay, self.info.inputs[0]
        k0, k1 = self.out[4], self.out[5]
        wr0, wr1, wc0, wc1, wk0, wk1 = self.window
        whole = self._init()(0)  # type: ignore[misc]
        parts = chunks(wr1 - wr0, self.chunk)
        code: list[Instruction] = []
        for j, (a, b) in enumerate(parts):
            last = j == len(parts) - 1
            code.append(_dma(Opcode.LOAD, Buf.FMAP, x, (wr0 + a, wr0 + b), (wc0, wc1),
                             (wk0, wk1), lay.inputs[0], lay.in_row, dpdon=M if j else 0,
                             dpdby=M))
            code.append(Instruction(Opcode.POOLINIT, {**whole.fields, "kernel_h": b - a,
                                                      "window_h": wr1 - wr0}))
            code.append(instr(Opcode.POOL, L, S if last else L, in_addr=lay.inputs[0],
                              out_addr=lay.out, rows=1, cols=1, chans=k1 - k0,
                              acc_in=int(j > 0), acc_out=int(not last), psum_addr=lay.psum))
        code.append(_dma(Opcode.SAVE, Buf.FMAP, self.info.output, (0, 1), (0, 1), (k0, k1),
                         lay.out, k1 - k0, dpdon=M, dpdby=L))
        code.append(_fence())
        return code

    def _chunk_input(self, a: int, b: int) -> Instruction:
        """The LOAD of a dense layer's inputs [a, b) (in the weight columns' order): a slice
        of a vector's channels, or whole rows of an image (the tiler's chunks are rows)."""
        x, addr = self.info.inputs[0], self.lay.inputs[0]
        if x.h * x.w == 1:
            return _dma(Opcode.LOAD, Buf.FMAP, x, (0, 1), (0, 1), (a, b), addr, b - a, dpdby=C)
        row = x.w * x.c
        return _dma(Opcode.LOAD, Buf.FMAP, x, (a // row, b // row), (0, x.w), (0, x.c), addr,
                    row, dpdby=C)

    # -- dense: one MVM per run of equal shift

    def _dense(self, runs: list[tuple[int, int, int]]) -> list[Instruction]:
        lay, k0, k1 = self.lay, self.out[4], self.out[5]
        k = self.geom.in_shape[2]
        act, arg = qp.activation(self.op, self.out_frac)  # type: ignore[arg-type]
        mvms = [instr(Opcode.MVM, act=int(act), shift_cut=s, shift_bias=0, act_arg=arg,
                      out_zp=self.out_zp, scaled=int(self.geom.scaled),
                      wgt_addr=(a - k0) * k, vec_addr=lay.inputs[0],
                      bias_addr=self.geom.bias_bytes_per_channel * (a - k0),
                      out_addr=lay.out + a - k0, rows=b - a, cols=k)
                for a, b, s in runs]
        mvms[0] = _with_deps(mvms[0], dpdon=L)
        mvms[-1] = _with_deps(mvms[-1], dpdby=S)
        y = self.info.output
        return [*mvms, _dma(Opcode.SAVE, Buf.FMAP, y, (0, 1), (0, 1), (k0, k1), lay.out,
                            k1 - k0, dpdon=C, dpdby=L)]

    # -- everything with rows: steps of load / compute / save

    def _stepped(self, runs: list[tuple[int, int, int]]) -> list[Instruction]:
        geom, lay, info = self.geom, self.lay, self.info
        r0, _, c0, c1, k0, k1 = self.out
        wr0, _, wc0, wc1, wk0, wk1 = self.window
        kind = geom.kind
        distinct = list(dict.fromkeys(s for _, _, s in runs))
        init = self._init()
        per_step_inits = init is not None and len(distinct) > 1
        code: list[Instruction] = []
        if init is not None and not per_step_inits:
            code.append(init(distinct[0]))
        signal = self.engine or S  # what the input LOADs signal (a copy's: its SAVE)
        blocks = info.inputs
        if geom.broadcast:  # the channel vector once, before step 0's block (LOADs in order)
            v, blocks = info.inputs[1], info.inputs[:1]
            code.append(_dma(Opcode.LOAD, Buf.FMAP, v, (0, 1), (0, 1), (k0, k1), lay.inputs[1],
                             k1 - k0))
        plans = steps(geom, self.out, self.window, self.step)
        for j, sp in enumerate(plans):
            loaded = sp.load[1] > sp.load[0]
            if loaded:
                for i, x in enumerate(blocks):
                    code.append(_dma(
                        Opcode.LOAD, Buf.FMAP, x, sp.load, (wc0, wc1), (wk0, wk1),
                        lay.inputs[i] + (sp.load[0] - wr0) * lay.in_row, lay.in_row,
                        dpdby=signal if i == len(blocks) - 1 else 0))
            compute: list[Instruction] = []
            if kind != TileKind.COPY:
                in_addr = lay.inputs[0] + (sp.in_start - wr0) * lay.in_row
                out_addr = lay.out + (sp.rows[0] - r0) * lay.out_row
                for s in distinct:
                    if per_step_inits:
                        compute.append(init(s))  # type: ignore[misc]
                    compute += [self._compute(sp, in_addr, out_addr, a - k0, b - a)
                                for a, b, shift in runs if shift == s]
                first = next(i for i, ins in enumerate(compute) if ins.op not in _INITS)
                if loaded:
                    compute[first] = _with_deps(compute[first], dpdon=L)
                compute[-1] = _with_deps(compute[-1], dpdby=S)
            code += compute
            last = j == len(plans) - 1
            wait = self.engine if kind != TileKind.COPY else (L if loaded else 0)
            code.append(_dma(Opcode.SAVE, Buf.FMAP, info.output, sp.rows, (c0, c1), (k0, k1),
                             lay.out + (sp.rows[0] - r0) * lay.out_row, lay.out_row,
                             dpdon=wait, dpdby=L if last else 0))
        return code

    def _init(self):
        """shift -> the layer's INIT instruction (a CONVINIT also takes the window's input
        channels, which a split reduction's last chunk may have fewer of); None for ACT and
        copy layers."""
        geom, op, lay = self.geom, self.op, self.lay
        strides = dict(in_row_stride=lay.in_row, out_row_stride=lay.out_row,
                       in_pix_stride=lay.in_pix, out_pix_stride=lay.out_pix)
        kh, kw = geom.kernel
        sh, sw = geom.stride
        if geom.kind in (TileKind.CONV, TileKind.DWCONV):
            act, arg = qp.activation(op, self.out_frac)  # type: ignore[arg-type]
            win_cols = self.window[3] - self.window[2]
            return lambda s, n=lay.in_pix: instr(
                Opcode.CONVINIT, act=int(act), shift_cut=s, shift_bias=0, act_arg=arg,
                kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw,
                dilation_h=geom.dilation[0], dilation_w=geom.dilation[1], in_zp=self.in_zp,
                out_zp=self.out_zp, scaled=int(geom.scaled),
                **(strides | dict(in_row_stride=win_cols * n, in_pix_stride=n)))
        if geom.kind in (TileKind.POOL, TileKind.GPOOL):
            assert isinstance(op, dnn.Pool2dOp | dnn.GlobalPoolOp)
            avg = op.kind.data == dnn.PoolKind.AVG
            mul, shift = _avg_params(op, kh * kw) if avg else (0, 0)
            return lambda s: instr(
                Opcode.POOLINIT, pool_type=int(PoolType.AVG if avg else PoolType.MAX),
                avg_shift=shift, stride_h=sh, stride_w=sw, kernel_h=kh, kernel_w=kw,
                avg_mul=mul, in_zp=self.in_zp, out_zp=self.out_zp, **strides)
        if geom.kind == TileKind.ELTWISE:
            assert op is not None
            act, arg = qp.activation(op, self.out_frac)
            is_mul = isinstance(op, dnn.MulOp)
            shift_a, shift_b = qp.int_prop(op, "shift_a"), qp.int_prop(op, "shift_b")
            return lambda s: instr(
                Opcode.ELEWINIT, elew_type=int(ElewType.MUL if is_mul else ElewType.ADD),
                act=int(act), shift_a=shift_a, shift_b=shift_b,
                shift_out=qp.int_prop(op, "shift"), act_arg=arg, bcast_b=int(geom.broadcast),
                zp_a=self.in_zp, zp_b=qp.zero_point(op.operands[1].type), zp_out=self.out_zp,
                **strides)
        return None

    def _compute(self, sp, in_addr: int, out_addr: int, ra: int, n: int) -> Instruction:
        """The compute instruction of step `sp` for the tile's output channels [ra, ra + n)."""
        geom, lay = self.geom, self.lay
        cols = self.out[3] - self.out[2]
        rows = sp.rows[1] - sp.rows[0]
        pads = dict(pad_t=sp.pad_t, pad_l=self.pads[1], pad_b=sp.pad_b, pad_r=self.pads[3])
        kind = geom.kind
        if kind in (TileKind.CONV, TileKind.DWCONV):
            dw = kind == TileKind.DWCONV
            ic, skip = (n, ra) if dw else (lay.in_pix, 0)
            if geom.group_period:  # the run's group: its input channels within the window
                k = self.out[4] + ra
                skip = geom.group_inputs(k, k + 1)[0] - self.window[4]
                ic = geom.group_channels[0]
            return instr(
                Opcode.CONV, **pads, depthwise=int(dw), in_addr=in_addr + skip,
                wgt_addr=ra * geom.weight_bytes_per_channel,
                bias_addr=geom.bias_bytes_per_channel * ra,
                out_addr=out_addr + ra, rows=rows, cols=cols, ic=ic, oc=n)
        if kind in (TileKind.POOL, TileKind.GPOOL):
            return instr(Opcode.POOL, **pads, in_addr=in_addr, out_addr=out_addr, rows=rows,
                         cols=cols, chans=n)
        if kind == TileKind.ELTWISE:
            b_addr = lay.inputs[1] + (0 if geom.broadcast else in_addr - lay.inputs[0])
            return instr(Opcode.ELEW, chans=n, in_a=in_addr, in_b=b_addr, out_addr=in_addr,
                         rows=rows, cols=cols)
        if kind.whole_rows:
            return self._row(in_addr, rows * cols, n)
        assert kind == TileKind.ACT and self.op is not None
        fn = {dnn.ReluOp: ActFunc.RELU, dnn.SigmoidOp: ActFunc.SIGMOID,
              dnn.TanhOp: ActFunc.TANH, dnn.GeluOp: ActFunc.GELU,
              dnn.HardSwishOp: ActFunc.HARDSWISH,
              dnn.HardSigmoidOp: ActFunc.HARDSIGMOID, dnn.SiluOp: ActFunc.SILU,
              dnn.RequantizeOp: ActFunc.IDENTITY}[type(self.op)]
        in_frac = qp.frac_bits(self.op.operands[0].type) or 0
        return instr(Opcode.ACT, func=int(fn), in_frac=in_frac, out_frac=self.out_frac or 0,
                     in_zp=self.in_zp, out_zp=self.out_zp, in_addr=in_addr, out_addr=in_addr,
                     length=rows * cols * n)


    def _row(self, addr: int, pixels: int, n: int) -> Instruction:
        """ROW over `pixels` rows of all `n` channels, in place."""
        op = self.op
        in_frac = qp.frac_bits(op.operands[0].type) or 0  # type: ignore[union-attr]
        if isinstance(op, dnn.SoftmaxOp):
            return instr(Opcode.ROW, func=int(RowFunc.SOFTMAX), in_frac=in_frac,
                         out_frac=self.out_frac or 0, in_addr=addr, out_addr=addr, rows=pixels,
                         length=n)
        assert isinstance(op, dnn.LayerNormOp)
        eps = layernorm_eps(op.epsilon.value.data, n, in_frac)
        return instr(Opcode.ROW, func=int(RowFunc.LAYERNORM), in_frac=in_frac,
                     shift=qp.int_prop(op, "shift"), in_addr=addr, out_addr=addr, rows=pixels,
                     length=n, gamma_addr=0, beta_addr=0, eps_lo=eps & 0xFFFFFFFF,
                     eps_hi=eps >> 32)


def _avg_params(op: Operation, window: int) -> tuple[int, int]:
    """avg_mul, avg_shift of an average pooling (float IR: the reciprocal as wide as avg_mul,
    one bit less for a window of 1, whose multiplier 2**shift must fit)."""
    if "avg_mul" in op.properties:
        return qp.int_prop(op, "avg_mul"), qp.int_prop(op, "avg_shift")
    bits = isa_field(Opcode.POOLINIT, "avg_mul").bits
    shift = bits if window > 1 else bits - 1
    return min(round((1 << shift) / window), dnn.AVG_MUL_MAX), shift


# ----------------------------------------------------------------------------- planning


_CONSTS = (dnn.WeightOp, dnn.ConstantOp)


def _is(op: Operation, name: str) -> bool:
    return op.name == name


def _f32(ty: TensorType) -> TensorType:
    return TensorType(f32, ty.get_shape())


def _names(fn: func.FuncOp, attr: str, n: int, prefix: str) -> list[str]:
    value = fn.attributes.get(attr)
    if isinstance(value, ArrayAttr) and len(value.data) == n:
        return [a.data for a in value.data if isinstance(a, StringAttr)]
    return [f"{prefix}{i}" for i in range(n)]


@dataclass
class _Unit:
    """A layer in the making: an accelerator `tile.layer` or a run of host ops."""

    layer: tile.LayerOp | None = None
    host_ops: list[Operation] = field(default_factory=list)
    inputs: list[SSAValue] = field(default_factory=list)
    outputs: list[SSAValue] = field(default_factory=list)


class _Allocator:
    """First-fit allocation of one segment with freeing (module docstring)."""

    def __init__(self) -> None:
        self.free: list[tuple[int, int]] = []  # (offset, size), sorted by offset
        self.end = 0

    def alloc(self, size: int) -> int:
        size = _ddr_align(max(size, 1))
        for i, (off, n) in enumerate(self.free):
            if n >= size:
                self.free[i : i + 1] = [(off + size, n - size)] if n > size else []
                return off
        off = self.end
        self.end += size
        return off

    def release(self, off: int, size: int) -> None:
        size = _ddr_align(max(size, 1))
        i = bisect.bisect(self.free, (off, size))
        self.free.insert(i, (off, size))
        merged: list[tuple[int, int]] = []
        for o, n in self.free:
            if merged and merged[-1][0] + merged[-1][1] == o:
                merged[-1] = (merged[-1][0], merged[-1][1] + n)
            else:
                merged.append((o, n))
        self.free = merged


class _Planner:
    def __init__(self, module: ModuleOp):
        self.module = module
        self.fn = main_function(module)
        name = module.attributes.get("dnn.model")
        self.name = name.data if isinstance(name, StringAttr) else "model"
        self.tensors: list[TensorPlan] = []
        self.tensor_of: dict[SSAValue, int] = {}  # root value -> tensor id
        self.slice_of: dict[SSAValue, tuple[SSAValue, int]] = {}  # value -> (concat, channel)
        self.consts: list[ConstPlan] = []
        self.const_index: dict[tuple, int] = {}
        self.wsize = 0
        self.hosts = 0

    # -- values and their storage

    def root(self, v: SSAValue) -> tuple[SSAValue, int]:
        """The value owning v's storage and v's channel offset in it."""
        offset = 0
        while True:
            owner = v.owner
            if isinstance(owner, tile.ViewOp):
                v = owner.input
            elif v in self.slice_of:
                v, off = self.slice_of[v]
                offset += off
            else:
                return v, offset

    def view(self, v: SSAValue) -> View:
        """Where v's image lies. A view flattening an image to a [1, K] vector keeps the
        image's geometry (the dense layer reading it permutes its weights to the NHWC order,
        `x_chw`); any other view reads its input's bytes with its own geometry, which needs
        those bytes whole and contiguous."""
        owner = v.owner
        if isinstance(owner, tile.ViewOp):
            shape = dnn.shape_of(v)
            if len(shape) == 2 and shape[0] == 1:
                return self.view(owner.input)
            inner = self.view(owner.input)
            image = tile.hwc(v.type)
            assert image is not None  # dnn-tile makes views of images only
            if inner.pix != inner.c or inner.row != inner.w * inner.pix:
                raise PlanError(f"view {v.name_hint or ''} of a tensor slice or subsampled "
                                "image is not supported")
            return View(inner.tensor, inner.segment, inner.offset, *image, image[2])
        root, off = self.root(v)
        t = self.tensors[self.tensor_of[root]]
        image = tile.hwc(v.type)
        root_image = tile.hwc(root.type)
        if image is None or root_image is None:
            raise PlanError(f"value {v.name_hint or ''} of type {v.type} is not an image")
        return View(self.tensor_of[root], t.segment, t.offset + off, *image, root_image[2])

    # -- the walk

    def run(self) -> Plan:
        block = self.fn.body.block
        ret = block.last_op
        if not isinstance(ret, func.ReturnOp):
            raise PlanError("@main must end with func.return")
        for op in block.ops:
            if isinstance(op, tile.ConcatOp):
                off = 0
                for v in op.inputs:
                    self.slice_of[v] = (op.output, off)
                    off += tile.hwc(v.type)[2]  # type: ignore[index]
        units, boundary_in, boundary_out = self._units(block, ret)
        accel_values = {v for u in units if u.layer for v in (*u.inputs, *u.outputs)}
        # Model inputs: the tensor the host writes.
        inputs: list[SSAValue] = []
        for arg in block.args:
            q = boundary_in.get(arg)
            inputs.append(q.results[0] if q is not None else arg)
        outputs = [boundary_out[i].operands[0] if i in boundary_out else v
                   for i, v in enumerate(ret.arguments)]
        roots = [self.root(v) for v in outputs]
        for i, (r, off) in enumerate(roots):
            if off or _numel(r) != _numel(outputs[i]):
                raise PlanError(f"model output {i} is a slice of a concat; outputs must be "
                                "whole tensors")
        # Lifetimes over units (-1: before the first unit; len(units): until the end).
        first: dict[SSAValue, int] = {}
        last: dict[SSAValue, int] = {}
        for v in inputs:
            first[self.root(v)[0]] = -1
        for i, u in enumerate(units):
            for v in u.outputs:
                first.setdefault(self.root(v)[0], i)
            for v in u.inputs:
                r = self.root(v)[0]
                last[r] = max(last.get(r, -1), i)
        out_roots = {r for r, _ in roots}
        in_roots = {self.root(v)[0] for v in inputs}
        accel_roots = {self.root(v)[0] for v in accel_values}
        sizes = [0, 0, 0, 0]
        # Inputs and outputs: fixed places in their own segments.
        for v in inputs:
            r = self.root(v)[0]
            if r not in self.tensor_of and r not in out_roots:
                self._new_tensor(r, SEG_INPUT, sizes, accel_roots)
        for r in dict.fromkeys(r for r, _ in roots):
            if r not in self.tensor_of:
                self._new_tensor(r, SEG_OUTPUT, sizes, accel_roots)
        # Activations: first fit with reuse, in unit order.
        alloc = _Allocator()
        order = sorted((i, n, r) for n, (r, i) in enumerate(first.items()))
        frees: dict[int, list[SSAValue]] = {}
        for r, i in last.items():
            if r not in in_roots and r not in out_roots:
                frees.setdefault(i, []).append(r)
        pos = 0
        for unit_index in range(-1, len(units)):
            while pos < len(order) and order[pos][0] == unit_index:
                r = order[pos][2]
                pos += 1
                if r not in self.tensor_of:
                    t = self._new_tensor(r, SEG_ACT, None, accel_roots)
                    t.offset = alloc.alloc(t.nbytes)
            for r in frees.get(unit_index, []):
                t = self.tensors[self.tensor_of[r]]
                alloc.release(t.offset, t.nbytes)
        sizes[SEG_ACT] = alloc.end
        layers = [self._layer(u) for u in units]
        sizes[SEG_WEIGHTS] = self.wsize
        return Plan(
            self.name, sizes, self.tensors, self.consts, layers,
            [self.tensor_of[self.root(v)[0]] for v in inputs],
            [self.tensor_of[r] for r, _ in roots],
            _names(self.fn, "dnn.input_names", len(inputs), "input"),
            _names(self.fn, "dnn.output_names", len(outputs), "output"),
        )

    def _new_tensor(self, r: SSAValue, segment: int, sizes: list[int] | None,
                    accel_roots: set[SSAValue]) -> TensorPlan:
        ty = r.type
        assert isinstance(ty, TensorType)
        frac = qp.frac_bits(ty)
        dtype = "int8" if frac is not None or r in accel_roots else "float32"
        shape = tuple(ty.get_shape())
        layout_ = "nhwc" if dtype == "int8" and len(shape) == 4 else "flat"
        name = _unique_name(r.name_hint or f"t{len(self.tensors)}", {t.name for t in self.tensors})
        t = TensorPlan(name, segment, 0, shape, dtype, frac or 0, layout_, qp.zero_point(ty))
        if sizes is not None:
            t.offset = sizes[segment]
            sizes[segment] = _ddr_align(sizes[segment] + t.nbytes)
        self.tensor_of[r] = len(self.tensors)
        self.tensors.append(t)
        return t

    def _units(self, block: Block, ret: func.ReturnOp):
        """The layers in order, and the boundary quantize (per argument) and dequantize (per
        result index) ops that the host performs around the package."""
        boundary_in: dict[SSAValue, Operation] = {}
        for arg in block.args:
            users = [u.operation for u in arg.uses]
            if len(users) == 1 and _is(users[0], "dnn.quantize"):
                boundary_in[arg] = users[0]
        boundary_out: dict[int, Operation] = {}
        for i, v in enumerate(ret.arguments):
            op = v.owner
            if (isinstance(op, Operation) and _is(op, "dnn.dequantize")
                    and all(u.operation is ret for u in v.uses)):
                src = op.operands[0].owner
                if isinstance(src, tile.LayerOp | tile.ConcatOp | tile.ViewOp) or (
                        isinstance(src, Operation) and src in boundary_in.values()):
                    boundary_out[i] = op
        skip = set(boundary_in.values()) | set(boundary_out.values())
        units: list[_Unit] = []
        run: list[Operation] = []

        def close_run() -> None:
            if run:
                units.append(self._host_unit(list(run), ret))
                run.clear()

        for op in block.ops:
            if op is ret or op in skip or isinstance(op, _CONSTS):
                continue
            if isinstance(op, tile.ConcatOp | tile.ViewOp):
                continue
            if isinstance(op, tile.LayerOp):
                close_run()
                units.append(_Unit(layer=op, inputs=list(op.inputs), outputs=[op.output]))
                continue
            run.append(op)
        close_run()
        return units, boundary_in, boundary_out

    def _host_unit(self, ops: list[Operation], ret: func.ReturnOp) -> _Unit:
        inside = set(ops)
        inputs: list[SSAValue] = []
        outputs: list[SSAValue] = []
        for op in ops:
            for v in op.operands:
                if v.owner not in inside and not isinstance(v.owner, _CONSTS) and v not in inputs:
                    inputs.append(v)
            for v in op.results:
                if any(u.operation not in inside for u in v.uses) and v not in outputs:
                    outputs.append(v)
        return _Unit(host_ops=ops, inputs=inputs, outputs=outputs)

    # -- layers

    def _layer(self, u: _Unit) -> LayerPlan:
        ins = list(dict.fromkeys(self.tensor_of[self.root(v)[0]] for v in u.inputs))
        outs = list(dict.fromkeys(self.tensor_of[self.root(v)[0]] for v in u.outputs))
        if u.layer is None:
            for v in (*u.inputs, *u.outputs):
                if self.root(v)[1] or isinstance(v.owner, tile.ViewOp):
                    raise PlanError("a host op reads or writes part of a tensor (a concat "
                                    "slice or a view); this is not supported")
            self.hosts += 1
            text, used = _host_ir(u)
            return LayerPlan(f"host{self.hosts - 1}", "host", ins, outs, host_ir=text,
                             host_weights=used)
        layer = u.layer
        op = layer.computation
        geom = layer.geometry() if op is None else capability.lowering(op)
        inputs = [self.view(v) for v in layer.inputs]
        if geom.subsample != (1, 1):
            inputs = [x.subsampled(*geom.subsample) for x in inputs]
        info = LayerInfo(geom, op, inputs, self.view(layer.output))
        if op is not None and geom.kind in (TileKind.CONV, TileKind.DWCONV, TileKind.DENSE):
            info.shifts = qp.channel_shifts(op, geom.out_shape[2])
            info.weight_offset, info.bias_offset = self._weights(layer, op, geom, info.shifts)
        elif op is not None and geom.kind == TileKind.LNORM:
            info.weight_offset, info.bias_offset = self._weights(layer, op, geom, [])
        kind = "copy" if op is None else op.name.removeprefix("dnn.")
        return LayerPlan(layer.layer_name, kind, ins, outs, layer_frames(info, layer.tile_ops))

    def _weights(self, layer: tile.LayerOp, op: Operation, geom: Geometry,
                 shifts: list[int]) -> tuple[int, int]:
        oc = geom.out_shape[2]
        # The input's zero point Z folds into the biases: sum w (x - Z) + b = sum w x + b',
        # b' = b - Z sum(w) per output channel (CONV pads with Z, so padding adds 0 too).
        zx = qp.zero_point(op.operands[0].type)
        if isinstance(op, dnn.ClipOp):  # a 1x1 depthwise conv by 1 (exact), then RELU6
            bias = self._const("", 4 * oc, "bias", (zx, -1)) if zx else self._const(
                "", 4 * oc, "zeros")
            return self._const("", oc, "ones"), bias
        w = op.operands[1].owner
        if not isinstance(w, dnn.WeightOp):
            raise PlanError(f"layer {layer.layer_name}: weights must be dnn.weight ops")
        if geom.kind == TileKind.CONV:
            wblock = self._const(w.sym.data, oc * geom.weight_bytes_per_channel, "ohwi")
        elif geom.kind == TileKind.LNORM:  # the int8 scale, one byte per channel
            wblock = self._const(w.sym.data, oc, "rows", (0, 0, 0, 0))
        elif geom.kind == TileKind.DWCONV:
            cuts = {0, oc}
            for t in layer.tile_ops:
                k0, k1 = t.out_box[4:]
                cuts.update(a for a, _, _ in qp.shift_runs(shifts, k0, k1))
            wblock = self._const(w.sym.data, oc * geom.weight_bytes_per_channel, "dw",
                                 tuple(sorted(cuts)))
        else:
            assert isinstance(op, dnn.DenseOp)
            trans = 0 if op.trans_b is not None else 1
            chw = dnn.ints(layer.x_chw) if layer.x_chw is not None else (0, 0, 0)
            wblock = self._const(w.sym.data, oc * geom.weight_bytes_per_channel, "rows",
                                 (trans, *chw))
        source = ""
        if len(op.operands) > 2 and op.operands[2] is not None:
            b = op.operands[2].owner
            if not isinstance(b, dnn.WeightOp):
                raise PlanError(f"layer {layer.layer_name}: biases must be dnn.weight ops")
            source = b.sym.data
        # the weights' output-channel axis: conv [O, C, kh, kw]; dense [K, N] or, with
        # trans_b, [N, K]
        axis = 1 if isinstance(op, dnn.DenseOp) and op.trans_b is None else 0
        if geom.scaled:  # (bias, multiplier) pairs of int32 per output channel
            assert isinstance(op, dnn.Conv2dOp | dnn.DenseOp) and op.mul is not None
            return wblock, self._const(source, 8 * oc, "scaled", (zx, axis, *dnn.ints(op.mul)),
                                       w.sym.data)
        if not zx:
            return wblock, self._const(source, 4 * oc, "bias" if source else "zeros")
        return wblock, self._const(source, 4 * oc, "bias", (zx, axis), w.sym.data)

    def _const(self, source: str, size: int, transform: str, params: tuple[int, ...] = (),
               fold: str = "") -> int:
        key = (source, size, transform, params, fold)
        if key in self.const_index:
            return self.consts[self.const_index[key]].offset
        offset = self.wsize
        self.const_index[key] = len(self.consts)
        self.consts.append(ConstPlan(source, offset, size, transform, params, fold))
        self.wsize = _ddr_align(offset + size)
        return offset


def _numel(v: SSAValue) -> int:
    n = 1
    for d in dnn.shape_of(v):
        n *= d
    return n


def _unique_name(base: str, used: set[str]) -> str:
    name, n = base, 0
    while name in used:
        n += 1
        name = f"{base}_{n}"
    return name


def _host_ir(u: _Unit) -> tuple[str, list[str]]:
    """The MLIR text of `func.func @main` computing a host unit over float32 tensors, and the
    names of the weights it reads: they stay `dnn.weight` references, which the package
    carries as binary arrays (`Package.host_weights`)."""
    inside = set(u.host_ops)
    # int8 tensors arrive as their real values; others keep their type (DDR holds them as
    # float32, and the runtime casts them back).
    block = Block(arg_types=[_f32(v.type) if qp.is_int8(v.type) else v.type  # type: ignore
                             for v in u.inputs])
    mapping: dict[SSAValue, SSAValue] = dict(zip(u.inputs, block.args, strict=True))
    for op in u.host_ops:
        for v in op.operands:  # first: a quantized constant (x + K, K a weight) reads one
            if v not in mapping and isinstance(v.owner, _CONSTS):
                clone = v.owner.clone()
                block.add_op(clone)
                mapping[v] = clone.results[0]
        if _is(op, "dnn.dequantize") and op.operands[0] in mapping:
            mapping[op.results[0]] = mapping[op.operands[0]]  # the runtime dequantizes
            continue
        if _is(op, "dnn.quantize"):
            if all(x.operation not in inside for x in op.results[0].uses):
                mapping[op.results[0]] = mapping[op.operands[0]]  # the runtime quantizes
                continue
            # Read inside the unit (by an exact op such as a channel shuffle's reshape), whose
            # int8 values are their real values here: round onto the grid and back.
            grid = op.clone(value_mapper=mapping)
            back = dnn.DequantizeOp(grid.results[0])
            block.add_ops([grid, back])
            mapping[op.results[0]] = back.results[0]
            continue
        new = op.clone(value_mapper=mapping)
        for key in ("dnn.target", "dnn.segment"):
            new.attributes.pop(key, None)
        block.add_op(new)
        for old, res in zip(op.results, new.results, strict=True):
            if qp.is_int8(res.type):
                res = Rewriter.replace_value_with_new_type(res, _f32(res.type))
            mapping[old] = res
    results = [mapping[v] for v in u.outputs]
    block.add_op(func.ReturnOp(*results))
    fn = func.FuncOp("main", ([a.type for a in block.args], [r.type for r in results]),
                     Region(block))
    text = StringIO()
    Printer(stream=text).print_op(fn)
    used = [op.sym.data for op in block.ops if isinstance(op, dnn.WeightOp)]
    return text.getvalue(), list(dict.fromkeys(used))


def build_plan(module: ModuleOp) -> Plan:
    """The frame plan of a module tiled by `dnn-tile` (module docstring)."""
    return _Planner(module).run()
