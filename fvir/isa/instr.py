"""One decoded instruction, as the compiler builds it and the disassembler prints it.

`Instruction` is deliberately plain (an opcode, the two dependency masks and a dict of field
values) so that the emitter can build hundreds of thousands of them cheaply; the binary form is
`fvir.isa.encoding`'s business. Field names, ranges and defaults come from `fvir.isa.spec`.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

from fvir.isa.spec import HEADER, SPECS, Engine, Field, Opcode

DEP_LETTERS = "".join(e.letter for e in sorted(Engine))  # "LCMS": bit 0 first


class EncodingError(ValueError):
    """A value that the instruction format cannot hold (names the field, value and range)."""


def dep_mask(deps: int | str) -> int:
    """A dependency mask from an int or from engine letters: "LC" -> LOAD|CONV, "-" -> 0."""
    if isinstance(deps, str):
        mask = 0
        for ch in deps.upper().replace("-", ""):
            pos = DEP_LETTERS.find(ch)
            if pos < 0:
                raise EncodingError(
                    f"unknown engine '{ch}' in dependency mask '{deps}' "
                    f"(letters: {', '.join(DEP_LETTERS)})"
                )
            mask |= 1 << pos
        return mask
    return int(deps)


def dep_str(mask: int) -> str:
    """Engine letters of a dependency mask, "-" for none: 0b0011 -> "LC"."""
    return "".join(ch for i, ch in enumerate(DEP_LETTERS) if mask >> i & 1) or "-"


def range_message(op: Opcode, f: Field, value: object) -> str:
    """The one wording of "this value does not fit", shared by every checker."""
    if f.enum is not None:
        members = ", ".join(f"{m.name.lower()}={m.value}" for m in f.enum)
        return f"{op.name}.{f.name} = {value!r} is not a valid {f.enum.__name__} ({members})"
    kind = "signed" if f.signed else "unsigned"
    return (
        f"{op.name}.{f.name} = {value!r} does not fit its {f.bits}-bit {kind} field "
        f"(range {f.lo}..{f.hi})"
    )


def check_value(op: Opcode, f: Field, value: object) -> int:
    """`value` as an int if it fits field `f` of `op`, else an `EncodingError`."""
    # Anything with __index__ (int, bool, numpy integers) is an integer; a float is rejected
    # rather than truncated, since 2.5 reaching an address field is a compiler bug.
    if not hasattr(value, "__index__"):
        raise EncodingError(
            f"{op.name}.{f.name} = {value!r} is not an integer ({type(value).__name__})"
        )
    number = operator.index(value)  # type: ignore[arg-type]
    if not f.lo <= number <= f.hi or (f.enum is not None and number not in enum_values(f)):
        raise EncodingError(range_message(op, f, number))
    return number


def enum_values(f: Field) -> frozenset[int]:
    """The values an enum field accepts."""
    assert f.enum is not None
    return frozenset(int(m) for m in f.enum)


def _dep(op: Opcode, header_index: int, deps: int | str) -> int:
    if type(deps) is int and 0 <= deps < 1 << HEADER[header_index].bits:
        return deps
    return check_value(op, HEADER[header_index], dep_mask(deps))


@functools.cache
def _checks(
    op: Opcode,
) -> tuple[frozenset[str], tuple[tuple[Field, int, int, frozenset[int]], ...]]:
    """Per opcode, its field names and, per field, (field, lo, hi, enum values or empty)."""
    fields = SPECS[op].fields
    checks = tuple((f, f.lo, f.hi, enum_values(f) if f.enum is not None else frozenset())
                   for f in fields)
    return frozenset(f.name for f in fields), checks


@dataclass(frozen=True, slots=True)
class Instruction:
    """An instruction: `op`, dependency masks and every type-specific field by name.

    Build one with `Instruction.make`, which fills defaults and checks names and ranges; the
    decoder builds them directly. Two instructions are equal when all of these are equal.
    """

    op: Opcode
    fields: dict[str, int]
    dpdon: int = 0
    dpdby: int = 0

    @classmethod
    def make(cls, op: Opcode, dpdon: int | str = 0, dpdby: int | str = 0,
             **fields: int) -> Instruction:
        """Check `fields` against the table for `op`, fill defaults, and build the instruction.

        `dpdon`/`dpdby` take a mask or engine letters (`dpdby="C"`).
        """
        op = Opcode(op)
        names, checks = _checks(op)
        if not fields.keys() <= names:
            unknown = sorted(set(fields) - names)[0]
            raise EncodingError(
                f"{op.name} has no field '{unknown}' "
                f"(fields: {', '.join(SPECS[op].names) or 'none'})"
            )
        values: dict[str, int] = {}
        for f, lo, hi, allowed in checks:
            v = fields.get(f.name, f.default)
            # Fast path for the common case (a plain int in range); check_value explains misses.
            if type(v) is not int or not lo <= v <= hi or (allowed and v not in allowed):
                if v is None:
                    raise EncodingError(f"{op.name}.{f.name} is required (no default)")
                v = check_value(op, f, v)
            values[f.name] = v
        return cls(op, values, _dep(op, 1, dpdon), _dep(op, 2, dpdby))

    def __getitem__(self, name: str) -> int:
        return self.fields[name]

    def __str__(self) -> str:
        return format_instruction(self)


def format_value(f: Field, value: int) -> str:
    if f.enum is not None:
        return f.enum(value).name.lower()
    return hex(value) if f.hex else str(value)


def format_instruction(ins: Instruction) -> str:
    """One line of assembly for `ins` (the syntax of `fvir.isa.asm`)."""
    parts = [ins.op.name, f"dpdon={dep_str(ins.dpdon)}", f"dpdby={dep_str(ins.dpdby)}"]
    parts += [f"{f.name}={format_value(f, ins.fields[f.name])}" for f in SPECS[ins.op].fields]
    return " ".join(parts)
