"""Kernels of ONNX's neural-network ops without a dnn equivalent: the softmax family,
normalisations, ConvTranspose and Resize."""

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


@kernel("LayerNormalization")
def layer_norm(
    X: np.ndarray,
    Scale: np.ndarray,
    B: np.ndarray | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
    n_outputs: int = 1,
) -> list[np.ndarray]:
    """Normalise over the axes from `axis` to the last (opset 17), in float64 (stash_type
    asks for at least float32); Mean and InvStdDev keep X's rank with ones on those axes."""
    ax = norm_axis(axis, X.ndim)
    axes = tuple(range(ax, X.ndim))
    x = X.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(np.square(x - mean).mean(axis=axes, keepdims=True) + epsilon)
    y = (x - mean) * inv_std * Scale
    if (b := given(B)) is not None:
        y = y + b
    stash = np.float32 if stash_type == 1 else X.dtype
    outs = [y.astype(X.dtype), mean.astype(stash), inv_std.astype(stash)]
    return outs[:n_outputs]


# ---------------------------------------------------------------------- ConvTranspose


def _conv_transpose_pads(
    in_shape: tuple[int, ...],
    full: list[int],
    strides: list[int],
    auto_pad: str,
    pads: list[int] | None,
    output_shape: list[int] | None,
) -> tuple[list[int], list[int]]:
    """(begin pads, output shape) of a ConvTranspose whose unpadded output is `full` long per
    axis, as ONNX defines them (and onnxruntime computes): explicit pads, or, when an output
    shape is given (default under SAME_*: input x stride), pads splitting the difference,
    the odd one at the start unless SAME_UPPER."""
    n = len(full)
    if output_shape is None and auto_pad in ("NOTSET", "", "VALID"):
        pads = pads if auto_pad != "VALID" and pads else [0] * 2 * n
        return pads[:n], [f - pads[i] - pads[i + n] for i, f in enumerate(full)]
    target = output_shape or [d * s for d, s in zip(in_shape, strides, strict=True)]
    total = [f - t for f, t in zip(full, target, strict=True)]
    if auto_pad == "SAME_UPPER":
        return [t // 2 for t in total], target
    return [t - t // 2 for t in total], target


@kernel("ConvTranspose")
def conv_transpose(
    X: np.ndarray,
    W: np.ndarray,
    B: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    output_padding: list[int] | None = None,
    output_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """The gradient of Conv: every input pixel i scatters W[c, o, k] * x[c, i] to output
    position i * stride + k * dilation - pad_begin (any rank, groups, output_padding, output
    shape). Algorithm: one GEMM per group over input channels gives every (o, k, i) product;
    each kernel offset k is then added at once into a strided view of the unpadded output,
    which is cropped (or zero-extended) to the output shape."""
    n = X.ndim - 2
    if W.ndim != X.ndim or X.shape[1] != W.shape[0] or X.shape[1] % group:
        raise OpError(
            f"weight of shape {list(W.shape)} does not fit input {list(X.shape)} with group {group}"
        )
    kernel = list(W.shape[2:])
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    out_pad = (output_padding or [0] * n)[:n]
    in_shape = X.shape[2:]
    full = [
        s * (d - 1) + op + (k - 1) * dl + 1
        for d, s, op, k, dl in zip(in_shape, strides, out_pad, kernel, dilations, strict=True)
    ]
    begin, out_shape = _conv_transpose_pads(
        in_shape, full, strides, auto_pad, pads, output_shape and list(output_shape[-n:])
    )
    batch, cin = X.shape[:2]
    cout_g = W.shape[1]
    cin_g = cin // group
    # The unpadded output, with room for negative begin pads and a longer output shape.
    lo = [max(-b, 0) for b in begin]
    size = [max(f, b + o) + lo_ for f, b, o, lo_ in zip(full, begin, out_shape, lo, strict=True)]
    acc = np.zeros((batch, group * cout_g, *size), np.float64)
    x = X.astype(np.float64).reshape(batch, group, cin_g, -1)
    w = W.astype(np.float64).reshape(group, cin_g, cout_g, -1)
    # cols[b, g, o, k, i] = sum_c x[b, g, c, i] * w[g, c, o, k]
    cols = np.einsum("bgci,gcok->bgoki", x, w).reshape(
        batch, group * cout_g, math.prod(kernel), *in_shape
    )
    for k, offset in enumerate(np.ndindex(*kernel)):
        window = tuple(
            slice(m + o * dl, m + o * dl + s * (d - 1) + 1, s)
            for m, o, dl, s, d in zip(lo, offset, dilations, strides, in_shape, strict=True)
        )
        acc[(slice(None), slice(None), *window)] += cols[:, :, k]
    crop = tuple(slice(m + b, m + b + o) for m, b, o in zip(lo, begin, out_shape, strict=True))
    y = acc[(slice(None), slice(None), *crop)]
    if (b := given(B)) is not None:
        y = y + b.reshape((-1,) + (1,) * n)
    return y.astype(X.dtype)


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
