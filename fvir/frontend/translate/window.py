"""Translators of Conv, ConvTranspose and pooling, and the zero Pad folded into them.

A Conv with constant weights whose kernel, stride or pads exceed the ISA's fields is rewritten
into one that fits (`wide_conv`).

1-D Conv and pooling are imported as 2-D with H = 1 between reshapes. A zero constant Pad whose
only consumers are Conv (or AveragePool counting padding) becomes a `Padded` value whose pads
those consumers add to their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.ir import SSAValue

from fvir.frontend.translate import wide_conv
from fvir.frontend.translate.registry import translator
from fvir.frontend.values import (
    Padded,
    Val,
    attr_value,
    dtype_of,
    reshape,
    shape_of,
    window_pads,
)
from fvir.ir import dnn
from fvir.onnxops import OpError
from fvir.onnxops.core import norm_axis

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer


def _unpad(x: Val | Padded) -> tuple[Val, list[int] | None]:
    return (x.value, list(x.pads)) if isinstance(x, Padded) else (x, None)


def _spatial_rank(x: Val, what: str) -> int:
    rank = len(shape_of(x))
    if rank not in (3, 4):
        raise OpError(f"only 1-D and 2-D {what} are supported, got a rank-{rank} input")
    return rank - 2


def _to_2d(x: SSAValue) -> SSAValue:
    n, c, w = shape_of(x)
    return reshape(x, (n, c, 1, w))


def _from_2d(y: SSAValue) -> SSAValue:
    n, c, _, w = shape_of(y)
    return reshape(y, (n, c, w))


@translator("Conv")
def _conv(
    g: Importer,
    x: Val | Padded,
    w: Val,
    b: Val | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> SSAValue:
    x, extra = _unpad(x)
    n = _spatial_rank(x, "convolutions")
    if dtype_of(x).kind != "f":  # ONNX Conv is defined on float types only
        raise OpError(f"Conv needs a floating-point input, got {dtype_of(x).name}")
    if len(shape_of(w)) != n + 2:
        raise OpError(
            f"weight of rank {len(shape_of(w))} does not fit a rank-{n + 2} input "
            f"(want rank {n + 2}: out channels, in channels / group, kernel dims)"
        )
    kernel = kernel_shape or list(shape_of(w)[2:])
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    p = window_pads(shape_of(x)[2:], kernel, strides, dilations, pads, auto_pad)
    if extra:
        p = [a + e for a, e in zip(p, extra, strict=True)]
    if isinstance(w, np.ndarray) and (b is None or isinstance(b, np.ndarray)):
        wide = _wide(g, x, w, b, strides, p, dilations, group)
        if wide is not None:
            return wide
    xv, wv, bv = g.value(x), g.value(w), None if b is None else g.value(b)
    if n == 2:
        return dnn.Conv2dOp(
            xv, wv, bv, strides=strides, pads=p, dilations=dilations, group=group
        ).output
    y = dnn.Conv2dOp(
        _to_2d(xv),
        _to_2d(wv),
        bv,
        strides=[1, strides[0]],
        pads=[0, p[0], 0, p[1]],
        dilations=[1, dilations[0]],
        group=group,
    ).output
    return _from_2d(y)


def _wide(
    g: Importer,
    x: Val,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: list[int],
    pads: list[int],
    dilations: list[int],
    group: int,
) -> SSAValue | None:
    """The conv rewritten to fit the ISA's fields (`wide_conv`), or None if it fits or cannot
    be rewritten; a 1-D conv as a 2-D one with H = 1."""
    if dtype_of(x) != np.float32 or shape_of(x)[0] != 1:
        return None  # the accelerator takes batch-1 float32 models
    extent = shape_of(x)[2:]
    n = len(extent)
    for i in range(n):
        if extent[i] + pads[i] + pads[i + n] < dilations[i] * (w.shape[2 + i] - 1) + 1:
            return None  # an empty output: the conv's own verifier says so
    if n == 1:
        w, strides, dilations = w[:, :, None, :], [1, *strides], [1, *dilations]
        pads = [0, pads[0], 0, pads[1]]
    if not wide_conv.needs_rewrite(w, strides, pads, dilations, group):
        return None
    xv = g.value(x)
    if n == 1:
        return _from_2d(wide_conv.wide_conv(g, _to_2d(xv), w, b, strides, pads, dilations))
    return wide_conv.wide_conv(g, xv, w, b, strides, pads, dilations)


def _pool(
    g: Importer,
    kind: dnn.PoolKind,
    x: Val | Padded,
    auto_pad: str,
    ceil_mode: int,
    dilations: list[int] | None,
    kernel_shape: list[int],
    pads: list[int] | None,
    strides: list[int] | None,
    count_include_pad: int = 0,
) -> SSAValue:
    x, extra = _unpad(x)
    n = _spatial_rank(x, "poolings")
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    p = window_pads(shape_of(x)[2:], kernel_shape, strides, dilations, pads, auto_pad)
    if extra:  # a folded zero Pad: the zeros count, as they did in the padded tensor
        p = [a + e for a, e in zip(p, extra, strict=True)]
        count_include_pad = 1
    include = bool(count_include_pad) and kind == dnn.PoolKind.AVG and any(p)
    if n == 2:
        return dnn.Pool2dOp(
            kind,
            g.value(x),
            kernel=kernel_shape,
            strides=strides,
            pads=p,
            dilations=dilations,
            ceil_mode=bool(ceil_mode),
            count_include_pad=include,
        ).output
    y = dnn.Pool2dOp(
        kind,
        _to_2d(g.value(x)),
        kernel=[1, kernel_shape[0]],
        strides=[1, strides[0]],
        pads=[0, p[0], 0, p[1]],
        dilations=[1, dilations[0]],
        ceil_mode=bool(ceil_mode),
        count_include_pad=include,
    ).output
    return _from_2d(y)


@translator("MaxPool")
def _max_pool(
    g: Importer,
    x: Val | Padded,
    *,
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    dilations: list[int] | None = None,
    kernel_shape: list[int],
    pads: list[int] | None = None,
    storage_order: int = 0,
    strides: list[int] | None = None,
) -> SSAValue:
    return _pool(
        g, dnn.PoolKind.MAX, x, auto_pad, ceil_mode, dilations, kernel_shape, pads, strides
    )


@translator("AveragePool")
def _average_pool(
    g: Importer,
    x: Val | Padded,
    *,
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    count_include_pad: int = 0,
    dilations: list[int] | None = None,
    kernel_shape: list[int],
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> SSAValue:
    return _pool(
        g,
        dnn.PoolKind.AVG,
        x,
        auto_pad,
        ceil_mode,
        dilations,
        kernel_shape,
        pads,
        strides,
        count_include_pad,
    )


@translator("GlobalAveragePool")
def _global_average_pool(g: Importer, x: Val) -> dnn.GlobalPoolOp:
    return dnn.GlobalPoolOp(dnn.PoolKind.AVG, g.value(x))


@translator("GlobalMaxPool")
def _global_max_pool(g: Importer, x: Val) -> dnn.GlobalPoolOp:
    return dnn.GlobalPoolOp(dnn.PoolKind.MAX, g.value(x))


@translator("ConvTranspose")
def _conv_transpose(
    g: Importer,
    x: Val,
    w: Val,
    b: Val | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    output_padding: list[int] | None = None,
    output_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> Any:
    """A 2-D ConvTranspose with constant weights and explicit pads is a convolution of the
    zero-inserted input: stride-s zero insertion on the host (Reshape to [N, C, H, 1, W, 1],
    Pad with s - 1 zeros after each unit axis, Reshape to [N, C, H s, W s]; for stride 1 none),
    then a stride-1 conv with the kernel flipped and its in/out axes swapped per group, padded
    by d (k - 1) - pad at the start and d (k - 1) - pad + output_padding - (s - 1) at the end
    (the trailing zeros of the insertion count as padding). Anything else (other ranks,
    auto_pad or output_shape, run-time weights, a negative conv pad) runs the ONNX kernel on
    the host.

    An up-convolution whose kernel equals its stride (U-Net's 2x2/2; no pads, dilation or
    groups) writes every output pixel from exactly one input pixel: it is a 1x1 conv to
    C_out * kh * kw channels (no zeros multiplied: 1/(kh kw) of the MACs above) followed by
    depth-to-space (Reshape, Transpose, Reshape)."""
    xs = shape_of(x)
    consts = isinstance(w, np.ndarray) and (b is None or isinstance(b, np.ndarray))
    if len(xs) != 4 or not consts or dtype_of(x) != np.float32 or output_shape:
        return g.host_node()
    if auto_pad not in ("NOTSET", "") or len(shape_of(w)) != 4 or xs[1] % group:
        return g.host_node()
    assert isinstance(w, np.ndarray)
    n, cin, h, wd = xs
    kernel = list(w.shape[2:])
    s, d = strides or [1, 1], dilations or [1, 1]
    p, extra = pads or [0, 0, 0, 0], output_padding or [0, 0]
    if s == kernel and d == [1, 1] and not any(p) and not any(extra) and group == 1:
        return _depth_to_space_up(g, x, w, b)
    begin = [d[i] * (kernel[i] - 1) - p[i] for i in range(2)]
    end = [d[i] * (kernel[i] - 1) - p[i + 2] + extra[i] - (s[i] - 1) for i in range(2)]
    if min(begin + end) < 0:
        return g.host_node()
    cin_g, cout_g = cin // group, w.shape[1]
    flipped = (
        w.reshape(group, cin_g, cout_g, *kernel)
        .transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
        .reshape(group * cout_g, cin_g, *kernel)
    )
    z = g.value(x)
    if s != [1, 1]:
        z = reshape(z, (n, cin, h, 1, wd, 1))
        widths = np.array([0] * 6 + [0, 0, 0, s[0] - 1, 0, s[1] - 1], np.int64)
        (z,) = g.host("Pad", [z, widths], {})
        z = reshape(z, (n, cin, h * s[0], wd * s[1]))
    bias = None if b is None else g.weight(np.asarray(b, np.float32), "bias")
    return dnn.Conv2dOp(
        z,
        g.weight(np.ascontiguousarray(flipped, np.float32), "flipped"),
        bias,
        pads=[begin[0], begin[1], end[0], end[1]],
        dilations=d,
        group=group,
    ).output


def _depth_to_space_up(g: Importer, x: Val, w: np.ndarray, b: np.ndarray | None) -> Any:
    """y[n, o, i kh + a, j kw + c] = sum_ci x[n, ci, i, j] w[ci, o, a, c] + b[o]: a 1x1 conv
    to channels (o, a, c), then those channels moved into the pixels."""
    n, cin, h, wd = shape_of(x)
    cout, kh, kw = w.shape[1:]
    w1 = np.ascontiguousarray(w.transpose(1, 2, 3, 0).reshape(cout * kh * kw, cin, 1, 1),
                              np.float32)
    bias = None if b is None else g.weight(np.repeat(np.asarray(b, np.float32), kh * kw),
                                           "bias")
    z = dnn.Conv2dOp(g.value(x), g.weight(w1, "taps"), bias, pads=[0, 0, 0, 0]).output
    z = dnn.TransposeOp(reshape(z, (n, cout, kh, kw, h, wd)), (0, 1, 4, 2, 5, 3)).output
    return reshape(z, (n, cout, h * kh, wd * kw))


def _spatial_reduce(kind: dnn.PoolKind) -> Any:
    """ReduceMean / ReduceMax over exactly the spatial axes of an NCHW image is global pooling
    (what PyTorch exports for adaptive pooling to 1x1); any other reduction runs on the host."""

    def translate(
        g: Importer,
        data: Val,
        axes: Any = None,
        *,
        keepdims: int = 1,
        noop_with_empty_axes: int = 0,
    ) -> Any:
        shape = shape_of(data)
        ax = g.ints(axes, "axes") if not isinstance(axes, SSAValue) else None
        spatial = len(shape) == 4 and dtype_of(data).kind == "f" and ax is not None
        if not spatial or sorted(norm_axis(a, 4) for a in ax) != [2, 3]:
            return g.host_node()
        y = dnn.GlobalPoolOp(kind, g.value(data)).output
        return y if keepdims else reshape(y, shape[:2])

    return translate


translator("ReduceMean")(_spatial_reduce(dnn.PoolKind.AVG))
translator("ReduceMax")(_spatial_reduce(dnn.PoolKind.MAX))


@translator("Pad")
def _pad(
    g: Importer,
    x: Val,
    pads: Any = None,
    constant_value: Any = None,
    axes: Any = None,
    *,
    mode: str = "constant",
    value: float = 0.0,
) -> Any:
    folded = _fold_pad(
        g, x, g.ints(pads, "pads"), constant_value, g.ints(axes, "axes"), mode, value
    )
    return g.host_node() if folded is None else folded


def _fold_pad(
    g: Importer,
    x: Val,
    pads: list[int] | None,
    constant_value: Any,
    axes: list[int] | None,
    mode: str,
    value: float,
) -> Padded | None:
    """Fold a zero constant Pad of the spatial dims into Conv / AveragePool consumers."""
    rank = len(shape_of(x))
    out = g.node.output[0]
    consumers = g.consumers.get(out, [])
    if mode != "constant" or rank not in (3, 4) or pads is None or not consumers:
        return None
    if out in g.graph_outputs or isinstance(constant_value, SSAValue):
        return None
    if g.scalar(constant_value, "constant_value", value) != 0.0:
        return None
    if axes is not None:  # opset 18: pads only for the listed axes
        if len(pads) != 2 * len(axes):
            return None  # the host op reports it
        full = [0] * 2 * rank
        for i, a in enumerate(norm_axis(a, rank) for a in axes):
            full[a], full[a + rank] = pads[i], pads[i + len(axes)]
        pads = full
    if len(pads) != 2 * rank or any(p < 0 for p in pads) or any(pads[:2] + pads[rank : rank + 2]):
        return None
    spatial = pads[2:rank] + pads[rank + 2 :]
    for c in consumers:
        attrs = {a.name: attr_value(a) for a in c.attribute}
        if list(c.input).count(out) != 1 or c.input[0] != out:
            return None
        if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            return None
        if c.op_type == "Conv":
            continue
        if c.op_type != "AveragePool":
            return None
        own = attrs.get("pads") or [0] * len(spatial)
        if any(own) and not attrs.get("count_include_pad", 0):
            return None
        kernel = attrs.get("kernel_shape", [])
        n = len(kernel)
        total = [a + b for a, b in zip(own, spatial, strict=False)]
        if len(total) != 2 * n or any(t >= kernel[i % n] for i, t in enumerate(total)):
            return None
    return Padded(g.value(x), tuple(spatial))
