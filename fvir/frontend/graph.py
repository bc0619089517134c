"""The walk of an ONNX graph that builds the dnn function: the importer's state and steps.

1. Inputs get static shapes, from the model or from the caller's `input_shapes`. A symbolic or
   unknown dim without an override is a `UserError` that suggests `--shape NAME=1x3x224x224`
   (no default batch size is assumed); a negative dim or a tensor of more than
   `onnxops.MAX_ELEMENTS` elements is refused.
2. One walk over the topologically sorted nodes. A value is a numpy array (a constant:
   initializer, Constant, folded result) or an SSA value. A node whose inputs are all
   constants and whose op has an ONNX kernel (`fvir.onnxops`) is evaluated with it, which
   resolves the `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains of exported graphs
   (Shape of an SSA value folds too: every shape is static). Otherwise the op's translator
   builds dnn ops; an op with a kernel but no translator becomes `dnn.host`, which the
   reference executor runs with the same kernel; its result types come from ONNX shape
   inference on that node alone, with its constant inputs visible.
3. Constants become IR only where an op needs them as operands: an initializer as one
   `dnn.weight "<initializer name>"` placed before its first use; a folded tensor as
   `dnn.constant` if it has at most `MAX_CONSTANT_ELEMENTS` elements, else as a new weight
   named after its value. Graph outputs must be numeric (not BOOL).

Absent optional inputs in the middle of a host op's inputs are passed as empty float tensors
(ONNX's convention for Resize's roi and scales).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import onnx
import onnx.shape_inference
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

from fvir import onnxops
from fvir.errors import UserError
from fvir.frontend import load
from fvir.frontend.values import (
    Padded,
    Val,
    attr_value,
    dims,
    dtype_of,
    name_hint,
    onnx_type_name,
    shape_of,
    tensor_type,
)
from fvir.ir import dnn
from fvir.ir.weights import WeightStore, element_type

MAX_CONSTANT_ELEMENTS = 16
"""Folded tensors up to this size are inlined as `dnn.constant`; larger ones become weights."""


@dataclass
class ImportedModel:
    """The result of `import_model`."""

    module: ModuleOp
    weights: WeightStore
    input_names: list[str]
    output_names: list[str]


class Importer:
    """State of one import: the values of the ONNX names and the block being built."""

    def __init__(
        self,
        graph: onnx.GraphProto,
        big: dict[str, onnx.TensorProto],
        opset: int,
        source_opset: int,
        translators: Mapping[str, Callable[..., Any]],
        no_fold: frozenset[str] = frozenset(),
    ):
        """`translators`: ONNX op type -> fn(importer, *inputs, **attributes) building dnn
        ops; `no_fold`: op types whose translator runs even on constant inputs."""
        self.graph = graph
        self.translators = translators
        self.no_fold = no_fold
        self.opset = opset
        # The model's own opset, before conversion: where the converter keeps a node unchanged
        # but its meaning changed (PRelu-6's per-channel slope, Hardmax-11's 2-D coercion),
        # the translator needs it.
        self.source_opset = source_opset
        self.initializers: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        self.initializers.update(big)
        self.env: dict[str, Val | Padded] = {}
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
        self._inputs: list[Val | Padded | None] = []
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
    def lookup(self, name: str) -> Val | Padded | None:
        if not name:
            return None
        if name in self.env:
            return self.env[name]
        if name in self.initializers:
            try:
                array = numpy_helper.to_array(self.initializers[name])
            except Exception as exc:  # damaged tensor data: onnx raises assorted errors
                self.fail(f"cannot read initializer '{name}': {load.one_line(exc)}")
            self.bind(name, array)
            self._weight_names.add(id(array))
            return array
        self.fail(f"input '{name}' is not defined by any earlier node, input or initializer")

    def bind(self, name: str, value: Val | Padded) -> None:
        self.env[name] = value
        if isinstance(value, np.ndarray):
            self._names.setdefault(id(value), (value, name))
        elif isinstance(value, SSAValue) and value.name_hint is None and (hint := name_hint(name)):
            value.name_hint = hint

    def value(self, v: Val) -> SSAValue:
        """The SSA value of `v`, materializing a constant on first use."""
        if isinstance(v, SSAValue):
            return v
        assert isinstance(v, np.ndarray), f"not an importer value: {v!r}"
        if id(v) in self._materialized:
            return self._materialized[id(v)][1]
        name = self._names[id(v)][1] if id(v) in self._names else None
        ty = tensor_type(v.dtype, v.shape)
        if id(v) in self._weight_names or v.size > MAX_CONSTANT_ELEMENTS:
            base = name or (f"{self.node.output[0]}.const" if self.node.output else "const")
            result = dnn.WeightOp(self.weights.add(base, v), ty).output
        else:
            attr = DenseIntOrFPElementsAttr.from_list(ty, v.ravel().tolist())
            result = dnn.ConstantOp(attr).output
        if name and (hint := name_hint(name)):
            result.name_hint = hint
        self._materialized[id(v)] = (v, result)
        return result

    def weight(self, array: np.ndarray, suffix: str) -> SSAValue:
        """A new `dnn.weight` holding `array`, a weight the importer derives (a per-channel
        scale as a depthwise conv's kernel), named after the node's first output."""
        base = f"{self.node.output[0]}.{suffix}"
        ty = tensor_type(array.dtype, array.shape)
        return dnn.WeightOp(self.weights.add(base, array), ty).output

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
        """A `dnn.host` op running the op's ONNX kernel, with result types from ONNX shape
        inference on this node alone."""
        kernel = onnxops.OPS.get(op_type)
        if kernel is None:
            self.unsupported()
        ins = list(inputs)
        while ins and ins[-1] is None:
            ins.pop()
        onnxops.check_call(kernel, ins, attrs)
        if (reason := onnxops.unsupported(op_type, attrs)) is not None:
            self.fail(f"fvir does not support {reason}")
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
        if any(isinstance(v, Padded) for v in self._inputs):
            self.fail("a folded Pad cannot feed a host op")  # _fold_pad admits Conv/Pool only
        return self.host(self.node.op_type, self._inputs, self._attrs, n_outputs)  # type: ignore[arg-type]

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
            if isinstance(v, np.ndarray) and v.size <= load.SKELETON_MAX:
                initializers.append(numpy_helper.from_array(v, name))  # data-dependent shapes
            else:
                elem = helper.np_dtype_to_tensor_dtype(dtype_of(v))
                graph_inputs.append(helper.make_tensor_value_info(name, elem, shape_of(v)))
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
            self.fail(f"ONNX shape inference failed: {load.one_line(exc)}")
        types = []
        for i, out in enumerate(inferred.graph.output):
            tt = out.type.tensor_type
            shape = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            name = self.node.output[i] if i < len(self.node.output) else ""
            if not tt.elem_type or not tt.HasField("shape") or None in shape:
                if not name:  # an unnamed optional output: nothing reads it
                    types.append(TensorType(f32, [0]))
                    continue
                self.fail(f"cannot infer a static shape for output '{name}'")
            with self._errors():
                onnxops.check_elements(shape, f"output '{name}'")
            types.append(tensor_type(onnxops.np_dtype(tt.elem_type), shape))
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
            outputs = []
            with self._errors():
                for o in graph.output:
                    declared = o.type.tensor_type.elem_type
                    if declared and declared not in onnxops.DTYPES:
                        self.fail(
                            f"output '{o.name}' has element type {onnx_type_name(declared)}, "
                            "which fvir does not support"
                        )
                    v = self.lookup(o.name)
                    if v is None:
                        continue
                    if isinstance(v, Padded):
                        v = v.value
                    outputs.append(self.value(v))
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
            elem = element_type(onnxops.np_dtype(tt.elem_type))
        except UserError:
            raise UserError(
                f"input '{vi.name}' has unsupported element type {onnx_type_name(tt.elem_type)}"
            ) from None
        model_dims: list[int | str] | None = None
        if tt.HasField("shape"):
            model_dims = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in tt.shape.dim
            ]
        if given is not None:
            shape = [int(d) for d in given]
            if any(d < 0 for d in shape):
                raise UserError(f"shape {shape} given for input '{vi.name}' has a negative dim")
            if model_dims is not None:
                if len(shape) != len(model_dims):
                    raise UserError(
                        f"shape {dims(shape)} given for input '{vi.name}' has rank {len(shape)}, "
                        f"but the model's input has rank {len(model_dims)}"
                    )
                if any(
                    isinstance(m, int) and m != d for m, d in zip(model_dims, shape, strict=True)
                ):
                    raise UserError(
                        f"shape {dims(shape)} given for input '{vi.name}' conflicts with its "
                        f"static shape {dims(model_dims)}"
                    )
            onnxops.check_elements(shape, f"input '{vi.name}'")
            return TensorType(elem, shape)
        if model_dims is None:
            raise UserError(
                f"input '{vi.name}' has no shape; give one with --shape {vi.name}=DIMS, "
                f"e.g. {vi.name}=1x3x224x224"
            )
        if all(isinstance(d, int) for d in model_dims):
            onnxops.check_elements(model_dims, f"input '{vi.name}'")  # type: ignore[arg-type]
            return TensorType(elem, model_dims)
        example = dims([d if isinstance(d, int) else 1 for d in model_dims])
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
            self.fail(load.one_line(lines[0] if lines else "invalid IR"))
        except onnxops.OpError as exc:
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
        self._attrs = attrs = {a.name: attr_value(a) for a in node.attribute}
        last = block.last_op
        op_type = node.op_type
        with self._errors():
            if (
                op_type in onnxops.OPS
                and op_type not in self.no_fold
                and all(isinstance(v, np.ndarray | None) for v in inputs)
            ):
                results = self._fold(op_type, inputs, attrs)  # type: ignore[arg-type]
            elif op_type in self.translators:
                fn = self.translators[op_type]
                onnxops.check_call(fn, inputs, attrs, skip=1)
                results = _normalize_results(fn(self, *inputs, **attrs))
            elif op_type in onnxops.OPS:
                results = self.host_node()
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

    def _fold(
        self, op_type: str, inputs: list[np.ndarray | None], attrs: dict[str, Any]
    ) -> list[Val | Padded | None]:
        """Evaluate the node on its constant inputs with its ONNX kernel."""
        n_outputs = max(1, len(self.node.output))
        try:
            folded = onnxops.call(op_type, inputs, attrs, n_outputs)
        except (ValueError, IndexError, TypeError) as exc:  # numpy rejects the model's constants
            self.fail(f"cannot fold constants: {load.one_line(exc)}")
        for i, array in enumerate(folded):
            if i < len(self.node.output) and self.node.output[i]:
                onnxops.check_elements(array.shape, f"output '{self.node.output[i]}'")
        return list(folded)


def _normalize_results(out: Any) -> list[Val | Padded | None]:
    if isinstance(out, Operation):
        return list(out.results)
    if isinstance(out, np.generic):  # numpy folds may return scalars
        out = np.asarray(out)
    if isinstance(out, SSAValue | np.ndarray | Padded):
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
