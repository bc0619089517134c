"""`dnn-partition`: place every op on the accelerator or the host, and cut host segments.

The accelerator runs int8 fixed-point ops within the ranges of its instruction fields; the
host runs everything else in numpy at run time (float ops, `dnn.host` ops, softmax, the
float <-> int8 conversions, and int8 ops whose configuration no instruction can encode). The
accelerator's description (`fvir.hw.capability.verdict`, from the ISA table) decides for
int8 fixed-point ops and gives the reason: the instruction (CONV, POOL, MVM, ELEW, ACT,
RELU6, or layout: concat, reshape and flatten fold into addressing or the next layer's
weights), or what no instruction can encode.

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

from dataclasses import dataclass
from typing import NamedTuple

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from fvir.hw import capability
from fvir.ir import dnn
from fvir.ir.functions import main_function

ACCEL, HOST = "accel", "host"
TARGET_ATTR, SEGMENT_ATTR = "dnn.target", "dnn.segment"


class Placement(NamedTuple):
    """One row of the partition: which op, where it runs, and why."""

    op: str
    target: str
    reason: str


def accelerator_problem(op: Operation) -> str | None:
    """Why the accelerator could not run `op`, from its configuration and shapes alone
    (whatever its exponents), or None: `fvir.hw.capability.problem` for an op with an
    instruction (a clip's bound needs its exponent: None). `dnn-quantize` leaves such compute
    ops float: on the host, an int8 conv, dense, eltwise or lookup-table op would need integer
    semantics that the host's float functions do not have."""
    if not capability.has_instruction(op) or isinstance(op, dnn.ClipOp):
        return None
    return capability.problem(op)


def place(op: Operation) -> tuple[str, str]:
    """(target, reason) of one op."""
    if isinstance(op, dnn.QuantizeOp | dnn.DequantizeOp):
        return HOST, "float <-> int8 conversion"
    if isinstance(op, dnn.HostOp):
        return HOST, f"host op {op.op_type.data}"
    if not dnn.is_fixed_op(op):
        return HOST, f"float op ({accelerator_problem(op) or 'not quantized'})"
    # An int8 op the accelerator cannot run is exact (relu, clip, max pooling; dnn-quantize
    # keeps other ops float): exact on the host too.
    runs, why = capability.verdict(op)
    return (ACCEL if runs else HOST), why


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
