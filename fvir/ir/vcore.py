"""The `vcore` dialect: one op per instruction of the fvir ISA, generated from `fvir.isa.spec`.

The op classes are built from `SPECS` when this module is imported, so the ISA table stays the
single source of truth: every field of an instruction is an `i64` property of the same name
(the header's `dpdon` / `dpdby` dependency masks included), a field with a default in the spec
has that default here, and the verifier checks every value against the field's width, sign and
enumeration with the same checker the encoder uses (`fvir.isa.instr.check_value`). The one
departure: the `seg` field of LOAD and SAVE may name its DDR segment by symbol (`@weights`,
an `ifp.segment`) instead of a base-register number, so frames stay readable and relocatable;
the emitter numbers segments in package order.

Custom syntax is the assembler's (`fvir.isa.asm`): `name=value` pairs in layout order, enum
fields by name, DDR offsets in hex, dependency masks as engine letters, and fields equal to
their default (masks of 0 included) left out:

    vcore.load dpdby=C buf=fmap seg=@activations off=0x400 addr=0 rows=4 cols=56 chans=64
               buf_pix_stride=64 ddr_row_stride=3584 ddr_pix_stride=64 buf_row_stride=3584
    vcore.conv dpdon=L dpdby=S pad_t=1 in_addr=0 wgt_addr=0 bias_addr=0 out_addr=4096 ...

The generic form has every property: `"vcore.end"() <{dpdon = 0 : i64, dpdby = 0 : i64}>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from xdsl.dialects.builtin import I64, IntegerAttr, StringAttr, SymbolRefAttr, i64
from xdsl.ir import Attribute, Dialect
from xdsl.irdl import (
    IRDLOperation,
    base,
    irdl_op_definition,
    prop_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from fvir.isa.instr import (
    EncodingError,
    Instruction,
    check_value,
    dep_mask,
    dep_str,
)
from fvir.isa.spec import HEADER, SPECS, Field, InstrSpec, Opcode

_ATTRS: dict[int, IntegerAttr] = {}


def int_attr(value: int) -> IntegerAttr:
    """A cached `value : i64` (attributes are immutable, so instructions share them; building a
    fresh IntegerAttr costs ~7 us, which would dominate building a frame's ops)."""
    attr = _ATTRS.get(value)
    if attr is None:
        attr = _ATTRS[value] = IntegerAttr(value, i64)
    return attr


def _format(f: Field, value: int) -> str:
    if f.name in ("dpdon", "dpdby"):
        return dep_str(value)
    if f.enum is not None:
        return f.enum(value).name.lower()
    return hex(value) if f.hex else str(value)


class VCoreOp(IRDLOperation):
    """Base of the generated instruction ops (not registered itself)."""

    OPCODE: ClassVar[Opcode]
    SPEC: ClassVar[InstrSpec]

    @property
    def fields(self) -> dict[str, int | str]:
        """Every field (header included) as an int, `seg` as a symbol name if it is one."""
        out: dict[str, int | str] = {}
        for name, attr in self.properties.items():
            if isinstance(attr, SymbolRefAttr):
                out[name] = attr.root_reference.data
            else:
                assert isinstance(attr, IntegerAttr)
                out[name] = attr.value.data
        return out

    def instruction(self, segment_ids: Mapping[str, int] | None = None) -> Instruction:
        """The instruction this op stands for; `segment_ids` numbers symbolic segments."""
        values: dict[str, int] = {}
        for name, attr in self.properties.items():
            if isinstance(attr, SymbolRefAttr):
                seg = attr.root_reference.data
                if segment_ids is None or seg not in segment_ids:
                    raise EncodingError(f"{self.name}: unknown segment @{seg}")
                values[name] = segment_ids[seg]
            else:
                values[name] = attr.value.data  # type: ignore[union-attr]
        dpdon, dpdby = values.pop("dpdon"), values.pop("dpdby")
        return Instruction(self.OPCODE, values, dpdon, dpdby)

    @classmethod
    def from_instruction(
        cls, ins: Instruction, segment_names: Callable[[int], str] | None = None
    ) -> VCoreOp:
        """The op of `ins` (of any opcode); `segment_names` turns a LOAD/SAVE `seg` into a
        symbol."""
        op_cls = OPS[ins.op]
        props: dict[str, Attribute] = {"dpdon": int_attr(ins.dpdon), "dpdby": int_attr(ins.dpdby)}
        for name, value in ins.fields.items():
            if name == "seg" and segment_names is not None:
                props[name] = SymbolRefAttr(segment_names(value))
            else:
                props[name] = int_attr(value)
        return op_cls.create(properties=props)

    # -- syntax

    @classmethod
    def parse(cls, parser: Parser) -> VCoreOp:
        by_name = {f.name: f for f in (*HEADER[1:], *cls.SPEC.fields)}
        props: dict[str, Attribute] = {}
        # Field names never contain a '.', so the next op's name ends the list.
        while (name := parser.parse_optional_keyword_in(by_name)) is not None:
            f = by_name[name]
            if name in props:
                parser.raise_error(f"field '{name}' given twice")
            parser.parse_punctuation("=")
            props[name] = cls._parse_value(parser, f)
        ordered: dict[str, Attribute] = {}
        for f in (*HEADER[1:], *cls.SPEC.fields):
            if f.name not in props:
                if f.default is None and f not in HEADER:
                    parser.raise_error(f"{cls.SPEC.op.name}.{f.name} is required (no default)")
                props[f.name] = int_attr(f.default or 0)
            ordered[f.name] = props[f.name]
        op = cls.create(properties=ordered)
        op.attributes.update(parser.parse_optional_attr_dict())
        return op

    @staticmethod
    def _parse_value(parser: Parser, f: Field) -> Attribute:
        if f.name == "seg" and (sym := parser.parse_optional_symbol_name()) is not None:
            return SymbolRefAttr(sym.data)
        value = parser.parse_optional_integer(allow_boolean=False)
        if value is not None:
            return int_attr(value)
        word = parser.parse_identifier(f"a value for '{f.name}'")
        try:
            if f.name in ("dpdon", "dpdby"):
                return int_attr(dep_mask(word))
            if f.enum is not None:
                return int_attr(int(f.enum[word.upper()]))
        except (KeyError, EncodingError):
            pass
        parser.raise_error(f"'{word}' is not a valid value for '{f.name}'")

    def print(self, printer: Printer) -> None:
        parts: list[str] = []
        for f in (*HEADER[1:], *self.SPEC.fields):
            attr = self.properties[f.name]
            if isinstance(attr, SymbolRefAttr):
                parts.append(f"{f.name}=@{attr.root_reference.data}")
                continue
            assert isinstance(attr, IntegerAttr)
            value = attr.value.data
            if value == (0 if f in HEADER else f.default):
                continue
            parts.append(f"{f.name}={_format(f, value)}")
        if parts:
            printer.print_string(" " + " ".join(parts))
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        op = self.OPCODE
        for f in (*HEADER[1:], *self.SPEC.fields):
            attr = self.properties[f.name]
            if isinstance(attr, SymbolRefAttr):
                if f.name != "seg":
                    raise VerifyException(f"{op.name}.{f.name} must be an integer")
                continue
            try:
                check_value(op, f, attr.value.data)  # type: ignore[union-attr]
            except EncodingError as exc:
                raise VerifyException(str(exc)) from None
        engine = self.SPEC.engine
        for mask in ("dpdon", "dpdby"):
            value = self.properties[mask].value.data  # type: ignore[union-attr]
            if engine is None and value:
                raise VerifyException(
                    f"{op.name}.{mask} = {dep_str(value)}: {op.name} runs on the dispatcher as "
                    "a full fence, its masks must be 0"
                )
            if engine is not None and value & engine.bit:
                raise VerifyException(
                    f"{op.name}.{mask} = {dep_str(value)} names its own engine ({engine.name}); "
                    "an instruction never waits on or signals that"
                )


def _make(op: Opcode, spec: InstrSpec) -> type[VCoreOp]:
    """The op class of one instruction type, its properties read off the spec."""
    namespace: dict[str, object] = {
        "name": f"vcore.{op.name.lower()}",
        "OPCODE": op,
        "SPEC": spec,
        "__annotations__": {"OPCODE": ClassVar[Opcode], "SPEC": ClassVar[InstrSpec]},
        "__doc__": f"{op.name} (opcode {int(op):#x}): {spec.doc}\n\n{spec.semantics}",
        "__module__": __name__,
        "__qualname__": f"{op.name.capitalize()}Op",
    }
    for f in (*HEADER[1:], *spec.fields):
        constraint = (
            base(SymbolRefAttr) | base(IntegerAttr) if f.name == "seg" else IntegerAttr[I64]
        )
        default = 0 if f in HEADER else f.default
        namespace[f.name] = prop_def(
            constraint, default_value=None if default is None else int_attr(default)
        )
    cls = type(f"{op.name.capitalize()}Op", (VCoreOp,), namespace)
    return irdl_op_definition(cls)


OPS: dict[Opcode, type[VCoreOp]] = {op: _make(op, spec) for op, spec in SPECS.items()}

LoadOp = OPS[Opcode.LOAD]
SaveOp = OPS[Opcode.SAVE]
ConvinitOp = OPS[Opcode.CONVINIT]
ConvOp = OPS[Opcode.CONV]
PoolinitOp = OPS[Opcode.POOLINIT]
PoolOp = OPS[Opcode.POOL]
ElewinitOp = OPS[Opcode.ELEWINIT]
ElewOp = OPS[Opcode.ELEW]
MvmOp = OPS[Opcode.MVM]
ActOp = OPS[Opcode.ACT]
SyncOp = OPS[Opcode.SYNC]
EndOp = OPS[Opcode.END]


def _check_against_spec() -> None:
    """Every op's properties are exactly its instruction's fields (a stale op would fail)."""
    for op, cls in OPS.items():
        props = tuple(cls.get_irdl_definition().properties)
        expected = ("dpdon", "dpdby", *SPECS[op].names)
        if props != expected:
            raise AssertionError(f"vcore.{op.name.lower()} properties {props} != {expected}")


_check_against_spec()

VCore = Dialect("vcore", list(OPS.values()), [])

__all__ = [
    "OPS",
    "ActOp",
    "ConvOp",
    "ConvinitOp",
    "ElewOp",
    "ElewinitOp",
    "EndOp",
    "LoadOp",
    "MvmOp",
    "PoolOp",
    "PoolinitOp",
    "SaveOp",
    "StringAttr",
    "SyncOp",
    "VCore",
    "VCoreOp",
    "int_attr",
]
