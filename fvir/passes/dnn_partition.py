"""`dnn-partition`: place every op on the accelerator or the host, and cut host segments.

The accelerator runs int8 fixed-point ops within the ranges of its instruction fields; the
host runs everything else in numpy at run time (float ops, `dnn.host` ops, softmax, the
float <-> int8 conversions, and int8 ops whose configuration no instruction can encode). One
rule table decides, from the op and the ISA's field widths (`fvir.isa.spec`, so the limits
follow the ISA). For int8 fixed-point ops:

- conv2d -> CONV: group 1 or depthwise (group = C_in = C_out); kernel, stride and dilation
  1..15 and pads 0..15 (4-bit fields).
- pool2d -> POOL: dilation 1; kernel <= 255 (u8); stride <= 15; pads <= 15, ceil_mode's extra
  rows included; an average counts padding or has none.
- global_pool -> POOL: a 4-D input with H and W <= 255.
- dense -> MVM: N and K <= 65535 (u16 rows / cols).
- add, mul -> ELEW (the int8 verifier already requires equal shapes).
- sigmoid, tanh, relu -> ACT.
- clip -> RELU6 (the requant stage's clamp): when its lower bound is 0 on the int8 grid.
- concat, reshape, flatten -> layout, folded into addressing or the next layer's weights.

Anything else is host: float ops (not quantized), `dnn.host`, softmax, transpose, recurrent
layers, `dnn.quantize` / `dnn.dequantize`. `dnn.weight`, `dnn.constant` and `func.return` are
data and control, not work: they get no mark.

Marks (discardable attributes): `dnn.target = "accel" | "host"`, and `dnn.segment = N`, the
index of the op's segment. Walking `@main` in program order (which is a topological order),
a segment is a maximal run of consecutive marked ops with the same target; segments are
numbered from 0 and alternate between accelerator and host, so the runtime executes them in
order, handing tensors across at each boundary. Adjacent host ops thus form one host segment.

`partition_report(module)` returns the same decisions as (op, target, reason) rows without
changing the module; the pass applies them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from fvir.ir import dnn, tile
from fvir.ir.functions import main_function
from fvir.isa.spec import SPECS, Opcode

ACCEL, HOST = "accel", "host"
TARGET_ATTR, SEGMENT_ATTR = "dnn.target", "dnn.segment"


def _field_max(opcode: Opcode, name: str) -> int:
    return SPECS[opcode].placed(name).field.hi


CONV_KERNEL_MAX = _field_max(Opcode.CONVINIT, "kernel_h")
CONV_STRIDE_MAX = _field_max(Opcode.CONVINIT, "stride_h")
CONV_DILATION_MAX = _field_max(Opcode.CONVINIT, "dilation_h")
CONV_PAD_MAX = _field_max(Opcode.CONV, "pad_t")
POOL_KERNEL_MAX = _field_max(Opcode.POOLINIT, "kernel_h")
POOL_STRIDE_MAX = _field_max(Opcode.POOLINIT, "stride_h")
POOL_PAD_MAX = _field_max(Opcode.POOL, "pad_t")
MVM_SIZE_MAX = min(_field_max(Opcode.MVM, "rows"), _field_max(Opcode.MVM, "cols"))


class Placement(NamedTuple):
    """One row of the partition: which op, where it runs, and why."""

    op: str
    target: str
    reason: str


Rule = Callable[[Operation], tuple[str, str]]


def _limits(what: str, values: tuple[int, ...], lo: int, hi: int) -> str | None:
    bad = [v for v in values if not lo <= v <= hi]
    return f"{what} {list(values)} outside the ISA's {lo}..{hi}" if bad else None


def _first(*reasons: str | None) -> str | None:
    return next((r for r in reasons if r is not None), None)


def _conv(op: dnn.Conv2dOp) -> tuple[str, str]:
    c_in, c_out = dnn.shape_of(op.input)[1], dnn.shape_of(op.output)[1]
    depthwise = op.groups == c_in == c_out and op.groups > 1
    problem = _first(
        None if op.groups == 1 or depthwise else f"grouped convolution (group {op.groups})",
        _limits("kernel", dnn.shape_of(op.weight)[2:], 1, CONV_KERNEL_MAX),
        _limits("strides", dnn.ints(op.strides), 1, CONV_STRIDE_MAX),
        _limits("dilations", dnn.ints(op.dilations), 1, CONV_DILATION_MAX),
        _limits("pads", dnn.ints(op.pads), 0, CONV_PAD_MAX),
    )
    if problem:
        return HOST, problem
    return ACCEL, "CONV (depthwise)" if depthwise else "CONV"


def _pool(op: dnn.Pool2dOp) -> tuple[str, str]:
    top, left, bottom, right = dnn.ints(op.pads)
    extra_h, extra_w = op.ceil_extension()
    avg = op.kind.data == dnn.PoolKind.AVG
    problem = _first(
        None if dnn.ints(op.dilations) == (1, 1) else "dilated pooling (POOL has no dilation)",
        _limits("kernel", dnn.ints(op.kernel), 1, POOL_KERNEL_MAX),
        _limits("strides", dnn.ints(op.strides), 1, POOL_STRIDE_MAX),
        _limits("pads", (top, left, bottom + extra_h, right + extra_w), 0, POOL_PAD_MAX),
        "average pooling that does not count padding"
        if avg and op.count_include_pad is None and (top, left, bottom, right) != (0, 0, 0, 0)
        else None,
    )
    return (HOST, problem) if problem else (ACCEL, "POOL")


def _global_pool(op: dnn.GlobalPoolOp) -> tuple[str, str]:
    shape = dnn.shape_of(op.input)
    if len(shape) != 4:
        return HOST, f"global pooling over {len(shape) - 2} spatial dims (POOL is 2-D)"
    problem = _limits("window", shape[2:], 1, POOL_KERNEL_MAX)
    return (HOST, problem) if problem else (ACCEL, "POOL (global)")


def _dense(op: dnn.DenseOp) -> tuple[str, str]:
    k, n = dnn.shape_of(op.input)[1], dnn.shape_of(op.output)[1]
    problem = _limits("rows x cols", (n, k), 1, MVM_SIZE_MAX)
    return (HOST, problem) if problem else (ACCEL, "MVM")


def _clip(op: dnn.ClipOp) -> tuple[str, str]:
    from fvir.quant.contract import clip_bounds

    frac = dnn.fixed_frac(op.input)
    assert frac is not None
    lo, _ = clip_bounds(op.lo.value.data, op.hi.value.data, frac)
    if lo != 0:
        return HOST, f"clip with int8 lower bound {lo} (RELU6 clamps at 0)"
    return ACCEL, "RELU6"


def _always(reason: str) -> Rule:
    return lambda op: (ACCEL, reason)


RULES: dict[type[Operation], Rule] = {
    dnn.Conv2dOp: _conv,  # type: ignore[dict-item]
    dnn.Pool2dOp: _pool,  # type: ignore[dict-item]
    dnn.GlobalPoolOp: _global_pool,  # type: ignore[dict-item]
    dnn.DenseOp: _dense,  # type: ignore[dict-item]
    dnn.AddOp: _always("ELEW add"),
    dnn.MulOp: _always("ELEW mul"),
    dnn.SigmoidOp: _always("ACT sigmoid"),
    dnn.TanhOp: _always("ACT tanh"),
    dnn.ReluOp: _always("ACT relu"),
    dnn.ClipOp: _clip,  # type: ignore[dict-item]
    dnn.ConcatOp: _always("layout (concat)"),
    dnn.ReshapeOp: _always("layout (reshape)"),
    dnn.FlattenOp: _always("layout (flatten)"),
}
"""The accelerator's rules for int8 fixed-point ops; an op without one runs on the host."""


_LAYOUT = (dnn.ConcatOp, dnn.ReshapeOp, dnn.FlattenOp)  # `dnn-tile` decides (addressing or host)


def _lowering_problem(op: Operation) -> str | None:
    """Why the tiler has no layer for `op`'s shapes (e.g. a batch of 2), or None."""
    if isinstance(op, _LAYOUT):
        return None
    try:
        tile.geometry(op)
    except tile.Unsupported as exc:
        return str(exc)
    return None


def accelerator_problem(op: Operation) -> str | None:
    """Why the accelerator could not run `op`, from its configuration and shapes alone
    (whatever its exponents), or None. `dnn-quantize` leaves such compute ops float: on the
    host, an int8 conv, dense, eltwise or lookup-table op would need integer semantics that the
    host's float functions do not have."""
    rule = RULES.get(type(op))
    if rule is None or isinstance(op, dnn.ClipOp):  # clip's rule needs its exponent
        return None
    target, reason = rule(op)
    return reason if target == HOST else _lowering_problem(op)


def place(op: Operation) -> tuple[str, str]:
    """(target, reason) of one op."""
    if isinstance(op, dnn.QuantizeOp | dnn.DequantizeOp):
        return HOST, "float <-> int8 conversion"
    if isinstance(op, dnn.HostOp):
        return HOST, f"host op {op.op_type.data}"
    if not dnn.is_fixed_op(op):
        return HOST, f"float op ({accelerator_problem(op) or 'not quantized'})"
    rule = RULES.get(type(op))
    if rule is None:
        return HOST, f"no accelerator instruction for int8 {op.name}"
    target, reason = rule(op)
    if target == ACCEL and (problem := _lowering_problem(op)) is not None:
        return HOST, problem  # only exact ops get here (relu, max pooling): exact on the host
    return target, reason


def _marked(module: builtin.ModuleOp) -> list[Operation]:
    skip = dnn.WeightOp | dnn.ConstantOp | func.ReturnOp
    return [op for op in main_function(module).body.block.ops if not isinstance(op, skip)]


def _label(op: Operation) -> str:
    name = op.results[0].name_hint if op.results else None
    kind = f"{op.name} {op.op_type.data}" if isinstance(op, dnn.HostOp) else op.name
    return f"{kind} %{name}" if name else kind


def partition_report(module: builtin.ModuleOp) -> list[Placement]:
    """Every op of `@main` that does work, with its target and the reason, in program order."""
    return [Placement(_label(op), *place(op)) for op in _marked(module)]


def host_ops(module: builtin.ModuleOp) -> list[Placement]:
    """The rows of `partition_report` that run on the host."""
    return [p for p in partition_report(module) if p.target == HOST]


def partition(module: builtin.ModuleOp) -> int:
    """Mark `@main`'s ops with `dnn.target` and `dnn.segment`; returns the segment count."""
    segment, previous = -1, None
    for op in _marked(module):
        target, _ = place(op)
        if target != previous:
            segment, previous = segment + 1, target
        op.attributes[TARGET_ATTR] = StringAttr(target)
        op.attributes[SEGMENT_ATTR] = IntegerAttr(segment, 64)
    return segment + 1


@dataclass(frozen=True)
class DnnPartitionPass(ModulePass):
    """Marks each op of @main `dnn.target = "accel" | "host"` and `dnn.segment = N`."""

    name = "dnn-partition"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        partition(op)
