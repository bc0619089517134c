"""ONNX -> dnn importer: a `ModelProto` becomes a dnn module plus a `WeightStore`.

One standalone file in the manner of torch-mlir's ONNX importer and tinygrad's `nn/onnx.py`:
`OPS` maps an ONNX op type to a small function that receives the node's inputs positionally and
its attributes as typed keyword arguments with ONNX's defaults; `FOLD` does the same in numpy for
constant inputs. Legalisation and optimisation are left to passes.

`import_model` works in five steps:

1. Skeleton. Initializers of more than `_SKELETON_MAX` elements are moved out of a copy of the
   model (they become typed graph inputs), so the checker, the version converter and shape
   inference see kilobytes, not the weights (ResNet-50: 10 ms instead of 2 s).
2. Opset. A model below opset 13 (`COMMON_OPSET`) is converted to 13 with onnx's version
   converter: Softmax gets single-axis semantics; Squeeze, Unsqueeze, Split, ReduceSum, Pad,
   Clip, Slice and Dropout take their parameters as inputs; Upsample becomes Resize. If the
   converter fails, import stops with a one-line error (the older semantics are not all
   reproduced here). The translators still accept the older attribute forms (an attribute binds
   to the parameter of the input that replaced it), and the model's own opset stays known for
   nodes the converter keeps although their meaning changed (PRelu before opset 7: a 1-D slope
   is per channel; Hardmax before 13: on the input coerced to 2-D).
3. Inputs get static shapes, from the model or from `input_shapes`. A symbolic or unknown dim
   without an override is a `UserError` that suggests `--shape NAME=1x3x224x224`; no default
   batch size is assumed.
4. One walk over the topologically sorted nodes. A value is a numpy array (a constant:
   initializer, Constant, folded result) or an SSA value. A node whose inputs are all constants
   and whose op is in `FOLD` is evaluated in numpy, which resolves the `Shape -> Gather ->
   Unsqueeze -> Concat -> Reshape` chains of exported graphs (Shape of an SSA value folds too:
   every shape is static). Otherwise `OPS` builds dnn ops; an op type the reference executor can
   run (`fvir.reference.host.HOST_OPS`) becomes `dnn.host`, its result types from ONNX shape
   inference run on that node alone, with its constant inputs visible.
5. Constants become IR only where an op needs them as operands: an initializer as one
   `dnn.weight "<initializer name>"` placed before its first use; a folded tensor as
   `dnn.constant` if it has at most 16 elements, else as a new weight named after its value.

Element types: float16/32/64 -> f16/f32/f64; int8..int64 -> signless i8..i64 (MLIR's convention
for ONNX's signed integers); uint8..uint64 -> unsigned ui8..ui64, so executors can map the type
back to the numpy dtype; bool -> i1 (see `fvir.ir.weights`).

Inference-only semantics: Dropout and Identity vanish (a used Dropout mask folds to ones);
training-mode BatchNormalization is rejected. A zero constant Pad whose only consumers are Conv
(or AveragePool counting padding) is folded into their pads. 1-D Conv and pooling are imported
as 2-D with H = 1 between reshapes. Absent optional inputs in the middle of a host op's inputs
are passed as empty float tensors (ONNX's convention for Resize's roi and scales).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import onnx
import onnx.inliner
import onnx.shape_inference
import onnx.version_converter
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import WeightStore, element_type, numpy_dtype

COMMON_OPSET = 13
"""Models below this opset are converted to it before import."""

MAX_CONSTANT_ELEMENTS = 16
"""Folded tensors up to this size are inlined as `dnn.constant`; larger ones become weights."""

_SKELETON_MAX = 1024
"""Initializers up to this size stay in the skeleton: shape tensors, whose values ONNX shape
inference and the version converter may need."""

_F32_MAX = float(np.finfo(np.float32).max)

Val = SSAValue | np.ndarray
"""An importer value: a constant (numpy array) or an SSA value of the function being built."""


@dataclass
class ImportedModel:
    """The result of `import_model`."""

    module: ModuleOp
    weights: WeightStore
    input_names: list[str]
    output_names: list[str]


# ------------------------------------------------------------------------------- loading


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def load_model(path: str | Path) -> onnx.ModelProto:
    """Read an ONNX file (with its external data) and run the ONNX checker on it."""
    try:
        model = onnx.load(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror}") from None
    except (DecodeError, RuntimeWarning, ValueError, UnicodeDecodeError):
        raise UserError(f"'{path}' is not an ONNX model") from None
    except OSError as exc:  # e.g. a missing external-data file
        raise UserError(f"cannot read '{path}': {_one_line(exc)}") from None
    if not model.HasField("graph") or not model.opset_import:
        # An empty or foreign file can parse as an (empty) protobuf message.
        raise UserError(f"'{path}' is not an ONNX model")
    try:
        onnx.checker.check_model(_skeleton(model)[0])
    except onnx.checker.ValidationError as exc:
        raise UserError(f"'{path}' fails the ONNX checker: {_one_line(exc)}") from None
    return model


def _skeleton(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, onnx.TensorProto]]:
    """A copy of `model` whose large initializers are typed graph inputs, and those
    initializers by name (not copied)."""
    graph = model.graph
    inputs = {vi.name for vi in graph.input}
    small, big = [], {}
    for t in graph.initializer:
        if prod(t.dims) > _SKELETON_MAX:
            big[t.name] = t
        else:
            small.append(t)
    extra = [
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
        for t in big.values()
        if t.name not in inputs
    ]
    skeleton = helper.make_model(
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
    return skeleton, big


def _default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    raise UserError("the model imports no version of the default ONNX opset")


# -------------------------------------------------------------------------------- import


def import_model(
    model: onnx.ModelProto,
    input_shapes: dict[str, Sequence[int]] | None = None,
    name: str | None = None,
) -> ImportedModel:
    """Import `model` as a dnn module holding one `func.func @main` plus its weights.

    `input_shapes` gives static shapes to graph inputs (required for symbolic dims); `name`
    becomes the module's `dnn.model` attribute (default: the graph name).
    """
    skeleton, big = _skeleton(model)
    if skeleton.functions:  # model-local functions (dynamo exports): inline them
        skeleton = onnx.inliner.inline_local_functions(skeleton)
    source_opset = opset = _default_opset(skeleton)
    if opset < COMMON_OPSET:
        skeleton = _convert(skeleton, opset)
        opset = COMMON_OPSET
    graph = skeleton.graph
    importer = _Importer(graph, big, opset, _host_op_types(), source_opset)
    return importer.run(input_shapes or {}, name or graph.name or "model")


def _convert(skeleton: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """`skeleton` converted to `COMMON_OPSET`, or a one-line error. Importing the original
    instead would run translators and host functions written for opset-13 semantics on older
    ones (legacy `broadcast`/`axis` broadcasting, Tile-1's axis input, ...), which fail later or
    compute something else."""
    try:
        return onnx.version_converter.convert_version(skeleton, COMMON_OPSET)
    except Exception as exc:  # the converter raises bare RuntimeErrors with C++ assertion text
        reason = _one_line(exc).rsplit("failed: ", 1)[-1]
        raise UserError(
            f"cannot convert the model from opset {opset} to {COMMON_OPSET} "
            f"(onnx's version converter: {reason}); export it with opset {COMMON_OPSET} or later"
        ) from None


def _host_limit(op_type: str, attrs: dict[str, Any]) -> str | None:
    """Why the host function of `op_type` cannot run these attributes (None: it can)."""
    from fvir.reference.host import unsupported

    return unsupported(op_type, attrs)


def _host_op_types() -> frozenset[str]:
    """The ONNX op types the reference executor runs in numpy (`dnn.host` candidates); one
    table, so what may become a host op and how it computes cannot disagree."""
    from fvir.reference.host import HOST_OPS

    return frozenset(HOST_OPS)


# ------------------------------------------------------------------------------- helpers


class _Invalid(Exception):
    """A model problem found by a helper; the importer adds the node and raises UserError."""


@dataclass(frozen=True)
class _Padded:
    """A zero Pad folded into its Conv/AveragePool consumers: `pads` are spatial, ONNX order."""

    value: SSAValue
    pads: tuple[int, ...]


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_$.-]")


def _name_hint(name: str) -> str | None:
    """A readable SSA name for an ONNX value name (xDSL allows [A-Za-z0-9_$.-], no leading
    digit, and strips a trailing `_N`, which it uses to uniquify: keep it as `.N`)."""
    hint = _NAME_CHARS.sub("_", name).strip("_")
    if not hint:
        return None
    if hint[0].isdigit():
        hint = "v" + hint
    return re.sub(r"_(\d+)$", r".\1", hint)


def _dims(shape: Sequence[int | str]) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _f32(value: float) -> float:
    """ONNX float attributes are float32: keep the shortest decimal that round-trips
    (1e-05, not 9.99999974738e-06)."""
    return float(str(np.float32(value)))


def _attr_value(attr: onnx.AttributeProto) -> Any:
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
    if attr.type in (A.INTS,):
        return list(value)
    return value


def _np_dtype(onnx_type: int) -> np.dtype:
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type))
    except (KeyError, TypeError):
        raise _Invalid(f"unsupported ONNX element type {onnx_type}") from None


def _tensor_type(dtype: np.dtype, shape: Sequence[int]) -> TensorType:
    try:
        return TensorType(element_type(dtype), list(shape))
    except UserError:
        raise _Invalid(f"unsupported element type {dtype.name}") from None


def _onnx_type_name(onnx_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(onnx_type)
    except ValueError:
        return str(onnx_type)


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise _Invalid(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def _reshape_shape(shape: Sequence[int], spec: Sequence[int], allowzero: int) -> tuple[int, ...]:
    """ONNX Reshape's target: 0 copies the input dim (unless allowzero), -1 is inferred."""
    out, infer = [], None
    for i, d in enumerate(int(d) for d in spec):
        if d == -1:
            if infer is not None:
                raise _Invalid(f"shape {list(spec)} has more than one -1")
            infer = i
            out.append(1)
        elif d == 0 and not allowzero:
            if i >= len(shape):
                raise _Invalid(f"shape {list(spec)} copies dim {i} of a rank-{len(shape)} input")
            out.append(shape[i])
        elif d < 0:
            raise _Invalid(f"shape {list(spec)} has a negative dim")
        else:
            out.append(d)
    total = prod(shape)
    if infer is not None:
        known = prod(out)
        if known == 0 or total % known:
            raise _Invalid(f"cannot reshape {_dims(shape)} to {list(spec)}")
        out[infer] = total // known
    if prod(out) != total:
        raise _Invalid(f"cannot reshape {_dims(shape)} to {list(spec)}")
    return tuple(out)


def _squeeze_shape(shape: Sequence[int], axes: Sequence[int] | None) -> tuple[int, ...]:
    if axes is None:
        return tuple(d for d in shape if d != 1)
    drop = {_axis(int(a), len(shape)) for a in axes}
    if any(shape[a] != 1 for a in drop):
        raise _Invalid(f"cannot squeeze axes {list(axes)} of shape {_dims(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def _unsqueeze_shape(shape: Sequence[int], axes: Sequence[int]) -> tuple[int, ...]:
    rank = len(shape) + len(axes)
    new = sorted(_axis(int(a), rank) for a in axes)
    if len(set(new)) != len(new):
        raise _Invalid(f"repeated axes {list(axes)}")
    out, rest = [], iter(shape)
    for i in range(rank):
        out.append(1 if i in new else next(rest))
    return tuple(out)


def _slices(
    shape: Sequence[int],
    starts: Sequence[int],
    ends: Sequence[int],
    axes: Sequence[int] | None,
    steps: Sequence[int] | None,
) -> tuple[list[int], list[slice]]:
    """ONNX Slice parameters as normalized axes and Python slices (whose clamping rules are
    ONNX's: negative indices count from the end, out-of-range ones clamp)."""
    axes = list(range(len(starts))) if axes is None else [_axis(int(a), len(shape)) for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise _Invalid("starts, ends, axes and steps differ in length")
    if any(s == 0 for s in steps):
        raise _Invalid("slice steps must not be 0")
    per_axis = [slice(None)] * len(shape)
    for a, s, e, st in zip(axes, starts, ends, steps, strict=True):
        per_axis[a] = slice(int(s), int(e), st)
    return axes, per_axis


def _window_pads(
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int] | None,
    auto_pad: str,
) -> list[int]:
    """Explicit ONNX pads [begin..., end...] of a Conv/Pool, resolving `auto_pad`."""
    n = len(kernel)
    if auto_pad in ("NOTSET", ""):
        pads = list(pads) if pads else [0] * 2 * n
        if len(pads) != 2 * n:
            raise _Invalid(f"pads {pads} must have {2 * n} elements")
        return pads
    if auto_pad == "VALID":
        return [0] * 2 * n
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise _Invalid(f"unknown auto_pad '{auto_pad}'")
    begins, ends = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends


# ------------------------------------------------------------------------------ importer


class _Importer:
    """State of one import: the values of the ONNX names and the block being built."""

    def __init__(
        self,
        graph: onnx.GraphProto,
        big: dict[str, onnx.TensorProto],
        opset: int,
        host_types: frozenset[str],
        source_opset: int | None = None,
    ):
        self.graph = graph
        self.opset = opset
        # The model's own opset, before conversion: where the converter keeps a node unchanged
        # but its meaning changed (PRelu-6's per-channel slope, Hardmax-11's 2-D coercion),
        # the translator needs it.
        self.source_opset = opset if source_opset is None else source_opset
        self.host_types = host_types
        self.initializers: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        self.initializers.update(big)
        self.env: dict[str, Val] = {}
        self.weights = WeightStore()
        # id(array) -> (array, its SSA value / ONNX name); arrays are kept alive in the tuples.
        self._materialized: dict[int, tuple[np.ndarray, SSAValue]] = {}
        self._names: dict[int, tuple[np.ndarray, str]] = {}
        self._weight_names: set[int] = set()  # ids of arrays that are original initializers
        self.graph_outputs = {o.name for o in graph.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in graph.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.node = onnx.NodeProto()
        self.label = self.where = ""  # "node 'conv1'" and "node 'conv1' (Conv)", for errors
        self._inputs: list[Val | None] = []
        self._attrs: dict[str, Any] = {}

    # -- errors
    def fail(self, message: str) -> NoReturn:
        raise UserError(f"{self.where}: {message}")

    def unsupported(self) -> NoReturn:
        op = self.node.op_type
        if self.node.domain not in ("", "ai.onnx"):
            op = f"{self.node.domain}.{op}"
        raise UserError(f"unsupported ONNX op '{op}' ({self.label})")

    # -- values
    def lookup(self, name: str) -> Val | None:
        if not name:
            return None
        if name in self.env:
            return self.env[name]
        if name in self.initializers:
            try:
                array = numpy_helper.to_array(self.initializers[name])
            except Exception as exc:  # damaged tensor data: onnx raises assorted errors
                self.fail(f"cannot read initializer '{name}': {_one_line(exc)}")
            self.bind(name, array)
            self._weight_names.add(id(array))
            return array
        self.fail(f"input '{name}' is not defined by any earlier node, input or initializer")

    def bind(self, name: str, value: Val) -> None:
        self.env[name] = value
        if isinstance(value, np.ndarray):
            self._names.setdefault(id(value), (value, name))
        elif isinstance(value, SSAValue) and value.name_hint is None and (hint := _name_hint(name)):
            value.name_hint = hint

    def value(self, v: Val) -> SSAValue:
        """The SSA value of `v`, materializing a constant on first use."""
        if isinstance(v, SSAValue):
            return v
        assert isinstance(v, np.ndarray), f"not an importer value: {v!r}"
        if id(v) in self._materialized:
            return self._materialized[id(v)][1]
        name = self._names[id(v)][1] if id(v) in self._names else None
        if id(v) in self._weight_names or v.size > MAX_CONSTANT_ELEMENTS:
            base = name or (f"{self.node.output[0]}.const" if self.node.output else "const")
            ty = _tensor_type(v.dtype, v.shape)
            result = dnn.WeightOp(self.weights.add(base, v), ty).output
        else:
            ty = _tensor_type(v.dtype, v.shape)
            attr = DenseIntOrFPElementsAttr.from_list(ty, v.ravel().tolist())
            result = dnn.ConstantOp(attr).output
        if name and (hint := _name_hint(name)):
            result.name_hint = hint
        self._materialized[id(v)] = (v, result)
        return result

    def const(self, v: Val | None, what: str) -> np.ndarray | None:
        """`v` as a numpy array; a run-time value is an error naming input `what`."""
        if v is None or isinstance(v, np.ndarray):
            return v
        self.fail(
            f"'{what}' must be a constant (folded from initializers and static shapes), "
            "but it is computed at run time"
        )

    def ints(self, v: Val | Sequence[int] | None, what: str) -> list[int] | None:
        """An integer list given as an attribute (older opsets) or a constant input."""
        if v is None or isinstance(v, list | tuple):
            return None if v is None else [int(i) for i in v]
        return [int(i) for i in np.asarray(self.const(v, what)).ravel()]

    def scalar(self, v: Val | float | None, what: str, default: float) -> float:
        if v is None:
            return default
        if isinstance(v, float | int):
            return float(v)
        array = self.const(v, what)
        assert array is not None
        if array.size == 0:
            return default
        return float(array.ravel()[0])

    @staticmethod
    def shape(v: Val | _Padded) -> tuple[int, ...]:
        if isinstance(v, _Padded):
            v = v.value
        if isinstance(v, np.ndarray):
            return v.shape
        ty = v.type
        assert isinstance(ty, TensorType)
        return tuple(ty.get_shape())

    @staticmethod
    def dtype(v: Val) -> np.dtype:
        if isinstance(v, np.ndarray):
            return v.dtype
        ty = v.type
        assert isinstance(ty, TensorType)
        return numpy_dtype(ty.element_type)

    def used(self, index: int) -> bool:
        """Whether output `index` of the current node is read by a node or the graph."""
        outs = self.node.output
        return (
            index < len(outs)
            and bool(outs[index])
            and (outs[index] in self.consumers or outs[index] in self.graph_outputs)
        )

    # -- host ops
    def host(
        self,
        op_type: str,
        inputs: Sequence[Val | None],
        attrs: dict[str, Any],
        n_outputs: int = 1,
    ) -> list[SSAValue]:
        """A `dnn.host` op with result types from ONNX shape inference on this node alone."""
        if op_type not in self.host_types:
            self.unsupported()
        if (reason := _host_limit(op_type, attrs)) is not None:
            self.fail(f"fvir does not support {reason}")
        ins = list(inputs)
        while ins and ins[-1] is None:
            ins.pop()
        for key, val in attrs.items():
            if not isinstance(val, int | float | str | list):
                self.fail(f"attribute '{key}' cannot be passed to a host op")
        types = self._infer_types(op_type, ins, attrs, n_outputs)
        empty = np.zeros((0,), np.float32)
        operands = [self.value(empty if v is None else v) for v in ins]
        return list(dnn.HostOp(op_type, operands, types, attrs).results)

    def host_node(self) -> list[SSAValue]:
        """The current node, unchanged, as a host op (up to its last named output)."""
        n_outputs = max((i + 1 for i, o in enumerate(self.node.output) if o), default=1)
        return self.host(self.node.op_type, self._inputs, self._attrs, n_outputs)

    def _infer_types(
        self, op_type: str, ins: Sequence[Val | None], attrs: dict[str, Any], n_outputs: int
    ) -> list[TensorType]:
        names, graph_inputs, initializers = [], [], []
        for i, v in enumerate(ins):
            if v is None:
                names.append("")
                continue
            name = f"in{i}"
            names.append(name)
            if isinstance(v, np.ndarray) and v.size <= _SKELETON_MAX:
                initializers.append(numpy_helper.from_array(v, name))  # data-dependent shapes
            else:
                elem = helper.np_dtype_to_tensor_dtype(self.dtype(v))
                graph_inputs.append(helper.make_tensor_value_info(name, elem, self.shape(v)))
        outs = [f"out{i}" for i in range(n_outputs)]
        node = helper.make_node(op_type, names, outs, **{k: v for k, v in attrs.items() if v != []})
        model = helper.make_model(
            helper.make_graph(
                [node],
                "host",
                graph_inputs,
                [onnx.ValueInfoProto(name=o) for o in outs],
                initializers,
            ),
            opset_imports=[helper.make_opsetid("", self.opset)],
        )
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as exc:
            self.fail(f"ONNX shape inference failed: {_one_line(exc)}")
        types = []
        for i, out in enumerate(inferred.graph.output):
            tt = out.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if not tt.elem_type or not tt.HasField("shape") or None in dims:
                name = self.node.output[i] if i < len(self.node.output) else ""
                if not name:  # an unnamed optional output: nothing reads it
                    types.append(TensorType(f32, [0]))
                    continue
                self.fail(f"cannot infer a static shape for output '{name}'")
            types.append(_tensor_type(_np_dtype(tt.elem_type), dims))
        return types

    # -- the walk
    def run(self, input_shapes: dict[str, Sequence[int]], name: str) -> ImportedModel:
        graph = self.graph
        inputs = [vi for vi in graph.input if vi.name not in self.initializers]
        known = [vi.name for vi in inputs]
        for given in input_shapes:
            if given not in known:
                raise UserError(
                    f"shape given for unknown input '{given}' (graph inputs: {', '.join(known)})"
                )
        block = Block(arg_types=[self._input_type(vi, input_shapes.get(vi.name)) for vi in inputs])
        for vi, arg in zip(inputs, block.args, strict=True):
            self.bind(vi.name, arg)

        with ImplicitBuilder(block):
            for index, node in enumerate(graph.node):
                self._translate(index, node, block)
            self.node, self.where = onnx.NodeProto(), "graph outputs"
            with self._errors():
                results = [self.lookup(o.name) for o in graph.output]
                outputs = [self.value(v) for v in results if v is not None]
            func.ReturnOp(*outputs)

        fn = func.FuncOp("main", (block.arg_types, [v.type for v in outputs]), Region(block))
        fn.attributes["dnn.input_names"] = ArrayAttr([StringAttr(vi.name) for vi in inputs])
        fn.attributes["dnn.output_names"] = ArrayAttr([StringAttr(o.name) for o in graph.output])
        module = ModuleOp([fn], attributes={"dnn.model": StringAttr(name)})
        module.verify()
        return ImportedModel(module, self.weights, known, [o.name for o in graph.output])

    def _input_type(self, vi: onnx.ValueInfoProto, given: Sequence[int] | None) -> TensorType:
        if not vi.type.HasField("tensor_type"):
            raise UserError(f"input '{vi.name}' is not a tensor")
        tt = vi.type.tensor_type
        try:
            elem = element_type(_np_dtype(tt.elem_type))
        except (UserError, _Invalid):
            raise UserError(
                f"input '{vi.name}' has unsupported element type {_onnx_type_name(tt.elem_type)}"
            ) from None
        model_dims: list[int | str] | None = None
        if tt.HasField("shape"):
            model_dims = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in tt.shape.dim
            ]
        if given is not None:
            dims = [int(d) for d in given]
            if any(d < 0 for d in dims):
                raise UserError(
                    f"shape {list(dims)} given for input '{vi.name}' has a negative dim"
                )
            if model_dims is not None:
                if len(dims) != len(model_dims):
                    raise UserError(
                        f"shape {_dims(dims)} given for input '{vi.name}' has rank {len(dims)}, "
                        f"but the model's input has rank {len(model_dims)}"
                    )
                if any(
                    isinstance(m, int) and m != d for m, d in zip(model_dims, dims, strict=True)
                ):
                    raise UserError(
                        f"shape {_dims(dims)} given for input '{vi.name}' conflicts with its "
                        f"static shape {_dims(model_dims)}"
                    )
            return TensorType(elem, dims)
        if model_dims is None:
            raise UserError(
                f"input '{vi.name}' has no shape; give one with --shape {vi.name}=DIMS, "
                f"e.g. {vi.name}=1x3x224x224"
            )
        if all(isinstance(d, int) for d in model_dims):
            return TensorType(elem, model_dims)
        example = _dims([d if isinstance(d, int) else 1 for d in model_dims])
        raise UserError(
            f"input '{vi.name}' has dynamic shape [{', '.join(map(str, model_dims))}]; "
            f"give a static one with --shape {vi.name}={example}"
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Report a model problem found while building IR as one line naming the node."""
        try:
            yield
        except VerifyException as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            self.fail(_one_line(lines[0] if lines else "invalid IR"))
        except _Invalid as exc:
            self.fail(str(exc))

    def _translate(self, index: int, node: onnx.NodeProto, block: Block) -> None:
        self.node = node
        label = f"'{node.name}'" if node.name else f"#{index}"
        if not node.name and node.output:
            label += f", output '{node.output[0]}'"
        self.label = f"node {label}"
        self.where = f"{self.label} ({node.op_type})"
        if node.domain not in ("", "ai.onnx"):
            self.unsupported()
        self._inputs = inputs = [self.lookup(i) for i in node.input]
        self._attrs = attrs = {a.name: _attr_value(a) for a in node.attribute}
        last = block.last_op
        op_type = node.op_type
        with self._errors():
            if op_type in FOLD and all(not isinstance(v, SSAValue | _Padded) for v in inputs):
                try:
                    with np.errstate(all="ignore"):  # ONNX semantics: inf/nan, no warnings
                        results = _call(self, FOLD[op_type], inputs, attrs, with_importer=False)
                except (ValueError, IndexError) as exc:  # numpy rejects the model's constants
                    self.fail(f"cannot fold constants: {_one_line(exc)}")
            elif op_type in OPS:
                results = _call(self, OPS[op_type], inputs, attrs, with_importer=True)
            elif op_type in self.host_types:
                results = self.host_node()
            elif op_type in FOLD:
                runtime = [
                    n for n, v in zip(node.input, inputs, strict=True) if isinstance(v, SSAValue)
                ]
                self.fail(
                    f"input '{runtime[0]}' is computed at run time, "
                    f"but fvir supports {op_type} only on constants"
                )
            else:
                self.unsupported()
            # Verify the new ops here, so that a shape mismatch names its ONNX node.
            op = block.first_op if last is None else last.next_op
            while op is not None:
                op.verify()
                op = op.next_op

        for i, out in enumerate(node.output):
            if not out:
                continue
            result = results[i] if i < len(results) else None
            if result is None:
                if self.used(i):
                    self.fail(f"output {i} ('{out}') is not supported")
                continue
            self.bind(out, result)


def _normalize_results(out: Any) -> list[Val | _Padded | None]:
    if isinstance(out, Operation):
        return list(out.results)
    if isinstance(out, np.generic):  # numpy folds may return scalars
        out = np.asarray(out)
    if isinstance(out, SSAValue | np.ndarray | _Padded):
        return [out]
    if out is None:
        return []
    return [
        o.results[0]
        if isinstance(o, Operation)
        else np.asarray(o)
        if isinstance(o, np.generic)
        else o
        for o in out
    ]


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _call(
    g: _Importer,
    fn: Callable[..., Any],
    inputs: list[Val | None],
    attrs: dict[str, Any],
    with_importer: bool,
) -> list[Val | _Padded | None]:
    """Call a translator or folder with inputs as positional and attributes as keyword
    arguments, turning a mismatch into a one-line error."""
    params = list(_signature(fn).parameters.values())[1 if with_importer else 0 :]
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    names = {p.name for p in params if p.kind != p.VAR_POSITIONAL}
    for key in attrs:
        if key not in names:
            g.fail(f"unsupported attribute '{key}'")
    if len(inputs) > len(positional) and not variadic:
        g.fail(f"expected at most {len(positional)} inputs, got {len(inputs)}")
    for i, p in enumerate(positional):
        if p.default is p.empty and (i >= len(inputs) or inputs[i] is None) and p.name not in attrs:
            g.fail(f"missing input '{p.name}'")
    for p in params:
        if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name not in attrs:
            g.fail(f"missing attribute '{p.name}'")
    args = (g, *inputs) if with_importer else tuple(inputs)
    return _normalize_results(fn(*args, **attrs))


# ------------------------------------------------------------------------ constant folding

FOLD: dict[str, Callable[..., Any]] = {}
"""ONNX op type -> numpy function evaluating it on constant inputs."""


def _fold(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            FOLD[name] = fn
        return fn

    return register


@_fold("Constant")
def _constant(
    *,
    value: np.ndarray | None = None,
    value_float: float | None = None,
    value_floats: list[float] | None = None,
    value_int: int | None = None,
    value_ints: list[int] | None = None,
    value_string: str | None = None,
    value_strings: list[str] | None = None,
    sparse_value: Any = None,
) -> np.ndarray:
    if value is not None:
        return value
    if value_float is not None:
        return np.array(value_float, np.float32)
    if value_floats is not None:
        return np.array(value_floats, np.float32)
    if value_int is not None:
        return np.array(value_int, np.int64)
    if value_ints is not None:
        return np.array(value_ints, np.int64)
    if value_string is not None or value_strings is not None:
        raise _Invalid("string constants are not supported")
    raise _Invalid("sparse or missing constant values are not supported")


@_fold("ConstantOfShape")
def _constant_of_shape(shape: np.ndarray, *, value: np.ndarray | None = None) -> np.ndarray:
    fill = np.zeros((1,), np.float32) if value is None else value
    return np.full(tuple(int(d) for d in shape.ravel()), fill.ravel()[0], fill.dtype)


@_fold("Cast")
def _cast(x: np.ndarray, *, to: int, saturate: int = 1, round_mode: str = "up") -> np.ndarray:
    return x.astype(_np_dtype(to))


@_fold("CastLike")
def _cast_like(
    x: np.ndarray, like: np.ndarray, *, saturate: int = 1, round_mode: str = "up"
) -> np.ndarray:
    return x.astype(like.dtype)


@_fold("Gather")
def _gather(data: np.ndarray, indices: np.ndarray, *, axis: int = 0) -> np.ndarray:
    return np.take(data, indices.astype(np.int64), axis=_axis(axis, data.ndim))


@_fold("Unsqueeze")
def _unsqueeze(x: np.ndarray, axes: Any = None) -> np.ndarray:
    if axes is None:
        raise _Invalid("missing input 'axes'")
    return x.reshape(_unsqueeze_shape(x.shape, [int(a) for a in np.ravel(axes)]))


@_fold("Squeeze")
def _squeeze(x: np.ndarray, axes: Any = None) -> np.ndarray:
    return x.reshape(_squeeze_shape(x.shape, None if axes is None else np.ravel(axes).tolist()))


@_fold("Concat")
def _concat(*xs: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


@_fold("Reshape")
def _reshape_fold(x: np.ndarray, shape: np.ndarray, *, allowzero: int = 0) -> np.ndarray:
    return x.reshape(_reshape_shape(x.shape, shape.ravel().tolist(), allowzero))


@_fold("Flatten")
def _flatten_fold(x: np.ndarray, *, axis: int = 1) -> np.ndarray:
    return x.reshape(dnn.flatten_shape(x.shape, axis))


@_fold("Transpose")
def _transpose_fold(x: np.ndarray, *, perm: list[int] | None = None) -> np.ndarray:
    return np.transpose(x, perm)


@_fold("Slice")
def _slice_fold(
    data: np.ndarray,
    starts: Any,
    ends: Any,
    axes: Any = None,
    steps: Any = None,
) -> np.ndarray:
    def as_list(v: Any) -> list[int] | None:
        return None if v is None else [int(i) for i in np.ravel(v)]

    _, per_axis = _slices(
        data.shape, as_list(starts) or [], as_list(ends) or [], as_list(axes), as_list(steps)
    )
    return np.ascontiguousarray(data[tuple(per_axis)])


@_fold("Range")
def _range(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return np.arange(start.item(), limit.item(), delta.item()).astype(start.dtype)


@_fold("Expand")
def _expand(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    target = np.broadcast_shapes(x.shape, tuple(int(d) for d in shape.ravel()))
    return np.broadcast_to(x, target).copy()


@_fold("Tile")
def _tile(x: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    return np.tile(x, repeats.astype(np.int64).tolist())


@_fold("Where")
def _where(condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(condition, x, y)


@_fold("Div")
def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu":  # ONNX integer division truncates toward zero
        return (np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)).astype(a.dtype)
    return np.divide(a, b)


@_fold("Mod")
def _mod(a: np.ndarray, b: np.ndarray, *, fmod: int = 0) -> np.ndarray:
    return np.fmod(a, b) if fmod else np.mod(a, b)


def _elementwise(np_fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def fold(*xs: np.ndarray) -> np.ndarray:
        return np.asarray(np_fn(*xs))

    return fold


for _name, _np_fn in {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Pow": np.power,
    "MatMul": np.matmul,
    "Neg": np.negative,
    "Abs": np.abs,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Sqrt": np.sqrt,
    "Reciprocal": np.reciprocal,
    "Equal": np.equal,
    "Less": np.less,
    "LessOrEqual": np.less_equal,
    "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal,
    "Not": np.logical_not,
    "And": np.logical_and,
    "Or": np.logical_or,
    "Xor": np.logical_xor,
    "Max": lambda *xs: functools.reduce(np.maximum, xs),
    "Min": lambda *xs: functools.reduce(np.minimum, xs),
    "Sum": lambda *xs: functools.reduce(np.add, xs),
}.items():
    FOLD[_name] = _elementwise(_np_fn)


# ------------------------------------------------------------------------------ op table

OPS: dict[str, Callable[..., Any]] = {}
"""ONNX op type -> function(importer, *inputs, **attributes) building dnn ops."""


def _op(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            OPS[name] = fn
        return fn

    return register


def _reshape(x: SSAValue, shape: Sequence[int]) -> SSAValue:
    """dnn.reshape, or `x` itself when the shape does not change."""
    if _Importer.shape(x) == tuple(shape):
        return x
    return dnn.ReshapeOp(x, shape).output


# -- pass-through and shape arithmetic


@_op("Identity")
def _identity(g: _Importer, x: Val) -> Val:
    return x


@_op("Dropout")
def _dropout(
    g: _Importer,
    x: Val,
    ratio: Any = None,
    training_mode: Any = None,
    *,
    seed: int = 0,
    is_test: int = 1,
) -> tuple[Val, Val | None]:
    # Inference: the output is the input; a mask that is read is all ones. So is training mode
    # with ratio 0; other training-mode dropouts draw random masks.
    if g.scalar(training_mode, "training_mode", 0.0) and g.scalar(ratio, "ratio", 0.5):
        g.fail("training-mode Dropout (random masks) is not supported (export in eval mode)")
    return x, np.ones(g.shape(x), np.bool_) if g.used(1) else None


@_op("Shape")
def _shape(g: _Importer, x: Val, *, start: int = 0, end: int | None = None) -> np.ndarray:
    return np.array(g.shape(x)[start:end], np.int64)


@_op("Size")
def _size(g: _Importer, x: Val) -> np.ndarray:
    return np.array(prod(g.shape(x)), np.int64)


@_op("Cast")
def _cast_op(g: _Importer, x: Val, *, to: int, saturate: int = 1, round_mode: str = "up") -> Any:
    if _np_dtype(to) == g.dtype(x):
        return x
    return g.host_node()


@_op("Reshape")
def _reshape_op(g: _Importer, data: Val, shape: Val, *, allowzero: int = 0) -> SSAValue:
    spec = g.ints(shape, "shape")
    assert spec is not None
    return _reshape(g.value(data), _reshape_shape(g.shape(data), spec, allowzero))


@_op("Flatten")
def _flatten(g: _Importer, x: Val, *, axis: int = 1) -> SSAValue:
    if dnn.flatten_shape(g.shape(x), axis) == g.shape(x):
        return g.value(x)
    return dnn.FlattenOp(g.value(x), axis).output


@_op("Squeeze")
def _squeeze_op(g: _Importer, x: Val, axes: Any = None) -> SSAValue:
    return _reshape(g.value(x), _squeeze_shape(g.shape(x), g.ints(axes, "axes")))


@_op("Unsqueeze")
def _unsqueeze_op(g: _Importer, x: Val, axes: Any = None) -> SSAValue:
    return _reshape(g.value(x), _unsqueeze_shape(g.shape(x), g.ints(axes, "axes") or []))


@_op("Transpose")
def _transpose(g: _Importer, x: Val, *, perm: list[int] | None = None) -> SSAValue:
    rank = len(g.shape(x))
    perm = list(reversed(range(rank))) if perm is None else perm
    if perm == list(range(rank)):
        return g.value(x)
    return dnn.TransposeOp(g.value(x), perm).output


@_op("Concat")
def _concat_op(g: _Importer, *inputs: Val, axis: int) -> dnn.ConcatOp:
    return dnn.ConcatOp([g.value(v) for v in inputs], axis)


@_op("Slice")
def _slice_op(
    g: _Importer, data: Val, starts: Any, ends: Any, axes: Any = None, steps: Any = None
) -> Any:
    shape = g.shape(data)
    starts_, ends_ = g.ints(starts, "starts") or [], g.ints(ends, "ends") or []
    axes_, per_axis = _slices(shape, starts_, ends_, g.ints(axes, "axes"), g.ints(steps, "steps"))
    if all(range(d)[s] == range(d) for d, s in zip(shape, per_axis, strict=True)):
        return data
    steps_ = [per_axis[a].step for a in axes_]
    params = [np.array(p, np.int64) for p in (starts_, ends_, axes_, steps_)]
    return g.host("Slice", [data, *params], {})


@_op("Gather")
def _gather_op(g: _Importer, data: Val, indices: Val, *, axis: int = 0) -> Any:
    return g.host_node()


# -- convolution and pooling


def _unpad(x: Val | _Padded) -> tuple[Val, list[int] | None]:
    return (x.value, list(x.pads)) if isinstance(x, _Padded) else (x, None)


def _spatial_rank(g: _Importer, x: Val, what: str) -> int:
    rank = len(g.shape(x))
    if rank not in (3, 4):
        g.fail(f"only 1-D and 2-D {what} are supported, got a rank-{rank} input")
    return rank - 2


def _to_2d(x: SSAValue) -> SSAValue:
    n, c, w = _Importer.shape(x)
    return _reshape(x, (n, c, 1, w))


def _from_2d(y: SSAValue) -> SSAValue:
    n, c, _, w = _Importer.shape(y)
    return _reshape(y, (n, c, w))


@_op("Conv")
def _conv(
    g: _Importer,
    x: Val | _Padded,
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
    n = _spatial_rank(g, x, "convolutions")
    kernel = kernel_shape or list(g.shape(w)[2:])
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    p = _window_pads(g.shape(x)[2:], kernel, strides, dilations, pads, auto_pad)
    if extra:
        p = [a + e for a, e in zip(p, extra, strict=True)]
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


def _pool(
    g: _Importer,
    kind: dnn.PoolKind,
    x: Val | _Padded,
    auto_pad: str,
    ceil_mode: int,
    dilations: list[int] | None,
    kernel_shape: list[int],
    pads: list[int] | None,
    strides: list[int] | None,
    count_include_pad: int = 0,
) -> SSAValue:
    x, extra = _unpad(x)
    n = _spatial_rank(g, x, "poolings")
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    p = _window_pads(g.shape(x)[2:], kernel_shape, strides, dilations, pads, auto_pad)
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


@_op("MaxPool")
def _max_pool(
    g: _Importer,
    x: Val | _Padded,
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


@_op("AveragePool")
def _average_pool(
    g: _Importer,
    x: Val | _Padded,
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


@_op("GlobalAveragePool")
def _global_average_pool(g: _Importer, x: Val) -> dnn.GlobalPoolOp:
    return dnn.GlobalPoolOp(dnn.PoolKind.AVG, g.value(x))


@_op("GlobalMaxPool")
def _global_max_pool(g: _Importer, x: Val) -> dnn.GlobalPoolOp:
    return dnn.GlobalPoolOp(dnn.PoolKind.MAX, g.value(x))


@_op("Pad")
def _pad(
    g: _Importer,
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
    g: _Importer,
    x: Val,
    pads: list[int] | None,
    constant_value: Any,
    axes: list[int] | None,
    mode: str,
    value: float,
) -> _Padded | None:
    """Fold a zero constant Pad of the spatial dims into Conv / AveragePool consumers."""
    rank = len(g.shape(x))
    out = g.node.output[0]
    consumers = g.consumers.get(out, [])
    if mode != "constant" or rank not in (3, 4) or pads is None or not consumers:
        return None
    if out in g.graph_outputs or isinstance(constant_value, SSAValue):
        return None
    if g.scalar(constant_value, "constant_value", value) != 0.0:
        return None
    if axes is not None:  # opset 18: pads only for the listed axes
        full = [0] * 2 * rank
        for i, a in enumerate(_axis(a, rank) for a in axes):
            full[a], full[a + rank] = pads[i], pads[i + len(axes)]
        pads = full
    if len(pads) != 2 * rank or any(p < 0 for p in pads) or any(pads[:2] + pads[rank : rank + 2]):
        return None
    spatial = pads[2:rank] + pads[rank + 2 :]
    for c in consumers:
        attrs = {a.name: _attr_value(a) for a in c.attribute}
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
    return _Padded(g.value(x), tuple(spatial))


# -- dense layers


@_op("Gemm")
def _gemm(
    g: _Importer,
    a: Val,
    b: Val,
    c: Val | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> dnn.DenseOp:
    return dnn.DenseOp(
        g.value(a),
        g.value(b),
        None if c is None else g.value(c),
        trans_a=bool(transA),
        trans_b=bool(transB),
        alpha=alpha,
        beta=beta,
    )


@_op("MatMul")
def _matmul(g: _Importer, a: Val, b: Val) -> dnn.MatMulOp:
    return dnn.MatMulOp(g.value(a), g.value(b))


# -- elementwise


def _binary(cls: type[Operation]) -> Callable[..., Operation]:
    def translate(g: _Importer, a: Val, b: Val) -> Operation:
        return cls(g.value(a), g.value(b))

    return translate


OPS["Add"] = _binary(dnn.AddOp)
OPS["Sub"] = _binary(dnn.SubOp)
OPS["Mul"] = _binary(dnn.MulOp)
OPS["Div"] = _binary(dnn.DivOp)


@_op("Sum")
def _sum(g: _Importer, *inputs: Val) -> Any:
    if len(inputs) == 1:
        return inputs[0]
    return dnn.SumOp([g.value(v) for v in inputs])


def _unary(cls: type[Operation]) -> Callable[..., Operation]:
    def translate(g: _Importer, x: Val) -> Operation:
        return cls(g.value(x))

    return translate


OPS["Relu"] = _unary(dnn.ReluOp)
OPS["Sigmoid"] = _unary(dnn.SigmoidOp)
OPS["Tanh"] = _unary(dnn.TanhOp)


@_op("LeakyRelu")
def _leaky_relu(g: _Importer, x: Val, *, alpha: float = 0.01) -> dnn.LeakyReluOp:
    return dnn.LeakyReluOp(g.value(x), alpha)


@_op("PRelu")
def _prelu(g: _Importer, x: Val, slope: Val) -> list[SSAValue]:
    """Since PRelu-7 the slope broadcasts unidirectionally to x. Before, a slope of C values is
    one per channel (PRelu-6: "if of size 1, the value is shared across channels"; PyTorch's
    opset-6 exports of nn.PReLU(C) rely on it), which the version converter leaves as it is."""
    xs, ss = g.shape(x), g.shape(slope)
    if len(ss) <= len(xs) and _broadcasts(ss, xs):
        return g.host_node()
    if g.source_opset < 7 and len(ss) == 1 and len(xs) >= 2 and ss[0] == xs[1]:
        per_channel = (ss[0],) + (1,) * (len(xs) - 2)
        if isinstance(slope, np.ndarray):
            return g.host("PRelu", [x, slope.reshape(per_channel)], {})
        return g.host("PRelu", [x, _reshape(slope, per_channel)], {})
    g.fail(f"slope of shape {_dims(ss)} does not broadcast to the input's {_dims(xs)}")


def _broadcasts(small: Sequence[int], big: Sequence[int]) -> bool:
    """Whether `small` is unidirectionally broadcastable to `big` (numpy rules, right-aligned)."""
    return all(s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


@_op("Clip")
def _clip(g: _Importer, x: Val, min: Any = None, max: Any = None) -> Any:
    """dnn.clip for constant bounds (a missing one is -/+ float32 max); bounds computed at run
    time, or min > max (ONNX then gives max everywhere), need the host."""
    if isinstance(min, SSAValue) or isinstance(max, SSAValue):
        return g.host_node()
    lo = g.scalar(min, "min", -_F32_MAX)
    hi = g.scalar(max, "max", _F32_MAX)
    if lo > hi:
        return g.host_node()
    return dnn.ClipOp(g.value(x), lo, hi)


def _softmax_family(
    g: _Importer,
    x: Val,
    axis: int | None,
    emit: Callable[[SSAValue, int], SSAValue],
    opset: int | None = None,
) -> SSAValue:
    """Opset >= 13: along `axis` (default -1). Before: on x flattened to 2-D at `axis`
    (default 1), which equals a softmax along the last axis of the 2-D view. `opset` is the
    one whose semantics the node has (default: the importer's)."""
    shape = g.shape(x)
    if (g.opset if opset is None else opset) >= 13:
        return emit(g.value(x), -1 if axis is None else axis)
    ax = _axis(1 if axis is None else axis, len(shape))
    if ax == len(shape) - 1:
        return emit(g.value(x), -1)
    flat = _reshape(g.value(x), (prod(shape[:ax]), prod(shape[ax:])))
    return _reshape(emit(flat, 1), shape)


@_op("Softmax")
def _softmax(g: _Importer, x: Val, *, axis: int | None = None) -> SSAValue:
    return _softmax_family(g, x, axis, lambda v, ax: dnn.SoftmaxOp(v, ax).output)


@_op("LogSoftmax", "Hardmax")
def _log_softmax(g: _Importer, x: Val, *, axis: int | None = None) -> SSAValue:
    op_type = g.node.op_type
    # onnx's version converter rewrites Softmax and LogSoftmax-12 to the opset-13 axis
    # semantics but passes Hardmax through unchanged: it keeps its source opset's meaning.
    opset = g.source_opset if op_type == "Hardmax" else None
    return _softmax_family(g, x, axis, lambda v, ax: g.host(op_type, [v], {"axis": ax})[0], opset)


@_op("BatchNormalization")
def _batchnorm(
    g: _Importer,
    x: Val,
    scale: Val,
    b: Val,
    mean: Val,
    var: Val,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    spatial: int = 1,
    training_mode: int = 0,
    is_test: int = 1,
    consumed_inputs: list[int] | None = None,
) -> dnn.BatchNormOp:
    # Before opset 14, listing the mean/var outputs selects training mode (as in onnxruntime).
    if training_mode or (g.opset < 14 and any(g.node.output[1:])):
        g.fail("training-mode BatchNormalization is not supported (export in eval mode)")
    if not spatial:
        g.fail("BatchNormalization with spatial=0 is not supported")
    values = [g.value(v) for v in (x, scale, b, mean, var)]
    return dnn.BatchNormOp(*values, epsilon=epsilon)


# -- recurrent layers


def _recurrent(
    g: _Importer,
    cls: type[dnn.LstmOp | dnn.GruOp | dnn.RnnOp],
    X: Val,
    W: Val,
    R: Val,
    states: Sequence[Val | None],
    layout: int,
    hidden_size: int | None,
    direction: str,
    **kwargs: Any,
) -> list[SSAValue]:
    """LSTM/GRU/RNN in layout 0; layout 1 (batch first) is normalised with transposes."""
    try:
        dir_ = dnn.RnnDirection(direction)
    except ValueError:
        g.fail(f"unknown direction '{direction}'")
    hidden = hidden_size or g.shape(R)[-1]
    x = g.value(X)
    seq_state = [None if s is None else g.value(s) for s in states]  # initial_h (, initial_c)
    if layout:
        x = dnn.TransposeOp(x, (1, 0, 2)).output
        seq_state = [None if s is None else dnn.TransposeOp(s, (1, 0, 2)).output for s in seq_state]
    names = ["initial_h", "initial_c"]
    op = cls(
        x,
        g.value(W),
        g.value(R),
        hidden_size=hidden,
        direction=dir_,
        **dict(zip(names, seq_state, strict=False)),
        **kwargs,
    )
    results = list(op.results)
    if layout:
        perms = [(2, 0, 1, 3)] + [(1, 0, 2)] * (len(results) - 1)
        results = [
            dnn.TransposeOp(r, perm).output if g.used(i) else r
            for i, (r, perm) in enumerate(zip(results, perms, strict=True))
        ]
    return results


def _rnn_common(
    g: _Importer,
    B: Val | None,
    sequence_lens: Val | None,
    activation_alpha: list[float] | None,
    activation_beta: list[float] | None,
    activations: list[str] | None,
    clip: float | None,
) -> dict[str, Any]:
    return {
        "b": None if B is None else g.value(B),
        "sequence_lens": None if sequence_lens is None else g.value(sequence_lens),
        "activations": activations,
        "activation_alpha": activation_alpha,
        "activation_beta": activation_beta,
        "clip": clip,
    }


@_op("LSTM")
def _lstm(
    g: _Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    initial_c: Val | None = None,
    P: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    input_forget: int = 0,
    layout: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(
        g,
        dnn.LstmOp,
        X,
        W,
        R,
        [initial_h, initial_c],
        layout,
        hidden_size,
        direction,
        p=None if P is None else g.value(P),
        input_forget=bool(input_forget),
        **common,
    )


@_op("GRU")
def _gru(
    g: _Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    layout: int = 0,
    linear_before_reset: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(
        g,
        dnn.GruOp,
        X,
        W,
        R,
        [initial_h],
        layout,
        hidden_size,
        direction,
        linear_before_reset=bool(linear_before_reset),
        **common,
    )


@_op("RNN")
def _rnn(
    g: _Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    layout: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(g, dnn.RnnOp, X, W, R, [initial_h], layout, hidden_size, direction, **common)


__all__ = [
    "COMMON_OPSET",
    "FOLD",
    "MAX_CONSTANT_ELEMENTS",
    "OPS",
    "ImportedModel",
    "import_model",
    "load_model",
]
