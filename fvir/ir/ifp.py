"""The `ifp` dialect: an instruction frame package as IR, the form `tile-compile-frames`
produces and `fvir.codegen.emit` encodes into a `Package` (`fvir/ifp/package.py`).

    ifp.package @resnet50 core "3f2a..." buffers [65536, 294912, 32768]
        inputs [@input] outputs [@logits] input_names ["input"] output_names ["logits"] {
      ifp.segment @weights weights size 25613184
      ifp.segment @activations activation size 3411968
      ifp.tensor @conv1 in @activations at 0x0 shape [1, 64, 112, 112] int8 frac 4 nhwc
      ifp.const "conv1.w.q" in @weights at 0x0 size 9408 ohwi
      ifp.layer "conv1" conv2d ins [@input] outs [@conv1] {
        ifp.frame tile 0 cost 47206 load 16032 save 28672 {
          vcore.load buf=weight seg=@weights off=0x0 ...
          ...
        }
      }
      ifp.layer "host0" host ins [@a] outs [@b] ir "func.func @main(...) ..."
    }

The package, its layers and frames print their discardable attributes, if any, as
`attributes {...}` before their region (the `ifp-link` pass records its core assignment so:
`ifp.frame tile 0 ... attributes {ifp.core = 1 : i64, ifp.pos = 0 : i64} {`).

Segments are numbered in the order they appear (that number is the `seg` field of the encoded
LOAD/SAVE); tensors likewise get their ids. Frames name no core and no absolute address: DDR is
(segment symbol, offset), buffers are byte addresses within the core's buffers.

Names are unique per kind (segments, tensors), not across kinds, so a tensor may be called
`@input` like the input segment: references are resolved by the field that holds them.

Verified: names and references; tensors and weight blocks inside their segments; every LOAD and
SAVE inside its segment and inside the package's buffers; per frame, that program order is a
valid schedule of its dependency tokens (each wait finds a token signalled earlier) and that the
frame leaves every token counter as it found it (docs/isa.md), with no SYNC or END (the linker
adds those).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DenseArrayBase,
    IntegerAttr,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
)
from xdsl.ir import Block, Dialect, Operation, Region
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, NoTerminator
from xdsl.utils.exceptions import VerifyException

from fvir.ir import dnn
from fvir.ir.vcore import VCoreOp
from fvir.isa.spec import NUM_SEGMENTS, Buf, Engine, Opcode, SegmentKind

_SEGMENT_KINDS = {k.name.lower(): k for k in SegmentKind}
DTYPES = ("int8", "float32")
LAYOUTS = ("nhwc", "flat")
TRANSFORMS = ("ohwi", "dw", "rows", "bias", "scaled", "zeros", "ones")


def _i64(value: int) -> IntegerAttr:
    return IntegerAttr(value, 64)


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return dnn.ints(attr)


def _syms(names: Sequence[str]) -> ArrayAttr:
    return ArrayAttr([SymbolRefAttr(n) for n in names])


def _sym_names(attr: ArrayAttr) -> list[str]:
    return [a.root_reference.data for a in attr.data]  # type: ignore[union-attr]


def _parse_syms(parser: Parser) -> list[str]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_symbol_name().data
    )


def _parse_ints(parser: Parser) -> list[int]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
    )


def _sym_text(names: Sequence[str]) -> str:
    return "[" + ", ".join(_symbol(n) for n in names) + "]"


def _symbol(name: str) -> str:
    """`@name`, quoted when it is not a bare identifier (as MLIR prints symbols)."""
    bare = name and (name[0].isalpha() or name[0] in "_") and all(
        c.isalnum() or c in "_$." for c in name
    )
    return f"@{name}" if bare else '@"' + name.replace('"', '\\"') + '"'


def _ints_text(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _str_list(parser: Parser) -> list[str]:
    return parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parser.parse_str_literal)


def _str_text(values: Sequence[str]) -> str:
    return "[" + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                           for v in values) + "]"


# ----------------------------------------------------------------------------------- ops


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """A DDR region of the package: `ifp.segment @name KIND size N` (KIND: weights, input,
    output, activation)."""

    name = "ifp.segment"

    sym_name = prop_def(SymbolNameConstraint())
    kind = prop_def(StringAttr)
    size = prop_def(IntegerAttr[I64])

    traits = lazy_traits_def(lambda: (HasParent(PackageOp),))

    def __init__(self, name: str, kind: SegmentKind, size: int):
        super().__init__(properties={"sym_name": StringAttr(name),
                                     "kind": StringAttr(kind.name.lower()), "size": _i64(size)})

    @property
    def segment_kind(self) -> SegmentKind:
        return _SEGMENT_KINDS[self.kind.data]

    @classmethod
    def parse(cls, parser: Parser) -> SegmentOp:
        name = parser.parse_symbol_name().data
        kind = parser.parse_identifier("segment kind")
        if kind not in _SEGMENT_KINDS:
            parser.raise_error(
                f"unknown segment kind '{kind}' (one of {', '.join(_SEGMENT_KINDS)})"
            )
        parser.parse_keyword("size")
        size = parser.parse_integer(allow_boolean=False)
        return cls(name, _SEGMENT_KINDS[kind], size)

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {_symbol(self.sym_name.data)} {self.kind.data} size "
                             f"{self.size.value.data}")

    def verify_(self) -> None:
        if self.kind.data not in _SEGMENT_KINDS:
            raise VerifyException(f"unknown segment kind '{self.kind.data}'")
        if self.size.value.data < 0:
            raise VerifyException("segment size must be non-negative")


@irdl_op_definition
class TensorOp(IRDLOperation):
    """A tensor in DDR: `ifp.tensor @name in @segment at OFFSET shape [...] DTYPE frac F
    [zero Z] LAYOUT` (int8 NHWC activations: value = (q - Z) * 2**-F; Z = 0 when absent)."""

    name = "ifp.tensor"

    sym_name = prop_def(SymbolNameConstraint())
    segment = prop_def(SymbolRefAttr)
    offset = prop_def(IntegerAttr[I64])
    shape = prop_def(DenseArrayBase[I64])
    dtype = prop_def(StringAttr)
    frac_bits = prop_def(IntegerAttr[I64])
    layout = prop_def(StringAttr)
    zero_point = opt_prop_def(IntegerAttr[I64])

    traits = lazy_traits_def(lambda: (HasParent(PackageOp),))

    def __init__(self, name: str, segment: str, offset: int, shape: Sequence[int], dtype: str,
                 frac_bits: int, layout: str, zero_point: int = 0):
        super().__init__(properties={
            "sym_name": StringAttr(name), "segment": SymbolRefAttr(segment),
            "offset": _i64(offset), "shape": dnn.i64_array(shape), "dtype": StringAttr(dtype),
            "frac_bits": _i64(frac_bits), "layout": StringAttr(layout),
            "zero_point": _i64(zero_point) if zero_point else None})

    @property
    def zero(self) -> int:
        return 0 if self.zero_point is None else self.zero_point.value.data

    @property
    def nbytes(self) -> int:
        return prod(_ints(self.shape)) * (4 if self.dtype.data == "float32" else 1)

    @classmethod
    def parse(cls, parser: Parser) -> TensorOp:
        name = parser.parse_symbol_name().data
        parser.parse_keyword("in")
        segment = parser.parse_symbol_name().data
        parser.parse_keyword("at")
        offset = parser.parse_integer(allow_boolean=False)
        parser.parse_keyword("shape")
        shape = _parse_ints(parser)
        dtype = parser.parse_identifier("dtype")
        parser.parse_keyword("frac")
        frac = parser.parse_integer(allow_boolean=False)
        zero = parser.parse_integer(allow_boolean=False) if parser.parse_optional_keyword(
            "zero") else 0
        layout = parser.parse_identifier("layout")
        return cls(name, segment, offset, shape, dtype, frac, layout, zero)

    def print(self, printer: Printer) -> None:
        printer.print_string(
            f" {_symbol(self.sym_name.data)} in {_symbol(self.segment.root_reference.data)} at "
            f"{self.offset.value.data:#x} shape {_ints_text(_ints(self.shape))} "
            f"{self.dtype.data} frac {self.frac_bits.value.data} "
            + (f"zero {self.zero} " if self.zero else "") + self.layout.data
        )

    def verify_(self) -> None:
        if self.dtype.data not in DTYPES:
            raise VerifyException(f"dtype must be one of {', '.join(DTYPES)}, got "
                                  f"'{self.dtype.data}'")
        if self.layout.data not in LAYOUTS:
            raise VerifyException(f"layout must be one of {', '.join(LAYOUTS)}, got "
                                  f"'{self.layout.data}'")
        if self.offset.value.data < 0 or any(d < 0 for d in _ints(self.shape)):
            raise VerifyException("offset and shape must be non-negative")


@irdl_op_definition
class ConstOp(IRDLOperation):
    """A block of the weights segment holding a transformed WeightStore array:
    `ifp.const "name" in @weights at OFFSET size N TRANSFORM [params [...]] [fold "w"]`
    (transforms and fold: `fvir.codegen.frame_plan.ConstPlan`)."""

    name = "ifp.const"

    source = prop_def(StringAttr)
    segment = prop_def(SymbolRefAttr)
    offset = prop_def(IntegerAttr[I64])
    size = prop_def(IntegerAttr[I64])
    transform = prop_def(StringAttr)
    params = prop_def(DenseArrayBase[I64])
    fold = opt_prop_def(StringAttr)

    traits = lazy_traits_def(lambda: (HasParent(PackageOp),))

    def __init__(self, source: str, segment: str, offset: int, size: int, transform: str,
                 params: Sequence[int] = (), fold: str = ""):
        super().__init__(properties={
            "source": StringAttr(source), "segment": SymbolRefAttr(segment),
            "offset": _i64(offset), "size": _i64(size), "transform": StringAttr(transform),
            "params": dnn.i64_array(params), "fold": StringAttr(fold) if fold else None})

    @property
    def fold_source(self) -> str:
        return "" if self.fold is None else self.fold.data

    @classmethod
    def parse(cls, parser: Parser) -> ConstOp:
        source = parser.parse_str_literal("weight name")
        parser.parse_keyword("in")
        segment = parser.parse_symbol_name().data
        parser.parse_keyword("at")
        offset = parser.parse_integer(allow_boolean=False)
        parser.parse_keyword("size")
        size = parser.parse_integer(allow_boolean=False)
        transform = parser.parse_identifier("transform")
        params = _parse_ints(parser) if parser.parse_optional_keyword("params") else []
        fold = parser.parse_str_literal("weight name") if parser.parse_optional_keyword(
            "fold") else ""
        return cls(source, segment, offset, size, transform, params, fold)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.source.data)
        printer.print_string(
            f" in {_symbol(self.segment.root_reference.data)} at {self.offset.value.data:#x} "
            f"size {self.size.value.data} {self.transform.data}"
        )
        if _ints(self.params):
            printer.print_string(f" params {_ints_text(_ints(self.params))}")
        if self.fold is not None:
            printer.print_string(" fold ")
            printer.print_string_literal(self.fold.data)

    def verify_(self) -> None:
        if self.transform.data not in TRANSFORMS:
            raise VerifyException(f"transform must be one of {', '.join(TRANSFORMS)}, got "
                                  f"'{self.transform.data}'")
        if self.offset.value.data < 0 or self.size.value.data < 0:
            raise VerifyException("offset and size must be non-negative")


@irdl_op_definition
class FrameOp(IRDLOperation):
    """The instructions of one tile: `ifp.frame tile T cost N load B save B { vcore... }`
    (cost in cycles on one core; DDR bytes read and written)."""

    name = "ifp.frame"

    tile = prop_def(IntegerAttr[I64])
    cost = prop_def(IntegerAttr[I64])
    load_bytes = prop_def(IntegerAttr[I64])
    save_bytes = prop_def(IntegerAttr[I64])
    body = region_def("single_block")

    traits = lazy_traits_def(lambda: (HasParent(LayerOp), NoTerminator(), IsolatedFromAbove()))

    def __init__(self, tile: int, cost: int, load_bytes: int, save_bytes: int,
                 instrs: Sequence[Operation] = ()):
        super().__init__(
            properties={"tile": _i64(tile), "cost": _i64(cost),
                        "load_bytes": _i64(load_bytes), "save_bytes": _i64(save_bytes)},
            regions=[Region(Block(instrs))],
        )

    @classmethod
    def parse(cls, parser: Parser) -> FrameOp:
        values = []
        for key in ("tile", "cost", "load", "save"):
            parser.parse_keyword(key)
            values.append(parser.parse_integer(allow_boolean=False))
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region()
        tile, cost, load, save = values
        return cls.create(
            properties={"tile": _i64(tile), "cost": _i64(cost), "load_bytes": _i64(load),
                        "save_bytes": _i64(save)},
            attributes=dict(attrs.data) if attrs is not None else {},
            regions=[body],
        )

    def print(self, printer: Printer) -> None:
        printer.print_string(
            f" tile {self.tile.value.data} cost {self.cost.value.data} load "
            f"{self.load_bytes.value.data} save {self.save_bytes.value.data}"
        )
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        tokens = [[0] * 4 for _ in range(4)]
        for i, op in enumerate(self.body.block.ops):
            if not isinstance(op, VCoreOp):
                raise VerifyException(f"instruction {i}: a frame holds only vcore ops, got "
                                      f"{op.name}")
            engine = op.SPEC.engine
            if engine is None:
                raise VerifyException(f"instruction {i}: {op.name} does not belong in a frame "
                                      "(the linker inserts SYNC and END)")
            fields = op.fields
            for p in Engine:
                if int(fields["dpdon"]) & p.bit:
                    tokens[p][engine] -= 1
                    if tokens[p][engine] < 0:
                        raise VerifyException(
                            f"instruction {i} ({op.name}) waits for a {p.name} token that no "
                            "earlier instruction of the frame signals"
                        )
            for q in Engine:
                if int(fields["dpdby"]) & q.bit:
                    tokens[engine][q] += 1
        left = [(Engine(p).name, Engine(q).name) for p in range(4) for q in range(4)
                if tokens[p][q]]
        if left:
            raise VerifyException(
                "the frame leaves dependency tokens behind ("
                + ", ".join(f"{p}->{q}" for p, q in left)
                + "): every token a frame signals must be consumed within it"
            )


@irdl_op_definition
class LayerOp(IRDLOperation):
    """A layer: `ifp.layer "name" KIND ins [@t...] outs [@t...] { ifp.frame ... }` for the
    accelerator (KIND: the dnn op it came from), or `... host ins [...] outs [...] ir "..."`
    whose `ir` is the MLIR text of the host function."""

    name = "ifp.layer"

    layer = prop_def(StringAttr)
    kind = prop_def(StringAttr)
    ins = prop_def(ArrayAttr[SymbolRefAttr])
    outs = prop_def(ArrayAttr[SymbolRefAttr])
    host_ir = opt_prop_def(StringAttr)
    body = region_def("single_block")

    traits = lazy_traits_def(lambda: (HasParent(PackageOp), NoTerminator()))

    def __init__(self, layer: str, kind: str, ins: Sequence[str], outs: Sequence[str],
                 frames: Sequence[FrameOp] = (), host_ir: str | None = None):
        super().__init__(
            properties={"layer": StringAttr(layer), "kind": StringAttr(kind), "ins": _syms(ins),
                        "outs": _syms(outs),
                        "host_ir": None if host_ir is None else StringAttr(host_ir)},
            regions=[Region(Block(frames))],
        )

    @property
    def frames(self) -> list[FrameOp]:
        return [op for op in self.body.block.ops if isinstance(op, FrameOp)]

    @classmethod
    def parse(cls, parser: Parser) -> LayerOp:
        name = parser.parse_str_literal("layer name")
        kind = parser.parse_identifier("layer kind")
        parser.parse_keyword("ins")
        ins = _parse_syms(parser)
        parser.parse_keyword("outs")
        outs = _parse_syms(parser)
        host_ir = parser.parse_str_literal() if parser.parse_optional_keyword("ir") else None
        attrs = parser.parse_optional_attr_dict_with_keyword()
        op = cls(name, kind, ins, outs, host_ir=host_ir)
        if attrs is not None:
            op.attributes.update(attrs.data)
        region = parser.parse_optional_region()
        if region is not None:
            for frame in list(region.block.ops):
                frame.detach()
                op.body.block.add_op(frame)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.layer.data)
        printer.print_string(f" {self.kind.data} ins {_sym_text(_sym_names(self.ins))} outs "
                             f"{_sym_text(_sym_names(self.outs))}")
        if self.host_ir is not None:
            printer.print_string(" ir ")
            printer.print_string_literal(self.host_ir.data)
        printer.print_op_attributes(self.attributes, print_keyword=True)
        if self.body.block.ops:
            printer.print_string(" ")
            printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        frames = self.frames
        if len(frames) != len(self.body.block.ops):
            raise VerifyException("a layer holds only ifp.frame ops")
        if self.kind.data == "host":
            if self.host_ir is None or frames:
                raise VerifyException("a host layer has an ir and no frames")
        elif self.host_ir is not None or not frames:
            raise VerifyException("an accelerator layer has frames and no ir")
        tiles = [f.tile.value.data for f in frames]
        if sorted(tiles) != list(range(len(tiles))):
            raise VerifyException(f"frame tiles must be 0..{len(tiles) - 1}, got {tiles}")


@irdl_op_definition
class PackageOp(IRDLOperation):
    """An instruction frame package (module docstring)."""

    name = "ifp.package"

    sym_name = prop_def(SymbolNameConstraint())
    core = prop_def(StringAttr)
    buffers = prop_def(DenseArrayBase[I64])
    inputs = prop_def(ArrayAttr[SymbolRefAttr])
    outputs = prop_def(ArrayAttr[SymbolRefAttr])
    input_names = prop_def(ArrayAttr[StringAttr])
    output_names = prop_def(ArrayAttr[StringAttr])
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), IsolatedFromAbove())

    def __init__(self, name: str, core: str, buffers: Sequence[int], inputs: Sequence[str],
                 outputs: Sequence[str], input_names: Sequence[str],
                 output_names: Sequence[str], ops: Sequence[Operation] = ()):
        super().__init__(
            properties={
                "sym_name": StringAttr(name), "core": StringAttr(core),
                "buffers": dnn.i64_array(buffers), "inputs": _syms(inputs),
                "outputs": _syms(outputs),
                "input_names": ArrayAttr([StringAttr(n) for n in input_names]),
                "output_names": ArrayAttr([StringAttr(n) for n in output_names]),
            },
            regions=[Region(Block(ops))],
        )

    def ops_of(self, kind: type[Operation]) -> list:
        return [op for op in self.body.block.ops if isinstance(op, kind)]

    @classmethod
    def parse(cls, parser: Parser) -> PackageOp:
        name = parser.parse_symbol_name().data
        parser.parse_keyword("core")
        core = parser.parse_str_literal()
        parser.parse_keyword("buffers")
        buffers = _parse_ints(parser)
        parser.parse_keyword("inputs")
        inputs = _parse_syms(parser)
        parser.parse_keyword("outputs")
        outputs = _parse_syms(parser)
        parser.parse_keyword("input_names")
        input_names = _str_list(parser)
        parser.parse_keyword("output_names")
        output_names = _str_list(parser)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        region = parser.parse_region()
        op = cls(name, core, buffers, inputs, outputs, input_names, output_names)
        if attrs is not None:
            op.attributes.update(attrs.data)
        for inner in list(region.block.ops):
            inner.detach()
            op.body.block.add_op(inner)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(
            f" {_symbol(self.sym_name.data)} core \"{self.core.data}\" buffers "
            f"{_ints_text(_ints(self.buffers))} inputs {_sym_text(_sym_names(self.inputs))} "
            f"outputs {_sym_text(_sym_names(self.outputs))} input_names "
            f"{_str_text([a.data for a in self.input_names.data])} output_names "
            f"{_str_text([a.data for a in self.output_names.data])}"
        )
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        segments: dict[str, SegmentOp] = {}
        for s in self.ops_of(SegmentOp):
            if s.sym_name.data in segments:
                raise VerifyException(f"segment @{s.sym_name.data} defined twice")
            segments[s.sym_name.data] = s
        if len(segments) > NUM_SEGMENTS:
            raise VerifyException(f"{len(segments)} segments; the ISA has {NUM_SEGMENTS}")
        tensors: dict[str, TensorOp] = {}
        for t in self.ops_of(TensorOp):
            if t.sym_name.data in tensors:
                raise VerifyException(f"tensor @{t.sym_name.data} defined twice")
            tensors[t.sym_name.data] = t
            _inside(segments, t.segment, t.offset.value.data, t.nbytes,
                    f"tensor @{t.sym_name.data}")
        for c in self.ops_of(ConstOp):
            seg = _inside(segments, c.segment, c.offset.value.data, c.size.value.data,
                          f"weight block \"{c.source.data}\"")
            if seg.segment_kind != SegmentKind.WEIGHTS:
                raise VerifyException(f"weight block \"{c.source.data}\" must be in a weights "
                                      "segment")
        for what, refs in (("input", self.inputs), ("output", self.outputs)):
            for n in _sym_names(refs):
                if n not in tensors:
                    raise VerifyException(f"package {what} @{n} is not a tensor")
        if len(self.input_names.data) != len(self.inputs.data) or len(
                self.output_names.data) != len(self.outputs.data):
            raise VerifyException("one name per package input and output")
        buffers = _ints(self.buffers)
        if len(buffers) != 3:
            raise VerifyException("buffers are [fmap, weight, bias] sizes")
        for layer in self.ops_of(LayerOp):
            for n in (*_sym_names(layer.ins), *_sym_names(layer.outs)):
                if n not in tensors:
                    raise VerifyException(f"layer \"{layer.layer.data}\": @{n} is not a tensor")
            for frame in layer.frames:
                for i, op in enumerate(frame.body.block.ops):
                    if isinstance(op, VCoreOp) and op.OPCODE in (Opcode.LOAD, Opcode.SAVE):
                        _check_dma(op, segments, buffers,
                                   f"layer \"{layer.layer.data}\" frame "
                                   f"{frame.tile.value.data} instruction {i}")
        for op in self.body.block.ops:
            if not isinstance(op, SegmentOp | TensorOp | ConstOp | LayerOp):
                raise VerifyException(f"ifp.package cannot hold {op.name}")


def _inside(segments: dict[str, SegmentOp], ref: SymbolRefAttr, offset: int, size: int,
            what: str) -> SegmentOp:
    name = ref.root_reference.data
    seg = segments.get(name)
    if seg is None:
        raise VerifyException(f"{what}: no segment @{name}")
    if offset + size > seg.size.value.data:
        raise VerifyException(f"{what}: bytes [{offset}, {offset + size}) exceed segment @{name} "
                              f"of {seg.size.value.data} bytes")
    return seg


def _check_dma(op: VCoreOp, segments: dict[str, SegmentOp], buffers: Sequence[int],
               where: str) -> None:
    f = op.fields
    rows, cols, chans = int(f["rows"]), int(f["cols"]), int(f["chans"])
    if rows == 0 or cols == 0 or chans == 0:
        return  # moves nothing (a frame's closing fence)
    seg = f["seg"]
    if not isinstance(seg, str):
        raise VerifyException(f"{where}: {op.name} must name its segment by symbol")
    ddr_end = (int(f["off"]) + (rows - 1) * int(f["ddr_row_stride"])
               + (cols - 1) * int(f["ddr_pix_stride"]) + chans)
    _inside(segments, SymbolRefAttr(seg), 0, ddr_end, where)
    buf = Buf(int(f["buf"]))
    buf_end = (int(f["addr"]) + (rows - 1) * int(f["buf_row_stride"])
               + (cols - 1) * int(f["buf_pix_stride"]) + chans)
    if buf_end > buffers[buf]:
        raise VerifyException(f"{where}: bytes up to {buf_end} exceed the {buf.name.lower()} "
                              f"buffer of {buffers[buf]} bytes")


IFP = Dialect("ifp", [PackageOp, SegmentOp, TensorOp, ConstOp, LayerOp, FrameOp], [])

__all__ = ["IFP", "ConstOp", "FrameOp", "LayerOp", "PackageOp", "SegmentOp", "TensorOp"]
