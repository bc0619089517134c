"""The ONNX importer's public API: `load_model` reads and checks a file, `import_model` turns
a `ModelProto` into a dnn module plus its `WeightStore` (an `ImportedModel`).

1. `fvir.frontend.load`: reading, checking, the weight-free skeleton, opset conversion.
2. `fvir.frontend.fuse`: LayerNorm and GELU decompositions back into one node each.
3. `fvir.frontend.graph`: the walk over the nodes that folds constants with the ONNX kernels
   of `fvir.onnxops` and builds dnn ops with
4. `fvir.frontend.translate`: one translator per ONNX op, registered in one table.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx

from fvir.frontend.fuse import fuse_decompositions
from fvir.frontend.graph import MAX_CONSTANT_ELEMENTS, ImportedModel, Importer
from fvir.frontend.load import COMMON_OPSET, load_model, prepare
from fvir.frontend.translate import NO_FOLD, OPS


def import_model(
    model: onnx.ModelProto,
    input_shapes: dict[str, Sequence[int]] | None = None,
    name: str | None = None,
) -> ImportedModel:
    """Import `model` as a dnn module holding one `func.func @main` plus its weights.

    `input_shapes` gives static shapes to graph inputs (required for symbolic dims); `name`
    becomes the module's `dnn.model` attribute (default: the graph name).
    """
    skeleton, big, opset, source_opset = prepare(model)
    graph = skeleton.graph
    fuse_decompositions(graph, big)
    importer = Importer(graph, big, opset, source_opset, OPS, frozenset(NO_FOLD))
    return importer.run(input_shapes or {}, name or graph.name or "model")


__all__ = [
    "COMMON_OPSET",
    "MAX_CONSTANT_ELEMENTS",
    "ImportedModel",
    "import_model",
    "load_model",
]
