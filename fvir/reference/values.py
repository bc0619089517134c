"""The reference executors' interpreter: SSA values as numpy arrays, checked against their types.

1. Bind the inputs (by position or ONNX name) to `@main`'s arguments, checking dtype and shape.
2. Run the ops in program order, each with the implementation the caller's table gives.
3. Cast every result to the element type its IR type declares and check its shape, so that an
   op implemented wrongly, or IR that lies about its types, fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue

from fvir.errors import UserError
from fvir.ir.functions import input_names, main_function
from fvir.ir.weights import WeightLookup, numpy_dtype


def tensor_type(value: SSAValue) -> TensorType:
    ty = value.type
    if not isinstance(ty, TensorType):
        raise TypeError(f"expected a ranked tensor value, got {ty}")
    return ty


def fits(shape: Sequence[int], declared: Sequence[int]) -> bool:
    """Does a concrete shape match a declared one (negative declared dims are dynamic)?"""
    return len(shape) == len(declared) and all(
        d < 0 or d == s for s, d in zip(shape, declared, strict=True)
    )


def fmt(shape: Sequence[int]) -> str:
    return "x".join("?" if d < 0 else str(d) for d in shape) or "scalar"


class Values:
    """The values computed so far, plus the weights."""

    def __init__(self, weights: WeightLookup):
        self.weights = weights
        self.values: dict[SSAValue, np.ndarray] = {}

    def __call__(self, value: SSAValue) -> np.ndarray:
        return self.values[value]

    def opt(self, value: SSAValue | None) -> np.ndarray | None:
        return None if value is None else self.values[value]


OpImpl = Callable[[Any, Values], list[np.ndarray]]


def bind_inputs(
    fn: func.FuncOp, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Inputs by position or by ONNX name, checked against the function's argument types."""
    args = fn.body.block.args
    names = input_names(fn) or [str(i) for i in range(len(args))]
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        unknown = [n for n in inputs if n not in names]
        if missing or unknown:
            raise UserError(
                f"inputs must be {names}; missing {missing}, unknown {unknown}"
                if unknown
                else f"missing model input(s) {missing}"
            )
        given = [inputs[n] for n in names]
    else:
        given = list(inputs)
        if len(given) != len(args):
            raise UserError(f"the model takes {len(args)} input(s), got {len(given)}")
    bound = []
    for name, arg, value in zip(names, args, given, strict=True):
        array = np.asarray(value)
        ty = tensor_type(arg)
        dtype = numpy_dtype(ty.get_element_type())
        if array.dtype != dtype:
            raise UserError(f"input '{name}' has dtype {array.dtype}, the model expects {dtype}")
        if not fits(array.shape, ty.get_shape()):
            raise UserError(
                f"input '{name}' has shape {fmt(array.shape)}, "
                f"the model expects {fmt(ty.get_shape())}"
            )
        bound.append(array)
    return bound


def store(op: Operation, results: list[np.ndarray], frame: Values) -> None:
    """Record an op's results, cast to their declared element types and checked against
    their declared shapes (a mismatch is a bug in the op's implementation or in the IR)."""
    if len(results) != len(op.results):
        raise RuntimeError(f"{op.name} produced {len(results)} results, expected {len(op.results)}")
    for value, array in zip(op.results, results, strict=True):
        ty = tensor_type(value)
        array = np.asarray(array)
        if not fits(array.shape, ty.get_shape()):
            raise RuntimeError(
                f"{op.name} produced shape {fmt(array.shape)}, "
                f"its type says {fmt(ty.get_shape())}"
            )
        frame.values[value] = array.astype(numpy_dtype(ty.get_element_type()), copy=False)


Observer = Callable[[SSAValue, np.ndarray], None]


def interpret(
    module: ModuleOp,
    weights: WeightLookup,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    impl: Callable[[Operation], OpImpl],
    *,
    observe: Observer | None = None,
) -> list[np.ndarray]:
    """Execute `@main` of a dnn module on `inputs` (by position, or a mapping by ONNX input
    name), running each op with `impl(op)`; returns the results in order. `weights` maps
    `dnn.weight` names to arrays.
    `observe(value, array)`, if given, sees every argument and op result once computed (the
    executor's own array: read it, do not modify it)."""
    fn = main_function(module)
    frame = Values(weights)
    for arg, array in zip(fn.body.block.args, bind_inputs(fn, inputs), strict=True):
        frame.values[arg] = array
        if observe is not None:
            observe(arg, array)
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return [np.array(frame(x)) for x in op.arguments]
        store(op, impl(op)(op, frame), frame)
        if observe is not None:
            for value in op.results:
                observe(value, frame(value))
    raise UserError("@main has no func.return")
