"""Run a model and summarise its outputs.

MODEL is an ONNX file or the name of a zoo model (`fv zoo list`), built on the fly. Inputs come
from `--input NAME=FILE.npy` (repeatable); every input not given is filled with seeded
standard-normal values (`--seed`). The output summary gives each output's shape and value
statistics; `--json` prints one JSON object instead; `--save-outputs DIR` writes each output as
DIR/NAME.npy.

Backends: `reference` runs fvir's independent numpy reference executor on the imported float32
model (the oracle every other stage is checked against).
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from fvir.errors import UserError

HELP = "run a model (ONNX file or zoo name) and summarise its outputs"

BACKENDS = ("reference",)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="an .onnx file or a zoo model name")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="reference",
        help="where to run (default: %(default)s)",
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="value of graph input NAME from a .npy file (repeatable)",
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help="static shape of a graph input with dynamic dims, e.g. data=1x3x224x224",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random inputs (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save-outputs", metavar="DIR", help="write every output to DIR/NAME.npy")


def parse_inputs(specs: list[str]) -> dict[str, np.ndarray]:
    """`NAME=FILE.npy` flags -> arrays, with one-line errors for every bad flag or file."""
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        match = re.fullmatch(r"(?P<name>[^=]+)=(?P<path>.+)", spec)
        if match is None:
            raise UserError(f"bad --input '{spec}': expected NAME=FILE.npy")
        name, path = match["name"], Path(match["path"])
        if name in arrays:
            raise UserError(f"--input gives input '{name}' twice")
        try:
            arrays[name] = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise UserError(f"--input {name}: no such file '{path}'") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"--input {name}: '{path}' is not a .npy array ({exc})") from None
    return arrays


def summarise(name: str, value: np.ndarray) -> dict:
    v = value.astype(np.float64)
    finite = bool(np.isfinite(v).all())
    return {
        "name": name,
        "shape": list(value.shape),
        "dtype": str(value.dtype),
        "min": float(v.min()) if v.size else None,
        "max": float(v.max()) if v.size else None,
        "mean": float(v.mean()) if v.size else None,
        "std": float(v.std()) if v.size else None,
        "finite": finite,
    }


def run(args: argparse.Namespace) -> int:
    from fvir.frontend.onnx import import_model
    from fvir.reference import run as run_reference
    from fvir.reference.executor import main_function
    from fvir.tools.models import graph_inputs, load_onnx_or_zoo, parse_shapes

    given = parse_inputs(args.input)
    shapes = parse_shapes(args.shape)
    model, name = load_onnx_or_zoo(args.model)
    names = [vi.name for vi in graph_inputs(model)]
    for input_name, value in given.items():
        if input_name not in names:
            raise UserError(
                f"--input names unknown input '{input_name}' "
                f"(the model's inputs: {', '.join(names)})"
            )
        shapes.setdefault(input_name, value.shape)
    imported = import_model(model, shapes, name=name)
    rng = np.random.default_rng(args.seed)
    inputs = {}
    for arg, input_name in zip(
        main_function(imported.module).args, imported.input_names, strict=True
    ):
        if input_name in given:
            inputs[input_name] = given[input_name]
            continue
        ty = arg.type
        shape = tuple(ty.get_shape())  # type: ignore[attr-defined]
        inputs[input_name] = rng.standard_normal(shape, dtype=np.float32)
    start = time.perf_counter()
    outputs = run_reference(imported.module, imported.weights, inputs)
    elapsed = time.perf_counter() - start
    summary = [summarise(n, v) for n, v in zip(imported.output_names, outputs, strict=True)]
    if args.save_outputs:
        out_dir = Path(args.save_outputs)
        out_dir.mkdir(parents=True, exist_ok=True)
        for n, v in zip(imported.output_names, outputs, strict=True):
            np.save(out_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', n)}.npy", v)
    if args.json:
        print(
            json.dumps(
                {
                    "model": name,
                    "backend": args.backend,
                    "outputs": summary,
                    "time_ms": elapsed * 1e3,
                },
                indent=2,
            )
        )
        return 0
    print(f"{name}: {args.backend} backend, {elapsed * 1e3:.1f} ms", file=sys.stdout)
    for s in summary:
        dims = "x".join(map(str, s["shape"]))
        print(
            f"  {s['name']}: {dims} {s['dtype']}  min {s['min']:.4g}  max {s['max']:.4g}  "
            f"mean {s['mean']:.4g}  std {s['std']:.4g}"
        )
    return 0
