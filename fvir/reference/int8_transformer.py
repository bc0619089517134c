"""int8 semantics of the transformer ops: matmul of two activations, Softmax, GELU, LayerNorm.

Part of the int8 oracle (`fvir.reference.int8` merges `OPS` into its table): each op is the
contract's definition (docs/quantization.md, "Transformers") applied to whole tensors, with
the integer kernels of `fvir.quant.nonlinear`; nothing here knows how the accelerator tiles.

1. matmul: the exact integer product (float64 BLAS, exact as in `int8`'s conv and dense),
   requantized by `shift`.
2. softmax and GELU: `softmax_rows` along the last axis, `i_gelu` elementwise.
3. layer_norm: the normalized axes flattened into one row axis, then `layernorm_rows` with
   epsilon on the row's variance grid (`layernorm_eps`).
"""

from __future__ import annotations

from math import prod

import numpy as np
from xdsl.ir import Operation, SSAValue

from fvir.ir import dnn
from fvir.quant.contract import requant
from fvir.quant.nonlinear import i_gelu, layernorm_eps, layernorm_rows, softmax_rows
from fvir.reference.values import OpImpl, Values


def _frac(value: SSAValue) -> int:
    frac = dnn.fixed_frac(value)
    assert frac is not None, "the verifier guarantees int8 fixed-point operands here"
    return frac


def _matmul(op: dnn.MatMulOp, v: Values) -> list[np.ndarray]:
    a, b = v(op.lhs).astype(np.float64), v(op.rhs).astype(np.float64)
    acc = np.matmul(a, b).astype(np.int64)  # exact integers (|products| <= 2**14)
    assert op.shift is not None
    return [requant(acc, op.shift.value.data)]


def _softmax(op: dnn.SoftmaxOp, v: Values) -> list[np.ndarray]:
    return [softmax_rows(v(op.input), _frac(op.input), _frac(op.output))]


def _gelu(op: dnn.GeluOp, v: Values) -> list[np.ndarray]:
    return [i_gelu(v(op.input), _frac(op.input), _frac(op.output))]


def _layer_norm(op: dnn.LayerNormOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    n = prod(op.normalized_shape())
    eps_q = layernorm_eps(op.epsilon.value.data, n, _frac(op.input))
    g = v(op.scale).reshape(n)
    b = np.zeros(n, np.int64) if op.bias is None else v(op.bias).reshape(n)
    assert op.shift is not None
    y = layernorm_rows(x.reshape(-1, n), eps_q, g, b, op.shift.value.data)
    return [y.reshape(x.shape)]


OPS: dict[type[Operation], OpImpl] = {
    dnn.MatMulOp: _matmul,
    dnn.SoftmaxOp: _softmax,
    dnn.GeluOp: _gelu,
    dnn.LayerNormOp: _layer_norm,
}
"""The integer implementation of the transformer ops on int8 fixed-point tensors."""
