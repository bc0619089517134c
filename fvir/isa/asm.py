"""Text form of instructions: a disassembler (`fv inspect --disasm`) and an assembler.

One instruction per line: the opcode, the dependency masks as engine letters, then every field
as `name=value` in layout order, for example

    LOAD dpdon=- dpdby=C buf=fmap seg=2 off=0x400 addr=0 rows=4 cols=56 chans=64 ...

Enum fields print their member name in lower case, DDR offsets print in hex, everything else in
decimal. The assembler reads the same syntax (any integer literal Python accepts, enum names in
any case, `#` comments), fills defaults for omitted fields and rejects unknown names, so
hand-written test programs and disassembly round-trip: `assemble(disasm(w))` equals `w`.
"""

from __future__ import annotations

from collections.abc import Iterable

from numpy.typing import ArrayLike

from fvir.isa.encoding import Words, decode, encode
from fvir.isa.instr import Instruction, format_instruction
from fvir.isa.spec import SPECS, Field, Opcode


class AsmError(ValueError):
    """A line the assembler cannot read; the message starts with its line number."""


def disasm(words: ArrayLike) -> list[str]:
    """One line per instruction of the stream `words`."""
    return [format_instruction(ins) for ins in decode(words)]


def _parse_value(f: Field, text: str) -> int:
    if f.enum is not None and not text.lstrip("-").isdigit():
        try:
            return int(f.enum[text.upper()])
        except KeyError:
            members = ", ".join(m.name.lower() for m in f.enum)
            raise ValueError(f"'{text}' is not a valid {f.enum.__name__} ({members})") from None
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"'{text}' is not an integer") from None


def parse_instruction(line: str) -> Instruction:
    """The instruction written on `line` (without comment)."""
    mnemonic, *pairs = line.split()
    try:
        op = Opcode[mnemonic.upper()]
    except KeyError:
        raise ValueError(
            f"unknown instruction '{mnemonic}' (one of {', '.join(o.name for o in Opcode)})"
        ) from None
    by_name = {f.name: f for f in SPECS[op].fields}
    deps: dict[str, str] = {}
    fields: dict[str, int] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        if not eq or not text:
            raise ValueError(f"expected name=value, got '{pair}'")
        if name in deps or name in fields:
            raise ValueError(f"field '{name}' given twice")
        if name in ("dpdon", "dpdby"):
            deps[name] = text
        elif name in by_name:
            fields[name] = _parse_value(by_name[name], text)
        else:
            raise ValueError(
                f"{op.name} has no field '{name}' (fields: {', '.join(by_name) or 'none'})"
            )
    return Instruction.make(op, **deps, **fields)  # type: ignore[arg-type]


def assemble(source: str | Iterable[str]) -> Words:
    """Encode assembly text (a string or an iterable of lines)."""
    lines = source.splitlines() if isinstance(source, str) else source
    instrs: list[Instruction] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            instrs.append(parse_instruction(line))
        except ValueError as exc:  # EncodingError included
            raise AsmError(f"line {number}: {exc}") from None
    return encode(instrs)
