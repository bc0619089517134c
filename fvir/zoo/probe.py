"""Minimal numpy evaluation of the zoo builder's ops, to calibrate BatchNorm statistics.

A trained network's BatchNormalization carries the mean and variance its input actually has.
With random weights, fixed statistics (mean 0, variance 1) let activations grow geometrically
down a residual stream (ResNet-50's logits reach a std of ~1e3), so `GraphBuilder.bn` instead
measures its input on a seeded probe input pushed through the layers built so far. Only the ops
that can precede a BatchNorm in the zoo are implemented; this is not a reference executor
(that is `fvir.reference`).
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Attrs = dict[str, Any]  # the ONNX attributes the builder gave the node
Impl = Callable[..., np.ndarray]


def conv(attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Grouped, strided, padded 2-D convolution as im2col + batched matmul."""
    (ph0, pw0, ph1, pw1), (sh, sw) = attrs["pads"], attrs["strides"]
    g = attrs["group"]
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1)))
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # [n,c,oh,ow,kh,kw]
    oh, ow = win.shape[2:4]
    cols = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(0, 1, 3, 4, 2, 5, 6)
    cols = cols.reshape(n, g, oh * ow, cg * kh * kw)
    y = cols @ w.reshape(g, o // g, cg * kh * kw).transpose(0, 2, 1)  # [n, g, oh*ow, o/g]
    y = y.transpose(0, 1, 3, 2).reshape(n, o, oh, ow)
    return y if b is None else y + b[:, None, None]


def batchnorm(attrs: Attrs, x: np.ndarray, *params: np.ndarray) -> np.ndarray:
    scale, bias, mean, var = (p[:, None, None] for p in params)
    return (x - mean) / np.sqrt(var + attrs["epsilon"]) * scale + bias


def maxpool(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    assert not attrs.get("ceil_mode"), "ceil_mode pooling is not needed before a BatchNorm"
    (ph0, pw0, ph1, pw1), (sh, sw) = attrs["pads"], attrs["strides"]
    kh, kw = attrs["kernel_shape"]
    x = np.pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1)), constant_values=-np.inf)
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].max(axis=(4, 5))


def conv_transpose(attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unpadded transposed convolution: every input pixel scatters a k x k block."""
    (kh, kw), (sh, sw) = attrs["kernel_shape"], attrs["strides"]
    n, _, h, wd = x.shape
    y = np.zeros((n, w.shape[1], (h - 1) * sh + kh, (wd - 1) * sw + kw), np.float32)
    for i in range(kh):
        for j in range(kw):
            y[:, :, i : i + (h - 1) * sh + 1 : sh, j : j + (wd - 1) * sw + 1 : sw] += np.einsum(
                "nchw,co->nohw", x, w[:, :, i, j])
    return y + b[:, None, None]


def avgpool(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    assert not any(attrs["pads"]), "padded average pooling is not needed before a BatchNorm"
    (sh, sw), (kh, kw) = attrs["strides"], attrs["kernel_shape"]
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].mean(axis=(4, 5))


def gemm(attrs: Attrs, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    y = x @ w.T
    return y if b is None else y + b


OPS: dict[str, Impl] = {
    "Conv": conv,
    "BatchNormalization": batchnorm,
    "Relu": lambda a, x: np.maximum(x, 0),
    "HardSwish": lambda a, x: x * np.clip(x + 3, 0, 6) / 6,
    "HardSigmoid": lambda a, x: np.clip(a["alpha"] * x + a["beta"], 0, 1),
    "Mul": lambda a, x, y: x * y,
    "Clip": lambda a, x, lo, hi: np.clip(x, lo, hi),
    "MaxPool": maxpool,
    "AveragePool": avgpool,
    "ConvTranspose": conv_transpose,
    "Sigmoid": lambda a, x: 1 / (1 + np.exp(-x)),
    "GlobalAveragePool": lambda a, x: x.mean(axis=(2, 3), keepdims=True),
    "Gemm": gemm,
    "Add": lambda a, x, y: x + y,
    "Concat": lambda a, *xs: np.concatenate(xs, axis=a["axis"]),
    "Flatten": lambda a, x: x.reshape(int(np.prod(x.shape[: a["axis"]])), -1),
    "Reshape": lambda a, x, shape: x.reshape(shape),
    "Transpose": lambda a, x: x.transpose(a["perm"]),
}
