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
                      value of input NAME (repeatable); other inputs are seeded
                      standard-normal values (--seed)
  --shape NAME=DIMS   static shape of an input with dynamic dims, e.g. data=1x3x224x224
  --check             compare with the int8 reference executor (int8 must be bit-exact) and
                      with onnxruntime on the float model (cosine, max abs error, max relative
                      error = max |sim - ort| / max |ort|; fp32 must be <= 1e-4); exit 1 on a
                      mismatch. Needs an ONNX file or zoo name. A model onnxruntime cannot
                      run (an opset it dropped) is checked against the int8 reference only
  --trace FILE.json   write a Chrome/Perfetto trace of the simulation (ui.perfetto.dev)
  --stream-weights    reload every frame's weights from DDR; by default the linker keeps
                      the weights a core reuses (an RNN's slice at every step) in its buffer
  --json              print one JSON object: model, backend, hw, cores, dtype, cycles,
                      latency_ms, utilization (MACs / (cycles x cores x MACs per cycle)),
                      engine_utilization, host_ops, host_ms, link_us,
                      elided_weight_bytes, outputs and, with
                      --check, check {bit_exact, cosine, max_abs_err, max_rel_err, ok}
                      (cosine and the errors null, and `onnxruntime` saying why, when
                      onnxruntime cannot run the model)
  --save-outputs DIR  write every output to DIR/NAME.npy (with --inputs: DIR/SET/NAME.npy)
  --no-cache          compile now: without it a compiled model is kept in the package cache
                      (`fv cache info`) and reused by the next run with the same model,
                      hardware and shapes (--check always compiles)
  --inputs DIR        run every input set in DIR through the one linked executable: one
                      .npy per set (single-input models) or one .npz per set by input name;
                      the timing once, the numerics of the sets on the host threads

Host segments (ops the accelerator does not run) execute in numpy between accelerator
segments; their wall time is `host_ms`, not part of `cycles`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from fvir.errors import UserError, first_line
from fvir.hw.presets import DEFAULT_HW

HELP = "run a model (ONNX file, zoo name or .ifp) on the simulator and summarise its outputs"

BACKENDS = ("sim", "reference")
DTYPES = ("int8", "fp32")
FP32_MAX_REL_ERR = 1e-4  # the fp32 mode's tolerance against onnxruntime


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


def _inputs(names: list[str], shapes: list[tuple[int, ...]], given: dict[str, np.ndarray],
            seed: int, dtypes: list[np.dtype] | None = None) -> dict[str, np.ndarray]:
    """Given inputs, the rest seeded, in the model's order: standard normal for float inputs
    (drawn as float32 whatever the width, so a seed means the same values everywhere), zeros
    for integer and bool ones (indices and flags, where any random value may be out of range,
    as `fvir.calibration.random_inputs` does). `dtypes` defaults to float32."""
    for name in given:
        if name not in names:
            raise UserError(f"--input names unknown input '{name}' "
                            f"(the model's inputs: {', '.join(names)})")
    rng = np.random.default_rng(seed)
    out = {}
    for i, (name, shape) in enumerate(zip(names, shapes, strict=True)):
        dtype = np.dtype(np.float32) if dtypes is None else np.dtype(dtypes[i])
        if name in given:
            out[name] = given[name]
        elif dtype.kind == "f":
            out[name] = rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)
        else:
            out[name] = np.zeros(shape, dtype)
    return out


def _save(outputs: dict[str, np.ndarray], directory: str) -> None:
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    for n, v in outputs.items():
        np.save(out_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', n)}.npy", v)


def _print_outputs(summary: list[dict]) -> None:
    for s in summary:
        dims = "x".join(map(str, s["shape"]))
        print(
            f"  {s['name']}: {dims} {s['dtype']}  min {s['min']:.4g}  max {s['max']:.4g}  "
            f"mean {s['mean']:.4g}  std {s['std']:.4g}"
        )


def run(args: argparse.Namespace) -> int:
    if args.backend == "reference":
        for flag, value, default in (("--check", args.check, False), ("--trace", args.trace, None),
                                     ("--dtype", args.dtype, "int8"), ("--cores", args.cores, 1),
                                     ("--hw", args.hw, DEFAULT_HW),
                                     ("--inputs", args.inputs, None)):
            if value != default:
                raise UserError(f"{flag} applies to the sim backend only")
        return _run_reference(args)
    return _run_sim(args)


# ---------------------------------------------------------------------------------------------
# reference backend


def _run_reference(args: argparse.Namespace) -> int:
    from fvir.frontend.models import graph_inputs, load_onnx_or_zoo, parse_shapes
    from fvir.frontend.onnx import import_model
    from fvir.ir.functions import main_function, signature_dtypes
    from fvir.reference.int8 import run as run_reference

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
    fn = main_function(imported.module)
    inputs = _inputs(list(imported.input_names),
                     [tuple(a.type.get_shape()) for a in fn.args],  # type: ignore[attr-defined]
                     given, args.seed, signature_dtypes(fn)[0])
    start = time.perf_counter()
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


def _compare(got: list[np.ndarray], want: list[np.ndarray]) -> dict[str, float]:
    """Cosine similarity, max absolute and max relative (to max |want|) error, over all
    outputs flattened together (float64)."""
    from fvir.quant.accuracy import compare

    acc = compare(want, got)
    scale = max((float(np.max(np.abs(w))) for w in want if w.size), default=0.0)
    rel = acc.max_abs_err / scale if scale > 0 else (0.0 if acc.max_abs_err == 0 else np.inf)
    return {"cosine": acc.cosine, "max_abs_err": acc.max_abs_err, "max_rel_err": float(rel)}


def _run_sim(args: argparse.Namespace) -> int:
    from fvir.backend.machine import Machine, host_ops
    from fvir.hw import load_hw

    if args.cores < 1:
        raise UserError(f"--cores must be at least 1, got {args.cores}")
    pool = load_hw(args.hw)
    if args.cores > pool.num_cores:
        raise UserError(f"--cores {args.cores}: pool '{pool.name}' has {pool.num_cores} cores")
    given = parse_inputs(args.input)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    model = quantized = None
    if args.model.endswith(".ifp"):
        from fvir.ifp.fileformat import read_package

        if args.check:
            raise UserError("--check needs the model (an ONNX file or zoo name): it compares "
                            "with the int8 reference and onnxruntime, which an .ifp lacks")
        package = read_package(args.model, core=pool.core)
        name = Path(args.model).stem
        timings["load_s"] = time.perf_counter() - t0
    elif args.check or args.no_cache:  # --check needs the model, not only its package
        package, model, quantized, name = _compile(args, pool, given)
        timings["compile_s"] = time.perf_counter() - t0
    else:  # compiled once per model, hardware and shapes: the package cache (fvir.cache)
        from fvir.cache import PackageCache, model_digest, package_key

        key = package_key(model_digest(args.model), pool, {
            "fp32_shadow": True, "shapes": sorted(args.shape),
            "inputs": sorted((n, v.shape) for n, v in given.items())})
        package, hit = PackageCache().package(key, pool, lambda: _compile(args, pool, given)[0])
        name = Path(args.model).stem
        timings["load_s" if hit else "compile_s"] = time.perf_counter() - t0
    names = list(package.input_names)
    dtypes = None
    if quantized is not None:  # the model's own input types (a package's inputs are float32)
        from fvir.ir.functions import main_function, signature_dtypes

        dtypes = signature_dtypes(main_function(quantized[0]))[0]
    inputs = _inputs(names, [tuple(package.tensors[t].shape) for t in package.inputs], given,
                     args.seed, dtypes)

    cores = list(range(args.cores))
    t0 = time.perf_counter()
    machine = Machine(pool, args.dtype)
    # DDR regions in the cores' banks, then link
    exe = machine.deploy(name, package, cores, resident=not args.stream_weights)
    link_us = exe.link_time_s * 1e6
    machine.load(name, exe, [inputs[n] for n in names])
    timings["link_s"] = time.perf_counter() - t0
    if args.inputs:  # many input sets: fvir.backend.batch runs and summarises them
        from fvir.backend.batch import run_input_dir

        if args.check or args.trace:
            raise UserError("--inputs does not combine with --check or --trace")

        batch = run_input_dir(machine, name, args.inputs, args.save_outputs)
        print(json.dumps(batch.summary(), indent=2) if args.json else batch.text())
        return 0
    t0 = time.perf_counter()
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
        t0 = time.perf_counter()
        check = _check(args.dtype, outputs, inputs, model, quantized)
        timings["check_s"] = time.perf_counter() - t0
    if args.save_outputs:
        _save(dict(zip(out_names, outputs, strict=True)), args.save_outputs)

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
    }
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


def _compile(args: argparse.Namespace, pool: Any, given: dict[str, np.ndarray]) -> tuple:
    """Compile MODEL for `pool`'s core: (package, ONNX model, quantized module or None,
    name)."""
    from fvir.compiler import compile_errors, package_model, quantize_model
    from fvir.frontend.models import graph_inputs, load_onnx_or_zoo, parse_shapes, set_input_shapes
    from fvir.frontend.onnx import import_model

    model, name = load_onnx_or_zoo(args.model)
    shapes = parse_shapes(args.shape)
    names = [vi.name for vi in graph_inputs(model)]
    for input_name, value in given.items():
        if input_name not in names:
            raise UserError(f"--input names unknown input '{input_name}' "
                            f"(the model's inputs: {', '.join(names)})")
        shapes.setdefault(input_name, value.shape)
    set_input_shapes(model, shapes)
    with compile_errors(name, pool):
        # compile_model's two halves, to keep the quantized module (--check's int8 oracle)
        # before tiling rewrites it in place; the arguments are compile_model's own.
        imported = quantize_model(import_model(model, name=name), pool)
        quantized = imported.module.clone() if args.check else None
        package = package_model(imported, pool)
    if quantized is not None:
        quantized = (quantized, imported.weights)
    return package, model, quantized, name


def _check(dtype: str, outputs: list[np.ndarray], inputs: dict[str, np.ndarray], model: Any,
           quantized: Any) -> dict[str, Any]:
    """The --check object (see the module docstring)."""
    import onnxruntime as ort

    from fvir.reference.int8 import run as run_reference

    check: dict[str, Any] = {"bit_exact": None, "cosine": None, "max_abs_err": None,
                             "max_rel_err": None}
    failure = None
    try:
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        feed = {i.name: inputs[i.name] for i in session.get_inputs()}
        check.update(_compare(outputs, session.run(None, feed)))
    except Exception as exc:  # onnxruntime's own errors (an opset it dropped, say): no oracle
        check["onnxruntime"] = f"cannot run the model: {first_line(exc)}"
        if dtype != "int8":  # fp32 has no other oracle
            failure = f"onnxruntime {check['onnxruntime']}"
    if dtype == "int8":
        module, weights = quantized
        reference = run_reference(module, weights, list(inputs.values()))
        exact = len(reference) == len(outputs) and all(
            a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in zip(outputs, reference, strict=False))
        check["bit_exact"] = bool(exact)
        if not exact:
            diff = max(float(np.max(np.abs(a.astype(np.float64) - b)))
                       for a, b in zip(outputs, reference, strict=False))
            failure = (f"int8 outputs differ from the int8 reference executor (max abs "
                       f"difference {diff:.6g})")
    elif failure is None and check["max_rel_err"] > FP32_MAX_REL_ERR:
        failure = (f"fp32 outputs differ from onnxruntime: max relative error "
                   f"{check['max_rel_err']:.3g} > {FP32_MAX_REL_ERR:g}")
    check["ok"] = failure is None
    if failure is not None:
        check["failure"] = failure
    return check


def _print_sim(r: dict[str, Any]) -> None:
    eng = "  ".join(f"{e} {u:.0%}" for e, u in r["engine_utilization"].items())
    print(f"{r['model']}: sim on {r['cores']} core(s) of {r['hw']}, {r['dtype']}: "
          f"{r['cycles']} cycles = {r['latency_ms']:.3f} ms at {r['clock_mhz']:g} MHz, "
          f"MAC utilization {r['utilization']:.1%}")
    kept = (f"; {r['elided_weight_bytes'] / 1e6:.2f} MB of weight loads skipped (resident)"
            if r["elided_weight_bytes"] else "")
    print(f"  engines busy: {eng}; linked in {r['link_us']:.0f} us{kept}; "
          f"simulated in {r['wall_s']['sim_s']:.2f} s")
    if r["host_ops"]:
        print(f"  host ops: {', '.join(r['host_ops'])} ({r['host_ms']:.1f} ms in numpy, not in "
              f"cycles)")
    _print_outputs(r["outputs"])
    if "check" in r:
        c = r["check"]
        exact = "n/a" if c["bit_exact"] is None else ("yes" if c["bit_exact"] else "NO")
        vs_ort = (f"cosine {c['cosine']:.6f}, max abs err {c['max_abs_err']:.4g}, max rel err "
                  f"{c['max_rel_err']:.3g}" if c["cosine"] is not None else c["onnxruntime"])
        print(f"  check: bit-exact vs int8 reference: {exact}; vs onnxruntime: {vs_ort}: "
              f"{'ok' if c['ok'] else 'MISMATCH'}")
