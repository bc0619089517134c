"""The table of ONNX op kernels and the one way to call them.

A kernel is `fn(*inputs, **attributes) -> array | sequence of arrays`: the node's inputs
positionally in ONNX order (an absent optional input is None, or an empty tensor where a later
input keeps its position), its attributes as typed keyword arguments with ONNX's defaults. An
attribute that later opsets turned into an input has the input's parameter name, so both forms
bind to it. A kernel that needs the node's output count (Split, Dropout) declares the reserved
keyword `n_outputs` (no ONNX attribute has that name).

`call` checks the node against the kernel's signature (unknown attribute, missing required
input or attribute, too many inputs: `OpError`), runs it, and returns a list of arrays.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fvir.errors import UserError

Kernel = Callable[..., Any]

OPS: dict[str, Kernel] = {}
"""ONNX op type (default domain) -> numpy kernel."""

N_OUTPUTS = "n_outputs"
"""The reserved keyword through which a kernel receives the node's output count."""


MAX_ELEMENTS = 1 << 31
"""The largest tensor (in elements) a kernel creates from shape data (ConstantOfShape, Expand,
Tile, Range) and the importer types: 8 GiB of float32, beyond any model fvir targets and what
numpy can allocate on a usual host."""


class OpError(UserError):
    """A node or constant the ONNX semantics (or fvir's implementation of them) rejects."""


def kernel(*op_types: str) -> Callable[[Kernel], Kernel]:
    """Register a kernel under one or more ONNX op types."""

    def register(fn: Kernel) -> Kernel:
        for op_type in op_types:
            assert op_type not in OPS, f"two kernels for {op_type}"
            OPS[op_type] = fn
        return fn

    return register


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def check_call(
    fn: Callable[..., Any],
    inputs: Sequence[object | None],
    attrs: dict[str, Any],
    skip: int = 0,
) -> None:
    """Raise `OpError` unless `fn(*inputs, **attrs)` binds as an ONNX node would: every
    attribute is a parameter, no more inputs than positional parameters, every required input
    and attribute given. `skip` leading parameters are not the node's (a translator's importer)."""
    params = list(_signature(fn).parameters.values())[skip:]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    names = {p.name for p in params if p.kind != p.VAR_POSITIONAL} - {N_OUTPUTS}
    for key in attrs:
        if key not in names:
            raise OpError(f"unsupported attribute '{key}'")
    if len(inputs) > len(positional) and not variadic:
        raise OpError(f"expected at most {len(positional)} inputs, got {len(inputs)}")
    for i, p in enumerate(positional):
        if p.default is p.empty and (i >= len(inputs) or inputs[i] is None) and p.name not in attrs:
            raise OpError(f"missing input '{p.name}'")
    for p in params:
        if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name not in attrs:
            if p.name != N_OUTPUTS:
                raise OpError(f"missing attribute '{p.name}'")


def takes_outputs(fn: Callable[..., Any]) -> bool:
    return N_OUTPUTS in _signature(fn).parameters


def results(out: Any) -> list[np.ndarray]:
    """A kernel's return value as a list of arrays (numpy scalars become 0-d arrays)."""
    if isinstance(out, np.ndarray | np.generic):
        return [np.asarray(out)]
    return [np.asarray(o) for o in out]


def call(
    op_type: str,
    inputs: Sequence[np.ndarray | None],
    attrs: dict[str, Any],
    n_outputs: int = 1,
) -> list[np.ndarray]:
    """Evaluate one ONNX node in numpy (ONNX semantics: inf/nan where IEEE gives them, no
    warnings)."""
    fn = OPS.get(op_type)
    if fn is None:
        raise OpError(f"ONNX op '{op_type}' has no numpy implementation in fvir")
    check_call(fn, inputs, attrs)
    if (reason := unsupported(op_type, attrs)) is not None:
        raise OpError(f"fvir does not support {reason}")
    extra = {N_OUTPUTS: n_outputs} if takes_outputs(fn) else {}
    with np.errstate(all="ignore"):
        return results(fn(*inputs, **attrs, **extra))


# ------------------------------------------------------------------------- helpers


LIMITS: dict[str, Callable[..., str | None]] = {}
"""ONNX op type -> fn(**attrs) saying what of those attributes its kernel does not implement
(a short description, or None when it runs them)."""


def unsupported(op_type: str, attrs: dict[str, Any]) -> str | None:
    """Why the kernel of `op_type` cannot run a node with these attributes, or None."""
    check = LIMITS.get(op_type)
    return None if check is None else check(**attrs)


def given(x: np.ndarray | None) -> np.ndarray | None:
    """An optional input: None when absent or empty (ONNX spells "not given" as an empty name
    and, in older opsets, as an empty tensor; a caller keeping a later input's position passes
    an empty tensor)."""
    if x is None or np.asarray(x).size == 0:
        return None
    return np.asarray(x)


def int_list(value: Any) -> list[int] | None:
    """An integer list from an attribute (list) or an input (tensor); None stays None."""
    if value is None:
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def norm_axis(a: int, rank: int) -> int:
    """`a` normalized to [0, rank), or an OpError."""
    if not -rank <= a < rank:
        raise OpError(f"axis {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def check_elements(shape: Sequence[int], what: str) -> None:
    """OpError unless `shape` has no negative dim and at most `MAX_ELEMENTS` elements."""
    if any(d < 0 for d in shape):
        raise OpError(f"{what} has a negative dim: {dims(shape)}")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise OpError(
            f"{what} would have {count} elements ({dims(shape)}); fvir handles tensors of up "
            f"to {MAX_ELEMENTS} elements"
        )


def dims(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) or "scalar"


DTYPES: dict[int, np.dtype] = {
    1: np.dtype(np.float32),
    2: np.dtype(np.uint8),
    3: np.dtype(np.int8),
    4: np.dtype(np.uint16),
    5: np.dtype(np.int16),
    6: np.dtype(np.int32),
    7: np.dtype(np.int64),
    9: np.dtype(np.bool_),
    10: np.dtype(np.float16),
    11: np.dtype(np.float64),
    12: np.dtype(np.uint32),
    13: np.dtype(np.uint64),
    14: np.dtype(np.complex64),
    15: np.dtype(np.complex128),
}
"""ONNX `TensorProto.DataType` -> numpy dtype, for the types numpy has (not STRING, BFLOAT16,
the float8/int4 families)."""


def np_dtype(onnx_type: int) -> np.dtype:
    """The numpy dtype of an ONNX element type, or an OpError."""
    try:
        return DTYPES[int(onnx_type)]
    except KeyError:
        raise OpError(f"unsupported ONNX element type {onnx_type}") from None
