"""Numpy semantics of the ONNX operators that run on the host (`dnn.host "<OpType>"`).

The importer turns an ONNX node without a `dnn` equivalent into `dnn.host` when its op type is
a key of `HOST_OPS`; the reference executor and the runtime's host segments then execute it
with the function here. One table, so "what may be a host op" and "how a host op computes"
cannot disagree.

Each entry is `fn(inputs, attrs) -> outputs`: `inputs` are the node's inputs in ONNX order
(trailing optional inputs may be absent), `attrs` its ONNX attributes as Python values
(`HostOp.python_attrs()`); missing attributes take their ONNX defaults. Callers that know the
node's output count pass it as `attrs[NUM_OUTPUTS]` (Split without `split`/`num_outputs`
needs it; Dropout uses it for its optional mask). Semantics follow the ONNX operator docs
(https://onnx.ai/onnx/operators/) at the latest opset; where an attribute became an input in a
later opset (axes, pads, split, ...) both forms are accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

HostFn = Callable[[list[np.ndarray], dict[str, Any]], list[np.ndarray]]

NUM_OUTPUTS = "_num_outputs"
"""Reserved key in `attrs`: the number of results of the node (set by the caller)."""


def _opt(inputs: Sequence[np.ndarray], i: int) -> np.ndarray | None:
    """Optional input `i`: None when absent or empty. ONNX spells "not given" as an empty
    input name, and older opsets as an empty tensor (Resize scales); a caller that must keep
    the position of a later input passes an empty tensor for an omitted one."""
    if len(inputs) <= i or inputs[i] is None or np.asarray(inputs[i]).size == 0:
        return None
    return inputs[i]


def _int_list(value: Any) -> list[int] | None:
    if value is None:
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _axes(
    inputs: Sequence[np.ndarray], attrs: dict[str, Any], input_index: int
) -> list[int] | None:
    """`axes` from the input (newer opsets) or the attribute (older opsets)."""
    from_input = _opt(inputs, input_index)
    if from_input is not None:
        return _int_list(from_input)
    return _int_list(attrs.get("axes"))


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> HostFn:
    def run(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
        x = inputs[0]
        return [np.asarray(fn(x)).astype(x.dtype, copy=False)]

    return run


def _variadic(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> HostFn:
    """Max/Min/Sum/Mean-style ops: fold a binary numpy function over all inputs."""

    def run(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
        out = inputs[0]
        for x in inputs[1:]:
            out = fn(out, x)
        return [np.asarray(out)]

    return run


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> HostFn:
    def run(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
        return [np.asarray(fn(inputs[0], inputs[1]))]

    return run


# ------------------------------------------------------------------------ normalisation


def lrn(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """LRN: the window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)],
    clipped to the valid channels; y = x / (bias + alpha / size * sum(x^2))^beta."""
    x = inputs[0]
    size = int(attrs["size"])
    alpha = float(attrs.get("alpha", 1e-4))
    beta = float(attrs.get("beta", 0.75))
    bias = float(attrs.get("bias", 1.0))
    lo, hi = (size - 1) // 2, math.ceil((size - 1) / 2)
    sq = np.square(x.astype(np.float32))
    # Zero-pad the channel axis so every window is a plain slice; the padding adds nothing.
    pad = [(0, 0)] * x.ndim
    pad[1] = (lo, hi)
    sq = np.pad(sq, pad)
    channels = x.shape[1]
    square_sum = sum(sq[:, k : k + channels] for k in range(size))
    return [(x / (bias + alpha / size * square_sum) ** beta).astype(x.dtype)]


def log_softmax(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """LogSoftmax (opset >= 13: along one axis, default -1), computed stably."""
    x = inputs[0]
    axis = int(attrs.get("axis", -1))
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return [(shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))).astype(x.dtype)]


def hardmax(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Hardmax (opset >= 13: along one axis, default -1): 1 at the first maximum of each
    slice along `axis` (np.argmax picks the first of ties, as ONNX does), 0 elsewhere."""
    x = inputs[0]
    axis = int(attrs.get("axis", -1)) % x.ndim
    out = np.zeros_like(x)
    if x.size:
        first = np.expand_dims(np.argmax(x, axis=axis), axis)
        np.put_along_axis(out, first, 1, axis=axis)
    return [out]


def softmax(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Softmax (opset >= 13: along one axis, default -1), computed stably."""
    x = inputs[0]
    axis = int(attrs.get("axis", -1))
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return [(e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype)]


def instance_norm(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """InstanceNormalization: normalise each (n, c) over the spatial axes."""
    x, scale, bias = inputs
    eps = float(attrs.get("epsilon", 1e-5))
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    bshape = (1, -1) + (1,) * (x.ndim - 2)
    y = scale.reshape(bshape) * (x - mean) / np.sqrt(var + eps) + bias.reshape(bshape)
    return [y.astype(x.dtype)]


# ---------------------------------------------------------------------------- reductions


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
    fn: Callable[..., np.ndarray],
    axes_input: int,
    empty: Callable[[np.dtype], Any] | None = None,
) -> HostFn:
    """Reduce*: axes from the attribute (old opsets) or input `axes_input` (ReduceSum >= 13,
    the others >= 18); no axes means all axes unless noop_with_empty_axes is set. `empty`
    gives the result of reducing an empty set where numpy has no identity (ReduceMax-18:
    the lowest value of the type, -inf for floats; ReduceMin: the highest)."""

    def run(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
        x = inputs[0]
        axes = _axes(inputs, attrs, axes_input)
        keepdims = bool(attrs.get("keepdims", 1))
        if not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        axis = tuple(a % x.ndim for a in axes) if x.ndim else None
        extra = {"initial": empty(x.dtype)} if empty is not None and x.size == 0 else {}
        out = fn(x, axis=axis, keepdims=keepdims, **extra)
        return [np.asarray(out).astype(x.dtype, copy=False)]

    return run


def _arg_reduce(fn: Callable[..., np.ndarray]) -> HostFn:
    """ArgMax/ArgMin: int64 indices along `axis`; select_last_index picks the last tie."""

    def run(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
        x = inputs[0]
        axis = int(attrs.get("axis", 0)) % x.ndim
        keepdims = bool(attrs.get("keepdims", 1))
        if attrs.get("select_last_index", 0):
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - fn(flipped, axis=axis)
        else:
            idx = fn(x, axis=axis)
        if keepdims:
            idx = np.expand_dims(idx, axis)
        return [np.asarray(idx, dtype=np.int64)]

    return run


# --------------------------------------------------------------------------- shape ops


_PAD_MODES = ("constant", "reflect", "edge", "wrap")


def _pad_limits(attrs: dict[str, Any]) -> str | None:
    mode = str(attrs.get("mode", "constant"))
    return None if mode in _PAD_MODES else f"Pad mode '{mode}'"


def pad(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (input since opset 11,
    attribute before), optional constant_value and axes (opset 18) inputs. Negative pads
    crop. Modes constant, reflect, edge, wrap."""
    x = inputs[0]
    pads = _int_list(_opt(inputs, 1))
    if pads is None:
        pads = _int_list(attrs["pads"])
    assert pads is not None
    mode = str(attrs.get("mode", "constant"))
    value_in = _opt(inputs, 2)
    value = attrs.get("value", 0.0) if value_in is None or value_in.size == 0 else value_in.item()
    axes = _int_list(_opt(inputs, 3))
    if axes is None:
        axes = list(range(x.ndim))
    n = len(axes)
    widths = [[0, 0] for _ in range(x.ndim)]
    for i, axis in enumerate(axes):
        widths[axis % x.ndim] = [pads[i], pads[i + n]]
    # Crop first (negative pads), then pad with the non-negative widths.
    crop = tuple(slice(max(-b, 0), x.shape[d] - max(-e, 0)) for d, (b, e) in enumerate(widths))
    x = x[crop]
    np_widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    if mode == "constant":
        return [np.pad(x, np_widths, mode="constant", constant_values=value)]
    np_mode = {"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode]
    return [np.pad(x, np_widths, mode=np_mode)]


def _slice_bounds(start: int, end: int, step: int, dim: int) -> slice:
    """One Slice axis: ONNX clamps start to [0, dim] (step > 0) or [0, dim-1] (step < 0), and
    end to [0, dim] or [-1, dim-1]; end == -1 with a negative step means "past index 0",
    which Python spells as None."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
        return slice(start, end, step)
    start = min(max(start, 0), dim - 1)
    end = min(max(end, -1), dim - 1)
    return slice(start, None if end == -1 else end, step)


def slice_(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Slice: starts/ends/axes/steps as inputs (opset >= 10) or attributes (opset 1)."""
    x = inputs[0]
    if len(inputs) > 1:
        starts, ends = _int_list(inputs[1]), _int_list(inputs[2])
        axes, steps = _int_list(_opt(inputs, 3)), _int_list(_opt(inputs, 4))
    else:
        starts, ends = _int_list(attrs["starts"]), _int_list(attrs["ends"])
        axes, steps = _int_list(attrs.get("axes")), None
    assert starts is not None and ends is not None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        a %= x.ndim
        index[a] = _slice_bounds(s, e, st, x.shape[a])
    return [x[tuple(index)]]


def split(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Split: explicit sizes (input since opset 13, attribute before), else `num_outputs`
    (opset 18) or the node's output count; equal chunks, the last one smaller if uneven."""
    x = inputs[0]
    axis = int(attrs.get("axis", 0)) % x.ndim
    sizes = _int_list(_opt(inputs, 1))
    if sizes is None:
        sizes = _int_list(attrs.get("split"))
    if sizes is None:
        n = int(attrs.get("num_outputs", attrs.get(NUM_OUTPUTS, 1)))
        chunk = -(-x.shape[axis] // n)
        sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(n)]
    offsets = np.cumsum([0, *sizes])
    return [np.take(x, np.arange(offsets[i], offsets[i + 1]), axis=axis) for i in range(len(sizes))]


def squeeze(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Squeeze: axes input (opset >= 13) or attribute; none means every size-1 axis."""
    x = inputs[0]
    axes = _axes(inputs, attrs, 1)
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]


def unsqueeze(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Unsqueeze: axes index the OUTPUT (rank + len(axes)), negative counted from its end."""
    x = inputs[0]
    axes = _axes(inputs, attrs, 1)
    assert axes is not None
    rank = x.ndim + len(axes)
    out = x
    for a in sorted(a % rank for a in axes):
        out = np.expand_dims(out, a)
    return [out]


def reshape(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Reshape: 0 copies the input dimension (unless allowzero), -1 is inferred."""
    x, shape = inputs[0], _int_list(inputs[1])
    assert shape is not None
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def expand(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Expand: broadcast the input and the shape bidirectionally (a 1 in `shape` keeps
    the input's dimension)."""
    x, shape = inputs[0], _int_list(inputs[1])
    assert shape is not None
    out_shape = np.broadcast_shapes(x.shape, tuple(shape))
    return [np.broadcast_to(x, out_shape).copy()]


def tile(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [np.tile(inputs[0], _int_list(inputs[1]))]


def gather(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Gather: np.take along `axis`; negative indices count from the end (as in numpy)."""
    return [np.take(inputs[0], inputs[1].astype(np.int64), axis=int(attrs.get("axis", 0)))]


def shape(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Shape with the optional start/end slice (opset 15)."""
    dims = np.array(inputs[0].shape, dtype=np.int64)
    start = int(attrs.get("start", 0))
    end = attrs.get("end")
    return [dims[start : None if end is None else int(end)]]


def constant_of_shape(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """ConstantOfShape: the `value` attribute (a one-element tensor) defaults to float 0."""
    value = attrs.get("value", 0.0)
    fill = np.asarray(value).reshape(-1)[0] if not isinstance(value, float) else np.float32(value)
    return [np.full(_int_list(inputs[0]) or [], fill)]


def range_(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    start, limit, delta = inputs
    return [np.arange(start.item(), limit.item(), delta.item()).astype(start.dtype)]


def flatten(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    axis = int(attrs.get("axis", 1)) % (x.ndim + 1) if x.ndim else 0
    return [x.reshape(math.prod(x.shape[:axis]), -1)]


def transpose(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    perm = attrs.get("perm")
    return [np.transpose(inputs[0], perm)]


def concat(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [np.concatenate(inputs, axis=int(attrs["axis"]))]


# ------------------------------------------------------------------------------ resize


def _source_coords(out_size: int, in_size: int, scale: float, mode: str) -> np.ndarray:
    """Resize coordinate_transformation_mode: output index -> fractional input coordinate."""
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
    if mode == "asymmetric":
        return x / scale
    raise NotImplementedError(f"Resize coordinate_transformation_mode '{mode}'")


def _nearest_index(coords: np.ndarray, mode: str, in_size: int) -> np.ndarray:
    """Resize nearest_mode: fractional coordinate -> integer index, clamped to the input."""
    if mode == "round_prefer_floor":
        idx = np.where(coords - np.floor(coords) == 0.5, np.floor(coords), np.round(coords))
    elif mode == "round_prefer_ceil":
        idx = np.where(coords - np.floor(coords) == 0.5, np.ceil(coords), np.round(coords))
    elif mode == "floor":
        idx = np.floor(coords)
    elif mode == "ceil":
        idx = np.ceil(coords)
    else:
        raise NotImplementedError(f"Resize nearest_mode '{mode}'")
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


def _resize_limits(attrs: dict[str, Any]) -> str | None:
    mode = str(attrs.get("mode", "nearest"))
    coords = str(attrs.get("coordinate_transformation_mode", "half_pixel"))
    nearest = str(attrs.get("nearest_mode", "round_prefer_floor"))
    if mode not in _RESIZE_MODES:
        return f"Resize mode '{mode}' (fvir has {', '.join(_RESIZE_MODES)})"
    if coords not in _RESIZE_COORDINATES:
        return f"Resize coordinate_transformation_mode '{coords}'"
    if mode == "nearest" and nearest not in _NEAREST_MODES:
        return f"Resize nearest_mode '{nearest}'"
    if attrs.get("antialias", 0):
        return "Resize with antialias"
    policy = str(attrs.get("keep_aspect_ratio_policy", "stretch"))
    if policy != "stretch":
        return f"Resize keep_aspect_ratio_policy '{policy}'"
    return None


def resize(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Resize (opset >= 11: X, roi, scales, sizes) with mode nearest or linear. Linear is
    separable: interpolating axis by axis is n-linear interpolation; coordinates outside the
    input clamp to the edge (as the ONNX reference's edge padding does)."""
    x = inputs[0]
    scales_in, sizes_in = _opt(inputs, 2), _opt(inputs, 3)
    if len(inputs) == 2:  # Resize-10 / Upsample: (X, scales)
        scales_in = inputs[1]
    if (reason := _resize_limits(attrs)) is not None:
        raise NotImplementedError(reason)  # callers check `unsupported` first
    mode = str(attrs.get("mode", "nearest"))
    coord_mode = str(attrs.get("coordinate_transformation_mode", "half_pixel"))
    nearest_mode = str(attrs.get("nearest_mode", "round_prefer_floor"))
    axes = _int_list(attrs.get("axes")) or list(range(x.ndim))
    axes = [a % x.ndim for a in axes]
    out_shape = list(x.shape)
    scales = [1.0] * x.ndim
    if sizes_in is not None and sizes_in.size:
        for a, s in zip(axes, _int_list(sizes_in) or [], strict=True):
            out_shape[a] = s
            scales[a] = s / x.shape[a]
    else:
        assert scales_in is not None
        for a, s in zip(axes, np.asarray(scales_in, dtype=np.float64).reshape(-1), strict=True):
            scales[a] = float(s)
            out_shape[a] = math.floor(x.shape[a] * float(s))
    out = x.astype(np.float64)
    for a in range(x.ndim):
        if out_shape[a] == x.shape[a] and scales[a] == 1.0:
            continue
        coords = _source_coords(out_shape[a], x.shape[a], scales[a], coord_mode)
        if mode == "nearest":
            out = np.take(out, _nearest_index(coords, nearest_mode, x.shape[a]), axis=a)
        elif mode == "linear":
            coords = np.clip(coords, 0, x.shape[a] - 1)
            lo = np.floor(coords).astype(np.int64)
            hi = np.minimum(lo + 1, x.shape[a] - 1)
            frac = coords - lo
            bshape = [1] * x.ndim
            bshape[a] = -1
            frac = frac.reshape(bshape)
            out = np.take(out, lo, axis=a) * (1 - frac) + np.take(out, hi, axis=a) * frac
        else:
            raise NotImplementedError(f"Resize mode '{mode}'")
    return [out.astype(x.dtype)]


# -------------------------------------------------------------------------- elementwise


def _erf(x: np.ndarray) -> np.ndarray:
    # math.erf is exact to double precision; host ops are not on any hot path.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def clip(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Clip: bounds from inputs (opset >= 11) or min/max attributes (before); absent bounds
    do not clip."""
    x = inputs[0]
    lo, hi = _opt(inputs, 1), _opt(inputs, 2)
    lo_v = lo.item() if lo is not None and lo.size else attrs.get("min")
    hi_v = hi.item() if hi is not None and hi.size else attrs.get("max")
    out = x
    if lo_v is not None:
        out = np.maximum(out, np.asarray(lo_v, dtype=x.dtype))
    if hi_v is not None:
        out = np.minimum(out, np.asarray(hi_v, dtype=x.dtype))
    return [out]


def hard_sigmoid(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    return [np.clip(alpha * x + beta, 0, 1).astype(x.dtype)]


def elu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    alpha = float(attrs.get("alpha", 1.0))
    return [np.where(x > 0, x, alpha * (np.exp(x) - 1)).astype(x.dtype)]


def selu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    alpha = float(attrs.get("alpha", 1.67326319217681884765625))
    gamma = float(attrs.get("gamma", 1.05070102214813232421875))
    return [(gamma * np.where(x > 0, x, alpha * (np.exp(x) - 1))).astype(x.dtype)]


def leaky_relu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    alpha = float(attrs.get("alpha", 0.01))
    return [np.where(x >= 0, x, alpha * x).astype(x.dtype)]


def thresholded_relu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = inputs[0]
    alpha = float(attrs.get("alpha", 1.0))
    return [np.where(x > alpha, x, 0).astype(x.dtype)]


def prelu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, slope = inputs
    return [np.where(x >= 0, x, slope * x).astype(x.dtype)]


def gelu(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Gelu (opset 20): exact (erf) or tanh approximation."""
    x = inputs[0].astype(np.float64)
    if attrs.get("approximate", "none") == "tanh":
        y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    return [y.astype(inputs[0].dtype)]


def cast(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Cast to the ONNX TensorProto data type `to`."""
    from onnx.helper import tensor_dtype_to_np_dtype  # onnx is only needed for this mapping

    return [inputs[0].astype(tensor_dtype_to_np_dtype(int(attrs["to"])))]


def cast_like(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """CastLike: cast the first input to the element type of the second."""
    return [inputs[0].astype(inputs[1].dtype)]


def pow_(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Pow: the result has the base's type (the exponent may be another type)."""
    base, exponent = inputs
    return [np.power(base, exponent.astype(base.dtype)).astype(base.dtype)]


def mod(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Mod: fmod=1 takes the dividend's sign (C fmod), fmod=0 the divisor's (Python %)."""
    a, b = inputs
    return [np.fmod(a, b) if attrs.get("fmod", 0) else np.mod(a, b)]


def div(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Div: integer division truncates toward zero (as C and the ONNX reference do)."""
    a, b = inputs
    if a.dtype.kind in "iu":
        return [np.trunc(a / b).astype(a.dtype)]
    return [(a / b).astype(a.dtype)]


def where(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [np.where(inputs[0], inputs[1], inputs[2])]


def identity(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    return [inputs[0]]


def dropout(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    """Dropout at inference (training_mode absent or false): the identity, mask all true."""
    training = _opt(inputs, 2)
    if training is not None and bool(training.item()):
        raise NotImplementedError("Dropout in training mode")
    outs = [inputs[0]]
    if int(attrs.get(NUM_OUTPUTS, 1)) > 1:
        outs.append(np.ones(inputs[0].shape, dtype=bool))
    return outs


def mean(inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return [(total / len(inputs)).astype(inputs[0].dtype)]


HOST_OPS: dict[str, HostFn] = {
    # normalisation / softmax family
    "LRN": lrn,
    "LogSoftmax": log_softmax,
    "Hardmax": hardmax,
    "Softmax": softmax,
    "InstanceNormalization": instance_norm,
    # reductions
    "ReduceMean": _reduce(np.mean, 1),
    "ReduceSum": _reduce(np.sum, 1),
    "ReduceMax": _reduce(np.max, 1, _lowest),
    "ReduceMin": _reduce(np.min, 1, _highest),
    "ReduceProd": _reduce(np.prod, 1),
    "ArgMax": _arg_reduce(np.argmax),
    "ArgMin": _arg_reduce(np.argmin),
    # shape and indexing
    "Pad": pad,
    "Slice": slice_,
    "Split": split,
    "Squeeze": squeeze,
    "Unsqueeze": unsqueeze,
    "Reshape": reshape,
    "Flatten": flatten,
    "Transpose": transpose,
    "Concat": concat,
    "Expand": expand,
    "Tile": tile,
    "Gather": gather,
    "Shape": shape,
    "ConstantOfShape": constant_of_shape,
    "Range": range_,
    "Resize": resize,
    "Identity": identity,
    "Dropout": dropout,
    # unary elementwise
    "Exp": _unary(np.exp),
    "Log": _unary(np.log),
    "Sqrt": _unary(np.sqrt),
    "Abs": _unary(np.abs),
    "Neg": _unary(np.negative),
    "Reciprocal": _unary(np.reciprocal),
    "Floor": _unary(np.floor),
    "Ceil": _unary(np.ceil),
    "Sign": _unary(np.sign),
    "Sin": _unary(np.sin),
    "Cos": _unary(np.cos),
    "Erf": _unary(_erf),
    "Relu": _unary(lambda x: np.maximum(x, 0)),
    "Sigmoid": _unary(lambda x: 1 / (1 + np.exp(-x))),
    "Tanh": _unary(np.tanh),
    "Softplus": _unary(lambda x: np.logaddexp(0, x)),  # log(exp(x) + 1), without overflow
    "Softsign": _unary(lambda x: x / (1 + np.abs(x))),
    "Not": _unary(np.logical_not),
    "HardSigmoid": hard_sigmoid,
    "Elu": elu,
    "Selu": selu,
    "LeakyRelu": leaky_relu,
    "ThresholdedRelu": thresholded_relu,
    "PRelu": prelu,
    "Gelu": gelu,
    "Clip": clip,
    "Cast": cast,
    "CastLike": cast_like,
    # binary / variadic elementwise (numpy broadcasting = ONNX multidirectional broadcasting)
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": div,
    "Pow": pow_,
    "Mod": mod,
    "Max": _variadic(np.maximum),
    "Min": _variadic(np.minimum),
    "Sum": _variadic(np.add),
    "Mean": mean,
    "Equal": _binary(np.equal),
    "Less": _binary(np.less),
    "LessOrEqual": _binary(np.less_equal),
    "Greater": _binary(np.greater),
    "GreaterOrEqual": _binary(np.greater_equal),
    "And": _binary(np.logical_and),
    "Or": _binary(np.logical_or),
    "Xor": _binary(np.logical_xor),
    "Where": where,
}
"""ONNX op type -> numpy implementation, for every op that may become a `dnn.host` op."""

LIMITS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "Resize": _resize_limits,
    "Pad": _pad_limits,
}
"""ONNX op type -> what of its attributes the function in `HOST_OPS` does not implement (a
short description, or None when it runs them)."""


def unsupported(op_type: str, attrs: dict[str, Any]) -> str | None:
    """Why `HOST_OPS[op_type]` cannot run a node with these attributes, or None if it can.
    The importer asks before it emits a `dnn.host` op, so an attribute fvir does not implement
    is a one-line error at import rather than a failure at run time."""
    check = LIMITS.get(op_type)
    return None if check is None else check(attrs)
