"""Binary encoding of instructions, vectorized with numpy.

An instruction stream is an `[n, INSTR_WORDS]` uint32 array (`fvir.isa.spec` explains the
256-bit format). Everything here works on whole arrays, one opcode at a time, because the hot
users are vectorized too: the emitter encodes ~100k instructions of a ResNet-50 package, the
linker patches segment ids and offsets of every LOAD/SAVE in one operation (`get_field`,
`set_field`), and the simulator pulls the fields of all instructions of one type at once
(`columns`). `encode`/`decode` convert between the array and `Instruction` objects.

Every value is range-checked against its field; an error names the instruction type, the field,
the value, the field's range and the instruction's index in the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fvir.errors import UserError
from fvir.isa.instr import EncodingError, Instruction, check_value, enum_values, range_message
from fvir.isa.spec import HEADER, INSTR_WORDS, OPCODE_BITS, SPECS, Opcode, Placed

Words = NDArray[np.uint32]

_OPCODE_MASK = (1 << OPCODE_BITS) - 1
_VALID_OPS = np.array(sorted(int(op) for op in SPECS), dtype=np.int64)


class DecodingError(UserError, ValueError):
    """Words that are not a valid instruction stream (unknown opcode, reserved bits set...).
    Words come from a package file, so this is a user error: the tools print it as one line,
    whichever path decodes them (linker, simulator, disassembler)."""


# ---------------------------------------------------------------------------------------------
# Array helpers


def as_words(words: ArrayLike) -> Words:
    """`words` as an `[n, INSTR_WORDS]` uint32 array (a flat array of n * INSTR_WORDS is
    reshaped); no copy when it already is one."""
    arr = np.asarray(words)
    if arr.dtype != np.uint32:
        if arr.dtype.kind not in "iu" or (arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF)):
            raise DecodingError(f"instruction words must be uint32, got {arr.dtype}")
        arr = arr.astype(np.uint32)
    if arr.ndim == 1 and arr.size % INSTR_WORDS == 0:
        arr = arr.reshape(-1, INSTR_WORDS)
    if arr.ndim != 2 or arr.shape[1] != INSTR_WORDS:
        raise DecodingError(
            f"instruction words must have shape [n, {INSTR_WORDS}], got {list(arr.shape)}"
        )
    return arr


def to_bytes(words: ArrayLike) -> bytes:
    """The stream as bytes, little-endian uint32 words (the `.ifp` file layout)."""
    return as_words(words).astype("<u4", copy=False).tobytes()


def from_bytes(data: bytes) -> Words:
    """Inverse of `to_bytes`."""
    if len(data) % (4 * INSTR_WORDS):
        raise DecodingError(
            f"{len(data)} bytes is not a whole number of {4 * INSTR_WORDS}-byte instructions"
        )
    return np.frombuffer(data, dtype="<u4").astype(np.uint32).reshape(-1, INSTR_WORDS)


def opcodes(words: ArrayLike) -> NDArray[np.int64]:
    """The opcode of every instruction."""
    return (as_words(words)[:, 0] & _OPCODE_MASK).astype(np.int64)


def select(words: ArrayLike, *ops: Opcode) -> NDArray[np.intp]:
    """Indices of the instructions whose opcode is one of `ops`."""
    return np.flatnonzero(np.isin(opcodes(words), [int(op) for op in ops]))


def _extract(words: Words, p: Placed) -> NDArray[np.int64]:
    raw = (words[:, p.word].astype(np.int64) >> p.lsb) & p.mask
    if p.field.signed:
        raw = np.where(raw > p.field.hi, raw - (1 << p.field.bits), raw)
    return raw


def _insert(words: Words, p: Placed, values: NDArray[np.int64]) -> None:
    # `& mask` turns a negative int64 into its two's-complement field bits.
    bits = ((values & p.mask) << p.lsb).astype(np.uint32)
    words[:, p.word] = (words[:, p.word] & np.uint32(~(p.mask << p.lsb) & 0xFFFFFFFF)) | bits


def _column(op: Opcode, p: Placed, values: ArrayLike, n: int,
            index: NDArray[np.intp] | None) -> NDArray[np.int64]:
    """`values` as n checked int64 values of field `p` (scalars broadcast)."""
    f = p.field
    arr = np.asarray(values)
    if arr.size == 0 and n == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iub":
        # Floats, strings, None, or ints beyond int64: find the offender and name it.
        flat = np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr.ravel()
        for j, v in enumerate(flat.tolist()):
            try:
                check_value(op, f, v)
            except EncodingError as exc:
                raise EncodingError(f"{exc}{_where(index, j)}") from None
        raise EncodingError(f"{op.name}.{f.name}: values of type {arr.dtype} are not integers")
    try:
        arr = np.broadcast_to(arr, (n,))
    except ValueError:
        raise EncodingError(
            f"{op.name}.{f.name}: {arr.size} values for {n} instructions"
        ) from None
    bad = (arr < f.lo) | (arr > f.hi)
    if f.enum is not None:
        bad |= ~np.isin(arr, sorted(enum_values(f)))
    if bad.any():
        j = int(np.argmax(bad))
        raise EncodingError(f"{range_message(op, f, int(arr[j]))}{_where(index, j)}")
    return arr.astype(np.int64)


def _where(index: NDArray[np.intp] | None, j: int) -> str:
    return f" (instruction {int(index[j]) if index is not None else j})"


# ---------------------------------------------------------------------------------------------
# Columnar encoding: the fast path, and the building block of `encode`


def encode_columns(op: Opcode, columns: Mapping[str, ArrayLike], n: int | None = None, *,
                   index: NDArray[np.intp] | None = None) -> Words:
    """Encode n instructions of type `op` given as one array (or scalar) per field.

    `columns` may hold `dpdon`/`dpdby` (default 0) and may omit fields that have a default.
    `n` is taken from the first non-scalar column when not given. `index` (the instructions'
    positions in a larger stream) only improves error messages.
    """
    op = Opcode(op)
    spec = SPECS[op]
    unknown = set(columns) - set(spec.names) - {"dpdon", "dpdby"}
    if unknown:
        raise EncodingError(
            f"{op.name} has no field '{sorted(unknown)[0]}' "
            f"(fields: {', '.join(spec.names) or 'none'})"
        )
    if n is None:
        sizes = [np.size(v) for v in columns.values() if np.ndim(v) > 0]
        n = sizes[0] if sizes else 1
    words = np.zeros((n, INSTR_WORDS), dtype=np.uint32)
    words[:, 0] = int(op)
    for p in spec.layout[1:]:
        if p.name in columns:
            values = columns[p.name]
        elif p.field.default is not None or p.field in HEADER:
            values = p.field.default or 0
        else:
            raise EncodingError(f"{op.name}.{p.name} is required (no default)")
        _insert(words, p, _column(op, p, values, n, index))
    return words


def encode(instrs: Sequence[Instruction]) -> Words:
    """Encode `instrs` into an `[n, INSTR_WORDS]` uint32 array.

    Vectorized per opcode: the only Python-level loop gathers each instruction's field values.
    """
    n = len(instrs)
    words = np.zeros((n, INSTR_WORDS), dtype=np.uint32)
    if n == 0:
        return words
    ops = np.fromiter((i.op for i in instrs), dtype=np.int64, count=n)
    for op_value in np.unique(ops):
        op = Opcode(int(op_value))
        index = np.flatnonzero(ops == op_value)
        group = [instrs[i] for i in index.tolist()]
        columns = _gather(op, group, index)
        columns["dpdon"] = [i.dpdon for i in group]
        columns["dpdby"] = [i.dpdby for i in group]
        words[index] = encode_columns(op, columns, len(group), index=index)
    return words


def _gather(op: Opcode, group: list[Instruction], index: NDArray[np.intp]) -> dict[str, ArrayLike]:
    """The field values of `group` (all of type `op`) as one column per field."""
    names = SPECS[op].names
    if not names:
        for j, ins in enumerate(group):
            if ins.fields:
                raise EncodingError(f"{op.name} has no fields, got {sorted(ins.fields)}"
                                    f"{_where(index, j)}")
        return {}
    dicts = [ins.fields for ins in group]
    getter = itemgetter(*names)
    try:
        rows = list(map(getter, dicts))
    except KeyError as exc:
        j = next(j for j, d in enumerate(dicts) if exc.args[0] not in d)
        raise EncodingError(f"{op.name}.{exc.args[0]} is missing{_where(index, j)}") from None
    # Every name is present, so a longer dict has a field the instruction type does not have.
    for j, d in enumerate(dicts):
        if len(d) != len(names):
            extra = sorted(set(d) - set(names))[0]
            raise EncodingError(f"{op.name} has no field '{extra}' "
                                f"(fields: {', '.join(names)}){_where(index, j)}")
    if len(names) == 1:
        return {names[0]: rows}
    table = np.array(rows)
    if table.dtype.kind in "iub":
        return {name: table[:, k] for k, name in enumerate(names)}
    # A float or an oversized int somewhere: per-field columns let `_column` name it.
    return {name: [r[k] for r in rows] for k, name in enumerate(names)}


# ---------------------------------------------------------------------------------------------
# Decoding


def _check_stream(words: Words) -> NDArray[np.int64]:
    ops = (words[:, 0] & _OPCODE_MASK).astype(np.int64)
    unknown = ~np.isin(ops, _VALID_OPS)
    if unknown.any():
        j = int(np.argmax(unknown))
        raise DecodingError(f"instruction {j}: unknown opcode {int(ops[j]):#x}")
    return ops


def _decode_group(op: Opcode, sub: Words, index: NDArray[np.intp]) -> list[NDArray[np.int64]]:
    """The layout's columns (header included) for the instructions `sub`, all of type `op`."""
    spec = SPECS[op]
    for w, mask in enumerate(spec.reserved_masks()):
        hit = (sub[:, w] & np.uint32(mask)) != 0
        if mask and hit.any():
            j = int(np.argmax(hit))
            raise DecodingError(
                f"instruction {int(index[j])}: {op.name} has reserved bits set in word {w} "
                f"({int(sub[j, w]):#010x})"
            )
    cols = [_extract(sub, p) for p in spec.layout]
    for p, col in zip(spec.layout, cols, strict=True):
        if p.field.enum is not None:
            bad = ~np.isin(col, sorted(enum_values(p.field)))
            if bad.any():
                j = int(np.argmax(bad))
                raise DecodingError(
                    f"instruction {int(index[j])}: {range_message(op, p.field, int(col[j]))}"
                )
    return cols


def decode(words: ArrayLike) -> list[Instruction]:
    """The instructions of a stream; `decode(encode(x)) == x`."""
    arr = as_words(words)
    ops = _check_stream(arr)
    out: list[Instruction | None] = [None] * len(arr)
    for op_value in np.unique(ops):
        op = Opcode(int(op_value))
        index = np.flatnonzero(ops == op_value)
        cols = _decode_group(op, arr[index], index)
        names = SPECS[op].names
        rows = np.stack(cols, axis=1).tolist()
        for i, row in zip(index.tolist(), rows, strict=True):
            out[i] = Instruction(op, dict(zip(names, row[3:], strict=True)), row[1], row[2])
    return out  # type: ignore[return-value]  # every slot is filled


def columns(words: ArrayLike, op: Opcode) -> tuple[NDArray[np.intp], dict[str, NDArray[np.int64]]]:
    """All instructions of type `op`: their indices and one array per field (header included).

    This is the simulator's decoder: one call per opcode, no per-instruction Python objects.
    """
    arr = as_words(words)
    op = Opcode(op)
    index = np.flatnonzero((arr[:, 0] & _OPCODE_MASK) == int(op))
    cols = _decode_group(op, arr[index], index)
    return index, {p.name: c for p, c in zip(SPECS[op].layout, cols, strict=True)}


# ---------------------------------------------------------------------------------------------
# Single-field access, for the linker's relocation patching


def field_position(ops: Opcode | Iterable[Opcode], name: str) -> Placed:
    """Where field `name` sits in instructions of type `ops` (one opcode, or several whose
    layouts place `name` identically, such as LOAD and SAVE)."""
    op_list = [Opcode(ops)] if isinstance(ops, int) else [Opcode(o) for o in ops]
    places = {op: SPECS[op].placed(name) for op in op_list}
    first = places[op_list[0]]
    for op, p in places.items():
        if (p.word, p.lsb, p.field.bits, p.field.signed) != (
                first.word, first.lsb, first.field.bits, first.field.signed):
            raise ValueError(f"field '{name}' sits differently in {op_list[0].name} and {op.name}")
    return first


def _rows(arr: Words, ops: Opcode | Iterable[Opcode],
          rows: ArrayLike | None) -> tuple[list[Opcode], NDArray[np.intp]]:
    op_list = [Opcode(ops)] if isinstance(ops, int) else [Opcode(o) for o in ops]
    if rows is None:
        index = np.arange(len(arr))
    else:
        sel = np.asarray(rows)
        if sel.dtype == np.bool_:
            if sel.shape != (len(arr),):
                raise ValueError(f"a row mask needs {len(arr)} entries, got {sel.size}")
            index = np.flatnonzero(sel)
        else:
            index = np.arange(len(arr))[sel.astype(np.intp)]  # also checks the bounds
    got = (arr[index, 0] & _OPCODE_MASK).astype(np.int64)
    wrong = ~np.isin(got, [int(o) for o in op_list])
    if wrong.any():
        j = int(np.argmax(wrong))
        code = int(got[j])
        found = Opcode(code).name if code in SPECS else f"opcode {code:#x}"
        wanted = "/".join(o.name for o in op_list)
        raise DecodingError(f"instruction {int(index[j])} is {found}, not {wanted}")
    return op_list, index


def get_field(words: ArrayLike, ops: Opcode | Iterable[Opcode], name: str,
              rows: ArrayLike | None = None) -> NDArray[np.int64]:
    """Field `name` of the selected instructions (all when `rows` is None; else an index array
    or boolean mask). Every selected instruction must be of a type in `ops`."""
    arr = as_words(words)
    op_list, index = _rows(arr, ops, rows)
    return _extract(arr[index], field_position(op_list, name))


def put_field(words: NDArray[np.uint32], ops: Opcode | Iterable[Opcode], name: str,
              rows: NDArray[np.intp], values: ArrayLike) -> None:
    """`set_field` for rows the caller knows are `ops` instructions (e.g. from `columns`):
    the values are range-checked, the opcodes are not, and only the field's word column is
    rewritten, so patching a few thousand instructions costs tens of microseconds."""
    first = Opcode(ops) if isinstance(ops, int) else Opcode(next(iter(ops)))
    p = field_position(ops, name)
    checked = _column(first, p, values, len(rows), rows)
    keep = np.uint32(~(p.mask << p.lsb) & 0xFFFFFFFF)
    words[rows, p.word] = (words[rows, p.word] & keep) | (
        (checked & p.mask) << p.lsb).astype(np.uint32)


def set_field(words: NDArray[np.uint32], ops: Opcode | Iterable[Opcode], name: str,
              values: ArrayLike, rows: ArrayLike | None = None) -> None:
    """Write field `name` of the selected instructions in place (values broadcast, checked)."""
    if not isinstance(words, np.ndarray) or words.dtype != np.uint32:
        raise ValueError("set_field needs a uint32 numpy array to modify in place")
    arr = as_words(words)  # a view: writes reach `words`
    op_list, index = _rows(arr, ops, rows)
    p = field_position(op_list, name)
    checked = _column(op_list[0], p, values, len(index), index)
    sub = arr[index]
    _insert(sub, p, checked)
    arr[index] = sub
