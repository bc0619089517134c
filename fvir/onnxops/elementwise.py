"""Kernels of ONNX's elementwise ops: arithmetic, comparison, logic, math and activations.

Numpy broadcasting is ONNX's multidirectional broadcasting. Where numpy's and ONNX's results
differ, the kernel says how it follows ONNX (integer Div truncates, Pow keeps the base's type,
unary math keeps the input's type).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from fvir.onnxops.core import OPS, given, kernel

# ------------------------------------------------------------------------ arithmetic


def _binary(fn: Callable[[np.ndarray, np.ndarray], Any]) -> Callable[..., np.ndarray]:
    def run(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.asarray(fn(A, B))

    return run


def _variadic(fn: Callable[[np.ndarray, np.ndarray], Any]) -> Callable[..., np.ndarray]:
    """Max/Min/Sum: a binary numpy function folded over all inputs."""

    def run(*data_0: np.ndarray) -> np.ndarray:
        return np.asarray(functools.reduce(fn, data_0))

    return run


for _op_type, _fn in {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "MatMul": np.matmul,
    "Equal": np.equal,
    "Less": np.less,
    "LessOrEqual": np.less_equal,
    "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal,
    "And": np.logical_and,
    "Or": np.logical_or,
    "Xor": np.logical_xor,
}.items():
    OPS[_op_type] = _binary(_fn)

for _op_type, _fn in {"Max": np.maximum, "Min": np.minimum, "Sum": np.add}.items():
    OPS[_op_type] = _variadic(_fn)


@kernel("Mean")
def mean(*data_0: np.ndarray) -> np.ndarray:
    return (functools.reduce(np.add, data_0) / len(data_0)).astype(data_0[0].dtype)


@kernel("Div")
def div(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Integer division truncates toward zero (C, onnxruntime), computed exactly in integers:
    numpy's floor quotient, moved up by one where it is negative and inexact."""
    if A.dtype.kind in "iu":
        q = A // B
        if A.dtype.kind == "i":
            q = q + ((q < 0) & (q * B != A))
        return q.astype(A.dtype)
    return np.divide(A, B).astype(A.dtype)


@kernel("Mod")
def mod(A: np.ndarray, B: np.ndarray, *, fmod: int = 0) -> np.ndarray:
    """fmod=1 takes the dividend's sign (C fmod), fmod=0 the divisor's (Python %)."""
    out = np.fmod(A, B) if fmod else np.mod(A, B)
    return out.astype(A.dtype)


@kernel("Pow")
def pow_(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The result has the base's type, whatever the exponent's. An integer base is raised in
    float64 and truncated (onnxruntime's static_cast<T>(std::pow(x, y))), so negative and
    fractional exponents work as there."""
    if X.dtype.kind in "iub":
        return np.power(X.astype(np.float64), Y.astype(np.float64)).astype(X.dtype)
    return np.power(X, Y).astype(X.dtype)


# ------------------------------------------------------------------------------ unary


def _unary(fn: Callable[[np.ndarray], Any]) -> Callable[..., np.ndarray]:
    def run(X: np.ndarray) -> np.ndarray:
        return np.asarray(fn(X)).astype(X.dtype, copy=False)

    return run


def _erf(x: np.ndarray) -> np.ndarray:
    # math.erf is exact to double precision; host ops are not on any hot path.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


for _op_type, _fn in {
    "Exp": np.exp,
    "Log": np.log,
    "Sqrt": np.sqrt,
    "Abs": np.abs,
    "Neg": np.negative,
    "Reciprocal": np.reciprocal,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Sign": np.sign,
    "Sin": np.sin,
    "Cos": np.cos,
    "Erf": _erf,
    "Relu": lambda x: np.maximum(x, 0),
    "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "Tanh": np.tanh,
    "Softplus": lambda x: np.logaddexp(0, x),  # log(exp(x) + 1), without overflow
    "Softsign": lambda x: x / (1 + np.abs(x)),
    "Not": np.logical_not,
}.items():
    OPS[_op_type] = _unary(_fn)


# ------------------------------------------------------------------------ activations


@kernel("HardSigmoid")
def hard_sigmoid(X: np.ndarray, *, alpha: float = 0.2, beta: float = 0.5) -> np.ndarray:
    return np.clip(alpha * X + beta, 0, 1).astype(X.dtype)


@kernel("HardSwish")
def hard_swish(X: np.ndarray) -> np.ndarray:
    """x * HardSigmoid(x) with alpha 1/6 and beta 0.5 (ONNX fixes both)."""
    return (X * np.clip(X / 6 + 0.5, 0, 1)).astype(X.dtype)


@kernel("Elu")
def elu(X: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    return np.where(X > 0, X, alpha * (np.exp(X) - 1)).astype(X.dtype)


@kernel("Selu")
def selu(
    X: np.ndarray,
    *,
    alpha: float = 1.67326319217681884765625,
    gamma: float = 1.05070102214813232421875,
) -> np.ndarray:
    return (gamma * np.where(X > 0, X, alpha * (np.exp(X) - 1))).astype(X.dtype)


@kernel("LeakyRelu")
def leaky_relu(X: np.ndarray, *, alpha: float = 0.01) -> np.ndarray:
    return np.where(X >= 0, X, alpha * X).astype(X.dtype)


@kernel("ThresholdedRelu")
def thresholded_relu(X: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    return np.where(X > alpha, X, 0).astype(X.dtype)


@kernel("PRelu")
def prelu(X: np.ndarray, slope: np.ndarray) -> np.ndarray:
    return np.where(X >= 0, X, slope * X).astype(X.dtype)


@kernel("Gelu")
def gelu(X: np.ndarray, *, approximate: str = "none") -> np.ndarray:
    """Gelu (opset 20): exact (erf) or tanh approximation, computed in float64."""
    x = X.astype(np.float64)
    if approximate == "tanh":
        y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    return y.astype(X.dtype)


@kernel("Clip")
def clip(
    input: np.ndarray,
    min: Any = None,
    max: Any = None,
) -> np.ndarray:
    """Bounds from inputs (opset >= 11) or attributes (before); an absent bound does not clip
    (min > max gives max everywhere, as max is applied last)."""
    out = input
    if (lo := given(min)) is not None:
        out = np.maximum(out, lo.astype(input.dtype).reshape(()))
    if (hi := given(max)) is not None:
        out = np.minimum(out, hi.astype(input.dtype).reshape(()))
    return out
