"""Translators of Gemm, elementwise ops and activations, the softmax family and
BatchNormalization."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.ir import Operation, SSAValue

from fvir.frontend.translate.registry import OPS, translator
from fvir.frontend.values import F32_MAX, Val, dims, reshape, shape_of
from fvir.ir import dnn
from fvir.onnxops import OpError
from fvir.onnxops.core import norm_axis

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer

# -- dense layers


@translator("Gemm")
def _gemm(
    g: Importer,
    a: Val,
    b: Val,
    c: Val | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> dnn.DenseOp:
    return dnn.DenseOp(
        g.value(a),
        g.value(b),
        None if c is None else g.value(c),
        trans_a=bool(transA),
        trans_b=bool(transB),
        alpha=alpha,
        beta=beta,
    )


# -- elementwise


def _binary(cls: type[Operation]) -> Callable[..., Operation]:
    def translate(g: Importer, a: Val, b: Val) -> Operation:
        return cls(g.value(a), g.value(b))

    return translate


def _unary(cls: type[Operation]) -> Callable[..., Operation]:
    def translate(g: Importer, x: Val) -> Operation:
        return cls(g.value(x))

    return translate


OPS["Add"] = _binary(dnn.AddOp)
OPS["Sub"] = _binary(dnn.SubOp)
OPS["Mul"] = _binary(dnn.MulOp)
OPS["Div"] = _binary(dnn.DivOp)
OPS["Relu"] = _unary(dnn.ReluOp)
OPS["Sigmoid"] = _unary(dnn.SigmoidOp)
OPS["Tanh"] = _unary(dnn.TanhOp)


@translator("Sum")
def _sum(g: Importer, *inputs: Val) -> Any:
    if len(inputs) == 1:
        return inputs[0]
    return dnn.SumOp([g.value(v) for v in inputs])


@translator("LeakyRelu")
def _leaky_relu(g: Importer, x: Val, *, alpha: float = 0.01) -> dnn.LeakyReluOp:
    return dnn.LeakyReluOp(g.value(x), alpha)


def _broadcasts(small: Sequence[int], big: Sequence[int]) -> bool:
    """Whether `small` is unidirectionally broadcastable to `big` (numpy rules, right-aligned)."""
    return all(s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


@translator("PRelu", no_fold=True)
def _prelu(g: Importer, x: Val, slope: Val) -> list[SSAValue]:
    """Since PRelu-7 the slope broadcasts unidirectionally to x. Before, a slope of C values is
    one per channel (PRelu-6: "if of size 1, the value is shared across channels"; PyTorch's
    opset-6 exports of nn.PReLU(C) rely on it), which the version converter leaves as it is."""
    xs, ss = shape_of(x), shape_of(slope)
    if len(ss) <= len(xs) and _broadcasts(ss, xs):
        return g.host_node()
    if g.source_opset < 7 and len(ss) == 1 and len(xs) >= 2 and ss[0] == xs[1]:
        per_channel = (ss[0],) + (1,) * (len(xs) - 2)
        if isinstance(slope, np.ndarray):
            return g.host("PRelu", [x, slope.reshape(per_channel)], {})
        return g.host("PRelu", [x, reshape(slope, per_channel)], {})
    raise OpError(f"slope of shape {dims(ss)} does not broadcast to the input's {dims(xs)}")


@translator("Clip")
def _clip(g: Importer, x: Val, min: Any = None, max: Any = None) -> Any:
    """dnn.clip for constant bounds (a missing one is -/+ float32 max); bounds computed at run
    time, or min > max (ONNX then gives max everywhere), need the host."""
    if isinstance(min, SSAValue) or isinstance(max, SSAValue):
        return g.host_node()
    lo = g.scalar(min, "min", -F32_MAX)
    hi = g.scalar(max, "max", F32_MAX)
    if lo > hi:
        return g.host_node()
    return dnn.ClipOp(g.value(x), lo, hi)


# -- the softmax family


def _softmax_family(
    g: Importer,
    x: Val,
    axis: int | None,
    emit: Callable[[SSAValue, int], SSAValue],
    opset: int | None = None,
) -> SSAValue:
    """Opset >= 13: along `axis` (default -1). Before: on x flattened to 2-D at `axis`
    (default 1), which equals a softmax along the last axis of the 2-D view. `opset` is the
    one whose semantics the node has (default: the importer's)."""
    shape = shape_of(x)
    if (g.opset if opset is None else opset) >= 13:
        return emit(g.value(x), -1 if axis is None else axis)
    ax = norm_axis(1 if axis is None else axis, len(shape))
    if ax == len(shape) - 1:
        return emit(g.value(x), -1)
    flat = reshape(g.value(x), (prod(shape[:ax]), prod(shape[ax:])))
    return reshape(emit(flat, 1), shape)


def _softmax_rows(v: SSAValue, axis: int) -> SSAValue:
    """Along the last axis of a tensor of rank > 2 (attention's [1, H, S, S]): on the rows
    [prod(leading), last], reshaped back, the form the accelerator's ROW reduction takes."""
    shape = shape_of(v)
    sequence = len(shape) == 3 and shape[0] == 1  # [1, S, D] is rows already
    if len(shape) <= 2 or sequence or norm_axis(axis, len(shape)) != len(shape) - 1:
        return dnn.SoftmaxOp(v, axis).output
    rows = reshape(v, (prod(shape[:-1]), shape[-1]))
    return reshape(dnn.SoftmaxOp(rows, -1).output, shape)


@translator("Softmax")
def _softmax(g: Importer, x: Val, *, axis: int | None = None) -> SSAValue:
    return _softmax_family(g, x, axis, _softmax_rows)


@translator("LogSoftmax")
def _log_softmax(g: Importer, x: Val, *, axis: int | None = None) -> SSAValue:
    return _softmax_family(g, x, axis, lambda v, ax: g.host("LogSoftmax", [v], {"axis": ax})[0])


@translator("Hardmax", no_fold=True)
def _hardmax(g: Importer, x: Val, *, axis: int | None = None) -> SSAValue:
    # onnx's version converter rewrites Softmax and LogSoftmax-12 to the opset-13 axis
    # semantics but passes Hardmax through unchanged: it keeps its source opset's meaning.
    return _softmax_family(
        g, x, axis, lambda v, ax: g.host("Hardmax", [v], {"axis": ax})[0], g.source_opset
    )


@translator("BatchNormalization")
def _batchnorm(
    g: Importer,
    x: Val,
    scale: Val,
    b: Val,
    mean: Val,
    var: Val,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    spatial: int = 1,
    training_mode: int = 0,
    is_test: int = 1,
    consumed_inputs: list[int] | None = None,
) -> dnn.BatchNormOp:
    # Before opset 14, listing the mean/var outputs selects training mode (as in onnxruntime).
    if training_mode or (g.opset < 14 and any(g.node.output[1:])):
        raise OpError("training-mode BatchNormalization is not supported (export in eval mode)")
    if not spatial:
        raise OpError("BatchNormalization with spatial=0 is not supported")
    values = [g.value(v) for v in (x, scale, b, mean, var)]
    return dnn.BatchNormOp(*values, epsilon=epsilon)
