"""Kernels of ONNX's reductions: Reduce* and ArgMax/ArgMin.

Axes come from the attribute (older opsets) or the `axes` input (ReduceSum >= 13, the others
>= 18); no axes means all axes unless `noop_with_empty_axes` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fvir.onnxops.core import OPS, given, int_list, norm_axis


def _lowest(dtype: np.dtype) -> Any:
    """The smallest value of `dtype`: -inf for floats, False for bool."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _highest(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.inf
    return True if dtype.kind == "b" else np.iinfo(dtype).max


def _reduce(
    fn: Callable[..., np.ndarray], empty: Callable[[np.dtype], Any] | None = None
) -> Callable[..., np.ndarray]:
    """A Reduce* kernel. `empty` gives the result of reducing an empty set where numpy has no
    identity (ReduceMax-18: the lowest value of the type; ReduceMin: the highest)."""

    def run(
        data: np.ndarray,
        axes: Any = None,
        *,
        keepdims: int = 1,
        noop_with_empty_axes: int = 0,
    ) -> np.ndarray:
        ax = int_list(given(axes))
        if not ax:
            if noop_with_empty_axes:
                return data
            ax = list(range(data.ndim))
        axis = tuple(norm_axis(a, data.ndim) for a in ax) if data.ndim else None
        extra = {"initial": empty(data.dtype)} if empty is not None and data.size == 0 else {}
        out = fn(data, axis=axis, keepdims=bool(keepdims), **extra)
        return np.asarray(out).astype(data.dtype, copy=False)

    return run


OPS["ReduceMean"] = _reduce(np.mean)
OPS["ReduceSum"] = _reduce(np.sum)
OPS["ReduceMax"] = _reduce(np.max, _lowest)
OPS["ReduceMin"] = _reduce(np.min, _highest)
OPS["ReduceProd"] = _reduce(np.prod)


def _arg_reduce(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """ArgMax/ArgMin: int64 indices along `axis`; select_last_index picks the last tie."""

    def run(
        data: np.ndarray, *, axis: int = 0, keepdims: int = 1, select_last_index: int = 0
    ) -> np.ndarray:
        ax = norm_axis(axis, data.ndim)
        if select_last_index:
            idx = data.shape[ax] - 1 - fn(np.flip(data, axis=ax), axis=ax)
        else:
            idx = fn(data, axis=ax)
        if keepdims:
            idx = np.expand_dims(idx, ax)
        return np.asarray(idx, dtype=np.int64)

    return run


OPS["ArgMax"] = _arg_reduce(np.argmax)
OPS["ArgMin"] = _arg_reduce(np.argmin)
