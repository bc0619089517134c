"""The instruction frame package (IFP) in memory: what the static compiler produces once per
model and what the dynamic linker, the simulator and the `.ifp` file format consume.

A package is plain data (dataclasses and numpy arrays), never xDSL objects, so that loading,
linking and simulating it are fast. It names no core and no absolute address:

- **Segments** are the DDR regions the model needs (its weights, its inputs and outputs, its
  intermediate activations). Instructions address DDR as (segment, offset); the linker binds
  each segment to a region of the tenant's memory by writing base registers.
- **Tensors** are the values that live in DDR: int8 activations in NHWC layout with a
  fixed-point exponent (value = q * 2**-frac_bits), or float32 tensors of host segments.
- **Layers** run in order. An accelerator layer owns a contiguous range of frames; a host
  layer runs a small dnn function in numpy (`host_ir`: MLIR text of a `func.func`, parsed at
  load time) on dequantized inputs.
- **Frames** are the unit of work and of relocation: the complete instruction sequence of one
  tile (loads of its input window and weights, compute, saves). Any frame of a layer can run on
  any core; `cost` (cycles on one core, from the compiler's cost model) lets the linker balance
  them. `buffers` is the frame's on-chip footprint, [fmap, weight, bias] bytes from address 0:
  the end of the furthest byte its LOADs write or its SAVEs read in each buffer (every computed
  byte is saved, so this covers the compute's output too); it equals the tile's `buffers` in
  the `tile` dialect and never exceeds the core's buffers.
- **fp32 mode**: every memory (DDR segment, on-chip buffer) can also be simulated as a float32
  array indexed like the int8 byte array, so the same frames run on real values to check tiling
  and addressing against onnxruntime directly.
- **Relocations** list every instruction whose `seg` field names a package segment (every
  LOAD and SAVE), so that the linker can rewrite them in one vectorized step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from fvir.isa.spec import SegmentKind

FORMAT_VERSION = 5  # 2: frames record their buffer footprint; 3: host weights are binary;
# 4: the structure sections (metadata, frames, instruction words, relocations) are compressed;
# 5: int8 tensors have zero points (metadata `zero_point`, absent = 0) and bias blocks may
# hold an input's zero point folded in: a version-4 reader would misread both


@dataclass(frozen=True)
class Segment:
    name: str
    kind: SegmentKind
    size: int  # bytes


@dataclass(frozen=True)
class TensorInfo:
    """A tensor in DDR. int8 tensors are NHWC with channels contiguous; `shape` is the logical
    (NCHW, or the dnn type's) shape."""

    name: str
    segment: int
    offset: int  # bytes from the segment's start
    shape: tuple[int, ...]
    dtype: str  # "int8" or "float32"
    frac_bits: int = 0  # int8 only: value = (q - zero_point) * 2**-frac_bits
    layout: str = "nhwc"  # "nhwc" for 4-D int8 activations, "flat" otherwise
    zero_point: int = 0  # int8 only


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # the dnn op it came from ("conv2d", "pool2d", ...) or "host"
    inputs: tuple[int, ...]  # tensor ids
    outputs: tuple[int, ...]  # tensor ids
    frame_start: int = 0  # accelerator layers: their frames are frames[start : start + count]
    frame_count: int = 0
    host_ir: str = ""  # host layers: MLIR text of `func.func @main` over float32 tensors,
    # whose `dnn.weight "name"` ops read `Package.host_weights[name]`

    def host_ops(self) -> list[str]:
        """The ops a host layer runs, in order: `dnn.host "LRN"` -> "LRN", `dnn.softmax` ->
        "softmax" (custom or generic form); constants and weights are data, not listed."""
        found = (m["host"] or m["ghost"] or m["op"] for m in _HOST_OP.finditer(self.host_ir))
        return [op for op in found if op not in _DATA_OPS]


# An op of a host function's text: its name, or for dnn.host the ONNX op type it runs.
_HOST_OP = re.compile(
    r'=\s*(?:dnn\.host\s+"(?P<host>[^"]+)"'
    r'|"dnn\.host"\(.*?op_type\s*=\s*"(?P<ghost>[^"]+)"'
    r'|"?dnn\.(?P<op>[A-Za-z_][\w.]*))'
)
_DATA_OPS = frozenset({"constant", "weight"})


FRAME_DTYPE = np.dtype(
    [
        ("layer", np.uint32),
        ("tile", np.uint32),
        ("cost", np.uint64),  # cycles on one core (compiler's cost model)
        ("instr_start", np.uint32),
        ("instr_count", np.uint32),
        ("load_bytes", np.uint64),  # DDR bytes read
        ("save_bytes", np.uint64),  # DDR bytes written
        ("buffers", np.uint64, (3,)),  # on-chip footprint: [fmap, weight, bias] bytes
    ]
)  # 64-byte records: one cache line, every field naturally aligned

RELOC_DTYPE = np.dtype([("instr", np.uint32), ("segment", np.uint16)])


@dataclass
class Package:
    name: str
    core_hash: str  # `CoreConfig.config_hash()` of the core it was compiled for
    segments: list[Segment]
    tensors: list[TensorInfo]
    inputs: list[int]  # tensor ids of the model inputs, in ONNX order
    outputs: list[int]  # tensor ids of the model outputs, in ONNX order
    input_names: list[str]
    output_names: list[str]
    layers: list[Layer]
    frames: np.ndarray  # FRAME_DTYPE, ordered by layer
    words: np.ndarray  # [n, 8] uint32: every frame's encoded instructions, frame after frame
    relocs: np.ndarray  # RELOC_DTYPE
    weights: np.ndarray  # uint8: contents of the WEIGHTS segment
    # float32 "shadow" of `weights` for the simulator's fp32 mode: element i is the real value
    # of the int8 weight at byte i; for an int32 bias at byte a, element a holds the float bias
    # (a+1..a+3 unused). Byte addresses thus stay valid as element indices in fp32 mode.
    weights_f32: np.ndarray | None = None
    # The weights host layers read (`dnn.weight "name"` in their IR), as float (or integer)
    # arrays, stored raw in the file rather than as literals in the IR text.
    host_weights: dict[str, np.ndarray] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    meta: dict[str, str] = field(default_factory=dict)  # e.g. hw preset name, compile options

    def host_ops(self) -> dict[str, list[str]]:
        """Per host layer (by name, in order), the ops it runs in numpy (`Layer.host_ops`)."""
        return {layer.name: layer.host_ops() for layer in self.layers if layer.kind == "host"}

    def frame_words(self, frame: int) -> np.ndarray:
        """The encoded instructions of one frame."""
        f = self.frames[frame]
        start = int(f["instr_start"])
        return self.words[start : start + int(f["instr_count"])]
