"""Compile a model into an instruction frame package (.ifp): the static compilation that runs
once per model and core type, whatever number of cores a tenant later gets.

  MODEL               an .onnx file, or the name of a zoo model (see 'fv zoo list'; seed 0)
  -o OUT.ifp          the package to write (required); it appears whole or not at all
  --hw PRESET|FILE    the hardware to compile for: paper-u200 (default), big-core, tiny or a
                      TOML file. Only its core matters; the package records the core's hash,
                      so it cannot be loaded for another core
  --shape NAME=DIMS   static shape of a graph input whose shape is symbolic or unknown, dims
                      separated by 'x', e.g. data=1x3x224x224 (repeatable)
  --calib FILE        calibration inputs for choosing the int8 scales (repeatable): a .npy
                      holds the input of a single-input model, of the input's shape (one
                      sample) or with one more leading axis (a batch); a .npz maps input names
                      to such arrays. Default: seeded random inputs
  --seed N            seed of the random calibration inputs (default 0)
  --fp32              also store the float32 copy of the weights that `fv run --dtype fp32`
                      needs (makes the package about 5x larger)
  --json              print the summary as one JSON object

Progress goes to stderr, one line per compilation stage with the seconds elapsed. The summary
(layers, the ops each host layer runs, frames, instructions, package size, estimated cycles,
compile time) goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW

HELP = "compile a model (ONNX file or zoo name) into an .ifp instruction frame package"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the flag table
    parser.add_argument("model", metavar="MODEL", help="an .onnx file or a zoo model name")
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT.ifp", help="the package file to write"
    )
    parser.add_argument(
        "--hw",
        default=DEFAULT_HW,
        metavar="PRESET|FILE",
        help="hardware preset or TOML file to compile for (default: %(default)s)",
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help="static shape of graph input NAME, dims separated by 'x' (e.g. data=1x3x224x224)",
    )
    parser.add_argument(
        "--calib",
        action="append",
        default=[],
        metavar="FILE",
        help="calibration samples (repeatable; default: seeded random inputs)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="seed of the random calibration inputs (default 0)",
    )
    parser.add_argument(
        "--fp32", action="store_true",
        help="also store float32 weights for the simulator's fp32 mode (about 5x larger)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


class Progress:
    """The compiler's progress callback: one stderr line per stage, with the seconds elapsed
    since the command started. Repeated calls for the same stage (per-layer updates, say) print
    nothing, so the output stays one line per stage whatever the compiler reports."""

    def __init__(self, stream: Any = None) -> None:
        self.start = time.perf_counter()
        self.stream = stream
        self.stage: str | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, stage: str, *detail: object, **extra: object) -> None:
        if stage == self.stage:
            return
        self.stage = stage
        parts = [str(d) for d in detail] + [f"{k}={v}" for k, v in extra.items()]
        text = f"{stage}: {' '.join(parts)}" if parts else stage
        print(f"[{self.elapsed():7.2f}s] {text}", file=self.stream or sys.stderr, flush=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


def run(args: argparse.Namespace) -> int:
    from fvir.frontend.models import load_onnx_or_zoo, parse_shapes, set_input_shapes
    from fvir.hw import load_hw
    from fvir.ifp.fileformat import write_package
    from fvir.tools.cmd_inspect import host_ops_text

    if args.seed < 0:
        raise UserError(f"--seed must be non-negative, got {args.seed}")
    shapes = parse_shapes(args.shape)
    hw = load_hw(args.hw)
    for path in args.calib:
        # The compiler reads them (it knows the inputs' types); check they exist up front.
        if not Path(path).is_file():
            raise UserError(f"--calib: no such file '{path}'")
    if not Path(args.output).parent.is_dir():
        # Fail before a compile that can take minutes, not after.
        raise UserError(f"cannot write '{args.output}': No such directory")
    progress = Progress()
    progress("load", args.model)
    model, name = load_onnx_or_zoo(args.model)
    set_input_shapes(model, shapes)

    from fvir.compiler import compile_errors, compile_model
    from fvir.frontend.onnx import import_model

    started = time.perf_counter()
    progress("import")
    imported = import_model(model)
    del model  # the proto's copy of the weights is dead weight from here on (VGG-16: 553 MB)
    with compile_errors(name, hw):
        package = compile_model(
            imported,
            hw,
            calibration=list(args.calib) or None,
            seed=args.seed,
            progress=progress,
            fp32_shadow=args.fp32,
        )
    compile_s = time.perf_counter() - started
    progress("write", args.output)
    size = write_package(package, args.output)
    total_s = progress.elapsed()
    progress("done")

    frames = package.frames
    host = sum(1 for layer in package.layers if layer.kind == "host")
    cycles = int(frames["cost"].sum()) if len(frames) else 0
    summary = {
        "output": str(args.output),
        "model": package.name or name,
        "hw": hw.name,
        "core_hash": package.core_hash,
        "layers": len(package.layers),
        "host_layers": host,
        "host_ops": package.host_ops(),
        "frames": len(frames),
        "instructions": len(package.words),
        "relocations": len(package.relocs),
        "weights_bytes": int(package.weights.nbytes),
        "package_bytes": size,
        "cost_cycles": cycles,
        "latency_ms": cycles / (hw.core.clock_mhz * 1e3),
        "compile_s": compile_s,
        "total_s": total_s,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    s = summary
    print(f"wrote {s['output']}: {s['model']} for {hw.name} (core "
          f"{package.core_hash[:12]}), {_mb(size)}")
    print(f"  {s['layers']} layers ({host} on the host), {s['frames']} frames, "
          f"{s['instructions']} instructions, {s['relocations']} relocations, "
          f"weights {_mb(s['weights_bytes'])}")
    if s["host_ops"]:
        print(f"  on the host: {host_ops_text(s['host_ops'])}")
    print(f"  estimated {cycles} cycles on one core = {s['latency_ms']:.3f} ms at "
          f"{hw.core.clock_mhz:g} MHz")
    print(f"  compiled in {compile_s:.2f} s ({total_s:.2f} s with loading and writing)")
    return 0
