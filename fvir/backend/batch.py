"""A directory of input sets through one linked executable (`fv run --inputs DIR`).

1. Every `*.npy` file of the directory (sorted by name) is one input set of a single-input
   model; every `*.npz` file is one input set by input name (any model). Shapes are checked
   against the package's inputs before anything runs.
2. The sets run through `Machine.run_batch`: one timing run, then the numerics of the sets
   on worker processes (one per CPU). A set that faults stops the command with that fault
   (one line).
3. The result has one summary per set (per output: shape, min, max, mean, std, argmax of the
   first output) and, on request, every output saved as DIR/<set>/<output>.npy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fvir.backend.machine import Machine
from fvir.backend.report import BatchReport
from fvir.errors import UserError


def read_input_sets(directory: str | Path, names: list[str],
                    shapes: list[tuple[int, ...]]) -> tuple[list[str], list[list[np.ndarray]]]:
    """(set names, input sets in the package's input order) from `directory`."""
    root = Path(directory)
    if not root.is_dir():
        raise UserError(f"--inputs: '{root}' is not a directory")
    files = sorted(p for p in root.iterdir() if p.suffix in (".npy", ".npz"))
    if not files:
        raise UserError(f"--inputs: '{root}' has no .npy or .npz files")
    sets = []
    for path in files:
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"--inputs: '{path}' is not a numpy file ({exc})") from None
        if path.suffix == ".npy":
            if len(names) != 1:
                raise UserError(f"--inputs: '{path}': the model has {len(names)} inputs "
                                f"({', '.join(names)}); give each set as an .npz by input name")
            arrays = [loaded]
        else:
            with loaded:
                missing = [n for n in names if n not in loaded.files]
                if missing:
                    raise UserError(f"--inputs: '{path}' lacks input(s) {', '.join(missing)}")
                arrays = [loaded[n] for n in names]
        for name, shape, a in zip(names, shapes, arrays, strict=True):
            if tuple(a.shape) != tuple(shape):
                raise UserError(f"--inputs: '{path}': input '{name}' has shape "
                                f"{list(a.shape)}, the model takes {list(shape)}")
        sets.append([np.asarray(a, np.float32) for a in arrays])
    return [p.stem for p in files], sets


def _stats(value: np.ndarray) -> dict[str, Any]:
    v = value.astype(np.float64)
    return {"shape": list(value.shape), "min": float(v.min()), "max": float(v.max()),
            "mean": float(v.mean()), "std": float(v.std()),
            "argmax": int(np.argmax(v.reshape(v.shape[0], -1)[0])) if v.size else None}


@dataclass
class InputSetsRun:
    """The result of `run_input_dir`: set names, output names and the batch report."""

    sets: list[str]
    output_names: list[str]
    batch: BatchReport

    def summary(self) -> dict[str, Any]:
        """JSON-ready: the timing (the same for every set) and per set its outputs' stats."""
        outputs = self.batch.outputs
        return {
            "cycles": self.batch.report.cycles,
            "latency_ms": self.batch.report.latency_ms,
            "wall_s": self.batch.wall_s,
            "sets": {s: {n: _stats(v) for n, v in zip(self.output_names, outs or [],
                                                      strict=False)}
                     for s, outs in zip(self.sets, outputs, strict=True)},
        }

    def text(self) -> str:
        """One line for the run, one per set (its first output's stats)."""
        b = self.batch
        w = b.wall_s
        lines = [f"{len(self.sets)} input sets: {b.report.cycles} cycles = "
                 f"{b.report.latency_ms:.3f} ms each; simulated in {w['functional_s']:.2f} s "
                 f"on {w['threads']:.0f} host thread(s) (+ {w['timing_s']:.2f} s timing, once)"]
        first = self.output_names[0]
        for s, outs in zip(self.sets, b.outputs, strict=True):
            st = _stats(outs[0]) if outs else None
            lines.append(f"  {s}: {first} argmax {st['argmax']}  min {st['min']:.4g}  "
                         f"max {st['max']:.4g}  mean {st['mean']:.4g}" if st else f"  {s}: -")
        return "\n".join(lines)


def run_input_dir(machine: Machine, tenant: str, directory: str | Path,
                  save: str | Path | None = None) -> InputSetsRun:
    """Run every input set of `directory` through the tenant's loaded executable; `save`:
    write each set's outputs to save/<set>/<output>.npy."""
    exe = machine.executable(tenant)
    pkg = exe.package
    names = list(pkg.input_names)
    shapes = [tuple(pkg.tensors[t].shape) for t in pkg.inputs]
    sets, inputs = read_input_sets(directory, names, shapes)
    batch = machine.run_batch(tenant, inputs)
    for s, fault in zip(sets, batch.faults, strict=True):
        if fault is not None:
            raise UserError(f"input set '{s}': {fault}")
    run = InputSetsRun(sets, list(pkg.output_names), batch)
    if save is not None:
        for s, outs in zip(sets, batch.outputs, strict=True):
            out_dir = Path(save) / s
            out_dir.mkdir(parents=True, exist_ok=True)
            for n, v in zip(run.output_names, outs or [], strict=False):
                np.save(out_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', n)}.npy", v)
    return run
