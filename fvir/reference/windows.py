"""Sliding windows over NCHW tensors, shared by the float and int8 reference ops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def windows(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out_hw: Sequence[int],
) -> np.ndarray:
    """All kernel-offset views of an already padded NCHW tensor: [N, C, KH*KW, OH, OW].

    Offset (kh, kw) of output pixel (oh, ow) reads x[oh*sh + kh*dh, ow*sw + kw*dw]."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    views = []
    for i in range(kh):
        for j in range(kw):
            views.append(
                x[
                    :,
                    :,
                    i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                    j * dw : j * dw + sw * (ow - 1) + 1 : sw,
                ]
            )
    return np.stack(views, axis=2)


def pad_hw(x: np.ndarray, pads: Sequence[int], value: float | int) -> np.ndarray:
    """Pad H and W; `pads` is [top, left, bottom, right] (ONNX order)."""
    top, left, bottom, right = pads
    return np.pad(
        x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant", constant_values=value
    )
