"""Translators of the transformer ops: MatMul (dense over all positions, or the product of two
activations), LayerNormalization and Gelu.

1. MatMul by a constant 2-D matrix (the projections and feed-forward layers of exported
   transformers, [..., S, K] @ [K, N]) over more than one float row becomes a 1x1 conv over
   the rows (`layers._rows_as_pixels`, which the accelerator runs); over one row, or on
   integer values, a `dnn.dense` on the flattened rows, reshaped back. Any other MatMul
   (Q·K^T, attention·V) is a `dnn.matmul`.
2. LayerNormalization (opset 17) becomes `dnn.layer_norm`, along the last axis of a tensor
   of rank > 3 (ConvNeXt's channels-last [1, H, W, C]) on its rows [H*W, C], the form ROW
   takes; a node whose optional Mean or InvStdDev output is read runs on the host, which
   computes all three.
3. Gelu (opset 20, approximate "none") becomes `dnn.gelu`; the tanh approximation runs on the
   host. The opset < 17 / < 20 decompositions reach these translators through
   `fvir.frontend.fuse`.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

import numpy as np
from xdsl.ir import SSAValue

from fvir.frontend.translate.layers import _many_rows, _on_rows, _rows_as_pixels
from fvir.frontend.translate.registry import translator
from fvir.frontend.values import Val, reshape, shape_of
from fvir.ir import dnn
from fvir.onnxops.core import norm_axis

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer


@translator("MatMul")
def _matmul(g: Importer, a: Val, b: Val) -> SSAValue:
    a_shape = shape_of(a)
    if _many_rows(a, b):  # a 1x1 conv over the rows, which the accelerator runs
        assert isinstance(a, SSAValue) and isinstance(b, np.ndarray)
        rows = reshape(a, (prod(a_shape[:-1]), a_shape[-1]))
        y = _rows_as_pixels(g, rows, b.astype(np.float64), None)
        return reshape(y, (*a_shape[:-1], b.shape[1]))
    if isinstance(b, np.ndarray) and b.ndim == 2 and isinstance(a, SSAValue) and a_shape[:-1]:
        rows = reshape(a, (prod(a_shape[:-1]), a_shape[-1]))
        y = dnn.DenseOp(rows, g.value(b)).output
        return reshape(y, (*a_shape[:-1], b.shape[1]))
    return dnn.MatMulOp(g.value(a), g.value(b)).output


@translator("LayerNormalization")
def _layer_norm(
    g: Importer,
    x: Val,
    scale: Val,
    bias: Val | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> list[SSAValue] | SSAValue | dnn.LayerNormOp:
    if any(g.used(i) for i in (1, 2)):
        return g.host_node()
    shape = shape_of(x)
    rank = len(shape)
    if rank > 3 or (rank == 3 and shape[0] != 1):  # on rows, as ROW takes it (not [1, S, D])
        if norm_axis(axis, rank) == rank - 1:
            s, b = g.value(scale), None if bias is None else g.value(bias)
            return _on_rows(
                lambda rows: dnn.LayerNormOp(rows, s, b, axis=-1, epsilon=epsilon).output,
                g.value(x))
    return dnn.LayerNormOp(
        g.value(x),
        g.value(scale),
        None if bias is None else g.value(bias),
        axis=axis,
        epsilon=epsilon,
    )


@translator("Gelu")
def _gelu(g: Importer, x: Val, *, approximate: str = "none") -> list[SSAValue] | dnn.GeluOp:
    if approximate != "none":
        return g.host_node()
    return dnn.GeluOp(g.value(x))
