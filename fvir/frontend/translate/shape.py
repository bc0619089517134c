"""Translators of pass-through, shape and indexing ops: what is static becomes a constant or a
dnn reshape/transpose/concat, the rest runs on the host with its ONNX kernel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.ir import SSAValue

from fvir import onnxops
from fvir.errors import UserError
from fvir.frontend.translate.registry import translator
from fvir.frontend.values import Val, dtype_of, reshape, shape_of
from fvir.ir import dnn
from fvir.onnxops.shape import (
    flatten_shape,
    reshape_shape,
    slices,
    squeeze_shape,
    unsqueeze_shape,
)

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer


def _stand_in(x: Val) -> np.ndarray:
    """An array with `x`'s shape and type and no storage, for kernels that read only those."""
    return np.broadcast_to(np.zeros((), dtype_of(x)), shape_of(x))


@translator("Identity")
def _identity(g: Importer, x: Val) -> Val:
    return x


@translator("Dropout")
def _dropout(
    g: Importer,
    x: Val,
    ratio: Any = None,
    training_mode: Any = None,
    *,
    seed: int = 0,
    is_test: int = 1,
) -> tuple[Val, Val | None]:
    # The kernel decides on the constant ratio and mode; the output is the input.
    consts = [g.const(v, n) for v, n in ((ratio, "ratio"), (training_mode, "training_mode"))]
    onnxops.call("Dropout", [_stand_in(x), *consts], {"seed": seed, "is_test": is_test})
    return x, np.ones(shape_of(x), np.bool_) if g.used(1) else None


@translator("Shape")
def _shape(g: Importer, x: Val, *, start: int = 0, end: int | None = None) -> np.ndarray:
    return onnxops.call("Shape", [_stand_in(x)], {"start": start, "end": end})[0]


@translator("Size")
def _size(g: Importer, x: Val) -> np.ndarray:
    return onnxops.call("Size", [_stand_in(x)], {})[0]


@translator("Cast")
def _cast(g: Importer, x: Val, *, to: int, saturate: int = 1, round_mode: str = "up") -> Any:
    if onnxops.np_dtype(to) == dtype_of(x):
        return x
    return g.host_node()


@translator("Reshape")
def _reshape(g: Importer, data: Val, shape: Val, *, allowzero: int = 0) -> SSAValue:
    spec = g.ints(shape, "shape")
    assert spec is not None
    return reshape(g.value(data), reshape_shape(shape_of(data), spec, allowzero))


@translator("Flatten")
def _flatten(g: Importer, x: Val, *, axis: int = 1) -> SSAValue:
    if flatten_shape(shape_of(x), axis) == shape_of(x):
        return g.value(x)
    return dnn.FlattenOp(g.value(x), axis).output


@translator("Squeeze")
def _squeeze(g: Importer, x: Val, axes: Any = None) -> SSAValue:
    return reshape(g.value(x), squeeze_shape(shape_of(x), g.ints(axes, "axes")))


@translator("Unsqueeze")
def _unsqueeze(g: Importer, x: Val, axes: Any = None) -> SSAValue:
    return reshape(g.value(x), unsqueeze_shape(shape_of(x), g.ints(axes, "axes") or []))


@translator("Transpose")
def _transpose(g: Importer, x: Val, *, perm: list[int] | None = None) -> SSAValue:
    rank = len(shape_of(x))
    perm = list(reversed(range(rank))) if perm is None else perm
    if sorted(perm) != list(range(rank)):
        raise UserError(f"Transpose perm {perm} is not a permutation of the input's {rank} axes")
    if perm == list(range(rank)):
        return g.value(x)
    return dnn.TransposeOp(g.value(x), perm).output


@translator("Concat")
def _concat(g: Importer, *inputs: Val, axis: int) -> dnn.ConcatOp:
    return dnn.ConcatOp([g.value(v) for v in inputs], axis)


@translator("Slice")
def _slice(
    g: Importer, data: Val, starts: Any, ends: Any, axes: Any = None, steps: Any = None
) -> Any:
    shape = shape_of(data)
    starts_, ends_ = g.ints(starts, "starts") or [], g.ints(ends, "ends") or []
    axes_, per_axis = slices(shape, starts_, ends_, g.ints(axes, "axes"), g.ints(steps, "steps"))
    if all(range(d)[s] == range(d) for d, s in zip(shape, per_axis, strict=True)):
        return data
    steps_ = [per_axis[a].step for a in axes_]
    params = [np.array(p, np.int64) for p in (starts_, ends_, axes_, steps_)]
    return g.host("Slice", [data, *params], {})


@translator("Gather")
def _gather(g: Importer, data: Val, indices: Val, *, axis: int = 0) -> Any:
    return g.host_node()
