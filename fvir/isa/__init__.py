"""The fvir instruction set: one table of formats (`spec`), binary encoding (`encoding`),
assembly text (`asm`) and the generated reference docs/isa.md (`docgen`).

Import what you need from here: `Instruction`, `Opcode`, `encode`, `decode`, ...
"""

from fvir.isa.asm import AsmError, assemble, disasm
from fvir.isa.encoding import (
    DecodingError,
    columns,
    decode,
    encode,
    encode_columns,
    from_bytes,
    get_field,
    opcodes,
    put_field,
    select,
    set_field,
    to_bytes,
)
from fvir.isa.instr import EncodingError, Instruction, dep_mask, dep_str
from fvir.isa.spec import (
    INSTR_BITS,
    INSTR_WORDS,
    REQUANT_MUL_BITS,
    REQUANT_MUL_MAX,
    SPECS,
    Act,
    ActFunc,
    Buf,
    ElewType,
    Engine,
    Opcode,
    PoolType,
)

__all__ = [
    "INSTR_BITS",
    "INSTR_WORDS",
    "REQUANT_MUL_BITS",
    "REQUANT_MUL_MAX",
    "SPECS",
    "Act",
    "ActFunc",
    "AsmError",
    "Buf",
    "DecodingError",
    "ElewType",
    "EncodingError",
    "Engine",
    "Instruction",
    "Opcode",
    "PoolType",
    "assemble",
    "columns",
    "decode",
    "dep_mask",
    "dep_str",
    "disasm",
    "encode",
    "encode_columns",
    "from_bytes",
    "get_field",
    "opcodes",
    "put_field",
    "select",
    "set_field",
    "to_bytes",
]
