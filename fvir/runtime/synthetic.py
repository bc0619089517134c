"""Synthetic instruction frame packages, for the linker's tests and benchmarks.

Real packages come from the static compiler; these stand in for them where only the package's
*shape* matters (frame counts and costs, segments, relocations, layer dependencies), not what
the frames compute. The instruction words are valid encodings (LOAD, CONVINIT, CONV, SAVE with
in-range fields) whose LOAD/SAVE `seg` fields agree with the relocation table, so the linker's
relocation patching is exercised for real. Nothing else in fvir imports this module.

- `make_package(frame_costs, deps=...)`: one layer per entry of `frame_costs` (a list of frame
  costs, or None for a host layer); tensor 0 is the model input, tensor l+1 the output of
  layer l, which reads the outputs of `deps[l]` (default: the previous layer).
- `resnet50_like(core_hash)`: ResNet-50's 53 convolutions, two pools and the classifier, tiled
  the way a B512 core's buffers force (output-row tiles x output-channel tiles), with costs of
  MACs / 256 per frame: ~3k frames and ~100k instructions, like the compiled model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from fvir.ifp.package import (
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.isa.encoding import encode_columns
from fvir.isa.spec import INSTR_WORDS, Opcode

WEIGHTS, INPUT, OUTPUT, ACTS = 0, 1, 2, 3  # segment ids of every synthetic package


def make_package(
    frame_costs: Sequence[Sequence[int] | None],
    *,
    deps: Sequence[Sequence[int]] | None = None,
    instrs_per_frame: int | Sequence[int] = 6,
    loads_per_frame: int | Sequence[int] = 0,
    tensor_bytes: int = 4096,
    act_slots: int | None = None,
    core_hash: str = "",
    name: str = "synthetic",
    bytes_per_frame: int = 1024,
) -> Package:
    """A package with one layer per entry of `frame_costs`.

    `deps[l]` lists the layers whose outputs layer l reads (-1: the model input); default: the
    previous layer. Every tensor takes `tensor_bytes`; intermediate ones live in the ACTIVATION
    segment, each in its own slot, or (with `act_slots=k`) in slot l mod k, reusing memory as a
    liveness-based allocator would. `instrs_per_frame` (per layer, or one value) is at least
    the number of inputs + 4 (a LOAD per input, a weight LOAD, CONVINIT, CONV, SAVE).
    """
    n = len(frame_costs)
    if deps is None:
        deps = [(i - 1,) for i in range(n)]
    per_layer = ([instrs_per_frame] * n if isinstance(instrs_per_frame, int)
                 else list(instrs_per_frame))
    loads_layer = ([loads_per_frame] * n if isinstance(loads_per_frame, int)
                   else list(loads_per_frame))
    slots = n if act_slots is None else act_slots
    segments = [
        Segment("weights", SegmentKind.WEIGHTS, 64 * max(n, 1)),
        Segment("input", SegmentKind.INPUT, tensor_bytes),
        Segment("output", SegmentKind.OUTPUT, tensor_bytes),
        Segment("activations", SegmentKind.ACTIVATION, tensor_bytes * max(slots, 1)),
    ]
    shape = (tensor_bytes,)

    def tensor(t: int) -> TensorInfo:
        if t == 0:
            return TensorInfo("input", INPUT, 0, shape, "int8", layout="flat")
        if t == n:
            return TensorInfo("output", OUTPUT, 0, shape, "int8", layout="flat")
        return TensorInfo(f"t{t}", ACTS, ((t - 1) % slots) * tensor_bytes, shape, "int8",
                          layout="flat")

    tensors = [tensor(t) for t in range(n + 1)]
    layers: list[Layer] = []
    frame_rows: list[tuple[int, int, int, int]] = []  # layer, tile, cost, instr count
    ops_parts: list[np.ndarray] = []
    seg_parts: list[np.ndarray] = []
    start = 0
    for li, costs in enumerate(frame_costs):
        inputs = tuple(d + 1 for d in deps[li])
        if costs is None:
            layers.append(Layer(f"host{li}", "host", inputs, (li + 1,)))
            continue
        count = len(costs)
        layers.append(Layer(f"layer{li}", "conv2d", inputs, (li + 1,), start, count))
        in_segs = [tensors[inputs[j % len(inputs)]].segment
                   for j in range(max(loads_layer[li], len(inputs)))]
        k = max(per_layer[li], len(in_segs) + 4)
        pattern = ([Opcode.LOAD] * (len(in_segs) + 1) + [Opcode.CONVINIT]
                   + [Opcode.CONV] * (k - len(in_segs) - 3) + [Opcode.SAVE])
        segs = in_segs + [WEIGHTS] + [0] * (k - len(in_segs) - 2) + [tensors[li + 1].segment]
        ops_parts.append(np.tile(np.array(pattern, dtype=np.int64), count))
        seg_parts.append(np.tile(np.array(segs, dtype=np.int64), count))
        frame_rows += [(li, t, int(c), k) for t, c in enumerate(costs)]
        start += count
    frames = np.zeros(len(frame_rows), dtype=FRAME_DTYPE)
    if frame_rows:
        rows = np.array(frame_rows, dtype=np.int64)
        frames["layer"], frames["tile"], frames["cost"] = rows[:, 0], rows[:, 1], rows[:, 2]
        frames["instr_count"] = rows[:, 3]
        frames["instr_start"] = np.concatenate([[0], np.cumsum(rows[:-1, 3])])
        frames["load_bytes"] = bytes_per_frame
        frames["save_bytes"] = bytes_per_frame // 2
    ops = np.concatenate(ops_parts) if ops_parts else np.zeros(0, dtype=np.int64)
    seg = np.concatenate(seg_parts) if seg_parts else np.zeros(0, dtype=np.int64)
    words = _encode(ops, seg)
    mem = np.flatnonzero((ops == Opcode.LOAD) | (ops == Opcode.SAVE))
    relocs = np.zeros(len(mem), dtype=RELOC_DTYPE)
    relocs["instr"], relocs["segment"] = mem, seg[mem]
    return Package(
        name=name,
        core_hash=core_hash,
        segments=segments,
        tensors=tensors,
        inputs=[0],
        outputs=[n],
        input_names=["input"],
        output_names=["output"],
        layers=layers,
        frames=frames,
        words=words,
        relocs=relocs,
        weights=np.zeros(segments[0].size, dtype=np.uint8),
        meta={"synthetic": "1"},
    )


def _encode(ops: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Valid instruction words for opcodes `ops`; LOAD/SAVE get segment `seg`."""
    words = np.zeros((len(ops), INSTR_WORDS), dtype=np.uint32)
    idx = np.arange(len(ops))
    for op in (Opcode.LOAD, Opcode.SAVE):
        rows = idx[ops == op]
        words[rows] = encode_columns(op, {
            "buf": 0, "seg": seg[rows], "off": (rows % 64) * 64, "addr": 0, "rows": 4,
            "cols": 4, "chans": 8, "buf_pix_stride": 8, "ddr_row_stride": 32,
            "ddr_pix_stride": 8, "buf_row_stride": 32,
        }, len(rows))
    rows = idx[ops == Opcode.CONVINIT]
    words[rows] = encode_columns(Opcode.CONVINIT, {
        "shift_cut": 7, "kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1,
        "in_row_stride": 48, "out_row_stride": 32, "in_pix_stride": 8, "out_pix_stride": 8,
    }, len(rows))
    rows = idx[ops == Opcode.CONV]
    words[rows] = encode_columns(Opcode.CONV, {
        "in_addr": 0, "wgt_addr": 0, "bias_addr": 0, "out_addr": 1024, "rows": 4, "cols": 4,
        "ic": 8, "oc": 8,
    }, len(rows))
    return words


# ---------------------------------------------------------------------------------------------
# ResNet-50's shape


def _resnet50_convs() -> list[tuple[str, int, int, int, int, int, tuple[int, ...]]]:
    """(name, out_hw, in_c, out_c, kernel, stride, inputs) of ResNet-50's layers in execution
    order; kernel 0 marks a pool; `inputs` are layer indices (-1: the model input)."""
    out: list[tuple[str, int, int, int, int, int, tuple[int, ...]]] = [
        ("conv1", 112, 3, 64, 7, 2, (-1,)),
        ("maxpool", 56, 64, 64, 0, 2, (0,)),
    ]
    in_c, hw = 64, 56
    for stage, (blocks, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 0 else 1
            o_hw = hw // stride
            block_in = len(out) - 1
            shortcut = block_in
            if b == 0:  # projection shortcut
                shortcut = len(out)
                out.append((f"s{stage}b{b}.down", o_hw, in_c, 4 * width, 1, stride, (block_in,)))
            out.append((f"s{stage}b{b}.a", hw, in_c, width, 1, 1, (block_in,)))
            out.append((f"s{stage}b{b}.b", o_hw, width, width, 3, stride, (len(out) - 1,)))
            # conv c adds the shortcut (a fused ELEW)
            out.append((f"s{stage}b{b}.c", o_hw, width, 4 * width, 1, 1,
                        (len(out) - 1, shortcut)))
            in_c, hw = 4 * width, o_hw
    out.append(("avgpool", 1, 2048, 2048, 0, 7, (len(out) - 1,)))
    out.append(("fc", 1, 2048, 1000, 1, 1, (len(out) - 1,)))
    return out


def resnet50_like(core_hash: str = "", fmap_bytes: int = 64 << 10,
                  weight_bytes: int = 288 << 10, macs_per_cycle: int = 256,
                  min_frames: int = 48) -> Package:
    """A package with ResNet-50's layer structure tiled for a core with the given buffers
    (defaults: a B512).

    Each layer's output is cut into row tiles whose input window and output fit half the fmap
    buffer, times output-channel tiles whose weights fit half the weight buffer, then split
    further (rows first, then channels in multiples of 8) until it has `min_frames` frames, so
    that 16 cores balance. A frame costs its MACs / `macs_per_cycle` plus its DDR bytes / 16 (a
    core's share of a bank) plus 64 cycles of start-up. Its instructions: one LOAD per input row
    and 64 channels, weight and bias LOADs, CONVINIT, one CONV per 4 output rows (PP) x 8
    output channels (OCP), one SAVE, and two more for a fused shortcut: ~3k frames and ~100k
    instructions.
    """
    convs = _resnet50_convs()
    costs: list[list[int]] = []
    instrs: list[int] = []
    loads: list[int] = []
    deps: list[tuple[int, ...]] = []
    for _, hw, in_c, out_c, k, stride, inputs in convs:
        shortcut = len(inputs) > 1
        kk = max(k, 1)
        in_hw = hw * stride
        w_bytes = kk * kk * in_c * out_c if k else 0
        n_oc = max(1, math.ceil(w_bytes / (weight_bytes // 2)))
        oc_t = math.ceil(out_c / n_oc / 8) * 8
        row_bytes = in_hw * in_c * stride + hw * oc_t  # input rows per output row + output
        rows = max(1, min(hw, (fmap_bytes // 2) // max(row_bytes, 1)))
        while math.ceil(hw / rows) * math.ceil(out_c / oc_t) < min_frames:
            if rows > 1:
                rows = max(1, rows // 2)
            elif oc_t > 8:
                oc_t = max(8, oc_t // 2 // 8 * 8)
            else:
                break
        n_rows, n_oc = math.ceil(hw / rows), math.ceil(out_c / oc_t)
        layer_costs = []
        for r in range(n_rows):
            r_out = min(rows, hw - r * rows)
            for o in range(n_oc):
                oc = min(oc_t, out_c - o * oc_t)
                macs = r_out * hw * oc * (in_c * kk * kk if k else kk * kk * stride)
                ddr = ((r_out - 1) * stride + kk) * in_hw * in_c + oc * in_c * kk * kk \
                    + r_out * hw * oc
                layer_costs.append(macs // macs_per_cycle + ddr // 16 + 64)
        costs.append(layer_costs)
        in_rows = (rows - 1) * stride + kk
        convs_per_frame = math.ceil(rows / 4) * math.ceil(oc_t / 8)
        # one LOAD per input row and 64 channels (+1 for a shortcut tile)
        loads.append(in_rows * math.ceil(in_c / 64) + (1 if shortcut else 0))
        instrs.append(loads[-1] + 4 + convs_per_frame + (1 if shortcut else 0))
        deps.append(inputs)
    return make_package(costs, deps=deps, instrs_per_frame=instrs, loads_per_frame=loads,
                        tensor_bytes=1 << 16,
                        act_slots=8, core_hash=core_hash, name="resnet50-like")
