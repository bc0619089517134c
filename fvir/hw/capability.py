"""What the accelerator can run: the one description that dnn-quantize, dnn-partition, dnn-tile
and code generation ask ("can this op, with these shapes, run on the accelerator, and if not,
why?", `problem`), derived from the ISA table (`fvir.isa.spec`) and, for the tiler's facts, from
the core (`fvir.hw.config.CoreConfig`).

Algorithm of `verdict(op)`, the answer in full (runs or not, and the instruction or the reason):
1. Instruction: an op without a rule below has no accelerator instruction.
2. Lowering: a compute op needs a sliding-window geometry (`fvir.ir.tile.geometry`): batch-1
   images and [1, K] vectors, convolution of any group count (depthwise, or one CONV per
   group reading its group's input channels), equal eltwise shapes (or a
   per-channel vector times an image). Layout ops
   (concat, reshape, flatten) have none: `dnn-tile` folds them into addressing or sends them
   to the host.
3. ISA fields, per rule, every limit read from the field that encodes it:
   - conv2d -> CONV: kernel, stride and dilation within 1..max and pads within 0..max of their
     4-bit fields.
   - pool2d -> POOL: no dilation (POOL has none); kernel within the 8-bit window fields, stride
     and pads (ceil_mode's extra rows included) within their 4-bit fields; an average counts
     padding or has none.
   - global_pool -> POOL: the whole image as the window (H and W within the kernel fields).
   - dense -> MVM: N and K within the rows and cols fields.
   - add, mul -> ELEW; relu, sigmoid, tanh, gelu, hardswish, hardsigmoid, silu,
     requantize -> ACT.
   - softmax, layer_norm along the last axis of a sequence [1, S, D] or rows [M, D] -> ROW:
     the row length within ROW's `length` field (LayerNorm: the contract's 4096).
   - clip -> CONV's RELU6 clamp: its lower bound on its int8 grid (`clip_bounds`) must be 0.
     A float clip is judged as float IR is lowered, on its real bound.

`int8_form(op)` is the int8 contract's table that `dnn-quantize` selects by: "compute" ops get
integer parameters from their exponents (conv2d, dense, add, mul, average pooling, sigmoid,
tanh, gelu, hardswish, hardsigmoid, silu, softmax, layer_norm), "exact" ops commute with
quantization (relu, clip, max pooling, concat, reshape, flatten, transpose), other ops have no
int8 form.

`tile_facts(core, kind)` gives what the tiler needs besides the geometry: in which lane
multiple a tile's output channels come, whether rows and columns may be split, and whether
the layer carries per-channel requantization shifts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from xdsl.ir import Operation
from xdsl.utils.str_enum import StrEnum

from fvir.hw.config import CoreConfig
from fvir.ir import dnn, tile
from fvir.ir.tile import Geometry, TileKind, Unsupported
from fvir.isa.spec import MAX_BUFFER_BYTES, Opcode, field


class Range(NamedTuple):
    """The values an instruction field admits for an op parameter."""

    lo: int
    hi: int

    def problem(self, what: str, values: tuple[int, ...]) -> str | None:
        bad = [v for v in values if not self.lo <= v <= self.hi]
        return f"{what} {list(values)} outside the ISA's {self.lo}..{self.hi}" if bad else None


def _positive(op: Opcode, name: str) -> Range:
    return Range(1, field(op, name).hi)


CONV_KERNEL = _positive(Opcode.CONVINIT, "kernel_h")
CONV_STRIDE = _positive(Opcode.CONVINIT, "stride_h")
CONV_DILATION = _positive(Opcode.CONVINIT, "dilation_h")
CONV_PADS = Range(0, field(Opcode.CONV, "pad_t").hi)
POOL_KERNEL = _positive(Opcode.POOLINIT, "kernel_h")
POOL_STRIDE = _positive(Opcode.POOLINIT, "stride_h")
POOL_PADS = Range(0, field(Opcode.POOL, "pad_t").hi)
MVM_SIZE = Range(1, min(field(Opcode.MVM, "rows").hi, field(Opcode.MVM, "cols").hi))


class Verdict(NamedTuple):
    """Whether the accelerator runs an op and why: the instruction, or what stands in the way."""

    runs: bool
    why: str


def _first(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


# A rule: the instruction an op becomes, or why its configuration fits no instruction.
Rule = Callable[[Operation, Geometry | None], Verdict]


def _verdict(problem: str | None, instruction: str) -> Verdict:
    return Verdict(False, problem) if problem is not None else Verdict(True, instruction)


def _conv(op: dnn.Conv2dOp, geom: Geometry | None) -> Verdict:
    problem = _first(
        CONV_KERNEL.problem("kernel", dnn.shape_of(op.weight)[2:]),
        CONV_STRIDE.problem("strides", dnn.ints(op.strides)),
        CONV_DILATION.problem("dilations", dnn.ints(op.dilations)),
        CONV_PADS.problem("pads", dnn.ints(op.pads)),
    )
    assert geom is not None
    if geom.kind == TileKind.DWCONV:
        return _verdict(problem, "CONV (depthwise)")
    return _verdict(problem, "CONV (one per group)" if geom.groups > 1 else "CONV")


def _pool(op: dnn.Pool2dOp, geom: Geometry | None) -> Verdict:
    top, left, bottom, right = dnn.ints(op.pads)
    extra_h, extra_w = op.ceil_extension()
    avg = op.kind.data == dnn.PoolKind.AVG
    problem = _first(
        None if dnn.ints(op.dilations) == (1, 1) else "dilated pooling (POOL has no dilation)",
        POOL_KERNEL.problem("kernel", dnn.ints(op.kernel)),
        POOL_STRIDE.problem("strides", dnn.ints(op.strides)),
        POOL_PADS.problem("pads", (top, left, bottom + extra_h, right + extra_w)),
        "average pooling that does not count padding"
        if avg and op.count_include_pad is None and (top, left, bottom, right) != (0, 0, 0, 0)
        else None,
    )
    return _verdict(problem, "POOL")


def _global_pool(op: dnn.GlobalPoolOp, geom: Geometry | None) -> Verdict:
    assert geom is not None
    return _verdict(POOL_KERNEL.problem("window", geom.kernel), "POOL (global)")


def _dense(op: dnn.DenseOp, geom: Geometry | None) -> Verdict:
    assert geom is not None
    n, k = geom.out_shape[2], geom.in_shape[2]
    return _verdict(MVM_SIZE.problem("rows x cols", (n, k)), "MVM")


def _clip(op: dnn.ClipOp, geom: Geometry | None) -> Verdict:
    lo, frac = op.lo.value.data, dnn.fixed_frac(op.input)
    if frac is None:
        problem = f"clip with lower bound {lo} (RELU6 clamps at 0)" if lo != 0.0 else None
    else:
        lo_q, _ = dnn.clip_bounds(lo, op.hi.value.data, frac)
        problem = f"clip with int8 lower bound {lo_q} (RELU6 clamps at 0)" if lo_q else None
    return _verdict(problem, "RELU6")


ROW_LENGTH = Range(1, field(Opcode.ROW, "length").hi)
LN_LENGTH = Range(1, 4096)  # the contract's longest LayerNorm row (fvir.quant.nonlinear)


def _row(op: dnn.SoftmaxOp | dnn.LayerNormOp, geom: Geometry | None) -> Verdict:
    assert geom is not None
    n = geom.out_shape[2]
    if isinstance(op, dnn.SoftmaxOp):
        return _verdict(ROW_LENGTH.problem("row length", (n,)), "ROW softmax")
    if len(op.normalized_shape()) != 1:
        return Verdict(False, "layer_norm over more than the last axis")
    return _verdict(LN_LENGTH.problem("row length", (n,)), "ROW layernorm")


def _always(instruction: str) -> Rule:
    return lambda op, geom: Verdict(True, instruction)


RULES: dict[type[Operation], Rule] = {
    dnn.Conv2dOp: _conv,  # type: ignore[dict-item]
    dnn.Pool2dOp: _pool,  # type: ignore[dict-item]
    dnn.GlobalPoolOp: _global_pool,  # type: ignore[dict-item]
    dnn.DenseOp: _dense,  # type: ignore[dict-item]
    dnn.AddOp: _always("ELEW add"),
    dnn.MulOp: _always("ELEW mul"),
    dnn.SigmoidOp: _always("ACT sigmoid"),
    dnn.TanhOp: _always("ACT tanh"),
    dnn.HardSwishOp: _always("ACT hardswish"),
    dnn.HardSigmoidOp: _always("ACT hardsigmoid"),
    dnn.SiluOp: _always("ACT silu"),
    dnn.GeluOp: _always("ACT gelu"),
    dnn.RequantizeOp: _always("ACT identity"),
    dnn.SoftmaxOp: _row,  # type: ignore[dict-item]
    dnn.LayerNormOp: _row,  # type: ignore[dict-item]
    dnn.ReluOp: _always("ACT relu"),
    dnn.ClipOp: _clip,  # type: ignore[dict-item]
    dnn.ConcatOp: _always("layout (concat)"),
    dnn.ReshapeOp: _always("layout (reshape)"),
    dnn.FlattenOp: _always("layout (flatten)"),
}
"""The instruction of every op the accelerator has one for; the ISA limits it must fit."""

LAYOUT_OPS = (dnn.ConcatOp, dnn.ReshapeOp, dnn.FlattenOp)


def has_instruction(op: Operation) -> bool:
    """Whether some accelerator instruction realises ops like `op` (whatever their shapes)."""
    return type(op) in RULES


def verdict(op: Operation) -> Verdict:
    """Whether the accelerator runs `op` as configured, with these shapes and (int8 IR) these
    exponents, and why (the module docstring's steps 1-3)."""
    rule = RULES.get(type(op))
    if rule is None:
        return Verdict(False, f"no accelerator instruction for int8 {op.name}")
    geom = None
    if not isinstance(op, LAYOUT_OPS):
        try:
            geom = tile.geometry(op)
        except Unsupported as exc:
            return Verdict(False, str(exc))
    return rule(op, geom)


def problem(op: Operation) -> str | None:
    """Why the accelerator cannot run `op`, or None if it can."""
    runs, why = verdict(op)
    return None if runs else why


def lowering(op: Operation) -> Geometry:
    """The geometry of an op the accelerator runs; `Unsupported` says why it cannot."""
    why = problem(op)
    if why is not None:
        raise Unsupported(why)
    return tile.geometry(op)


# ------------------------------------------------------------------------ the int8 contract


class Int8Form(StrEnum):
    COMPUTE = "compute"  # integer parameters chosen from the exponents
    EXACT = "exact"  # commutes with quantization: the result keeps the input's exponent


_COMPUTE = (
    dnn.Conv2dOp, dnn.DenseOp, dnn.AddOp, dnn.MulOp, dnn.SigmoidOp, dnn.TanhOp, dnn.GeluOp,
    dnn.HardSwishOp, dnn.HardSigmoidOp, dnn.SiluOp, dnn.SoftmaxOp, dnn.LayerNormOp,
)
_EXACT = (dnn.ReluOp, dnn.ClipOp, dnn.ConcatOp, dnn.ReshapeOp, dnn.FlattenOp, dnn.TransposeOp)


def int8_form(op: Operation) -> Int8Form | None:
    """The int8 form of `op` in the contract's table (module docstring), None if it has none."""
    if isinstance(op, dnn.Pool2dOp | dnn.GlobalPoolOp):
        return Int8Form.EXACT if op.kind.data == dnn.PoolKind.MAX else Int8Form.COMPUTE
    if isinstance(op, _COMPUTE):
        return Int8Form.COMPUTE
    return Int8Form.EXACT if isinstance(op, _EXACT) else None


# ------------------------------------------------------------------------------ the tiler


@dataclass(frozen=True)
class TileFacts:
    """How the tiler may cut a layer of one kind on one core."""

    channel_unit: int  # a tile's output channels come in multiples of this (or all of them)
    spatial: bool  # output rows and columns may be split (not dense, not global pooling)
    channel_shifts: bool  # per-output-channel requantization shifts (CONV and MVM)


def tile_facts(core: CoreConfig, kind: TileKind) -> TileFacts:
    """The facts of `kind` on `core`: conv and dense output channels ride the MAC array's OCP
    lanes; depthwise, pooling, eltwise and ACT channels ride its ICP lanes."""
    unit = core.ocp if kind in (TileKind.CONV, TileKind.DENSE) else core.icp
    return TileFacts(
        channel_unit=MAX_BUFFER_BYTES if kind.whole_rows else unit,  # whole rows: all channels
        spatial=kind not in (TileKind.DENSE, TileKind.GPOOL),
        channel_shifts=kind in (TileKind.CONV, TileKind.DWCONV, TileKind.DENSE),
    )
