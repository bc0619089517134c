"""The importer's values and how their types read: what translators share besides the
importer itself.

A value is a numpy array (a constant: initializer, Constant, folded result) or an SSA value of
the function being built; `Padded` wraps an SSA value whose zero Pad is folded into its
Conv/AveragePool consumers. Model problems found here raise `fvir.onnxops.OpError`; the
importer adds the node's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import element_type, numpy_dtype
from fvir.onnxops import OpError

Val = SSAValue | np.ndarray
"""An importer value: a constant (numpy array) or an SSA value of the function being built."""

F32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Padded:
    """A zero Pad folded into its Conv/AveragePool consumers: `pads` are spatial, ONNX order."""

    value: SSAValue
    pads: tuple[int, ...]


def shape_of(v: Val | Padded) -> tuple[int, ...]:
    if isinstance(v, Padded):
        v = v.value
    if isinstance(v, np.ndarray):
        return v.shape
    ty = v.type
    assert isinstance(ty, TensorType)
    return tuple(ty.get_shape())


def dtype_of(v: Val) -> np.dtype:
    if isinstance(v, np.ndarray):
        return v.dtype
    ty = v.type
    assert isinstance(ty, TensorType)
    return numpy_dtype(ty.element_type)


def reshape(x: SSAValue, shape: Sequence[int]) -> SSAValue:
    """dnn.reshape, or `x` itself when the shape does not change."""
    if shape_of(x) == tuple(shape):
        return x
    return dnn.ReshapeOp(x, shape).output


def tensor_type(dtype: np.dtype, shape: Sequence[int]) -> TensorType:
    try:
        return TensorType(element_type(dtype), list(shape))
    except UserError:
        raise OpError(f"unsupported element type {dtype.name}") from None


def onnx_type_name(onnx_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(onnx_type)
    except ValueError:
        return str(onnx_type)


def dims(shape: Sequence[int | str]) -> str:
    return "x".join(map(str, shape)) or "scalar"


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_$.-]")


def name_hint(name: str) -> str | None:
    """A readable SSA name for an ONNX value name (xDSL allows [A-Za-z0-9_$.-], no leading
    digit, and strips a trailing `_N`, which it uses to uniquify: keep it as `.N`)."""
    hint = _NAME_CHARS.sub("_", name).strip("_")
    if not hint:
        return None
    if hint[0].isdigit():
        hint = "v" + hint
    return re.sub(r"_(\d+)$", r".\1", hint)


def _f32(value: float) -> float:
    """ONNX float attributes are float32: keep the shortest decimal that round-trips
    (1e-05, not 9.99999974738e-06)."""
    return float(str(np.float32(value)))


def attr_value(attr: onnx.AttributeProto) -> Any:
    """An ONNX attribute as the Python value translators and kernels receive."""
    A = onnx.AttributeProto
    value = helper.get_attribute_value(attr)
    if attr.type == A.FLOAT:
        return _f32(value)
    if attr.type == A.FLOATS:
        return [_f32(v) for v in value]
    if attr.type == A.STRING:
        return value.decode("utf-8", "replace")
    if attr.type == A.STRINGS:
        return [v.decode("utf-8", "replace") for v in value]
    if attr.type == A.TENSOR:
        return numpy_helper.to_array(value)
    if attr.type == A.INTS:
        return list(value)
    return value


def window_pads(
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int] | None,
    auto_pad: str,
) -> list[int]:
    """Explicit ONNX pads [begin..., end...] of a Conv/Pool, resolving `auto_pad`; every
    window attribute must have one entry per spatial dim."""
    n = len(spatial)
    for what, values in (("kernel_shape", kernel), ("strides", strides), ("dilations", dilations)):
        if len(values) != n:
            raise OpError(f"{what} {list(values)} must have {n} elements (one per spatial dim)")
        if any(int(v) < 1 for v in values):
            raise OpError(f"{what} {list(values)} must be positive")
    if auto_pad in ("NOTSET", ""):
        pads = list(pads) if pads else [0] * 2 * n
        if len(pads) != 2 * n:
            raise OpError(f"pads {pads} must have {2 * n} elements")
        return pads
    if auto_pad == "VALID":
        return [0] * 2 * n
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise OpError(f"unknown auto_pad '{auto_pad}'")
    begins, ends = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends
