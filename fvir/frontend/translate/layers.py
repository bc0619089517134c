"""Translators of Gemm (MatMul: `transformer`), elementwise ops and activations, the softmax
family and BatchNormalization.

An Add or Mul of an image and a run-time per-channel vector [1, C, 1, 1] (a squeeze-excitation
gate) puts the vector second, the operand the accelerator's ELEW broadcasts.

A batch-1 float image combined with a constant of one value per channel (or a scalar) by Add,
Sub, Mul or Div (image / constant) becomes a 1x1 depthwise conv (scale, shift), which the
accelerator runs. HardSwish and PyTorch's HardSigmoid are `dnn.hardswish` / `dnn.hardsigmoid`,
the ACT engine's lookup tables (one rounding each); a HardSigmoid of another slope maps its
input with such a conv first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.ir import Operation, SSAValue

from fvir.errors import UserError
from fvir.frontend.translate.registry import OPS, translator
from fvir.frontend.values import F32_MAX, Val, dims, dtype_of, reshape, shape_of
from fvir.ir import dnn
from fvir.onnxops import OpError
from fvir.onnxops.core import norm_axis

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer

# -- dense layers


def _rows_as_pixels(g: Importer, x: SSAValue, w: np.ndarray, bias: np.ndarray | None) -> Any:
    """x [M, K] @ w [K, N] (+ bias [N]) for M > 1 rows: a 1x1 conv over the M rows as the
    pixels of a [1, K, M, 1] image (the accelerator's dense takes one row), between host
    layout ops (transpose and reshape in, reshape and transpose out)."""
    m, k = shape_of(x)
    if w.shape[0] != k:
        raise UserError(f"the weight is {list(w.shape)} for rows of {k} values: its first "
                        f"dimension must be {k}")
    n = w.shape[1]
    image = reshape(dnn.TransposeOp(x, [1, 0]).output, (1, k, m, 1))
    kernel = g.weight(np.ascontiguousarray(w.T, np.float32).reshape(n, k, 1, 1), "rows_w")
    b = None if bias is None else g.weight(np.asarray(bias, np.float32).reshape(n), "rows_b")
    y = dnn.Conv2dOp(image, kernel, b).output
    return dnn.TransposeOp(reshape(y, (n, m)), [1, 0]).output


def _many_rows(a: Val, b: Val) -> bool:
    """A float run-time input of more than one row ([..., M, K]) times a constant 2-D weight."""
    xs = shape_of(a)
    return (
        isinstance(a, SSAValue)
        and len(xs) >= 2
        and prod(xs[:-1]) > 1
        and dtype_of(a) == np.float32
        and isinstance(b, np.ndarray)
        and b.ndim == 2
        and b.dtype == np.float32
    )


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
) -> Any:
    n = shape_of(b)[0 if transB else 1]
    bias_ok = c is None or (
        isinstance(c, np.ndarray) and c.shape in ((), (1,), (n,), (1, 1), (1, n))
    )
    if not transA and len(shape_of(a)) == 2 and _many_rows(a, b) and bias_ok:
        assert isinstance(a, SSAValue) and isinstance(b, np.ndarray)
        w = (b.T if transB else b).astype(np.float64) * alpha
        bias = None if c is None else np.broadcast_to(np.asarray(c, np.float64).reshape(-1), n)
        return _rows_as_pixels(g, a, w, None if bias is None else bias * beta)
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


def _unary(cls: type[Operation]) -> Callable[..., Any]:
    def translate(g: Importer, x: Val) -> Any:
        if _rows_only(x):
            return _on_rows(lambda *v: cls(*v).results[0], g.value(x))
        return cls(g.value(x))

    return translate


def _rows_only(*xs: Val) -> bool:
    """Whether elementwise operands of one shape are float run-time tensors that the
    accelerator takes only as rows: not a batch-1 image, [1, S, D] sequence or 2-D rows
    (a seq-first [S, B, D] activation, as PyTorch's nn.Transformer* keep them)."""
    shape = shape_of(xs[0])
    return (
        all(isinstance(x, SSAValue) and shape_of(x) == shape and dtype_of(x) == np.float32
            for x in xs)
        and len(shape) >= 3
        and not (len(shape) in (3, 4) and shape[0] == 1)
    )


def _on_rows(op: Callable[..., SSAValue], *xs: SSAValue) -> SSAValue:
    """An elementwise `op` on its operands viewed as rows [prod(leading), last], reshaped
    back: the same values in a form the accelerator takes."""
    shape = shape_of(xs[0])
    rows = (prod(shape[:-1]), shape[-1])
    return reshape(op(*(reshape(x, rows) for x in xs)), shape)


def _image(x: Val) -> bool:
    """Whether `x` is a run-time batch-1 float32 NCHW image."""
    xs = shape_of(x)
    return isinstance(x, SSAValue) and len(xs) == 4 and xs[0] == 1 and dtype_of(x) == np.float32


def _channel_vector(c: Val, x: Val) -> np.ndarray | None:
    """The per-channel values of a float constant `c` that broadcasts to the image `x` along
    its channels only (a scalar: the same value for every channel), else None."""
    if not isinstance(c, np.ndarray) or c.dtype != np.float32 or c.ndim > 4 or not _image(x):
        return None
    channels = shape_of(x)[1]
    cs = (1,) * (4 - c.ndim) + c.shape
    if cs[0] != 1 or cs[2:] != (1, 1) or cs[1] not in (1, channels):
        return None
    return np.broadcast_to(c.reshape(-1), (channels,)).copy()


def _affine(g: Importer, x: Val, scale: np.ndarray, shift: np.ndarray) -> SSAValue:
    """y[:, c] = scale[c] * x[:, c] + shift[c] as a 1x1 depthwise conv: the accelerator's
    per-channel multiply-add (a constant Mul/Add/Sub/Div, HardSigmoid)."""
    channels = len(scale)
    w = g.weight(scale.astype(np.float32).reshape(channels, 1, 1, 1), "scale")
    b = g.weight(shift.astype(np.float32), "shift")
    return dnn.Conv2dOp(g.value(x), w, b, group=channels).output


# (scale, shift) of `x op c` given c's per-channel values v; `swapped`: c op x. None: no affine.
_AFFINE: dict[str, Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray] | None]] = {
    "Add": lambda v, swapped: (np.ones_like(v), v),
    "Sub": lambda v, swapped: (-np.ones_like(v), v) if swapped else (np.ones_like(v), -v),
    "Mul": lambda v, swapped: (v, np.zeros_like(v)),
    "Div": lambda v, swapped: None if swapped else (1 / v, np.zeros_like(v)),
}


def _arithmetic(op_type: str, cls: type[Operation]) -> Callable[..., Any]:
    """An image and a per-channel (or scalar) constant: a 1x1 depthwise conv; otherwise the
    elementwise op (which broadcasts)."""

    def translate(g: Importer, a: Val, b: Val) -> Any:
        for x, c, swapped in ((a, b, False), (b, a, True)):
            v = _channel_vector(c, x)
            if v is not None and (params := _AFFINE[op_type](v, swapped)) is not None:
                return _affine(g, x, *params)
        if op_type in ("Add", "Mul") and _image(b) and shape_of(a) == (1, shape_of(b)[1], 1, 1):
            a, b = b, a  # the per-channel vector second: ELEW broadcasts its input b
        if _rows_only(a, b):
            return _on_rows(lambda u, v: cls(u, v).results[0], g.value(a), g.value(b))
        return cls(g.value(a), g.value(b))

    return translate


for _op_type, _cls in (
    ("Add", dnn.AddOp),
    ("Sub", dnn.SubOp),
    ("Mul", dnn.MulOp),
    ("Div", dnn.DivOp),
):
    OPS[_op_type] = _arithmetic(_op_type, _cls)


def _uniform(g: Importer, x: SSAValue, scale: float, shift: float) -> SSAValue:
    channels = shape_of(x)[1]
    return _affine(g, x, np.full(channels, scale), np.full(channels, shift))


@translator("HardSigmoid")
def _hard_sigmoid(g: Importer, x: Val, *, alpha: float = 0.2, beta: float = 0.5) -> Any:
    """PyTorch's hardsigmoid (alpha 1/6, beta 1/2) is `dnn.hardsigmoid`, ACT's lookup table;
    other slopes on an image first map x to 6 alpha x + 6 beta - 3 with a depthwise conv."""
    if abs(alpha - 1 / 6) < 1e-6 and abs(beta - 0.5) < 1e-6:
        return _unary(dnn.HardSigmoidOp)(g, x)
    if not _image(x):
        return g.host_node()
    return dnn.HardSigmoidOp(_uniform(g, g.value(x), 6 * alpha, 6 * beta - 3)).output


OPS["Relu"] = _unary(dnn.ReluOp)
OPS["Sigmoid"] = _unary(dnn.SigmoidOp)
OPS["Tanh"] = _unary(dnn.TanhOp)
OPS["HardSwish"] = _unary(dnn.HardSwishOp)


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
    return _on_rows(lambda rows: dnn.SoftmaxOp(rows, -1).output, v)


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
