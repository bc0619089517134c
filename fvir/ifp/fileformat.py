"""The `.ifp` file: a `Package` on disk, written once per model by `fv compile` and loaded by
the linker, the simulator and `fv inspect`.

Why this shape: a package is a few big arrays (ResNet-50: 21.5k instructions and 25 MB of
weights; VGG-16: 140 MB of weights) plus a little structure. The weights are stored raw and
64-byte aligned, so loading them is `np.frombuffer` views (no parsing, no copy), and a weight
blob sits at a fixed aligned offset that `np.memmap` could map directly. The structure
(metadata as JSON, frame records, instruction words, relocations) is stored zlib-compressed,
the records byte-shuffled first (`shuffle`): instructions repeat their fields from frame to
frame, so a package is about the size of its weights even for small models (MobileNetV2: 3.5
MB of weights and 0.5 MB of instruction words; an unrolled CRNN: 7.7 MB of weights and 11 MB
of frames, words and relocations, 0.09 MB compressed).

Layout, version 5 (all integers little-endian):

    offset  size  header (HEADER_SIZE = 128 bytes)
         0     8  magic b"FVIRIFP\\0"
         8     2  format version (u16, `FORMAT_VERSION`)
        10     2  flags (u16, reserved: 0)
        12     4  header size (u32, 128)
        16     8  total file size in bytes (u64)
        24     4  section count (u32)
        28     4  checksum algorithm (u32, 1 = SHA-256)
        32    32  checksum
        64    32  core hash: `CoreConfig.config_hash()` of the core compiled for, raw
        96    32  model name, UTF-8, NUL-padded, cut to 32 bytes (a label for hex dumps; the
                  full name is in the metadata)
       128  24*n  section directory: n x (id u32, reserved u32 = 0, offset u64, length u64)
                  sections, each at a multiple of 64 bytes, zero padding between them

    sections  META (1)         zlib: JSON: name, meta, segments, tensors, layers (with host
                               IR), inputs, outputs and their names
              FRAMES (2)       zlib, shuffled: FRAME_DTYPE records, 64 bytes each: layer u32,
                               tile u32, cost u64, instr_start u32, instr_count u32,
                               load_bytes u64, save_bytes u64, buffers 3 x u64 (fmap, weight,
                               bias footprint)
              WORDS (3)        zlib, shuffled: [n, 8] uint32 instruction words (32-byte records)
              RELOCS (4)       zlib, shuffled: RELOC_DTYPE records
              WEIGHTS (5)      the uint8 weight blob
              WEIGHTS_F32 (6)  optional: the float32 shadow of the weights
              HOST_WEIGHTS (7) optional: the arrays host layers read, each 64-byte aligned;
                               META's "host_weights" lists name, dtype, shape and offset

The checksum is SHA-256 over the whole file except the checksum field itself (the header is
covered too, so a flipped flag or name is caught). SHA-256 rather than CRC32, measured with
benchmarks/bench_ifp.py: hashlib's SHA-256 runs at 1.2-1.5 GB/s here and zlib's CRC32 at
2.0-2.4 GB/s, so SHA-256 costs ~45 ms more on VGG-16's 142 MB (`read_package` takes ~165 ms in
all). For that, it also catches what a 32-bit CRC lets through (one arbitrary corruption in
4 billion, and any edit that fixes the CRC up), and a package is loaded once per tenant, not
per inference. The reader and the writer hash
each 256 KiB chunk right after reading or before writing it, while it is in cache.

Reading checks, in order, and reports the first failure as one line (an `IfpError`, which is
a `UserError`): the magic, the version, the header, the size (truncated or extended), the
checksum, the section directory, each section's contents, the package's internal references
(frame and instruction ranges, tensor and segment ids) and, if `core` is given, the hardware.
The version is checked before anything else that a later version could change.

Versions: 1 had 40-byte frame records without `buffers`; 2 adds each frame's on-chip buffer
footprint; 3 stores host layers' weights as raw arrays (HOST_WEIGHTS), where 2 wrote them into
the host IR as dense literals in hex text (twice their size, and parsed at every run); 4
compresses the structure sections (COMPRESSED), which 3 stored raw. A reader reads its own
version only (an older file is the one-line unsupported version error: recompile the model).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from enum import IntEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from fvir.errors import UserError, first_line
from fvir.hw.config import CoreConfig
from fvir.ifp.package import (
    FORMAT_VERSION,
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.ir.lexguard import unterminated_string
from fvir.isa.spec import INSTR_WORDS

MAGIC = b"FVIRIFP\0"
HEADER = struct.Struct("<8sHHIQII32s32s32s")
HEADER_SIZE = HEADER.size  # 128
DIR_ENTRY = struct.Struct("<IIQQ")
ALIGN = 64  # cache-line and AVX-512 friendly; np.frombuffer/np.memmap need only 8
CHECKSUM_SHA256 = 1
NAME_BYTES = 32
# Header byte ranges, for the checksum (it skips its own field) and the tests.
CHECKSUM_FIELD = slice(32, 64)
_READ_CHUNK = 256 << 10  # fits in L2: each chunk is hashed right after it is read or written

# Arrays are stored little-endian whatever the host's byte order.
_FRAME_LE = FRAME_DTYPE.newbyteorder("<")
_RELOC_LE = RELOC_DTYPE.newbyteorder("<")
_WORD_LE = np.dtype("<u4")
_F32_LE = np.dtype("<f4")


class Section(IntEnum):
    META = 1
    FRAMES = 2
    WORDS = 3
    RELOCS = 4
    WEIGHTS = 5
    WEIGHTS_F32 = 6
    HOST_WEIGHTS = 7


REQUIRED = (Section.META, Section.FRAMES, Section.WORDS, Section.RELOCS, Section.WEIGHTS)
COMPRESSED = (Section.META, Section.FRAMES, Section.WORDS, Section.RELOCS)
ZLIB_LEVEL = 6  # zlib's default: level 9 saves ~5 % more at 3x the time
MAX_INFLATED = 1 << 32  # bytes a compressed section may expand to (4 GiB: no zip bomb)
# Record size of each array section (META is JSON).
_ITEM = {
    Section.FRAMES: FRAME_DTYPE.itemsize,
    Section.WORDS: 4 * INSTR_WORDS,
    Section.RELOCS: RELOC_DTYPE.itemsize,
    Section.WEIGHTS: 1,
    Section.WEIGHTS_F32: 4,
    Section.HOST_WEIGHTS: 1,
}
# The element types a host weight may have (stored little-endian).
HOST_WEIGHT_DTYPES = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
)


class IfpError(UserError):
    """A file that is not a readable `.ifp` package for this fvir (and this hardware)."""


# ---------------------------------------------------------------------------------------------
# Shared helpers


def preset_of_core(core_hash: str) -> str | None:
    """The name(s) of the hardware presets whose core has `core_hash` ("a/b" if several)."""
    from fvir.hw.presets import PRESETS

    names = [p.name for p in PRESETS.values() if p.core.config_hash() == core_hash]
    return "/".join(names) or None


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def shuffle(section: Section, data: bytes | memoryview) -> bytes | memoryview:
    """A record section's bytes grouped by their position in the record (all first bytes, then
    all second bytes, ...) before compression: equal fields of successive records become runs
    (CRNN's words compress 22x raw, 104x shuffled); other sections unchanged. Lengths that are
    not whole records stay as they are, for the reader to report."""
    item = _ITEM.get(section, 1)
    if item == 1 or len(data) % item:
        return data
    return np.frombuffer(data, np.uint8).reshape(-1, item).T.tobytes()


def unshuffle(section: Section, data: bytes) -> bytes:
    """The inverse of `shuffle`."""
    item = _ITEM.get(section, 1)
    if item == 1 or len(data) % item:
        return data
    return np.frombuffer(data, np.uint8).reshape(item, -1).T.tobytes()


def _header_name(name: str) -> bytes:
    """`name` as the header's fixed field: UTF-8 cut at a character boundary, NUL-padded."""
    cut = name.encode("utf-8", "replace")[:NAME_BYTES].decode("utf-8", "ignore")
    return cut.encode("utf-8").ljust(NAME_BYTES, b"\0")


def _checksum(header: bytes | memoryview, body: Iterator[memoryview] | list[memoryview]) -> bytes:
    h = hashlib.sha256()
    h.update(header[: CHECKSUM_FIELD.start])
    h.update(header[CHECKSUM_FIELD.stop :])
    for chunk in body:
        h.update(chunk)
    return h.digest()


def _numeric_kind(dtype: str) -> str | None:
    """numpy's kind letter of a bool, integer or float dtype name, else None."""
    try:
        kind = np.dtype(dtype).kind
    except (TypeError, ValueError):
        return None
    return kind if kind in ("b", "i", "u", "f") else None


def check_references(package: Package) -> str | None:
    """The first dangling reference inside `package` (a frame range past the instruction
    words, an unknown tensor id...), or None. The writer refuses such a package and the reader
    reports it, so consumers can index without bounds checks."""
    n_tensors, n_segments = len(package.tensors), len(package.segments)
    n_frames, n_words = len(package.frames), len(package.words)
    if len(package.input_names) != len(package.inputs):
        return f"{len(package.inputs)} inputs but {len(package.input_names)} input names"
    if len(package.output_names) != len(package.outputs):
        return f"{len(package.outputs)} outputs but {len(package.output_names)} output names"
    for what, ids in (("input", package.inputs), ("output", package.outputs)):
        for t in ids:
            if not 0 <= t < n_tensors:
                return f"{what} tensor {t} does not exist ({n_tensors} tensors)"
    for i, seg in enumerate(package.segments):
        if seg.size < 0:
            return f"segment {i} '{seg.name}' has size {seg.size}"
    for i, t in enumerate(package.tensors):
        if not 0 <= t.segment < n_segments:
            return f"tensor {i} '{t.name}' is in segment {t.segment} ({n_segments} segments)"
        if t.offset < 0 or any(d < 0 for d in t.shape):
            return f"tensor {i} '{t.name}' has offset {t.offset} and shape {list(t.shape)}"
        if _numeric_kind(t.dtype) is None:
            return f"tensor {i} '{t.name}' has dtype {t.dtype!r}, not a numeric type"
        if not -1023 <= t.frac_bits <= 1023:  # 2**frac_bits must be a float64
            return f"tensor {i} '{t.name}' has frac_bits {t.frac_bits} (outside -1023..1023)"
        if not -128 <= t.zero_point <= 127:
            return f"tensor {i} '{t.name}' has zero point {t.zero_point} (outside -128..127)"
    for i, layer in enumerate(package.layers):
        for t in (*layer.inputs, *layer.outputs):
            if not 0 <= t < n_tensors:
                return f"layer {i} '{layer.name}' uses tensor {t} ({n_tensors} tensors)"
        if layer.frame_start < 0 or layer.frame_count < 0 or (
            layer.frame_start + layer.frame_count > n_frames
        ):
            return (
                f"layer {i} '{layer.name}' has frames {layer.frame_start}.."
                f"{layer.frame_start + layer.frame_count - 1} ({n_frames} frames)"
            )
    if n_frames:
        ends = package.frames["instr_start"].astype(np.uint64) + package.frames["instr_count"]
        bad = np.flatnonzero(ends > n_words)
        if bad.size:
            f = package.frames[bad[0]]
            return (
                f"frame {bad[0]} has instructions {f['instr_start']}.."
                f"{int(ends[bad[0]]) - 1} ({n_words} instructions)"
            )
        bad = np.flatnonzero(package.frames["layer"] >= len(package.layers))
        if bad.size:
            return (
                f"frame {bad[0]} belongs to layer {package.frames['layer'][bad[0]]} "
                f"({len(package.layers)} layers)"
            )
    if len(package.relocs):
        bad = np.flatnonzero(package.relocs["instr"] >= n_words)
        if bad.size:
            return (
                f"relocation {bad[0]} patches instruction {package.relocs['instr'][bad[0]]} "
                f"({n_words} instructions)"
            )
        bad = np.flatnonzero(package.relocs["segment"] >= n_segments)
        if bad.size:
            return (
                f"relocation {bad[0]} names segment {package.relocs['segment'][bad[0]]} "
                f"({n_segments} segments)"
            )
    return None


# ---------------------------------------------------------------------------------------------
# Writing


def _host_weight_layout(package: Package) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """The META entries of the host weights and their little-endian arrays, in file order."""
    entries, arrays, at = [], [], 0
    for name, value in package.host_weights.items():
        arr = np.asarray(value)
        arr = arr if arr.flags.c_contiguous else arr.copy()  # (ascontiguousarray makes 0-d 1-d)
        if arr.dtype.name not in HOST_WEIGHT_DTYPES:
            raise ValueError(f"host weight '{name}' has unsupported dtype {arr.dtype}")
        at = _align(at)
        entries.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
                        "offset": at})
        arrays.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        at += arr.nbytes
    return entries, arrays


def _metadata(package: Package, host_weights: list[dict[str, Any]]) -> bytes:
    doc = {
        "name": package.name,
        "meta": package.meta,
        "segments": [
            {"name": s.name, "kind": SegmentKind(s.kind).name.lower(), "size": s.size}
            for s in package.segments
        ],
        "tensors": [
            {
                "name": t.name,
                "segment": t.segment,
                "offset": t.offset,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "frac_bits": t.frac_bits,
                "layout": t.layout,
                **({"zero_point": t.zero_point} if t.zero_point else {}),
            }
            for t in package.tensors
        ],
        "inputs": package.inputs,
        "input_names": package.input_names,
        "outputs": package.outputs,
        "output_names": package.output_names,
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind,
                "inputs": list(layer.inputs),
                "outputs": list(layer.outputs),
                "frame_start": layer.frame_start,
                "frame_count": layer.frame_count,
                "host_ir": layer.host_ir,
            }
            for layer in package.layers
        ],
        "host_weights": host_weights,
    }
    # One key per line: small (tens of KB for ResNet-50) and readable in a hex dump.
    return json.dumps(doc, indent=1).encode()


def _array(value: Any, dtype: np.dtype, ndim: int, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype != dtype or arr.ndim != ndim:
        raise ValueError(
            f"Package.{what} must be a {ndim}-D {dtype} array, got {arr.ndim}-D {arr.dtype}"
        )
    return arr


def _sections(package: Package) -> list[tuple[Section, memoryview]]:
    """The sections' contents, in file order, as byte views of the package's arrays."""
    if package.version != FORMAT_VERSION:
        raise ValueError(
            f"cannot write a version {package.version} package (this fvir writes version "
            f"{FORMAT_VERSION})"
        )
    words = _array(package.words, np.dtype(np.uint32), 2, "words")
    if words.shape[1] != INSTR_WORDS:
        raise ValueError(f"Package.words must be [n, {INSTR_WORDS}], got {list(words.shape)}")
    arrays = [
        (Section.FRAMES, _array(package.frames, FRAME_DTYPE, 1, "frames"), _FRAME_LE),
        (Section.WORDS, words, _WORD_LE),
        (Section.RELOCS, _array(package.relocs, RELOC_DTYPE, 1, "relocs"), _RELOC_LE),
        (Section.WEIGHTS, _array(package.weights, np.dtype(np.uint8), 1, "weights"), None),
    ]
    if package.weights_f32 is not None:
        f32 = _array(package.weights_f32, np.dtype(np.float32), 1, "weights_f32")
        arrays.append((Section.WEIGHTS_F32, f32, _F32_LE))
    entries, host = _host_weight_layout(package)
    out = [(Section.META, memoryview(_metadata(package, entries)))]
    for sid, arr, le in arrays:
        if le is not None:
            arr = arr.astype(le, copy=False)  # a no-op on little-endian hosts
        flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)  # no copy
        out.append((sid, memoryview(flat)))
    out = [(sid, memoryview(zlib.compress(shuffle(sid, data), ZLIB_LEVEL))
            if sid in COMPRESSED else data) for sid, data in out]
    if host:
        blob = np.zeros(entries[-1]["offset"] + host[-1].nbytes, np.uint8)
        for entry, arr in zip(entries, host, strict=True):
            blob[entry["offset"] : entry["offset"] + arr.nbytes] = arr.reshape(-1).view(np.uint8)
        out.append((Section.HOST_WEIGHTS, memoryview(blob)))
    return out


def _encode(package: Package) -> tuple[Callable[[bytes], bytes], list[memoryview]]:
    """The header as a function of the checksum, and every byte after it as a list of chunks
    (views of the package's arrays, not copies)."""
    try:
        core_hash = bytes.fromhex(package.core_hash)
    except ValueError:
        core_hash = b""
    if len(core_hash) != 32:
        raise ValueError(
            f"Package.core_hash must be 64 hex digits (CoreConfig.config_hash()), got "
            f"{package.core_hash!r}"
        )
    sections = _sections(package)  # checks the arrays' types first
    problem = check_references(package)
    if problem is not None:
        raise ValueError(f"cannot write package '{package.name}': {problem}")

    # Lay the sections out, each at the next aligned offset after the directory.
    directory = bytearray()
    body: list[memoryview] = []
    at = HEADER_SIZE + DIR_ENTRY.size * len(sections)
    for sid, data in sections:
        start = _align(at)
        directory += DIR_ENTRY.pack(sid, 0, start, data.nbytes)
        if start > at:
            body.append(memoryview(bytes(start - at)))
        body.append(data)
        at = start + data.nbytes
    body.insert(0, memoryview(bytes(directory)))
    total = at

    def header(checksum: bytes) -> bytes:
        return HEADER.pack(
            MAGIC, FORMAT_VERSION, 0, HEADER_SIZE, total, len(sections), CHECKSUM_SHA256,
            checksum, core_hash, _header_name(package.name),
        )

    return header, body


def to_bytes(package: Package) -> bytes:
    """`package` as the bytes of an `.ifp` file."""
    header, body = _encode(package)
    return b"".join([header(_checksum(header(bytes(32)), body)), *body])


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set straight back
    os.umask(mask)
    return mask


def write_package(package: Package, path: str | os.PathLike[str]) -> int:
    """Write `package` to `path` and return the file's size. The file appears whole or not
    at all: it is written next to `path` and renamed into place, with the mode a plain
    `open()` would have given it (0666 less the umask; mkstemp's own is 0600)."""
    header, body = _encode(package)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            # Hash each piece as it is written, while it is in cache, then fill in the header.
            blank = header(bytes(32))
            f.write(blank)
            h = hashlib.sha256()
            h.update(blank[: CHECKSUM_FIELD.start])
            h.update(blank[CHECKSUM_FIELD.stop :])
            for chunk in body:
                for at in range(0, chunk.nbytes, _READ_CHUNK):
                    piece = chunk[at : at + _READ_CHUNK]
                    h.update(piece)
                    f.write(piece)
            size = f.tell()
            f.seek(0)
            f.write(header(h.digest()))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


# ---------------------------------------------------------------------------------------------
# Reading


class _Reader:
    def __init__(self, data: bytes | bytearray | memoryview, source: str,
                 digest: bytes | None = None) -> None:
        self.data = data
        self.view = memoryview(data).cast("B")
        self.src = source
        self.digest = digest  # the checksum of `data`, when the caller computed it already

    def fail(self, message: str) -> IfpError:
        return IfpError(f"{self.src} {message}")

    def header(self) -> tuple[int, int, bytes, bytes]:
        """Check everything up to the checksum; return (total size, section count, core hash,
        header name)."""
        view, n = self.view, len(self.view)
        if bytes(view[: len(MAGIC)]) != MAGIC[:n]:
            raise self.fail(f"is not an .ifp file (bad magic {bytes(view[:8])!r})")
        if n >= 10:
            (version,) = struct.unpack_from("<H", view, 8)
            if version != FORMAT_VERSION:
                raise self.fail(
                    f"has unsupported .ifp format version {version} "
                    f"(this fvir reads version {FORMAT_VERSION})"
                )
        if n < HEADER_SIZE:
            raise self.fail(f"is truncated: {n} bytes, expected at least {HEADER_SIZE}")
        (_, _, flags, header_size, total, count, algorithm, stored, core_hash,
         name) = HEADER.unpack_from(view, 0)
        if header_size != HEADER_SIZE:
            raise self.fail(
                f"has a malformed header: header size {header_size}, expected {HEADER_SIZE}"
            )
        if n < total:
            raise self.fail(f"is truncated: {n} bytes, expected {total}")
        if n > total:
            raise self.fail(
                f"is corrupted: {n} bytes, but its header says {total} (data after the end)"
            )
        if algorithm != CHECKSUM_SHA256:
            raise self.fail(
                f"has a malformed header: unknown checksum algorithm {algorithm} "
                f"(expected {CHECKSUM_SHA256}, SHA-256)"
            )
        computed = self.digest or _checksum(view[:HEADER_SIZE], [view[HEADER_SIZE:]])
        if computed != stored:
            raise self.fail(
                f"is corrupted: SHA-256 checksum mismatch (stored {stored.hex()[:16]}..., "
                f"computed {computed.hex()[:16]}...)"
            )
        if flags != 0:
            raise self.fail(f"has a malformed header: unknown flags {flags:#06x}")
        return total, count, core_hash, name

    def directory(self, total: int, count: int) -> dict[Section, tuple[int, int]]:
        def bad(detail: str) -> IfpError:
            return self.fail(f"has a malformed section directory: {detail}")

        end = HEADER_SIZE + DIR_ENTRY.size * count
        if end > total:
            raise bad(f"{count} sections do not fit in {total} bytes")
        sections: dict[Section, tuple[int, int]] = {}
        for i in range(count):
            entry = HEADER_SIZE + DIR_ENTRY.size * i
            sid, reserved, offset, length = DIR_ENTRY.unpack_from(self.view, entry)
            try:
                section = Section(sid)
            except ValueError:
                raise bad(f"entry {i} has unknown section id {sid}") from None
            name = section.name.lower()
            if reserved:
                raise bad(f"entry {i} ({name}) has reserved field {reserved}, expected 0")
            if section in sections:
                raise bad(f"section {name} appears twice")
            if offset % ALIGN:
                raise bad(f"section {name} at offset {offset} is not {ALIGN}-byte aligned")
            if offset < end or offset + length > total:
                raise bad(
                    f"section {name} (bytes {offset}..{offset + length}) lies outside "
                    f"{end}..{total}"
                )
            sections[section] = (offset, length)
        missing = [s.name.lower() for s in REQUIRED if s not in sections]
        if missing:
            raise bad(f"missing section {', '.join(missing)}")
        spans = sorted(sections.values())
        for (a, la), (b, _) in pairwise(spans):
            if a + la > b:
                raise bad(f"sections at offsets {a} and {b} overlap")
        return sections

    def inflate(self, sections: dict[Section, tuple[int, int]],
                section: Section) -> bytes | bytearray:
        """The contents of a compressed section."""
        offset, length = sections[section]
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(self.view[offset : offset + length], MAX_INFLATED)
        except zlib.error as exc:
            raise self.fail(f"has a malformed {section.name.lower()} section: {exc}") from None
        if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
            raise self.fail(
                f"has a malformed {section.name.lower()} section: not one complete zlib stream"
                f" of at most {MAX_INFLATED} bytes"
            )
        data = unshuffle(section, data)
        # Mutable like the file's own buffer: read_package's arrays are writable, from_bytes'
        # are views of immutable bytes.
        return data if isinstance(self.data, bytes) else bytearray(data)

    def array(self, sections: dict[Section, tuple[int, int]], section: Section,
              dtype: np.dtype, native: np.dtype) -> np.ndarray:
        data: bytes | bytearray | memoryview
        if section in COMPRESSED:
            data = self.inflate(sections, section)
            offset, length = 0, len(data)
        else:
            data = self.data
            offset, length = sections[section]
        item = _ITEM[section]
        if length % item:
            raise self.fail(
                f"has a malformed {section.name.lower()} section: {length} bytes is not a "
                f"multiple of its {item}-byte records"
            )
        arr = np.frombuffer(data, dtype=dtype, count=length // dtype.itemsize, offset=offset)
        # Zero-copy on little-endian hosts, where `dtype` already is the native one.
        return arr if dtype == native else arr.astype(native)

    def host_weights(self, sections: dict[Section, tuple[int, int]],
                     index: list[tuple[str, np.dtype, tuple[int, ...], int]]
                     ) -> dict[str, np.ndarray]:
        """The host weights `index` (from META) lists, as views of the HOST_WEIGHTS section."""
        if not index:
            return {}
        if Section.HOST_WEIGHTS not in sections:
            raise self.fail("has a malformed meta section: host weights listed, but no "
                            "host_weights section")
        offset, length = sections[Section.HOST_WEIGHTS]
        out: dict[str, np.ndarray] = {}
        for name, dtype, shape, at in index:
            count = math.prod(shape)
            if at < 0 or at % ALIGN or at + count * dtype.itemsize > length:
                raise self.fail(
                    f"has a malformed host_weights section: weight '{name}' ({count} x "
                    f"{dtype.name} at offset {at}) lies outside its {length} bytes or is "
                    f"not {ALIGN}-byte aligned"
                )
            arr = np.frombuffer(self.data, dtype=dtype.newbyteorder("<"), count=count,
                                offset=offset + at)
            out[name] = arr.astype(dtype, copy=False).reshape(shape)
        return out

    def package(self, core: CoreConfig | None) -> Package:
        total, count, core_raw, header_name = self.header()
        sections = self.directory(total, count)
        meta = self.inflate(sections, Section.META)
        try:
            doc = json.loads(meta.decode("utf-8"))
            fields = _from_metadata(doc)
        except KeyError as exc:
            raise self.fail(f"has a malformed meta section: missing key {exc}") from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise self.fail(f"has a malformed meta section: {first_line(exc)}") from None
        if _header_name(fields["name"]) != header_name:
            label = header_name.rstrip(b"\0")
            raise self.fail(
                f"has a malformed header: model name {label!r} does not match the "
                f"metadata's {fields['name']!r}"
            )
        words = self.array(sections, Section.WORDS, _WORD_LE, np.dtype(np.uint32))
        f32 = None
        if Section.WEIGHTS_F32 in sections:
            f32 = self.array(sections, Section.WEIGHTS_F32, _F32_LE, np.dtype(np.float32))
        fields["host_weights"] = self.host_weights(sections, fields.pop("host_weight_index"))
        package = Package(
            core_hash=core_raw.hex(),
            frames=self.array(sections, Section.FRAMES, _FRAME_LE, FRAME_DTYPE),
            words=words.reshape(-1, INSTR_WORDS),
            relocs=self.array(sections, Section.RELOCS, _RELOC_LE, RELOC_DTYPE),
            weights=self.array(sections, Section.WEIGHTS, np.dtype(np.uint8),
                               np.dtype(np.uint8)),
            weights_f32=f32,
            version=FORMAT_VERSION,
            **fields,
        )
        problem = check_references(package)
        if problem is not None:
            raise self.fail(f"is inconsistent: {problem}")
        if core is not None:
            check_core(package, core, self.src)
        return package


def _from_metadata(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise TypeError(f"expected a JSON object, got {type(doc).__name__}")

    def ints(values: Any) -> list[int]:
        if not isinstance(values, list) or not all(type(v) is int for v in values):
            raise TypeError(f"expected a list of integers, got {values!r:.60}")
        return list(values)

    def strs(values: Any) -> list[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TypeError(f"expected a list of strings, got {values!r:.60}")
        return list(values)

    def string(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r:.60}")
        return value

    def host_ir(value: Any) -> str:
        # Parsed by xDSL when the layer runs: a literal its lexer cannot end would hang it.
        where = unterminated_string(string(value))
        if where is not None:
            raise ValueError(f"host IR line {where[0]}: string literal not closed")
        return value

    def integer(value: Any) -> int:
        if type(value) is not int:
            raise TypeError(f"expected an integer, got {value!r:.60}")
        return value

    meta = doc["meta"]
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a JSON object, got {meta!r:.60}")
    segments = []
    for s in doc["segments"]:
        kind = string(s["kind"]).upper()
        if kind not in SegmentKind.__members__:
            raise ValueError(f"unknown segment kind {s['kind']!r}")
        segments.append(Segment(string(s["name"]), SegmentKind[kind], integer(s["size"])))
    tensors = [
        TensorInfo(
            name=string(t["name"]),
            segment=integer(t["segment"]),
            offset=integer(t["offset"]),
            shape=tuple(ints(t["shape"])),
            dtype=string(t["dtype"]),
            frac_bits=integer(t["frac_bits"]),
            layout=string(t["layout"]),
            zero_point=integer(t.get("zero_point", 0)),  # absent: symmetric (older packages)
        )
        for t in doc["tensors"]
    ]
    layers = [
        Layer(
            name=string(x["name"]),
            kind=string(x["kind"]),
            inputs=tuple(ints(x["inputs"])),
            outputs=tuple(ints(x["outputs"])),
            frame_start=integer(x["frame_start"]),
            frame_count=integer(x["frame_count"]),
            host_ir=host_ir(x["host_ir"]),
        )
        for x in doc["layers"]
    ]
    index = []
    for h in doc["host_weights"]:
        dtype = string(h["dtype"])
        if dtype not in HOST_WEIGHT_DTYPES:
            raise ValueError(f"host weight {h['name']!r:.40} has unsupported dtype {dtype!r:.20}")
        shape = tuple(ints(h["shape"]))
        if any(d < 0 for d in shape):
            raise ValueError(f"host weight {h['name']!r:.40} has a negative dimension")
        index.append((string(h["name"]), np.dtype(dtype), shape, integer(h["offset"])))
    if len({name for name, *_ in index}) != len(index):
        raise ValueError("a host weight is listed twice")
    return {
        "name": string(doc["name"]),
        "meta": dict(meta),
        "host_weight_index": index,
        "segments": segments,
        "tensors": tensors,
        "inputs": ints(doc["inputs"]),
        "outputs": ints(doc["outputs"]),
        "input_names": strs(doc["input_names"]),
        "output_names": strs(doc["output_names"]),
        "layers": layers,
    }


def describe_core(core_hash: str, fallback: str | None = None) -> str:
    """`core_hash` shortened, with the preset it belongs to: "3f2a9c1b0d4e (paper-u200)"."""
    label = preset_of_core(core_hash) or fallback or "no known preset"
    return f"{core_hash[:12]} ({label})"


def check_core(package: Package, core: CoreConfig, source: str | None = None) -> None:
    """Raise an `IfpError` unless `package` was compiled for `core`."""
    expected = core.config_hash()
    if package.core_hash == expected:
        return
    src = source or f"package '{package.name}'"
    here = preset_of_core(expected)
    hint = f"; recompile it with --hw {here}" if here else ""
    raise IfpError(
        f"{src} was compiled for core {describe_core(package.core_hash, package.meta.get('hw'))}, "
        f"not for this hardware's core {describe_core(expected, 'custom')}{hint}"
    )


def from_bytes(data: bytes | bytearray | memoryview, *, core: CoreConfig | None = None,
               source: str = "data") -> Package:
    """The package in `data` (the bytes of an `.ifp` file). Its arrays are views of `data`,
    not copies (read-only when `data` is). `source` names the data in error messages."""
    return _Reader(data, source).package(core)


def read_package(path: str | os.PathLike[str], *, core: CoreConfig | None = None) -> Package:
    """Load the `.ifp` file at `path`. With `core`, also reject a package compiled for another
    core. Every problem is a one-line `UserError` naming the file. The arrays are writable
    views of one buffer holding the file."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = bytearray(size)
            view = memoryview(data)
            pos = 0
            while pos < size:
                got = f.readinto(view[pos : pos + _READ_CHUNK])
                if not got:  # the file shrank while being read
                    data = data[:pos]
                    break
                # Hash each chunk while it is in cache (~20% faster than read, then hash), all
                # but the checksum field.
                for a, b in ((pos, min(pos + got, CHECKSUM_FIELD.start)),
                             (max(pos, CHECKSUM_FIELD.stop), pos + got)):
                    if a < b:
                        h.update(view[a:b])
                pos += got
            view.release()
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror or exc}") from None
    return _Reader(data, f"'{path}'", h.digest()).package(core)
