"""Convolutions beyond the ISA's 4-bit kernel, stride and pad fields, rewritten into one
convolution within them, so that a ViT's 16x16/16 patch embedding or a large-kernel conv runs on
the accelerator instead of the host.

The rewrite keeps one accumulator per output (the same sum of products, reordered): only data
moves on the host (Pad, Slice), the reshapes and transposes are views or exact int8 ops. It
applies to a 2-D convolution with constant weights, group 1, whose kernel, stride or pads do not
fit the fields (`fvir.hw.capability`), per spatial axis with kernel K, stride s, dilation d,
pads (pb, pe), input extent H and output extent O:

1. The input is padded explicitly (pads leave the conv, whose pad field may be too narrow).
2. Space-to-depth, when s is beyond the field, or K is beyond it and s > 1 (needs d = 1): the
   padded input is cut or zero-extended to T = (O + K' - 1) s rows, K' = ceil(K / s), and
   becomes [1, C s_h s_w, T_h / s_h, T_w / s_w] (Reshape, Transpose, Reshape); the weight,
   zero-extended to K' s taps, becomes W'[o, (c, a, b), u, v] = W[o, c, u s_h + a, v s_w + b]:
   a K' x K' conv at stride 1.
3. Kernel stacking, when a kernel K is still beyond the field: n = ceil(K / max) blocks of
   B = ceil(K / n) taps per axis; the stacked input holds, for every block (i, j), the slice of
   the input starting at d (i B_h, j B_w) that its taps read (concatenated on channels), and
   W''[o, (i, j, c), u, v] = W[o, c, i B_h + u, j B_w + v]: a B_h x B_w conv.

Anything else (run-time weights, groups, a dilation beyond the field, dilation with a wide
stride, more than `MAX_COPIES` stacked copies of the input) is left as it is, and
`dnn-partition` sends it to the host with its reason.
"""

from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING

import numpy as np
from xdsl.ir import SSAValue

from fvir.frontend.values import reshape, shape_of
from fvir.hw.capability import CONV_DILATION, CONV_KERNEL, CONV_PADS, CONV_STRIDE
from fvir.ir import dnn

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer


MAX_COPIES = 16
"""Most copies of the input that kernel stacking makes (kernels up to 4 x 15 taps per axis)."""


def needs_rewrite(
    w: np.ndarray, strides: list[int], pads: list[int], dilations: list[int], group: int
) -> bool:
    """Whether a 2-D conv does not fit the fields and `wide_conv` can make it fit."""
    kernel = list(w.shape[2:])
    if group != 1 or len(kernel) != 2:
        return False
    blocks = [ceil(ceil(k / (s if _to_depth(k, s) else 1)) / CONV_KERNEL.hi)
              for k, s in zip(kernel, strides, strict=True)]
    if blocks[0] * blocks[1] > MAX_COPIES:
        return False
    fits = (
        all(CONV_KERNEL.lo <= k <= CONV_KERNEL.hi for k in kernel)
        and all(CONV_STRIDE.lo <= s <= CONV_STRIDE.hi for s in strides)
        and all(CONV_PADS.lo <= p <= CONV_PADS.hi for p in pads)
    )
    if fits or any(not CONV_DILATION.lo <= d <= CONV_DILATION.hi for d in dilations):
        return False
    axes = zip(kernel, strides, dilations, strict=True)
    return all(d == 1 or not _to_depth(k, s) for k, s, d in axes)


def _to_depth(k: int, s: int) -> bool:
    return s > CONV_STRIDE.hi or (k > CONV_KERNEL.hi and s > 1)


def wide_conv(
    g: Importer,
    x: SSAValue,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: list[int],
    pads: list[int],
    dilations: list[int],
) -> SSAValue:
    """`conv(x, w, b)` for a conv `needs_rewrite` accepts (see the module docstring)."""
    _, c, *extent = shape_of(x)
    kernel = list(w.shape[2:])
    out = [
        (extent[i] + pads[i] + pads[i + 2] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1
        for i in range(2)
    ]
    padded = [extent[i] + pads[i] + pads[i + 2] for i in range(2)]
    x = _pad(g, x, pads[:2], pads[2:])
    w = w.astype(np.float32)

    factor = [s if _to_depth(k, s) else 1 for k, s in zip(kernel, strides, strict=True)]
    if factor != [1, 1]:  # step 2: space-to-depth
        taps = [ceil(k / f) for k, f in zip(kernel, factor, strict=True)]
        rows = [(out[i] + taps[i] - 1) * factor[i] if factor[i] > 1 else padded[i]
                for i in range(2)]
        x = _fit(g, x, padded, rows)
        fh, fw = factor
        x = reshape(x, (1, c, rows[0] // fh, fh, rows[1] // fw, fw))
        x = dnn.TransposeOp(x, (0, 1, 3, 5, 2, 4)).output
        x = reshape(x, (1, c * fh * fw, rows[0] // fh, rows[1] // fw))
        w = _zero_extend(w, [t * f for t, f in zip(taps, factor, strict=True)])
        o = w.shape[0]
        w = w.reshape(o, c, taps[0], fh, taps[1], fw).transpose(0, 1, 3, 5, 2, 4)
        w = w.reshape(o, c * fh * fw, *taps)
        strides = [1 if f > 1 else s for s, f in zip(strides, factor, strict=True)]
        padded, c, kernel = [r // f for r, f in zip(rows, factor, strict=True)], c * fh * fw, taps

    if any(k > CONV_KERNEL.hi for k in kernel):  # step 3: kernel stacking
        blocks = [ceil(k / CONV_KERNEL.hi) for k in kernel]
        size = [ceil(k / n) for k, n in zip(kernel, blocks, strict=True)]
        reach = [strides[i] * (out[i] - 1) + dilations[i] * (size[i] - 1) + 1 for i in range(2)]
        need = [dilations[i] * (blocks[i] - 1) * size[i] + reach[i] for i in range(2)]
        x = _fit(g, x, padded, [max(p, n) for p, n in zip(padded, need, strict=True)])
        copies = [
            _slice(g, x, [dilations[0] * i * size[0], dilations[1] * j * size[1]], reach)
            for i in range(blocks[0])
            for j in range(blocks[1])
        ]
        x = dnn.ConcatOp(copies, 1).output
        w = _zero_extend(w, [n * s for n, s in zip(blocks, size, strict=True)])
        o = w.shape[0]
        w = w.reshape(o, c, blocks[0], size[0], blocks[1], size[1]).transpose(0, 2, 4, 1, 3, 5)
        w = w.reshape(o, blocks[0] * blocks[1] * c, *size)

    bias = None if b is None else g.weight(np.asarray(b, np.float32), "bias")
    return dnn.Conv2dOp(
        x,
        g.weight(np.ascontiguousarray(w), "fitted"),
        bias,
        strides=strides,
        pads=[0, 0, 0, 0],
        dilations=dilations,
    ).output


def _zero_extend(w: np.ndarray, taps: list[int]) -> np.ndarray:
    extra = [(0, 0), (0, 0)] + [(0, t - k) for t, k in zip(taps, w.shape[2:], strict=True)]
    return np.pad(w, extra)


def _pad(g: Importer, x: SSAValue, begin: list[int], end: list[int]) -> SSAValue:
    if not any(begin) and not any(end):
        return x
    widths = np.array([0, 0, *begin, 0, 0, *end], np.int64)
    (y,) = g.host("Pad", [x, widths], {})
    return y


def _fit(g: Importer, x: SSAValue, have: list[int], want: list[int]) -> SSAValue:
    """`x`'s spatial extents `have` cut or zero-extended at the end to `want`."""
    x = _pad(g, x, [0, 0], [max(0, w - h) for h, w in zip(have, want, strict=True)])
    if all(w >= h for h, w in zip(have, want, strict=True)):
        return x
    return _slice(g, x, [0, 0], want)


def _slice(g: Importer, x: SSAValue, start: list[int], size: list[int]) -> SSAValue:
    if start == [0, 0] and list(shape_of(x)[2:]) == size:
        return x
    starts = np.array(start, np.int64)
    ends = starts + np.array(size, np.int64)
    (y,) = g.host("Slice", [x, starts, ends, np.array([2, 3], np.int64)], {})
    return y
