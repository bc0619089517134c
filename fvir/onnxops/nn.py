"""Kernels of ONNX's neural-network ops without a dnn equivalent: the softmax family,
normalisations and Resize."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fvir.onnxops.core import LIMITS, OpError, given, int_list, kernel, norm_axis

# -------------------------------------------------------------------- softmax family


@kernel("Softmax")
def softmax(input: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Opset >= 13: along one axis, computed stably."""
    e = np.exp(input - np.max(input, axis=axis, keepdims=True))
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(input.dtype)


@kernel("LogSoftmax")
def log_softmax(input: np.ndarray, *, axis: int = -1) -> np.ndarray:
    shifted = input - np.max(input, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return (shifted - lse).astype(input.dtype)


@kernel("Hardmax")
def hardmax(input: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """1 at the first maximum of each slice along `axis` (np.argmax picks the first of ties,
    as ONNX does), 0 elsewhere."""
    ax = norm_axis(axis, input.ndim)
    out = np.zeros_like(input)
    if input.size:
        first = np.expand_dims(np.argmax(input, axis=ax), ax)
        np.put_along_axis(out, first, 1, axis=ax)
    return out


# -------------------------------------------------------------------- normalisation


@kernel("LRN")
def lrn(
    X: np.ndarray, *, size: int, alpha: float = 1e-4, beta: float = 0.75, bias: float = 1.0
) -> np.ndarray:
    """The window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)], clipped to
    the valid channels; y = x / (bias + alpha / size * sum(x^2))^beta."""
    lo, hi = (size - 1) // 2, math.ceil((size - 1) / 2)
    sq = np.square(X.astype(np.float32))
    # Zero-pad the channel axis so every window is a plain slice; the padding adds nothing.
    widths = [(0, 0)] * X.ndim
    widths[1] = (lo, hi)
    sq = np.pad(sq, widths)
    channels = X.shape[1]
    square_sum = sum(sq[:, k : k + channels] for k in range(size))
    return (X / (bias + alpha / size * square_sum) ** beta).astype(X.dtype)


@kernel("InstanceNormalization")
def instance_norm(
    input: np.ndarray, scale: np.ndarray, B: np.ndarray, *, epsilon: float = 1e-5
) -> np.ndarray:
    """Normalise each (n, c) over the spatial axes."""
    axes = tuple(range(2, input.ndim))
    mean = input.mean(axis=axes, keepdims=True)
    var = input.var(axis=axes, keepdims=True)
    bshape = (1, -1) + (1,) * (input.ndim - 2)
    y = scale.reshape(bshape) * (input - mean) / np.sqrt(var + epsilon) + B.reshape(bshape)
    return y.astype(input.dtype)


# --------------------------------------------------------------------------- Resize


def _source_coords(out_size: int, in_size: int, scale: float, mode: str) -> np.ndarray:
    """coordinate_transformation_mode: output index -> fractional input coordinate."""
    x = np.arange(out_size, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        # Centre the resized extent on the input extent (opset 19).
        adj = out_size / (scale * in_size)
        offset = in_size / 2 * (1 - adj)
        return offset + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_size > 1 else np.zeros_like(x)
    if mode == "align_corners":
        return x * (in_size - 1) / (out_size - 1) if out_size > 1 else np.zeros_like(x)
    assert mode == "asymmetric", mode  # `_resize_limits` admits no other
    return x / scale


def _nearest_index(coords: np.ndarray, mode: str, in_size: int) -> np.ndarray:
    """nearest_mode: fractional coordinate -> integer index, clamped to the input."""
    if mode == "round_prefer_floor":
        idx = np.where(coords - np.floor(coords) == 0.5, np.floor(coords), np.round(coords))
    elif mode == "round_prefer_ceil":
        idx = np.where(coords - np.floor(coords) == 0.5, np.ceil(coords), np.round(coords))
    elif mode == "floor":
        idx = np.floor(coords)
    else:
        idx = np.ceil(coords)
    return np.clip(idx, 0, in_size - 1).astype(np.int64)


_RESIZE_MODES = ("nearest", "linear")
_RESIZE_COORDINATES = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
)
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _resize_limits(
    *,
    mode: str = "nearest",
    coordinate_transformation_mode: str = "half_pixel",
    nearest_mode: str = "round_prefer_floor",
    antialias: int = 0,
    keep_aspect_ratio_policy: str = "stretch",
    **_: Any,
) -> str | None:
    if mode not in _RESIZE_MODES:
        return f"Resize mode '{mode}' (fvir has {', '.join(_RESIZE_MODES)})"
    if coordinate_transformation_mode not in _RESIZE_COORDINATES:
        return f"Resize coordinate_transformation_mode '{coordinate_transformation_mode}'"
    if mode == "nearest" and nearest_mode not in _NEAREST_MODES:
        return f"Resize nearest_mode '{nearest_mode}'"
    if antialias:
        return "Resize with antialias"
    if keep_aspect_ratio_policy != "stretch":
        return f"Resize keep_aspect_ratio_policy '{keep_aspect_ratio_policy}'"
    return None


LIMITS["Resize"] = _resize_limits


@kernel("Resize")
def resize(
    X: np.ndarray,
    roi: np.ndarray | None = None,
    scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
    *,
    antialias: int = 0,
    axes: list[int] | None = None,
    coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0,
    extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch",
    mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:
    """Opset >= 11 (X, roi, scales, sizes; Resize-10: X, scales) with mode nearest or linear.
    Linear is separable: interpolating axis by axis is n-linear interpolation; coordinates
    outside the input clamp to the edge (as the ONNX reference's edge padding does)."""
    scales_in, sizes_in = given(scales), given(sizes)
    if scales is None and sizes is None and roi is not None:  # Resize-10: (X, scales)
        scales_in = given(roi)
    ax = [norm_axis(a, X.ndim) for a in (axes or range(X.ndim))]
    out_shape = list(X.shape)
    factors = [1.0] * X.ndim
    if sizes_in is not None:
        for a, s in zip(ax, int_list(sizes_in) or [], strict=True):
            out_shape[a] = s
            factors[a] = s / X.shape[a]
    elif scales_in is not None:
        for a, s in zip(ax, scales_in.astype(np.float64).reshape(-1), strict=True):
            factors[a] = float(s)
            out_shape[a] = math.floor(X.shape[a] * float(s))
    else:
        raise OpError("Resize needs scales or sizes")
    out = X.astype(np.float64)
    for a in range(X.ndim):
        if out_shape[a] == X.shape[a] and factors[a] == 1.0:
            continue
        coords = _source_coords(
            out_shape[a], X.shape[a], factors[a], coordinate_transformation_mode
        )
        if mode == "nearest":
            out = np.take(out, _nearest_index(coords, nearest_mode, X.shape[a]), axis=a)
        else:
            coords = np.clip(coords, 0, X.shape[a] - 1)
            lo = np.floor(coords).astype(np.int64)
            hi = np.minimum(lo + 1, X.shape[a] - 1)
            bshape = [1] * X.ndim
            bshape[a] = -1
            frac = (coords - lo).reshape(bshape)
            out = np.take(out, lo, axis=a) * (1 - frac) + np.take(out, hi, axis=a) * frac
    return out.astype(X.dtype)
