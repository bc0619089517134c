"""Kernels of ONNX's shape, indexing, constant and type-conversion ops.

The shape functions (`reshape_shape`, `squeeze_shape`, ...) are ONNX's rules with the model's
mistakes as `OpError`s; the importer uses them to type the dnn ops it builds, so a shape is
computed one way whether the op is folded, run on the host or lowered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fvir.onnxops.core import (
    LIMITS,
    OpError,
    check_elements,
    dims,
    given,
    int_list,
    kernel,
    norm_axis,
    np_dtype,
)

# ------------------------------------------------------------------------ shape rules


def reshape_shape(shape: Sequence[int], spec: Sequence[int], allowzero: int = 0) -> tuple[int, ...]:
    """ONNX Reshape's target: 0 copies the input dim (unless allowzero), -1 is inferred."""
    out, infer = [], None
    for i, d in enumerate(int(d) for d in spec):
        if d == -1:
            if infer is not None:
                raise OpError(f"shape {list(spec)} has more than one -1")
            infer = i
            out.append(1)
        elif d == 0 and not allowzero:
            if i >= len(shape):
                raise OpError(f"shape {list(spec)} copies dim {i} of a rank-{len(shape)} input")
            out.append(shape[i])
        elif d < 0:
            raise OpError(f"shape {list(spec)} has a negative dim")
        else:
            out.append(d)
    total = math.prod(shape)
    if infer is not None:
        known = math.prod(out)
        if known == 0 or total % known:
            raise OpError(f"cannot reshape {dims(shape)} to {list(spec)}")
        out[infer] = total // known
    if math.prod(out) != total:
        raise OpError(f"cannot reshape {dims(shape)} to {list(spec)}")
    return tuple(out)


def squeeze_shape(shape: Sequence[int], axes: Sequence[int] | None) -> tuple[int, ...]:
    """Squeeze: drop the listed size-1 axes, or every size-1 axis."""
    if axes is None:
        return tuple(d for d in shape if d != 1)
    drop = {norm_axis(int(a), len(shape)) for a in axes}
    if any(shape[a] != 1 for a in drop):
        raise OpError(f"cannot squeeze axes {list(axes)} of shape {dims(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def unsqueeze_shape(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...]:
    """Unsqueeze: `axes` index the output (rank + len(axes)), negative from its end."""
    rank = len(shape) + len(axes)
    new = sorted(norm_axis(int(a), rank) for a in axes)
    if len(set(new)) != len(new):
        raise OpError(f"repeated axes {list(axes)}")
    out, rest = [], iter(shape)
    for i in range(rank):
        out.append(1 if i in new else next(rest))
    return tuple(out)


def flatten_shape(shape: Sequence[int], ax: int) -> tuple[int, int]:
    """Flatten: the dims before `ax` (in [-rank, rank]) and from `ax` on, each multiplied."""
    rank = len(shape)
    if not -rank <= ax <= rank:
        raise OpError(f"axis {ax} is out of range for rank {rank}")
    ax = ax + rank if ax < 0 else ax
    return math.prod(shape[:ax]), math.prod(shape[ax:])


def _slice_bounds(start: int, end: int, step: int, dim: int) -> slice:
    """One Slice axis: ONNX clamps start to [0, dim] (step > 0) or [0, dim-1] (step < 0), and
    end to [0, dim] or [-1, dim-1]; end == -1 with a negative step means "past index 0",
    which Python spells as None."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start = min(max(start, 0), dim - 1)
    end = min(max(end, -1), dim - 1)
    return slice(start, None if end == -1 else end, step)


def slices(
    shape: Sequence[int],
    starts: Sequence[int],
    ends: Sequence[int],
    axes: Sequence[int] | None = None,
    steps: Sequence[int] | None = None,
) -> tuple[list[int], list[slice]]:
    """ONNX Slice parameters as normalized axes and one Python slice per input axis."""
    axes = (
        list(range(len(starts))) if axes is None else [norm_axis(int(a), len(shape)) for a in axes]
    )
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise OpError("starts, ends, axes and steps differ in length")
    if len(set(axes)) != len(axes):
        raise OpError(f"repeated axes {axes}")
    if any(s == 0 for s in steps):
        raise OpError("slice steps must not be 0")
    per_axis = [slice(None)] * len(shape)
    for a, s, e, st in zip(axes, starts, ends, steps, strict=True):
        per_axis[a] = _slice_bounds(int(s), int(e), st, shape[a])
    return axes, per_axis


# ---------------------------------------------------------------------- constants


@kernel("Constant")
def constant(
    *,
    value: np.ndarray | None = None,
    value_float: float | None = None,
    value_floats: list[float] | None = None,
    value_int: int | None = None,
    value_ints: list[int] | None = None,
    value_string: str | None = None,
    value_strings: list[str] | None = None,
    sparse_value: Any = None,
) -> np.ndarray:
    if value is not None:
        return np.asarray(value)
    if value_float is not None:
        return np.array(value_float, np.float32)
    if value_floats is not None:
        return np.array(value_floats, np.float32)
    if value_int is not None:
        return np.array(value_int, np.int64)
    if value_ints is not None:
        return np.array(value_ints, np.int64)
    if value_string is not None or value_strings is not None:
        raise OpError("string constants are not supported")
    raise OpError("sparse or missing constant values are not supported")


@kernel("ConstantOfShape")
def constant_of_shape(input: np.ndarray, *, value: Any = None) -> np.ndarray:
    """The `value` attribute (a one-element tensor) defaults to float32 0."""
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value)
    if isinstance(value, float):  # a host op's attribute: ONNX float attributes are float32
        fill = np.float32(value)
    shape = int_list(input) or []
    check_elements(shape, "ConstantOfShape's result")
    return np.full(shape, fill.reshape(-1)[0], fill.dtype)


@kernel("Shape")
def shape(data: np.ndarray, *, start: int = 0, end: int | None = None) -> np.ndarray:
    """The dims of `data`, sliced [start:end] (opset 15; out-of-range ends clamp)."""
    return np.array(data.shape[start:end], np.int64)


@kernel("Size")
def size(data: np.ndarray) -> np.ndarray:
    return np.array(data.size, np.int64)


@kernel("Range")
def range_(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """max(ceil((limit - start) / delta), 0) elements start + i * delta, of start's type."""
    if delta.item() == 0:
        raise OpError("Range delta must not be 0")
    count = math.ceil((limit.item() - start.item()) / delta.item())
    check_elements([max(count, 0)], "Range's result")
    return np.arange(start.item(), limit.item(), delta.item()).astype(start.dtype)


# ------------------------------------------------------------------------- casts


@kernel("Cast")
def cast(input: np.ndarray, *, to: int, saturate: int = 1, round_mode: str = "up") -> np.ndarray:
    """C conversion: float -> int truncates toward zero, nonzero -> bool is true."""
    return input.astype(np_dtype(to))


@kernel("CastLike")
def cast_like(
    input: np.ndarray, target_type: np.ndarray, *, saturate: int = 1, round_mode: str = "up"
) -> np.ndarray:
    return input.astype(target_type.dtype)


# -------------------------------------------------------------------- reshaping


@kernel("Identity")
def identity(input: np.ndarray) -> np.ndarray:
    return input


@kernel("Dropout")
def dropout(
    data: np.ndarray,
    ratio: np.ndarray | None = None,
    training_mode: np.ndarray | None = None,
    *,
    seed: int = 0,
    is_test: int = 1,
    n_outputs: int = 1,
) -> list[np.ndarray]:
    """Inference: the identity, and a mask of ones. So is training mode with ratio 0; other
    training-mode dropouts draw random masks, which fvir does not do."""
    training, r = given(training_mode), given(ratio)
    if training is not None and bool(training.item()) and (r is None or r.item() != 0):
        raise OpError("training-mode Dropout (random masks) is not supported (export in eval mode)")
    return [data, np.ones(data.shape, np.bool_)][:n_outputs]


@kernel("Reshape")
def reshape(data: np.ndarray, shape: np.ndarray, *, allowzero: int = 0) -> np.ndarray:
    return data.reshape(reshape_shape(data.shape, int_list(shape) or [], allowzero))


@kernel("Flatten")
def flatten(input: np.ndarray, *, axis: int = 1) -> np.ndarray:
    return input.reshape(flatten_shape(input.shape, axis))


@kernel("Squeeze")
def squeeze(data: np.ndarray, axes: Any = None) -> np.ndarray:
    """Axes from the input (opset >= 13) or the attribute; none: every size-1 axis."""
    return data.reshape(squeeze_shape(data.shape, int_list(given(axes))))


@kernel("Unsqueeze")
def unsqueeze(data: np.ndarray, axes: Any = None) -> np.ndarray:
    ax = int_list(given(axes))
    if ax is None:
        raise OpError("missing input 'axes'")
    return data.reshape(unsqueeze_shape(data.shape, ax))


@kernel("Transpose")
def transpose(data: np.ndarray, *, perm: list[int] | None = None) -> np.ndarray:
    if perm is not None and sorted(perm) != list(range(data.ndim)):
        raise OpError(f"perm {perm} is not a permutation of {data.ndim} axes")
    return np.transpose(data, perm)


@kernel("Concat")
def concat(*inputs: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate(inputs, axis=axis)


@kernel("Slice")
def slice_(
    data: np.ndarray,
    starts: Any,
    ends: Any,
    axes: Any = None,
    steps: Any = None,
) -> np.ndarray:
    """starts/ends/axes/steps as inputs (opset >= 10) or attributes (opset 1)."""
    _, per_axis = slices(
        data.shape,
        int_list(starts) or [],
        int_list(ends) or [],
        int_list(given(axes)),
        int_list(given(steps)),
    )
    return np.ascontiguousarray(data[tuple(per_axis)])


@kernel("Split")
def split(
    input: np.ndarray,
    split: Any = None,
    *,
    axis: int = 0,
    num_outputs: int | None = None,
    n_outputs: int = 1,
) -> list[np.ndarray]:
    """Explicit sizes (input since opset 13, attribute before), else `num_outputs` (opset 18)
    or the node's output count: equal chunks, the last one smaller if uneven."""
    ax = norm_axis(axis, input.ndim)
    sizes = int_list(given(split))
    if sizes is None:
        n = num_outputs or n_outputs
        chunk = -(-input.shape[ax] // n)
        sizes = [min(chunk, input.shape[ax] - i * chunk) for i in range(n)]
    if sum(sizes) != input.shape[ax] or any(s < 0 for s in sizes):
        raise OpError(f"split sizes {sizes} do not add up to dim {input.shape[ax]}")
    offsets = np.cumsum([0, *sizes])
    return [
        np.take(input, np.arange(offsets[i], offsets[i + 1]), axis=ax) for i in range(len(sizes))
    ]


@kernel("Expand")
def expand(input: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Bidirectional broadcast of the input and `shape` (a 1 keeps the input's dim)."""
    try:
        target = np.broadcast_shapes(input.shape, tuple(int_list(shape) or []))
    except ValueError:
        raise OpError(f"cannot expand {dims(input.shape)} to {int_list(shape)}") from None
    check_elements(target, "Expand's result")
    return np.broadcast_to(input, target).copy()


@kernel("Tile")
def tile(input: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    reps = int_list(repeats) or []
    if len(reps) != input.ndim or any(r < 0 for r in reps):
        raise OpError(f"repeats {reps} do not fit a rank-{input.ndim} input")
    check_elements([d * r for d, r in zip(input.shape, reps, strict=True)], "Tile's result")
    return np.tile(input, reps)


@kernel("Gather")
def gather(data: np.ndarray, indices: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """np.take along `axis`; negative indices count from the end."""
    ax = norm_axis(axis, data.ndim)
    idx = indices.astype(np.int64)
    if idx.size and not (-data.shape[ax] <= idx.min() and idx.max() < data.shape[ax]):
        raise OpError(f"Gather indices out of range for dim {data.shape[ax]}")
    return np.take(data, idx, axis=ax)


@kernel("Where")
def where(condition: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.where(condition, X, Y)


# -------------------------------------------------------------------------------- Pad

_PAD_MODES = ("constant", "reflect", "edge", "wrap")


def _pad_limits(*, mode: str = "constant", **_: Any) -> str | None:
    return None if mode in _PAD_MODES else f"Pad mode '{mode}'"


LIMITS["Pad"] = _pad_limits


@kernel("Pad")
def pad(
    data: np.ndarray,
    pads: Any = None,
    constant_value: np.ndarray | None = None,
    axes: np.ndarray | None = None,
    *,
    mode: str = "constant",
    value: float = 0.0,
) -> np.ndarray:
    """pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (input since opset 11, attribute
    before), optional constant_value and axes (opset 18). Negative pads crop."""
    widths_in = int_list(pads)
    if widths_in is None:
        raise OpError("missing input 'pads'")
    fill = value if given(constant_value) is None else np.asarray(constant_value).item()
    ax = int_list(given(axes))
    ax = list(range(data.ndim)) if ax is None else [norm_axis(a, data.ndim) for a in ax]
    n = len(ax)
    if len(widths_in) != 2 * n:
        raise OpError(f"pads {widths_in} must have {2 * n} elements")
    widths = [[0, 0] for _ in range(data.ndim)]
    for i, a in enumerate(ax):
        widths[a] = [widths_in[i], widths_in[i + n]]
    # Crop first (negative pads), then pad with the non-negative widths.
    crop = tuple(slice(max(-b, 0), data.shape[d] - max(-e, 0)) for d, (b, e) in enumerate(widths))
    x = data[crop]
    np_widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    if mode == "constant":
        return np.pad(x, np_widths, mode="constant", constant_values=fill)
    return np.pad(x, np_widths, mode=mode)
