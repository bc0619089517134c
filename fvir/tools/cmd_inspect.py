"""Show what an .ifp instruction frame package holds: a summary, or its instructions.

The summary gives the model name, the file's format version and size, the hash of the core it
was compiled for and the preset that core belongs to, the model's MACs on the accelerator and
on the host by op, the ops each host layer runs, the largest
on-chip buffer footprint of any frame (fmap, weight, bias bytes; with the core's buffer sizes
when the core is known), the DDR segments with their sizes, the tensors (segment, offset, shape,
int8 fractional bits), the layers with their kinds, frames, instructions, cost and the
footprint of their largest frame, and the total cost in cycles on one core with the predicted
single-core latency at the core's clock (known when the hash matches a preset, or from --hw).
Host layers run in numpy and cost no accelerator cycles.

  FILE.ifp            the package
  --disasm            also print every frame's instructions in assembly (fvir.isa.asm syntax)
                      under a header with its layer, tile, cost, DDR traffic and buffer
                      footprint; instructions the linker relocates are marked with their
                      segment; host layers show their IR
  --layer NAME|INDEX  only this layer, by name (or by index if no layer has that name), in the
                      layer table, the frame list and the disassembly
  --json              print one JSON object instead, with every frame (tile, cost, DDR bytes,
                      buffer footprint; with --disasm, its instructions as a list of lines)
  --hw PRESET|FILE    check that the package was compiled for this hardware's core and give
                      the latency at its clock

A truncated, corrupted, wrong-version or wrong-hardware file is a one-line error, exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from fvir.errors import UserError
from fvir.tools.mac_share import mac_fields, mac_text

if TYPE_CHECKING:
    from fvir.ifp.package import Package

HELP = "show the contents of an .ifp package: summary, layers, disassembly"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the flag table
    parser.add_argument("file", metavar="FILE.ifp", help="the package to inspect")
    parser.add_argument(
        "--disasm", action="store_true", help="print every frame's instructions"
    )
    parser.add_argument(
        "--layer", metavar="NAME|INDEX", help="show only this layer (name or index)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--hw",
        metavar="PRESET|FILE",
        help="check the package against this hardware and give the latency at its clock",
    )


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return "x".join(map(str, shape)) or "scalar"


def _select_layer(package: Package, spec: str, source: str) -> int:
    names = [layer.name for layer in package.layers]
    if spec in names:
        return names.index(spec)
    if spec.isdigit() and int(spec) < len(names):
        return int(spec)
    if not names:
        raise UserError(f"no layer '{spec}' in {source}: it has no layers")
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    raise UserError(
        f"no layer '{spec}' in {source} ({len(names)} layers, 0..{len(names) - 1}: {shown})"
    )


def _layer_totals(package: Package) -> tuple[list[int], list[int], list[list[int]]]:
    """Per layer: instructions and cycles, summed over its frames, and the largest footprint
    of one of its frames in each buffer ([fmap, weight, bias] bytes)."""
    import numpy as np

    frames = package.frames
    cycles = np.concatenate([[0], np.cumsum(frames["cost"], dtype=np.uint64)])
    instrs = np.concatenate([[0], np.cumsum(frames["instr_count"], dtype=np.uint64)])
    out_i, out_c, out_b = [], [], []
    for layer in package.layers:
        a, b = layer.frame_start, layer.frame_start + layer.frame_count
        out_i.append(int(instrs[b] - instrs[a]))
        out_c.append(int(cycles[b] - cycles[a]))
        out_b.append(frames["buffers"][a:b].max(axis=0).tolist() if b > a else [0, 0, 0])
    return out_i, out_c, out_b


def host_ops_text(host_ops: dict[str, list[str]]) -> str:
    """Each host layer's ops in order, runs of one op counted: "host0: LRN; host1: reshape,
    softmax x2"."""
    from itertools import groupby

    def ops(names: list[str]) -> str:
        runs = [(op, len(list(group))) for op, group in groupby(names)]
        return ", ".join(op if n == 1 else f"{op} x{n}" for op, n in runs) or "no ops"

    return "; ".join(f"{layer}: {ops(names)}" for layer, names in host_ops.items())


def _disasm(package: Package, layer_ids: list[int], source: str) -> dict[int, list[str]]:
    """Assembly lines of every instruction of the frames of `layer_ids`, by instruction
    index; relocated instructions carry a comment naming their segment."""
    from fvir.isa import DecodingError, disasm

    frames = package.frames
    ranges = []
    for i in layer_ids:
        layer = package.layers[i]
        for f in frames[layer.frame_start : layer.frame_start + layer.frame_count]:
            ranges.append((int(f["instr_start"]), int(f["instr_start"]) + int(f["instr_count"])))
    ranges = [r for r in ranges if r[1] > r[0]]
    if not ranges:
        return {}
    lo, hi = min(a for a, _ in ranges), max(b for _, b in ranges)
    try:
        lines = disasm(package.words[lo:hi])  # one vectorized decode, not one per frame
    except DecodingError as exc:
        raise UserError(
            f"{source}: cannot disassemble instructions {lo}..{hi - 1} (counted from {lo}: "
            f"{exc})"
        ) from None
    relocated = {
        int(r["instr"]): int(r["segment"])
        for r in package.relocs
        if lo <= int(r["instr"]) < hi
    }
    out = {}
    for a, b in ranges:
        for k in range(a, b):
            line = lines[k - lo]
            if k in relocated:
                seg = relocated[k]
                line += f"  # segment {seg} '{package.segments[seg].name}'"
            out[k] = line
    return out


def inspect_package(package: Package, *, file: str, file_bytes: int, disasm: bool,
                    layer: int | None, hw: Any) -> dict[str, Any]:
    """Everything `fv inspect` shows, as one JSON-ready dict."""
    from fvir.hw.presets import PRESETS
    from fvir.ifp.fileformat import preset_of_core

    preset = preset_of_core(package.core_hash)
    frames = package.frames
    instrs, cycles, max_buffers = _layer_totals(package)
    total_cycles = int(frames["cost"].sum()) if len(frames) else 0
    clock = hw if hw is not None else PRESETS.get((preset or "").split("/")[0])
    core_buffers = None
    if clock is not None:  # the preset's or --hw's core, which is the package's (same hash)
        c = clock.core
        core_buffers = [c.fmap_buffer_bytes, c.weight_buffer_bytes, c.bias_buffer_bytes]
    latency = None
    if clock is not None:
        latency = {
            "hw": clock.name,
            "clock_mhz": clock.core.clock_mhz,
            "ms": total_cycles / (clock.core.clock_mhz * 1e3),
        }
    selected = list(range(len(package.layers))) if layer is None else [layer]
    info: dict[str, Any] = {
        "file": file,
        "file_bytes": file_bytes,
        "name": package.name,
        "version": package.version,
        "core_hash": package.core_hash,
        "preset": preset,
        "meta": package.meta,
        "host_ops": package.host_ops(),
        "macs": mac_fields(package),
        "inputs": [{"name": n, "tensor": t}
                   for n, t in zip(package.input_names, package.inputs, strict=True)],
        "outputs": [{"name": n, "tensor": t}
                    for n, t in zip(package.output_names, package.outputs, strict=True)],
        "segments": [
            {"index": i, "name": s.name, "kind": s.kind.name.lower(), "size": s.size}
            for i, s in enumerate(package.segments)
        ],
        "tensors": [
            {"index": i, "name": t.name, "segment": t.segment, "offset": t.offset,
             "shape": list(t.shape), "dtype": t.dtype, "frac_bits": t.frac_bits,
             "zero_point": t.zero_point, "layout": t.layout}
            for i, t in enumerate(package.tensors)
        ],
        "layers": [
            {"index": i, "name": x.name, "kind": x.kind, "inputs": list(x.inputs),
             "outputs": list(x.outputs), "frame_start": x.frame_start,
             "frame_count": x.frame_count, "instructions": instrs[i], "cost_cycles": cycles[i],
             "max_buffers": max_buffers[i], "host_ops": x.host_ops() if x.kind == "host" else [],
             "host_ir": x.host_ir}
            for i in selected
            for x in [package.layers[i]]
        ],
        "totals": {
            "layers": len(package.layers),
            "host_layers": sum(1 for x in package.layers if x.kind == "host"),
            "frames": len(frames),
            "instructions": len(package.words),
            "relocations": len(package.relocs),
            "weights_bytes": int(package.weights.nbytes),
            "weights_f32_bytes": (
                0 if package.weights_f32 is None else int(package.weights_f32.nbytes)
            ),
            "host_weights_bytes": sum(int(a.nbytes) for a in package.host_weights.values()),
            "cost_cycles": total_cycles,
            "max_buffers": (frames["buffers"].max(axis=0).tolist() if len(frames)
                            else [0, 0, 0]),
        },
        "core_buffers": core_buffers,
        "latency": latency,
    }
    lines = _disasm(package, selected, f"'{file}'") if disasm else {}
    info["frames"] = []
    for i in selected:
        x = package.layers[i]
        for j in range(x.frame_start, x.frame_start + x.frame_count):
            f = frames[j]
            start, count = int(f["instr_start"]), int(f["instr_count"])
            entry = {
                "index": j,
                "layer": int(f["layer"]),
                "tile": int(f["tile"]),
                "cost_cycles": int(f["cost"]),
                "instr_start": start,
                "instr_count": count,
                "load_bytes": int(f["load_bytes"]),
                "save_bytes": int(f["save_bytes"]),
                "buffers": f["buffers"].tolist(),
            }
            if disasm:
                entry["instructions"] = [lines[k] for k in range(start, start + count)]
            info["frames"].append(entry)
    return info


def _table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                    strict=True))
        ).rstrip()
        for r in rows
    ]


def _bytes3(values: list[int]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def render(info: dict[str, Any], layer_filtered: bool, disasm: bool = False) -> str:
    """The text form of `inspect_package`'s result (with the disassembly if `disasm`)."""
    t = info["totals"]
    tensors = info["tensors"]

    def tensor(i: int) -> str:
        x = tensors[i]
        return f"{x['name']} (tensor {i}, {_shape(x['shape'])} {x['dtype']})"

    match = f"preset {info['preset']}" if info["preset"] else "no known preset"
    out = [
        f"{info['file']}: {info['name']}, .ifp format version {info['version']}, "
        f"{_size(info['file_bytes'])}",
        f"  core      {info['core_hash'][:16]}... ({match})",
    ]
    meta = {k: v for k, v in info["meta"].items() if k != "macs"}  # the macs line says it
    if meta:
        out.append("  meta      " + ", ".join(f"{k}={v}" for k, v in meta.items()))
    out += [
        "  inputs    " + (", ".join(tensor(x["tensor"]) for x in info["inputs"]) or "none"),
        "  outputs   " + (", ".join(tensor(x["tensor"]) for x in info["outputs"]) or "none"),
        f"  contents  {t['layers']} layers ({t['host_layers']} on the host), {t['frames']} "
        f"frames, {t['instructions']} instructions, {t['relocations']} relocations",
    ]
    out.append(f"  macs      {mac_text(info['macs']).removeprefix('MACs: ')}")
    if info["host_ops"]:
        out.append(f"  host      {host_ops_text(info['host_ops'])}")
    fmap, wgt, bias = t["max_buffers"]
    buffers = f"  buffers   per frame at most fmap {fmap} B, weight {wgt} B, bias {bias} B"
    if info["core_buffers"] is not None:
        buffers += " (the core has {}, {}, {})".format(*info["core_buffers"])
    out += [
        buffers,
        f"  weights   {_size(t['weights_bytes'])} int8"
        + (f", {_size(t['weights_f32_bytes'])} fp32 shadow" if t["weights_f32_bytes"] else "")
        + (f", {_size(t['host_weights_bytes'])} for host layers"
           if t["host_weights_bytes"] else ""),
    ]
    lat = info["latency"]
    cost = f"  cost      {t['cost_cycles']} cycles on one core"
    if lat is not None:
        cost += f" = {lat['ms']:.3f} ms at {lat['clock_mhz']:g} MHz ({lat['hw']})"
    else:
        cost += " (no known clock: give --hw for the latency)"
    out.append(cost)

    out += ["", f"segments ({len(info['segments'])}):"]
    if info["segments"]:
        out += _table(
            [("#", "NAME", "KIND", "SIZE", "BYTES")]
            + [(str(s["index"]), s["name"], s["kind"], _size(s["size"]), str(s["size"]))
               for s in info["segments"]],
            {0, 3, 4},
        )
    out += ["", f"tensors ({len(tensors)}):"]
    if tensors:
        out += _table(
            [("#", "NAME", "SEGMENT", "OFFSET", "SHAPE", "DTYPE", "FRAC", "ZERO", "LAYOUT")]
            + [(str(x["index"]), x["name"], str(x["segment"]), hex(x["offset"]),
                _shape(x["shape"]), x["dtype"], str(x["frac_bits"]), str(x["zero_point"]),
                x["layout"])
               for x in tensors],
            {0, 2, 3, 6, 7},
        )
    heading = "layer" if layer_filtered else f"layers ({t['layers']})"
    out += ["", f"{heading}:"]
    if info["layers"]:
        out += _table(
            [("#", "NAME", "KIND", "FRAMES", "INSTRS", "CYCLES", "FMAP", "WEIGHT", "BIAS",
              "INPUTS -> OUTPUTS")]
            + [(str(x["index"]), x["name"], x["kind"], str(x["frame_count"]),
                str(x["instructions"]), str(x["cost_cycles"]),
                # per buffer, the largest footprint of the layer's frames ("-": no frames)
                *((str(b) for b in x["max_buffers"]) if x["frame_count"] else ("-",) * 3),
                f"{','.join(map(str, x['inputs']))} -> {','.join(map(str, x['outputs']))}")
               for x in info["layers"]],
            {0, 3, 4, 5, 6, 7, 8},
        )
    if disasm:
        out += ["", "disassembly:"]
        by_layer: dict[int, list[dict[str, Any]]] = {}
        for f in info["frames"]:
            by_layer.setdefault(f["layer"], []).append(f)
        for x in info["layers"]:
            if x["kind"] == "host" or x["host_ir"]:
                out.append(f"layer {x['index']} '{x['name']}': host, runs in numpy:")
                out += [f"    {line}" for line in x["host_ir"].splitlines()]
                continue
            for f in by_layer.get(x["index"], []):
                start, count = f["instr_start"], f["instr_count"]
                out.append(
                    f"frame {f['index']}: layer {x['index']} '{x['name']}' tile {f['tile']}, "
                    f"cost {f['cost_cycles']} cycles, load {f['load_bytes']} B, save "
                    f"{f['save_bytes']} B, buffers {_bytes3(f['buffers'])}, instructions "
                    f"{start}..{start + count - 1}"
                )
                out += [f"  {start + k:>7}  {line}" for k, line in enumerate(f["instructions"])]
    return "\n".join(out) + "\n"


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `fv inspect --disasm | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run(args: argparse.Namespace) -> int:
    from fvir.hw import load_hw
    from fvir.ifp.fileformat import read_package

    pool = load_hw(args.hw) if args.hw else None
    package = read_package(args.file, core=pool.core if pool is not None else None)
    layer = None
    if args.layer is not None:
        layer = _select_layer(package, args.layer, f"'{args.file}'")
    info = inspect_package(
        package, file=args.file, file_bytes=os.path.getsize(args.file), disasm=args.disasm,
        layer=layer, hw=pool,
    )
    if args.json:
        _write(json.dumps(info, indent=2) + "\n")
    else:
        _write(render(info, layer is not None, args.disasm))
    return 0
