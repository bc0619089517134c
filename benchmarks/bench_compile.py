"""Benchmark: the static compiler, ONNX file -> Package (`fvir.compiler.compile_model`), on the
zoo's ResNet-50 and VGG-16 for paper-u200. Targets (ResNet-50): <= 10 s and <= 1 GiB peak RSS,
for the whole path from the ONNX file to the written `.ifp`.

    python benchmarks/bench_compile.py [--models resnet50,vgg16] [--hw paper-u200]
                                       [--repeat 3] [--json]

Each run is a fresh Python process (so the peak RSS, VmHWM, is the compile's own and no cache
is warm) that loads the ONNX file, compiles it, serialises the package and writes it to a
temporary file, as `fv compile -o` does, and reports the time of every stage. The ONNX files
are written by another process, which keeps the benchmark's own parent small. The table shows
medians over the runs: the whole ONNX -> .ifp time and its parts, the slowest compile stages,
peak RSS (of the whole path) and the package's layers, frames, instructions and `.ifp` size
against its weights (int8 on the accelerator, float32 on the host; issue 17: <= 1.1x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import doc_summary, peak_rss_bytes


def child(path: str, hw_name: str) -> None:
    """One compile in this process; prints one JSON line."""
    from fvir.compiler import compile_model
    from fvir.frontend.onnx import import_model, load_model
    from fvir.hw import load_hw
    from fvir.ifp.fileformat import to_bytes

    hw = load_hw(hw_name)
    start = time.perf_counter()
    model = load_model(path)
    load_s = time.perf_counter() - start
    stages: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def progress(stage: str) -> None:
        now = time.perf_counter()
        if last[1]:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[:] = [now, stage]

    start = time.perf_counter()
    progress("import")
    imported = import_model(model)
    del model  # as `fv compile`: the proto is dropped once imported
    package = compile_model(imported, hw, progress=progress, fp32_shadow=False)
    progress("")
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    blob = to_bytes(package)
    with tempfile.TemporaryFile() as out:  # written like `fv compile -o`, then discarded
        out.write(blob)
    write_s = time.perf_counter() - start
    rss = peak_rss_bytes()
    print(json.dumps({
        "load_s": load_s, "compile_s": compile_s, "write_s": write_s,
        "total_s": load_s + compile_s + write_s, "stages": stages, "peak_rss": rss,
        "layers": len(package.layers), "frames": len(package.frames),
        "instructions": len(package.words), "ifp_bytes": len(blob),
        "weights_bytes": int(package.weights.nbytes),
        "host_weights_bytes": sum(int(a.nbytes) for a in package.host_weights.values()),
        "cycles": int(package.frames["cost"].sum()),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=doc_summary(__doc__))
    parser.add_argument("--models", default="resnet50,vgg16")
    parser.add_argument("--hw", default="paper-u200")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.hw)
        return

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            path = Path(tmp) / f"{name}.onnx"
            # Built in a process of its own: a child's peak RSS starts at its parent's RSS
            # (Linux keeps ru_maxrss across fork and exec), and VGG-16 takes 1.7 GB to build.
            subprocess.run([sys.executable, "-m", "fvir.tools.fv", "zoo", "build", name, "-o",
                            str(path)], check=True, capture_output=True)
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), "--hw", args.hw],
                    check=True, capture_output=True, text=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("load_s", "compile_s", "write_s", "total_s", "peak_rss")}
            stages = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs)
                      for s in runs[0]["stages"]}
            results[name] = {**med, "stages": stages, "repeat": args.repeat,
                             **{k: runs[0][k] for k in ("layers", "frames", "instructions",
                                                        "ifp_bytes", "weights_bytes",
                                                        "host_weights_bytes", "cycles")}}
    if args.json:
        print(json.dumps({"benchmark": "static compile", "hw": args.hw, "results": results},
                         indent=2))
        return
    print(f"== static compile (ONNX -> Package) for {args.hw}, median of {args.repeat} runs")
    for name, r in results.items():
        top = sorted(r["stages"].items(), key=lambda kv: -kv[1])[:4]
        print(f"{name}: ONNX file -> .ifp {r['total_s']:.2f} s (load {r['load_s']:.2f} s, "
              f"compile {r['compile_s']:.2f} s, write {r['write_s']:.2f} s), peak RSS "
              f"{r['peak_rss'] / 2**20:.0f} MiB; {r['layers']} layers, {r['frames']} frames, "
              f"{r['instructions']} instructions, {r['cycles']} cycles on one core")
        weights = r["weights_bytes"] + r["host_weights_bytes"]
        print(f"  .ifp {r['ifp_bytes'] / 1e6:.1f} MB = {r['ifp_bytes'] / weights:.3f} x the "
              f"weights ({r['weights_bytes'] / 1e6:.1f} MB int8, "
              f"{r['host_weights_bytes'] / 1e6:.1f} MB float on the host; target <= 1.1)")
        print("  slowest stages: " + ", ".join(f"{s} {t:.2f} s" for s, t in top))


if __name__ == "__main__":
    main()
