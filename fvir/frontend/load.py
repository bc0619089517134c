"""Reading an ONNX file and preparing its graph for the importer.

1. `load_model` reads the file and its external data and runs the ONNX checker; every way a
   file can be unreadable or invalid is one `UserError` line.
2. `skeleton` moves initializers of more than `SKELETON_MAX` elements out of a copy of the model
   (they become typed graph inputs), so the checker, the version converter and shape inference
   see kilobytes, not the weights (ResNet-50: 10 ms instead of 2 s).
3. `prepare` inlines model-local functions, checks the default-domain opset against the range
   onnx knows, and converts a model below `COMMON_OPSET` to it with onnx's version converter
   (Softmax gets single-axis semantics; Squeeze, Unsqueeze, Split, ReduceSum, Pad, Clip, Slice
   and Dropout take their parameters as inputs; Upsample becomes Resize). If the converter
   fails, import stops with a one-line error: the older semantics are not all reproduced.
"""

from __future__ import annotations

from math import prod
from pathlib import Path

import onnx
import onnx.defs
import onnx.inliner
import onnx.version_converter
from google.protobuf.message import DecodeError
from onnx import helper

from fvir.errors import UserError

COMMON_OPSET = 13
"""Models below this opset are converted to it before import."""

MIN_OPSET = 1
MAX_OPSET = onnx.defs.onnx_opset_version()
"""The default-domain opsets a model may import: those the installed onnx defines (older ones
are converted to `COMMON_OPSET`)."""

SKELETON_MAX = 1024
"""Initializers up to this size stay in the skeleton: shape tensors, whose values ONNX shape
inference and the version converter may need."""


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def load_model(path: str | Path) -> onnx.ModelProto:
    """Read an ONNX file (with its external data) and run the ONNX checker on it."""
    try:
        model = onnx.load(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror}") from None
    except onnx.checker.ValidationError as exc:  # external data: missing, absolute, `..`, a dir
        raise UserError(f"cannot read the external data of '{path}': {one_line(exc)}") from None
    except (DecodeError, RuntimeWarning, ValueError, UnicodeDecodeError):
        raise UserError(f"'{path}' is not an ONNX model") from None
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {one_line(exc)}") from None
    if not model.HasField("graph") or not model.opset_import:
        # An empty or foreign file can parse as an (empty) protobuf message.
        raise UserError(f"'{path}' is not an ONNX model")
    try:
        onnx.checker.check_model(skeleton(model)[0])
    except onnx.checker.ValidationError as exc:
        raise UserError(f"'{path}' fails the ONNX checker: {one_line(exc)}") from None
    except UnicodeDecodeError:  # strings that are not UTF-8 parse, but the checker decodes them
        message = f"'{path}' is not an ONNX model: it holds strings that are not UTF-8"
        raise UserError(message) from None
    return model


def skeleton(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, onnx.TensorProto]]:
    """A copy of `model` whose large initializers are typed graph inputs, and those
    initializers by name (not copied)."""
    graph = model.graph
    inputs = {vi.name for vi in graph.input}
    small, big = [], {}
    for t in graph.initializer:
        if prod(t.dims) > SKELETON_MAX:
            big[t.name] = t
        else:
            small.append(t)
    extra = [
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
        for t in big.values()
        if t.name not in inputs
    ]
    copy = helper.make_model(
        helper.make_graph(
            graph.node,
            graph.name,
            [*graph.input, *extra],
            graph.output,
            small,
            value_info=graph.value_info,
        ),
        ir_version=model.ir_version,
        opset_imports=model.opset_import,
        functions=model.functions,
    )
    return copy, big


def default_opset(model: onnx.ModelProto) -> int:
    """The model's default-domain opset, checked against [MIN_OPSET, MAX_OPSET]."""
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            if not MIN_OPSET <= o.version <= MAX_OPSET:
                raise UserError(
                    f"the model's ONNX opset {o.version} is outside the supported range "
                    f"{MIN_OPSET}-{MAX_OPSET}"
                )
            return o.version
    raise UserError("the model imports no version of the default ONNX opset")


def prepare(
    model: onnx.ModelProto,
) -> tuple[onnx.ModelProto, dict[str, onnx.TensorProto], int, int]:
    """The skeleton of `model` at opset >= `COMMON_OPSET`, its large initializers, that opset
    and the model's own (source) opset."""
    try:
        copy, big = skeleton(model)
    except UnicodeDecodeError:  # a ModelProto built in memory from bytes that are not UTF-8
        raise UserError("the model holds strings that are not UTF-8") from None
    if copy.functions:  # model-local functions (dynamo exports): inline them
        copy = onnx.inliner.inline_local_functions(copy)
    source_opset = opset = default_opset(copy)
    if opset < COMMON_OPSET:
        copy = _convert(copy, opset)
        opset = COMMON_OPSET
    return copy, big, opset, source_opset


def _convert(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`model` converted to `COMMON_OPSET`, or a one-line error. Importing the original
    instead would run translators and kernels written for opset-13 semantics on older ones
    (legacy `broadcast`/`axis` broadcasting, Tile-1's axis input, ...), which fail later or
    compute something else."""
    try:
        return onnx.version_converter.convert_version(model, COMMON_OPSET)
    except Exception as exc:  # the converter raises bare RuntimeErrors with C++ assertion text
        reason = one_line(exc).rsplit("failed: ", 1)[-1]
        raise UserError(
            f"cannot convert the model from opset {opset} to {COMMON_OPSET} "
            f"(onnx's version converter: {reason}); export it with opset {COMMON_OPSET} or later"
        ) from None
