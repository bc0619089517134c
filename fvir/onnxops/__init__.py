"""ONNX operator semantics in numpy: one table for constant folding and host execution.

The importer folds a node whose inputs are all constants with the kernel here, and a node it
cannot lower to a dnn op becomes `dnn.host "<OpType>"`, which the reference executor runs with
the same kernel; so a constant subgraph and the same subgraph on real inputs compute the same.
This package depends on numpy and `fvir.errors` only. Semantics follow the ONNX operator docs
(https://onnx.ai/onnx/operators/) at the latest opset, checked against onnxruntime; where an
attribute became an input in a later opset (axes, pads, split, ...) both forms are accepted.

1. `core`: the table `OPS`, the `kernel` registration, `call` (binds a node's inputs and
   attributes as an ONNX node would, runs the kernel) and the shared helpers.
2. `shape`, `elementwise`, `reduce`, `nn`: the kernels by op family; `shape` also holds ONNX's
   shape rules that the importer types its dnn ops with.
"""

from fvir.onnxops import elementwise, nn, reduce, shape
from fvir.onnxops.core import (
    DTYPES,
    MAX_ELEMENTS,
    OPS,
    OpError,
    call,
    check_call,
    check_elements,
    np_dtype,
    unsupported,
)

__all__ = [
    "DTYPES",
    "MAX_ELEMENTS",
    "OPS",
    "OpError",
    "call",
    "check_call",
    "check_elements",
    "elementwise",
    "nn",
    "np_dtype",
    "reduce",
    "shape",
    "unsupported",
]
