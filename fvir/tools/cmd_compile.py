"""Compile a model into an instruction frame package (.ifp): the static compilation that runs
once per model and core type, whatever number of cores a tenant later gets.

  MODEL               an .onnx file, or the name of a zoo model (see 'fv zoo list'; seed 0)
  -o, --output OUT.ifp
                      the package to write (required); it appears whole or not at all;
                      an existing file is replaced, a directory or missing one is an error
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

On a terminal, a progress line on stderr shows the stage and the time elapsed (nothing when
stderr is not a terminal or with --json). The summary (layers, the ops each host layer runs,
the model's MACs on the accelerator and on the host by op (--json: accelerator_macs,
host_macs, accelerator_mac_share, macs_by_op), frames, instructions, package size, estimated
cycles, compile time) goes to stdout; the estimate is `estimated_cycles` of
docs/robustness.md's "Three cycle counts". A warning line on stderr says when nothing, or
less than half of the MACs, runs on the accelerator.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW
from fvir.tools.mac_share import mac_fields, mac_text, mac_warning

if TYPE_CHECKING:
    from fvir.tools.progress import StageProgress

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


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


def run(args: argparse.Namespace) -> int:
    from fvir.frontend.models import parse_shapes
    from fvir.hw import load_hw
    from fvir.tools.outputs import check_output_file
    from fvir.tools.progress import StageProgress

    if args.seed < 0:
        raise UserError(f"--seed must be non-negative, got {args.seed}")
    parse_shapes(args.shape)  # a bad flag fails before the work
    hw = load_hw(args.hw)
    for path in args.calib:
        # The compiler reads them (it knows the inputs' types); check they exist up front.
        if not Path(path).is_file():
            raise UserError(f"--calib: no such file '{path}'")
    check_output_file(args.output)  # before a compile that can take minutes, not after
    with StageProgress("fv compile", enabled=not args.json) as progress:
        summary = _compile(args, hw, progress)
    return _render(summary, args.json)


def _compile(args: argparse.Namespace, hw: Any, progress: StageProgress) -> dict[str, Any]:
    """Compile and write the package; the summary."""
    from fvir.frontend.models import load_onnx_or_zoo, parse_shapes, set_input_shapes
    from fvir.ifp.fileformat import write_package
    from fvir.tools.cycles import estimated_cycles

    started = time.perf_counter()
    progress("load", args.model)
    model, name = load_onnx_or_zoo(args.model)
    set_input_shapes(model, parse_shapes(args.shape))

    from fvir.compiler import compile_errors, compile_model
    from fvir.frontend.onnx import import_model

    compile_start = time.perf_counter()
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
    compile_s = time.perf_counter() - compile_start
    progress("write", args.output)
    size = write_package(package, args.output)
    total_s = time.perf_counter() - started

    frames = package.frames
    host = sum(1 for layer in package.layers if layer.kind == "host")
    cycles = estimated_cycles(package)
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
        "estimated_cycles": cycles,
        "latency_ms": cycles / (hw.core.clock_mhz * 1e3),
        "compile_s": compile_s,
        "total_s": total_s,
        "clock_mhz": hw.core.clock_mhz,
        **mac_fields(package),
    }
    if (warning := mac_warning(summary, package)) is not None:
        print(f"fv compile: warning: {warning}", file=sys.stderr)
    return summary


def _render(s: dict[str, Any], as_json: bool) -> int:
    from fvir.tools.cmd_inspect import host_ops_text

    if as_json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"wrote {s['output']}: {s['model']} for {s['hw']} (core "
          f"{s['core_hash'][:12]}), {_mb(s['package_bytes'])}")
    print(f"  {s['layers']} layers ({s['host_layers']} on the host), {s['frames']} frames, "
          f"{s['instructions']} instructions, {s['relocations']} relocations, "
          f"weights {_mb(s['weights_bytes'])}")
    print(f"  {mac_text(s)}")
    if s["host_ops"]:
        print(f"  on the host: {host_ops_text(s['host_ops'])}")
    print(f"  estimated {s['estimated_cycles']} cycles on one core = {s['latency_ms']:.3f} ms "
          f"at {s['clock_mhz']:g} MHz (cost model, every weight loaded; 'fv link' predicts "
          "and 'fv run' simulates)")
    print(f"  compiled in {s['compile_s']:.2f} s ({s['total_s']:.2f} s with loading and "
          "writing)")
    return 0
