"""int8 mode of the reference executor: the integer semantics of docs/quantization.md.

This is the bit-exact oracle for quantized `dnn` IR. It is written from the contract
(docs/quantization.md) and the ISA's helper definitions (docs/isa.md: `rshift_round`, `sat8`,
`activate`, `requant`, the POOL average and the ACT lookup table) and from nothing else: no
tiling, no instruction streams, no knowledge of how the backend lowers an op. The executor
(`fvir.reference.executor`) dispatches here whenever an op has an int8 fixed-point operand or
result (`tensor<...xi8, #dnn.fixed<F>>`).

Integer arithmetic is done in int64, so nothing overflows before saturation. Convolutions and
matrix products multiply in float64 instead, because numpy's integer matmul does not use BLAS
and is two orders of magnitude slower. That is exact: every product of two int8 values has
magnitude at most 2**14, so a sum of n of them, and every partial sum in whatever order BLAS
adds them, is an integer of magnitude at most n * 2**14. float64 represents every integer up
to 2**53 exactly, so each addition is exact as long as n <= 2**39; a layer has at most a few
hundred thousand terms per output (and the int32 accumulator of the contract already bounds n
far below that). The float64 result is therefore the exact integer sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import WeightLookup
from fvir.quant.contract import (
    clip_bounds,
    dequantize,
    isa_act,
    lut,
    quantize,
    requant,
    rshift_round,
    sat8,
)
from fvir.reference import executor, int8_transformer
from fvir.reference.values import Observer, OpImpl, Values, interpret
from fvir.reference.windows import pad_hw, windows

# ----------------------------------------------------------------------------- op helpers


def _frac(value: SSAValue) -> int:
    frac = dnn.fixed_frac(value)
    assert frac is not None, "the verifier guarantees int8 fixed-point operands here"
    return frac


def _i64(v: Values, value: SSAValue) -> np.ndarray:
    return v(value).astype(np.int64)


def _real(v: Values, value: SSAValue, dtype: type = np.int64) -> np.ndarray:
    """q - Z of an int8 value: its codes on the zero-centred grid (value * 2**F)."""
    q = v(value).astype(dtype)
    zero = dnn.fixed_zero(value)
    return q - zero if zero else q


def _int(attr: IntegerAttr | None) -> int:
    """An optional integer property; absent shifts are 0."""
    return 0 if attr is None else attr.value.data


def _shifts(op: dnn.Conv2dOp | dnn.DenseOp) -> np.ndarray:
    assert op.shift is not None
    return np.array(dnn.ints(op.shift), dtype=np.int64)


def _scaled(op: dnn.Conv2dOp | dnn.DenseOp, acc: np.ndarray, axis: int) -> np.ndarray:
    """acc times the per-output-channel multipliers `mul` (along `axis`), when the op has
    them; int64 holds it (|acc| < 2**31, mul < 2**24)."""
    if op.mul is None:
        return acc
    shape = [1] * acc.ndim
    shape[axis] = -1
    return acc * np.array(dnn.ints(op.mul), dtype=np.int64).reshape(shape)


# --------------------------------------------------------------------------------- ops


def _quantize(op: dnn.QuantizeOp, v: Values) -> list[np.ndarray]:
    return [quantize(v(op.input), _frac(op.output), dnn.fixed_zero(op.output))]


def _dequantize(op: dnn.DequantizeOp, v: Values) -> list[np.ndarray]:
    return [dequantize(v(op.input), _frac(op.input), dnn.fixed_zero(op.input))]


def _conv2d(op: dnn.Conv2dOp, v: Values) -> list[np.ndarray]:
    """acc[n, o] = sum over the window of (x_q - Zx) * w_q (+ b_q[o]);
    y = requant(acc * mul[o], shift[o], act, Zy) (mul[o] = 1 without `mul`)."""
    x, w = _real(v, op.input, np.float64), v(op.weight).astype(np.float64)
    n, (o, cg, kh, kw), g = x.shape[0], w.shape, op.groups
    og = o // g
    oh, ow = dnn.shape_of(op.output)[2:]
    xp = pad_hw(x, dnn.ints(op.pads), 0)  # padding is the real 0
    acc = np.empty((n, o, oh, ow), dtype=np.float64)
    for gi in range(g):
        cols = windows(
            xp[:, gi * cg : (gi + 1) * cg],
            (kh, kw),
            dnn.ints(op.strides),
            dnn.ints(op.dilations),
            (oh, ow),
        ).reshape(n, cg * kh * kw, oh * ow)
        wg = w[gi * og : (gi + 1) * og].reshape(og, cg * kh * kw)
        acc[:, gi * og : (gi + 1) * og] = (wg @ cols).reshape(n, og, oh, ow)
    total = acc.astype(np.int64)  # exact integers (see the module docstring)
    if op.bias is not None:
        total += _i64(v, op.bias).reshape(1, -1, 1, 1)
    kind, arg = isa_act(op.act, _frac(op.output))
    return [requant(_scaled(op, total, 1), _shifts(op).reshape(1, -1, 1, 1), kind, arg,
                    dnn.fixed_zero(op.output))]


def _dense(op: dnn.DenseOp, v: Values) -> list[np.ndarray]:
    """acc[m, j] = sum_k (x_q[m, k] - Zx) * W_q[k, j] (+ b_q[j]); y = requant(acc * mul[j],
    shift[j], act, Zy)."""
    x, w = _real(v, op.input, np.float64), v(op.weight).astype(np.float64)
    if op.trans_b is not None:
        w = w.T
    total = (x @ w).astype(np.int64)  # exact integers
    if op.bias is not None:
        total += _i64(v, op.bias)
    kind, arg = isa_act(op.act, _frac(op.output))
    return [requant(_scaled(op, total, -1), _shifts(op), kind, arg, dnn.fixed_zero(op.output))]


def _add(op: dnn.AddOp, v: Values) -> list[np.ndarray]:
    """acc = ((a - Za) << shift_a) + ((b - Zb) << shift_b); y = requant(acc, shift, act, Zy)."""
    a = np.left_shift(_real(v, op.lhs), _int(op.shift_a))
    b = np.left_shift(_real(v, op.rhs), _int(op.shift_b))
    kind, arg = isa_act(op.act, _frac(op.output))
    return [requant(a + b, _int(op.shift), kind, arg, dnn.fixed_zero(op.output))]


def _mul(op: dnn.MulOp, v: Values) -> list[np.ndarray]:
    """acc = ((a - Za) << shift_a) * ((b - Zb) << shift_b); y = requant(acc, shift, Zy)."""
    a = np.left_shift(_real(v, op.lhs), _int(op.shift_a))
    b = np.left_shift(_real(v, op.rhs), _int(op.shift_b))
    return [requant(a * b, _int(op.shift), zp=dnn.fixed_zero(op.output))]


def _pool2d(op: dnn.Pool2dOp, v: Values) -> list[np.ndarray]:
    """max: the largest value of the window, padding never wins (input and result share one
    encoding); avg: the window sum of q - Zx with real-zero padding, times avg_mul,
    rshift_round by avg_shift, plus Zy, saturated."""
    kernel, strides = dnn.ints(op.kernel), dnn.ints(op.strides)
    dilations, (top, left, bottom, right) = dnn.ints(op.dilations), dnn.ints(op.pads)
    out_hw = dnn.shape_of(op.output)[2:]
    extra_h, extra_w = op.ceil_extension()
    pads = (top, left, bottom + extra_h, right + extra_w)
    if op.kind.data == dnn.PoolKind.MAX:
        # -129 is below every int8 value: a padded tap never wins.
        cols = windows(pad_hw(_i64(v, op.input), pads, -129), kernel, strides, dilations, out_hw)
        return [sat8(cols.max(axis=2))]
    sums = windows(pad_hw(_real(v, op.input), pads, 0), kernel, strides, dilations, out_hw)
    return [_average(op, sums.sum(axis=2))]


def _average(op: dnn.Pool2dOp | dnn.GlobalPoolOp, sums: np.ndarray) -> np.ndarray:
    mul, shift = _int(op.avg_mul), _int(op.avg_shift)
    return sat8(rshift_round(sums * mul, shift) + dnn.fixed_zero(op.output))


def _global_pool(op: dnn.GlobalPoolOp, v: Values) -> list[np.ndarray]:
    x = _i64(v, op.input)
    axes = tuple(range(2, x.ndim))
    if op.kind.data == dnn.PoolKind.MAX:
        return [sat8(x.max(axis=axes, keepdims=True))]
    return [_average(op, _real(v, op.input).sum(axis=axes, keepdims=True))]


def _sigmoid_f64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) -> inf gives the right limit 0
        return 1 / (1 + np.exp(-x))


def _hardswish_f64(x: np.ndarray) -> np.ndarray:
    return x * np.minimum(np.maximum(x + 3, 0), 6) / 6


def _silu_f64(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid_f64(x)


def _hardsigmoid_f64(x: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(x + 3, 0), 6) / 6


def _lookup(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any, Values], list[np.ndarray]]:
    def impl(op: dnn.SigmoidOp | dnn.TanhOp, v: Values) -> list[np.ndarray]:
        table = lut(fn, _frac(op.input), _frac(op.output), dnn.fixed_zero(op.input),
                    dnn.fixed_zero(op.output))
        return [table[v(op.input).astype(np.int64) + 128]]

    return impl


def _relu(op: dnn.ReluOp, v: Values) -> list[np.ndarray]:
    return [np.maximum(v(op.input), np.int8(dnn.fixed_zero(op.input)))]


def _clip(op: dnn.ClipOp, v: Values) -> list[np.ndarray]:
    lo, hi = clip_bounds(op.lo.value.data, op.hi.value.data, _frac(op.input),
                         dnn.fixed_zero(op.input))
    return [np.clip(v(op.input), lo, hi).astype(np.int8)]


def _checked(impl: Callable[[Any, Values], list[np.ndarray]]) -> OpImpl:
    """Every int8 fixed-point result must come out as int8: the executor's cast to the
    declared type would otherwise wrap an unsaturated value silently."""

    def run(op: Operation, v: Values) -> list[np.ndarray]:
        results = impl(op, v)
        for value, array in zip(op.results, results, strict=True):
            if dnn.fixed_frac(value) is not None and np.asarray(array).dtype != np.int8:
                raise RuntimeError(f"int8 {op.name} produced {np.asarray(array).dtype}")
        return results

    return run


# Layout ops move int8 values without arithmetic: the float implementations are exact on them.
_EXACT_LAYOUT = (dnn.ConcatOp, dnn.ReshapeOp, dnn.FlattenOp, dnn.TransposeOp)

INT8_OPS: dict[type[Operation], OpImpl] = {
    dnn.QuantizeOp: _checked(_quantize),
    dnn.DequantizeOp: _checked(_dequantize),
    dnn.RequantizeOp: _checked(_lookup(lambda x: x)),
    dnn.Conv2dOp: _checked(_conv2d),
    dnn.DenseOp: _checked(_dense),
    dnn.AddOp: _checked(_add),
    dnn.MulOp: _checked(_mul),
    dnn.Pool2dOp: _checked(_pool2d),
    dnn.GlobalPoolOp: _checked(_global_pool),
    dnn.SigmoidOp: _checked(_lookup(_sigmoid_f64)),
    dnn.TanhOp: _checked(_lookup(np.tanh)),
    dnn.HardSwishOp: _checked(_lookup(_hardswish_f64)),
    dnn.HardSigmoidOp: _checked(_lookup(_hardsigmoid_f64)),
    dnn.SiluOp: _checked(_lookup(_silu_f64)),
    dnn.ReluOp: _checked(_relu),
    dnn.ClipOp: _checked(_clip),
    **{cls: _checked(executor.OPS[cls]) for cls in _EXACT_LAYOUT},
    **{cls: _checked(impl) for cls, impl in int8_transformer.OPS.items()},
}
"""The integer implementation of every op that has an int8 fixed-point form."""



def _impl(op: Operation) -> OpImpl:
    """Integer semantics for an op that touches int8 fixed-point tensors, else the float one."""
    if not dnn.is_fixed_op(op):
        return executor._float_impl(op)
    impl = INT8_OPS.get(type(op))
    if impl is None:
        raise UserError(f"the reference executor cannot run '{op.name}' on int8 fixed-point")
    return impl


def run(
    module: ModuleOp,
    weights: WeightLookup,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    *,
    observe: Observer | None = None,
) -> list[np.ndarray]:
    """Execute `@main` of a dnn module, quantized or not (see `values.interpret`)."""
    return interpret(module, weights, inputs, _impl, observe=observe)


def run_host(module: ModuleOp, inputs: Sequence[np.ndarray],
             weights: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """The simulated host's interpreter of host layers (`fvir.backend.host.HostInterpreter`):
    `run` on the weights the package carries for its host layers."""
    return run(module, weights, inputs)
