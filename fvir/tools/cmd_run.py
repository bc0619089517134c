"""Run a model on the simulated accelerator (default) or the reference executor, and summarise
its outputs.

  MODEL               an .onnx file, a zoo model name (`fv zoo list`, seed 0) or an .ifp
                      package (from `fv compile`)
  --backend sim|reference
                      sim (default): compile if needed (int8, calibrated on seeded random
                      inputs, seed 0), link to --cores cores, simulate: outputs, cycles,
                      latency at the core clock, utilization. reference: fvir's numpy
                      reference executor on the float32 model (the oracle)
  --cores N           cores of the pool to link to, 0..N-1 (default 1)
  --hw PRESET|FILE    the pool: paper-u200 (default), big-core, tiny or a TOML file
  --dtype int8|fp32   int8 (default): the hardware, bit-exact; fp32: the same frames on real
                      values (checks tiling and addressing against onnxruntime)
  --input NAME=FILE.npy
                      value of input NAME (repeatable): one plain numeric array of the
                      input's shape (not an .npz, structured or object array; pickles are
                      never loaded); other inputs are seeded standard-normal values
  --shape NAME=DIMS   static shape of an input with dynamic dims, e.g. data=1x3x224x224
  --seed N            seed of the random inputs (default 0; non-negative)
  --check             compare with the int8 reference executor (int8 must be bit-exact) and
                      with onnxruntime on the float model (cosine, max abs error, max relative
                      error = max |sim - ort| / max |ort|; fp32 must be <= 1e-4, unless
                      onnxruntime's own output moves by >= 1e-5 when the inputs move by one
                      ulp: then the model is reported ill-conditioned, not a mismatch); exit
                      1 on a mismatch. Needs an ONNX file or zoo name. A model onnxruntime cannot
                      run (an opset it dropped) is checked against the int8 reference only
  --trace FILE.json   write a Chrome/Perfetto trace of the simulation (ui.perfetto.dev)
                      (every destination is checked before any work; an existing file
                      is overwritten)
  --stream-weights    reload every frame's weights from DDR; by default the linker keeps
                      the weights a core reuses (an RNN's slice at every step) in its buffer
  --json              print one JSON object: model, backend, hw, cores, dtype,
                      simulated_cycles (= cycles), linked_cycles (= predicted_cycles, the
                      linker's prediction), estimated_cycles (fv compile's one-core cost
                      model; docs/robustness.md says why the three differ), latency_ms,
                      utilization (MACs / (cycles x cores x MACs per cycle)),
                      engine_utilization, host_ops, host_ms, link_us,
                      elided_weight_bytes, outputs, accelerator_macs and host_macs
                      (the model's MACs on each side), accelerator_mac_share,
                      macs_by_op {accelerator, host} and, with --check,
                      check {bit_exact, cosine, max_abs_err, max_rel_err, ok,
                      ill_conditioned and sensitivity when an fp32 mismatch is what one
                      ulp of input rounding already moves onnxruntime's output by}
                      (cosine and the errors null, and `onnxruntime` saying why, when
                      onnxruntime cannot run the model)
  --save-outputs DIR  write every output to DIR/NAME.npy (with --inputs: DIR/SET/NAME.npy)
  --no-cache          compile now: without it a compiled model is kept in the package cache
                      (`fv cache info`) and reused by the next run with the same model,
                      hardware and shapes (--check always compiles)
  --inputs DIR        run every input set in DIR through the one linked executable: one
                      .npy per set (single-input models) or one .npz per set by input name;
                      the timing once, then the numerics of the sets on worker processes
                      (one per CPU)

Host segments (ops the accelerator does not run) execute in numpy between accelerator
segments; their wall time is `host_ms`, not part of `cycles`. A warning line on stderr says
when nothing, or less than half of the model's MACs, runs on the accelerator.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW
from fvir.tools.mac_share import mac_fields, mac_text, mac_warning

HELP = "run a model (ONNX file, zoo name or .ifp) on the simulator and summarise its outputs"

# Inputs that overflow float32 give inf/nan outputs (ONNX semantics), which the summary reports
# as `finite: false`: numpy's overflow warnings would only repeat that, from inside the library.
QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}
BACKENDS = ("sim", "reference")
DTYPES = ("int8", "fp32")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the flag table
    parser.add_argument("model", metavar="MODEL", help="an .onnx file, a zoo name or an .ifp")
    parser.add_argument("--backend", choices=BACKENDS, default="sim",
                        help="where to run (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=1, metavar="N",
                        help="cores to link to (sim; default: %(default)s)")
    parser.add_argument("--hw", default=DEFAULT_HW, metavar="PRESET|FILE",
                        help="hardware preset or TOML file (sim; default: %(default)s)")
    parser.add_argument("--dtype", choices=DTYPES, default="int8",
                        help="simulation mode (sim; default: %(default)s)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                        help="value of graph input NAME from a .npy file (repeatable)")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                        help="static shape of a graph input with dynamic dims, e.g. "
                             "data=1x3x224x224")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random inputs (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="compare with the int8 reference and onnxruntime (sim)")
    parser.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace (sim)")
    parser.add_argument("--stream-weights", action="store_true",
                        help="reload every frame's weights from DDR (sim)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save-outputs", metavar="DIR", help="write every output to DIR/NAME.npy")
    parser.add_argument("--no-cache", action="store_true",
                        help="compile now, bypassing the package cache (fv cache info)")
    parser.add_argument("--inputs", metavar="DIR",
                        help="run every input set in DIR (one .npy per set, or .npz by input "
                             "name) through the one linked executable (sim)")


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


def _save(outputs: dict[str, np.ndarray], directory: str) -> None:
    from fvir.tools.outputs import make_output_dir, writing

    out_dir = make_output_dir(directory)
    for n, v in outputs.items():
        path = out_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', n)}.npy"
        with writing(path):
            np.save(path, v)


def _check_destinations(args: argparse.Namespace) -> None:
    """Every output path, before the work (fvir.tools.outputs)."""
    from fvir.tools.outputs import check_output_dir, check_output_file

    if args.trace:
        check_output_file(args.trace)
    if args.save_outputs:
        check_output_dir(args.save_outputs)


def _print_outputs(summary: list[dict]) -> None:
    for s in summary:
        dims = "x".join(map(str, s["shape"]))
        if s["min"] is None:  # an empty tensor has no statistics
            print(f"  {s['name']}: {dims} {s['dtype']}  (empty)")
            continue
        print(
            f"  {s['name']}: {dims} {s['dtype']}  min {s['min']:.4g}  max {s['max']:.4g}  "
            f"mean {s['mean']:.4g}  std {s['std']:.4g}"
        )


def run(args: argparse.Namespace) -> int:
    from fvir.frontend.inputs import check_seed, read_inputs

    if args.backend == "reference":
        for flag, value, default in (("--check", args.check, False), ("--trace", args.trace, None),
                                     ("--dtype", args.dtype, "int8"), ("--cores", args.cores, 1),
                                     ("--hw", args.hw, DEFAULT_HW),
                                     ("--inputs", args.inputs, None)):
            if value != default:
                raise UserError(f"{flag} applies to the sim backend only")
    check_seed(args.seed)
    _check_destinations(args)
    given = read_inputs(args.input)
    if args.backend == "reference":
        return _run_reference(args, given)
    return _run_sim(args, given)


# ---------------------------------------------------------------------------------------------
# reference backend


def _run_reference(args: argparse.Namespace, given: dict[str, np.ndarray]) -> int:
    from fvir.frontend.inputs import input_shapes, make_inputs
    from fvir.frontend.models import graph_inputs, load_onnx_or_zoo, parse_shapes
    from fvir.frontend.onnx import import_model
    from fvir.ir.functions import main_function, signature_dtypes
    from fvir.reference.int8 import run as run_reference

    model, name = load_onnx_or_zoo(args.model)
    shapes = input_shapes([vi.name for vi in graph_inputs(model)], parse_shapes(args.shape),
                          given)
    imported = import_model(model, shapes, name=name)
    fn = main_function(imported.module)
    inputs = make_inputs(list(imported.input_names),
                         [tuple(a.type.get_shape()) for a in fn.args],  # type: ignore[attr-defined]
                         given, args.seed, signature_dtypes(fn)[0])
    start = time.perf_counter()
    with np.errstate(**QUIET):
        outputs = run_reference(imported.module, imported.weights, inputs)
    elapsed = time.perf_counter() - start
    summary = [summarise(n, v) for n, v in zip(imported.output_names, outputs, strict=True)]
    if args.save_outputs:
        _save(dict(zip(imported.output_names, outputs, strict=True)), args.save_outputs)
    if args.json:
        print(json.dumps({"model": name, "backend": args.backend, "outputs": summary,
                          "time_ms": elapsed * 1e3}, indent=2))
        return 0
    print(f"{name}: {args.backend} backend, {elapsed * 1e3:.1f} ms", file=sys.stdout)
    _print_outputs(summary)
    return 0


# ---------------------------------------------------------------------------------------------
# sim backend


def _run_sim(args: argparse.Namespace, given: dict[str, np.ndarray]) -> int:
    from fvir.backend.machine import Machine, host_ops
    from fvir.frontend.inputs import make_inputs
    from fvir.hw import load_hw
    from fvir.reference.check import check_outputs
    from fvir.reference.int8 import run_host
    from fvir.tools.cycles import estimated_cycles
    from fvir.tools.progress import StageProgress

    if args.cores < 1:
        raise UserError(f"--cores must be at least 1, got {args.cores}")
    pool = load_hw(args.hw)
    if args.cores > pool.num_cores:
        raise UserError(f"--cores {args.cores}: pool '{pool.name}' has {pool.num_cores} cores")
    if args.model.endswith(".ifp") and args.check:
        raise UserError("--check needs the model (an ONNX file or zoo name): it compares "
                        "with the int8 reference and onnxruntime, which an .ifp lacks")
    timings: dict[str, float] = {}
    progress = StageProgress("fv run", enabled=not args.json)
    t0 = time.perf_counter()
    model = quantized = None
    with progress:
        if args.model.endswith(".ifp"):
            from fvir.ifp.fileformat import read_package

            progress("load")
            package = read_package(args.model, core=pool.core)
            name = Path(args.model).stem
            timings["load_s"] = time.perf_counter() - t0
        elif args.check or args.no_cache:  # --check needs the model, not only its package
            package, model, quantized, name = _compile(args, pool, given, progress)
            timings["compile_s"] = time.perf_counter() - t0
        else:  # compiled once per model, hardware and shapes: the package cache (fvir.cache)
            from fvir.cache import PackageCache, model_digest, package_key

            key = package_key(model_digest(args.model), pool, {
                "fp32_shadow": True, "shapes": sorted(args.shape),
                "inputs": sorted((n, v.shape) for n, v in given.items())})
            package, hit = PackageCache().package(
                key, pool, lambda: _compile(args, pool, given, progress)[0])
            name = Path(args.model).stem
            timings["load_s" if hit else "compile_s"] = time.perf_counter() - t0
        names = list(package.input_names)
        dtypes = None
        if quantized is not None:  # the model's own input types (a package's are float32)
            from fvir.ir.functions import main_function, signature_dtypes

            dtypes = signature_dtypes(main_function(quantized[0]))[0]
        inputs = make_inputs(names, [tuple(package.tensors[t].shape) for t in package.inputs],
                             given, args.seed, dtypes)

        cores = list(range(args.cores))
        progress("link")
        t0 = time.perf_counter()
        machine = Machine(pool, args.dtype, host=run_host)
        # DDR regions in the cores' banks, then link
        exe = machine.deploy(name, package, cores, resident=not args.stream_weights)
        link_us = exe.link_time_s * 1e6
        machine.load(name, exe, [inputs[n] for n in names])
        timings["link_s"] = time.perf_counter() - t0
        if args.inputs:  # many input sets: fvir.backend.batch runs and summarises them
            from fvir.backend.batch import run_input_dir

            if args.check or args.trace:
                raise UserError("--inputs does not combine with --check or --trace")
            progress("simulate")
            with np.errstate(**QUIET):
                batch = run_input_dir(machine, name, args.inputs, args.save_outputs)
        else:
            batch = None
            progress("simulate")
            t0 = time.perf_counter()
            with np.errstate(**QUIET):
                report = machine.run(trace=args.trace)
            timings["sim_s"] = time.perf_counter() - t0
            timings.update({f"sim_{k}": v for k, v in report.wall_s.items()})  # where sim_s went
            tenant = report.tenants[name]
            if tenant.fault is not None:
                raise tenant.fault
            outputs = tenant.outputs
            assert outputs is not None
            out_names = list(package.output_names)

            check: dict[str, Any] | None = None
            if args.check:
                progress("check")
                t0 = time.perf_counter()
                check = check_outputs(args.dtype, outputs, inputs, model, quantized)
                timings["check_s"] = time.perf_counter() - t0
            if args.save_outputs:
                progress("save")
                _save(dict(zip(out_names, outputs, strict=True)), args.save_outputs)
    if batch is not None:
        print(json.dumps(batch.summary(), indent=2) if args.json else batch.text())
        return 0

    cycles = tenant.cycles
    engine_util = {e: float(np.mean([report.cores[c].utilization(cycles)[e] for c in cores]))
                   for e in ("LOAD", "CONV", "MISC", "SAVE")}
    result: dict[str, Any] = {
        "model": name,
        "backend": "sim",
        "hw": pool.name,
        "cores": args.cores,
        "dtype": args.dtype,
        "cycles": cycles,
        "simulated_cycles": cycles,
        "linked_cycles": exe.predicted_cycles,
        "estimated_cycles": estimated_cycles(package),
        "latency_ms": tenant.latency_ms,
        "clock_mhz": pool.core.clock_mhz,
        "utilization": tenant.mac_utilization,
        "engine_utilization": engine_util,
        "macs": tenant.macs,
        "host_ops": host_ops(package),
        "host_ms": tenant.host_ms,
        "link_us": link_us,
        "elided_weight_bytes": int(exe.elided_bytes),
        "predicted_cycles": exe.predicted_cycles,
        "frames": len(package.frames),
        "instructions": len(package.words),
        "outputs": [summarise(n, v) for n, v in zip(out_names, outputs, strict=True)],
        "wall_s": timings,
        **mac_fields(package),
    }
    if (warning := mac_warning(result, package)) is not None:
        print(f"fv run: warning: {warning}", file=sys.stderr)
    if args.trace:
        result["trace"] = str(args.trace)
    if check is not None:
        result["check"] = check
    ok = check is None or check["ok"]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    _print_sim(result)
    if check is not None and not ok:
        print(f"fv run: error: check failed: {check['failure']}", file=sys.stderr)
    return 0 if ok else 1


def _compile(args: argparse.Namespace, pool: Any, given: dict[str, np.ndarray],
             progress: Any) -> tuple:
    """Compile MODEL for `pool`'s core: (package, ONNX model, (quantized module, weights) or
    None, name). The quantized module is kept for --check's int8 oracle before tiling
    rewrites it in place."""
    from fvir.compiler import compile_errors, package_model, quantize_model
    from fvir.frontend.inputs import input_shapes
    from fvir.frontend.models import graph_inputs, load_onnx_or_zoo, parse_shapes, set_input_shapes
    from fvir.frontend.onnx import import_model

    progress("load")
    model, name = load_onnx_or_zoo(args.model)
    set_input_shapes(model, input_shapes([vi.name for vi in graph_inputs(model)],
                                         parse_shapes(args.shape), given))
    with compile_errors(name, pool):
        progress("import")
        # compile_model's two halves, to keep the quantized module (--check's int8 oracle)
        # before tiling rewrites it in place; the arguments are compile_model's own.
        imported = quantize_model(import_model(model, name=name), pool, progress=progress)
        quantized = (imported.module.clone(), imported.weights) if args.check else None
        package = package_model(imported, pool, progress=progress)
    return package, model, quantized, name


def _print_sim(r: dict[str, Any]) -> None:
    eng = "  ".join(f"{e} {u:.0%}" for e, u in r["engine_utilization"].items())
    print(f"{r['model']}: sim on {r['cores']} core(s) of {r['hw']}, {r['dtype']}: "
          f"{r['simulated_cycles']} simulated cycles = {r['latency_ms']:.3f} ms at "
          f"{r['clock_mhz']:g} MHz, MAC utilization {r['utilization']:.1%}")
    print(f"  linker's prediction {r['linked_cycles']} cycles, compiler's one-core estimate "
          f"{r['estimated_cycles']} (see docs/robustness.md, 'Three cycle counts')")
    kept = (f"; {r['elided_weight_bytes'] / 1e6:.2f} MB of weight loads skipped (resident)"
            if r["elided_weight_bytes"] else "")
    print(f"  engines busy: {eng}; linked in {r['link_us']:.0f} us{kept}; "
          f"simulated in {r['wall_s']['sim_s']:.2f} s")
    print(f"  {mac_text(r)}")
    if r["host_ops"]:
        counts = Counter(r["host_ops"])  # first-seen order; --json keeps the full sequence
        ops = ", ".join(op if n == 1 else f"{op} x{n}" for op, n in counts.items())
        print(f"  host ops: {ops} ({r['host_ms']:.1f} ms in numpy, not in cycles)")
    _print_outputs(r["outputs"])
    if "check" in r:
        c = r["check"]
        exact = "n/a" if c["bit_exact"] is None else ("yes" if c["bit_exact"] else "NO")
        vs_ort = (f"cosine {c['cosine']:.6f}, max abs err {c['max_abs_err']:.4g}, max rel err "
                  f"{c['max_rel_err']:.3g}" if c["cosine"] is not None else c["onnxruntime"])
        verdict = "ok" if c["ok"] else "MISMATCH"
        if c.get("ill_conditioned"):
            verdict = (f"ill-conditioned (one ulp of input moves onnxruntime's output by "
                       f"{c['sensitivity']:.3g} relative): not a mismatch")
        print(f"  check: bit-exact vs int8 reference: {exact}; vs onnxruntime: {vs_ort}: "
              f"{verdict}")
