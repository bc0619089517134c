"""Shared helpers of the quantization tests: IR construction, and independent Python-int
versions of the contract's integer primitives (docs/quantization.md, docs/isa.md), written
here again so the tests never take expected values from fvir's own implementation."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from fvir.ir import dnn


def module(
    arg_types: Sequence[Attribute],
    body: Callable[..., SSAValue | Operation | Sequence[SSAValue | Operation]],
) -> ModuleOp:
    """A verified module whose @main takes `arg_types` and returns what `body(*args)` builds."""
    block = Block(arg_types=arg_types)
    with ImplicitBuilder(block) as args:
        out = body(*args)
        results = [SSAValue.get(r) for r in (out if isinstance(out, list | tuple) else [out])]
        func.ReturnOp(*results)
    fn = func.FuncOp("main", (list(arg_types), [r.type for r in results]), Region(block))
    m = ModuleOp([fn])
    m.verify()
    return m


def fixed(shape: Sequence[int], frac: int) -> TensorType:
    return dnn.fixed_type(shape, frac)


def plain(shape: Sequence[int], element: Attribute) -> TensorType:
    return TensorType(element, list(shape))


# ------------------------------------------------- the contract's integers, in Python ints


def py_rshift_round(x: int, s: int) -> int:
    """(x + 2**(s-1)) >> s; Python's >> on ints is an arithmetic (floor) shift."""
    return (x + (1 << (s - 1))) >> s if s > 0 else x


def py_sat8(x: int) -> int:
    return max(-128, min(127, x))


def py_activate(y: int, kind: str, arg: int) -> int:
    if kind == "relu":
        return max(y, 0)
    if kind == "relu6":
        return min(max(y, 0), arg)
    if kind == "leaky":
        return y if y >= 0 else py_rshift_round(y * arg, 8)
    return y


def py_requant(acc: int, s: int, kind: str = "none", arg: int = 0) -> int:
    return py_sat8(py_activate(py_rshift_round(acc, s), kind, arg))


def py_round(x: float) -> int:
    return math.floor(x + 0.5)


def ints(a: np.ndarray) -> list:
    """A numpy array as nested Python ints."""
    return np.asarray(a).astype(np.int64).tolist()
