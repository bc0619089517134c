"""Multiply-accumulates of dnn ops, and where a partitioned module runs them.

What `fv compile`, `fv inspect` and `fv run` report as the MAC share of the accelerator: the
useful MACs of the model's layers (not the lanes a tiling leaves idle), counted on the
partitioned dnn IR, each op on the side `dnn-partition` marked (`dnn.target`).

1. `op_macs(op)`: conv2d: output elements x (input channels / groups) x kernel taps; dense and
   matmul: output elements x the reduced dimension; LSTM / GRU / RNN: steps x batch x
   directions x gates x hidden x (input + hidden); a host ONNX ConvTranspose, Conv, MatMul or
   Gemm by the same rules; every other op 0.
2. `mac_split(module)`: the sums per side ("accelerator", "host") and op name (a host op by its
   ONNX type), ops without a mark counted as host.
"""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation

from fvir.ir import dnn

TARGET_ATTR = "dnn.target"
SIDES = ("accelerator", "host")

_GATES = {dnn.LstmOp: 4, dnn.GruOp: 3, dnn.RnnOp: 1}


def _shape(op: Operation, index: int, results: bool = False) -> tuple[int, ...]:
    values = op.results if results else op.operands
    return tuple(dnn.shape_of(values[index])) if index < len(values) else ()


def _conv(out: tuple[int, ...], w: tuple[int, ...]) -> int:
    """Output elements x the products each sums (weight [O, I/g, k...])."""
    return prod(out) * prod(w[1:]) if out and w else 0


def _matmul(a: tuple[int, ...], out: tuple[int, ...]) -> int:
    return prod(out) * a[-1] if a and out else 0


def _host_macs(op: dnn.HostOp) -> int:
    kind = op.op_type.data
    if kind == "ConvTranspose":  # every input pixel times every weight of its group
        x, w = _shape(op, 0), _shape(op, 1)
        return prod(x) * prod(w[1:]) if x and w else 0
    if kind == "Conv":
        return _conv(_shape(op, 0, results=True), _shape(op, 1))
    if kind in ("MatMul", "Gemm"):
        a, out = _shape(op, 0), _shape(op, 0, results=True)
        trans_a = op.attrs.data.get("transA")
        if kind == "Gemm" and isinstance(trans_a, IntegerAttr) and trans_a.value.data:
            return prod(out) * a[0] if a and out else 0
        return _matmul(a, out)
    return 0


def op_macs(op: Operation) -> int:
    """The multiply-accumulates `op` computes (module docstring, step 1)."""
    if isinstance(op, dnn.Conv2dOp):
        return _conv(_shape(op, 0, results=True), _shape(op, 1))
    if isinstance(op, dnn.DenseOp):
        a = _shape(op, 0)
        k = a[0] if op.trans_a is not None else a[-1]
        return prod(_shape(op, 0, results=True)) * k
    if isinstance(op, dnn.MatMulOp):
        return _matmul(_shape(op, 0), _shape(op, 0, results=True))
    if isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp):
        seq, batch, size = _shape(op, 0)
        dirs, rows, _ = _shape(op, 1)
        hidden = rows // _GATES[type(op)]
        return seq * batch * dirs * rows * (size + hidden)
    if isinstance(op, dnn.HostOp):
        return _host_macs(op)
    return 0


def op_label(op: Operation) -> str:
    """How reports name an op: its dnn name, or a host op's ONNX type."""
    return op.op_type.data if isinstance(op, dnn.HostOp) else op.name.removeprefix("dnn.")


def mac_split(module: ModuleOp) -> dict[str, dict[str, int]]:
    """MACs per side and op (module docstring, step 2); ops with none are left out."""
    split: dict[str, dict[str, int]] = {side: {} for side in SIDES}
    for op in module.walk():
        n = op_macs(op)
        if not n:
            continue
        target = op.attributes.get(TARGET_ATTR)
        accel = isinstance(target, StringAttr) and target.data == "accel"
        by_op = split["accelerator" if accel else "host"]
        by_op[op_label(op)] = by_op.get(op_label(op), 0) + n
    return split
