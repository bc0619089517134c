"""Packages for the `.ifp` tests: a hypothesis strategy drawing random but internally
consistent packages (every frame, instruction, tensor and segment reference in range), one
fixed realistic package, field-by-field equality (arrays compared bit for bit), and byte
surgery on `.ifp` files (a section's contents replaced, the file resealed) for the tests of
what readers reject."""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import zlib

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fvir.hw import TINY
from fvir.ifp.fileformat import (
    ALIGN,
    CHECKSUM_FIELD,
    COMPRESSED,
    DIR_ENTRY,
    HEADER_SIZE,
    Section,
    shuffle,
    unshuffle,
)
from fvir.ifp.package import (
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.isa import SPECS, Buf, Instruction, Opcode, encode

U64 = 2**64 - 1
text = st.text(max_size=12)


@st.composite
def packages(draw: st.DrawFn) -> Package:
    segments = draw(st.lists(
        st.builds(Segment, text, st.sampled_from(list(SegmentKind)), st.integers(0, U64)),
        min_size=1, max_size=4,
    ))
    tensor = st.builds(
        TensorInfo,
        name=text,
        segment=st.integers(0, len(segments) - 1),
        offset=st.integers(0, U64),
        shape=st.lists(st.integers(0, 2**31), max_size=4).map(tuple),
        dtype=st.sampled_from(["int8", "float32"]),
        frac_bits=st.integers(-16, 31),
        layout=st.sampled_from(["nhwc", "flat"]),
        zero_point=st.integers(-128, 127),
    )
    tensors = draw(st.lists(tensor, min_size=1, max_size=5))
    tensor_id = st.integers(0, len(tensors) - 1)
    n_words = draw(st.integers(0, 24))
    words = draw(hnp.arrays(np.uint32, (n_words, 8)))

    layers, frames = [], []
    for index in range(draw(st.integers(0, 4))):
        host = draw(st.booleans())
        count = 0 if host else draw(st.integers(0, 3))
        layers.append(Layer(
            name=draw(text),
            kind="host" if host else draw(st.sampled_from(["conv2d", "pool2d", "dense", "add"])),
            inputs=tuple(draw(st.lists(tensor_id, max_size=3))),
            outputs=tuple(draw(st.lists(tensor_id, max_size=2))),
            frame_start=len(frames),
            frame_count=count,
            # no quote: the reader rejects host IR with a string literal xDSL cannot end
            host_ir=draw(st.text(st.characters(exclude_characters='"'), max_size=40))
            if host else "",
        ))
        for tile in range(count):
            start = draw(st.integers(0, n_words))
            frames.append((
                index, tile, draw(st.integers(0, U64)), start,
                draw(st.integers(0, n_words - start)),
                draw(st.integers(0, U64)), draw(st.integers(0, U64)),
                tuple(draw(st.lists(st.integers(0, U64), min_size=3, max_size=3))),
            ))
    relocs = []
    if n_words:
        relocs = draw(st.lists(
            st.tuples(st.integers(0, n_words - 1), st.integers(0, len(segments) - 1)),
            max_size=6,
        ))
    inputs = draw(st.lists(tensor_id, max_size=2))
    outputs = draw(st.lists(tensor_id, max_size=2))
    weights = np.frombuffer(draw(st.binary(max_size=200)), dtype=np.uint8).copy()
    f32 = draw(st.one_of(
        st.none(),
        # Any bit pattern, NaNs included: the format stores bytes, not values.
        hnp.arrays(np.uint32, len(weights)).map(lambda a: a.view(np.float32)),
    ))
    host_weights = draw(st.dictionaries(text, st.one_of(
        hnp.arrays(np.uint32, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
        .map(lambda a: a.view(np.float32)),  # any bit pattern, NaNs included
        hnp.arrays(st.sampled_from([np.int64, np.int8, np.float16, np.bool_]),
                   hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=5)),
    ), max_size=3))
    return Package(
        name=draw(st.text(max_size=40)),
        core_hash=draw(st.binary(min_size=32, max_size=32)).hex(),
        segments=segments,
        tensors=tensors,
        inputs=inputs,
        outputs=outputs,
        input_names=[draw(text) for _ in inputs],
        output_names=[draw(text) for _ in outputs],
        layers=layers,
        frames=np.array(frames, dtype=FRAME_DTYPE),
        words=words,
        relocs=np.array(relocs, dtype=RELOC_DTYPE),
        weights=weights,
        weights_f32=f32,
        host_weights=host_weights,
        meta=draw(st.dictionaries(text, text, max_size=3)),
    )


def _instr(op: Opcode, dpdon: str = "", dpdby: str = "", **fields: int) -> Instruction:
    """An instruction with every field not given at its default (or 1, or its enum's first)."""
    values = {
        f.name: f.default if f.default is not None else (int(next(iter(f.enum))) if f.enum else 1)
        for f in SPECS[op].fields
    }
    return Instruction.make(op, dpdon or "-", dpdby or "-", **{**values, **fields})


def sample_package(core_hash: str | None = None, *, f32: bool = True) -> Package:
    """A small hand-made package in the shape the compiler produces: a two-tile conv, a host
    scale and softmax reading a host weight, valid instructions with relocated LOAD/SAVE."""
    frame0 = encode([
        _instr(Opcode.LOAD, dpdby="C", buf=Buf.WEIGHT, seg=0, off=0, rows=1, cols=1, chans=64),
        _instr(Opcode.LOAD, dpdby="C", buf=Buf.FMAP, seg=1, off=0, rows=4, cols=8, chans=4),
        _instr(Opcode.CONV, dpdon="L", dpdby="S"),
        _instr(Opcode.SAVE, dpdon="C", seg=2, off=0, rows=2, cols=8, chans=4),
        _instr(Opcode.END),
    ])
    frame1 = encode([
        _instr(Opcode.LOAD, dpdby="C", buf=Buf.FMAP, seg=1, off=0x40, rows=4, cols=8, chans=4),
        _instr(Opcode.CONV, dpdon="L", dpdby="S"),
        _instr(Opcode.SAVE, dpdon="C", seg=2, off=0x40, rows=2, cols=8, chans=4),
        _instr(Opcode.END),
    ])
    words = np.concatenate([frame0, frame1])
    weights = np.arange(96, dtype=np.uint8)
    return Package(
        name="tiny-cnn",
        core_hash=core_hash or TINY.core.config_hash(),
        segments=[
            Segment("weights", SegmentKind.WEIGHTS, len(weights)),
            Segment("input", SegmentKind.INPUT, 128),
            Segment("act0", SegmentKind.ACTIVATION, 128),
            Segment("output", SegmentKind.OUTPUT, 64),
        ],
        tensors=[
            TensorInfo("x", 1, 0, (1, 4, 4, 8), "int8", frac_bits=5),
            TensorInfo("conv1", 2, 0, (1, 4, 4, 8), "int8", frac_bits=4, zero_point=-128),
            TensorInfo("probs", 3, 0, (1, 16), "float32", layout="flat"),
        ],
        inputs=[0],
        outputs=[2],
        input_names=["x"],
        output_names=["probs"],
        layers=[
            Layer("conv1", "conv2d", (0,), (1,), frame_start=0, frame_count=2),
            Layer("softmax", "host", (1,), (2,),
                  host_ir='func.func @main(%x: tensor<1x16xf32>) -> tensor<1x16xf32> {\n'
                          '  %s = dnn.weight "softmax.scale" : tensor<1x16xf32>\n'
                          '  %z = dnn.mul %x, %s : tensor<1x16xf32>, tensor<1x16xf32> '
                          '-> tensor<1x16xf32>\n'
                          '  %y = "dnn.softmax"(%z) {axis = 1 : i64} : '
                          '(tensor<1x16xf32>) -> tensor<1x16xf32>\n'
                          '  func.return %y : tensor<1x16xf32>\n}'),
        ],
        frames=np.array(
            [
                # Footprints: the LOADs' and SAVE's buffer spans (address 1, unit strides).
                (0, 0, 1200, 0, len(frame0), 192, 64, (15, 65, 0)),
                (0, 1, 1000, len(frame0), len(frame1), 128, 64, (15, 0, 0)),
            ],
            dtype=FRAME_DTYPE,
        ),
        words=words,
        relocs=np.array([(0, 0), (1, 1), (3, 2), (5, 1), (7, 2)], dtype=RELOC_DTYPE),
        weights=weights,
        weights_f32=(weights.astype(np.float32) / 64) if f32 else None,
        host_weights={"softmax.scale": np.linspace(0.5, 2.0, 16, dtype=np.float32).reshape(1, 16)},
        meta={"hw": "tiny", "seed": "0"},
    )


def assert_packages_equal(a: Package, b: Package) -> None:
    for f in dataclasses.fields(Package):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert isinstance(x, np.ndarray), f.name
            assert isinstance(y, np.ndarray), f.name
            assert (x.dtype, x.shape) == (y.dtype, y.shape), f.name
            assert x.tobytes() == y.tobytes(), f.name
        elif f.name == "host_weights":
            assert list(x) == list(y)
            for name in x:
                assert (x[name].dtype, x[name].shape) == (y[name].dtype, y[name].shape), name
                assert x[name].tobytes() == y[name].tobytes(), name
        else:
            assert x == y, f.name


# ---------------------------------------------------------------------------------------------
# byte surgery on .ifp files


def directory(data: bytes) -> dict[Section, tuple[int, int]]:
    (count,) = struct.unpack_from("<I", data, 24)
    out = {}
    for i in range(count):
        sid, _, offset, length = DIR_ENTRY.unpack_from(data, HEADER_SIZE + DIR_ENTRY.size * i)
        out[Section(sid)] = (offset, length)
    return out


def resealed(data: bytes | bytearray) -> bytes:
    """`data` with its checksum recomputed, as a writer would have written it: the checksum
    is SHA-256 of everything but its own field."""
    data = bytearray(data)
    digest = hashlib.sha256(
        bytes(data[: CHECKSUM_FIELD.start]) + bytes(data[CHECKSUM_FIELD.stop :])
    ).digest()
    data[CHECKSUM_FIELD] = digest
    return bytes(data)


def contents(data: bytes, section: Section) -> bytes:
    """A section's contents, inflated where the format compresses it."""
    off, length = directory(data)[section]
    raw = data[off : off + length]
    return unshuffle(section, zlib.decompress(raw)) if section in COMPRESSED else raw


def with_section(data: bytes, section: Section, content: bytes, *, compress: bool = True) -> bytes:
    """`data` with one section's contents replaced (compressed as the writer would, unless
    `compress` is False), every section re-laid at an aligned offset, the size and the
    checksum updated."""
    entries = directory(data)
    bodies = {sid: data[off : off + length] for sid, (off, length) in entries.items()}
    if compress and section in COMPRESSED:
        content = zlib.compress(shuffle(section, content))
    bodies[section] = content
    out = bytearray(data[:HEADER_SIZE]) + bytes(DIR_ENTRY.size * len(bodies))
    for i, (sid, body) in enumerate(bodies.items()):
        start = -(-len(out) // ALIGN) * ALIGN
        out += bytes(start - len(out))
        DIR_ENTRY.pack_into(out, HEADER_SIZE + DIR_ENTRY.size * i, sid, 0, start, len(body))
        out += body
    struct.pack_into("<Q", out, 16, len(out))
    return resealed(out)
