"""Emit a `Package` (`fvir/ifp/package.py`): from `ifp` IR (`emit_package`) or directly from a
frame plan (`build_package`, the compiler's fast path). Both go through `build_package`, so the
IR path and the direct path produce identical packages.

1. Instructions: every frame's instructions, frame after frame, encoded with one vectorized
   `fvir.isa.encoding.encode` call (grouped per opcode, range-checked there).
2. Frames and relocations: the `FRAME_DTYPE` table (layer, tile, cost, instruction range, DDR
   bytes, buffer footprint) and one `RELOC_DTYPE` entry per LOAD/SAVE (its index and segment).
   The footprint is read off the encoded LOADs and SAVEs (`frame_buffers`), so the IR path
   and the direct path cannot disagree on it either.
3. Weights: each `ifp.const` block is its WeightStore array transformed to the layout the
   frames expect (`fvir.codegen.frame_plan`), written at its offset; `weights_f32` holds the
   real value of every int8 weight at its byte (for an int32 bias at byte a, element a): the
   float of a quantized weight `name.q` is the store's `name` (docs/quantization.md). A float
   model (unquantized IR, for fp32-mode tests) has float weights only: its int8 bytes are 0
   and `weights_f32` carries the values. A quantized weight without its float original gets
   its integer values as the shadow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from fvir.codegen.frame_plan import (
    SEGMENTS,
    ConstPlan,
    FramePlan,
    LayerPlan,
    Plan,
    TensorPlan,
)
from fvir.hw.config import CoreConfig
from fvir.ifp.package import (
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.ir import dnn, ifp
from fvir.ir.functions import parse_host_ir
from fvir.ir.vcore import VCoreOp
from fvir.isa import Opcode, encode
from fvir.isa.encoding import columns
from fvir.isa.instr import Instruction
from fvir.isa.spec import Buf, dma_end

WeightLookup = Mapping[str, np.ndarray]


class EmitError(ValueError):
    """The IR or the weights do not make a package (names the weight or op)."""


# -------------------------------------------------------------------------------- weights


def _transform(a: np.ndarray, c: ConstPlan) -> np.ndarray:
    """Array `a` (a weight or its float original) in the block's layout, flattened."""
    if c.transform == "ohwi":
        return a.transpose(0, 2, 3, 1).reshape(-1)
    if c.transform == "dw":
        cuts = c.params
        return np.concatenate([a[s:e, 0].transpose(1, 2, 0).reshape(-1)
                               for s, e in pairwise(cuts)])
    if c.transform == "rows":
        trans, ch, h, w = c.params
        m = a.T if trans else a
        if ch * h * w:
            m = m.reshape(m.shape[0], ch, h, w).transpose(0, 2, 3, 1).reshape(m.shape[0], -1)
        return m.reshape(-1)
    if c.transform == "bias":
        return a.reshape(-1)
    raise EmitError(f"unknown weight transform '{c.transform}'")


def _block(c: ConstPlan, weights: WeightLookup,
           shadow: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The int8 bytes of one weights block, and its float shadow when `shadow` is asked for
    (only then are the float values transformed: VGG-16's fc6 alone is 411 MB of them)."""
    if c.transform == "zeros":
        return np.zeros(c.size, np.uint8), np.zeros(c.size, np.float32) if shadow else None
    if c.transform == "ones":
        return np.ones(c.size, np.uint8), np.ones(c.size, np.float32) if shadow else None
    if c.transform == "scaled" or (c.transform == "bias" and c.params):
        return _folded_bias(c, weights, shadow)
    if c.source not in weights:
        raise EmitError(f"weight '{c.source}' is not in the weight store")
    a = np.asarray(weights[c.source])
    if a.dtype.kind == "f":
        real, q = a, None
    else:
        base = re.sub(r"\.q\d*$", "", c.source)  # "w.q", or "w.q1", "w.q2", ... (requantized)
        real = weights[base] if base != c.source and base in weights else a
        q = a
    bias = c.transform == "bias"
    if q is None:  # an unquantized model: float values only, its int8 bytes are 0
        raw = np.zeros(np.asarray(real).size * (4 if bias else 1), np.uint8)
    else:
        raw = _transform(q, c).astype("<i4" if bias else np.int8).view(np.uint8)
    f32 = None
    if shadow:
        real_t = _transform(np.asarray(real, dtype=np.float32), c)
        if bias:  # one float per int32 bias, in its first byte's slot
            f32 = np.zeros(4 * real_t.size, np.float32)
            f32[0::4] = real_t
        else:
            f32 = real_t
    if raw.size != c.size or (f32 is not None and f32.size != c.size):
        raise EmitError(f"weight '{c.source}' gives {raw.size} bytes, its block has {c.size}")
    return raw, f32


def _folded_bias(c: ConstPlan, weights: WeightLookup,
                 shadow: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """An int32 bias block with the input's zero point folded in (`ConstPlan.fold`): b - Z
    sum(w) per output channel, each followed by its requantization multiplier when `scaled`;
    the float shadow keeps b (fp32 mode has no zero points or multipliers)."""
    zero, axis, *muls = c.params
    stride = 8 if c.transform == "scaled" else 4
    n = c.size // stride
    b, real = np.zeros(n, np.int64), np.zeros(n, np.float32)
    if c.source:
        if c.source not in weights:
            raise EmitError(f"weight '{c.source}' is not in the weight store")
        b = np.asarray(weights[c.source], np.int64).reshape(-1)
        base = re.sub(r"\.q\d*$", "", c.source)
        real = np.asarray(weights[base] if base in weights else b, np.float32).reshape(-1)
    sums = np.ones(n, np.int64)
    if c.fold:
        if c.fold not in weights:
            raise EmitError(f"weight '{c.fold}' is not in the weight store")
        w = np.asarray(weights[c.fold], np.int64)
        sums = w.sum(axis=tuple(i for i in range(w.ndim) if i != axis))
    folded = b - zero * sums
    if folded.size != n or np.abs(folded).max(initial=0) > np.iinfo(np.int32).max:
        raise EmitError(f"the bias of '{c.fold or c.source}' with its input's zero point "
                        f"folded in does not fit {n} int32 values")
    f32 = None
    if shadow:
        f32 = np.zeros(c.size, np.float32)
        f32[0::stride] = real
    if muls:
        folded = np.stack([folded, np.asarray(muls, np.int64)], axis=1).reshape(-1)
    return folded.astype("<i4").view(np.uint8), f32


# -------------------------------------------------------------------------------- package


def build_package(plan: Plan, weights: WeightLookup, core: CoreConfig,
                  name: str | None = None, meta: dict[str, str] | None = None,
                  fp32_shadow: bool = True) -> Package:
    """The `Package` of a frame plan (module docstring). Without `fp32_shadow` the package
    has no `weights_f32` (4x the int8 weights): it then runs in int8 mode only."""
    segments = [Segment(n, k, size)
                for (n, k), size in zip(SEGMENTS, plan.segment_sizes, strict=True)]
    tensors = [TensorInfo(t.name, t.segment, t.offset, tuple(t.shape), t.dtype, t.frac_bits,
                          t.layout, t.zero_point) for t in plan.tensors]
    layers: list[Layer] = []
    frame_rows: list[tuple] = []
    instrs: list[Instruction] = []
    for li, layer in enumerate(plan.layers):
        start = len(frame_rows)
        for f in layer.frames:
            frame_rows.append((li, f.tile, f.cost, len(instrs), len(f.instrs), f.load_bytes,
                               f.save_bytes, (0, 0, 0)))
            instrs += f.instrs
        layers.append(Layer(layer.name, layer.kind, tuple(layer.inputs), tuple(layer.outputs),
                            start if layer.frames else 0, len(layer.frames), layer.host_ir))
    frames = np.array(frame_rows, dtype=FRAME_DTYPE)
    words = encode(instrs)
    frames["buffers"] = frame_buffers(words, frames)
    ops = words[:, 0] & 0xF
    dma = np.flatnonzero((ops == Opcode.LOAD) | (ops == Opcode.SAVE))
    relocs = np.zeros(len(dma), dtype=RELOC_DTYPE)
    relocs["instr"] = dma
    relocs["segment"] = [instrs[i].fields["seg"] for i in dma.tolist()]
    blob = np.zeros(plan.segment_sizes[0], np.uint8)
    shadow = np.zeros(plan.segment_sizes[0], np.float32) if fp32_shadow else None
    for c in plan.consts:
        raw, f32 = _block(c, weights, shadow is not None)
        blob[c.offset : c.offset + c.size] = raw
        if shadow is not None and f32 is not None:
            shadow[c.offset : c.offset + c.size] = f32
    return Package(
        name=name or plan.name,
        core_hash=core.config_hash(),
        segments=segments,
        tensors=tensors,
        inputs=list(plan.inputs),
        outputs=list(plan.outputs),
        input_names=list(plan.input_names),
        output_names=list(plan.output_names),
        layers=layers,
        frames=frames,
        words=words,
        relocs=relocs,
        weights=blob,
        weights_f32=shadow,
        host_weights=_host_weights(plan, weights),
        meta=dict(meta or {}),
    )


def _host_weights(plan: Plan, weights: WeightLookup) -> dict[str, np.ndarray]:
    """The arrays the host layers read, by name."""
    out: dict[str, np.ndarray] = {}
    for layer in plan.layers:
        for name in layer.host_weights:
            if name not in weights:
                raise EmitError(f"host layer '{layer.name}' reads weight '{name}', which the "
                                f"weight store does not have")
            out[name] = np.asarray(weights[name])
    return out


def frame_buffers(words: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """[frames, 3] uint64: each frame's footprint in the fmap, weight and bias buffers, the end
    of the furthest byte one of its LOADs writes or SAVEs reads there (0: buffer unused).
    A frame computes into the fmap buffer only what it then saves, so its LOADs and SAVEs
    span every byte it uses; the closing fence (an empty LOAD) spans none."""
    out = np.zeros((len(frames), len(Buf)), np.uint64)
    if not len(frames):
        return out
    start = frames["instr_start"].astype(np.int64)
    for op in (Opcode.LOAD, Opcode.SAVE):
        idx, c = columns(words, op)
        frame = np.searchsorted(start, idx, side="right") - 1
        inside = (frame >= 0) & (idx < start[frame] + frames["instr_count"][frame])
        moved = c["rows"] * c["cols"] * c["chans"] > 0
        end = dma_end(c, "buf")
        sel = inside & moved
        np.maximum.at(out, (frame[sel], c["buf"][sel]), end[sel].astype(np.uint64))
    return out


def plan_from_ir(package: ifp.PackageOp) -> Plan:
    """The frame plan an `ifp.package` spells out (the inverse of `plan_to_ir`)."""
    segments = package.ops_of(ifp.SegmentOp)
    seg_ids = {s.sym_name.data: i for i, s in enumerate(segments)}
    expected = [k for k in SegmentKind]
    if [s.segment_kind for s in segments] != expected:
        raise EmitError("a package has the segments weights, input, output, activation in order")
    tensors = package.ops_of(ifp.TensorOp)
    tensor_ids = {t.sym_name.data: i for i, t in enumerate(tensors)}

    def ids(refs) -> list[int]:
        return [tensor_ids[r.root_reference.data] for r in refs.data]

    layers = []
    for layer in package.ops_of(ifp.LayerOp):
        frames = [
            FramePlan(f.tile.value.data, f.cost.value.data,
                      [op.instruction(seg_ids) for op in f.body.block.ops
                       if isinstance(op, VCoreOp)],
                      f.load_bytes.value.data, f.save_bytes.value.data)
            for f in layer.frames
        ]
        text = layer.host_ir.data if layer.host_ir is not None else ""
        used = [] if not text else [
            op.sym.data for op in parse_host_ir(text, f"host layer '{layer.layer.data}'").walk()
            if isinstance(op, dnn.WeightOp)]
        layers.append(LayerPlan(layer.layer.data, layer.kind.data, ids(layer.ins), ids(layer.outs),
                                frames, text, list(dict.fromkeys(used))))
    return Plan(
        name=package.sym_name.data,
        segment_sizes=[s.size.value.data for s in segments],
        tensors=[TensorPlan(t.sym_name.data, seg_ids[t.segment.root_reference.data],
                            t.offset.value.data, dnn.ints(t.shape), t.dtype.data,
                            t.frac_bits.value.data, t.layout.data, t.zero) for t in tensors],
        consts=[ConstPlan(c.source.data, c.offset.value.data, c.size.value.data,
                          c.transform.data, dnn.ints(c.params), c.fold_source)
                for c in package.ops_of(ifp.ConstOp)],
        layers=layers,
        inputs=ids(package.inputs),
        outputs=ids(package.outputs),
        input_names=[a.data for a in package.input_names.data],
        output_names=[a.data for a in package.output_names.data],
    )


def emit_package(module: ModuleOp, weights: WeightLookup, core: CoreConfig,
                 name: str | None = None) -> Package:
    """The `Package` of the `ifp.package` in `module` (after `tile-compile-frames`)."""
    packages = [op for op in module.walk() if isinstance(op, ifp.PackageOp)]
    if len(packages) != 1:
        raise EmitError(f"expected one ifp.package, found {len(packages)}")
    package = packages[0]
    if package.core.data and package.core.data != core.config_hash():
        raise EmitError("the package was compiled for a different core")
    return build_package(plan_from_ir(package), weights, core, name)
