"""A package's tensors in DDR: real values in, real values out.

1. A tensor is bounds-checked against its segment in the tenant's `Memory`.
2. Logical (NCHW) values go to storage order (NHWC for feature maps) and, in int8 mode, onto
   the int8 grid of the tensor's fixed-point exponent (the int8 contract's quantize); fp32
   mode stores float32 values at the same byte addresses (`fvir.backend.semantics`).
3. Reading is the exact inverse.
"""

from __future__ import annotations

import numpy as np

from fvir.backend.memory import Memory
from fvir.errors import UserError
from fvir.ifp.package import TensorInfo
from fvir.quant.contract import dequantize, quantize


def _tensor_span(mem: Memory, info: TensorInfo, access: str) -> tuple[np.ndarray, int, int]:
    """The segment array, element count and bytes per element of a tensor, bounds-checked."""
    if info.dtype not in ("int8", "float32"):
        raise UserError(f"tensor '{info.name}': unsupported dtype '{info.dtype}'")
    count = int(np.prod(info.shape, dtype=np.int64))
    item = 1 if info.dtype == "int8" else 4
    arr = mem.access(f"tensor '{info.name}'", access, info.segment, info.offset,
                     info.offset + count * item)
    return arr, count, item


def _to_storage_order(info: TensorInfo, x: np.ndarray) -> np.ndarray:
    if info.layout == "flat":
        return x
    if info.layout == "nhwc" and x.ndim == 4:
        return x.transpose(0, 2, 3, 1)
    raise UserError(f"tensor '{info.name}': layout '{info.layout}' does not fit shape "
                    f"{list(info.shape)}")


def write_tensor(mem: Memory, info: TensorInfo, value: np.ndarray) -> None:
    """Store real values (logical shape, e.g. NCHW) into the tensor's place in DDR: quantized
    and NHWC for an int8 tensor in int8 mode; see `fvir.backend.semantics` for fp32 mode."""
    x = np.asarray(value)
    if x.shape != tuple(info.shape):
        raise UserError(f"tensor '{info.name}' has shape {list(info.shape)}, got "
                        f"{list(x.shape)}")
    arr, count, item = _tensor_span(mem, info, "writes")
    flat = np.ascontiguousarray(_to_storage_order(info, x)).reshape(count)
    off, nbytes = info.offset, count * item
    if mem.mode == "fp32":  # element i of a tensor at byte a sits at a + i * item
        arr[off : off + nbytes : item] = flat.astype(np.float32)
    elif info.dtype == "int8":
        arr[off : off + nbytes] = quantize(flat, info.frac_bits, info.zero_point).view(np.uint8)
    else:
        arr[off : off + nbytes] = flat.astype("<f4").view(np.uint8)


def read_tensor(mem: Memory, info: TensorInfo) -> np.ndarray:
    """The tensor's real values (float32, logical shape): the inverse of `write_tensor`."""
    arr, count, item = _tensor_span(mem, info, "reads")
    off, nbytes = info.offset, count * item
    if mem.mode == "fp32":
        flat = arr[off : off + nbytes : item].copy()
    elif info.dtype == "int8":
        flat = dequantize(arr[off : off + nbytes].view(np.int8), info.frac_bits,
                          info.zero_point)
    else:
        flat = arr[off : off + nbytes].copy().view("<f4").astype(np.float32)
    shape = tuple(info.shape)
    if info.layout == "nhwc" and len(shape) == 4:
        n, c, h, w = shape
        return np.ascontiguousarray(flat.reshape(n, h, w, c).transpose(0, 3, 1, 2))
    return flat.reshape(shape)
